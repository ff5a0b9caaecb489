/*
** simd.h: the one vocabulary the SIMD kernels are written in, mapped to AVX2 (8 float
** lanes, 32-byte vectors) or AVX-512 (16 lanes, 64 bytes). Each kernel is written once,
** in kernels_simd.h, distance_simd.h and gemm_simd.h, and compiled once per level by a
** two-line translation unit (kernels_avx2.c, kernels_avx512.c, ...) that defines
** SL_SIMD_AVX512 to 0 or 1 and includes the body; the Makefile gives files named
** *_avx2.c / *_avx512.c their ISA flags.
**
** Each level's mapping keeps the instructions that level has always used (masked tails
** by maskload/maskstore on AVX2, by opmasks on AVX-512; its own horizontal reductions),
** so every level gives the same bits as before the kernels were shared. Sums that reach an
** embedding follow order.h's order, the same at every level (scalar included). What only one level has (VNNI vpdpbusd,
** vdpbf16ps, VPOPCNTDQ; AVX2's vpmaddubsw and nibble popcount) stays in small #if
** SL_SIMD_AVX512 blocks of the bodies.
**
**   SL_SIMD_X86            1 on x86-64 (the rest is defined only there), else 0
**   SL_SIMD_ISA, _NAME     SL_ISA_AVX2 / "avx2" or SL_ISA_AVX512 / "avx512"
**   W, SL_SIMD_BYTES       float (int32) lanes and bytes per vector
**   VF VD VI VIH           float, double (W/2 lanes), integer vector, integer half
**   VM                     mask of W lanes (an __m256i of 0/-1 lanes on AVX2, __mmask16)
**   lanes(n)               mask of the first min(n, W) lanes
**   vf_*                   float lanes: loads, stores (vf_maskz_loadu gives 0 outside the
**                          mask), arithmetic, vf_mask_add/max/min (lanes outside m keep a),
**                          reductions, and simd_math.h's vocabulary (see there);
**                          vf_reduce_add and vd_reduce_add fold the halves (order.h) at
**                          both levels
**   vd_*                   double lanes; vf_lo_pd/vf_hi_pd widen the halves of a VF,
**                          vf_from_pd narrows two back; vd_maskz_sub_lo/hi(m, a, b) is
**                          a - b in the lanes of that half of m, 0 elsewhere
**   vi_*                   integer lanes (suffix: element width); vi_load_bytes(p, n)
**                          reads min(n, SL_SIMD_BYTES) bytes, 0 past them;
**                          vi_store_i32_u8/u16(p, n, v) store the first min(n, W) int32
**                          lanes narrowed (values in range); vi_pack_i32x4_i8 packs four
**                          int32 vectors in [-128, 127] into one of bytes, in order
*/
#ifndef SEMLITE_SIMD_H
#define SEMLITE_SIMD_H

#if !defined(SL_SIMD_AVX512)
#error "define SL_SIMD_AVX512 to 0 or 1 before including simd.h"
#endif

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"

#if SL_SIMD_AVX512
#define SL_SIMD_ISA SL_ISA_AVX512
#define SL_SIMD_NAME "avx512"
#else
#define SL_SIMD_ISA SL_ISA_AVX2
#define SL_SIMD_NAME "avx2"
#endif

#if defined(__x86_64__) || defined(_M_X64)
#define SL_SIMD_X86 1
#else
#define SL_SIMD_X86 0
#endif

#if SL_SIMD_X86
#include <immintrin.h>

#if SL_SIMD_AVX512 /* ---------------------------------------------------------- AVX-512 */

#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512DQ__) || \
    !defined(__AVX512VL__) || !defined(__FMA__)
#error "*_avx512.c must be compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl -mfma"
#endif

typedef __m512 VF;
typedef __m512d VD;
typedef __m512i VI;
typedef __m256i VIH;
typedef __mmask16 VM;
#define W 16
#define SL_SIMD_BYTES 64

static inline VM lanes(size_t n) { return n >= W ? (VM)0xffff : (VM)((1u << n) - 1); }

#define vf_zero() _mm512_setzero_ps()
#define vf_set1(c) _mm512_set1_ps(c)
#define vf_loadu(p) _mm512_loadu_ps(p)
#define vf_storeu(p, v) _mm512_storeu_ps(p, v)
#define vf_maskz_loadu(m, p) _mm512_maskz_loadu_ps(m, p)
#define vf_mask_storeu(p, m, v) _mm512_mask_storeu_ps(p, m, v)
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
#define vf_mask_add(a, m, b) _mm512_mask_add_ps(a, m, a, b)
#define vf_mask_max(a, m, b) _mm512_mask_max_ps(a, m, a, b)
#define vf_mask_min(a, m, b) _mm512_mask_min_ps(a, m, a, b)
/* Sums fold the halves, order.h's order, written out (what GCC's _mm512_reduce_add_ps
** does, which no compiler promises). */
static inline float sl_hsum512(__m512 v) {
  __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}
static inline double sl_hsum512_pd(__m512d v) {
  __m256d h = _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
  __m128d s = _mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
  return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}
#define vf_reduce_add sl_hsum512
#define vf_reduce_max _mm512_reduce_max_ps
#define vf_reduce_min _mm512_reduce_min_ps
#define vf_cvt_i32 _mm512_cvtepi32_ps               /* int32 -> float */
#define vf_to_i32 _mm512_cvtps_epi32                /* float -> int32, nearest even */
#define vf_as_vi _mm512_castps_si512
#define vi_as_vf _mm512_castsi512_ps
static inline VF vf_zero_nan(VF v) { return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v); }

#define vd_zero() _mm512_setzero_pd()
#define vd_set1(c) _mm512_set1_pd(c)
#define vd_add _mm512_add_pd
#define vd_sub _mm512_sub_pd
#define vd_mul _mm512_mul_pd
#define vd_fmadd _mm512_fmadd_pd
#define vd_reduce_add sl_hsum512_pd
#define vf_lo_pd(v) _mm512_cvtps_pd(_mm512_castps512_ps256(v))
#define vf_hi_pd(v) _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1))
#define vf_from_pd(lo, hi) _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(lo)), _mm512_cvtpd_ps(hi), 1)
#define vd_maskz_sub_lo(m, a, b) _mm512_maskz_sub_pd((__mmask8)(m), a, b)
#define vd_maskz_sub_hi(m, a, b) _mm512_maskz_sub_pd((__mmask8)((m) >> 8), a, b)

#define vi_zero() _mm512_setzero_si512()
#define vi_set1_i8(c) _mm512_set1_epi8(c)
#define vi_set1_i16(c) _mm512_set1_epi16(c)
#define vi_set1_i32(c) _mm512_set1_epi32(c)
#define vi_loadu(p) _mm512_loadu_si512(p)
#define vi_storeu(p, v) _mm512_storeu_si512(p, v)
#define vi_maskz_load_i32(m, p) _mm512_maskz_loadu_epi32(m, p)
static inline VI vi_load_bytes(const void *p, size_t n) {
  return _mm512_maskz_loadu_epi8(n >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << n) - 1, p);
}
#define vi_and _mm512_and_si512
#define vi_or _mm512_or_si512
#define vi_xor _mm512_xor_si512
#define vi_add_i32 _mm512_add_epi32
#define vi_add_i64 _mm512_add_epi64
#define vi_sub_i16 _mm512_sub_epi16
#define vi_sub_i32 _mm512_sub_epi32
#define vi_max_i32 _mm512_max_epi32
#define vi_madd_i16 _mm512_madd_epi16
#define vi_sad_u8 _mm512_sad_epu8
#define vi_srli_i32 _mm512_srli_epi32
#define vi_slli_i32 _mm512_slli_epi32
#define vi_lo _mm512_castsi512_si256
#define vi_hi(v) _mm512_extracti64x4_epi64(v, 1)
#define vi_cvt_i8_i16 _mm512_cvtepi8_epi16          /* VIH of bytes -> VI of int16 */
#define vi_cvt_i32_i64 _mm512_cvtepi32_epi64        /* VIH of int32 -> VI of int64 */
#define vi_reduce_add_i32 _mm512_reduce_add_epi32
#define vi_reduce_add_i64 _mm512_reduce_add_epi64
#define vi_reduce_max_i32 _mm512_reduce_max_epi32
#define vi_cmpgt_i32 _mm512_cmpgt_epi32_mask
#define vi_mask_or(src, m, a, b) _mm512_mask_or_epi32(src, m, a, b)
#define vi_store_i32_u8(p, n, v) _mm512_mask_cvtepi32_storeu_epi8(p, lanes(n), v)
#define vi_store_i32_u16(p, n, v) _mm512_mask_cvtepi32_storeu_epi16(p, lanes(n), v)
/* The packs interleave 128-bit lanes; the permutation puts the 4 x 16 bytes in order. */
static inline VI vi_pack_i32x4_i8(VI a, VI b, VI c, VI d) {
  const VI order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return _mm512_permutexvar_epi32(order, _mm512_packs_epi16(_mm512_packs_epi32(a, b),
                                                            _mm512_packs_epi32(c, d)));
}

#else /* ----------------------------------------------------------------------------- AVX2 */

#if !defined(__AVX2__) || !defined(__FMA__)
#error "*_avx2.c must be compiled with -mavx2 -mfma"
#endif

typedef __m256 VF;
typedef __m256d VD;
typedef __m256i VI;
typedef __m128i VIH;
typedef __m256i VM;
#define W 8
#define SL_SIMD_BYTES 32

static const int32_t sl_lanes_lut[2 * W] = {-1, -1, -1, -1, -1, -1, -1, -1};
static inline VM lanes(size_t n) {
  return _mm256_loadu_si256((const __m256i *)(sl_lanes_lut + W - (n < W ? n : W)));
}

/* y * 2^n in two steps, each factor a normal float, so that subnormal results are
** rounded once and exp(-100) is not flushed to 0 (AVX2 has no scalef). */
static inline VF sl_ldexp_avx2(VF y, VF n) {
  __m256i ni = _mm256_cvtps_epi32(n);
  __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
  const __m256i bias = _mm256_set1_epi32(127);
  __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(y, s1), s2);
}

static inline float sl_hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}
static inline float sl_hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)));
}
static inline float sl_hmin(__m256 v) {
  __m128 s = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_min_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_min_ss(s, _mm_movehdup_ps(s)));
}
static inline double sl_hsum_pd(__m256d v) {
  __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

#define vf_zero() _mm256_setzero_ps()
#define vf_set1(c) _mm256_set1_ps(c)
#define vf_loadu(p) _mm256_loadu_ps(p)
#define vf_storeu(p, v) _mm256_storeu_ps(p, v)
#define vf_maskz_loadu(m, p) _mm256_maskload_ps(p, m)
#define vf_mask_storeu(p, m, v) _mm256_maskstore_ps(p, m, v)
#define vf_add _mm256_add_ps
#define vf_sub _mm256_sub_ps
#define vf_mul _mm256_mul_ps
#define vf_div _mm256_div_ps
#define vf_min _mm256_min_ps
#define vf_max _mm256_max_ps
#define vf_fmadd _mm256_fmadd_ps
#define vf_abs(x) _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x)
#define vf_round(x) _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define vf_ldexp sl_ldexp_avx2
#define vf_lt(a, b) _mm256_castps_si256(_mm256_cmp_ps(a, b, _CMP_LT_OQ))
#define vf_select(m, a, b) _mm256_blendv_ps(b, a, _mm256_castsi256_ps(m))
static inline VF vf_mask_add(VF a, VM m, VF b) { return _mm256_add_ps(a, _mm256_and_ps(b, _mm256_castsi256_ps(m))); }
static inline VF vf_mask_max(VF a, VM m, VF b) { return _mm256_max_ps(a, _mm256_blendv_ps(a, b, _mm256_castsi256_ps(m))); }
static inline VF vf_mask_min(VF a, VM m, VF b) { return _mm256_min_ps(a, _mm256_blendv_ps(a, b, _mm256_castsi256_ps(m))); }
#define vf_reduce_add sl_hsum
#define vf_reduce_max sl_hmax
#define vf_reduce_min sl_hmin
#define vf_cvt_i32 _mm256_cvtepi32_ps
#define vf_to_i32 _mm256_cvtps_epi32
#define vf_as_vi _mm256_castps_si256
#define vi_as_vf _mm256_castsi256_ps
static inline VF vf_zero_nan(VF v) { return _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q)); }

#define vd_zero() _mm256_setzero_pd()
#define vd_set1(c) _mm256_set1_pd(c)
#define vd_add _mm256_add_pd
#define vd_sub _mm256_sub_pd
#define vd_mul _mm256_mul_pd
#define vd_fmadd _mm256_fmadd_pd
#define vd_reduce_add sl_hsum_pd
#define vf_lo_pd(v) _mm256_cvtps_pd(_mm256_castps256_ps128(v))
#define vf_hi_pd(v) _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1))
#define vf_from_pd(lo, hi) _mm256_insertf128_ps(_mm256_castps128_ps256(_mm256_cvtpd_ps(lo)), _mm256_cvtpd_ps(hi), 1)
#define vd_maskz_sub_lo(m, a, b) \
  _mm256_and_pd(_mm256_sub_pd(a, b), _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(m))))
#define vd_maskz_sub_hi(m, a, b) \
  _mm256_and_pd(_mm256_sub_pd(a, b), _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_extracti128_si256(m, 1))))

#define vi_zero() _mm256_setzero_si256()
#define vi_set1_i8(c) _mm256_set1_epi8(c)
#define vi_set1_i16(c) _mm256_set1_epi16(c)
#define vi_set1_i32(c) _mm256_set1_epi32(c)
#define vi_loadu(p) _mm256_loadu_si256((const __m256i *)(p))
#define vi_storeu(p, v) _mm256_storeu_si256((__m256i *)(p), v)
#define vi_maskz_load_i32(m, p) _mm256_maskload_epi32((const int *)(p), m)
/* AVX2 has no byte-masked load: a partial block is copied into zeros. */
static inline VI vi_load_bytes(const void *p, size_t n) {
  unsigned char buf[32] = {0};
  if (n >= 32) return _mm256_loadu_si256((const __m256i *)p);
  memcpy(buf, p, n);
  return _mm256_loadu_si256((const __m256i *)buf);
}
#define vi_and _mm256_and_si256
#define vi_or _mm256_or_si256
#define vi_xor _mm256_xor_si256
#define vi_add_i32 _mm256_add_epi32
#define vi_add_i64 _mm256_add_epi64
#define vi_sub_i16 _mm256_sub_epi16
#define vi_sub_i32 _mm256_sub_epi32
#define vi_max_i32 _mm256_max_epi32
#define vi_madd_i16 _mm256_madd_epi16
#define vi_sad_u8 _mm256_sad_epu8
#define vi_srli_i32 _mm256_srli_epi32
#define vi_slli_i32 _mm256_slli_epi32
#define vi_lo _mm256_castsi256_si128
#define vi_hi(v) _mm256_extracti128_si256(v, 1)
#define vi_cvt_i8_i16 _mm256_cvtepi8_epi16
#define vi_cvt_i32_i64 _mm256_cvtepi32_epi64
static inline int64_t vi_reduce_add_i64(__m256i v) {
  __m128i s = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  return _mm_cvtsi128_si64(_mm_add_epi64(s, _mm_unpackhi_epi64(s, s)));
}
static inline int32_t vi_reduce_max_i32(__m256i v) {
  __m128i a4 = _mm_max_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  a4 = _mm_max_epi32(a4, _mm_shuffle_epi32(a4, 0x4e));
  a4 = _mm_max_epi32(a4, _mm_shuffle_epi32(a4, 0xb1));
  return _mm_cvtsi128_si32(a4);
}
#define vi_cmpgt_i32 _mm256_cmpgt_epi32
#define vi_mask_or(src, m, a, b) _mm256_blendv_epi8(src, _mm256_or_si256(a, b), m)
/* The first `bytes` bytes of v to p: AVX2 has no byte- or word-masked store, so a
** partial vector goes through a buffer. */
static inline void sl_store_head(void *p, __m128i v, size_t bytes) {
  uint8_t tmp[16];
  _mm_storeu_si128((__m128i *)tmp, v);
  memcpy(p, tmp, bytes);
}
static inline void vi_store_i32_u8(uint8_t *p, size_t n, VI v) {
  __m256i w = _mm256_permute4x64_epi64(_mm256_packus_epi32(v, v), 0xd8);
  __m128i b = _mm_packus_epi16(_mm256_castsi256_si128(w), _mm256_castsi256_si128(w));
  if (n >= W) _mm_storel_epi64((__m128i *)p, b);
  else sl_store_head(p, b, n);
}
static inline void vi_store_i32_u16(uint16_t *p, size_t n, VI v) {
  __m128i h = _mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_packus_epi32(v, v), 0xd8));
  if (n >= W) _mm_storeu_si128((__m128i *)p, h);
  else sl_store_head(p, h, n * sizeof *p);
}
/* The packs interleave 128-bit lanes; the permutation puts the 4 x 8 bytes in order. */
static inline VI vi_pack_i32x4_i8(VI a, VI b, VI c, VI d) {
  const VI order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  return _mm256_permutevar8x32_epi32(_mm256_packs_epi16(_mm256_packs_epi32(a, b),
                                                        _mm256_packs_epi32(c, d)), order);
}

#endif /* SL_SIMD_AVX512 */
#endif /* SL_SIMD_X86 */
#endif
