/*
** sql_util.c: argument checking and error reporting shared by the SQL surface.
*/
#include "sql.h"

#include <stdarg.h>
#include <stdio.h>

void sl_sql_error(sqlite3_context *ctx, const char *fn, const sl_err *err) {
  if (err->code == SQLITE_NOMEM) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sl_sql_errorf(ctx, fn, "%s", err->msg);
  if (err->code) sqlite3_result_error_code(ctx, err->code);
}

/* SL_ERROR when the statement just run (rc) ended the caller's transaction: SQLite
** rolls a transaction back on its own after some I/O errors, a full disk, or a
** RAISE(ROLLBACK) trigger. */
static int still_in_transaction(sqlite3 *db, int in_txn, int rc, const char *msg, sl_err *err) {
  if (!in_txn || !sqlite3_get_autocommit(db)) return SL_OK;
  return sl_fail_code(err, rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_ABORT : rc,
                      "a cache statement failed and SQLite rolled back the transaction: %s",
                      msg && *msg ? msg : "no message");
}

int sl_sql_nested_write(sqlite3 *db, sqlite3_stmt *st, int *written, sl_err *err) {
  int in_txn = !sqlite3_get_autocommit(db), sp = 0, rc, xrc = SQLITE_OK;
  char msg[256] = "";

  *written = 0;
  /* SQLite opens no savepoint while a write statement runs (the caller may be an UPDATE
  ** calling embed()); the nested statement's own statement journal then undoes it
  ** alone on failure. */
  if (in_txn) sp = sqlite3_exec(db, "SAVEPOINT semlite_nested", NULL, NULL, NULL) == SQLITE_OK;
  rc = sqlite3_step(st);
  if (rc != SQLITE_DONE) {
    xrc = sqlite3_extended_errcode(db);
    snprintf(msg, sizeof msg, "%s", sqlite3_errmsg(db));
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (sp && sqlite3_exec(db, rc == SQLITE_DONE ? "RELEASE semlite_nested"
                             : "ROLLBACK TO semlite_nested; RELEASE semlite_nested",
                         NULL, NULL, NULL) != SQLITE_OK && rc == SQLITE_DONE) {
    rc = xrc = sqlite3_extended_errcode(db);
    snprintf(msg, sizeof msg, "%s", sqlite3_errmsg(db));
  }
  if (still_in_transaction(db, in_txn, xrc, msg, err)) return SL_ERROR;
  *written = rc == SQLITE_DONE;
  return SL_OK;
}

int sl_sql_nested_read(sqlite3 *db, sqlite3_stmt *st, int in_txn, int *row, sl_err *err) {
  int rc = sqlite3_step(st);
  *row = rc == SQLITE_ROW;
  if (rc == SQLITE_ROW || rc == SQLITE_DONE) return SL_OK;
  {
    char msg[256];
    int xrc = sqlite3_extended_errcode(db);
    snprintf(msg, sizeof msg, "%s", sqlite3_errmsg(db));
    sqlite3_reset(st);
    return still_in_transaction(db, in_txn, xrc, msg, err);
  }
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

int sl_vtab_fail(sqlite3_vtab *vtab, const char *fn_prefix, const sl_err *err) {
  int rc = sl_vtab_error(vtab, fn_prefix, "%s", err->msg);
  return err->code && rc != SQLITE_NOMEM ? err->code : rc;
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
