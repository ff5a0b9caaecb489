/*
** vtab_vec_search.c: the k-NN search of semlite_vec, run inside xFilter.
**
**   no filter   one pass over T_chunks: each chunk's vectors (or quantized copy) are
**               scored in one sl_distance_many call; valid slots go through the top-k.
**   filters     one SQL query over T_rowids with the filters gives (rowid, chunk,
**               offset) of every qualifying row BEFORE any ranking, so a query returns k
**               rows whenever k rows match. Positions are sorted and read back as runs
**               of nearby slots with incremental BLOB I/O: a selective filter reads
**               only the vectors it needs, a loose one reads almost whole chunks.
**   quantizer   the pass above scores the quantized copy and keeps k * oversample
**               candidates; their float32 vectors are then read and scored exactly.
** distance constraints apply to exact distances only.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../ops/metrics.h"
#include "vtab_vec.h"

/* ---- pushed-down filters ---- */

static const char *op_sql(int op) {
  switch (op) {
    case SQLITE_INDEX_CONSTRAINT_EQ: return "=";
    case SQLITE_INDEX_CONSTRAINT_GT: return ">";
    case SQLITE_INDEX_CONSTRAINT_LE: return "<=";
    case SQLITE_INDEX_CONSTRAINT_LT: return "<";
    case SQLITE_INDEX_CONSTRAINT_GE: return ">=";
    case SQLITE_INDEX_CONSTRAINT_NE: return "<>";
    case SQLITE_INDEX_CONSTRAINT_IS: return "IS";
    case SQLITE_INDEX_CONSTRAINT_ISNOT: return "IS NOT";
    case SQLITE_INDEX_CONSTRAINT_ISNULL: return "IS NULL";
    case SQLITE_INDEX_CONSTRAINT_ISNOTNULL: return "IS NOT NULL";
    case SQLITE_INDEX_CONSTRAINT_LIKE: return "LIKE";
    case SQLITE_INDEX_CONSTRAINT_GLOB: return "GLOB";
  }
  return "?";
}

void vv_filters_sql(const vv_table *t, const vv_filter *f, int n, sqlite3_str *s) {
  for (int i = 0; i < n; i++, f++) {
    sqlite3_str_appendall(s, i ? " AND " : " WHERE ");
    if (f->col < 0) sqlite3_str_appendall(s, "rowid");
    else sqlite3_str_appendf(s, "m%d", t->cfg.cols[f->col].slot);
    /* On the column, the collation governs =, <, IN alike. */
    if (f->coll[0]) sqlite3_str_appendf(s, " COLLATE \"%w\"", f->coll);
    if (f->in) {
      sqlite3_value *v;
      int rc, k = 0;
      sqlite3_str_appendall(s, " IN (");
      for (rc = sqlite3_vtab_in_first(f->arg, &v); rc == SQLITE_OK && v; rc = sqlite3_vtab_in_next(f->arg, &v))
        sqlite3_str_appendall(s, k++ ? ", ?" : "?");
      sqlite3_str_appendall(s, ")");
    } else if (f->op == SQLITE_INDEX_CONSTRAINT_ISNULL || f->op == SQLITE_INDEX_CONSTRAINT_ISNOTNULL) {
      sqlite3_str_appendf(s, " %s", op_sql(f->op));
    } else {
      sqlite3_str_appendf(s, " %s ?", op_sql(f->op));
    }
  }
}

int vv_filters_bind(sqlite3_stmt *st, const vv_filter *f, int n) {
  int p = 1, rc = SQLITE_OK;
  for (int i = 0; i < n && rc == SQLITE_OK; i++, f++) {
    if (f->in) {
      sqlite3_value *v;
      int r;
      for (r = sqlite3_vtab_in_first(f->arg, &v); r == SQLITE_OK && v && rc == SQLITE_OK;
           r = sqlite3_vtab_in_next(f->arg, &v))
        rc = sqlite3_bind_value(st, p++, v);
      if (rc == SQLITE_OK && r != SQLITE_OK && r != SQLITE_DONE) rc = r;
    } else if (f->op != SQLITE_INDEX_CONSTRAINT_ISNULL && f->op != SQLITE_INDEX_CONSTRAINT_ISNOTNULL) {
      rc = sqlite3_bind_value(st, p++, f->arg);
    }
  }
  return rc;
}

/* ---- the search ---- */

typedef struct search {
  vv_table *t;
  const vv_query *q;
  const void *query;           /* what the first pass scores: q->q or its quantized form */
  int quant;                   /* the first pass scores the quantized copy */
  sl_topk top;
  float *dist;                 /* lay.cap distances */
  unsigned char *buf;          /* one chunk's vectors or qvectors, partially filled */
  sqlite3_blob *blob;
} search;

static int distances(search *s, const void *base, size_t first, size_t count) {
  sl_err err;
  int rc = s->quant ? sl_quant_distances(&s->t->lay, s->query, base, first, count, s->dist, &err)
                    : sl_knn_distances(&s->t->lay, s->query, base, first, count, s->dist, &err);
  return rc ? vv_error(s->t, "%s", err.msg) : SQLITE_OK;
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

static int corrupt(vv_table *t, sqlite3_int64 chunk, const char *what, int got, size_t want) {
  vv_error(t, "chunk %lld has a %d-byte %s BLOB, expected %zu (run semlite_vec_check)", (long long)chunk, got, what,
           want);
  return SQLITE_CORRUPT_VTAB;
}

/* Every valid slot of every chunk. */
static int scan_all(search *s) {
  vv_table *t = s->t;
  const sl_chunk_layout *lay = &t->lay;
  size_t data_bytes = s->quant ? lay->qvectors_bytes : lay->vectors_bytes;
  sqlite3_stmt *st = vv_stmt(t, VV_CHUNK_SCAN);
  int rc, step;
  if (!st) return SQLITE_ERROR;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    sqlite3_int64 chunk = sqlite3_column_int64(st, 0);
    const unsigned char *valid = sqlite3_column_blob(st, 1);
    const unsigned char *rowids = sqlite3_column_blob(st, 2);
    const unsigned char *data = sqlite3_column_blob(st, 3);
    size_t count = lay->cap;
    if ((size_t)sqlite3_column_bytes(st, 1) != lay->validity_bytes)
      rc = corrupt(t, chunk, "validity", sqlite3_column_bytes(st, 1), lay->validity_bytes);
    else if ((size_t)sqlite3_column_bytes(st, 2) != lay->rowids_bytes)
      rc = corrupt(t, chunk, "rowids", sqlite3_column_bytes(st, 2), lay->rowids_bytes);
    else if ((size_t)sqlite3_column_bytes(st, 3) != data_bytes)
      rc = corrupt(t, chunk, s->quant ? "qvectors" : "vectors", sqlite3_column_bytes(st, 3), data_bytes);
    else {
      while (count > 0 && !sl_bit_get(valid, count - 1)) count--;
      rc = distances(s, data, 0, count);
    }
    if (rc != SQLITE_OK) {
      sqlite3_reset(st);
      return rc;
    }
    for (size_t i = 0; i < count; i++)
      if (sl_bit_get(valid, i)) consider(s, s->dist[i], i, sl_rowid_get(rowids, i), chunk);
  }
  rc = step == SQLITE_DONE ? SQLITE_OK : vv_db_error(t, step);
  sqlite3_reset(st);
  return rc;
}

typedef struct position {
  sqlite3_int64 chunk_id, rowid;
  size_t offset;
} position;

static int by_position(const void *a, const void *b) {
  const position *x = a, *y = b;
  if (x->chunk_id != y->chunk_id) return x->chunk_id < y->chunk_id ? -1 : 1;
  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* The positions of the rows the filters let through, sorted. */
static int filtered_positions(search *s, position **out, size_t *n_out) {
  vv_table *t = s->t;
  sqlite3_str *sql = sqlite3_str_new(NULL);
  sqlite3_stmt *st = NULL;
  position *pos = NULL;
  size_t n = 0, cap = 0;
  char *text;
  int rc;
  sqlite3_str_appendf(sql, "SELECT rowid, chunk_id, chunk_offset FROM \"%w\".\"%w_rowids\"", t->schema, t->name);
  vv_filters_sql(t, s->q->filters, s->q->n_filters, sql);
  if (!(text = sqlite3_str_finish(sql))) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(t->db, text, -1, &st, NULL);
  sqlite3_free(text);
  if (rc == SQLITE_OK) rc = vv_filters_bind(st, s->q->filters, s->q->n_filters);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(st);
    return vv_db_error(t, rc);
  }
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    sqlite3_int64 off = sqlite3_column_int64(st, 2);
    if (off < 0 || (size_t)off >= t->lay.cap) {
      rc = vv_error(t, "row %lld has chunk_offset %lld, outside the chunk (run semlite_vec_check)",
                    (long long)sqlite3_column_int64(st, 0), (long long)off);
      goto done;
    }
    if (n == cap) {
      position *p = sqlite3_realloc64(pos, (cap = cap ? 2 * cap : 256) * sizeof *pos);
      if (!p) { rc = SQLITE_NOMEM; goto done; }
      pos = p;
    }
    pos[n].rowid = sqlite3_column_int64(st, 0);
    pos[n].chunk_id = sqlite3_column_int64(st, 1);
    pos[n].offset = (size_t)off;
    n++;
  }
  rc = rc == SQLITE_DONE ? SQLITE_OK : vv_db_error(t, rc);
done:
  sqlite3_finalize(st);
  if (rc != SQLITE_OK) {
    sqlite3_free(pos);
    return rc;
  }
  if (n) qsort(pos, n, sizeof *pos, by_position);
  *out = pos;
  *n_out = n;
  return SQLITE_OK;
}

/* Reads slots [first, last] of a chunk into s->buf, at their place in the chunk layout. */
static int read_run(search *s, size_t first, size_t last) {
  const sl_chunk_layout *lay = &s->t->lay;
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

static int scan_positions(search *s, const position *pos, size_t n) {
  vv_table *t = s->t;
  int rc = SQLITE_OK;
  for (size_t a = 0; a < n && rc == SQLITE_OK;) {
    size_t b = a + 1;
    sqlite3_int64 chunk = pos[a].chunk_id;
    while (b < n && pos[b].chunk_id == chunk && pos[b].offset - pos[b - 1].offset <= RUN_GAP) b++;
    if (a == 0 || pos[a - 1].chunk_id != chunk)
      rc = vv_blob_seek(t, &s->blob, s->quant ? "qvectors" : "vectors", chunk, 0);
    if (rc == SQLITE_OK && (rc = read_run(s, pos[a].offset, pos[b - 1].offset)) != SQLITE_OK)
      rc = vv_db_error(t, rc);
    if (rc == SQLITE_OK) rc = distances(s, s->buf, pos[a].offset, pos[b - 1].offset - pos[a].offset + 1);
    for (size_t i = a; i < b && rc == SQLITE_OK; i++)
      consider(s, s->dist[pos[i].offset - pos[a].offset], pos[i].offset, pos[i].rowid, chunk);
    a = b;
  }
  return rc;
}

/* Scores the candidates of the quantized pass exactly; keeps the best k in *final. */
static int rescore(search *s, sl_topk *final) {
  vv_table *t = s->t;
  const sl_chunk_layout *lay = &t->lay;
  sl_knn_hit *cand = s->top.h;
  int rc = SQLITE_OK;
  sl_err err;
  position *pos = sqlite3_malloc64((s->top.n + 1) * sizeof *pos);
  void *vec = sqlite3_malloc64(lay->vec_bytes);
  if (!pos || !vec) {
    sqlite3_free(pos);
    sqlite3_free(vec);
    return SQLITE_NOMEM;
  }
  for (size_t i = 0; i < s->top.n; i++) {
    pos[i].chunk_id = cand[i].chunk_id;
    pos[i].rowid = cand[i].rowid;
    pos[i].offset = (size_t)cand[i].offset;
  }
  qsort(pos, s->top.n, sizeof *pos, by_position);
  sqlite3_blob_close(s->blob);
  s->blob = NULL;
  for (size_t i = 0; i < s->top.n && rc == SQLITE_OK; i++) {
    float d;
    if (i == 0 || pos[i - 1].chunk_id != pos[i].chunk_id)
      if ((rc = vv_blob_seek(t, &s->blob, "vectors", pos[i].chunk_id, 0)) != SQLITE_OK) break;
    rc = sqlite3_blob_read(s->blob, vec, (int)lay->vec_bytes, (int)(pos[i].offset * lay->vec_bytes));
    if (rc != SQLITE_OK) {
      rc = vv_db_error(t, rc);
      break;
    }
    if (sl_knn_distances(lay, s->q->q, vec, 0, 1, &d, &err)) {
      rc = vv_error(t, "%s", err.msg);
      break;
    }
    if (sl_knn_range_has(&s->q->range, d)) {
      sl_knn_hit hit = {.distance = d, .offset = (int32_t)pos[i].offset, .rowid = pos[i].rowid,
                        .chunk_id = pos[i].chunk_id};
      sl_topk_push(final, &hit);
    }
  }
  sqlite3_free(pos);
  sqlite3_free(vec);
  return rc;
}

int vv_search(vv_table *t, const vv_query *q, sl_knn_hit **hits, size_t *n_hits) {
  const sl_chunk_layout *lay = &t->lay;
  search s;
  sl_topk final = {0};
  sl_topk *result = &s.top;
  unsigned char *qq = NULL;
  position *pos = NULL;
  size_t n_pos = 0, want;
  sl_err err;
  int rc = SQLITE_OK;
  uint64_t t0 = sl_metrics_now();

  *hits = NULL;
  *n_hits = 0;
  if (q->k == 0) return SQLITE_OK;
  memset(&s, 0, sizeof s);
  s.t = t;
  s.q = q;
  s.query = q->q;
  s.quant = lay->quant != SL_QUANT_NONE;
  want = s.quant ? q->k * (size_t)t->cfg.oversample : q->k;
  s.dist = sqlite3_malloc64(lay->cap * sizeof *s.dist);
  /* Only the filtered path reads runs of slots into a buffer of its own. */
  if (q->n_filters) s.buf = sqlite3_malloc64(s.quant ? lay->qvectors_bytes : lay->vectors_bytes);
  if (s.quant && (qq = sqlite3_malloc64(lay->qvec_bytes + lay->qparam_bytes))) {
    sl_quantize(lay, q->q, qq);
    s.query = qq;
  }
  if (!s.dist || (q->n_filters && !s.buf) || (s.quant && !qq)) rc = SQLITE_NOMEM;
  else if (sl_topk_init(&s.top, want, &err)) rc = vv_error(t, "%s", err.msg);

  if (rc == SQLITE_OK) {
    if (q->n_filters == 0) rc = scan_all(&s);
    else if ((rc = filtered_positions(&s, &pos, &n_pos)) == SQLITE_OK) rc = scan_positions(&s, pos, n_pos);
  }
  if (rc == SQLITE_OK && s.quant) {
    if (sl_topk_init(&final, q->k, &err)) rc = vv_error(t, "%s", err.msg);
    else rc = rescore(&s, &final);
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
  sqlite3_free(pos);
  sqlite3_free(qq);
  sqlite3_free(s.dist);
  sqlite3_free(s.buf);
  sl_topk_free(&s.top);
  sl_topk_free(&final);
  sl_metrics_record(SL_OP_KNN, t0, 0, rc != SQLITE_OK);
  return rc;
}
