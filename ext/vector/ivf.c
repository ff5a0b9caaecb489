/*
** ivf.c: the IVF image, its probing search and k-means training (ivf.h). Scores come
** from the distance kernels (kernels/distance.h), products of many rows by many
** centroids from the float GEMM (kernels/gemm.h), list scans from quant.h.
*/
#include "ivf.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "../base/alloc.h"
#include "../kernels/gemm.h"
#include "quant.h"

#define BLOCK 256   /* rows per matrix product (and between stop() calls) */

sl_ivf *sl_ivf_new(size_t dims, sl_metric metric, uint32_t nlist) {
  sl_ivf *ix = sl_calloc(1, sizeof *ix);
  if (!ix) return NULL;
  ix->dims = dims;
  ix->metric = metric;
  ix->nlist = nlist;
  sl_chunk_layout_init(&ix->code_lay, SL_VEC_F32, dims, metric, SL_QUANT_INT8, 8);
  ix->code_bytes = ix->code_lay.qvec_bytes + ix->code_lay.qparam_bytes;
  ix->centroids = sl_calloc((size_t)nlist * dims, sizeof *ix->centroids);
  ix->present = sl_calloc(nlist ? nlist : 1, 1);
  ix->lists = sl_calloc((size_t)nlist + 1, sizeof *ix->lists);
  if (!ix->centroids || !ix->present || !ix->lists) {
    sl_ivf_free(ix);
    return NULL;
  }
  return ix;
}

void sl_ivf_free(sl_ivf *ix) {
  if (!ix) return;
  if (ix->lists)
    for (uint32_t l = 0; l <= ix->nlist; l++) {
      sl_ivf_list *L = &ix->lists[l];
      sl_free(L->rowid), sl_free(L->chunk), sl_free(L->slot), sl_free(L->codes);
    }
  sl_free(ix->lists), sl_free(ix->centroids), sl_free(ix->present);
  sl_free(ix);
}

size_t sl_ivf_bytes(const sl_ivf *ix) {
  size_t b = sizeof *ix + (size_t)ix->nlist * (ix->dims * sizeof(float) + 1) + ((size_t)ix->nlist + 1) * sizeof(sl_ivf_list);
  for (uint32_t l = 0; l <= ix->nlist; l++) {
    const sl_ivf_list *L = &ix->lists[l];
    if (L->n) b += (size_t)L->lay.cap * (2 * sizeof(int64_t) + sizeof(int32_t) + ix->code_bytes);
  }
  return b;
}

int sl_ivf_reserve(sl_ivf *ix, uint32_t l, uint32_t n, sl_err *err) {
  sl_ivf_list *L = &ix->lists[l];
  size_t cap = ((size_t)n + 7) & ~(size_t)7;
  if (L->codes || !n) return SL_OK;
  sl_chunk_layout_init(&L->lay, SL_VEC_F32, ix->dims, ix->metric, SL_QUANT_INT8, cap);
  L->rowid = sl_malloc(cap * sizeof *L->rowid);
  L->chunk = sl_malloc(cap * sizeof *L->chunk);
  L->slot = sl_malloc(cap * sizeof *L->slot);
  L->codes = sl_calloc(cap, ix->code_bytes);
  if (!L->rowid || !L->chunk || !L->slot || !L->codes) return sl_oom(err);
  L->n = n;
  ix->n_rows += n;
  return SL_OK;
}

void sl_ivf_put(sl_ivf *ix, uint32_t l, uint32_t i, int64_t rowid, int64_t chunk, int32_t slot, const unsigned char *code) {
  sl_ivf_list *L = &ix->lists[l];
  L->rowid[i] = rowid;
  L->chunk[i] = chunk;
  L->slot[i] = slot;
  memcpy(L->codes + sl_quant_vec_offset(&L->lay, i), code, ix->code_lay.qvec_bytes);
  memcpy(L->codes + sl_quant_param_offset(&L->lay, i), code + ix->code_lay.qvec_bytes, ix->code_lay.qparam_bytes);
}

void sl_ivf_code(const sl_ivf *ix, const float *vec, unsigned char *code) { sl_quantize(&ix->code_lay, vec, code); }

uint32_t sl_ivf_nearest(const float *centroids, const uint8_t *present, uint32_t nlist, size_t dims, sl_metric metric,
                        const float *vec, float *dist) {
  sl_distance_fn d = sl_distance_for(SL_VEC_F32, metric);
  uint32_t best = SL_IVF_NONE;
  float bd = FLT_MAX;
  for (uint32_t c = 0; c < nlist; c++) {
    float x;
    if (!present[c]) continue;
    x = d(vec, centroids + (size_t)c * dims, dims);
    if (best == SL_IVF_NONE || x < bd) best = c, bd = x;
  }
  if (dist) *dist = bd;
  return best;
}

size_t sl_ivf_scratch_bytes(const sl_ivf *ix) {
  size_t n = ix->nlist ? ix->nlist : 1, max = 0;
  for (uint32_t l = 0; l <= ix->nlist; l++)
    if (ix->lists[l].n > max) max = ix->lists[l].n;
  return n * (sizeof(float) + sizeof(uint32_t)) + (max > n ? max : n) * sizeof(float);
}

/* Moves the p smallest of d[ids[0..n)] to the front (selection: p is small). */
static void select_nearest(const float *d, uint32_t *ids, uint32_t n, uint32_t p) {
  for (uint32_t i = 0; i < p && i < n; i++) {
    uint32_t m = i;
    for (uint32_t j = i + 1; j < n; j++)
      if (d[ids[j]] < d[ids[m]] || (d[ids[j]] == d[ids[m]] && ids[j] < ids[m])) m = j;
    uint32_t t = ids[i];
    ids[i] = ids[m], ids[m] = t;
  }
}

static int scan_list(const sl_ivf *ix, const sl_ivf_list *L, const unsigned char *qcode, sl_ivf_accept accept,
                     void *arg, float *dist, sl_topk *top, sl_err *err) {
  if (!L->n) return SL_OK;
  if (sl_quant_distances(&L->lay, qcode, L->codes, 0, L->n, dist, err)) return SL_ERROR;
  for (uint32_t i = 0; i < L->n; i++) {
    sl_knn_hit hit = {.distance = dist[i], .offset = L->slot[i], .rowid = L->rowid[i], .chunk_id = L->chunk[i]};
    if (isnan(dist[i]) || !sl_topk_wants(top, &hit) || (accept && !accept(arg, L->rowid[i]))) continue;
    sl_topk_push(top, &hit);
  }
  return SL_OK;
}

int sl_ivf_search(const sl_ivf *ix, const float *q, const unsigned char *qcode, uint32_t nprobe, sl_ivf_accept accept,
                  void *arg, void *scratch, sl_topk *top, sl_err *err) {
  float *cd = scratch;
  uint32_t *ids = (uint32_t *)(cd + (ix->nlist ? ix->nlist : 1)), n = 0;
  float *dist = (float *)(ids + (ix->nlist ? ix->nlist : 1));
  sl_distance_fn d = sl_distance_for(SL_VEC_F32, ix->metric);
  for (uint32_t c = 0; c < ix->nlist; c++) {
    if (!ix->present[c]) continue;
    cd[c] = d(q, ix->centroids + (size_t)c * ix->dims, ix->dims);
    if (isnan(cd[c])) cd[c] = FLT_MAX;
    ids[n++] = c;
  }
  if (nprobe > n) nprobe = n;
  select_nearest(cd, ids, n, nprobe);
  for (uint32_t i = 0; i < nprobe; i++)
    if (scan_list(ix, &ix->lists[ids[i]], qcode, accept, arg, dist, top, err)) return SL_ERROR;
  return scan_list(ix, &ix->lists[ix->nlist], qcode, accept, arg, dist, top, err);
}

/* ---- k-means ---- */

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static void normalize(float *v, size_t dims) {
  double s = 0;
  for (size_t i = 0; i < dims; i++) s += (double)v[i] * v[i];
  if (s > 0) {
    float inv = (float)(1.0 / sqrt(s));
    for (size_t i = 0; i < dims; i++) v[i] *= inv;
  }
}

/* The nearest centroid of rows [0, m) of x, from the products y = x . c and, for l2, the
** squared norms of the centroids (the rows' own norms do not change the choice); cosine
** centroids are unit vectors and its rows are scaled by a positive factor only. */
static void choose(const float *y, size_t m, uint32_t nlist, sl_metric metric, const float *cnorm, uint32_t *out) {
  for (size_t i = 0; i < m; i++) {
    const float *yi = y + i * nlist;
    uint32_t best = 0;
    float bs = FLT_MAX;
    for (uint32_t c = 0; c < nlist; c++) {
      float s = metric == SL_METRIC_L2 ? cnorm[c] - 2.0f * yi[c]
              : metric == SL_METRIC_COSINE ? -yi[c] * cnorm[c] : -yi[c];
      if (s < bs) bs = s, best = c;
    }
    out[i] = best;
  }
}

/* l2: |c|^2; cosine: 1/|c| (0 for a zero centroid); dot: unused. */
static void centroid_norms(const float *c, uint32_t nlist, size_t dims, sl_metric metric, float *out) {
  for (uint32_t j = 0; j < nlist; j++) {
    double s = 0;
    for (size_t i = 0; i < dims; i++) s += (double)c[(size_t)j * dims + i] * c[(size_t)j * dims + i];
    out[j] = metric == SL_METRIC_L2 ? (float)s : s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
  }
}

int sl_ivf_assign(const float *x, size_t n, const float *centroids, uint32_t nlist, size_t dims, sl_metric metric,
                  uint32_t *list, sl_err *err) {
  const sl_gemm_kernels *g = sl_gemm_get();
  float *y = sl_malloc((size_t)BLOCK * nlist * sizeof *y), *cn = sl_malloc((size_t)nlist * sizeof *cn);
  if (!y || !cn) {
    sl_free(y), sl_free(cn);
    return sl_oom(err);
  }
  centroid_norms(centroids, nlist, dims, metric, cn);
  for (size_t i = 0; i < n; i += BLOCK) {
    size_t m = n - i < BLOCK ? n - i : BLOCK;
    g->gemm_f32(x + i * dims, dims, m, centroids, dims, NULL, 0, nlist, dims, y, nlist);
    choose(y, m, nlist, metric, cn, list + i);
  }
  sl_free(y), sl_free(cn);
  return SL_OK;
}

int sl_ivf_kmeans(float *x, size_t n, size_t dims, sl_metric metric, uint32_t nlist, int iterations, uint64_t seed,
                  int (*stop)(void *), void *arg, float *out, uint32_t *made, sl_err *err) {
  const sl_gemm_kernels *g = sl_gemm_get();
  uint32_t k = n < nlist ? (uint32_t)n : nlist, *assign = NULL, *count = NULL;
  size_t *order = NULL;
  double *sum = NULL;
  float *y = NULL, *cn = NULL;
  uint64_t s = seed;
  int rc = SL_OK;
  *made = 0;
  if (k == 0) return sl_fail(err, "k-means needs at least one row");
  if (metric == SL_METRIC_COSINE)
    for (size_t i = 0; i < n; i++) normalize(x + i * dims, dims);
  assign = sl_malloc(n * sizeof *assign);
  order = sl_malloc(n * sizeof *order);
  count = sl_malloc((size_t)k * sizeof *count);
  sum = sl_malloc((size_t)k * dims * sizeof *sum);
  y = sl_malloc((size_t)BLOCK * k * sizeof *y);
  cn = sl_malloc((size_t)k * sizeof *cn);
  if (!assign || !order || !count || !sum || !y || !cn) {
    rc = sl_oom(err);
    goto done;
  }
  /* k distinct rows, drawn by a partial Fisher-Yates shuffle */
  for (size_t i = 0; i < n; i++) order[i] = i, assign[i] = SL_IVF_NONE;
  for (uint32_t c = 0; c < k; c++) {
    size_t j = c + (size_t)(splitmix(&s) % (n - c)), t = order[c];
    order[c] = order[j], order[j] = t;
    memcpy(out + (size_t)c * dims, x + order[c] * dims, dims * sizeof *out);
  }
  for (int it = 0; it < iterations; it++) {
    size_t changed = 0;
    centroid_norms(out, k, dims, metric, cn);
    for (size_t i = 0; i < n; i += BLOCK) {
      size_t m = n - i < BLOCK ? n - i : BLOCK;
      uint32_t a[BLOCK];
      if (stop && stop(arg)) {
        rc = sl_fail(err, "interrupted");
        goto done;
      }
      g->gemm_f32(x + i * dims, dims, m, out, dims, NULL, 0, k, dims, y, k);
      choose(y, m, k, metric, cn, a);
      for (size_t r = 0; r < m; r++) {
        if (assign[i + r] != a[r]) changed++;
        assign[i + r] = a[r];
      }
    }
    if (!changed) break;
    memset(count, 0, (size_t)k * sizeof *count);
    memset(sum, 0, (size_t)k * dims * sizeof *sum);
    for (size_t i = 0; i < n; i++) {
      double *sc = sum + (size_t)assign[i] * dims;
      const float *xi = x + i * dims;
      count[assign[i]]++;
      for (size_t j = 0; j < dims; j++) sc[j] += xi[j];
    }
    for (uint32_t c = 0; c < k; c++) {
      float *oc = out + (size_t)c * dims;
      if (!count[c]) {  /* an emptied cluster restarts at a drawn row */
        memcpy(oc, x + (size_t)(splitmix(&s) % n) * dims, dims * sizeof *oc);
        continue;
      }
      for (size_t j = 0; j < dims; j++) oc[j] = (float)(sum[(size_t)c * dims + j] / count[c]);
      if (metric == SL_METRIC_COSINE) normalize(oc, dims);
    }
  }
  *made = k;
done:
  sl_free(assign), sl_free(order), sl_free(count), sl_free(sum), sl_free(y), sl_free(cn);
  return rc;
}
