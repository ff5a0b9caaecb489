/*
** knn.h: the parts of semlite_vec's k-nearest-neighbour search that do not depend on
** SQLite: the byte layout of one chunk of vectors, the top-k selection, scoring a chunk
** with the distance kernels, and the int8/binary quantized copies used for a coarse
** first pass. ext/sql/vtab_vec*.c owns the shadow tables and hands these functions
** plain memory; nothing here allocates behind the caller's back except sl_topk.
**
** A chunk holds `cap` slots (a multiple of 8). Its shadow-table row has four BLOBs:
**   validity   cap/8 bytes, bit i (LSB first) set when slot i holds a row
**   rowids     cap little-endian int64, the rowid of each slot
**   qvectors   the quantized copy (NULL without a quantizer), see sl_quant_*
**   vectors    cap vectors of the column's type, back to back (sl_vec_bytes each)
*/
#ifndef SEMLITE_KNN_H
#define SEMLITE_KNN_H

#include <stddef.h>
#include <stdint.h>

#include "../base/status.h"
#include "../kernels/distance.h"

/* ---- chunk layout ---- */

typedef enum sl_quant { SL_QUANT_NONE, SL_QUANT_INT8, SL_QUANT_BINARY } sl_quant;

typedef struct sl_chunk_layout {
  sl_vec_type type;
  sl_metric metric;
  sl_quant quant;
  size_t dims;            /* dimensions (bits for SL_VEC_BIT) */
  size_t cap;             /* slots per chunk, a multiple of 8 */
  size_t vec_bytes;       /* one vector in `vectors` */
  size_t validity_bytes, rowids_bytes, vectors_bytes;
  size_t qvec_bytes;      /* one quantized vector (0 without a quantizer) */
  size_t qparam_bytes;    /* its parameters (int8: scale and sum of squares, 8 bytes) */
  size_t qvectors_bytes;  /* the whole qvectors BLOB: cap vectors, then cap parameters */
} sl_chunk_layout;

/* The declaration keywords, for messages and T_info: "float", "int8", "bit"; "l2",
** "l1", "cosine", "dot", "hamming". */
const char *sl_knn_type_name(sl_vec_type t);
const char *sl_knn_metric_name(sl_metric m);

/* Fills the layout; the combination must already be valid (sl_knn_check_config). */
void sl_chunk_layout_init(sl_chunk_layout *lay, sl_vec_type type, size_t dims, sl_metric metric,
                          sl_quant quant, size_t cap);

/* Why a table definition cannot be stored, or SL_OK: metric undefined for the type,
** quantizer on a non-float column, dims not a multiple of 8 where bits need it. */
int sl_knn_check_config(sl_vec_type type, size_t dims, sl_metric metric, sl_quant quant,
                        sl_err *err);

static inline int sl_bit_get(const unsigned char *bits, size_t i) { return (bits[i >> 3] >> (i & 7)) & 1; }
static inline void sl_bit_set(unsigned char *bits, size_t i, int on) {
  if (on) bits[i >> 3] |= (unsigned char)(1u << (i & 7));
  else bits[i >> 3] &= (unsigned char)~(1u << (i & 7));
}

/* Index of the first clear bit below n, or n when all are set. */
size_t sl_bits_first_clear(const unsigned char *bits, size_t n);
/* Number of set bits below n. */
size_t sl_bits_count(const unsigned char *bits, size_t n);

/* Little-endian int64 at slot i of a rowids BLOB. */
int64_t sl_rowid_get(const unsigned char *rowids, size_t i);
void sl_rowid_put(unsigned char *dst, int64_t rowid);

/* ---- top-k ---- */

typedef struct sl_knn_hit {
  float distance;
  int32_t offset;       /* slot in its chunk */
  int64_t rowid;
  int64_t chunk_id;
} sl_knn_hit;

/* The k best hits seen so far, ordered by (distance, rowid) so that ties resolve the
** same way every time. A max-heap: the worst kept hit is at the root. */
typedef struct sl_topk {
  size_t k, n;
  sl_knn_hit *h;
} sl_topk;

int sl_topk_init(sl_topk *t, size_t k, sl_err *err);
void sl_topk_free(sl_topk *t);
/* Whether a hit at distance d with this rowid would be kept. */
int sl_topk_wants(const sl_topk *t, float d, int64_t rowid);
void sl_topk_push(sl_topk *t, const sl_knn_hit *hit);
/* Sorts the kept hits best first in place (t->h[0..t->n)); the heap is spent. */
void sl_topk_sort(sl_topk *t);

/* Which distances qualify (distance < x, <= x, > x, >= x constraints); NaN never does.
** Bounds are doubles and distances compare as doubles, as SQLite compares the REAL
** distance column: rounding a bound to float could let a row across it. */
typedef struct sl_knn_range {
  double lo, hi;
  int lo_strict, hi_strict;
} sl_knn_range;

void sl_knn_range_init(sl_knn_range *r);
int sl_knn_range_has(const sl_knn_range *r, float d);

/* ---- scoring a chunk ---- */

/* Distances of slots [first, first + count) of a chunk's vectors (or a buffer of the
** same layout where those slots are filled in) to q, of the column's type, into
** out[0..count). */
int sl_knn_distances(const sl_chunk_layout *lay, const void *q, const void *vectors,
                     size_t first, size_t count, float *out, sl_err *err);

/* ---- quantized copies ---- */

/* The quantized form of a float vector as stored per slot. int8: per-vector symmetric
** scale s = max|x| / 127, q = round(x / s), then (as two floats) s and sum(q[i]^2), so
** l2 and dot can be estimated from the int8 dot product. binary: bit i set when
** x[i] > 0. dst receives qvec_bytes + qparam_bytes: the vector part, then the
** parameters. */
void sl_quantize(const sl_chunk_layout *lay, const float *x, unsigned char *dst);

/* Estimated distances of slots [first, first + count) of a qvectors BLOB (or a buffer
** of the same layout where those slots are filled in) to the quantized query qq
** (sl_quantize of the query) into out[0..count): smaller is closer, comparable within
** one query only. */
int sl_quant_distances(const sl_chunk_layout *lay, const unsigned char *qq,
                       const unsigned char *qvectors, size_t first, size_t count, float *out,
                       sl_err *err);

/* Where the quantized vector of slot i starts in qvectors (the int8 or bit part), and
** where its per-slot parameters (int8: scale, squared norm) are. */
size_t sl_quant_vec_offset(const sl_chunk_layout *lay, size_t i);
size_t sl_quant_param_offset(const sl_chunk_layout *lay, size_t i);

/* One chunk's share of sl_knn_score_chunks: its first count slots of data (a whole
** vectors BLOB, or qvectors) scored into out[0..count). */
typedef struct sl_knn_job {
  const unsigned char *data;
  size_t count;
  float *out;
} sl_knn_job;

/* Many chunks at once on the worker pool (engine/pool.h), against q (the quantized query
** when quant). Same results as one sl_knn_distances / sl_quant_distances per chunk. */
int sl_knn_score_chunks(const sl_chunk_layout *lay, const void *q, int quant, size_t n,
                        const sl_knn_job *jobs, sl_err *err);

#endif
