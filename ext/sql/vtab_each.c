/*
** vtab_each.c: embed_each and rerank_each, table-valued functions that run a whole JSON
** array of texts through the model in packed batches instead of one forward pass per row.
**
**   embed_each(model, json_array_of_texts)       rows (i, embedding)
**   rerank_each(model, query, json_array_of_docs) rows (i, score)
**
** i is the 0-based index in the array; rows come in array order. embedding and score
** equal what embed() and rerank() give for the same text. Arguments are hidden columns,
** as in SQLite's ext/misc/series.c.
**
** The request is an ops stream (sl_op_stream in ext/ops/infer.h): batches are computed
** as the scan reaches them, through the inference cache when it is enabled, so memory
** holds one batch of results and a LIMIT stops the work. This file parses the array and
** walks the rows.
**
** NULL model, query or array: no rows. A JSON null element: a row with a NULL result, as
** embed(NULL) gives, so i stays aligned with the array. Any other non-string element, or
** an input that is not a JSON array, is an error before the first row.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/alloc.h"
#include "../base/json.h"
#include "../ops/infer.h"
#include "../ops/limits.h"
#include "../ops/progress.h"
#include "sql.h"
#include "sql_cache.h"

enum { COL_I, COL_RESULT, COL_ARGS /* the hidden argument columns start here */ };
#define MAX_ARGS 3

typedef struct each_kind {
  const char *fn;       /* for messages */
  const char *schema;
  int n_args;           /* hidden columns */
  int rerank;           /* arguments (model, query, docs) rather than (model, texts) */
  const char *usage;
} each_kind;

static const each_kind embed_kind = {
  "embed_each", "CREATE TABLE x(i INTEGER, embedding BLOB, model HIDDEN, texts HIDDEN)", 2, 0,
  "embed_each(model, json_array_of_texts)"};
static const each_kind rerank_kind = {
  "rerank_each", "CREATE TABLE x(i INTEGER, score REAL, model HIDDEN, query HIDDEN, docs HIDDEN)",
  3, 1, "rerank_each(model, query, json_array_of_docs)"};

typedef struct each_vtab {
  sqlite3_vtab base;
  const each_kind *kind;
  sl_cache *cache;
} each_vtab;

typedef struct each_cursor {
  sqlite3_vtab_cursor base;
  const each_kind *kind;
  sqlite3_value *args[MAX_ARGS];  /* copies of the arguments, for the hidden columns */
  sl_json_doc *doc;
  size_t n;                       /* elements of the array = rows */
  unsigned char *is_null;         /* per element */
  const char **texts;             /* the string elements, in order (into doc) */
  size_t *lens;
  sl_cache *cache;
  sl_op_stream *stream;           /* the request over texts */
  const float *row;               /* row i's result, when it has one */
  size_t i;                       /* current row */
  size_t t;                       /* texts before row i: row i's text when it has one */
  int progress;                   /* semlite_progress job (ops/progress.h), 0 when none */
} each_cursor;

static int each_connect(sqlite3 *db, const each_kind *kind, sl_cache *cache, sqlite3_vtab **out) {
  each_vtab *v;
  int rc = sqlite3_declare_vtab(db, kind->schema);
  if (rc != SQLITE_OK) return rc;
  v = sqlite3_malloc(sizeof *v);
  if (!v) return SQLITE_NOMEM;
  memset(v, 0, sizeof *v);
  v->kind = kind;
  v->cache = cache;
  *out = &v->base;
  /* Scans may write the cache: not from triggers or views (docs/cache.md). */
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  return SQLITE_OK;
}

static int embed_each_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                              sqlite3_vtab **out, char **errmsg) {
  return each_connect(db, &embed_kind, aux, out);
}

static int rerank_each_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                               sqlite3_vtab **out, char **errmsg) {
  return each_connect(db, &rerank_kind, aux, out);
}

static int each_disconnect(sqlite3_vtab *vtab) {
  sqlite3_free(vtab);
  return SQLITE_OK;
}

/* Every argument must come as an equality on its hidden column; xFilter gets them in
** column order and idxNum says which were given, so a call with too few arguments
** reaches xFilter and fails there with a message rather than "no query solution". */
static int each_best_index(sqlite3_vtab *vtab, sqlite3_index_info *info) {
  const each_kind *kind = ((each_vtab *)vtab)->kind;
  int at[MAX_ARGS] = {-1, -1, -1};
  unsigned given = 0, unusable = 0;

  for (int i = 0; i < info->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &info->aConstraint[i];
    int a = c->iColumn - COL_ARGS;
    if (a < 0 || c->op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
    if (!c->usable) {
      unusable |= 1u << a;
    } else if (at[a] < 0) {
      at[a] = i;
      given |= 1u << a;
    }
  }
  /* An argument that depends on a table not yet scanned: ask for another join order. */
  if (unusable & ~given) return SQLITE_CONSTRAINT;
  for (int a = 0, next = 1; a < kind->n_args; a++) {
    if (at[a] < 0) continue;
    info->aConstraintUsage[at[a]].argvIndex = next++;
    info->aConstraintUsage[at[a]].omit = 1;
  }
  info->idxNum = (int)given;
  info->estimatedCost = given == (1u << kind->n_args) - 1 ? 1000 : 1e12;
  info->estimatedRows = 1000;
  if (info->nOrderBy == 1 && info->aOrderBy[0].iColumn == COL_I && !info->aOrderBy[0].desc)
    info->orderByConsumed = 1;
  return SQLITE_OK;
}

static int each_open(sqlite3_vtab *vtab, sqlite3_vtab_cursor **out) {
  each_cursor *c = sqlite3_malloc(sizeof *c);
  if (!c) return SQLITE_NOMEM;
  memset(c, 0, sizeof *c);
  c->kind = ((each_vtab *)vtab)->kind;
  c->cache = ((each_vtab *)vtab)->cache;
  *out = &c->base;
  return SQLITE_OK;
}

/* Frees what the last scan held; the cursor is then as each_open left it. */
static void each_reset(each_cursor *c) {
  sqlite3_vtab_cursor base = c->base;
  const each_kind *kind = c->kind;
  sl_cache *cache = c->cache;
  sl_progress_end(c->progress);
  sl_op_stream_close(c->stream);
  for (int a = 0; a < MAX_ARGS; a++) sqlite3_value_free(c->args[a]);
  sl_json_free(c->doc);
  sl_free(c->is_null);
  sl_free(c->texts);
  sl_free(c->lens);
  memset(c, 0, sizeof *c);
  c->base = base;
  c->kind = kind;
  c->cache = cache;
}

static int each_close(sqlite3_vtab_cursor *cur) {
  each_reset((each_cursor *)cur);
  sqlite3_free(cur);
  return SQLITE_OK;
}

/* Makes row i's result ready, unless row i has none. */
static int each_fill(each_cursor *c) {
  sl_err err;
  if (c->i >= c->n || c->is_null[c->i]) return SQLITE_OK;
  if (sl_op_stream_row(c->stream, c->t, &c->row, &err)) return sl_vtab_fail(c->base.pVtab, c->kind->fn, &err);
  return SQLITE_OK;
}

static const char *json_type_name(sl_json_type t) {
  switch (t) {
    case SL_JSON_NULL: return "null";
    case SL_JSON_BOOL: return "boolean";
    case SL_JSON_NUMBER: return "number";
    case SL_JSON_STRING: return "string";
    case SL_JSON_ARRAY: return "array";
    default: return "object";
  }
}

/* Checks the arguments, parses the array and runs the first batch. */
static int each_filter(sqlite3_vtab_cursor *cur, int idx, const char *idx_str, int argc,
                       sqlite3_value **argv) {
  each_cursor *c = (each_cursor *)cur;
  const each_kind *kind = c->kind;
  static const char *const what[] = {"model name", "query"};
  sqlite3_value *array;
  const sl_json *root;
  const char *model, *query = NULL;
  sl_err err;
  size_t n, k, qlen = 0, n_texts = 0;

  each_reset(c);
  if (idx != (1 << kind->n_args) - 1 || argc != kind->n_args)
    return sl_vtab_error(c->base.pVtab, kind->fn, "expected %d arguments: %s", kind->n_args, kind->usage);
  for (int a = 0; a < argc; a++)
    if (!(c->args[a] = sqlite3_value_dup(argv[a]))) return SQLITE_NOMEM;

  /* NULL anywhere gives no rows, as embed() and rerank() give NULL. */
  for (int a = 0; a < argc; a++)
    if (sqlite3_value_type(c->args[a]) == SQLITE_NULL) return SQLITE_OK;
  for (int a = 0; a < argc - 1; a++)
    if (sqlite3_value_type(c->args[a]) != SQLITE_TEXT)
      return sl_vtab_error(c->base.pVtab, kind->fn, "the %s must be TEXT, got %s", what[a], sl_sql_type_name(c->args[a]));
  array = c->args[argc - 1];
  if (sqlite3_value_type(array) != SQLITE_TEXT)
    return sl_vtab_error(c->base.pVtab, kind->fn, "the input must be a JSON array as TEXT, got %s", sl_sql_type_name(array));
  model = (const char *)sqlite3_value_text(c->args[0]);
  if (kind->rerank) {
    query = (const char *)sqlite3_value_text(c->args[1]);
    qlen = (size_t)sqlite3_value_bytes(c->args[1]);
  }

  {
    const char *text = (const char *)sqlite3_value_text(array);
    if (!text || !model || (kind->rerank && !query)) return SQLITE_NOMEM;
    /* The model is checked first, so that a wrong name fails even on an empty array. */
    if (sl_op_model_width(model, kind->rerank ? SL_KIND_RERANK : SL_KIND_EMBED, NULL, &err))
      return sl_vtab_fail(c->base.pVtab, c->kind->fn, &err);
    if (sl_limit_document((size_t)sqlite3_value_bytes(array), &err) ||
        sl_json_parse(text, (size_t)sqlite3_value_bytes(array), &c->doc, &err))
      return sl_vtab_fail(c->base.pVtab, c->kind->fn, &err);
  }
  root = sl_json_root(c->doc);
  if (root->type != SL_JSON_ARRAY)
    return sl_vtab_error(c->base.pVtab, kind->fn, "the input is not a JSON array (got %s)", json_type_name(root->type));
  n = root->n;
  if (n == 0) return SQLITE_OK;
  c->is_null = sl_malloc(n);
  c->texts = sl_malloc(n * sizeof *c->texts);
  c->lens = sl_malloc(n * sizeof *c->lens);
  if (!c->is_null || !c->texts || !c->lens) return SQLITE_NOMEM;
  k = 0;
  for (const sl_json *e = root->child; e; e = e->next, k++) {
    c->is_null[k] = e->type == SL_JSON_NULL;
    if (c->is_null[k]) continue;
    if (e->type != SL_JSON_STRING)
      return sl_vtab_error(c->base.pVtab, kind->fn, "element %zu of the input array is not a string (got %s)", k,
                       json_type_name(e->type));
    c->texts[n_texts] = e->str;
    c->lens[n_texts++] = e->len;
  }
  if (sl_op_stream_open(sl_cache_l2(c->cache), model, query, qlen, n_texts, c->texts, c->lens,
                        &c->stream, &err))
    return sl_vtab_fail(c->base.pVtab, c->kind->fn, &err);
  c->n = n;   /* rows exist only once the whole array has passed the checks */
  c->progress = sl_progress_begin(kind->fn, model, (int64_t)n);
  return each_fill(c);
}

static int each_next(sqlite3_vtab_cursor *cur) {
  each_cursor *c = (each_cursor *)cur;
  if (!c->is_null[c->i]) c->t++;
  c->i++;
  sl_progress_set(c->progress, (int64_t)c->i);
  return each_fill(c);
}

static int each_eof(sqlite3_vtab_cursor *cur) {
  each_cursor *c = (each_cursor *)cur;
  return c->i >= c->n;
}

static int each_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col) {
  each_cursor *c = (each_cursor *)cur;
  if (col == COL_I) {
    sqlite3_result_int64(ctx, (sqlite3_int64)c->i);
  } else if (col >= COL_ARGS) {
    sqlite3_result_value(ctx, c->args[col - COL_ARGS]);
  } else if (c->is_null[c->i]) {
    sqlite3_result_null(ctx);
  } else if (c->kind->rerank) {
    sqlite3_result_double(ctx, c->row[0]);
  } else {
    size_t width = sl_op_stream_width(c->stream);
    sqlite3_result_blob(ctx, c->row, (int)(width * sizeof *c->row), SQLITE_TRANSIENT);
    sqlite3_result_subtype(ctx, SL_SUBTYPE_F32);
  }
  return SQLITE_OK;
}

static int each_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid) {
  *rowid = (sqlite3_int64)((each_cursor *)cur)->i;
  return SQLITE_OK;
}

#define EACH_MODULE(connect) {                                                           \
  .iVersion = 0, .xConnect = connect, .xBestIndex = each_best_index,                     \
  .xDisconnect = each_disconnect, .xOpen = each_open, .xClose = each_close,             \
  .xFilter = each_filter, .xNext = each_next, .xEof = each_eof, .xColumn = each_column, \
  .xRowid = each_rowid}

sqlite3_module sl_embed_each_module = EACH_MODULE(embed_each_connect);
sqlite3_module sl_rerank_each_module = EACH_MODULE(rerank_each_connect);
