/*
** quant.h: the int8 and binary quantized copies of float vectors that a semlite_vec
** table with a quantizer keeps per slot (layout.h: the qvectors BLOB), and their
** estimated distances, scored in a coarse first pass before exact rescoring.
*/
#ifndef SEMLITE_VECTOR_QUANT_H
#define SEMLITE_VECTOR_QUANT_H

#include "layout.h"

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

#endif
