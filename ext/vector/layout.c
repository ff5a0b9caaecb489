/*
** layout.c: a chunk's byte layout (layout.h): sizes and offsets of its BLOBs, the
** definitions it can hold, validity bits and little-endian rowids.
*/
#include "layout.h"

#include <string.h>

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

size_t sl_quant_vec_offset(const sl_chunk_layout *lay, size_t i) { return i * lay->qvec_bytes; }

size_t sl_quant_param_offset(const sl_chunk_layout *lay, size_t i) {
  return lay->cap * lay->qvec_bytes + i * lay->qparam_bytes;
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

int sl_chunk_pos_cmp(const void *a, const void *b) {
  const sl_chunk_pos *x = a, *y = b;
  if (x->chunk_id != y->chunk_id) return x->chunk_id < y->chunk_id ? -1 : 1;
  return x->slot < y->slot ? -1 : x->slot > y->slot;
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
