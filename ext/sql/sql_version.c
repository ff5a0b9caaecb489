/*
** sql_version.c: semlite_version() and semlite_build_info(), what a bug report needs.
**
** semlite_build_info() is one JSON object (one line, so it pastes into an issue and
** json_extract/json_each read it):
**   {"version":"0.1.0","build":"loadable","compiler":"gcc 12.2.0",
**    "isa":{"compiled":["scalar","avx2","avx512"],"cpu":"avx512","selected":"avx512",
**           "gemm_f32":"avx512","gemm_int8":"avx512-vnni","gemm_bf16":"avx512-bf16",
**           "amx":"amx: not on this CPU"},
**    "threads":2,"sqlite":{"compiled":"3.40.1","runtime":"3.40.1"}}
** "build" is "static" when compiled with SQLITE_CORE into libsemlite.a. The gemm_*
** entries name the matrix-product kernels in use (semlite's own; there is no BLAS); "amx"
** says whether AMX tiles run them and, if not, why (ext/kernels/amx.h).
*/
#include "sql.h"

#include "../base/version.h"
#include "../ops/build_info.h"

#ifdef SQLITE_CORE
#define SL_BUILD_KIND "static"
#else
#define SL_BUILD_KIND "loadable"
#endif

void sl_sql_version(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sqlite3_result_text(ctx, SEMLITE_VERSION, -1, SQLITE_STATIC);
}

/* A JSON string: quotes, backslashes and control characters escaped (RFC 8259). */
static void json_string(sqlite3_str *s, const char *text) {
  sqlite3_str_appendchar(s, 1, '"');
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    if (*p == '"' || *p == '\\') sqlite3_str_appendf(s, "\\%c", *p);
    else if (*p < 0x20) sqlite3_str_appendf(s, "\\u%04x", *p);
    else sqlite3_str_appendchar(s, 1, (char)*p);
  }
  sqlite3_str_appendchar(s, 1, '"');
}

static void json_field(sqlite3_str *s, const char *sep, const char *key, const char *value) {
  sqlite3_str_appendf(s, "%s\"%s\":", sep, key);
  json_string(s, value);
}

void sl_sql_build_info(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sl_build_info info;
  sqlite3_str *s = sqlite3_str_new(sqlite3_context_db_handle(ctx));
  const char *sep = "";

  sl_build_info_get(&info);
  json_field(s, "{", "version", info.version);
  json_field(s, ",", "build", SL_BUILD_KIND);
  json_field(s, ",", "compiler", info.compiler);
  sqlite3_str_appendall(s, ",\"isa\":{\"compiled\":[");
  for (int isa = SL_ISA_SCALAR; isa <= SL_ISA_AVX512; isa++) {
    if (!info.isa_compiled[isa]) continue;
    sqlite3_str_appendall(s, sep);
    json_string(s, sl_isa_name((sl_isa)isa));
    sep = ",";
  }
  sqlite3_str_appendall(s, "]");
  json_field(s, ",", "cpu", sl_isa_name(info.isa_cpu));
  json_field(s, ",", "selected", info.isa_selected);
  json_field(s, ",", "gemm_f32", info.gemm_f32);
  json_field(s, ",", "gemm_int8", info.gemm_int8);
  json_field(s, ",", "gemm_bf16", info.gemm_bf16);
  json_field(s, ",", "amx", info.amx);
  sqlite3_str_appendf(s, "},\"threads\":%d", info.threads);
  json_field(s, ",\"sqlite\":{", "compiled", SQLITE_VERSION);
  json_field(s, ",", "runtime", sqlite3_libversion());
  sqlite3_str_appendall(s, "}}");

  if (sqlite3_str_errcode(s) != SQLITE_OK) {
    sqlite3_free(sqlite3_str_finish(s));
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_text(ctx, sqlite3_str_finish(s), -1, sqlite3_free);
  sqlite3_result_subtype(ctx, SL_SUBTYPE_JSON);
}
