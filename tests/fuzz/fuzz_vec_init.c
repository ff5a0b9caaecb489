/*
** fuzz_vec_init.c: registers sql_vec.c's functions on a connection for fuzz_vec.c, as
** semlite.c does (same flags), with the extension API pointer sql_vec.c calls through.
*/
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

#include <stdlib.h>

#include "../../ext/kernels/distance_isa.h"
#include "../../ext/kernels/kernels.h"
#include "../../ext/sql/sql.h"

/* sql_vec.c needs distance.c only for sl_vec_bytes; the kernels its dispatch would
** reach are never called by the converters, so they stop the fuzzer if they are. */
sl_isa sl_cpu_best_isa(void) { abort(); }
const sl_kernels *sl_kernels_get(void) { abort(); }
void sl_distance_fill_avx2(sl_distance_table *t) { (void)t; abort(); }
void sl_distance_fill_avx512(sl_distance_table *t) { (void)t; abort(); }

int fuzz_vec_init(sqlite3 *db, char **errmsg, const sqlite3_api_routines *api);

int fuzz_vec_init(sqlite3 *db, char **errmsg, const sqlite3_api_routines *api) {
  static const struct {
    const char *name;
    void (*fn)(sqlite3_context *, int, sqlite3_value **);
  } fns[] = {{"vec_f32", sl_sql_vec_f32}, {"vec_int8", sl_sql_vec_int8}, {"vec_bit", sl_sql_vec_bit},
             {"vec_length", sl_sql_vec_length}, {"vec_to_json", sl_sql_vec_to_json}};
  SQLITE_EXTENSION_INIT2(api);
  (void)errmsg;
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
    if (sqlite3_create_function_v2(db, fns[i].name, 1,
                                   SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_SUBTYPE | 0x001000000, NULL,
                                   fns[i].fn, NULL, NULL, NULL) != SQLITE_OK)
      return SQLITE_ERROR;
  return SQLITE_OK;
}
