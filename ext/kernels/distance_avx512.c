/*
** distance_avx512.c: the AVX-512 distance functions (F, BW, VL, DQ; the Makefile
** compiles this file with those flags, and distance.c fills them in only when
** dispatch.c's cpuid and XCR0 checks pass).
**
** The same algorithms as distance_avx2.c (read the comments there) on 16 float lanes
** and 64-byte blocks; AVX-512 BW's byte-masked loads replace the zero-padded copy of the
** tail. Hamming uses VPOPCNTDQ, an extension not every AVX-512 CPU has (Skylake-X lacks
** it), so it is compiled for that one function and filled in only when cpuid reports
** it; otherwise the AVX2 nibble-lookup version stays in the table.
*/
#include "distance_isa.h"

#if defined(__x86_64__) || defined(_M_X64)

#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__FMA__)
#error "distance_avx512.c must be compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma"
#endif

#include <cpuid.h>
#include <immintrin.h>
#include <stdint.h>

#define W 16

static inline __mmask16 lanes(size_t n) {
  return n >= W ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}
static inline __mmask64 bytes_mask(size_t n) {
  return n >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << n) - 1;
}

/* ---- float32 ---- */

static inline __m512 f32_step(sl_metric metric, __m512 acc, __m512 a, __m512 b) {
  switch (metric) {
  case SL_METRIC_L2: {
    __m512 d = _mm512_sub_ps(a, b);
    return _mm512_fmadd_ps(d, d, acc);
  }
  case SL_METRIC_L1:
    return _mm512_add_ps(acc, _mm512_abs_ps(_mm512_sub_ps(a, b)));
  default:
    return _mm512_fmadd_ps(a, b, acc);
  }
}

static inline float f32_sum(sl_metric metric, const float *x, const float *y, size_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  size_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    s0 = f32_step(metric, s0, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i));
    s1 = f32_step(metric, s1, _mm512_loadu_ps(x + i + W), _mm512_loadu_ps(y + i + W));
    s2 = f32_step(metric, s2, _mm512_loadu_ps(x + i + 2 * W), _mm512_loadu_ps(y + i + 2 * W));
    s3 = f32_step(metric, s3, _mm512_loadu_ps(x + i + 3 * W), _mm512_loadu_ps(y + i + 3 * W));
  }
  for (; i + W <= n; i += W) s0 = f32_step(metric, s0, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i));
  if (i < n) {
    __mmask16 m = lanes(n - i);
    s1 = f32_step(metric, s1, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static float f32_l2(const void *x, const void *y, size_t n) {
  return sqrtf(f32_sum(SL_METRIC_L2, x, y, n));
}
static float f32_l1(const void *x, const void *y, size_t n) {
  return f32_sum(SL_METRIC_L1, x, y, n);
}
static float f32_dot(const void *x, const void *y, size_t n) {
  return -f32_sum(SL_METRIC_DOT, x, y, n);
}

static float f32_cosine(const void *x, const void *y, size_t n) {
  const float *a = x, *b = y;
  __m512 xy0 = _mm512_setzero_ps(), xx0 = xy0, yy0 = xy0, xy1 = xy0, xx1 = xy0, yy1 = xy0;
  size_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    __m512 u = _mm512_loadu_ps(a + i), v = _mm512_loadu_ps(b + i);
    __m512 u1 = _mm512_loadu_ps(a + i + W), v1 = _mm512_loadu_ps(b + i + W);
    xy0 = _mm512_fmadd_ps(u, v, xy0);
    xx0 = _mm512_fmadd_ps(u, u, xx0);
    yy0 = _mm512_fmadd_ps(v, v, yy0);
    xy1 = _mm512_fmadd_ps(u1, v1, xy1);
    xx1 = _mm512_fmadd_ps(u1, u1, xx1);
    yy1 = _mm512_fmadd_ps(v1, v1, yy1);
  }
  for (; i < n; i += W) { /* at most two more blocks; masked loads give 0 past the end */
    __mmask16 m = lanes(n - i);
    __m512 u = _mm512_maskz_loadu_ps(m, a + i), v = _mm512_maskz_loadu_ps(m, b + i);
    xy0 = _mm512_fmadd_ps(u, v, xy0);
    xx0 = _mm512_fmadd_ps(u, u, xx0);
    yy0 = _mm512_fmadd_ps(v, v, yy0);
  }
  return sl_cosine_finish(_mm512_reduce_add_ps(_mm512_add_ps(xy0, xy1)),
                          _mm512_reduce_add_ps(_mm512_add_ps(xx0, xx1)),
                          _mm512_reduce_add_ps(_mm512_add_ps(yy0, yy1)));
}

/* ---- int8 ---- */

static inline __m512i load_i8(const void *p, size_t n) {
  return _mm512_maskz_loadu_epi8(bytes_mask(n), p);
}

static inline __m512i madd_i8(__m512i a, __m512i b) {
  __m512i lo = _mm512_madd_epi16(_mm512_cvtepi8_epi16(_mm512_castsi512_si256(a)),
                                 _mm512_cvtepi8_epi16(_mm512_castsi512_si256(b)));
  __m512i hi = _mm512_madd_epi16(_mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64(a, 1)),
                                 _mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64(b, 1)));
  return _mm512_add_epi32(lo, hi);
}

static inline __m512i sqdiff_i8(__m512i a, __m512i b) {
  __m512i lo = _mm512_sub_epi16(_mm512_cvtepi8_epi16(_mm512_castsi512_si256(a)),
                                _mm512_cvtepi8_epi16(_mm512_castsi512_si256(b)));
  __m512i hi = _mm512_sub_epi16(_mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64(a, 1)),
                                _mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64(b, 1)));
  return _mm512_add_epi32(_mm512_madd_epi16(lo, lo), _mm512_madd_epi16(hi, hi));
}

/* int32 lanes widened and added into 64-bit lanes. */
static inline __m512i add_epi32_to_64(__m512i acc, __m512i v) {
  acc = _mm512_add_epi64(acc, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(v)));
  return _mm512_add_epi64(acc, _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(v, 1)));
}

/* An int32 lane gains at most 4 * 255^2 per 64-byte block; flushed every BLOCKS. */
#define BLOCKS 1024

static float i8_l2(const void *x, const void *y, size_t n) {
  const unsigned char *a = x, *b = y;
  __m512i total = _mm512_setzero_si512();
  for (size_t i = 0; i < n;) {
    __m512i acc = _mm512_setzero_si512();
    for (size_t k = 0; k < BLOCKS && i < n; k++, i += 64)
      acc = _mm512_add_epi32(acc, sqdiff_i8(load_i8(a + i, n - i), load_i8(b + i, n - i)));
    total = add_epi32_to_64(total, acc);
  }
  return (float)sqrt((double)_mm512_reduce_add_epi64(total));
}

static float i8_dot(const void *x, const void *y, size_t n) {
  const unsigned char *a = x, *b = y;
  __m512i total = _mm512_setzero_si512();
  for (size_t i = 0; i < n;) {
    __m512i acc = _mm512_setzero_si512();
    for (size_t k = 0; k < BLOCKS && i < n; k++, i += 64)
      acc = _mm512_add_epi32(acc, madd_i8(load_i8(a + i, n - i), load_i8(b + i, n - i)));
    total = add_epi32_to_64(total, acc);
  }
  return (float)-_mm512_reduce_add_epi64(total);
}

/* -(q . x) of count vectors at once with VNNI, as i8_dot gives each (exact integers):
** vpdpbusd multiplies unsigned by signed bytes, so x goes in as x ^ 0x80 = x + 128
** against the signed query and 128 * sum(q) comes off at the end. Four vectors share
** each load of the query and keep four dependency chains in flight. An int32 lane
** gains at most 4 * 255 * 128 per 64 bytes: exact up to 4,100 blocks (n = 262,000). */
#define X_U8(p, k, n) _mm512_xor_si512(load_i8((p) + (k), (n) - (k)), _mm512_set1_epi8((char)0x80))

static __attribute__((target("avx512vnni"))) void i8_dot_many(const void *q, const void *base,
                                                             size_t count, size_t n, float *out) {
  const signed char *qs = q;
  const unsigned char *x = base;
  int64_t qsum = 0;
  size_t i = 0;
  for (size_t k = 0; k < n; k++) qsum += qs[k];
  for (; i + 4 <= count; i += 4) {
    const unsigned char *x0 = x + i * n, *x1 = x0 + n, *x2 = x1 + n, *x3 = x2 + n;
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t k = 0; k < n; k += 64) {
      __m512i qv = load_i8(qs + k, n - k);
      a0 = _mm512_dpbusd_epi32(a0, X_U8(x0, k, n), qv);
      a1 = _mm512_dpbusd_epi32(a1, X_U8(x1, k, n), qv);
      a2 = _mm512_dpbusd_epi32(a2, X_U8(x2, k, n), qv);
      a3 = _mm512_dpbusd_epi32(a3, X_U8(x3, k, n), qv);
    }
    out[i] = (float)-((int64_t)_mm512_reduce_add_epi32(a0) - 128 * qsum);
    out[i + 1] = (float)-((int64_t)_mm512_reduce_add_epi32(a1) - 128 * qsum);
    out[i + 2] = (float)-((int64_t)_mm512_reduce_add_epi32(a2) - 128 * qsum);
    out[i + 3] = (float)-((int64_t)_mm512_reduce_add_epi32(a3) - 128 * qsum);
  }
  for (; i < count; i++) {
    __m512i a = _mm512_setzero_si512();
    for (size_t k = 0; k < n; k += 64) a = _mm512_dpbusd_epi32(a, X_U8(x + i * n, k, n), load_i8(qs + k, n - k));
    out[i] = (float)-((int64_t)_mm512_reduce_add_epi32(a) - 128 * qsum);
  }
}

static float i8_cosine(const void *x, const void *y, size_t n) {
  const unsigned char *a = x, *b = y;
  __m512i txy = _mm512_setzero_si512(), txx = txy, tyy = txy;
  for (size_t i = 0; i < n;) {
    __m512i xy = _mm512_setzero_si512(), xx = xy, yy = xy;
    for (size_t k = 0; k < BLOCKS && i < n; k++, i += 64) {
      __m512i u = load_i8(a + i, n - i), v = load_i8(b + i, n - i);
      xy = _mm512_add_epi32(xy, madd_i8(u, v));
      xx = _mm512_add_epi32(xx, madd_i8(u, u));
      yy = _mm512_add_epi32(yy, madd_i8(v, v));
    }
    txy = add_epi32_to_64(txy, xy);
    txx = add_epi32_to_64(txx, xx);
    tyy = add_epi32_to_64(tyy, yy);
  }
  return sl_cosine_finish((double)_mm512_reduce_add_epi64(txy), (double)_mm512_reduce_add_epi64(txx),
                          (double)_mm512_reduce_add_epi64(tyy));
}

static float i8_l1(const void *x, const void *y, size_t n) {
  const unsigned char *a = x, *b = y;
  const __m512i bias = _mm512_set1_epi8((char)0x80);
  __m512i acc = _mm512_setzero_si512();
  for (size_t i = 0; i < n; i += 64) {
    __m512i u = _mm512_xor_si512(load_i8(a + i, n - i), bias);
    __m512i v = _mm512_xor_si512(load_i8(b + i, n - i), bias);
    acc = _mm512_add_epi64(acc, _mm512_sad_epu8(u, v));
  }
  return (float)_mm512_reduce_add_epi64(acc);
}

/* ---- bit ---- */

__attribute__((target("avx512vpopcntdq")))
static float bit_hamming(const void *x, const void *y, size_t n) {
  const unsigned char *a = x, *b = y;
  const size_t bytes = n / 8;
  __m512i acc = _mm512_setzero_si512();
  for (size_t i = 0; i < bytes; i += 64) {
    __m512i d = _mm512_xor_si512(load_i8(a + i, bytes - i), load_i8(b + i, bytes - i));
    acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(d));
  }
  return (float)_mm512_reduce_add_epi64(acc);
}

static int cpu_has_vpopcntdq(void) {
  unsigned a, b, c, d;
  if (__get_cpuid_max(0, NULL) < 7) return 0;
  __cpuid_count(7, 0, a, b, c, d);
  return (c & bit_AVX512VPOPCNTDQ) != 0;
}

static int cpu_has_vnni(void) {
  unsigned a, b, c, d;
  if (__get_cpuid_max(0, NULL) < 7) return 0;
  __cpuid_count(7, 0, a, b, c, d);
  return (c >> 11) & 1; /* AVX512_VNNI */
}

void sl_distance_fill_avx512(sl_distance_table *t) {
  t->fn[SL_VEC_F32][SL_METRIC_L2] = f32_l2;
  t->fn[SL_VEC_F32][SL_METRIC_L1] = f32_l1;
  t->fn[SL_VEC_F32][SL_METRIC_COSINE] = f32_cosine;
  t->fn[SL_VEC_F32][SL_METRIC_DOT] = f32_dot;
  t->fn[SL_VEC_I8][SL_METRIC_L2] = i8_l2;
  t->fn[SL_VEC_I8][SL_METRIC_L1] = i8_l1;
  t->fn[SL_VEC_I8][SL_METRIC_COSINE] = i8_cosine;
  t->fn[SL_VEC_I8][SL_METRIC_DOT] = i8_dot;
  if (cpu_has_vpopcntdq()) t->fn[SL_VEC_BIT][SL_METRIC_HAMMING] = bit_hamming;
  if (cpu_has_vnni()) t->many[SL_VEC_I8][SL_METRIC_DOT] = i8_dot_many;
}

#else

void sl_distance_fill_avx512(sl_distance_table *t) { (void)t; }

#endif
