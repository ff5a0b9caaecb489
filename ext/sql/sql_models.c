/*
** sql_models.c: semlite_model_load(), semlite_model_unload() and the eponymous
** virtual table semlite_models that lists the process-wide registry. The table also
** loads and unloads, as sqlite-lembed's lembed_models does:
**   INSERT INTO semlite_models(name, path [, options]) VALUES (...)   = semlite_model_load
**   DELETE FROM semlite_models WHERE name = ...                        = semlite_model_unload
** with the same checks and messages (prefixed "semlite_models: "). The table is
** DIRECTONLY for that reason, as the functions are: no trigger or view of a database
** someone else made can load a model from a folder of its choosing.
*/
#include <stdlib.h>
#include <string.h>

#include "../base/alloc.h"
#include "../ops/models.h"
#include "sql_snapshot.h"

void sl_sql_model_load(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char fn[] = "semlite_model_load";
  const char *name, *dir;
  int is_null;
  const char *opts = NULL;
  sl_err err;

  name = sl_sql_text_arg(ctx, fn, "model name", argv[0], &is_null);
  if (is_null) { sl_sql_errorf(ctx, fn, "the model name must be TEXT, got NULL"); return; }
  if (!name) return;
  dir = sl_sql_text_arg(ctx, fn, "model folder", argv[1], &is_null);
  if (is_null) { sl_sql_errorf(ctx, fn, "the model folder must be TEXT, got NULL"); return; }
  if (!dir) return;
  if (argc == 3 && sqlite3_value_type(argv[2]) != SQLITE_NULL) {
    if (!(opts = sl_sql_text_arg(ctx, fn, "options", argv[2], &is_null))) return;
  }
  if (sl_op_model_load(name, dir, opts, opts ? (size_t)sqlite3_value_bytes(argv[2]) : 0, &err)) {
    sl_sql_error(ctx, fn, &err);
    return;
  }
  sqlite3_result_text(ctx, name, -1, SQLITE_TRANSIENT);
}

void sl_sql_model_unload(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char fn[] = "semlite_model_unload";
  int is_null;
  sl_err err;
  const char *name = sl_sql_text_arg(ctx, fn, "model name", argv[0], &is_null);
  if (is_null) { sl_sql_errorf(ctx, fn, "the model name must be TEXT, got NULL"); return; }
  if (!name) return;
  if (sl_op_model_unload(name, &err)) {
    sl_sql_error(ctx, fn, &err);
    return;
  }
  sqlite3_result_int(ctx, 1);
}

/* semlite_models: one row per loaded name, a snapshot taken when the scan starts. */
enum { COL_NAME, COL_KIND, COL_PATH, COL_DIM, COL_LAYERS, COL_PARAMS, COL_BYTES, COL_DTYPE,
       COL_LOAD_MS, COL_MAX_TOKENS, COL_POOLING, COL_OPTIONS, N_COLS };

static int models_snapshot(void *aux, void **rows, size_t *n, sl_err *err) {
  sl_model_info *r;
  if (sl_op_model_list(&r, n, err)) return SL_ERROR;
  *rows = r;
  return SL_OK;
}

static void models_column(const void *rows, size_t i, sqlite3_context *ctx, int col) {
  const sl_model_info *r = (const sl_model_info *)rows + i;
  switch (col) {
    case COL_NAME: sqlite3_result_text(ctx, r->name, -1, SQLITE_TRANSIENT); break;
    case COL_KIND: sqlite3_result_text(ctx, sl_op_kind_name(r->kind), -1, SQLITE_STATIC); break;
    case COL_PATH: sqlite3_result_text(ctx, r->path, -1, SQLITE_TRANSIENT); break;
    case COL_DIM: sqlite3_result_int(ctx, r->dim); break;
    case COL_LAYERS: sqlite3_result_int(ctx, r->layers); break;
    case COL_PARAMS: sqlite3_result_int64(ctx, (sqlite3_int64)r->params); break;
    case COL_BYTES: sqlite3_result_int64(ctx, (sqlite3_int64)r->bytes); break;
    case COL_DTYPE: sqlite3_result_text(ctx, r->dtype, -1, SQLITE_TRANSIENT); break;
    case COL_LOAD_MS: sqlite3_result_double(ctx, r->load_ms); break;
    case COL_MAX_TOKENS: sqlite3_result_int(ctx, r->max_seq_len); break;
    case COL_POOLING: sqlite3_result_text(ctx, r->pooling, -1, SQLITE_TRANSIENT); break;
    case COL_OPTIONS: sqlite3_result_null(ctx); break;
  }
}

/* A row's rowid: FNV-1a of its name, 63 bits, so that a DELETE of several rows finds
** each by name even after the ones before it were unloaded. */
static sqlite3_int64 name_rowid(const char *name) {
  unsigned long long h = 1469598103934665603ull;
  for (const unsigned char *p = (const unsigned char *)name; *p; p++) h = (h ^ *p) * 1099511628211ull;
  return (sqlite3_int64)(h >> 1);
}

static int models_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid) {
  size_t i;
  const sl_model_info *rows = sl_snapshot_rows(cur, &i);
  *rowid = name_rowid(rows[i].name);
  return SQLITE_OK;
}

static int models_fail(sqlite3_vtab *vtab, const char *fmt, const char *arg) {
  sl_err err;
  sl_fail(&err, fmt, arg);
  return sl_snapshot_fail(vtab, &err);
}

/* A TEXT argument of INSERT, or NULL with the table's error set. */
static const char *text_col(sqlite3_vtab *vtab, sqlite3_value *v, const char *what, int *rc) {
  const char *s;
  if (sqlite3_value_type(v) != SQLITE_TEXT) {
    sl_err err;
    sl_fail(&err, "the %s must be TEXT, got %s", what, sl_sql_type_name(v));
    *rc = sl_snapshot_fail(vtab, &err);
    return NULL;
  }
  if (!(s = (const char *)sqlite3_value_text(v))) *rc = SQLITE_NOMEM;
  return s;
}

static int models_update(sqlite3_vtab *vtab, int argc, sqlite3_value **argv, sqlite3_int64 *rowid) {
  sl_err err;
  int rc = SQLITE_OK;
  if (argc == 1) {   /* DELETE of the row with that rowid: its name in a fresh list */
    sl_model_info *rows;
    size_t n, i;
    sqlite3_int64 row = sqlite3_value_int64(argv[0]);
    char name[sizeof rows->name];
    if (sl_op_model_list(&rows, &n, &err)) return sl_snapshot_fail(vtab, &err);
    for (i = 0; i < n && name_rowid(rows[i].name) != row; i++) {}
    if (i == n) {
      sl_free(rows);
      return SQLITE_OK;   /* unloaded meanwhile */
    }
    memcpy(name, rows[i].name, sizeof name);
    sl_free(rows);
    if (sl_op_model_unload(name, &err)) return sl_snapshot_fail(vtab, &err);
    return SQLITE_OK;
  }
  if (sqlite3_value_type(argv[0]) != SQLITE_NULL)
    return models_fail(vtab, "%s", "rows cannot be updated; DELETE the name and INSERT it again");
  {
    sqlite3_value **col = argv + 2;
    const char *name, *path, *opts = NULL;
    if (sqlite3_value_type(argv[1]) != SQLITE_NULL)
      return models_fail(vtab, "%s", "the rowid cannot be given");
    for (int c = 0; c < N_COLS; c++)
      if (c != COL_NAME && c != COL_PATH && c != COL_OPTIONS && sqlite3_value_type(col[c]) != SQLITE_NULL)
        return models_fail(vtab, "%s", "only name, path and options can be given (the other columns describe the loaded model)");
    if (!(name = text_col(vtab, col[COL_NAME], "model name", &rc))) return rc;
    if (!(path = text_col(vtab, col[COL_PATH], "model folder (path)", &rc))) return rc;
    if (sqlite3_value_type(col[COL_OPTIONS]) != SQLITE_NULL &&
        !(opts = text_col(vtab, col[COL_OPTIONS], "options", &rc)))
      return rc;
    if (sl_op_model_load(name, path, opts, opts ? (size_t)sqlite3_value_bytes(col[COL_OPTIONS]) : 0, &err))
      return sl_snapshot_fail(vtab, &err);
    *rowid = 0;
    return SQLITE_OK;
  }
}

static const sl_snapshot_def models_def = {
  "semlite_models",
  "CREATE TABLE x(name TEXT, kind TEXT, path TEXT, dim INTEGER, layers INTEGER, "
  "params INTEGER, bytes INTEGER, dtype TEXT, load_ms REAL, max_tokens INTEGER, pooling TEXT, "
  "options HIDDEN)",
  SQLITE_VTAB_DIRECTONLY, models_snapshot, models_column, NULL, NULL};

/* SL_SNAPSHOT_MODULE's, with rowids from the names. */
static int models_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
                          char **errmsg) {
  return sl_snapshot_connect(db, &models_def, aux, out);
}

sqlite3_module sl_models_module = {
  .iVersion = 0, .xConnect = models_connect, .xBestIndex = sl_snapshot_best_index,
  .xDisconnect = sl_snapshot_disconnect, .xOpen = sl_snapshot_open, .xClose = sl_snapshot_close,
  .xFilter = sl_snapshot_filter, .xNext = sl_snapshot_next, .xEof = sl_snapshot_eof,
  .xColumn = sl_snapshot_column, .xRowid = models_rowid, .xUpdate = models_update};
