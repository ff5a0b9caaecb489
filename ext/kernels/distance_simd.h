/*
** distance_simd.h: the SIMD distance functions, written once in simd.h's vocabulary and
** compiled per level by distance_avx2.c and distance_avx512.c (used only when cpuid and
** the OS say the level's state is usable; distance.c fills them in over the level below).
**
** float32: four W-lane accumulators, so the adds of consecutive steps do not wait for
** each other, and a masked load for the tail (no scalar loop). The sum order differs
** from the scalar one, so results differ from it (and from sqlite-vec) by float
** rounding only: tests/test_vec.c bounds it against a double reference.
** int8: elements widened to int16 and multiplied in pairs into int32 lanes (vpmaddwd);
** |a-b| comes from vpsadbw on the bytes biased by 128, which sums it straight into 64-bit
** lanes. Sums are exact integers, as at every level. The last partial block reads zeros
** past the end (a byte-masked load on AVX-512, a zero-padded copy on AVX2), and zeros
** add nothing to any sum.
** bit: AVX2 counts 32 bytes at a time by nibble lookup (vpshufb), summed by vpsadbw.
** AVX-512 uses VPOPCNTDQ, an extension not every AVX-512 CPU has (Skylake-X lacks it),
** so it is compiled for that one function and filled in only when cpuid reports it;
** otherwise the AVX2 version stays in the table. Likewise the VNNI scan of many int8
** dot products (i8_dot_many).
**
** Defines distance_fill(t), which overwrites the entries this level implements (a
** no-op off x86).
*/
#include "distance_isa.h"
#include "simd.h"

#if SL_SIMD_X86

#include <stdint.h>
#include <string.h>

/* int32 lanes widened and added into 64-bit lanes. */
static inline VI add_epi32_to_64(VI acc, VI v) {
  acc = vi_add_i64(acc, vi_cvt_i32_i64(vi_lo(v)));
  return vi_add_i64(acc, vi_cvt_i32_i64(vi_hi(v)));
}

/* ---- float32 ---- */

/* One step of l2, l1 or dot; `metric` is a constant at every call, so each caller
** compiles to its own loop. */
static inline VF f32_step(sl_metric metric, VF acc, VF a, VF b) {
  switch (metric) {
  case SL_METRIC_L2: {
    VF d = vf_sub(a, b);
    return vf_fmadd(d, d, acc);
  }
  case SL_METRIC_L1:
    return vf_add(acc, vf_abs(vf_sub(a, b)));
  default:
    return vf_fmadd(a, b, acc);
  }
}

static inline float f32_sum(sl_metric metric, const float *x, const float *y, size_t n) {
  VF s0 = vf_zero(), s1 = s0, s2 = s0, s3 = s0;
  size_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    s0 = f32_step(metric, s0, vf_loadu(x + i), vf_loadu(y + i));
    s1 = f32_step(metric, s1, vf_loadu(x + i + W), vf_loadu(y + i + W));
    s2 = f32_step(metric, s2, vf_loadu(x + i + 2 * W), vf_loadu(y + i + 2 * W));
    s3 = f32_step(metric, s3, vf_loadu(x + i + 3 * W), vf_loadu(y + i + 3 * W));
  }
  for (; i + W <= n; i += W) s0 = f32_step(metric, s0, vf_loadu(x + i), vf_loadu(y + i));
  if (i < n) {
    VM m = lanes(n - i);
    s1 = f32_step(metric, s1, vf_maskz_loadu(m, x + i), vf_maskz_loadu(m, y + i));
  }
  return vf_reduce_add(vf_add(vf_add(s0, s1), vf_add(s2, s3)));
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
  VF xy0 = vf_zero(), xx0 = xy0, yy0 = xy0, xy1 = xy0, xx1 = xy0, yy1 = xy0;
  size_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    VF u = vf_loadu(a + i), v = vf_loadu(b + i);
    VF u1 = vf_loadu(a + i + W), v1 = vf_loadu(b + i + W);
    xy0 = vf_fmadd(u, v, xy0);
    xx0 = vf_fmadd(u, u, xx0);
    yy0 = vf_fmadd(v, v, yy0);
    xy1 = vf_fmadd(u1, v1, xy1);
    xx1 = vf_fmadd(u1, u1, xx1);
    yy1 = vf_fmadd(v1, v1, yy1);
  }
  for (; i < n; i += W) { /* at most two more blocks; masked loads give 0 past the end */
    VM m = lanes(n - i);
    VF u = vf_maskz_loadu(m, a + i), v = vf_maskz_loadu(m, b + i);
    xy0 = vf_fmadd(u, v, xy0);
    xx0 = vf_fmadd(u, u, xx0);
    yy0 = vf_fmadd(v, v, yy0);
  }
  return sl_cosine_finish(vf_reduce_add(vf_add(xy0, xy1)), vf_reduce_add(vf_add(xx0, xx1)),
                          vf_reduce_add(vf_add(yy0, yy1)));
}

/* ---- int8 ---- */

#define VB SL_SIMD_BYTES /* bytes per block */

/* The int16 products of pairs, as vpmaddwd, of two blocks widened from int8. */
static inline VI madd_i8(VI a, VI b) {
  VI lo = vi_madd_i16(vi_cvt_i8_i16(vi_lo(a)), vi_cvt_i8_i16(vi_lo(b)));
  VI hi = vi_madd_i16(vi_cvt_i8_i16(vi_hi(a)), vi_cvt_i8_i16(vi_hi(b)));
  return vi_add_i32(lo, hi);
}

/* Squares of a-b in pairs: the differences need 9 bits, so they are formed in int16. */
static inline VI sqdiff_i8(VI a, VI b) {
  VI lo = vi_sub_i16(vi_cvt_i8_i16(vi_lo(a)), vi_cvt_i8_i16(vi_lo(b)));
  VI hi = vi_sub_i16(vi_cvt_i8_i16(vi_hi(a)), vi_cvt_i8_i16(vi_hi(b)));
  return vi_add_i32(vi_madd_i16(lo, lo), vi_madd_i16(hi, hi));
}

/* An int32 lane gains at most 4 * 128^2 (or 4 * 255^2 for l2) per block; it is moved
** into 64-bit lanes every BLOCKS blocks, long before it could overflow. */
#define BLOCKS 1024

/* sum (a-b)^2 (l2) or sum a*b (dot); `metric` is a constant at every call. */
static inline int64_t i8_sum(sl_metric metric, const unsigned char *a, const unsigned char *b,
                             size_t n) {
  VI total = vi_zero();
  for (size_t i = 0; i < n;) {
    VI acc = vi_zero();
    for (size_t k = 0; k < BLOCKS && i < n; k++, i += VB) {
      VI u = vi_load_bytes(a + i, n - i), v = vi_load_bytes(b + i, n - i);
      acc = vi_add_i32(acc, metric == SL_METRIC_L2 ? sqdiff_i8(u, v) : madd_i8(u, v));
    }
    total = add_epi32_to_64(total, acc);
  }
  return vi_reduce_add_i64(total);
}

static float i8_l2(const void *x, const void *y, size_t n) {
  return (float)sqrt((double)i8_sum(SL_METRIC_L2, x, y, n));
}

static float i8_dot(const void *x, const void *y, size_t n) {
  return (float)-i8_sum(SL_METRIC_DOT, x, y, n);
}

static float i8_cosine(const void *x, const void *y, size_t n) {
  const unsigned char *a = x, *b = y;
  VI txy = vi_zero(), txx = txy, tyy = txy;
  for (size_t i = 0; i < n;) {
    VI xy = vi_zero(), xx = xy, yy = xy;
    for (size_t k = 0; k < BLOCKS && i < n; k++, i += VB) {
      VI u = vi_load_bytes(a + i, n - i), v = vi_load_bytes(b + i, n - i);
      xy = vi_add_i32(xy, madd_i8(u, v));
      xx = vi_add_i32(xx, madd_i8(u, u));
      yy = vi_add_i32(yy, madd_i8(v, v));
    }
    txy = add_epi32_to_64(txy, xy);
    txx = add_epi32_to_64(txx, xx);
    tyy = add_epi32_to_64(tyy, yy);
  }
  return sl_cosine_finish((double)vi_reduce_add_i64(txy), (double)vi_reduce_add_i64(txx),
                          (double)vi_reduce_add_i64(tyy));
}

/* |a-b| = |(a+128)-(b+128)| on unsigned bytes; flipping the top bit adds 128. */
static float i8_l1(const void *x, const void *y, size_t n) {
  const unsigned char *a = x, *b = y;
  const VI bias = vi_set1_i8((char)0x80);
  VI acc = vi_zero();
  for (size_t i = 0; i < n; i += VB) {
    /* the padding of a partial block is 0 in both, so it adds |0-0| after the flip too */
    VI u = vi_xor(vi_load_bytes(a + i, n - i), bias);
    VI v = vi_xor(vi_load_bytes(b + i, n - i), bias);
    acc = vi_add_i64(acc, vi_sad_u8(u, v));
  }
  return (float)vi_reduce_add_i64(acc);
}

#if SL_SIMD_AVX512
#include <cpuid.h>

/* -(q . x) of count vectors at once with VNNI, as i8_dot gives each (exact integers):
** vpdpbusd multiplies unsigned by signed bytes, so x goes in as x ^ 0x80 = x + 128
** against the signed query and 128 * sum(q) comes off at the end. Four vectors share
** each load of the query and keep four dependency chains in flight. An int32 lane
** gains at most 4 * 255 * 128 per 64 bytes: exact up to 4,100 blocks (n = 262,000). */
#define X_U8(p, k, n) _mm512_xor_si512(vi_load_bytes((p) + (k), (n) - (k)), _mm512_set1_epi8((char)0x80))

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
      __m512i qv = vi_load_bytes(qs + k, n - k);
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
    for (size_t k = 0; k < n; k += 64) a = _mm512_dpbusd_epi32(a, X_U8(x + i * n, k, n), vi_load_bytes(qs + k, n - k));
    out[i] = (float)-((int64_t)_mm512_reduce_add_epi32(a) - 128 * qsum);
  }
}

/* ---- bit ---- */

__attribute__((target("avx512vpopcntdq")))
static float bit_hamming(const void *x, const void *y, size_t n) {
  const unsigned char *a = x, *b = y;
  const size_t bytes = n / 8;
  __m512i acc = _mm512_setzero_si512();
  for (size_t i = 0; i < bytes; i += 64) {
    __m512i d = _mm512_xor_si512(vi_load_bytes(a + i, bytes - i), vi_load_bytes(b + i, bytes - i));
    acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(d));
  }
  return (float)_mm512_reduce_add_epi64(acc);
}

/* CPUID.(7,0):ECX[14] is AVX512_VPOPCNTDQ, ECX[11] AVX512_VNNI. */
static unsigned cpuid7_ecx(void) {
  unsigned a, b, c, d;
  if (__get_cpuid_max(0, NULL) < 7) return 0;
  __cpuid_count(7, 0, a, b, c, d);
  return c;
}

#else /* AVX2 */

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
  return (float)(vi_reduce_add_i64(acc) + rest);
}

#endif

static void distance_fill(sl_distance_table *t) {
  t->fn[SL_VEC_F32][SL_METRIC_L2] = f32_l2;
  t->fn[SL_VEC_F32][SL_METRIC_L1] = f32_l1;
  t->fn[SL_VEC_F32][SL_METRIC_COSINE] = f32_cosine;
  t->fn[SL_VEC_F32][SL_METRIC_DOT] = f32_dot;
  t->fn[SL_VEC_I8][SL_METRIC_L2] = i8_l2;
  t->fn[SL_VEC_I8][SL_METRIC_L1] = i8_l1;
  t->fn[SL_VEC_I8][SL_METRIC_COSINE] = i8_cosine;
  t->fn[SL_VEC_I8][SL_METRIC_DOT] = i8_dot;
#if SL_SIMD_AVX512
  const unsigned ecx = cpuid7_ecx();
  if (ecx & bit_AVX512VPOPCNTDQ) t->fn[SL_VEC_BIT][SL_METRIC_HAMMING] = bit_hamming;
  if ((ecx >> 11) & 1) /* AVX512_VNNI */ t->many[SL_VEC_I8][SL_METRIC_DOT] = i8_dot_many;
#else
  t->fn[SL_VEC_BIT][SL_METRIC_HAMMING] = bit_hamming;
#endif
}

#else
static void distance_fill(sl_distance_table *t) { (void)t; }
#endif
