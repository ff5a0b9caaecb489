/*
** layout.h: the byte layout of one chunk of a semlite_vec table, as stored in its
** shadow table (ext/sql/vec/store.c writes it; nothing here knows SQLite), and the
** checks a table definition must pass before a layout exists for it.
**
** A chunk holds `cap` slots (a multiple of 8). Its shadow-table row has four BLOBs:
**   validity   cap/8 bytes, bit i (LSB first) set when slot i holds a row
**   rowids     cap little-endian int64, the rowid of each slot
**   qvectors   the quantized copy (NULL without a quantizer): cap quantized vectors
**              back to back, then cap parameter blocks (quant.h)
**   vectors    cap vectors of the column's type, back to back (sl_vec_bytes each)
*/
#ifndef SEMLITE_VECTOR_LAYOUT_H
#define SEMLITE_VECTOR_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "../base/status.h"
#include "../kernels/distance.h"

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

/* Where the quantized vector of slot i starts in qvectors (the int8 or bit part), and
** where its per-slot parameters (int8: scale, squared norm) are. */
size_t sl_quant_vec_offset(const sl_chunk_layout *lay, size_t i);
size_t sl_quant_param_offset(const sl_chunk_layout *lay, size_t i);

/* ---- validity bits and rowids ---- */

static inline int sl_bit_get(const unsigned char *bits, size_t i) { return (bits[i >> 3] >> (i & 7)) & 1; }
static inline void sl_bit_set(unsigned char *bits, size_t i, int on) {
  if (on) bits[i >> 3] |= (unsigned char)(1u << (i & 7));
  else bits[i >> 3] &= (unsigned char)~(1u << (i & 7));
}

/* Index of the first clear bit below n, or n when all are set. */
size_t sl_bits_first_clear(const unsigned char *bits, size_t n);
/* Number of set bits below n. */
size_t sl_bits_count(const unsigned char *bits, size_t n);

/* A row's place: its chunk and slot (signed: semlite_vec_check meets damaged ones),
** and its rowid. sl_chunk_pos_cmp orders places by chunk, then slot (for qsort). */
typedef struct sl_chunk_pos {
  int64_t chunk_id, slot, rowid;
} sl_chunk_pos;

int sl_chunk_pos_cmp(const void *a, const void *b);

/* Little-endian int64 at slot i of a rowids BLOB. */
int64_t sl_rowid_get(const unsigned char *rowids, size_t i);
void sl_rowid_put(unsigned char *dst, int64_t rowid);

#endif
