/*
** kernels_avx2.c: the AVX2 + FMA kernel table (the Makefile compiles this file with
** -mavx2 -mfma -mf16c; dispatch.c hands it out only when cpuid and the OS say the YMM
** state is usable).
**
** 8 lanes; row tails use maskload/maskstore, so no kernel has a scalar loop and results
** do not depend on where a vector boundary falls. Same algorithms as kernels_avx512.c
** (read the comments there); the math (exp, GELU) is in simd_math.h.
*/
#include "kernels.h"

#if defined(__x86_64__) || defined(_M_X64)

#if !defined(__AVX2__) || !defined(__FMA__)
#error "kernels_avx2.c must be compiled with -mavx2 -mfma"
#endif

#include <immintrin.h>
#include <math.h>
#include <stdint.h>

/* y * 2^n in two steps, each factor a normal float, so that subnormal results are
** rounded once and exp(-100) is not flushed to 0 (AVX2 has no scalef). */
static inline __m256 ldexp_avx2(__m256 y, __m256 n) {
  __m256i ni = _mm256_cvtps_epi32(n);
  __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
  const __m256i bias = _mm256_set1_epi32(127);
  __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(y, s1), s2);
}

typedef __m256 VF;
typedef __m256 VM;
#define vf_set1(c) _mm256_set1_ps(c)
#define vf_add _mm256_add_ps
#define vf_sub _mm256_sub_ps
#define vf_mul _mm256_mul_ps
#define vf_div _mm256_div_ps
#define vf_min _mm256_min_ps
#define vf_max _mm256_max_ps
#define vf_fmadd _mm256_fmadd_ps
#define vf_abs(x) _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x)
#define vf_round(x) _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define vf_ldexp ldexp_avx2
#define vf_lt(a, b) _mm256_cmp_ps(a, b, _CMP_LT_OQ)
#define vf_select(m, a, b) _mm256_blendv_ps(b, a, m)
#include "simd_math.h"

#define W 8

/* Mask of the first min(n, W) lanes. */
static const int32_t lanes_lut[2 * W] = {-1, -1, -1, -1, -1, -1, -1, -1};
static inline __m256i lanes(size_t n) {
  return _mm256_loadu_si256((const __m256i *)(lanes_lut + W - (n < W ? n : W)));
}

static inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}
static inline float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)));
}
static inline float hmin(__m256 v) {
  __m128 s = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_min_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_min_ss(s, _mm_movehdup_ps(s)));
}
static inline double hsum_pd(__m256d v) {
  __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

/* x + residual for the lanes in m, exactly, as two double vectors; other lanes are 0. */
static inline void load_sum(const float *x, const float *res, __m256i m, __m256d *lo, __m256d *hi) {
  __m256 a = _mm256_maskload_ps(x, m);
  *lo = _mm256_cvtps_pd(_mm256_castps256_ps128(a));
  *hi = _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1));
  if (res) {
    __m256 b = _mm256_maskload_ps(res, m);
    *lo = _mm256_add_pd(*lo, _mm256_cvtps_pd(_mm256_castps256_ps128(b)));
    *hi = _mm256_add_pd(*hi, _mm256_cvtps_pd(_mm256_extractf128_ps(b, 1)));
  }
}

static void gelu(float *x, size_t n) {
  size_t i = 0;
  for (; i + W <= n; i += W) _mm256_storeu_ps(x + i, vf_gelu(_mm256_loadu_ps(x + i)));
  if (i < n) {
    __m256i m = lanes(n - i);
    _mm256_maskstore_ps(x + i, m, vf_gelu(_mm256_maskload_ps(x + i, m)));
  }
}

static void softmax_rows(float *x, size_t rows, size_t cols, size_t ld, float scale) {
  const __m256 s = _mm256_set1_ps(scale);
  const __m256i m = lanes(cols % W);
  const __m256 mf = _mm256_castsi256_ps(m);
  const size_t nv = cols - cols % W;
  for (size_t r = 0; r < rows; r++) {
    float *p = x + r * ld;
    size_t i = 0;
    __m256 mx = _mm256_set1_ps(-INFINITY), mn = _mm256_set1_ps(INFINITY);
    for (; i < nv; i += W) {
      __m256 v = _mm256_loadu_ps(p + i);
      mx = _mm256_max_ps(mx, v);
      mn = _mm256_min_ps(mn, v);
    }
    if (i < cols) {
      __m256 v = _mm256_maskload_ps(p + i, m);
      mx = _mm256_max_ps(mx, _mm256_blendv_ps(mx, v, mf));
      mn = _mm256_min_ps(mn, _mm256_blendv_ps(mn, v, mf));
    }
    const __m256 xr = _mm256_set1_ps(scale < 0 ? hmin(mn) : hmax(mx));

    __m256 sum = _mm256_setzero_ps();
    for (i = 0; i < nv; i += W) {
      __m256 e = vf_exp_mul(s, _mm256_sub_ps(_mm256_loadu_ps(p + i), xr));
      _mm256_storeu_ps(p + i, e);
      sum = _mm256_add_ps(sum, e);
    }
    if (i < cols) {
      __m256 e = vf_exp_mul(s, _mm256_sub_ps(_mm256_maskload_ps(p + i, m), xr));
      _mm256_maskstore_ps(p + i, m, e);
      sum = _mm256_add_ps(sum, _mm256_and_ps(e, mf));
    }

    const __m256 inv = _mm256_set1_ps(1.0f / hsum(sum));
    for (i = 0; i < nv; i += W) _mm256_storeu_ps(p + i, _mm256_mul_ps(_mm256_loadu_ps(p + i), inv));
    if (i < cols) _mm256_maskstore_ps(p + i, m, _mm256_mul_ps(_mm256_maskload_ps(p + i, m), inv));
  }
}

static void add_layernorm(float *x, const float *residual, size_t rows, size_t dim,
                          const float *gamma, const float *beta, float eps) {
  for (size_t r = 0; r < rows; r++) {
    float *p = x + r * dim;
    const float *q = residual ? residual + r * dim : NULL;
    __m256d lo, hi, acc_lo = _mm256_setzero_pd(), acc_hi = acc_lo;
    for (size_t i = 0; i < dim; i += W) {
      load_sum(p + i, q ? q + i : NULL, lanes(dim - i), &lo, &hi);
      acc_lo = _mm256_add_pd(acc_lo, lo);
      acc_hi = _mm256_add_pd(acc_hi, hi);
    }
    const __m256d mean = _mm256_set1_pd(hsum_pd(_mm256_add_pd(acc_lo, acc_hi)) / (double)dim);

    acc_lo = acc_hi = _mm256_setzero_pd();
    for (size_t i = 0; i < dim; i += W) {
      __m256i m = lanes(dim - i);
      load_sum(p + i, q ? q + i : NULL, m, &lo, &hi);
      /* lanes past the row hold 0, not the mean: mask their deviation out */
      __m256d mlo = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(m)));
      __m256d mhi = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_extracti128_si256(m, 1)));
      lo = _mm256_and_pd(_mm256_sub_pd(lo, mean), mlo);
      hi = _mm256_and_pd(_mm256_sub_pd(hi, mean), mhi);
      acc_lo = _mm256_fmadd_pd(lo, lo, acc_lo);
      acc_hi = _mm256_fmadd_pd(hi, hi, acc_hi);
    }
    const double var = hsum_pd(_mm256_add_pd(acc_lo, acc_hi)) / (double)dim;
    const __m256d inv = _mm256_set1_pd(1.0 / sqrt(var + (double)eps));

    for (size_t i = 0; i < dim; i += W) {
      __m256i m = lanes(dim - i);
      load_sum(p + i, q ? q + i : NULL, m, &lo, &hi);
      __m128 ylo = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_sub_pd(lo, mean), inv));
      __m128 yhi = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_sub_pd(hi, mean), inv));
      __m256 y = _mm256_insertf128_ps(_mm256_castps128_ps256(ylo), yhi, 1);
      y = _mm256_fmadd_ps(y, _mm256_maskload_ps(gamma + i, m), _mm256_maskload_ps(beta + i, m));
      if (dim - i >= W) _mm256_storeu_ps(p + i, y);
      else _mm256_maskstore_ps(p + i, m, y);
    }
  }
}

static void sum_rows(const float *x, size_t rows, size_t dim, float *out) {
  for (size_t d = 0; d < dim; d += W) {
    __m256i m = lanes(dim - d);
    __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
    for (size_t r = 0; r < rows; r++) {
      __m256 v = _mm256_maskload_ps(x + r * dim + d, m);
      lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
      hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    }
    __m256 s = _mm256_castps128_ps256(_mm256_cvtpd_ps(lo));
    _mm256_maskstore_ps(out + d, m, _mm256_insertf128_ps(s, _mm256_cvtpd_ps(hi), 1));
  }
}

static void max_rows(const float *x, size_t rows, size_t dim, float *out) {
  for (size_t d = 0; d < dim; d += W) {
    __m256i m = lanes(dim - d);
    __m256 v = _mm256_maskload_ps(x + d, m);
    for (size_t r = 1; r < rows; r++) v = _mm256_max_ps(v, _mm256_maskload_ps(x + r * dim + d, m));
    _mm256_maskstore_ps(out + d, m, v);
  }
}

static void scale(float *x, size_t n, float s) {
  const __m256 vs = _mm256_set1_ps(s);
  size_t i = 0;
  for (; i + W <= n; i += W) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vs));
  if (i < n) {
    __m256i m = lanes(n - i);
    _mm256_maskstore_ps(x + i, m, _mm256_mul_ps(_mm256_maskload_ps(x + i, m), vs));
  }
}

static float dot(const float *x, const float *y, size_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + W), _mm256_loadu_ps(y + i + W), a1);
    a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 2 * W), _mm256_loadu_ps(y + i + 2 * W), a2);
    a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 3 * W), _mm256_loadu_ps(y + i + 3 * W), a3);
  }
  for (; i + W <= n; i += W)
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
  if (i < n) {
    __m256i m = lanes(n - i);
    a1 = _mm256_fmadd_ps(_mm256_maskload_ps(x + i, m), _mm256_maskload_ps(y + i, m), a1);
  }
  return hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
}

static const sl_kernels avx2 = {
  SL_ISA_AVX2, "avx2", gelu, softmax_rows, add_layernorm, sum_rows, max_rows, scale, dot,
};
const sl_kernels *const sl_kernels_avx2_table = &avx2;

#else
const sl_kernels *const sl_kernels_avx2_table = 0;
#endif
