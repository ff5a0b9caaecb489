/*
** gemm_packed_avx512.c: the int8 and bf16 products on packed weights (gemm.h's panels),
** AVX-512 only: one element group of a row of X (4 bytes, or 2 bf16) broadcast to every
** lane and multiplied by one 64-byte step of a panel (16 output columns) with vpdpbusd
** (AVX512_VNNI) or vdpbf16ps (AVX512_BF16). Each lane then holds one output's sum from
** the first step to the last, so no horizontal reduction is left at the end (the in-place
** kernels of gemm_simd.h spend a large share of K = 384 on theirs).
**
** A block is PMR = 6 rows of X by PNB = 4 panels (64 columns): 24 accumulators and 4
** weight vectors of the 32 registers; per step 4 loads of W and 6 broadcasts of X feed
** 24 products (the empty asm after the loop keeps each accumulator in its register: as
** in gemm_simd.h, GCC 12 otherwise copies all of them to the stack on every step).
** Column blocks are the outer loop, so a block's panels (64 x K bytes of
** int8: 24 KB at K = 384) stay in L1 while every row of X passes them. Rows past M are
** not computed (each row count has its own instance), columns past n1 are masked off.
**
** int8 gives gemm_isa.h's bits exactly: the int32 sums are exact whatever their order,
** the epilogue is the same operations in the same order (sum - 128 wsum, then
** (float)acc * (xs * ws) + bias). bf16 sums each output in one float lane, step after
** step (vdpbf16ps rounding, denormals as zero); levels agree to rounding (gemm_isa.h).
**
** The Makefile compiles this file with the AVX-512 flags; each product carries its own
** extension as a target attribute and gemm.c fills it in only when cpuid reports it.
*/
#include "gemm_isa.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define PMR 6
#define PNB 4
#define STEP 64 /* bytes per step of a panel */
#define INLINE static inline __attribute__((always_inline))
#define VNNI __attribute__((target("avx512vnni")))
#define BF16 __attribute__((target("avx512bf16")))

static inline __mmask16 col_mask(size_t cols, size_t j) {
  const size_t c = cols > 16 * j ? cols - 16 * j : 0;
  return c >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << c) - 1);
}

/* acc[i][j] = sum over the steps of broadcast(x row i, step s) OP panel j's step s. */
#define PANEL_SUMS(OP, acc, mr, nb, x, ldx, wp, pstride, steps)                            \
  do {                                                                                      \
    _Pragma("GCC unroll 6") for (size_t i = 0; i < (mr); i++)                               \
      _Pragma("GCC unroll 4") for (size_t j = 0; j < (nb); j++) acc[i][j] = _mm512_setzero_si512(); \
    for (size_t s = 0; s < (steps); s++) {                                                  \
      __m512i w[PNB];                                                                       \
      _Pragma("GCC unroll 4") for (size_t j = 0; j < (nb); j++)                             \
        w[j] = _mm512_loadu_si512((const char *)(wp) + j * (pstride) + s * STEP);           \
      _Pragma("GCC unroll 6") for (size_t i = 0; i < (mr); i++) {                           \
        int32_t g;                                                                          \
        memcpy(&g, (const char *)(x) + i * (ldx) + 4 * s, 4);                               \
        const __m512i xb = _mm512_set1_epi32(g);                                            \
        _Pragma("GCC unroll 4") for (size_t j = 0; j < (nb); j++) acc[i][j] = OP(acc[i][j], xb, w[j]); \
      }                                                                                     \
    }                                                                                       \
    _Pragma("GCC unroll 6") for (size_t i = 0; i < (mr); i++)                               \
      _Pragma("GCC unroll 4") for (size_t j = 0; j < (nb); j++) __asm__("" : "+v"(acc[i][j])); \
  } while (0)

#define OP_I8(a, x, w) _mm512_dpbusd_epi32(a, x, w)
#define OP_BF16(a, x, w) \
  _mm512_castps_si512(_mm512_dpbf16_ps(_mm512_castsi512_ps(a), (__m512bh)(x), (__m512bh)(w)))

/* Rows [0, mr) by the cols columns of nb panels, int8: sums, then gemm_isa.h's epilogue. */
INLINE VNNI void block_i8(const size_t mr, const size_t nb, const uint8_t *x, size_t ldq,
                          const float *xs, const int8_t *wp, size_t K, const float *ws,
                          const int32_t *wsum, const float *bias, size_t cols, float *y, size_t ldy) {
  __m512i acc[PMR][PNB];
  PANEL_SUMS(OP_I8, acc, mr, nb, x, ldq, wp, K * 16, K / 4);
#pragma GCC unroll 4
  for (size_t j = 0; j < nb; j++) {
    const __mmask16 cm = col_mask(cols, j);
    const __m512i corr = _mm512_slli_epi32(_mm512_maskz_loadu_epi32(cm, wsum + 16 * j), 7);
    const __m512 wsv = _mm512_maskz_loadu_ps(cm, ws + 16 * j);
    const __m512 b = bias ? _mm512_maskz_loadu_ps(cm, bias + 16 * j) : _mm512_setzero_ps();
#pragma GCC unroll 6
    for (size_t i = 0; i < mr; i++) {
      const __m512 scale = _mm512_mul_ps(_mm512_set1_ps(xs[i]), wsv);
      const __m512 v = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[i][j], corr));
      _mm512_mask_storeu_ps(y + i * ldy + 16 * j, cm, _mm512_add_ps(_mm512_mul_ps(v, scale), b));
    }
  }
}

/* The same for bf16: y = sum + bias (+ 0.0f without one). */
INLINE BF16 void block_bf16(const size_t mr, const size_t nb, const uint16_t *x, size_t ldx,
                            const uint16_t *wp, size_t K, const float *bias, size_t cols, float *y,
                            size_t ldy) {
  __m512i acc[PMR][PNB];
  PANEL_SUMS(OP_BF16, acc, mr, nb, x, 2 * ldx, wp, K * 32, K / 2);
#pragma GCC unroll 4
  for (size_t j = 0; j < nb; j++) {
    const __mmask16 cm = col_mask(cols, j);
    const __m512 b = bias ? _mm512_maskz_loadu_ps(cm, bias + 16 * j) : _mm512_setzero_ps();
#pragma GCC unroll 6
    for (size_t i = 0; i < mr; i++)
      _mm512_mask_storeu_ps(y + i * ldy + 16 * j, cm, _mm512_add_ps(_mm512_castsi512_ps(acc[i][j]), b));
  }
}

/* One noinline instance per (rows, panels) pair, so each loop has constant bounds. */
#define I8_INSTANCE(mr, nb)                                                                 \
  static __attribute__((noinline)) VNNI void i8_##mr##_##nb(                                \
      const uint8_t *x, size_t ldq, const float *xs, const int8_t *wp, size_t K,            \
      const float *ws, const int32_t *wsum, const float *bias, size_t cols, float *y, size_t ldy) { \
    block_i8(mr, nb, x, ldq, xs, wp, K, ws, wsum, bias, cols, y, ldy);                      \
  }
#define BF16_INSTANCE(mr, nb)                                                               \
  static __attribute__((noinline)) BF16 void bf16_##mr##_##nb(                              \
      const uint16_t *x, size_t ldx, const uint16_t *wp, size_t K, const float *bias,       \
      size_t cols, float *y, size_t ldy) {                                                  \
    block_bf16(mr, nb, x, ldx, wp, K, bias, cols, y, ldy);                                  \
  }
#define INSTANCES(X) X(1, 1) X(2, 1) X(3, 1) X(4, 1) X(5, 1) X(6, 1) \
                     X(1, 4) X(2, 4) X(3, 4) X(4, 4) X(5, 4) X(6, 4)
INSTANCES(I8_INSTANCE)
INSTANCES(BF16_INSTANCE)

#define PICK(pre, mr, nb, ...)                                                              \
  do {                                                                                      \
    if (nb == 4) {                                                                          \
      switch (mr) {                                                                         \
      case 1: pre##_1_4(__VA_ARGS__); break; case 2: pre##_2_4(__VA_ARGS__); break;         \
      case 3: pre##_3_4(__VA_ARGS__); break; case 4: pre##_4_4(__VA_ARGS__); break;         \
      case 5: pre##_5_4(__VA_ARGS__); break; default: pre##_6_4(__VA_ARGS__); break;        \
      }                                                                                     \
    } else {                                                                                \
      switch (mr) {                                                                         \
      case 1: pre##_1_1(__VA_ARGS__); break; case 2: pre##_2_1(__VA_ARGS__); break;         \
      case 3: pre##_3_1(__VA_ARGS__); break; case 4: pre##_4_1(__VA_ARGS__); break;         \
      case 5: pre##_5_1(__VA_ARGS__); break; default: pre##_6_1(__VA_ARGS__); break;        \
      }                                                                                     \
    }                                                                                       \
  } while (0)

/* Column blocks of PNB panels (a narrower edge: one panel at a time), rows PMR at a time. */
#define FOR_PANEL_BLOCKS(n0, n1, M, BODY)                                                   \
  for (size_t nb0 = (n0); nb0 < (n1); nb0 += 16 * PNB) {                                    \
    const size_t left = (n1) - nb0 < 16 * PNB ? (n1) - nb0 : 16 * PNB;                      \
    const size_t wide = left > 16 * (PNB - 1);                                              \
    for (size_t p0 = nb0; p0 < nb0 + left; p0 += wide ? 16 * PNB : 16) {                    \
      const size_t nb = wide ? PNB : 1;                                                     \
      const size_t n = p0, cols = nb0 + left - p0 < 16 * nb ? nb0 + left - p0 : 16 * nb;    \
      for (size_t m = 0; m < (M); m += PMR) {                                               \
        const size_t mr = (M) - m < PMR ? (M) - m : PMR;                                    \
        BODY;                                                                               \
      }                                                                                     \
    }                                                                                       \
  }

static void gemm_i8_packed(const uint8_t *xu, size_t ldq, const float *xs, size_t M,
                           const int8_t *wp, const float *ws, const int32_t *wsum, const float *bias,
                           size_t n0, size_t n1, size_t K, float *y, size_t ldy) {
  FOR_PANEL_BLOCKS(n0, n1, M,
                   PICK(i8, mr, nb, xu + m * ldq, ldq, xs + m, wp + n / 16 * K * 16, K, ws + n,
                        wsum + n, bias ? bias + n : NULL, cols, y + m * ldy + n, ldy));
}

static void gemm_bf16_packed(const uint16_t *xb, size_t ldx, size_t M, const uint16_t *wp,
                             const float *bias, size_t n0, size_t n1, size_t K, float *y, size_t ldy) {
  FOR_PANEL_BLOCKS(n0, n1, M,
                   PICK(bf16, mr, nb, xb + m * ldx, ldx, wp + n / 16 * K * 16, K,
                        bias ? bias + n : NULL, cols, y + m * ldy + n, ldy));
}

void sl_gemm_fill_packed_avx512(sl_gemm_kernels *t, int vnni, int bf16) {
  if (vnni) t->gemm_i8_packed = gemm_i8_packed, t->i8_packed_name = "avx512-vnni";
  if (bf16) t->gemm_bf16_packed = gemm_bf16_packed, t->bf16_packed_name = "avx512-bf16";
}

#else
void sl_gemm_fill_packed_avx512(sl_gemm_kernels *t, int vnni, int bf16) { (void)t, (void)vnni, (void)bf16; }
#endif
