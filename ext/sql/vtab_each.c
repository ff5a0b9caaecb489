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
** Batches are computed as the scan reaches them (sl_op_*_batch: at most SL_BATCH_TOKENS
** tokens each), so memory holds one batch of results and a LIMIT stops the work. The
** model is pinned per batch, not for the whole scan: a statement left half-stepped must
** not keep semlite_model_unload() waiting forever (in the same thread, a deadlock).
**
** With the inference cache enabled (sql_cache.h), the scan works in windows of up to
** SL_BATCH_MAX_SEQS texts: every text of a window is looked up once (ops 'embed_each',
** 'rerank_each'), the misses run in packed batches and are stored, and the rows are
** ready up to the first miss a batch did not reach; the rest of the window carries
** over, already looked up, to the next. Without the cache every text is a miss and
** this is the plain batched scan.
**
** NULL model, query or array: no rows. A JSON null element: a row with a NULL result, as
** embed(NULL) gives, so i stays aligned with the array. Any other non-string element, or
** an input that is not a JSON array, is an error before the first row.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/json.h"
#include "../ops/infer.h"
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

enum { ROW_MISS, ROW_READY };   /* a window row: to compute, or found or computed */

typedef struct each_cursor {
  sqlite3_vtab_cursor base;
  const each_kind *kind;
  sqlite3_value *args[MAX_ARGS];  /* copies of the arguments, for the hidden columns */
  const char *model, *query;      /* TEXT of args[0], args[1] (rerank_each) */
  size_t qlen;
  sl_json_doc *doc;
  size_t n;                       /* elements of the array = rows */
  unsigned char *is_null;         /* per element */
  const char **texts;             /* the string elements, in order (into doc) */
  size_t *lens;
  size_t n_texts;
  char *dir;                      /* folder of the model the scan started with */
  size_t width;                   /* floats per result: hidden size, or 1 */
  sl_cache *cache;
  int cached;                     /* the cache is on for this scan */
  size_t cap;                     /* rows of a window: min(n_texts, SL_BATCH_MAX_SEQS) */
  float *out;                     /* results of the window's texts [b0, b0 + w) */
  unsigned char *state;           /* ROW_* per window row */
  sl_cache_key *keys;             /* per window row, when cached */
  float *tmp;                     /* a batch's results, before they go to their rows */
  size_t *midx;                   /* window rows of the misses, in order */
  const char **mtexts;            /* their texts */
  size_t *mlens;
  size_t b0, bn, w;               /* rows [b0, b0 + bn) are ready; w looked up */
  size_t i;                       /* current row */
  size_t t;                       /* texts before row i: row i's text when it has one */
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
  for (int a = 0; a < MAX_ARGS; a++) sqlite3_value_free(c->args[a]);
  sl_json_free(c->doc);
  free(c->is_null);
  free(c->texts);
  free(c->lens);
  free(c->dir);
  free(c->out);
  free(c->state);
  free(c->keys);
  free(c->tmp);
  free(c->midx);
  free(c->mtexts);
  free(c->mlens);
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

/* Sets the statement's error to "fn: message" and returns SQLITE_ERROR. The format is
** C's printf (as sl_fail's), not SQLite's, whose %z means something else. */
static int each_fail(each_cursor *c, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 2, 3)))
#endif
  ;
static int each_fail(each_cursor *c, const char *fmt, ...) {
  sqlite3_vtab *vtab = c->base.pVtab;
  char msg[SL_ERR_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  sqlite3_free(vtab->zErrMsg);
  vtab->zErrMsg = sqlite3_mprintf("%s: %s", c->kind->fn, msg);
  return vtab->zErrMsg ? SQLITE_ERROR : SQLITE_NOMEM;
}

static int pin(each_cursor *c, sl_model **m, sl_err *err) {
  return c->kind->rerank ? sl_op_pin_reranker(c->model, m, err)
                         : sl_op_pin(c->model, SL_KIND_EMBED, m, err);
}

/* Looks up row j of the window (text b0 + j): ROW_READY with its result in out, or
** ROW_MISS with its address kept for the store. */
static void look_up(each_cursor *c, sl_model *m, size_t j) {
  size_t t = c->b0 + j, bytes = c->width * sizeof *c->out;
  sl_cache_part parts[2] = {{c->query, c->qlen}, {c->texts[t], c->lens[t]}};
  int rerank = c->kind->rerank;
  c->state[j] = ROW_MISS;
  if (!c->cached) return;
  sl_cache_address(m, c->kind->fn, rerank ? 2 : 1, parts + !rerank, &c->keys[j]);
  if (sl_cache_get(c->cache, c->kind->fn, &c->keys[j], c->out + j * c->width, bytes))
    c->state[j] = ROW_READY;
}

/* Makes row i's result ready, unless row i has none or it is: moves the window on,
** looks up its new texts, runs one batch over its misses. */
static int each_fill(each_cursor *c) {
  size_t keep, nm = 0, done = 0, width = c->width;
  sl_model *m;
  sl_err err;
  int rc;

  if (c->i >= c->n || c->is_null[c->i] || c->t < c->b0 + c->bn) return SQLITE_OK;
  if (pin(c, &m, &err)) return each_fail(c, "%s", err.msg);
  /* The name may have been unloaded and loaded from another folder between batches. */
  if (strcmp(m->dir, c->dir) != 0) {
    sl_registry_release(m);
    return each_fail(c, "model '%s' was replaced during the scan", c->model);
  }
  /* Rows looked up but not ready move to the front: c->t is b0 + bn here. */
  keep = c->w - c->bn;
  memmove(c->out, c->out + c->bn * width, keep * width * sizeof *c->out);
  memmove(c->state, c->state + c->bn, keep);
  if (c->cached) memmove(c->keys, c->keys + c->bn, keep * sizeof *c->keys);
  c->b0 = c->t;
  c->bn = 0;
  c->w = keep;
  while (c->w < c->cap && c->b0 + c->w < c->n_texts) look_up(c, m, c->w++);

  for (size_t j = 0; j < c->w; j++) {
    if (c->state[j] != ROW_MISS) continue;
    c->midx[nm] = j;
    c->mtexts[nm] = c->texts[c->b0 + j];
    c->mlens[nm++] = c->lens[c->b0 + j];
  }
  rc = SL_OK;
  if (nm > 0)
    rc = c->kind->rerank
       ? sl_op_rerank_batch(m, c->query, c->qlen, nm, c->mtexts, c->mlens, c->tmp, &done, &err)
       : sl_op_embed_batch(m, nm, c->mtexts, c->mlens, c->tmp, &done, &err);
  sl_registry_release(m);
  if (rc) return each_fail(c, "%s", err.msg);
  for (size_t k = 0; k < done; k++) {
    float *row = c->out + c->midx[k] * width;
    memcpy(row, c->tmp + k * width, width * sizeof *row);
    c->state[c->midx[k]] = ROW_READY;
    if (c->cached)
      sl_cache_put(c->cache, c->kind->fn, &c->keys[c->midx[k]], row, width * sizeof *row);
  }
  c->bn = done < nm ? c->midx[done] : c->w;
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
  sl_model *m;
  sl_err err;
  size_t n, k;

  each_reset(c);
  if (idx != (1 << kind->n_args) - 1 || argc != kind->n_args)
    return each_fail(c, "expected %d arguments: %s", kind->n_args, kind->usage);
  for (int a = 0; a < argc; a++)
    if (!(c->args[a] = sqlite3_value_dup(argv[a]))) return SQLITE_NOMEM;

  /* NULL anywhere gives no rows, as embed() and rerank() give NULL. */
  for (int a = 0; a < argc; a++)
    if (sqlite3_value_type(c->args[a]) == SQLITE_NULL) return SQLITE_OK;
  for (int a = 0; a < argc - 1; a++)
    if (sqlite3_value_type(c->args[a]) != SQLITE_TEXT)
      return each_fail(c, "the %s must be TEXT, got %s", what[a], sl_sql_type_name(c->args[a]));
  array = c->args[argc - 1];
  if (sqlite3_value_type(array) != SQLITE_TEXT)
    return each_fail(c, "the input must be a JSON array as TEXT, got %s", sl_sql_type_name(array));
  c->model = (const char *)sqlite3_value_text(c->args[0]);
  if (kind->rerank) {
    c->query = (const char *)sqlite3_value_text(c->args[1]);
    c->qlen = (size_t)sqlite3_value_bytes(c->args[1]);
  }

  /* The model first, so that a wrong name fails even on an empty array. */
  if (!c->model || (kind->rerank && !c->query)) return SQLITE_NOMEM;
  if (pin(c, &m, &err)) return each_fail(c, "%s", err.msg);
  c->width = kind->rerank ? 1 : (size_t)m->cfg.hidden;
  c->dir = strdup(m->dir);
  sl_registry_release(m);
  if (!c->dir) return SQLITE_NOMEM;

  {
    const char *text = (const char *)sqlite3_value_text(array);
    if (!text) return SQLITE_NOMEM;
    if (sl_json_parse(text, (size_t)sqlite3_value_bytes(array), &c->doc, &err))
      return each_fail(c, "%s", err.msg);
  }
  root = sl_json_root(c->doc);
  if (root->type != SL_JSON_ARRAY)
    return each_fail(c, "the input is not a JSON array (got %s)", json_type_name(root->type));
  n = root->n;
  if (n == 0) return SQLITE_OK;
  c->is_null = malloc(n);
  c->texts = malloc(n * sizeof *c->texts);
  c->lens = malloc(n * sizeof *c->lens);
  if (!c->is_null || !c->texts || !c->lens) return SQLITE_NOMEM;
  k = 0;
  for (const sl_json *e = root->child; e; e = e->next, k++) {
    c->is_null[k] = e->type == SL_JSON_NULL;
    if (c->is_null[k]) continue;
    if (e->type != SL_JSON_STRING)
      return each_fail(c, "element %zu of the input array is not a string (got %s)", k,
                       json_type_name(e->type));
    c->texts[c->n_texts] = e->str;
    c->lens[c->n_texts++] = e->len;
  }
  if (c->n_texts) {
    size_t rows = c->n_texts < SL_BATCH_MAX_SEQS ? c->n_texts : SL_BATCH_MAX_SEQS;
    c->cap = rows;
    c->cached = sl_cache_on(c->cache);
    c->out = malloc(rows * c->width * sizeof *c->out);
    c->tmp = malloc(rows * c->width * sizeof *c->tmp);
    c->state = malloc(rows);
    c->midx = malloc(rows * sizeof *c->midx);
    c->mtexts = malloc(rows * sizeof *c->mtexts);
    c->mlens = malloc(rows * sizeof *c->mlens);
    if (c->cached) c->keys = malloc(rows * sizeof *c->keys);
    if (!c->out || !c->tmp || !c->state || !c->midx || !c->mtexts || !c->mlens ||
        (c->cached && !c->keys))
      return SQLITE_NOMEM;
  }
  c->n = n;   /* rows exist only once the whole array has passed the checks */
  return each_fill(c);
}

static int each_next(sqlite3_vtab_cursor *cur) {
  each_cursor *c = (each_cursor *)cur;
  if (!c->is_null[c->i]) c->t++;
  c->i++;
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
    sqlite3_result_double(ctx, c->out[c->t - c->b0]);
  } else {
    const float *r = c->out + (c->t - c->b0) * c->width;
    sqlite3_result_blob(ctx, r, (int)(c->width * sizeof *r), SQLITE_TRANSIENT);
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
