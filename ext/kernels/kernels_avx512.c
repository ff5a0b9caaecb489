/*
** kernels_avx512.c: the AVX-512 kernel table (F, BW, VL, DQ; the Makefile compiles this
** file with those flags, and dispatch.c hands it out only when cpuid and the OS say the
** ZMM state is usable).
**
** 16 lanes; row tails use masked loads and stores, so no kernel has a scalar loop and
** results do not depend on where a vector boundary falls. The math (exp, GELU) is in
** simd_math.h, shared with the AVX2 table. LayerNorm and sum_rows work in double: it
** is cheap at these widths (once per row, against a GEMM per row) and removes every
** question of cancellation.
*/
#include "kernels.h"

#if defined(__x86_64__) || defined(_M_X64)

#if !defined(__AVX512F__) || !defined(__AVX512DQ__) || !defined(__FMA__)
#error "kernels_avx512.c must be compiled with -mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma"
#endif

#include <immintrin.h>
#include <math.h>

typedef __m512 VF;
typedef __mmask16 VM;
#define vf_set1(c) _mm512_set1_ps(c)
#define vf_add _mm512_add_ps
#define vf_sub _mm512_sub_ps
#define vf_mul _mm512_mul_ps
#define vf_div _mm512_div_ps
#define vf_min _mm512_min_ps
#define vf_max _mm512_max_ps
#define vf_fmadd _mm512_fmadd_ps
#define vf_abs _mm512_abs_ps
#define vf_round(x) _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define vf_ldexp _mm512_scalef_ps
#define vf_lt(a, b) _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ)
#define vf_select(m, a, b) _mm512_mask_blend_ps(m, b, a)
#include "simd_math.h"

#define W 16

/* Mask of the first min(n, W) lanes. */
static inline __mmask16 lanes(size_t n) {
  return n >= W ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}

/* x + residual for the lanes in m, exactly, as two double vectors; other lanes are 0. */
static inline void load_sum(const float *x, const float *res, __mmask16 m,
                            __m512d *lo, __m512d *hi) {
  __m512 a = _mm512_maskz_loadu_ps(m, x);
  *lo = _mm512_cvtps_pd(_mm512_castps512_ps256(a));
  *hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(a, 1));
  if (res) {
    __m512 b = _mm512_maskz_loadu_ps(m, res);
    *lo = _mm512_add_pd(*lo, _mm512_cvtps_pd(_mm512_castps512_ps256(b)));
    *hi = _mm512_add_pd(*hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(b, 1)));
  }
}

static void gelu(float *x, size_t n) {
  size_t i = 0;
  for (; i + W <= n; i += W) _mm512_storeu_ps(x + i, vf_gelu(_mm512_loadu_ps(x + i)));
  if (i < n) {
    __mmask16 m = lanes(n - i);
    _mm512_mask_storeu_ps(x + i, m, vf_gelu(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

/* softmax(scale*x) is computed as exp(scale*(x - xr)) / sum, xr the max of x (the min
** when scale < 0): the largest term is then exactly exp(0) = 1, so a row of equal
** values, however large (a fully masked row of -1e30), stays uniform. The exponent
** carries one rounding (of x - xr); the product's goes into exp (vf_exp_mul). */
static void softmax_rows(float *x, size_t rows, size_t cols, size_t ld, float scale) {
  const __m512 s = _mm512_set1_ps(scale);
  for (size_t r = 0; r < rows; r++) {
    float *p = x + r * ld;
    size_t i = 0;
    __m512 mx = _mm512_set1_ps(-INFINITY), mn = _mm512_set1_ps(INFINITY);
    for (; i + W <= cols; i += W) {
      __m512 v = _mm512_loadu_ps(p + i);
      mx = _mm512_max_ps(mx, v);
      mn = _mm512_min_ps(mn, v);
    }
    __mmask16 m = lanes(cols - i);
    if (m) {
      __m512 v = _mm512_maskz_loadu_ps(m, p + i);
      mx = _mm512_mask_max_ps(mx, m, mx, v);
      mn = _mm512_mask_min_ps(mn, m, mn, v);
    }
    const __m512 xr = _mm512_set1_ps(scale < 0 ? _mm512_reduce_min_ps(mn)
                                               : _mm512_reduce_max_ps(mx));

    __m512 sum = _mm512_setzero_ps();
    for (i = 0; i + W <= cols; i += W) {
      __m512 e = vf_exp_mul(s, _mm512_sub_ps(_mm512_loadu_ps(p + i), xr));
      _mm512_storeu_ps(p + i, e);
      sum = _mm512_add_ps(sum, e);
    }
    if (m) {
      __m512 e = vf_exp_mul(s, _mm512_sub_ps(_mm512_maskz_loadu_ps(m, p + i), xr));
      _mm512_mask_storeu_ps(p + i, m, e);
      sum = _mm512_mask_add_ps(sum, m, sum, e);
    }

    const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
    for (i = 0; i + W <= cols; i += W)
      _mm512_storeu_ps(p + i, _mm512_mul_ps(_mm512_loadu_ps(p + i), inv));
    if (m) _mm512_mask_storeu_ps(p + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, p + i), inv));
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
    __m512d lo, hi, acc_lo = _mm512_setzero_pd(), acc_hi = acc_lo;
    for (size_t i = 0; i < dim; i += W) {
      load_sum(p + i, q ? q + i : NULL, lanes(dim - i), &lo, &hi);
      acc_lo = _mm512_add_pd(acc_lo, lo);
      acc_hi = _mm512_add_pd(acc_hi, hi);
    }
    const double sum = _mm512_reduce_add_pd(_mm512_add_pd(acc_lo, acc_hi));
    const __m512d mean = _mm512_set1_pd(sum / (double)dim);

    /* two-pass variance: no cancellation */
    acc_lo = acc_hi = _mm512_setzero_pd();
    for (size_t i = 0; i < dim; i += W) {
      __mmask16 m = lanes(dim - i);
      load_sum(p + i, q ? q + i : NULL, m, &lo, &hi);
      lo = _mm512_maskz_sub_pd((__mmask8)m, lo, mean);
      hi = _mm512_maskz_sub_pd((__mmask8)(m >> 8), hi, mean);
      acc_lo = _mm512_fmadd_pd(lo, lo, acc_lo);
      acc_hi = _mm512_fmadd_pd(hi, hi, acc_hi);
    }
    const double var = _mm512_reduce_add_pd(_mm512_add_pd(acc_lo, acc_hi)) / (double)dim;
    const __m512d inv = _mm512_set1_pd(1.0 / sqrt(var + (double)eps));

    for (size_t i = 0; i < dim; i += W) {
      __mmask16 m = lanes(dim - i);
      load_sum(p + i, q ? q + i : NULL, m, &lo, &hi);
      __m256 ylo = _mm512_cvtpd_ps(_mm512_mul_pd(_mm512_sub_pd(lo, mean), inv));
      __m256 yhi = _mm512_cvtpd_ps(_mm512_mul_pd(_mm512_sub_pd(hi, mean), inv));
      __m512 y = _mm512_insertf32x8(_mm512_castps256_ps512(ylo), yhi, 1);
      __m512 g = _mm512_maskz_loadu_ps(m, gamma + i), b = _mm512_maskz_loadu_ps(m, beta + i);
      _mm512_mask_storeu_ps(p + i, m, _mm512_fmadd_ps(y, g, b));
    }
  }
}

/* Column blocks of 16, summed down the rows in double, in row order. */
static void sum_rows(const float *x, size_t rows, size_t dim, float *out) {
  for (size_t d = 0; d < dim; d += W) {
    __mmask16 m = lanes(dim - d);
    __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
    for (size_t r = 0; r < rows; r++) {
      __m512 v = _mm512_maskz_loadu_ps(m, x + r * dim + d);
      lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
      hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
    }
    __m512 s = _mm512_castps256_ps512(_mm512_cvtpd_ps(lo));
    _mm512_mask_storeu_ps(out + d, m, _mm512_insertf32x8(s, _mm512_cvtpd_ps(hi), 1));
  }
}

static void max_rows(const float *x, size_t rows, size_t dim, float *out) {
  for (size_t d = 0; d < dim; d += W) {
    __mmask16 m = lanes(dim - d);
    __m512 v = _mm512_maskz_loadu_ps(m, x + d);
    for (size_t r = 1; r < rows; r++)
      v = _mm512_max_ps(v, _mm512_maskz_loadu_ps(m, x + r * dim + d));
    _mm512_mask_storeu_ps(out + d, m, v);
  }
}

static void scale(float *x, size_t n, float s) {
  const __m512 vs = _mm512_set1_ps(s);
  size_t i = 0;
  for (; i + W <= n; i += W) _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), vs));
  if (i < n) {
    __mmask16 m = lanes(n - i);
    _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), vs));
  }
}

/* Four accumulators hide the FMA latency. */
static float dot(const float *x, const float *y, size_t n) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), a0);
    a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + W), _mm512_loadu_ps(y + i + W), a1);
    a2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 2 * W), _mm512_loadu_ps(y + i + 2 * W), a2);
    a3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 3 * W), _mm512_loadu_ps(y + i + 3 * W), a3);
  }
  for (; i + W <= n; i += W)
    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), a0);
  if (i < n) {
    __mmask16 m = lanes(n - i);
    a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i), a1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

static const sl_kernels avx512 = {
  SL_ISA_AVX512, "avx512", gelu, softmax_rows, add_layernorm, sum_rows, max_rows, scale, dot,
};
const sl_kernels *const sl_kernels_avx512_table = &avx512;

#else
const sl_kernels *const sl_kernels_avx512_table = 0;
#endif
