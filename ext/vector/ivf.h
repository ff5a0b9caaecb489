/*
** ivf.h: the inverted-file (IVF) index of a float vector column, in memory: k-means
** training of centroids, the nearest centroid of a vector, and the image a query probes
** (centroids, and per list the rows' int8 codes of quant.h with their rowid, chunk and
** slot). ext/sql/vec/index_ivf.c stores it in shadow tables and caches the image in the
** ANN cache (ann_cache.h). No SQLite here.
**
** Lists are numbered like centroids, 0..nlist-1; a centroid id may be absent (set one by
** one with 'set-centroid'). List nlist holds the unassigned rows (inserted before any
** centroid existed, or unassigned when the centroids changed): a query always scans it.
** Distances to centroids use the column's metric (l2, cosine, dot); k-means is Lloyd's
** on a matrix product (kernels/gemm.h), spherical for cosine.
*/
#ifndef SEMLITE_VECTOR_IVF_H
#define SEMLITE_VECTOR_IVF_H

#include <stddef.h>
#include <stdint.h>

#include "layout.h"
#include "topk.h"

#define SL_IVF_MAX_NLIST 65536
#define SL_IVF_DEFAULT_NLIST 128     /* sqlite-vec's defaults */
#define SL_IVF_DEFAULT_NPROBE 10
#define SL_IVF_DEFAULT_ITERATIONS 10
#define SL_IVF_MAX_ITERATIONS 1000
#define SL_IVF_NONE UINT32_MAX

/* One list: n rows; codes in the layout of quant.h for `lay` (lay.cap >= n slots: the
** int8 vectors back to back, then their parameters), so one sl_quant_distances call
** scores the whole list. */
typedef struct sl_ivf_list {
  uint32_t n;
  int64_t *rowid, *chunk;
  int32_t *slot;
  unsigned char *codes;
  sl_chunk_layout lay;
} sl_ivf_list;

typedef struct sl_ivf {
  size_t dims;
  sl_metric metric;
  uint32_t nlist;
  float *centroids;            /* nlist * dims; absent ones zero */
  uint8_t *present;            /* per centroid id */
  uint32_t n_present;
  sl_ivf_list *lists;          /* nlist + 1: the last holds the unassigned rows */
  size_t n_rows;
  sl_chunk_layout code_lay;    /* one slot: a row's code is its int8 vector, then parameters */
  size_t code_bytes;
} sl_ivf;

/* An empty image (no centroids, no rows), or NULL when memory is short. */
sl_ivf *sl_ivf_new(size_t dims, sl_metric metric, uint32_t nlist);
void sl_ivf_free(sl_ivf *ix);
size_t sl_ivf_bytes(const sl_ivf *ix);

/* Loading: room for n rows in list l (l <= nlist), then each row put at index i. code:
** code_bytes as sl_ivf_code makes it. */
int sl_ivf_reserve(sl_ivf *ix, uint32_t l, uint32_t n, sl_err *err);
void sl_ivf_put(sl_ivf *ix, uint32_t l, uint32_t i, int64_t rowid, int64_t chunk, int32_t slot, const unsigned char *code);
/* A row's code (code_bytes). */
void sl_ivf_code(const sl_ivf *ix, const float *vec, unsigned char *code);

/* The id of the centroid nearest vec among the present ones (the lowest id on ties),
** and its distance, or SL_IVF_NONE when none is present. */
uint32_t sl_ivf_nearest(const float *centroids, const uint8_t *present, uint32_t nlist, size_t dims, sl_metric metric,
                        const float *vec, float *dist);

/* The search: the nprobe lists whose centroids are nearest q, and the unassigned list,
** scored by their int8 codes (qcode: sl_ivf_code of q); rows accept() lets through (all
** when NULL) go into top (hit distances are estimates). scratch: nlist floats and
** nlist uint32 (sl_ivf_scratch_bytes). */
typedef int (*sl_ivf_accept)(void *arg, int64_t rowid);
size_t sl_ivf_scratch_bytes(const sl_ivf *ix);
int sl_ivf_search(const sl_ivf *ix, const float *q, const unsigned char *qcode, uint32_t nprobe, sl_ivf_accept accept,
                  void *arg, void *scratch, sl_topk *top, sl_err *err);

/* k-means over n rows of x (dims floats each, row-major): writes min(nlist, n) centroids
** to out (nlist * dims floats) and returns their number in *made. Initial centroids are
** distinct rows drawn with seed; an emptied cluster takes a drawn row again; `iterations`
** Lloyd steps at most (fewer once no row changes cluster). stop(arg), when not NULL, is
** asked between blocks of rows: nonzero ends the training with SL_ERROR "interrupted".
** x is changed (cosine: rows normalized). */
int sl_ivf_kmeans(float *x, size_t n, size_t dims, sl_metric metric, uint32_t nlist, int iterations, uint64_t seed,
                  int (*stop)(void *), void *arg, float *out, uint32_t *made, sl_err *err);

/* For each of n rows of x, the nearest of nlist centroids (all present) into list[i]:
** sl_ivf_nearest's choice computed by a matrix product (on near ties the two may differ
** by rounding; semlite_vec_check allows for it). */
int sl_ivf_assign(const float *x, size_t n, const float *centroids, uint32_t nlist, size_t dims, sl_metric metric,
                  uint32_t *list, sl_err *err);

#endif
