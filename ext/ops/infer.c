/*
** infer.c: inference requests end to end (see infer.h). Every request takes one route:
** pin, address and look up each input (cache.c), compute the misses within the
** limits, store them, release. Every compute reads the limits once and reports its
** latency, tokens and scratch to the metrics.
*/
#include "../base/alloc.h"
#include "infer.h"

#include <stdlib.h>
#include <string.h>

#include "../engine/registry.h"
#include "limits.h"
#include "memory.h"

/* ---- pinning ---- */

static const char *kind_noun(sl_model_kind kind) {
  return kind == SL_KIND_EMBED ? "an embedding model" : "a cross-encoder (rerank) model";
}

/* A cross-encoder with other than one output has no single relevance score. */
static int usable(const sl_model *m, sl_model_kind kind) {
  return kind != SL_KIND_RERANK || m->cfg.num_labels == 1;
}

int sl_op_pin(const char *name, sl_model_kind kind, sl_model **out, sl_err *err) {
  sl_model *m = name ? sl_registry_acquire(name) : sl_registry_acquire_first(kind);
  *out = NULL;
  if (!m) {
    if (name) return sl_fail(err, "no model named '%s' (load one with semlite_model_load)", name);
    return sl_fail(err, "no %s is loaded (load one with semlite_model_load)",
                   kind == SL_KIND_EMBED ? "embedding model" : "cross-encoder (rerank) model");
  }
  if (kind != SL_KIND_ANY && m->cfg.kind != kind) {
    sl_registry_release(m);
    return sl_fail(err, "model '%s' is %s, not %s", name, kind_noun(m->cfg.kind), kind_noun(kind));
  }
  if (!usable(m, kind)) {
    int labels = m->cfg.num_labels;
    sl_registry_release(m);
    if (name)
      return sl_fail(err, "model '%s' is a classifier with %d labels; rerank needs a cross-encoder "
                     "with a single output (num_labels 1)", name, labels);
    return sl_fail(err, "the first loaded cross-encoder is a classifier with %d labels; rerank needs "
                   "a single output (num_labels 1): name a model", labels);
  }
  *out = m;
  return SL_OK;
}

int sl_op_pin_optional(const char *name, sl_model_kind kind, sl_model **out, sl_err *err) {
  if (name) return sl_op_pin(name, kind, out, err);
  *out = sl_registry_acquire_first(kind);
  if (*out && !usable(*out, kind)) {
    sl_registry_release(*out);
    *out = NULL;
  }
  return SL_OK;
}

void sl_op_release(sl_model *m) {
  if (m) sl_registry_release(m);
}

size_t sl_op_width(const sl_model *m) {
  return m->cfg.kind == SL_KIND_EMBED ? (size_t)m->cfg.hidden : 1;
}

const char *sl_op_folder(const sl_model *m) { return m->dir; }

void sl_op_identity(sl_model *m, unsigned char id[16]) { sl_model_identity(m, id); }

int sl_op_model_width(const char *model, sl_model_kind kind, size_t *width, sl_err *err) {
  sl_model *m;
  if (sl_op_pin(model, kind, &m, err)) return SL_ERROR;
  if (width) *width = sl_op_width(m);
  sl_op_release(m);
  return SL_OK;
}

/* ---- compute ---- */

/* Runs texts [0, n) (or pairs with query) through m. With done NULL, all of them in as
** many passes as the limits need, one `metric` call; else one pass over the leading ones
** (*done: how many). */
static int compute(sl_op metric, const sl_model *m, const char *query, size_t qlen, size_t n,
                   const char *const *texts, const size_t *lens, float *out, size_t *done,
                   sl_err *err) {
  uint64_t t0 = sl_metrics_now();
  sl_pass_limits lim;
  sl_pass_stats st = {0};
  int rc;
  sl_limits_pass(&lim);
  if (query)
    rc = done ? sl_model_rerank_batch(m, &lim, query, qlen, n, texts, lens, out, done, &st, err)
              : sl_model_rerank(m, &lim, query, qlen, n, texts, lens, out, &st, err);
  else
    rc = done ? sl_model_embed_batch(m, &lim, n, texts, lens, out, done, &st, err)
              : sl_model_embed(m, &lim, n, texts, lens, out, &st, err);
  sl_memory_note_scratch(st.peak_bytes);
  sl_metrics_record(metric, t0, st.tokens, rc != SL_OK);
  return rc;
}

/* The address of text i of a request: (text) or (query, text). */
void sl_op_address(const unsigned char id[16], const char *op, const char *query, size_t qlen,
                   const char *text, size_t len, sl_cache_key *key) {
  sl_cache_part parts[2] = {{query, qlen}, {text, len}};
  sl_cache_address(id, op, query ? 2 : 1, parts + !query, key);
}

/* The one cached route over a pinned model: looks every input up, computes the misses
** (all at once, or pass by pass with per_pass), stores them. */
static int run_cached(sl_l2 *l2, const char *op, sl_op metric, int per_pass, sl_model *m,
                      const char *query, size_t qlen, size_t n, const char *const *texts,
                      const size_t *lens, float *out, sl_err *err) {
  const size_t width = sl_op_width(m), bytes = width * sizeof *out;
  sl_cache_key *keys = NULL;
  size_t *midx = NULL, *mlens = NULL, nm = 0;
  const char **mtexts = NULL;
  float *tmp = NULL;
  unsigned char id[16];
  int rc = SL_ERROR;

  if (n == 0) return SL_OK;
  if (!l2 && !per_pass) return compute(metric, m, query, qlen, n, texts, lens, out, NULL, err);
  keys = l2 ? sl_malloc(n * sizeof *keys) : NULL;
  midx = sl_malloc(n * sizeof *midx);
  mlens = sl_malloc(n * sizeof *mlens);
  mtexts = sl_malloc(n * sizeof *mtexts);
  tmp = sl_malloc(n * bytes);
  if ((l2 && !keys) || !midx || !mlens || !mtexts || !tmp) {
    sl_oom(err);
    goto done;
  }
  if (l2) sl_op_identity(m, id);
  for (size_t i = 0; i < n; i++) {
    int hit = 0;
    if (l2) {
      sl_op_address(id, op, query, qlen, texts[i], lens[i], &keys[i]);
      if (sl_cache_lookup(l2, op, &keys[i], out + i * width, bytes, &hit, err)) goto done;
    }
    if (hit) continue;
    midx[nm] = i;
    mtexts[nm] = texts[i];
    mlens[nm++] = lens[i];
  }
  for (size_t d = 0; d < nm;) {
    size_t got = nm - d;
    if (compute(metric, m, query, qlen, nm - d, mtexts + d, mlens + d, tmp + d * width,
                per_pass ? &got : NULL, err))
      goto done;
    d += got;
  }
  for (size_t k = 0; k < nm; k++) {
    float *row = out + midx[k] * width;
    memcpy(row, tmp + k * width, bytes);
    if (l2 && sl_cache_store(l2, op, &keys[midx[k]], row, bytes, err)) goto done;
  }
  rc = SL_OK;
done:
  sl_free(keys);
  sl_free(midx);
  sl_free(mlens);
  sl_free(mtexts);
  sl_free(tmp);
  return rc;
}

int sl_op_run_list(sl_l2 *l2, const char *op, sl_op metric, sl_model *m, const char *query,
                   size_t qlen, size_t n, const char *const *texts, const size_t *lens,
                   float *out, sl_err *err) {
  return run_cached(l2, op, metric, 1, m, query, qlen, n, texts, lens, out, err);
}

/* ---- requests by name ---- */

int sl_op_embed_text(sl_l2 *l2, const char *model, const char *text, size_t len, float **out,
                     size_t *dim, sl_err *err) {
  sl_model *m;
  int rc;
  *out = NULL;
  if (sl_op_pin(model, SL_KIND_EMBED, &m, err)) return SL_ERROR;
  *dim = sl_op_width(m);
  if (!(*out = sl_malloc(*dim * sizeof **out))) {
    sl_op_release(m);
    return sl_oom(err);
  }
  rc = run_cached(l2, "embed", SL_OP_EMBED, 0, m, NULL, 0, 1, &text, &len, *out, err);
  sl_op_release(m);
  if (rc) {
    sl_free(*out);
    *out = NULL;
  }
  return rc;
}

int sl_op_rerank_pair(sl_l2 *l2, const char *model, const char *query, size_t qlen,
                      const char *doc, size_t dlen, float *score, sl_err *err) {
  sl_model *m;
  int rc;
  if (sl_op_pin(model, SL_KIND_RERANK, &m, err)) return SL_ERROR;
  rc = run_cached(l2, "rerank", SL_OP_RERANK, 0, m, query, qlen, 1, &doc, &dlen, score, err);
  sl_op_release(m);
  return rc;
}

int sl_op_tokenize(const char *model, const char *text, size_t len, int **ids, size_t *n,
                   sl_err *err) {
  sl_model *m;
  sl_tokens t = {0};
  int rc;
  *ids = NULL;
  *n = 0;
  if (sl_op_pin(model, model ? SL_KIND_ANY : SL_KIND_EMBED, &m, err)) return SL_ERROR;
  rc = sl_model_tokenize(m, text, len, &t, err);
  sl_op_release(m);
  if (rc == SL_OK) {
    if (!(*ids = sl_malloc((t.n ? t.n : 1) * sizeof **ids))) {
      rc = sl_oom(err);
    } else {
      for (size_t i = 0; i < t.n; i++) (*ids)[i] = t.ids[i];
      *n = t.n;
    }
  }
  sl_tokens_free(&t);
  return rc;
}

int sl_op_embed_rows(sl_l2 *l2, const char *model, size_t dims, size_t n,
                     const char *const *texts, const size_t *lens, float *out, sl_err *err) {
  sl_model *m;
  int rc;
  if (sl_op_pin(model, SL_KIND_EMBED, &m, err)) return SL_ERROR;
  if (sl_op_width(m) != dims) {
    size_t width = sl_op_width(m);
    sl_op_release(m);
    return sl_fail(err, "model '%s' gives %zu dimensions, the column has %zu", model, width, dims);
  }
  rc = run_cached(l2, "embed", SL_OP_EMBED, 0, m, NULL, 0, n, texts, lens, out, err);
  sl_op_release(m);
  return rc;
}

/* ---- streams ---- */

enum { ROW_MISS, ROW_READY };   /* a window row: to compute, or found or computed */

/* The stream works in windows of up to SL_BATCH_MAX_SEQS texts: every text of a window
** is looked up once, the misses run in one pass, the rows are ready up to the first
** miss the pass did not reach; the rest of the window carries over, already looked up,
** to the next. Without a cache every text is a miss and this is the plain batched scan. */
struct sl_op_stream {
  sl_l2 *l2;
  char *model, *dir;              /* the name, and the folder the stream started with */
  unsigned char id[16];           /* and that model's identity */
  const char *query;              /* rerank_each, else NULL */
  size_t qlen;
  const char *const *texts;
  const size_t *lens;
  size_t n, width, cap;           /* cap: rows of a window */
  const char *op;                 /* "embed_each" or "rerank_each" */
  sl_op metric;
  float *out;                     /* results of the window's texts [b0, b0 + w) */
  unsigned char *state;           /* ROW_* per window row */
  sl_cache_key *keys;             /* per window row, with a cache */
  float *tmp;                     /* a pass's results, before they go to their rows */
  size_t *midx;                   /* window rows of the misses, in order */
  const char **mtexts;
  size_t *mlens;
  size_t b0, bn, w;               /* rows [b0, b0 + bn) are ready; w looked up */
};

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = sl_malloc(n);
  return d ? memcpy(d, s, n) : NULL;
}

void sl_op_stream_close(sl_op_stream *s) {
  if (!s) return;
  sl_free(s->model);
  sl_free(s->dir);
  sl_free(s->out);
  sl_free(s->state);
  sl_free(s->keys);
  sl_free(s->tmp);
  sl_free(s->midx);
  sl_free(s->mtexts);
  sl_free(s->mlens);
  sl_free(s);
}

int sl_op_stream_open(sl_l2 *l2, const char *model, const char *query, size_t qlen, size_t n,
                      const char *const *texts, const size_t *lens, sl_op_stream **out,
                      sl_err *err) {
  sl_model_kind kind = query ? SL_KIND_RERANK : SL_KIND_EMBED;
  sl_op_stream *s = sl_calloc(1, sizeof *s);
  sl_model *m;
  size_t rows;

  *out = NULL;
  if (!s) return sl_oom(err);
  /* The model first, so that a wrong name fails even on an empty list. */
  if (sl_op_pin(model, kind, &m, err)) {
    sl_free(s);
    return SL_ERROR;
  }
  s->width = sl_op_width(m);
  s->dir = dup_str(sl_op_folder(m));
  sl_op_identity(m, s->id);
  sl_op_release(m);
  s->l2 = l2;
  s->model = dup_str(model);
  s->query = query;
  s->qlen = qlen;
  s->texts = texts;
  s->lens = lens;
  s->n = n;
  s->op = query ? "rerank_each" : "embed_each";
  s->metric = query ? SL_OP_RERANK_EACH : SL_OP_EMBED_EACH;
  rows = s->cap = n < SL_BATCH_MAX_SEQS ? n : SL_BATCH_MAX_SEQS;
  if (rows) {
    s->out = sl_malloc(rows * s->width * sizeof *s->out);
    s->tmp = sl_malloc(rows * s->width * sizeof *s->tmp);
    s->state = sl_malloc(rows);
    s->midx = sl_malloc(rows * sizeof *s->midx);
    s->mtexts = sl_malloc(rows * sizeof *s->mtexts);
    s->mlens = sl_malloc(rows * sizeof *s->mlens);
    if (l2) s->keys = sl_malloc(rows * sizeof *s->keys);
  }
  if (!s->model || !s->dir || (rows && (!s->out || !s->tmp || !s->state || !s->midx ||
                                        !s->mtexts || !s->mlens || (l2 && !s->keys)))) {
    sl_op_stream_close(s);
    return sl_oom(err);
  }
  *out = s;
  return SL_OK;
}

size_t sl_op_stream_width(const sl_op_stream *s) { return s->width; }

/* Looks up window row j (text b0 + j): ROW_READY with its result, or ROW_MISS with its
** address kept for the store. */
static int look_up(sl_op_stream *s, const unsigned char id[16], size_t j, sl_err *err) {
  size_t t = s->b0 + j;
  int hit = 0;
  if (s->l2) {
    sl_op_address(id, s->op, s->query, s->qlen, s->texts[t], s->lens[t], &s->keys[j]);
    if (sl_cache_lookup(s->l2, s->op, &s->keys[j], s->out + j * s->width,
                        s->width * sizeof *s->out, &hit, err))
      return SL_ERROR;
  }
  s->state[j] = hit ? ROW_READY : ROW_MISS;
  return SL_OK;
}

/* Moves the window to text t (= b0 + bn), looks up its new texts, runs one pass over
** its misses and stores them. */
static int advance(sl_op_stream *s, sl_model *m, size_t t, sl_err *err) {
  const size_t width = s->width, bytes = width * sizeof *s->out;
  size_t keep = s->w - s->bn, nm = 0, done = 0;
  unsigned char id[16];

  memmove(s->out, s->out + s->bn * width, keep * bytes);
  memmove(s->state, s->state + s->bn, keep);
  if (s->l2) memmove(s->keys, s->keys + s->bn, keep * sizeof *s->keys);
  s->b0 = t;
  s->bn = 0;
  s->w = keep;
  if (s->l2) sl_op_identity(m, id);
  while (s->w < s->cap && s->b0 + s->w < s->n)
    if (look_up(s, id, s->w++, err)) return SL_ERROR;
  for (size_t j = 0; j < s->w; j++) {
    if (s->state[j] != ROW_MISS) continue;
    s->midx[nm] = j;
    s->mtexts[nm] = s->texts[s->b0 + j];
    s->mlens[nm++] = s->lens[s->b0 + j];
  }
  if (nm > 0 && compute(s->metric, m, s->query, s->qlen, nm, s->mtexts, s->mlens, s->tmp, &done, err))
    return SL_ERROR;
  for (size_t k = 0; k < done; k++) {
    float *row = s->out + s->midx[k] * width;
    memcpy(row, s->tmp + k * width, bytes);
    s->state[s->midx[k]] = ROW_READY;
    if (s->l2 && sl_cache_store(s->l2, s->op, &s->keys[s->midx[k]], row, bytes, err))
      return SL_ERROR;
  }
  s->bn = done < nm ? s->midx[done] : s->w;
  return SL_OK;
}

int sl_op_stream_row(sl_op_stream *s, size_t i, const float **row, sl_err *err) {
  if (i >= s->b0 + s->bn) {
    sl_model *m;
    int rc;
    if (sl_op_pin(s->model, s->query ? SL_KIND_RERANK : SL_KIND_EMBED, &m, err)) return SL_ERROR;
    /* The name may have been loaded again, from another folder or from changed files,
    ** between passes. */
    unsigned char id[16];
    sl_op_identity(m, id);
    if (strcmp(sl_op_folder(m), s->dir) != 0 || memcmp(id, s->id, sizeof id) != 0) {
      sl_op_release(m);
      return sl_fail(err, "model '%s' was replaced during the scan", s->model);
    }
    rc = advance(s, m, s->b0 + s->bn, err);
    sl_op_release(m);
    if (rc) return SL_ERROR;
  }
  *row = s->out + (i - s->b0) * s->width;
  return SL_OK;
}
