/*
** sql_util.c: argument checking and error reporting shared by the SQL surface, and the
** rules of writing from inside a statement: nested statements that never end the
** caller's transaction, and which statements may write a replicated database.
*/
#include "sql.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

/* The prefix of the VFS names whose files are replicated by page (dqlite's "dqlite-N"). */
#define REPLICATED_VFS_PREFIX "dqlite"

int sl_sql_replicated(sqlite3 *db, const char *schema, const char **vfs) {
  sqlite3_vfs *v = NULL;
  const char *file = sqlite3_db_filename(db, schema);
  *vfs = NULL;
  /* An in-memory or temporary database has no file: nothing of it is replicated, though
  ** its pager names the connection's VFS. */
  if (!file || !*file) return 0;
  if (sqlite3_file_control(db, schema, SQLITE_FCNTL_VFS_POINTER, &v) != SQLITE_OK || !v || !v->zName) return 0;
  *vfs = v->zName;
  return strncmp(v->zName, REPLICATED_VFS_PREFIX, sizeof REPLICATED_VFS_PREFIX - 1) == 0;
}

/* Is a write statement running on db (an INSERT calling embed(), a semlite_vec insert)?
** The statements a connection is stepping are the busy ones. */
int sl_sql_write_running(sqlite3 *db) {
  for (sqlite3_stmt *st = sqlite3_next_stmt(db, NULL); st; st = sqlite3_next_stmt(db, st))
    if (sqlite3_stmt_busy(st) && !sqlite3_stmt_readonly(st)) return 1;
  return 0;
}

int sl_sql_write_allowed(sqlite3 *db, const char *schema, sl_err *err) {
  const char *vfs;
  if (!sl_sql_replicated(db, schema, &vfs) || sl_sql_write_running(db)) return SL_OK;
  return sl_fail(err,
                 "database '%s' is replicated (VFS '%s') and a read statement must not write it: "
                 "run it inside a write statement sent as EXEC (INSERT INTO t SELECT ...)",
                 schema, vfs);
}

int sl_sql_block_begin(sqlite3 *db, const char *name, int *bare) {
  char sql[96];
  *bare = sqlite3_get_autocommit(db) && sl_sql_write_running(db);
  if (*bare) return SQLITE_OK;
  snprintf(sql, sizeof sql, "SAVEPOINT %s", name);
  return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

void sl_sql_block_end(sqlite3 *db, const char *name, int bare, int ok) {
  char sql[160];
  if (bare) return;
  if (ok) snprintf(sql, sizeof sql, "RELEASE %s", name);
  else snprintf(sql, sizeof sql, "ROLLBACK TO %s; RELEASE %s", name, name);
  sqlite3_exec(db, sql, NULL, NULL, NULL);
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
