/*
** knn.c: chunk layout, top-k selection and quantized scoring for semlite_vec (see
** knn.h). Pure functions over caller-owned memory; the distance kernels do the
** arithmetic.
*/
#include "knn.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../base/pool.h"

/* ---- chunk layout ---- */

void sl_chunk_layout_init(sl_chunk_layout *lay, sl_vec_type type, size_t dims, sl_metric metric,
                          sl_quant quant, size_t cap) {
  memset(lay, 0, sizeof *lay);
  lay->type = type;
  lay->metric = metric;
  lay->quant = quant;
  lay->dims = dims;
  lay->cap = cap;
  lay->vec_bytes = sl_vec_bytes(type, dims);
  lay->validity_bytes = cap / 8;
  lay->rowids_bytes = cap * 8;
  lay->vectors_bytes = cap * lay->vec_bytes;
  switch (quant) {
    case SL_QUANT_NONE: break;
    case SL_QUANT_INT8: lay->qvec_bytes = dims; lay->qparam_bytes = 2 * sizeof(float); break;
    case SL_QUANT_BINARY: lay->qvec_bytes = dims / 8; break;
  }
  lay->qvectors_bytes = cap * (lay->qvec_bytes + lay->qparam_bytes);
}

const char *sl_knn_type_name(sl_vec_type t) {
  return t == SL_VEC_F32 ? "float" : t == SL_VEC_I8 ? "int8" : "bit";
}

const char *sl_knn_metric_name(sl_metric m) {
  switch (m) {
    case SL_METRIC_L2: return "l2";
    case SL_METRIC_L1: return "l1";
    case SL_METRIC_COSINE: return "cosine";
    case SL_METRIC_DOT: return "dot";
    case SL_METRIC_HAMMING: return "hamming";
  }
  return "?";
}

int sl_knn_check_config(sl_vec_type type, size_t dims, sl_metric metric, sl_quant quant,
                        sl_err *err) {
  if (type == SL_VEC_BIT && dims % 8)
    return sl_fail(err, "bit vectors need a multiple of 8 dimensions, got %zu", dims);
  if (!sl_distance_for(type, metric))
    return sl_fail(err, "distance_metric=%s is not defined for %s vectors", sl_knn_metric_name(metric), sl_knn_type_name(type));
  if (quant != SL_QUANT_NONE && type != SL_VEC_F32)
    return sl_fail(err, "a quantizer needs a float vector column, not %s", sl_knn_type_name(type));
  /* The int8 estimate rebuilds l2 and dot from an int8 dot product and per-vector
  ** scales; l1 has no such decomposition. */
  if (quant == SL_QUANT_INT8 && metric == SL_METRIC_L1)
    return sl_fail(err, "quantizer=int8 supports distance_metric l2, cosine and dot, not l1");
  if (quant == SL_QUANT_BINARY && dims % 8)
    return sl_fail(err, "quantizer=binary needs a multiple of 8 dimensions, got %zu", dims);
  return SL_OK;
}

size_t sl_bits_first_clear(const unsigned char *bits, size_t n) {
  for (size_t byte = 0; byte * 8 < n; byte++)
    if (bits[byte] != 0xff)
      for (size_t i = byte * 8; i < byte * 8 + 8 && i < n; i++)
        if (!sl_bit_get(bits, i)) return i;
  return n;
}

size_t sl_bits_count(const unsigned char *bits, size_t n) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++) c += (size_t)sl_bit_get(bits, i);
  return c;
}

int64_t sl_rowid_get(const unsigned char *rowids, size_t i) {
  uint64_t v = 0;
  for (int b = 7; b >= 0; b--) v = (v << 8) | rowids[i * 8 + (size_t)b];
  return (int64_t)v;
}

void sl_rowid_put(unsigned char *dst, int64_t rowid) {
  uint64_t v = (uint64_t)rowid;
  for (int b = 0; b < 8; b++, v >>= 8) dst[b] = (unsigned char)(v & 0xff);
}

/* ---- top-k ---- */

/* a ranks after b: farther, or as far with a larger rowid. */
static int worse(const sl_knn_hit *a, const sl_knn_hit *b) {
  return a->distance > b->distance || (a->distance == b->distance && a->rowid > b->rowid);
}

int sl_topk_init(sl_topk *t, size_t k, sl_err *err) {
  t->k = k;
  t->n = 0;
  t->h = NULL;
  if (k && !(t->h = malloc(k * sizeof *t->h))) return sl_fail(err, "out of memory for k = %zu", k);
  return SL_OK;
}

void sl_topk_free(sl_topk *t) {
  free(t->h);
  t->h = NULL;
  t->n = t->k = 0;
}

int sl_topk_wants(const sl_topk *t, float d, int64_t rowid) {
  sl_knn_hit probe = {.distance = d, .rowid = rowid};
  if (t->k == 0) return 0;
  return t->n < t->k || worse(&t->h[0], &probe);
}

static void sift_down(sl_knn_hit *h, size_t n, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && worse(&h[l], &h[m])) m = l;
    if (r < n && worse(&h[r], &h[m])) m = r;
    if (m == i) return;
    sl_knn_hit tmp = h[i];
    h[i] = h[m];
    h[m] = tmp;
    i = m;
  }
}

void sl_topk_push(sl_topk *t, const sl_knn_hit *hit) {
  if (!sl_topk_wants(t, hit->distance, hit->rowid)) return;
  if (t->n < t->k) {
    size_t i = t->n++;
    t->h[i] = *hit;
    while (i > 0 && worse(&t->h[i], &t->h[(i - 1) / 2])) {
      sl_knn_hit tmp = t->h[i];
      t->h[i] = t->h[(i - 1) / 2];
      t->h[(i - 1) / 2] = tmp;
      i = (i - 1) / 2;
    }
  } else {
    t->h[0] = *hit;
    sift_down(t->h, t->n, 0);
  }
}

void sl_topk_sort(sl_topk *t) {
  /* Heapsort: move the worst to the end repeatedly, leaving best first. */
  for (size_t n = t->n; n > 1; n--) {
    sl_knn_hit tmp = t->h[0];
    t->h[0] = t->h[n - 1];
    t->h[n - 1] = tmp;
    sift_down(t->h, n - 1, 0);
  }
}

void sl_knn_range_init(sl_knn_range *r) {
  r->lo = -INFINITY;
  r->hi = INFINITY;
  r->lo_strict = r->hi_strict = 0;
}

int sl_knn_range_has(const sl_knn_range *r, float d) {
  const double x = d;
  if (isnan(x)) return 0;
  if (r->lo_strict ? !(x > r->lo) : !(x >= r->lo)) return 0;
  if (r->hi_strict ? !(x < r->hi) : !(x <= r->hi)) return 0;
  return 1;
}

/* ---- scoring ---- */

int sl_knn_distances(const sl_chunk_layout *lay, const void *q, const void *vectors,
                     size_t first, size_t count, float *out, sl_err *err) {
  if (count == 0) return SL_OK;
  if (sl_distance_many(lay->type, lay->metric, q, (const unsigned char *)vectors + first * lay->vec_bytes,
                       count, lay->dims, out))
    return sl_fail(err, "no %s distance kernel for this vector type", sl_knn_metric_name(lay->metric));
  return SL_OK;
}

size_t sl_quant_vec_offset(const sl_chunk_layout *lay, size_t i) { return i * lay->qvec_bytes; }

size_t sl_quant_param_offset(const sl_chunk_layout *lay, size_t i) {
  return lay->cap * lay->qvec_bytes + i * lay->qparam_bytes;
}

void sl_quantize(const sl_chunk_layout *lay, const float *x, unsigned char *dst) {
  size_t n = lay->dims;
  if (lay->quant == SL_QUANT_BINARY) {
    memset(dst, 0, lay->qvec_bytes);
    for (size_t i = 0; i < n; i++)
      if (x[i] > 0) sl_bit_set(dst, i, 1);
    return;
  }
  if (lay->quant == SL_QUANT_INT8) {
    float amax = 0, params[2];
    int64_t sq = 0;
    for (size_t i = 0; i < n; i++) amax = fmaxf(amax, fabsf(x[i]));
    params[0] = amax / 127.0f;
    for (size_t i = 0; i < n; i++) {
      long v = params[0] > 0 ? lroundf(x[i] / params[0]) : 0;
      if (v > 127) v = 127;
      if (v < -127) v = -127;
      dst[i] = (unsigned char)(int8_t)v;
      sq += v * v;
    }
    params[1] = (float)sq;  /* exact up to 1040 dimensions, then within float rounding */
    memcpy(dst + lay->qvec_bytes, params, sizeof params);
  }
}

int sl_quant_distances(const sl_chunk_layout *lay, const unsigned char *qq,
                       const unsigned char *qvectors, size_t first, size_t count, float *out,
                       sl_err *err) {
  const unsigned char *base = qvectors + sl_quant_vec_offset(lay, first);
  float qparams[2];
  if (count == 0) return SL_OK;
  if (lay->quant == SL_QUANT_BINARY) {
    if (sl_distance_many(SL_VEC_BIT, SL_METRIC_HAMMING, qq, base, count, lay->dims, out))
      return sl_fail(err, "no hamming distance kernel");
    return SL_OK;
  }
  /* int8. Cosine ignores the scales, so the int8 cosine is the estimate. For dot and l2
  ** the int8 kernel gives -(qq . qx) and the scales s and sums of squares Q turn it into
  **   dot: -(q^ . x^) = sq sx (-(qq . qx))
  **   l2:  |x^ - q^|^2 = sx^2 Qx + sq^2 Qq + 2 sq sx (-(qq . qx))
  ** in double: near the query the l2 terms cancel, and only the difference, small,
  ** may be rounded to float. */
  if (lay->metric == SL_METRIC_COSINE) {
    if (sl_distance_many(SL_VEC_I8, SL_METRIC_COSINE, qq, base, count, lay->dims, out))
      return sl_fail(err, "no int8 cosine distance kernel");
    return SL_OK;
  }
  if (sl_distance_many(SL_VEC_I8, SL_METRIC_DOT, qq, base, count, lay->dims, out))
    return sl_fail(err, "no int8 dot distance kernel");
  memcpy(qparams, qq + lay->qvec_bytes, sizeof qparams);
  const double sq = qparams[0], qq2 = (double)qparams[0] * qparams[0] * qparams[1];
  for (size_t i = 0; i < count; i++) {
    float p[2];
    memcpy(p, qvectors + sl_quant_param_offset(lay, first + i), sizeof p);
    const double sx = p[0], cross = sq * sx * out[i];
    out[i] = (float)(lay->metric == SL_METRIC_DOT ? cross : sx * sx * p[1] + qq2 + 2.0 * cross);
  }
  return SL_OK;
}

typedef struct score_task {
  const sl_chunk_layout *lay;
  const void *q;
  int quant;
  const sl_knn_job *jobs;
  atomic_int failed;
} score_task;

static void score_range(void *ctx, size_t begin, size_t end) {
  score_task *t = ctx;
  sl_err err;
  for (const sl_knn_job *j = t->jobs + begin; j < t->jobs + end; j++) {
    int rc = t->quant ? sl_quant_distances(t->lay, t->q, j->data, 0, j->count, j->out, &err)
                      : sl_knn_distances(t->lay, t->q, j->data, 0, j->count, j->out, &err);
    if (rc) atomic_store(&t->failed, 1);
  }
}

int sl_knn_score_chunks(const sl_chunk_layout *lay, const void *q, int quant, size_t n,
                        const sl_knn_job *jobs, sl_err *err) {
  score_task t = {lay, q, quant, jobs, 0};
  sl_parallel_for(n, 1, score_range, &t);
  if (atomic_load(&t.failed)) return sl_fail(err, "no distance kernel for this vector type and metric");
  return SL_OK;
}
