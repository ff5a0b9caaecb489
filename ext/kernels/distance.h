/*
** distance.h: vector distances for the vec_* functions and the semlite_vec k-NN scan,
** with sqlite-vec's definitions, one implementation per ISA level chosen at run time
** (the same level as kernels.h: cpuid, capped by SEMLITE_ISA).
**
** Definitions (smaller is closer for every metric):
**   l2       sqrt(sum (x-y)^2)
**   l1       sum |x-y|
**   cosine   1 - x.y / (|x| |y|)
**   dot      -(x.y)            (negative inner product, as pgvector's <#>)
**   hamming  number of differing bits (bit vectors only)
** Element types: float32, int8, and bit (packed, 8 dimensions per byte, LSB first as
** sqlite-vec packs them). n always counts dimensions (bits for SL_VEC_BIT, a multiple
** of 8).
*/
#ifndef SEMLITE_DISTANCE_H
#define SEMLITE_DISTANCE_H

#include <stddef.h>

typedef enum sl_vec_type { SL_VEC_F32, SL_VEC_I8, SL_VEC_BIT } sl_vec_type;

typedef enum sl_metric {
  SL_METRIC_L2,
  SL_METRIC_L1,
  SL_METRIC_COSINE,
  SL_METRIC_DOT,
  SL_METRIC_HAMMING
} sl_metric;

/* Distance between two vectors of n dimensions. */
typedef float (*sl_distance_fn)(const void *x, const void *y, size_t n);

/* The function for this element type and metric at the current ISA level, or NULL when
** the pair is not defined (hamming on floats, l2 on bits, ...). */
sl_distance_fn sl_distance_for(sl_vec_type type, sl_metric metric);

/* out[i] = distance(q, base + i * stride) for i < count, where stride is the byte size
** of one vector of n dimensions; the scan of a chunk of vectors. Returns 0, or -1 when
** the pair is not defined. */
int sl_distance_many(sl_vec_type type, sl_metric metric, const void *q, const void *base,
                     size_t count, size_t n, float *out);

/* Byte size of one vector of n dimensions of this type. */
size_t sl_vec_bytes(sl_vec_type type, size_t n);

#endif
