/*
** kernels_scalar.c: the portable kernel table, and the one every other table is tested
** against. It runs where no SIMD table fits (old x86, other architectures, or
** SEMLITE_ISA=scalar).
**
** It favours accuracy over speed: intermediates are double and the transcendental
** functions are libm's double ones, so each result is within about one float rounding
** of the exact value. The Makefile builds it with -ffp-contract=off, so what is written
** is what is rounded.
*/
#include <math.h>

#include "kernels.h"

static const double kSqrtHalf = 0.70710678118654752440;

/* 0.5*x*(1+erf(x/sqrt 2)) written with erfc so that the negative tail does not cancel. */
static void gelu(float *x, size_t n) {
  for (size_t i = 0; i < n; i++) {
    double v = x[i];
    x[i] = (float)(0.5 * v * erfc(-v * kSqrtHalf));
  }
}

/* scale*x is exact in double, so the max term is exactly exp(0) = 1 and a row of equal
** values (a fully masked row of -1e30) stays uniform. */
static void softmax_rows(float *x, size_t rows, size_t cols, size_t ld, float scale) {
  const double s = scale;
  for (size_t r = 0; r < rows; r++) {
    float *p = x + r * ld;
    double mx = -INFINITY, sum = 0;
    for (size_t i = 0; i < cols; i++)
      if (s * p[i] > mx) mx = s * p[i];
    for (size_t i = 0; i < cols; i++) {
      double e = exp(s * p[i] - mx);
      p[i] = (float)e;
      sum += e;
    }
    for (size_t i = 0; i < cols; i++) p[i] = (float)(p[i] / sum);
  }
}

/* Two passes over x + residual in double, then one rounding per output. */
static void add_layernorm(float *x, const float *residual, size_t rows, size_t dim,
                          const float *gamma, const float *beta, float eps) {
  for (size_t r = 0; r < rows; r++) {
    float *p = x + r * dim;
    const float *q = residual ? residual + r * dim : NULL;
    double sum = 0, ss = 0;
    for (size_t i = 0; i < dim; i++) sum += (double)p[i] + (q ? q[i] : 0.0);
    const double mean = sum / (double)dim;
    for (size_t i = 0; i < dim; i++) {
      double d = (double)p[i] + (q ? q[i] : 0.0) - mean;
      ss += d * d;
    }
    const double inv = 1.0 / sqrt(ss / (double)dim + (double)eps);
    for (size_t i = 0; i < dim; i++) {
      double d = (double)p[i] + (q ? q[i] : 0.0) - mean;
      p[i] = (float)(d * inv * gamma[i] + beta[i]);
    }
  }
}

/* Down each column in row order, in double: the SIMD tables sum in the same order. */
static void sum_rows(const float *x, size_t rows, size_t dim, float *out) {
  for (size_t d = 0; d < dim; d++) {
    double s = 0;
    for (size_t r = 0; r < rows; r++) s += x[r * dim + d];
    out[d] = (float)s;
  }
}

static void max_rows(const float *x, size_t rows, size_t dim, float *out) {
  for (size_t d = 0; d < dim; d++) out[d] = x[d];
  for (size_t r = 1; r < rows; r++)
    for (size_t d = 0; d < dim; d++)
      if (x[r * dim + d] > out[d]) out[d] = x[r * dim + d];
}

static void scale(float *x, size_t n, float s) {
  for (size_t i = 0; i < n; i++) x[i] *= s;
}

static float dot(const float *x, const float *y, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += (double)x[i] * y[i];
  return (float)s;
}

static const sl_kernels scalar = {
  SL_ISA_SCALAR, "scalar", gelu, softmax_rows, add_layernorm, sum_rows, max_rows, scale, dot,
};
const sl_kernels *const sl_kernels_scalar_table = &scalar;
