/*
** sql_util.c: argument checking and error reporting shared by the SQL surface.
*/
#include "sql.h"

#include <stdarg.h>
#include <stdio.h>

void sl_sql_error(sqlite3_context *ctx, const char *fn, const sl_err *err) {
  sl_sql_errorf(ctx, fn, "%s", err->msg);
}

void sl_sql_errorf(sqlite3_context *ctx, const char *fn, const char *fmt, ...) {
  char msg[SL_ERR_MAX + 64];
  int n = snprintf(msg, sizeof msg, "%s: ", fn);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
  va_end(ap);
  sqlite3_result_error(ctx, msg, -1);
}

int sl_vtab_error(sqlite3_vtab *vtab, const char *fn_prefix, const char *fmt, ...) {
  char msg[SL_ERR_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  sqlite3_free(vtab->zErrMsg);
  vtab->zErrMsg = fn_prefix ? sqlite3_mprintf("%s: %s", fn_prefix, msg) : sqlite3_mprintf("%s", msg);
  return vtab->zErrMsg ? SQLITE_ERROR : SQLITE_NOMEM;
}

const char *sl_sql_type_name(sqlite3_value *v) {
  switch (sqlite3_value_type(v)) {
    case SQLITE_INTEGER: return "INTEGER";
    case SQLITE_FLOAT: return "REAL";
    case SQLITE_TEXT: return "TEXT";
    case SQLITE_BLOB: return "BLOB";
    default: return "NULL";
  }
}

const char *sl_sql_text_arg(sqlite3_context *ctx, const char *fn, const char *what,
                            sqlite3_value *v, int *is_null) {
  const char *s;
  *is_null = sqlite3_value_type(v) == SQLITE_NULL;
  if (*is_null) return NULL;
  if (sqlite3_value_type(v) != SQLITE_TEXT) {
    sl_sql_errorf(ctx, fn, "the %s must be TEXT, got %s", what, sl_sql_type_name(v));
    return NULL;
  }
  s = (const char *)sqlite3_value_text(v);
  if (!s) sqlite3_result_error_nomem(ctx);
  return s;
}
