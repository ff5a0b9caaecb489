/*
** gemm_isa.h: what gemm.c shares with gemm_simd.h (gemm_avx2.c, gemm_avx512.c) and
** tests/test_gemm.c (private to ext/kernels/ and the tests).
**
** Each level fills in the entries it has a faster version of, over the table of the
** level below (as distance_isa.h does): scalar, then AVX2, then AVX-512, whose int8 and
** bf16 products need the VNNI and AVX512_BF16 extensions that not every AVX-512 CPU has;
** without them the AVX2 versions stay in the table.
**
** The arithmetic every level must reproduce exactly lives here once:
**   quantize_rows  amax = max |x| compared as integer bit patterns (so a NaN anywhere
**                  in the row makes amax NaN instead of being skipped, as float max
**                  would do); xs = amax / 127; inv = 127 / amax when amax > 0 and 0
**                  otherwise (a zero row: xs = 0, every xu = 128, never 0/0);
**                  xq = clamp(rint(x * inv), -127, 127), rint to nearest even, with a
**                  NaN product (x NaN, or inf * 0) quantized to 0. A row holding inf or
**                  NaN therefore gets a non-finite xs and comes out of gemm_i8 as NaN.
**   quantize_rows_centered  lo, hi = min and max of the row, NaN skipped (starting from
**                  +inf and -inf: x < lo ? x : lo, x > hi ? x : hi, as minps/maxps with
**                  the data first); xc = sl_row_center(lo, hi) below; then quantize_rows'
**                  rule on v = x - xc (amax over |v|, and so on).
**   gemm_i8        acc = sum_k xu*wq - 128 * wsum[n], an exact int32 (|acc| <= 255 * 127
**                  * K: K up to 66,000); y = (float)acc * (xs[m] * ws[n]) + bias[n],
**                  two float products and one sum, each rounded (no FMA), so every level
**                  gives the same bits. The AVX2 kernel forms sum_k xq*wq directly and
**                  does not read wsum: the same integer when wsum is what the header
**                  says it is.
**   to_bf16        sl_bf16_round below, bit for bit at every level; vcvtneps2bf16 is not
**                  used because it flushes denormal inputs to zero.
**   gemm_f32       order.h's order at every level: 16 partial sums over k mod 16, each
**                  product fused, folded in halves, then + bias[n] (+ 0.0f without bias);
**                  every level gives the same bits (the scalar one with the CPU's FMA
**                  where it has one, else order.h's exact emulation).
**   gemm_bf16      float sums in an order of each level's choosing, fixed by K (gemm.h):
**                  levels agree to rounding, not bit for bit. vdpbf16ps treats denormal
**                  bf16 inputs and results as zero; the other levels keep them.
** bias may be NULL (no bias; y is then acc * scale + 0.0f).
*/
#ifndef SEMLITE_GEMM_ISA_H
#define SEMLITE_GEMM_ISA_H

#include <stdint.h>
#include <string.h>

#include "gemm.h"
#include "kernels.h"

/* Overwrite the entries each level implements. No-ops off x86; called only when the
** CPU and the OS support the level (dispatch.c's sl_cpu_best_isa). vnni and bf16 say
** whether cpuid reports AVX512_VNNI and AVX512_BF16. */
void sl_gemm_fill_avx2(sl_gemm_kernels *t);
void sl_gemm_fill_avx512(sl_gemm_kernels *t, int vnni, int bf16);
/* gemm_packed_avx512.c: the packed-weight products (gemm.h's panels). */
void sl_gemm_fill_packed_avx512(sl_gemm_kernels *t, int vnni, int bf16);

/* The table for one level, capped at what this CPU runs, so the tests can check and time
** every level in one process; sl_gemm_get() is this at sl_kernels_get()->isa. */
const sl_gemm_kernels *sl_gemm_for_isa(sl_isa isa);

/* The scalar table as it runs on a CPU without FMA (order.h's emulated fused products),
** which sl_gemm_for_isa(SL_ISA_SCALAR) does not return on a CPU with FMA; for the tests. */
const sl_gemm_kernels *sl_gemm_scalar_nofma(void);

/* The loop over blocks of the SIMD products: rows of X in chunks of about l1 bytes
** (elem bytes per element of K) that stay in L1 while every block of NR output columns
** passes over them, so W (rows ldw elements apart) streams from L2 once per chunk;
** within a chunk, blocks of SL_GEMM_MR rows. BLOCK(mr) computes and stores rows [m, m+mr) by columns [n, n+nr);
** w[NR] points at the rows of W, those past nr repeating row n+nr-1 (which the block
** computes and does not store). The switch hands BLOCK a constant mr, so each row count
** compiles to its own loop. */
#define SL_GEMM_MR 4
#define SL_GEMM_FOR_BLOCKS(NR, l1, elem, wbase, ldw, K, M, n0, n1, BLOCK)                  \
  do {                                                                                      \
    size_t mc_ = (l1) / ((K) * (elem) + 1) / SL_GEMM_MR * SL_GEMM_MR;                       \
    if (mc_ < SL_GEMM_MR) mc_ = SL_GEMM_MR;                                                 \
    for (size_t m0_ = 0; m0_ < (M); m0_ += mc_) {                                           \
      const size_t m1_ = (M) - m0_ < mc_ ? (M) : m0_ + mc_;                                 \
      for (size_t n = (n0); n < (n1); n += (NR)) {                                          \
        const size_t nr = (n1) - n < (NR) ? (n1) - n : (NR);                                \
        const void *w[NR];                                                                  \
        for (size_t j_ = 0; j_ < (NR); j_++)                                                \
          w[j_] = (const char *)(wbase) + (n + (j_ < nr ? j_ : nr - 1)) * (ldw) * (elem);   \
        for (size_t m = m0_; m < m1_; m += SL_GEMM_MR) {                                    \
          switch (m1_ - m) {                                                                \
          case 1: BLOCK(1); break;                                                          \
          case 2: BLOCK(2); break;                                                          \
          case 3: BLOCK(3); break;                                                          \
          default: BLOCK(4); break;                                                         \
          }                                                                                 \
        }                                                                                   \
      }                                                                                     \
    }                                                                                       \
  } while (0)

static inline uint32_t sl_f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

/* float -> bfloat16, round to nearest even on the bit pattern (exact for denormals and
** infinities: the carry out of the mantissa lands in the exponent, which is the right
** rounding up to the next binade or to inf); a NaN keeps its sign and top payload bits
** and is made quiet, so it cannot round into inf. */
static inline uint16_t sl_bf16_round(float f) {
  uint32_t u = sl_f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
  return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
}

/* The centre of a row from its min and max: 0.5 lo + 0.5 hi (no overflow near FLT_MAX);
** 0 when that is not finite (inf in the row, or no value but NaN: inf - inf); a zero
** always +0, since the sign of a zero min or max depends on the order zeros met. */
static inline float sl_row_center(float lo, float hi) {
  const float c = 0.5f * lo + 0.5f * hi;
  if (!(c - c == 0.0f)) return 0.0f;
  return c + 0.0f;
}

#endif
