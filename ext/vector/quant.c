/*
** quant.c: int8 and binary quantized copies and their estimated distances (quant.h);
** the distance kernels do the arithmetic.
*/
#include "quant.h"

#include <math.h>
#include <string.h>

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
