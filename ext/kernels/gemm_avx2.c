/*
** gemm_avx2.c: the AVX2 + FMA versions of gemm.h's kernels (the Makefile compiles this
** file with -mavx2 -mfma -mf16c; gemm.c fills them in when dispatch.c says the YMM state
** is usable). They also serve AVX-512 CPUs without VNNI or AVX512_BF16.
**
** The products have the shape of gemm_avx512.c's (read the comments there): dot products
** over K with W read in place (float32's last step of K loads masked), blocks of 4 rows of X by 2 rows of W (8 accumulators of 8
** lanes, which with their operands fill the 16 YMM registers), one transposing reduction
** per block.
** int8: vpmaddubsw multiplies unsigned by signed bytes but saturates its pair sums
**   (255 * 127 * 2 > 32767), so it is fed |xq| and wq * sign(xq) instead of xu and wq:
**   |xq| <= 128 and |wq| <= 127 give pair sums of at most 32512, exact. vpmaddwd by 1
**   widens them to int32. This forms sum xq*wq directly, the same integer as
**   sum xu*wq - 128 * wsum, so wsum is not read. (wq = -128 would break vpsignb; the
**   header keeps wq in [-127, 127].)
** bf16: each 32-bit word holds two bf16 values; masking off the low half gives the upper
**   one as a float, shifting left by 16 the lower one, so two FMAs consume 16 values
**   with no unpacking. Products of two bf16 are exact in float; only the sums round.
** quantize_rows and to_bf16 follow gemm_isa.h exactly; AVX2 has no byte- or word-masked
** store, so a partial last vector goes through a small buffer.
*/
#include "gemm_isa.h"

#if defined(__x86_64__) || defined(_M_X64)

#if !defined(__AVX2__) || !defined(__FMA__)
#error "gemm_avx2.c must be compiled with -mavx2 -mfma"
#endif

#include <immintrin.h>

#define W 8
#define MR SL_GEMM_MR      /* rows of X per block */
#define NR 2               /* rows of W (output columns) per block */
#define L1_BUDGET 16384    /* bytes of X kept in L1 across the column blocks */

#define INLINE static inline __attribute__((always_inline))

/* Mask of the first min(n, W) lanes. */
static const int32_t lanes_lut[2 * W] = {-1, -1, -1, -1, -1, -1, -1, -1};
static inline __m256i lanes(size_t n) {
  return _mm256_loadu_si256((const __m256i *)(lanes_lut + W - (n < W ? n : W)));
}

/* ---- quantize_rows, to_bf16 ---------------------------------------------------------- */

/* 8 int32 in [0, 255] -> 8 bytes in the low quarter. */
static inline __m128i pack_bytes(__m256i v) {
  __m256i w = _mm256_permute4x64_epi64(_mm256_packus_epi32(v, v), 0xd8);
  return _mm_packus_epi16(_mm256_castsi256_si128(w), _mm256_castsi256_si128(w));
}

static void quantize_rows(const float *x, size_t ldx, size_t M, size_t K, uint8_t *xu,
                          size_t ldq, float *xs) {
  const __m256i absmask = _mm256_set1_epi32(0x7fffffff), zp = _mm256_set1_epi32(128);
  const __m256 lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
  for (size_t m = 0; m < M; m++) {
    const float *r = x + m * ldx;
    uint8_t *q = xu + m * ldq;
    /* |x| as integers: NaN patterns are above inf, so a NaN wins the max */
    __m256i amax = _mm256_setzero_si256();
    for (size_t k = 0; k < K; k += W) {
      __m256i v = _mm256_maskload_epi32((const int *)(r + k), lanes(K - k));
      amax = _mm256_max_epi32(amax, _mm256_and_si256(v, absmask));
    }
    __m128i a4 = _mm_max_epi32(_mm256_castsi256_si128(amax), _mm256_extracti128_si256(amax, 1));
    a4 = _mm_max_epi32(a4, _mm_shuffle_epi32(a4, 0x4e));
    a4 = _mm_max_epi32(a4, _mm_shuffle_epi32(a4, 0xb1));
    const float a = _mm_cvtss_f32(_mm_castsi128_ps(a4));
    xs[m] = a / 127.0f;
    const __m256 inv = _mm256_set1_ps(a > 0.0f ? 127.0f / a : 0.0f);
    for (size_t k = 0; k < K; k += W) {
      __m256 v = _mm256_mul_ps(_mm256_maskload_ps(r + k, lanes(K - k)), inv);
      v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q)); /* NaN -> 0 */
      v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
      __m128i b = pack_bytes(_mm256_add_epi32(_mm256_cvtps_epi32(v), zp)); /* nearest even */
      if (K - k >= W) {
        _mm_storel_epi64((__m128i *)(q + k), b);
      } else {
        uint8_t tmp[16];
        _mm_storeu_si128((__m128i *)tmp, b);
        memcpy(q + k, tmp, K - k);
      }
    }
    memset(q + K, 128, ldq - K);
  }
}

static void to_bf16(const float *x, size_t n, uint16_t *out) {
  const __m256i absmask = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
  const __m256i half = _mm256_set1_epi32(0x7fff), one = _mm256_set1_epi32(1);
  const __m256i quiet = _mm256_set1_epi32(0x40);
  for (size_t i = 0; i < n; i += W) {
    __m256i u = _mm256_maskload_epi32((const int *)(x + i), lanes(n - i));
    __m256i top = _mm256_srli_epi32(u, 16);
    __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, absmask), inf);
    __m256i r = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(half, _mm256_and_si256(top, one))), 16);
    r = _mm256_blendv_epi8(r, _mm256_or_si256(top, quiet), nan);
    __m128i h = _mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0xd8));
    if (n - i >= W) {
      _mm_storeu_si128((__m128i *)(out + i), h);
    } else {
      uint16_t tmp[W];
      _mm_storeu_si128((__m128i *)tmp, h);
      memcpy(out + i, tmp, (n - i) * sizeof *out);
    }
  }
}

/* ---- the products -------------------------------------------------------------------- */

/* acc[i][j] (8 partial sums each) -> one vector whose lane 2i+j is the sum of acc[i][j]:
** two rounds of horizontal adds leave rows 0-1 in g01 and rows 2-3 in g23, each with
** its two 128-bit halves still to be added. */
INLINE __m256i reduce4x2(int fp, __m256i acc[MR][NR]) {
#define HADD(a, b) (fp ? _mm256_castps_si256(_mm256_hadd_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b))) \
                       : _mm256_hadd_epi32(a, b))
  __m256i g01 = HADD(HADD(acc[0][0], acc[0][1]), HADD(acc[1][0], acc[1][1]));
  __m256i g23 = HADD(HADD(acc[2][0], acc[2][1]), HADD(acc[3][0], acc[3][1]));
#undef HADD
  __m256i a = _mm256_permute2x128_si256(g01, g23, 0x20), b = _mm256_permute2x128_si256(g01, g23, 0x31);
  if (!fp) return _mm256_add_epi32(a, b);
  return _mm256_castps_si256(_mm256_add_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b)));
}

/* The per-column values v[0..nr) repeated (lane 2i+j = v[j]); 0 past nr. */
INLINE __m256 col_pattern(const float *v, size_t nr) {
  __m128 p = nr > 1 ? _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)v)) : _mm_load_ss(v);
  return _mm256_castpd_ps(_mm256_broadcastsd_pd(_mm_castps_pd(p)));
}

/* The per-row values xs[0..mr) spread over pairs (lane 2i+j = xs[i]). */
INLINE __m256 row_pattern(const float *xs, size_t mr) {
  __m128 p = _mm_maskload_ps(xs, _mm256_castsi256_si128(lanes(mr)));
  return _mm256_permutevar8x32_ps(_mm256_castps128_ps256(p), _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3));
}

/* Stores pair i of v to row i of y, columns [0, nr). */
INLINE void store_rows(float *y, size_t ldy, size_t mr, size_t nr, __m256 v) {
  float t[W];
  _mm256_storeu_ps(t, v);
  for (size_t i = 0; i < mr; i++) {
    y[i * ldy] = t[2 * i];
    if (nr > 1) y[i * ldy + 1] = t[2 * i + 1];
  }
}

/* The inner loop of both products over 32 bytes a step, then the reduction; instantiated
** per row count for the reasons given in gemm_avx512.c, with the same asm pinning the
** accumulators. STEP(acc, xv, wv) is one row's step against one column's. */
/* One 32-byte step of K (LOAD reads 32 bytes of a row; the tail's masks off the rest). */
#define DOT_STEP(STEP, PREP_X, PREP_W, LOAD)                                                 \
  do {                                                                                       \
    __m256i w0 = LOAD((const char *)w[0] + k), w1 = LOAD((const char *)w[1] + k);            \
    PREP_W(w0, w0a, w0b);                                                                    \
    PREP_W(w1, w1a, w1b);                                                                    \
    _Pragma("GCC unroll 4") for (size_t i = 0; i < mr; i++) {                                \
      __m256i xv = LOAD(x + i * ldx + k);                                                    \
      PREP_X(xv, xa, xb);                                                                    \
      acc[i][0] = STEP(acc[i][0], xa, xb, w0a, w0b);                                         \
      acc[i][1] = STEP(acc[i][1], xa, xb, w1a, w1b);                                         \
    }                                                                                        \
  } while (0)
#define LOAD_FULL(p) _mm256_loadu_si256((const __m256i *)(p))
#define LOAD_TAIL(p) _mm256_maskload_epi32((const int *)(p), tail)

#define DEFINE_DOT(name, STEP, PREP_X, PREP_W, fp)                                           \
  INLINE __m256i name(const size_t mr, const char *x, size_t ldx, const void *const w[NR],   \
                      size_t bytes) {                                                        \
    __m256i acc[MR][NR];                                                                     \
    size_t k = 0;                                                                            \
    _Pragma("GCC unroll 4") for (int i = 0; i < MR; i++)                                     \
      _Pragma("GCC unroll 2") for (int j = 0; j < NR; j++) acc[i][j] = _mm256_setzero_si256(); \
    for (; k + 32 <= bytes; k += 32) DOT_STEP(STEP, PREP_X, PREP_W, LOAD_FULL);              \
    if (k < bytes) { /* float32 only: the int8 and bf16 rows are padded */                   \
      const __m256i tail = lanes((bytes - k) / 4);                                           \
      DOT_STEP(STEP, PREP_X, PREP_W, LOAD_TAIL);                                             \
    }                                                                                        \
    _Pragma("GCC unroll 4") for (int i = 0; i < MR; i++)                                     \
      _Pragma("GCC unroll 2") for (int j = 0; j < NR; j++) __asm__("" : "+x"(acc[i][j]));    \
    return reduce4x2(fp, acc);                                                               \
  }                                                                                          \
  static __attribute__((noinline)) __m256i name##_1(const char *x, size_t ldx,               \
                                                    const void *const w[NR], size_t bytes) { \
    return name(1, x, ldx, w, bytes);                                                        \
  }                                                                                          \
  static __attribute__((noinline)) __m256i name##_2(const char *x, size_t ldx,               \
                                                    const void *const w[NR], size_t bytes) { \
    return name(2, x, ldx, w, bytes);                                                        \
  }                                                                                          \
  static __attribute__((noinline)) __m256i name##_3(const char *x, size_t ldx,               \
                                                    const void *const w[NR], size_t bytes) { \
    return name(3, x, ldx, w, bytes);                                                        \
  }                                                                                          \
  static __attribute__((noinline)) __m256i name##_4(const char *x, size_t ldx,               \
                                                    const void *const w[NR], size_t bytes) { \
    return name(4, x, ldx, w, bytes);                                                        \
  }

/* int8: xa = |xq| (unsigned), xb = xq; the weights go in as they are. */
#define I8_PREP_X(xv, xa, xb)                                       \
  __m256i xb = _mm256_xor_si256(xv, _mm256_set1_epi8((char)0x80)); \
  __m256i xa = _mm256_abs_epi8(xb)
#define I8_PREP_W(wv, wa, wb) \
  __m256i wa = wv, wb = wv;   \
  (void)wb
#define I8_STEP(acc, xa, xb, wa, wb)                                                     \
  _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(xa, _mm256_sign_epi8(wa, xb)), \
                                          _mm256_set1_epi16(1)))
DEFINE_DOT(dot_i8, I8_STEP, I8_PREP_X, I8_PREP_W, 0)

/* float32: one FMA per 8 products. */
#define F32_PREP(v, a, b)                 \
  __m256 a = _mm256_castsi256_ps(v), b = a; \
  (void)b
#define F32_STEP(acc, xa, xb, wa, wb) \
  _mm256_castps_si256(_mm256_fmadd_ps(xa, wa, _mm256_castsi256_ps(acc)))
DEFINE_DOT(dot_f32, F32_STEP, F32_PREP, F32_PREP, 1)

/* bf16: the upper and the lower value of each word as floats. */
#define BF16_SPLIT(v, hi, lo)                                                              \
  __m256 hi = _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32((int)0xffff0000))); \
  __m256 lo = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16))
#define BF16_STEP(acc, xh, xl, wh, wl) \
  _mm256_castps_si256(_mm256_fmadd_ps(xl, wl, _mm256_fmadd_ps(xh, wh, _mm256_castsi256_ps(acc))))
DEFINE_DOT(dot_bf16, BF16_STEP, BF16_SPLIT, BF16_SPLIT, 1)

#define DOT(name, mr, x, ldx, w, bytes)                                      \
  ((mr) == 1   ? name##_1(x, ldx, w, bytes)                                 \
   : (mr) == 2 ? name##_2(x, ldx, w, bytes)                                 \
   : (mr) == 3 ? name##_3(x, ldx, w, bytes) : name##_4(x, ldx, w, bytes))

/* Rows [0, mr) by columns [n, n+nr): the sums, then gemm_isa.h's epilogue (wsum is not
** needed: the sums are already sum xq*wq). */
INLINE void block_i8(const size_t mr, const uint8_t *x, size_t ldq, const float *xs,
                     const void *const w[NR], const float *ws, const float *bias, size_t K,
                     float *y, size_t ldy, size_t nr) {
  __m256i s = DOT(dot_i8, mr, (const char *)x, ldq, w, K);
  __m256 scale = _mm256_mul_ps(row_pattern(xs, mr), col_pattern(ws, nr));
  __m256 b = bias ? col_pattern(bias, nr) : _mm256_setzero_ps();
  store_rows(y, ldy, mr, nr, _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(s), scale), b));
}

static void gemm_i8(const uint8_t *xu, size_t ldq, const float *xs, size_t M, const int8_t *wq,
                    const float *ws, const int32_t *wsum, const float *bias, size_t n0, size_t n1,
                    size_t K, float *y, size_t ldy) {
  (void)wsum;
#define BLOCK_I8(mr) \
  block_i8(mr, xu + m * ldq, ldq, xs + m, w, ws + n, bias ? bias + n : NULL, K, y + m * ldy + n, ldy, nr)
  SL_GEMM_FOR_BLOCKS(NR, L1_BUDGET, 1, wq, K, K, M, n0, n1, BLOCK_I8);
#undef BLOCK_I8
}

INLINE void block_f32(const size_t mr, const float *x, size_t ldx, const void *const w[NR],
                      const float *bias, size_t K, float *y, size_t ldy, size_t nr) {
  __m256 s = _mm256_castsi256_ps(DOT(dot_f32, mr, (const char *)x, 4 * ldx, w, 4 * K));
  __m256 b = bias ? col_pattern(bias, nr) : _mm256_setzero_ps();
  store_rows(y, ldy, mr, nr, _mm256_add_ps(s, b));
}

static void gemm_f32(const float *x, size_t ldx, size_t M, const float *wf, size_t ldw,
                     const float *bias, size_t n0, size_t n1, size_t K, float *y, size_t ldy) {
#define BLOCK_F32(mr) \
  block_f32(mr, x + m * ldx, ldx, w, bias ? bias + n : NULL, K, y + m * ldy + n, ldy, nr)
  SL_GEMM_FOR_BLOCKS(NR, L1_BUDGET, 4, wf, ldw, K, M, n0, n1, BLOCK_F32);
#undef BLOCK_F32
}

INLINE void block_bf16(const size_t mr, const uint16_t *x, size_t ldx, const void *const w[NR],
                       const float *bias, size_t K, float *y, size_t ldy, size_t nr) {
  __m256 s = _mm256_castsi256_ps(DOT(dot_bf16, mr, (const char *)x, 2 * ldx, w, 2 * K));
  __m256 b = bias ? col_pattern(bias, nr) : _mm256_setzero_ps();
  store_rows(y, ldy, mr, nr, _mm256_add_ps(s, b));
}

static void gemm_bf16(const uint16_t *xb, size_t ldx, size_t M, const uint16_t *wb,
                      const float *bias, size_t n0, size_t n1, size_t K, float *y, size_t ldy) {
#define BLOCK_BF16(mr) \
  block_bf16(mr, xb + m * ldx, ldx, w, bias ? bias + n : NULL, K, y + m * ldy + n, ldy, nr)
  SL_GEMM_FOR_BLOCKS(NR, L1_BUDGET, 2, wb, K, K, M, n0, n1, BLOCK_BF16);
#undef BLOCK_BF16
}

void sl_gemm_fill_avx2(sl_gemm_kernels *t) {
  t->f32_name = t->i8_name = t->bf16_name = "avx2";
  t->gemm_f32 = gemm_f32;
  t->quantize_rows = quantize_rows;
  t->gemm_i8 = gemm_i8;
  t->to_bf16 = to_bf16;
  t->gemm_bf16 = gemm_bf16;
}

#else
void sl_gemm_fill_avx2(sl_gemm_kernels *t) { (void)t; }
#endif
