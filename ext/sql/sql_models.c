/*
** sql_models.c: semlite_model_load(), semlite_model_unload() and the eponymous
** virtual table semlite_models that lists the process-wide registry.
*/
#include <stdlib.h>
#include <string.h>

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
       COL_LOAD_MS, COL_MAX_TOKENS, COL_POOLING };

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
  }
}

static const sl_snapshot_def models_def = {
  "semlite_models",
  "CREATE TABLE x(name TEXT, kind TEXT, path TEXT, dim INTEGER, layers INTEGER, "
  "params INTEGER, bytes INTEGER, dtype TEXT, load_ms REAL, max_tokens INTEGER, pooling TEXT)",
  SQLITE_VTAB_INNOCUOUS, models_snapshot, models_column, NULL};

SL_SNAPSHOT_MODULE(sl_models_module, models_def, NULL);
