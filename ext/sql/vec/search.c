/*
** search.c: the k-NN search of semlite_vec (search.h), run inside xFilter; it reads
** the shadow tables through store.h and scores with vector/score.h and quant.h.
**
**   no filter   one pass over T_chunks: each chunk's vectors (or quantized copy) are
**               scored in one sl_distance_many call; valid slots go through the top-k.
**               A chunk is read from the process-wide chunk cache (vector/chunk_cache.h)
**               by its version, and on a miss read once from SQLite into it; chunks the
**               cache cannot take are read into a buffer of this search.
**   filters     one SQL query over T_rowids with the filters gives (rowid, chunk,
**               offset) of every qualifying row BEFORE any ranking, so a query returns k
**               rows whenever k rows match. Positions are sorted and read back as runs
**               of nearby slots with incremental BLOB I/O: a selective filter reads
**               only the vectors it needs, a loose one reads almost whole chunks; a
**               chunk the cache holds is scored in place.
**   quantizer   the pass above scores the quantized copy and keeps k * oversample
**               candidates; their float32 vectors are then read and scored exactly.
**   hnsw        (the first vector column `indexed by hnsw(...)`, index_hnsw.h) the graph
**               gives max(ef_search, k) candidates by their int8 codes, rescored exactly
**               as above. With filters: the filter query runs first; when it lets
**               through under VV_HNSW_FILTER_EXACT_PCT of the indexed rows (or filters
**               on rowid) those rows are scanned exactly, else the graph search skips
**               the others.
**   ivf         (`indexed by ivf(...)` once it has centroids, index_ivf.h) the same path:
**               the codes of the nprobe nearest lists give the candidates; a filtered
**               query that the lists cannot give k rows is answered exactly.
** distance constraints apply to exact distances only.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../ops/metrics.h"
#include "../../vector/chunk_cache.h"
#include "../../vector/quant.h"
#include "../../vector/score.h"
#include "index_hnsw.h"
#include "index_ivf.h"
#include "search.h"

/* ---- the search ---- */

typedef struct search {
  vv_table *t;
  const vv_query *q;
  const void *query;           /* what the first pass scores: q->q or its quantized form */
  int quant;                   /* the first pass scores the quantized copy */
  int graph;                   /* candidates come from the hnsw index; s->column is "vectors" */
  sl_topk top;
  float *dist;                 /* lay.cap distances */
  unsigned char *buf;          /* one chunk as load_chunk lays it out, or partially */
  sqlite3_blob *blob;          /* on the scanned column (vectors or qvectors) */
  sqlite3_blob *blob_rowids, *blob_valid;
  const char *column;          /* the scanned column */
  const sl_chunk_layout *lay;  /* of the searched vector column */
  char column_buf[24];         /* vectors<j> */
  size_t data_bytes;           /* its size */
  uint64_t scan;               /* this search's id in the chunk cache */
} search;

static int distances(search *s, const void *base, size_t first, size_t count) {
  sl_err err;
  int rc = s->quant ? sl_quant_distances(s->lay, s->query, base, first, count, s->dist, &err)
                    : sl_knn_distances(s->lay, s->query, base, first, count, s->dist, &err);
  return rc ? sl_vtab_fail(&s->t->base, s->t->name, &err) : SQLITE_OK;
}

static void consider(search *s, float d, size_t slot, sqlite3_int64 rowid, sqlite3_int64 chunk_id) {
  sl_knn_hit hit;
  /* NaN (cosine with a zero vector) ranks nowhere; it would also break the heap order.
  ** Quantized estimates are not distances: the range is checked when rescoring. */
  if (isnan(d) || (!s->quant && !sl_knn_range_has(&s->q->range, d))) return;
  hit.distance = d;
  hit.offset = (int32_t)slot;
  hit.rowid = rowid;
  hit.chunk_id = chunk_id;
  sl_topk_push(&s->top, &hit);
}

/* One chunk's scanned column, rowids and validity, laid out in that order (so the column
** starts aligned): in the chunk cache, or in s->buf. */
typedef struct chunk_view {
  const unsigned char *data, *rowids, *valid;
  sl_cached_chunk *entry;      /* pinned, or NULL when the view is in s->buf */
} chunk_view;

/* Reads the chunk's scanned column, rowids and validity into dst, in chunk_view's order. */
static int read_chunk(search *s, sqlite3_int64 chunk, unsigned char *dst) {
  vv_table *t = s->t;
  const sl_chunk_layout *lay = s->lay;
  int rc;
  if ((rc = vv_blob_seek(t, &s->blob, s->column, chunk, 0)) != SQLITE_OK ||
      (rc = vv_blob_seek(t, &s->blob_rowids, "rowids", chunk, 0)) != SQLITE_OK ||
      (rc = vv_blob_seek(t, &s->blob_valid, "validity", chunk, 0)) != SQLITE_OK)
    return rc;
  if ((rc = sqlite3_blob_read(s->blob, dst, (int)s->data_bytes, 0)) != SQLITE_OK ||
      (rc = sqlite3_blob_read(s->blob_rowids, dst + s->data_bytes, (int)lay->rowids_bytes, 0)) != SQLITE_OK ||
      (rc = sqlite3_blob_read(s->blob_valid, dst + s->data_bytes + lay->rowids_bytes,
                              (int)lay->validity_bytes, 0)) != SQLITE_OK)
    return vv_db_error(t, rc);
  return SQLITE_OK;
}

/* The chunk's cache entry, pinned, or NULL: not cacheable (dirty in this connection,
** no room) or not cached and fill is 0. A filled entry is read from SQLite first. */
static int cached_chunk(search *s, sqlite3_int64 chunk, const void *version, int version_bytes,
                        int fill, sl_cached_chunk **out) {
  vv_table *t = s->t;
  const sl_chunk_layout *lay = s->lay;
  const char *file = sqlite3_db_filename(t->db, t->schema), *names[4];
  char conn[32];
  sl_chunk_key key;
  sl_cached_chunk *c;
  int rc;
  *out = NULL;
  if (version_bytes != VV_VERSION_BYTES || vv_chunk_dirty(t, chunk)) return SQLITE_OK;
  /* in-memory and temporary databases have no file name: they are the connection's */
  if (!file || !*file) snprintf(conn, sizeof conn, "%p", (void *)t->db), file = conn;
  names[0] = file, names[1] = t->schema, names[2] = t->name, names[3] = s->column;
  key = sl_chunk_key_make(names, 4, chunk, version, VV_VERSION_BYTES);
  if ((*out = sl_chunk_cache_get(key, s->scan)) || !fill) return SQLITE_OK;
  if (!(c = sl_chunk_cache_reserve(key, s->data_bytes + lay->rowids_bytes + lay->validity_bytes, s->scan)))
    return SQLITE_OK;
  if ((rc = read_chunk(s, chunk, sl_chunk_data(c))) != SQLITE_OK) {
    sl_chunk_cache_release(c);
    return rc;
  }
  sl_chunk_cache_publish(c);
  *out = c;
  return SQLITE_OK;
}

/* The whole chunk, from the cache or else read into s->buf. */
static int load_chunk(search *s, sqlite3_int64 chunk, const void *version, int version_bytes, chunk_view *v) {
  const sl_chunk_layout *lay = s->lay;
  const unsigned char *base;
  int rc = cached_chunk(s, chunk, version, version_bytes, 1, &v->entry);
  if (rc != SQLITE_OK) return rc;
  if (v->entry) {
    base = sl_chunk_data(v->entry);
  } else {
    if ((rc = read_chunk(s, chunk, s->buf)) != SQLITE_OK) return rc;
    base = s->buf;
  }
  v->data = base;
  v->rowids = base + s->data_bytes;
  v->valid = v->rowids + lay->rowids_bytes;
  return SQLITE_OK;
}

/* The valid slots among a chunk's first count, scored in dist, through the top-k. The
** result does not depend on the order chunks come in: the top-k orders by (distance,
** rowid), or in a vec0 table by (distance, chunk, slot descending). */
static void consider_chunk(search *s, sqlite3_int64 chunk, const chunk_view *v, const float *dist,
                           size_t count) {
  for (size_t i = 0; i < count; i++)
    /* most slots lose to the k-th best: skip them before reading their rowid */
    if (sl_bit_get(v->valid, i) && !(s->top.n == s->top.k && dist[i] > s->top.h[0].distance))
      consider(s, dist[i], i, sl_rowid_get(v->rowids, i), chunk);
}

/* The chunks of a scan that the cache serves, pinned until they are scored together:
** job[i] is what the pool scores for chunk[i], seen through view[i]. */
typedef struct held_chunks {
  sqlite3_int64 *chunk;
  chunk_view *view;
  sl_knn_job *job;
  size_t n, cap, slots;
} held_chunks;

static int hold(held_chunks *h, sqlite3_int64 chunk, const chunk_view *v, size_t count) {
  if (h->n == h->cap) {
    size_t cap = h->cap ? 2 * h->cap : 64;
    sqlite3_int64 *c = sqlite3_realloc64(h->chunk, cap * sizeof *c);
    if (c) h->chunk = c;
    chunk_view *w = c ? sqlite3_realloc64(h->view, cap * sizeof *w) : NULL;
    if (w) h->view = w;
    sl_knn_job *j = w ? sqlite3_realloc64(h->job, cap * sizeof *j) : NULL;
    if (!j) return SQLITE_NOMEM;
    h->job = j;
    h->cap = cap;
  }
  h->chunk[h->n] = chunk;
  h->view[h->n] = *v;
  h->job[h->n] = (sl_knn_job){v->data, count, NULL};
  h->n++;
  h->slots += count;
  return SQLITE_OK;
}

/* Every valid slot of every chunk. Chunks the cache serves are scored together on the
** worker pool at the end of the pass; a chunk read into s->buf is scored at once. */
static int scan_all(search *s) {
  vv_table *t = s->t;
  const sl_chunk_layout *lay = s->lay;
  sqlite3_stmt *st;
  held_chunks h = {0};
  float *dist = NULL;
  int rc, step;
  sl_err err;
  if ((rc = vv_stmt(t, VV_CHUNK_SCAN, &st)) != SQLITE_OK) return rc;
  while (rc == SQLITE_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
    sqlite3_int64 chunk = sqlite3_column_int64(st, 0);
    chunk_view v;
    size_t count = lay->cap;
    rc = load_chunk(s, chunk, sqlite3_column_blob(st, 1), sqlite3_column_bytes(st, 1), &v);
    if (rc != SQLITE_OK) break;
    while (count > 0 && !sl_bit_get(v.valid, count - 1)) count--;
    if (v.entry) {
      if ((rc = hold(&h, chunk, &v, count)) != SQLITE_OK) sl_chunk_cache_release(v.entry);
    } else if ((rc = distances(s, v.data, 0, count)) == SQLITE_OK) {
      consider_chunk(s, chunk, &v, s->dist, count);
    }
  }
  if (rc == SQLITE_OK) rc = step == SQLITE_DONE ? SQLITE_OK : vv_db_error(t, step);
  sqlite3_reset(st);
  if (rc == SQLITE_OK && h.n) {
    if (!(dist = sqlite3_malloc64((h.slots + 1) * sizeof *dist))) rc = SQLITE_NOMEM;
    for (size_t i = 0, at = 0; dist && i < h.n; at += h.job[i++].count) h.job[i].out = dist + at;
    if (rc == SQLITE_OK && sl_knn_score_chunks(lay, s->query, s->quant, h.n, h.job, &err))
      rc = sl_vtab_fail(&t->base, t->name, &err);
    for (size_t i = 0; rc == SQLITE_OK && i < h.n; i++)
      consider_chunk(s, h.chunk[i], &h.view[i], h.job[i].out, h.job[i].count);
  }
  for (size_t i = 0; i < h.n; i++) sl_chunk_cache_release(h.view[i].entry);
  sqlite3_free(dist);
  sqlite3_free(h.chunk), sqlite3_free(h.view), sqlite3_free(h.job);
  return rc;
}

/* The positions of the rows the filters let through, sorted. */
static int filtered_positions(search *s, sl_chunk_pos **out, size_t *n_out) {
  vv_table *t = s->t;
  sqlite3_stmt *st;
  sl_chunk_pos *pos = NULL;
  size_t n = 0, cap = 0;
  int rc = vv_rowids_query(t, 0, s->q->filters, s->q->n_filters, "", &st);
  if (rc != SQLITE_OK) return rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    sqlite3_int64 off = sqlite3_column_int64(st, 2);
    if (off < 0 || (size_t)off >= s->lay->cap) {
      rc = sl_vtab_error(&t->base, t->name,
                         "row %lld has chunk_offset %lld, outside the chunk (run semlite_vec_check)",
                         (long long)sqlite3_column_int64(st, 0), (long long)off);
      goto done;
    }
    if (n == cap) {
      sl_chunk_pos *p = sqlite3_realloc64(pos, (cap = cap ? 2 * cap : 256) * sizeof *pos);
      if (!p) { rc = SQLITE_NOMEM; goto done; }
      pos = p;
    }
    pos[n].rowid = sqlite3_column_int64(st, 0);
    pos[n].chunk_id = sqlite3_column_int64(st, 1);
    pos[n].slot = off;
    n++;
  }
  rc = rc == SQLITE_DONE ? SQLITE_OK : vv_db_error(t, rc);
done:
  sqlite3_finalize(st);
  if (rc != SQLITE_OK) {
    sqlite3_free(pos);
    return rc;
  }
  if (n) qsort(pos, n, sizeof *pos, sl_chunk_pos_cmp);
  *out = pos;
  *n_out = n;
  return SQLITE_OK;
}

/* Reads slots [first, last] of a chunk into s->buf, at their place in the chunk layout. */
static int read_run(search *s, size_t first, size_t last) {
  const sl_chunk_layout *lay = s->lay;
  size_t n = last - first + 1;
  int rc;
  if (!s->quant)
    return sqlite3_blob_read(s->blob, s->buf + first * lay->vec_bytes, (int)(n * lay->vec_bytes),
                             (int)(first * lay->vec_bytes));
  rc = sqlite3_blob_read(s->blob, s->buf + sl_quant_vec_offset(lay, first), (int)(n * lay->qvec_bytes),
                         (int)sl_quant_vec_offset(lay, first));
  if (rc == SQLITE_OK && lay->qparam_bytes)
    rc = sqlite3_blob_read(s->blob, s->buf + sl_quant_param_offset(lay, first), (int)(n * lay->qparam_bytes),
                           (int)sl_quant_param_offset(lay, first));
  return rc;
}

/* Slots this close together are read as one run: reading a few unused vectors costs
** less than another BLOB read call. */
#define RUN_GAP 8

/* The chunk's cache entry (pinned) if the cache holds it, or (fill) can take it; else
** NULL. */
/* Chunk ids up to this are remembered in t->vmemo (vec.h). */
#define VMEMO_MAX_CHUNKS 65536

/* The remembered version of a chunk, or NULL (then remember it with memo_put). */
static const unsigned char *memo_get(vv_table *t, sqlite3_int64 chunk) {
  unsigned int data = 0;
  if (sqlite3_file_control(t->db, t->schema, SQLITE_FCNTL_DATA_VERSION, &data) != SQLITE_OK) return NULL;
  if (data != t->vmemo_data && t->vmemo_known) memset(t->vmemo_known, 0, t->n_vmemo);
  t->vmemo_data = data;
  if (chunk < 0 || (size_t)chunk >= t->n_vmemo || !t->vmemo_known[chunk] || vv_chunk_dirty(t, chunk)) return NULL;
  return t->vmemo + (size_t)chunk * VV_VERSION_BYTES;
}

static void memo_put(vv_table *t, sqlite3_int64 chunk, const void *version, int bytes) {
  if (chunk < 0 || chunk >= VMEMO_MAX_CHUNKS || bytes != VV_VERSION_BYTES || vv_chunk_dirty(t, chunk)) return;
  if ((size_t)chunk >= t->n_vmemo) {
    size_t n = (size_t)chunk + 256;
    unsigned char *v = sqlite3_realloc64(t->vmemo, n * VV_VERSION_BYTES), *k;
    if (v) t->vmemo = v;
    if (!v || !(k = sqlite3_realloc64(t->vmemo_known, n))) return;  /* only a cache */
    memset(k + t->n_vmemo, 0, n - t->n_vmemo);
    t->vmemo_known = k;
    t->n_vmemo = n;
  }
  memcpy(t->vmemo + (size_t)chunk * VV_VERSION_BYTES, version, VV_VERSION_BYTES);
  t->vmemo_known[chunk] = 1;
}

static int cached_version(search *s, sqlite3_int64 chunk, int fill, sl_cached_chunk **entry) {
  const unsigned char *known = memo_get(s->t, chunk);
  sqlite3_stmt *st;
  int rc;
  *entry = NULL;
  if (known) return cached_chunk(s, chunk, known, VV_VERSION_BYTES, fill, entry);
  if ((rc = vv_stmt(s->t, VV_CHUNK_VERSION, &st)) != SQLITE_OK) return rc;
  sqlite3_bind_int64(st, 1, chunk);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    memo_put(s->t, chunk, sqlite3_column_blob(st, 0), sqlite3_column_bytes(st, 0));
    rc = cached_chunk(s, chunk, sqlite3_column_blob(st, 0), sqlite3_column_bytes(st, 0), fill, entry);
  } else
    rc = vv_db_error(s->t, rc == SQLITE_DONE ? SQLITE_CORRUPT_VTAB : rc);
  sqlite3_reset(st);
  return rc;
}

static int scan_positions(search *s, const sl_chunk_pos *pos, size_t n) {
  vv_table *t = s->t;
  sl_cached_chunk *entry = NULL;
  int rc = SQLITE_OK;
  for (size_t a = 0; a < n && rc == SQLITE_OK;) {
    size_t b = a + 1;
    sqlite3_int64 chunk = pos[a].chunk_id;
    const unsigned char *base = s->buf;
    size_t first, last;
    while (b < n && pos[b].chunk_id == chunk && pos[b].slot - pos[b - 1].slot <= RUN_GAP) b++;
    first = (size_t)pos[a].slot;
    last = (size_t)pos[b - 1].slot;
    if (a == 0 || pos[a - 1].chunk_id != chunk) {
      sl_chunk_cache_release(entry);
      if ((rc = cached_version(s, chunk, 0, &entry)) == SQLITE_OK && !entry)
        rc = vv_blob_seek(t, &s->blob, s->column, chunk, 0);
    }
    if (entry) base = sl_chunk_data(entry);
    else if (rc == SQLITE_OK && (rc = read_run(s, first, last)) != SQLITE_OK)
      rc = vv_db_error(t, rc);
    if (rc == SQLITE_OK) rc = distances(s, base, first, last - first + 1);
    for (size_t i = a; i < b && rc == SQLITE_OK; i++)
      consider(s, s->dist[(size_t)pos[i].slot - first], (size_t)pos[i].slot, pos[i].rowid, chunk);
    a = b;
  }
  sl_chunk_cache_release(entry);
  return rc;
}

/* Scores the candidates of the quantized pass (or of the graph) exactly; keeps the best k
** in *final. The graph's candidates are spread over many chunks: their vectors are read
** through the chunk cache (filling it), where one BLOB read into a large chunk would
** first walk its overflow pages. */
static int rescore(search *s, sl_topk *final) {
  vv_table *t = s->t;
  const sl_chunk_layout *lay = s->lay;
  sl_knn_hit *cand = s->top.h;
  sl_cached_chunk *entry = NULL;
  int rc = SQLITE_OK;
  sl_err err;
  sl_chunk_pos *pos = sqlite3_malloc64((s->top.n + 1) * sizeof *pos);
  void *vec = sqlite3_malloc64(lay->vec_bytes);
  if (!pos || !vec) {
    sqlite3_free(pos);
    sqlite3_free(vec);
    return SQLITE_NOMEM;
  }
  for (size_t i = 0; i < s->top.n; i++) {
    pos[i].chunk_id = cand[i].chunk_id;
    pos[i].rowid = cand[i].rowid;
    pos[i].slot = cand[i].offset;
  }
  qsort(pos, s->top.n, sizeof *pos, sl_chunk_pos_cmp);
  sqlite3_blob_close(s->blob);
  s->blob = NULL;
  for (size_t i = 0; i < s->top.n && rc == SQLITE_OK; i++) {
    const void *v = vec;
    float d;
    if (i == 0 || pos[i - 1].chunk_id != pos[i].chunk_id) {
      sl_chunk_cache_release(entry);
      entry = NULL;
      if (s->graph && (rc = cached_version(s, pos[i].chunk_id, 1, &entry)) != SQLITE_OK) break;
      if (!entry && (rc = vv_blob_seek(t, &s->blob, "vectors", pos[i].chunk_id, 0)) != SQLITE_OK) break;
    }
    if (entry) {
      v = sl_chunk_data(entry) + (size_t)pos[i].slot * lay->vec_bytes;
    } else if ((rc = sqlite3_blob_read(s->blob, vec, (int)lay->vec_bytes,
                                       (int)((size_t)pos[i].slot * lay->vec_bytes))) != SQLITE_OK) {
      rc = vv_db_error(t, rc);
      break;
    }
    if (sl_knn_distances(lay, s->q->q, v, 0, 1, &d, &err)) {
      rc = sl_vtab_fail(&t->base, t->name, &err);
      break;
    }
    if (sl_knn_range_has(&s->q->range, d)) {
      sl_knn_hit hit = {.distance = d, .offset = (int32_t)pos[i].slot, .rowid = pos[i].rowid,
                        .chunk_id = pos[i].chunk_id};
      sl_topk_push(final, &hit);
    }
  }
  sl_chunk_cache_release(entry);
  sqlite3_free(pos);
  sqlite3_free(vec);
  return rc;
}

/* The graph's candidates (only rows among pos when filtered), as s->top for rescore(). */
static int graph_candidates(search *s, const sl_chunk_pos *pos, size_t n_pos, int filtered) {
  sl_knn_hit *cand = NULL;
  size_t n = 0;
  sl_err err;
  int rc = s->t->ivf ? vv_ivf_candidates(s->t, s->q->q, s->q->k, filtered ? pos : NULL, n_pos, &cand, &n)
                     : vv_hnsw_candidates(s->t, s->q->q, s->q->k, filtered ? pos : NULL, n_pos, &cand, &n);
  if (rc != SQLITE_OK) return rc;
  /* the best by their int8 estimates are rescored: the rest (up to ef) only steered */
  if (!s->t->ivf && n > s->q->k * VV_HNSW_RESCORE) n = s->q->k * VV_HNSW_RESCORE;
  sl_topk_free(&s->top);
  if (sl_topk_init(&s->top, n, &err)) rc = sl_vtab_fail(&s->t->base, s->t->name, &err);
  for (size_t i = 0; rc == SQLITE_OK && i < n; i++) sl_topk_push(&s->top, &cand[i]);
  sqlite3_free(cand);
  return rc;
}

/* A fresh top-k for the exact scan after the index was tried. */
static int topk_reset(search *s, size_t k, sl_err *err) {
  if (sl_topk_init(&s->top, k, err)) return sl_vtab_fail(&s->t->base, s->t->name, err);
  s->top.by_slot = s->t->cfg.vec0;
  return SQLITE_OK;
}

/* Whether a filtered query on an indexed column scans its rows exactly (see the top). */
static int filter_exact(search *s, size_t n_pos, int *exact) {
  *exact = 1;
  for (int i = 0; i < s->q->n_filters; i++)
    if (s->q->filters[i].col == -1) return SQLITE_OK;
  return s->t->ivf ? vv_ivf_filter_exact(s->t, n_pos, exact) : vv_hnsw_filter_exact(s->t, n_pos, exact);
}

int vv_search(vv_table *t, const vv_query *q, sl_knn_hit **hits, size_t *n_hits) {
  const sl_chunk_layout *lay = q->vec ? &t->xlay[q->vec] : &t->lay;
  search s;
  sl_topk final = {0};
  sl_topk *result = &s.top;
  unsigned char *qq = NULL;
  sl_chunk_pos *pos = NULL;
  size_t n_pos = 0, want;
  sl_err err;
  int rc = SQLITE_OK, graph = (t->hnsw || t->ivf) && q->vec == 0, exact = 1;
  uint64_t t0 = sl_metrics_now();

  *hits = NULL;
  *n_hits = 0;
  if (q->k == 0) return SQLITE_OK;
  if (graph && t->ivf && (rc = vv_ivf_usable(t, &graph)) != SQLITE_OK) return rc;  /* no centroids yet: exact */
  memset(&s, 0, sizeof s);
  s.t = t;
  s.q = q;
  s.query = q->q;
  s.lay = lay;
  s.quant = lay->quant != SL_QUANT_NONE && !graph;
  want = s.quant ? q->k * (size_t)t->cfg.oversample : q->k;
  snprintf(s.column_buf, sizeof s.column_buf, "vectors%d", q->vec);
  s.column = s.quant ? "qvectors" : q->vec ? s.column_buf : "vectors";
  s.data_bytes = s.quant ? lay->qvectors_bytes : lay->vectors_bytes;
  s.scan = sl_chunk_cache_scan();
  s.dist = sqlite3_malloc64(lay->cap * sizeof *s.dist);
  s.buf = sqlite3_malloc64(graph && !q->n_filters ? 1 : s.data_bytes + lay->rowids_bytes + lay->validity_bytes);
  if (s.quant && (qq = sqlite3_malloc64(lay->qvec_bytes + lay->qparam_bytes))) {
    sl_quantize(lay, q->q, qq);
    s.query = qq;
  }
  if (!s.dist || !s.buf || (s.quant && !qq)) rc = SQLITE_NOMEM;
  else if (sl_topk_init(&s.top, want, &err)) rc = sl_vtab_fail(&t->base, t->name, &err);
  s.top.by_slot = t->cfg.vec0;  /* vec0 tables order ties as sqlite-vec does */

  if (rc == SQLITE_OK && graph) {
    if (q->n_filters && (rc = filtered_positions(&s, &pos, &n_pos)) == SQLITE_OK) rc = filter_exact(&s, n_pos, &exact);
    if (rc == SQLITE_OK && (!q->n_filters || !exact)) s.graph = 1, rc = graph_candidates(&s, pos, n_pos, q->n_filters > 0);
    /* the probed lists held fewer than k of the filtered rows: scan those rows exactly */
    if (rc == SQLITE_OK && s.graph && t->ivf && q->n_filters && s.top.n < q->k && s.top.n < n_pos) exact = 1, s.graph = 0;
    if (rc == SQLITE_OK && !s.graph) graph = 0, sl_topk_free(&s.top), rc = topk_reset(&s, q->k, &err);
    if (rc == SQLITE_OK && !s.graph) rc = scan_positions(&s, pos, n_pos);
  } else if (rc == SQLITE_OK) {
    if (q->n_filters == 0) rc = scan_all(&s);
    else if ((rc = filtered_positions(&s, &pos, &n_pos)) == SQLITE_OK) rc = scan_positions(&s, pos, n_pos);
  }
  if (rc == SQLITE_OK && (s.quant || graph)) {
    if (sl_topk_init(&final, q->k, &err)) rc = sl_vtab_fail(&t->base, t->name, &err);
    else final.by_slot = t->cfg.vec0, rc = rescore(&s, &final);
    result = &final;
  }
  if (rc == SQLITE_OK && result->n) {
    sl_topk_sort(result);
    if (!(*hits = sqlite3_malloc64(result->n * sizeof **hits))) rc = SQLITE_NOMEM;
    else {
      memcpy(*hits, result->h, result->n * sizeof **hits);
      *n_hits = result->n;
    }
  }
  sqlite3_blob_close(s.blob);
  sqlite3_blob_close(s.blob_rowids);
  sqlite3_blob_close(s.blob_valid);
  sqlite3_free(pos);
  sqlite3_free(qq);
  sqlite3_free(s.dist);
  sqlite3_free(s.buf);
  sl_topk_free(&s.top);
  sl_topk_free(&final);
  sl_metrics_record(SL_OP_KNN, t0, 0, rc != SQLITE_OK);
  return rc;
}
