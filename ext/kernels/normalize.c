/*
** normalize.c: L2 normalisation of a float32 vector on a kernel table, the one place
** semlite writes it (pooling with a Normalize module, synergy's unit descriptors).
** vec_normalize keeps sqlite-vec's own formula in the SQL layer (x / |x|, NaN for a zero
** vector), because its results must equal sqlite-vec's.
*/
#include <math.h>

#include "kernels.h"

void sl_kernels_normalize(const sl_kernels *k, float *x, size_t n) {
  float norm = sqrtf(k->dot(x, x, n));
  k->scale(x, n, 1.0f / (norm > 1e-12f ? norm : 1e-12f));
}
