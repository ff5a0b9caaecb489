/*
** test_version.c: semlite_version() and semlite_build_info(), through the real
** semlite.so: every field of the build report against what this build was compiled
** with and what the kernel dispatch chooses in this process, plus the functions' flags.
*/
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../ext/base/version.h"
#include "../ext/kernels/gemm.h"
#include "../ext/kernels/kernels.h"
#include "test.h"

static void test_version(void) {
  sqlite3 *db = t_open();
  CHECK_QUERY(db, "SELECT semlite_version()", NULL, NULL, SEMLITE_VERSION);
  CHECK_QUERY(db, "SELECT semlite_version(1)", NULL, NULL,
              "ERROR: wrong number of arguments to function semlite_version()");
  /* DETERMINISTIC: allowed where SQLite requires it, e.g. a generated column. */
  t_exec(db, "CREATE TABLE t(x, v AS (semlite_version()))");
  t_exec(db, "INSERT INTO t(x) VALUES (1)");
  CHECK_QUERY(db, "SELECT v FROM t", NULL, NULL, SEMLITE_VERSION);
  sqlite3_close(db);
}

static void test_build_info(void) {
  sqlite3 *db = t_open();
  char want[64];
  long cores = sysconf(_SC_NPROCESSORS_ONLN);

  CHECK_QUERY(db, "SELECT json_valid(semlite_build_info())", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT group_concat(key, ',') FROM json_each(semlite_build_info())", NULL, NULL,
              "version,build,compiler,isa,threads,sqlite");
  CHECK_QUERY(db, "SELECT semlite_build_info() ->> 'version'", NULL, NULL, SEMLITE_VERSION);
  CHECK_QUERY(db, "SELECT semlite_build_info() ->> 'build'", NULL, NULL, "loadable");
  CHECK_QUERY(db, "SELECT semlite_build_info() ->> 'compiler' GLOB '[gc]* [0-9]*'", NULL, NULL, "1");
#if defined(__x86_64__)
  CHECK_QUERY(db, "SELECT semlite_build_info() -> '$.isa.compiled'", NULL, NULL, "[\"scalar\",\"avx2\",\"avx512\"]");
#endif
  CHECK_QUERY(db, "SELECT semlite_build_info() ->> '$.isa.cpu'", NULL, NULL, sl_isa_name(sl_cpu_best_isa()));
  /* The test binary and the .so read the same SEMLITE_ISA, so they choose alike. */
  CHECK_QUERY(db, "SELECT semlite_build_info() ->> '$.isa.selected'", NULL, NULL, sl_kernels_get()->name);
  CHECK_QUERY(db, "SELECT semlite_build_info() ->> '$.isa.gemm_f32'", NULL, NULL, sl_gemm_get()->f32_name);
  CHECK_QUERY(db, "SELECT semlite_build_info() ->> '$.isa.gemm_int8'", NULL, NULL, sl_gemm_get()->i8_name);
  snprintf(want, sizeof want, "%ld", cores > 1 ? cores : 1);
  CHECK_QUERY(db, "SELECT semlite_build_info() ->> 'threads'", NULL, NULL, want);
  CHECK_QUERY(db, "SELECT semlite_build_info() ->> '$.sqlite.runtime'", NULL, NULL, sqlite3_libversion());
  /* The JSON subtype: other JSON functions take it as an object, not as a string. */
  CHECK_QUERY(db, "SELECT json_object('info', semlite_build_info()) ->> '$.info.build'", NULL, NULL, "loadable");
  /* DIRECTONLY: not from views or triggers. */
  t_exec(db, "CREATE VIEW v AS SELECT semlite_build_info() AS i");
  CHECK_QUERY(db, "SELECT i FROM v", NULL, NULL, "ERROR: unsafe use of semlite_build_info()");
  sqlite3_close(db);
}

const sl_test version_tests[] = {
  {"version", test_version},
  {"build_info", test_build_info},
  {0, 0},
};
