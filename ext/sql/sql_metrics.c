/*
** sql_metrics.c: three eponymous virtual tables over process-wide state.
**
**   semlite_metrics  (op, calls, errors, tokens, p50_ms, p95_ms, p99_ms, max_ms,
**                     cache_hits, cache_misses, hit_rate): one row per operation;
**                     DELETE resets the rows it deletes, as SQLite's vfsstat does
**   semlite_memory   (model, kind, bytes, detail): per loaded model its mapped weights,
**                     their resident part and heap copies; then scratch peak, L1
**                     cache, RSS and peak RSS of the process (model NULL)
**   semlite_limits   (name, value, description): UPDATE ... SET value changes a limit
**
** Each scan reads a snapshot taken in xFilter (sql_snapshot.h). Writing changes process state, so
** semlite_metrics and semlite_limits are DIRECTONLY; semlite_memory is INNOCUOUS.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/alloc.h"
#include "../ops/cache_l1.h"
#include "../vector/ann_cache.h"
#include "../vector/chunk_cache.h"
#include "../ops/limits.h"
#include "../ops/memory.h"
#include "../ops/metrics.h"
#include "../ops/models.h"
#include "sql_snapshot.h"

/* ---- semlite_metrics ---- */

enum { M_OP, M_CALLS, M_ERRORS, M_TOKENS, M_P50, M_P95, M_P99, M_MAX, M_HITS, M_MISSES, M_HIT_RATE };

static int metrics_snapshot(void *aux, void **rows, size_t *n, sl_err *err) {
  sl_metrics_row *r = sl_malloc(SL_OP_COUNT * sizeof *r);
  if (!r) return sl_oom(err);
  for (int op = 0; op < SL_OP_COUNT; op++) sl_metrics_snapshot((sl_op)op, &r[op]);
  *rows = r;
  *n = SL_OP_COUNT;
  return SL_OK;
}

/* Percentiles of an operation never called are NULL, not 0 ms. */
static void result_ms(sqlite3_context *ctx, const sl_metrics_row *r, double ms) {
  if (r->calls) sqlite3_result_double(ctx, ms);
  else sqlite3_result_null(ctx);
}

static void metrics_column(const void *rows, size_t i, sqlite3_context *ctx, int col) {
  const sl_metrics_row *r = (const sl_metrics_row *)rows + i;
  uint64_t lookups = r->cache_hits + r->cache_misses;
  switch (col) {
    case M_OP: sqlite3_result_text(ctx, sl_metrics_op_name((sl_op)i), -1, SQLITE_STATIC); break;
    case M_CALLS: sqlite3_result_int64(ctx, (sqlite3_int64)r->calls); break;
    case M_ERRORS: sqlite3_result_int64(ctx, (sqlite3_int64)r->errors); break;
    case M_TOKENS: sqlite3_result_int64(ctx, (sqlite3_int64)r->tokens); break;
    case M_P50: result_ms(ctx, r, r->p50_ms); break;
    case M_P95: result_ms(ctx, r, r->p95_ms); break;
    case M_P99: result_ms(ctx, r, r->p99_ms); break;
    case M_MAX: result_ms(ctx, r, r->max_ms); break;
    case M_HITS: sqlite3_result_int64(ctx, (sqlite3_int64)r->cache_hits); break;
    case M_MISSES: sqlite3_result_int64(ctx, (sqlite3_int64)r->cache_misses); break;
    case M_HIT_RATE:
      if (lookups) sqlite3_result_double(ctx, (double)r->cache_hits / (double)lookups);
      else sqlite3_result_null(ctx);
      break;
  }
}

static int metrics_update(sqlite3_vtab *vtab, int argc, sqlite3_value **argv, sqlite3_int64 *rowid) {
  sl_err err;
  sqlite3_int64 row;
  if (argc != 1) {
    sl_fail(&err, "only DELETE is allowed (it resets the deleted rows' counters)");
    return sl_snapshot_fail(vtab, &err);
  }
  row = sqlite3_value_int64(argv[0]);
  if (row >= 1 && row <= SL_OP_COUNT) sl_metrics_reset((sl_op)(row - 1));
  return SQLITE_OK;
}

/* ---- semlite_memory ---- */

enum { MEM_MODEL, MEM_KIND, MEM_BYTES, MEM_DETAIL };

typedef struct memory_row {
  char model[256];            /* the names of one loaded model, comma-separated; "" for the process */
  const char *kind;
  size_t bytes;
  char detail[4200];
} memory_row;

static memory_row *add_row(memory_row *rows, size_t *n, const char *model, const char *kind,
                           size_t bytes) {
  memory_row *r = &rows[(*n)++];
  snprintf(r->model, sizeof r->model, "%s", model);
  r->kind = kind;
  r->bytes = bytes;
  r->detail[0] = 0;
  return r;
}

/* Whether rows[i] is a later name of a model an earlier row already shows (names that
** share a folder and dtype share the model). */
static int shown_before(const sl_model_info *m, size_t i) {
  for (size_t j = 0; j < i; j++)
    if (strcmp(m[j].path, m[i].path) == 0 && strcmp(m[j].dtype, m[i].dtype) == 0) return 1;
  return 0;
}

static int memory_snapshot(void *aux, void **rows, size_t *n, sl_err *err) {
  sl_model_info *models;
  size_t n_models, k = 0;
  memory_row *r;
  size_t rss, peak_rss, l1_entries, l1_bytes, ann_bytes, ann_entries, ann_items;
  if (sl_op_model_list(&models, &n_models, err)) return SL_ERROR;
  if (!(r = sl_malloc((3 * n_models + 6) * sizeof *r))) {  /* the models, then 6 process rows */
    sl_free(models);
    return sl_oom(err);
  }
  for (size_t i = 0; i < n_models; i++) {
    char names[256], file[4200];
    size_t used;
    if (shown_before(models, i)) continue;
    used = (size_t)snprintf(names, sizeof names, "%s", models[i].name);
    for (size_t j = i + 1; j < n_models && used < sizeof names; j++)
      if (strcmp(models[j].path, models[i].path) == 0 && strcmp(models[j].dtype, models[i].dtype) == 0)
        used += (size_t)snprintf(names + used, sizeof names - used, ",%s", models[j].name);
    snprintf(file, sizeof file, "%s/model.safetensors", models[i].path);
    snprintf(add_row(r, &k, names, "weights_mapped", models[i].file_bytes)->detail,
             sizeof r->detail, "%s", file);
    snprintf(add_row(r, &k, names, "weights_resident", models[i].file_resident)->detail,
             sizeof r->detail, "%s", file);
    snprintf(add_row(r, &k, names, "weights_copies", models[i].owned_bytes)->detail, sizeof r->detail,
             "converted or quantized copies on the heap (dtype %s)", models[i].dtype);
  }
  sl_free(models);
  snprintf(add_row(r, &k, "", "scratch_peak", sl_memory_scratch_peak())->detail, sizeof r->detail,
           "largest forward-pass scratch since the extension loaded");
  sl_l1_usage(&l1_entries, &l1_bytes);
  snprintf(add_row(r, &k, "", "l1_cache", l1_bytes)->detail, sizeof r->detail,
           "in-memory inference cache, %zu entries", l1_entries);
  snprintf(add_row(r, &k, "", "vec_cache", sl_chunk_cache_bytes())->detail, sizeof r->detail,
           "semlite_vec chunks held for k-NN scans");
  sl_ann_cache_usage(&ann_bytes, &ann_entries, &ann_items);
  snprintf(add_row(r, &k, "", "ann_cache", ann_bytes)->detail, sizeof r->detail,
           "semlite_vec hnsw indexes held: %zu, %zu vectors, %.0f bytes/vector", ann_entries, ann_items,
           ann_items ? (double)ann_bytes / (double)ann_items : 0.0);
  sl_memory_rss(&rss, &peak_rss);
  snprintf(add_row(r, &k, "", "rss", rss)->detail, sizeof r->detail,
           "resident set size of the process now");
  snprintf(add_row(r, &k, "", "peak_rss", peak_rss)->detail, sizeof r->detail,
           "largest resident set size of the process (getrusage)");
  *rows = r;
  *n = k;
  return SL_OK;
}

static void memory_column(const void *rows, size_t i, sqlite3_context *ctx, int col) {
  const memory_row *r = (const memory_row *)rows + i;
  switch (col) {
    case MEM_MODEL:
      if (r->model[0]) sqlite3_result_text(ctx, r->model, -1, SQLITE_TRANSIENT);
      else sqlite3_result_null(ctx);
      break;
    case MEM_KIND: sqlite3_result_text(ctx, r->kind, -1, SQLITE_STATIC); break;
    case MEM_BYTES: sqlite3_result_int64(ctx, (sqlite3_int64)r->bytes); break;
    case MEM_DETAIL: sqlite3_result_text(ctx, r->detail, -1, SQLITE_TRANSIENT); break;
  }
}

/* ---- semlite_limits ---- */

enum { L_NAME, L_VALUE, L_DESCRIPTION };

static int limits_snapshot(void *aux, void **rows, size_t *n, sl_err *err) {
  long long *v = sl_malloc(SL_LIMIT_COUNT * sizeof *v);
  if (!v) return sl_oom(err);
  for (int i = 0; i < SL_LIMIT_COUNT; i++) v[i] = sl_limit_get((sl_limit)i);
  *rows = v;
  *n = SL_LIMIT_COUNT;
  return SL_OK;
}

static void limits_column(const void *rows, size_t i, sqlite3_context *ctx, int col) {
  switch (col) {
    case L_NAME: sqlite3_result_text(ctx, sl_limit_name((sl_limit)i), -1, SQLITE_STATIC); break;
    case L_VALUE: sqlite3_result_int64(ctx, ((const long long *)rows)[i]); break;
    case L_DESCRIPTION: sqlite3_result_text(ctx, sl_limit_description((sl_limit)i), -1, SQLITE_STATIC); break;
  }
}

/* Whether argument v still holds the text the row has. */
static int unchanged(sqlite3_value *v, const char *text) {
  return sqlite3_value_type(v) == SQLITE_TEXT && strcmp((const char *)sqlite3_value_text(v), text) == 0;
}

static int limits_update(sqlite3_vtab *vtab, int argc, sqlite3_value **argv, sqlite3_int64 *rowid) {
  sl_err err;
  sqlite3_int64 row = sqlite3_value_int64(argv[0]);
  sl_limit id;
  sqlite3_value *value;

  if (argc == 1) {
    sl_fail(&err, "rows cannot be deleted; set a limit's value instead");
    return sl_snapshot_fail(vtab, &err);
  }
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
    char names[256];
    sl_limit_list(names, sizeof names, " and ");
    sl_fail(&err, "rows cannot be inserted; the limits are %s", names);
    return sl_snapshot_fail(vtab, &err);
  }
  id = (sl_limit)(row - 1);
  if (sqlite3_value_int64(argv[1]) != row || !unchanged(argv[2 + L_NAME], sl_limit_name(id)) ||
      !unchanged(argv[2 + L_DESCRIPTION], sl_limit_description(id))) {
    sl_fail(&err, "only the value column can be changed");
    return sl_snapshot_fail(vtab, &err);
  }
  value = argv[2 + L_VALUE];
  if (sqlite3_value_type(value) != SQLITE_INTEGER) {
    sl_fail(&err, "%s must be an INTEGER, got %s", sl_limit_name(id), sl_sql_type_name(value));
    return sl_snapshot_fail(vtab, &err);
  }
  if (sl_limit_set(id, sqlite3_value_int64(value), &err)) return sl_snapshot_fail(vtab, &err);
  return SQLITE_OK;
}

/* ---- the modules ---- */

static const sl_snapshot_def metrics_def = {
  "semlite_metrics",
  "CREATE TABLE x(op TEXT, calls INTEGER, errors INTEGER, tokens INTEGER, p50_ms REAL, "
  "p95_ms REAL, p99_ms REAL, max_ms REAL, cache_hits INTEGER, cache_misses INTEGER, hit_rate REAL)",
  SQLITE_VTAB_DIRECTONLY, metrics_snapshot, metrics_column, NULL, NULL};
static const sl_snapshot_def memory_def = {
  "semlite_memory", "CREATE TABLE x(model TEXT, kind TEXT, bytes INTEGER, detail TEXT)",
  SQLITE_VTAB_INNOCUOUS, memory_snapshot, memory_column, NULL,
  "it reports memory in use; to bound it UPDATE semlite_limits (memory_budget_mb, l1_cache_mb, "
  "vec_cache_mb), to free a model call semlite_model_unload(name)"};
static const sl_snapshot_def limits_def = {
  "semlite_limits", "CREATE TABLE x(name TEXT, value INTEGER, description TEXT)",
  SQLITE_VTAB_DIRECTONLY, limits_snapshot, limits_column, NULL, NULL};

SL_SNAPSHOT_MODULE(sl_metrics_module, metrics_def, metrics_update);
SL_SNAPSHOT_MODULE(sl_memory_module, memory_def, sl_snapshot_read_only);
SL_SNAPSHOT_MODULE(sl_limits_module, limits_def, limits_update);
