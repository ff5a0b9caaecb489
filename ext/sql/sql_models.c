/*
** sql_models.c: semlite_model_load(), semlite_model_unload() and the eponymous
** virtual table semlite_models that lists the process-wide registry.
*/
#include <stdlib.h>
#include <string.h>

#include "../base/json.h"
#include "../engine/registry.h"
#include "sql.h"

/* The options object of semlite_model_load's third argument: {"dtype": "int8"}. */
static int parse_load_options(const char *text, int len, sl_compute_dtype *dtype, sl_err *err) {
  sl_json_doc *doc;
  const sl_json *v;
  int rc = SL_OK;
  *dtype = SL_COMPUTE_F32;
  if (sl_json_parse(text, (size_t)len, &doc, err)) return SL_ERROR;
  if (sl_json_root(doc)->type != SL_JSON_OBJECT) {
    sl_json_free(doc);
    return sl_fail(err, "options must be a JSON object, e.g. '{\"dtype\":\"int8\"}'");
  }
  for (v = sl_json_root(doc)->child; v && rc == SL_OK; v = v->next) {
    if (strcmp(v->key, "dtype") != 0)
      rc = sl_fail(err, "unknown option '%s' (known: dtype)", v->key);
    else if (v->type != SL_JSON_STRING)
      rc = sl_fail(err, "option dtype must be a string");
    else
      rc = sl_compute_dtype_parse(v->str, dtype, err);
  }
  sl_json_free(doc);
  return rc;
}

void sl_sql_model_load(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char fn[] = "semlite_model_load";
  const char *name, *dir;
  int is_null;
  sl_err err;
  sl_compute_dtype dtype = SL_COMPUTE_F32;

  name = sl_sql_text_arg(ctx, fn, "model name", argv[0], &is_null);
  if (is_null) { sl_sql_errorf(ctx, fn, "the model name must be TEXT, got NULL"); return; }
  if (!name) return;
  dir = sl_sql_text_arg(ctx, fn, "model folder", argv[1], &is_null);
  if (is_null) { sl_sql_errorf(ctx, fn, "the model folder must be TEXT, got NULL"); return; }
  if (!dir) return;
  if (argc == 3 && sqlite3_value_type(argv[2]) != SQLITE_NULL) {
    const char *opts = sl_sql_text_arg(ctx, fn, "options", argv[2], &is_null);
    if (!opts) return;
    if (parse_load_options(opts, sqlite3_value_bytes(argv[2]), &dtype, &err)) {
      sl_sql_error(ctx, fn, &err);
      return;
    }
  }
  if (sl_registry_load(name, dir, dtype, &err)) {
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
  if (sl_registry_unload(name, &err)) {
    sl_sql_error(ctx, fn, &err);
    return;
  }
  sqlite3_result_int(ctx, 1);
}

/* semlite_models: one row per loaded name, a snapshot taken when the scan starts. */
enum { COL_NAME, COL_KIND, COL_PATH, COL_DIM, COL_LAYERS, COL_PARAMS, COL_BYTES, COL_DTYPE,
       COL_LOAD_MS, COL_MAX_TOKENS, COL_POOLING };

typedef struct models_cursor {
  sqlite3_vtab_cursor base;
  sl_model_info *rows;
  size_t n, i;
} models_cursor;

static int models_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                          sqlite3_vtab **out, char **errmsg) {
  int rc = sqlite3_declare_vtab(db,
      "CREATE TABLE x(name TEXT, kind TEXT, path TEXT, dim INTEGER, layers INTEGER, "
      "params INTEGER, bytes INTEGER, dtype TEXT, load_ms REAL, max_tokens INTEGER, "
      "pooling TEXT)");
  if (rc != SQLITE_OK) return rc;
  *out = sqlite3_malloc(sizeof **out);
  if (!*out) return SQLITE_NOMEM;
  memset(*out, 0, sizeof **out);
  sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
  return SQLITE_OK;
}

static int models_disconnect(sqlite3_vtab *vtab) {
  sqlite3_free(vtab);
  return SQLITE_OK;
}

static int models_open(sqlite3_vtab *vtab, sqlite3_vtab_cursor **out) {
  models_cursor *c = sqlite3_malloc(sizeof *c);
  if (!c) return SQLITE_NOMEM;
  memset(c, 0, sizeof *c);
  *out = &c->base;
  return SQLITE_OK;
}

static int models_close(sqlite3_vtab_cursor *cur) {
  models_cursor *c = (models_cursor *)cur;
  free(c->rows);
  sqlite3_free(c);
  return SQLITE_OK;
}

static int models_filter(sqlite3_vtab_cursor *cur, int idx, const char *idx_str, int argc,
                         sqlite3_value **argv) {
  models_cursor *c = (models_cursor *)cur;
  sl_err err;
  free(c->rows);
  c->rows = NULL;
  c->i = c->n = 0;
  if (sl_registry_list(&c->rows, &c->n, &err)) return sl_vtab_error(cur->pVtab, "semlite_models", "%s", err.msg);
  return SQLITE_OK;
}

static int models_next(sqlite3_vtab_cursor *cur) {
  ((models_cursor *)cur)->i++;
  return SQLITE_OK;
}

static int models_eof(sqlite3_vtab_cursor *cur) {
  models_cursor *c = (models_cursor *)cur;
  return c->i >= c->n;
}

static int models_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col) {
  const sl_model_info *r = &((models_cursor *)cur)->rows[((models_cursor *)cur)->i];
  switch (col) {
    case COL_NAME: sqlite3_result_text(ctx, r->name, -1, SQLITE_TRANSIENT); break;
    case COL_KIND: sqlite3_result_text(ctx, sl_model_kind_name(r->kind), -1, SQLITE_STATIC); break;
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
  return SQLITE_OK;
}

static int models_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid) {
  *rowid = (sqlite3_int64)((models_cursor *)cur)->i + 1;
  return SQLITE_OK;
}

static int models_best_index(sqlite3_vtab *vtab, sqlite3_index_info *info) {
  info->estimatedCost = 10;
  info->estimatedRows = 10;
  return SQLITE_OK;
}

sqlite3_module sl_models_module = {
  .iVersion = 0,
  .xConnect = models_connect,
  .xBestIndex = models_best_index,
  .xDisconnect = models_disconnect,
  .xOpen = models_open,
  .xClose = models_close,
  .xFilter = models_filter,
  .xNext = models_next,
  .xEof = models_eof,
  .xColumn = models_column,
  .xRowid = models_rowid,
};
