/*
** sql_snapshot.h: the one eponymous virtual table over process or connection state
** (semlite_models, semlite_metrics, semlite_memory, semlite_limits,
** semlite_cache_stats): xFilter takes a snapshot of rows, the scan reads it. A table is
** a definition (schema, flag, snapshot, column, optional hooks) and one line
** SL_SNAPSHOT_MODULE(module, def, update).
*/
#ifndef SEMLITE_SQL_SNAPSHOT_H
#define SEMLITE_SQL_SNAPSHOT_H

#include <stddef.h>

#include "sql.h"

typedef struct sl_snapshot_def {
  const char *name;                  /* for messages: "name: problem" */
  const char *schema;                /* CREATE TABLE x(...) */
  int vtab_flag;                     /* SQLITE_VTAB_DIRECTONLY or _INNOCUOUS */
  /* Fills *rows (sl_malloc'd, freed by the cursor) and *n; aux is the module's
  ** client data. SL_ERROR with a message. */
  int (*snapshot)(void *aux, void **rows, size_t *n, sl_err *err);
  void (*column)(const void *rows, size_t i, sqlite3_context *ctx, int col);
  void (*connected)(void *aux, int on);    /* optional: connect (1) and disconnect (0) */
  /* For a read-only table: what a user who tried to write it should do instead, the
  ** message of sl_snapshot_read_only (SQLite's own would be "may not be modified"). */
  const char *read_only;
} sl_snapshot_def;

int sl_snapshot_connect(sqlite3 *db, const sl_snapshot_def *def, void *aux, sqlite3_vtab **out);
/* The client data a table was connected with, for xUpdate handlers. */
void *sl_snapshot_aux(sqlite3_vtab *vtab);
/* Sets "name: message" as the statement's error; SQLITE_ERROR (SQLITE_NOMEM if even that
** cannot be allocated). */
int sl_snapshot_fail(sqlite3_vtab *vtab, const sl_err *err);

int sl_snapshot_best_index(sqlite3_vtab *vtab, sqlite3_index_info *info);
int sl_snapshot_disconnect(sqlite3_vtab *vtab);
int sl_snapshot_open(sqlite3_vtab *vtab, sqlite3_vtab_cursor **out);
int sl_snapshot_close(sqlite3_vtab_cursor *cur);
int sl_snapshot_filter(sqlite3_vtab_cursor *cur, int idx, const char *idx_str, int argc,
                       sqlite3_value **argv);
int sl_snapshot_next(sqlite3_vtab_cursor *cur);
int sl_snapshot_eof(sqlite3_vtab_cursor *cur);
int sl_snapshot_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col);
/* Row i has rowid i + 1, so xUpdate finds the row (the operation, the limit) by rowid. */
int sl_snapshot_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid);

/* The cursor's snapshot and its current row, for a table with its own xRowid. */
const void *sl_snapshot_rows(sqlite3_vtab_cursor *cur, size_t *i);

/* xUpdate of a read-only table: fails with "name: read-only: " and def->read_only. */
int sl_snapshot_read_only(sqlite3_vtab *vtab, int argc, sqlite3_value **argv, sqlite3_int64 *rowid);

/* Defines `sqlite3_module module` over def, with xUpdate `update` (sl_snapshot_read_only
** for a read-only table). */
#define SL_SNAPSHOT_MODULE(module, def, update)                                           \
  static int module##_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, \
                              sqlite3_vtab **out, char **errmsg) {                        \
    return sl_snapshot_connect(db, &def, aux, out);                                        \
  }                                                                                        \
  sqlite3_module module = {                                                                \
    .iVersion = 0, .xConnect = module##_connect, .xBestIndex = sl_snapshot_best_index,     \
    .xDisconnect = sl_snapshot_disconnect, .xOpen = sl_snapshot_open,                      \
    .xClose = sl_snapshot_close, .xFilter = sl_snapshot_filter, .xNext = sl_snapshot_next, \
    .xEof = sl_snapshot_eof, .xColumn = sl_snapshot_column, .xRowid = sl_snapshot_rowid,   \
    .xUpdate = update}

#endif
