/*
** kernels_simd.h: the SIMD kernel table (GELU, softmax, LayerNorm, pooling reductions,
** scale, dot, tanh), written once in simd.h's vocabulary and compiled per level by
** kernels_avx2.c and kernels_avx512.c; the math (exp, GELU) is in simd_math.h.
**
** Row tails use masked loads and stores, so no kernel has a scalar loop and results do
** not depend on where a vector boundary falls. LayerNorm and sum_rows work in double: it
** is cheap at these widths (once per row, against a GEMM per row) and removes every
** question of cancellation. Every sum (softmax's, LayerNorm's mean and variance, dot)
** runs in order.h's order, 16 partial sums in V16 vectors folded in halves, so that
** AVX2, AVX-512 and the scalar table (kernels_scalar.c) give the same bits.
**
** Defines KERNELS_SIMD_TABLE: the address of this level's sl_kernels, or 0 off x86.
*/
#include "simd.h"

#if SL_SIMD_X86

#include <math.h>

#include "order.h"
#include "simd_math.h"

#define V16 (SL_ORDER_LANES / W)   /* vectors of float partial sums (2 V16 of double) */

/* order.h's fold of V16 vectors of partial sums, then of the lanes. */
static inline float fold16(VF acc[V16]) {
  for (int h = V16 / 2; h >= 1; h /= 2)
    for (int v = 0; v < h; v++) acc[v] = vf_add(acc[v], acc[v + h]);
  return vf_reduce_add(acc[0]);
}
static inline double fold16_pd(VD acc[2 * V16]) {
  for (int h = V16; h >= 1; h /= 2)
    for (int v = 0; v < h; v++) acc[v] = vd_add(acc[v], acc[v + h]);
  return vd_reduce_add(acc[0]);
}

/* order.h's sum of n floats at p, and of the fused products of x and y. */
static float sum16(const float *p, size_t n) {
  VF acc[V16];
  for (int v = 0; v < V16; v++) acc[v] = vf_zero();
  for (size_t i = 0; i < n; i += SL_ORDER_LANES)
    for (int v = 0; v < V16; v++) {
      const size_t o = i + (size_t)v * W;
      if (o + W <= n) acc[v] = vf_add(acc[v], vf_loadu(p + o));
      else if (o < n) acc[v] = vf_add(acc[v], vf_maskz_loadu(lanes(n - o), p + o));
    }
  return fold16(acc);
}

/* x + residual for the lanes in m, exactly, as two double vectors; other lanes are 0. */
static inline void load_sum(const float *x, const float *res, VM m, VD *lo, VD *hi) {
  VF a = vf_maskz_loadu(m, x);
  *lo = vf_lo_pd(a);
  *hi = vf_hi_pd(a);
  if (res) {
    VF b = vf_maskz_loadu(m, res);
    *lo = vd_add(*lo, vf_lo_pd(b));
    *hi = vd_add(*hi, vf_hi_pd(b));
  }
}

static void gelu(float *x, size_t n) {
  size_t i = 0;
  for (; i + W <= n; i += W) vf_storeu(x + i, vf_gelu(vf_loadu(x + i)));
  if (i < n) {
    VM m = lanes(n - i);
    vf_mask_storeu(x + i, m, vf_gelu(vf_maskz_loadu(m, x + i)));
  }
}

/* softmax(scale*x) is computed as exp(scale*(x - xr)) / sum, xr the max of x (the min
** when scale < 0): the largest term is then exactly exp(0) = 1, so a row of equal
** values, however large (a fully masked row of -1e30), stays uniform. The exponent
** carries one rounding (of x - xr); the product's goes into exp (vf_exp_mul). */
static void softmax_rows(float *x, size_t rows, size_t cols, size_t ld, float scale) {
  const VF s = vf_set1(scale);
  const VM m = lanes(cols % W);
  const size_t nv = cols - cols % W;
  for (size_t r = 0; r < rows; r++) {
    float *p = x + r * ld;
    size_t i = 0;
    VF mx = vf_set1(-INFINITY), mn = vf_set1(INFINITY);
    for (; i < nv; i += W) {
      VF v = vf_loadu(p + i);
      mx = vf_max(mx, v);
      mn = vf_min(mn, v);
    }
    if (i < cols) {
      VF v = vf_maskz_loadu(m, p + i);
      mx = vf_mask_max(mx, m, v);
      mn = vf_mask_min(mn, m, v);
    }
    const VF xr = vf_set1(scale < 0 ? vf_reduce_min(mn) : vf_reduce_max(mx));

    for (i = 0; i < nv; i += W) vf_storeu(p + i, vf_exp_mul(s, vf_sub(vf_loadu(p + i), xr)));
    if (i < cols) vf_mask_storeu(p + i, m, vf_exp_mul(s, vf_sub(vf_maskz_loadu(m, p + i), xr)));

    const VF inv = vf_set1(1.0f / sum16(p, cols));
    for (i = 0; i < nv; i += W) vf_storeu(p + i, vf_mul(vf_loadu(p + i), inv));
    if (i < cols) vf_mask_storeu(p + i, m, vf_mul(vf_maskz_loadu(m, p + i), inv));
  }
}

/* x + residual, its mean, variance and centering are all in double (the sum of two
** floats is exact there), so neither a large common offset nor a constant row (which
** must give exactly beta with BERT's eps of 1e-12) loses anything; only the normalized
** value and the affine step round to float. */
static void add_layernorm(float *x, const float *residual, size_t rows, size_t dim,
                          const float *gamma, const float *beta, float eps) {
  for (size_t r = 0; r < rows; r++) {
    float *p = x + r * dim;
    const float *q = residual ? residual + r * dim : NULL;
    VD lo, hi, acc[2 * V16];
    for (int v = 0; v < 2 * V16; v++) acc[v] = vd_zero();
    for (size_t i = 0; i < dim; i += SL_ORDER_LANES)
      for (int v = 0; v < V16 && i + (size_t)v * W < dim; v++) {
        const size_t o = i + (size_t)v * W;
        load_sum(p + o, q ? q + o : NULL, lanes(dim - o), &lo, &hi);
        acc[2 * v] = vd_add(acc[2 * v], lo);
        acc[2 * v + 1] = vd_add(acc[2 * v + 1], hi);
      }
    const VD mean = vd_set1(fold16_pd(acc) / (double)dim);

    /* two-pass variance: no cancellation */
    for (int v = 0; v < 2 * V16; v++) acc[v] = vd_zero();
    for (size_t i = 0; i < dim; i += SL_ORDER_LANES)
      for (int v = 0; v < V16 && i + (size_t)v * W < dim; v++) {
        const size_t o = i + (size_t)v * W;
        const VM m = lanes(dim - o);
        load_sum(p + o, q ? q + o : NULL, m, &lo, &hi);
        /* lanes past the row hold 0, not the mean: mask their deviation out */
        lo = vd_maskz_sub_lo(m, lo, mean);
        hi = vd_maskz_sub_hi(m, hi, mean);
        acc[2 * v] = vd_fmadd(lo, lo, acc[2 * v]);
        acc[2 * v + 1] = vd_fmadd(hi, hi, acc[2 * v + 1]);
      }
    const double var = fold16_pd(acc) / (double)dim;
    const VD inv = vd_set1(1.0 / sqrt(var + (double)eps));

    for (size_t i = 0; i < dim; i += W) {
      VM m = lanes(dim - i);
      load_sum(p + i, q ? q + i : NULL, m, &lo, &hi);
      VF y = vf_from_pd(vd_mul(vd_sub(lo, mean), inv), vd_mul(vd_sub(hi, mean), inv));
      y = vf_fmadd(y, vf_maskz_loadu(m, gamma + i), vf_maskz_loadu(m, beta + i));
      if (dim - i >= W) vf_storeu(p + i, y);
      else vf_mask_storeu(p + i, m, y);
    }
  }
}

/* Column blocks of W, summed down the rows in double, in row order. */
static void sum_rows(const float *x, size_t rows, size_t dim, float *out) {
  for (size_t d = 0; d < dim; d += W) {
    VM m = lanes(dim - d);
    VD lo = vd_zero(), hi = vd_zero();
    for (size_t r = 0; r < rows; r++) {
      VF v = vf_maskz_loadu(m, x + r * dim + d);
      lo = vd_add(lo, vf_lo_pd(v));
      hi = vd_add(hi, vf_hi_pd(v));
    }
    vf_mask_storeu(out + d, m, vf_from_pd(lo, hi));
  }
}

static void max_rows(const float *x, size_t rows, size_t dim, float *out) {
  for (size_t d = 0; d < dim; d += W) {
    VM m = lanes(dim - d);
    VF v = vf_maskz_loadu(m, x + d);
    for (size_t r = 1; r < rows; r++) v = vf_max(v, vf_maskz_loadu(m, x + r * dim + d));
    vf_mask_storeu(out + d, m, v);
  }
}

static void scale(float *x, size_t n, float s) {
  const VF vs = vf_set1(s);
  size_t i = 0;
  for (; i + W <= n; i += W) vf_storeu(x + i, vf_mul(vf_loadu(x + i), vs));
  if (i < n) {
    VM m = lanes(n - i);
    vf_mask_storeu(x + i, m, vf_mul(vf_maskz_loadu(m, x + i), vs));
  }
}

/* order.h's sum of the fused products (one chain of V16 vectors: dot serves the L2 norm
** of one pooled vector, where FMA latency costs a few dozen cycles). */
static float dot(const float *x, const float *y, size_t n) {
  VF acc[V16];
  for (int v = 0; v < V16; v++) acc[v] = vf_zero();
  for (size_t i = 0; i < n; i += SL_ORDER_LANES)
    for (int v = 0; v < V16; v++) {
      const size_t o = i + (size_t)v * W;
      if (o + W <= n) acc[v] = vf_fmadd(vf_loadu(x + o), vf_loadu(y + o), acc[v]);
      else if (o < n) {
        const VM m = lanes(n - o);
        acc[v] = vf_fmadd(vf_maskz_loadu(m, x + o), vf_maskz_loadu(m, y + o), acc[v]);
      }
    }
  return fold16(acc);
}

static void tanh_(float *x, size_t n) {
  size_t i = 0;
  for (; i + W <= n; i += W) vf_storeu(x + i, vf_tanh(vf_loadu(x + i)));
  if (i < n) {
    VM m = lanes(n - i);
    vf_mask_storeu(x + i, m, vf_tanh(vf_maskz_loadu(m, x + i)));
  }
}

static const sl_kernels simd_kernels = {
  SL_SIMD_ISA, SL_SIMD_NAME, gelu, softmax_rows, add_layernorm, sum_rows, max_rows, scale, dot, tanh_,
};
#define KERNELS_SIMD_TABLE (&simd_kernels)

#else
#define KERNELS_SIMD_TABLE 0
#endif
