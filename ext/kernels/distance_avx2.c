/*
** distance_avx2.c: the AVX2 + FMA distance functions (compiled with -mavx2 -mfma; used
** only when cpuid and the OS say the YMM state is usable).
**
** float32: four 8-lane accumulators, so the adds of consecutive steps do not wait for
** each other, and a masked load for the tail (no scalar loop). The sum order differs
** from the scalar one, so results differ from it (and from sqlite-vec) by float
** rounding only: tests/test_vec.c bounds it against a double reference.
** int8: elements widened to int16 and multiplied in pairs into int32 lanes (vpmaddwd);
** |a-b| comes from vpsadbw on the bytes biased by 128, which sums it straight into 64-bit
** lanes. Sums are exact integers, as at every level. AVX2 has no byte-masked load, so
** the last partial block is copied into a zeroed buffer (zeros add nothing to any sum).
** bit: popcount of 32 bytes at a time by nibble lookup (vpshufb), summed by vpsadbw.
*/
#include "distance_isa.h"

#if defined(__x86_64__) || defined(_M_X64)

#if !defined(__AVX2__) || !defined(__FMA__)
#error "distance_avx2.c must be compiled with -mavx2 -mfma"
#endif

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

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

static inline int64_t hsum_epi64(__m256i v) {
  __m128i s = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  return _mm_cvtsi128_si64(_mm_add_epi64(s, _mm_unpackhi_epi64(s, s)));
}

/* int32 lanes widened and added into 64-bit lanes. */
static inline __m256i add_epi32_to_64(__m256i acc, __m256i v) {
  acc = _mm256_add_epi64(acc, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(v)));
  return _mm256_add_epi64(acc, _mm256_cvtepi32_epi64(_mm256_extracti128_si256(v, 1)));
}

/* ---- float32 ---- */

/* One step of l2, l1 or dot; `metric` is a constant at every call, so each caller
** compiles to its own loop. */
static inline __m256 f32_step(sl_metric metric, __m256 acc, __m256 a, __m256 b) {
  switch (metric) {
  case SL_METRIC_L2: {
    __m256 d = _mm256_sub_ps(a, b);
    return _mm256_fmadd_ps(d, d, acc);
  }
  case SL_METRIC_L1:
    return _mm256_add_ps(acc, _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(a, b)));
  default:
    return _mm256_fmadd_ps(a, b, acc);
  }
}

static inline float f32_sum(sl_metric metric, const float *x, const float *y, size_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  size_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    s0 = f32_step(metric, s0, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i));
    s1 = f32_step(metric, s1, _mm256_loadu_ps(x + i + W), _mm256_loadu_ps(y + i + W));
    s2 = f32_step(metric, s2, _mm256_loadu_ps(x + i + 2 * W), _mm256_loadu_ps(y + i + 2 * W));
    s3 = f32_step(metric, s3, _mm256_loadu_ps(x + i + 3 * W), _mm256_loadu_ps(y + i + 3 * W));
  }
  for (; i + W <= n; i += W) s0 = f32_step(metric, s0, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i));
  if (i < n) {
    __m256i m = lanes(n - i);
    s1 = f32_step(metric, s1, _mm256_maskload_ps(x + i, m), _mm256_maskload_ps(y + i, m));
  }
  return hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
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
  __m256 xy0 = _mm256_setzero_ps(), xx0 = xy0, yy0 = xy0, xy1 = xy0, xx1 = xy0, yy1 = xy0;
  size_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    __m256 u = _mm256_loadu_ps(a + i), v = _mm256_loadu_ps(b + i);
    __m256 u1 = _mm256_loadu_ps(a + i + W), v1 = _mm256_loadu_ps(b + i + W);
    xy0 = _mm256_fmadd_ps(u, v, xy0);
    xx0 = _mm256_fmadd_ps(u, u, xx0);
    yy0 = _mm256_fmadd_ps(v, v, yy0);
    xy1 = _mm256_fmadd_ps(u1, v1, xy1);
    xx1 = _mm256_fmadd_ps(u1, u1, xx1);
    yy1 = _mm256_fmadd_ps(v1, v1, yy1);
  }
  for (; i < n; i += W) { /* at most two more blocks; masked loads give 0 past the end */
    __m256i m = lanes(n - i);
    __m256 u = _mm256_maskload_ps(a + i, m), v = _mm256_maskload_ps(b + i, m);
    xy0 = _mm256_fmadd_ps(u, v, xy0);
    xx0 = _mm256_fmadd_ps(u, u, xx0);
    yy0 = _mm256_fmadd_ps(v, v, yy0);
  }
  return sl_cosine_finish(hsum(_mm256_add_ps(xy0, xy1)), hsum(_mm256_add_ps(xx0, xx1)),
                          hsum(_mm256_add_ps(yy0, yy1)));
}

/* ---- int8 ---- */

/* 32 bytes at p, or the n < 32 bytes left copied into zeros. */
static inline __m256i load_i8(const void *p, size_t n) {
  unsigned char buf[32] = {0};
  if (n >= 32) return _mm256_loadu_si256((const __m256i *)p);
  memcpy(buf, p, n);
  return _mm256_loadu_si256((const __m256i *)buf);
}

/* The int16 products of pairs, as vpmaddwd, of two blocks widened from int8. */
static inline __m256i madd_i8(__m256i a, __m256i b) {
  __m256i lo = _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm256_castsi256_si128(a)),
                                 _mm256_cvtepi8_epi16(_mm256_castsi256_si128(b)));
  __m256i hi = _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm256_extracti128_si256(a, 1)),
                                 _mm256_cvtepi8_epi16(_mm256_extracti128_si256(b, 1)));
  return _mm256_add_epi32(lo, hi);
}

/* Squares of a-b in pairs: the differences need 9 bits, so they are formed in int16. */
static inline __m256i sqdiff_i8(__m256i a, __m256i b) {
  __m256i lo = _mm256_sub_epi16(_mm256_cvtepi8_epi16(_mm256_castsi256_si128(a)),
                                _mm256_cvtepi8_epi16(_mm256_castsi256_si128(b)));
  __m256i hi = _mm256_sub_epi16(_mm256_cvtepi8_epi16(_mm256_extracti128_si256(a, 1)),
                                _mm256_cvtepi8_epi16(_mm256_extracti128_si256(b, 1)));
  return _mm256_add_epi32(_mm256_madd_epi16(lo, lo), _mm256_madd_epi16(hi, hi));
}

/* An int32 lane gains at most 4 * 128^2 (or 4 * 255^2 for l2) per 32-byte block; it is
** moved into 64-bit lanes every BLOCKS blocks, long before it could overflow. */
#define BLOCKS 1024

static float i8_l2(const void *x, const void *y, size_t n) {
  const unsigned char *a = x, *b = y;
  __m256i total = _mm256_setzero_si256();
  for (size_t i = 0; i < n;) {
    __m256i acc = _mm256_setzero_si256();
    for (size_t k = 0; k < BLOCKS && i < n; k++, i += 32)
      acc = _mm256_add_epi32(acc, sqdiff_i8(load_i8(a + i, n - i), load_i8(b + i, n - i)));
    total = add_epi32_to_64(total, acc);
  }
  return (float)sqrt((double)hsum_epi64(total));
}

static float i8_dot(const void *x, const void *y, size_t n) {
  const unsigned char *a = x, *b = y;
  __m256i total = _mm256_setzero_si256();
  for (size_t i = 0; i < n;) {
    __m256i acc = _mm256_setzero_si256();
    for (size_t k = 0; k < BLOCKS && i < n; k++, i += 32)
      acc = _mm256_add_epi32(acc, madd_i8(load_i8(a + i, n - i), load_i8(b + i, n - i)));
    total = add_epi32_to_64(total, acc);
  }
  return (float)-hsum_epi64(total);
}

static float i8_cosine(const void *x, const void *y, size_t n) {
  const unsigned char *a = x, *b = y;
  __m256i txy = _mm256_setzero_si256(), txx = txy, tyy = txy;
  for (size_t i = 0; i < n;) {
    __m256i xy = _mm256_setzero_si256(), xx = xy, yy = xy;
    for (size_t k = 0; k < BLOCKS && i < n; k++, i += 32) {
      __m256i u = load_i8(a + i, n - i), v = load_i8(b + i, n - i);
      xy = _mm256_add_epi32(xy, madd_i8(u, v));
      xx = _mm256_add_epi32(xx, madd_i8(u, u));
      yy = _mm256_add_epi32(yy, madd_i8(v, v));
    }
    txy = add_epi32_to_64(txy, xy);
    txx = add_epi32_to_64(txx, xx);
    tyy = add_epi32_to_64(tyy, yy);
  }
  return sl_cosine_finish((double)hsum_epi64(txy), (double)hsum_epi64(txx), (double)hsum_epi64(tyy));
}

/* |a-b| = |(a+128)-(b+128)| on unsigned bytes; flipping the top bit adds 128. */
static float i8_l1(const void *x, const void *y, size_t n) {
  const unsigned char *a = x, *b = y;
  const __m256i bias = _mm256_set1_epi8((char)0x80);
  __m256i acc = _mm256_setzero_si256();
  for (size_t i = 0; i < n; i += 32) {
    /* the padding of a partial block is 0 in both, so it adds |0-0| after the flip too */
    __m256i u = _mm256_xor_si256(load_i8(a + i, n - i), bias);
    __m256i v = _mm256_xor_si256(load_i8(b + i, n - i), bias);
    acc = _mm256_add_epi64(acc, _mm256_sad_epu8(u, v));
  }
  return (float)hsum_epi64(acc);
}

/* ---- bit ---- */

/* Whole 32-byte blocks by nibble lookup; the rest, under 32 bytes, with popcnt (every
** AVX2 CPU has it, and -mavx2 lets the compiler use it) rather than a padded copy,
** which would cost more than the block itself at the usual 48 or 96 bytes. */
static float bit_hamming(const void *x, const void *y, size_t n) {
  const unsigned char *a = x, *b = y;
  const size_t bytes = n / 8;
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                       0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  __m256i acc = _mm256_setzero_si256();
  size_t i = 0;
  int64_t rest = 0;
  for (; i + 32 <= bytes; i += 32) {
    __m256i d = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(a + i)),
                                 _mm256_loadu_si256((const __m256i *)(b + i)));
    __m256i c = _mm256_add_epi8(_mm256_shuffle_epi8(lut, _mm256_and_si256(d, low4)),
                                _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(d, 4), low4)));
    acc = _mm256_add_epi64(acc, _mm256_sad_epu8(c, _mm256_setzero_si256()));
  }
  for (; i + 8 <= bytes; i += 8) {
    uint64_t u, v;
    memcpy(&u, a + i, 8);
    memcpy(&v, b + i, 8);
    rest += __builtin_popcountll(u ^ v);
  }
  for (; i < bytes; i++) rest += __builtin_popcount((unsigned)(a[i] ^ b[i]));
  return (float)(hsum_epi64(acc) + rest);
}

void sl_distance_fill_avx2(sl_distance_table *t) {
  t->fn[SL_VEC_F32][SL_METRIC_L2] = f32_l2;
  t->fn[SL_VEC_F32][SL_METRIC_L1] = f32_l1;
  t->fn[SL_VEC_F32][SL_METRIC_COSINE] = f32_cosine;
  t->fn[SL_VEC_F32][SL_METRIC_DOT] = f32_dot;
  t->fn[SL_VEC_I8][SL_METRIC_L2] = i8_l2;
  t->fn[SL_VEC_I8][SL_METRIC_L1] = i8_l1;
  t->fn[SL_VEC_I8][SL_METRIC_COSINE] = i8_cosine;
  t->fn[SL_VEC_I8][SL_METRIC_DOT] = i8_dot;
  t->fn[SL_VEC_BIT][SL_METRIC_HAMMING] = bit_hamming;
}

#else

void sl_distance_fill_avx2(sl_distance_table *t) { (void)t; }

#endif
