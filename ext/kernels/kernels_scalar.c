/*
** kernels_scalar.c: the portable kernel table. It runs where no SIMD table fits (old x86,
** other architectures, or SEMLITE_ISA=scalar), and gives the same bits as the SIMD
** tables: the same float operations in the same order, lane by lane. exp, GELU and tanh are
** simd_math.h's polynomials on one lane (simd_scalar.h); sums follow order.h (16 partial
** sums folded in halves; LayerNorm's in double); products that the SIMD tables fuse are
** fmaf/fma here. The Makefile builds it with -ffp-contract=off, so what is written is
** what is rounded.
*/
#include <math.h>

#include "kernels.h"
#include "order.h"
#include "simd_scalar.h"

static void gelu(float *x, size_t n) {
  for (size_t i = 0; i < n; i++) x[i] = vf_gelu(x[i]);
}

/* order.h's sum of n floats. */
static float sum16(const float *p, size_t n) {
  float s[SL_ORDER_LANES] = {0};
  for (size_t i = 0; i < n; i++) s[i % SL_ORDER_LANES] += p[i];
  return sl_order_fold(s);
}

/* As kernels_simd.h: exp(scale*(x - xr)) / sum, xr the max of the row (the min when
** scale < 0), the product's rounding carried into exp; then a multiply by 1/sum. */
static void softmax_rows(float *x, size_t rows, size_t cols, size_t ld, float scale) {
  for (size_t r = 0; r < rows; r++) {
    float *p = x + r * ld;
    float mx = -INFINITY, mn = INFINITY;
    for (size_t i = 0; i < cols; i++) mx = vf_max(mx, p[i]), mn = vf_min(mn, p[i]);
    const float xr = scale < 0 ? mn : mx;
    for (size_t i = 0; i < cols; i++) p[i] = vf_exp_mul(scale, p[i] - xr);
    const float inv = 1.0f / sum16(p, cols);
    for (size_t i = 0; i < cols; i++) p[i] *= inv;
  }
}

/* x + residual in double (exact), mean and variance as order.h's sums in double, the
** squares fused; then one rounding of the normalized value and a fused affine step. */
static void add_layernorm(float *x, const float *residual, size_t rows, size_t dim,
                          const float *gamma, const float *beta, float eps) {
  for (size_t r = 0; r < rows; r++) {
    float *p = x + r * dim;
    const float *q = residual ? residual + r * dim : NULL;
    double s[SL_ORDER_LANES] = {0};
    for (size_t i = 0; i < dim; i++) s[i % SL_ORDER_LANES] += q ? (double)p[i] + q[i] : (double)p[i];
    const double mean = sl_order_fold_d(s) / (double)dim;
    for (int l = 0; l < SL_ORDER_LANES; l++) s[l] = 0;
    for (size_t i = 0; i < dim; i++) {
      double d = (q ? (double)p[i] + q[i] : (double)p[i]) - mean;
      s[i % SL_ORDER_LANES] = fma(d, d, s[i % SL_ORDER_LANES]);
    }
    const double inv = 1.0 / sqrt(sl_order_fold_d(s) / (double)dim + (double)eps);
    for (size_t i = 0; i < dim; i++) {
      float y = (float)(((q ? (double)p[i] + q[i] : (double)p[i]) - mean) * inv);
      p[i] = sl_fmaf(y, gamma[i], beta[i]);
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

/* vf_max(out, x): which zero and which NaN win as in the SIMD tables. */
static void max_rows(const float *x, size_t rows, size_t dim, float *out) {
  for (size_t d = 0; d < dim; d++) out[d] = x[d];
  for (size_t r = 1; r < rows; r++)
    for (size_t d = 0; d < dim; d++) out[d] = vf_max(out[d], x[r * dim + d]);
}

static void scale(float *x, size_t n, float s) {
  for (size_t i = 0; i < n; i++) x[i] *= s;
}

/* order.h's sum of the products, fused. */
static float dot(const float *x, const float *y, size_t n) {
  float s[SL_ORDER_LANES] = {0};
  for (size_t i = 0; i < n; i++) s[i % SL_ORDER_LANES] = sl_fmaf(x[i], y[i], s[i % SL_ORDER_LANES]);
  return sl_order_fold(s);
}

static void tanh_(float *x, size_t n) {
  for (size_t i = 0; i < n; i++) x[i] = vf_tanh(x[i]);
}

static const sl_kernels scalar = {
  SL_ISA_SCALAR, "scalar", gelu, softmax_rows, add_layernorm, sum_rows, max_rows, scale, dot, tanh_,
};
const sl_kernels *const sl_kernels_scalar_table = &scalar;
