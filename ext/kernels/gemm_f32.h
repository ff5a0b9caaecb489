/*
** gemm_f32.h: the float32 products of the encoder's forward pass on weights packed at
** load (the linear layers) and the attention products (Q.K^T and P.V per head).
**
** Both keep order.h's order for every output, so scalar, AVX2 and AVX-512 give the same
** bits, and they equal gemm.h's gemm_f32 on the same operands bit for bit (tests/
** test_gemm.c): 16 partial sums p[l] over the k with k mod 16 = l, each a chain of fused
** products in index order from +0, folded in halves, then + bias (or + 0.0f).
**
** gemm_packed: Y[m][n] = sum_k X[m][k] * W[n][k] + bias[n], with W packed once by
**   sl_f32_pack into panels of SL_F32_PANEL output columns: panel p holds, chunk by chunk
**   of 16 k, the 16 values of each of its columns (W[4p + j][16c .. 16c + 16), zero past
**   K and past N). One layout for every level, so the packed copy is made once at load
**   whatever the level, and a block of columns streams from one contiguous range. The
**   products are "dot form" (a vector of 16 partial sums per output, a transposing fold
**   at the end), register-blocked 4 rows x 4 columns on AVX-512.
** gemm_kn: Y[m][n] = sum_k X[m][k] * B[k][n] (no bias), row k of B (N floats) at
**   b + (k mod 16) * bl + (k / 16) * bt: row-major B [K][N] is bl = ldb, bt = 16 ldb;
**   "leaf-major" B, each partial sum's rows together, is bt = ldb, bl = ceil(K/16) ldb.
**   The attention products, with the head's keys (Q.K^T, K = head size) and values (P.V,
**   K = sequence length) copied leaf-major: row-major V rows of a head are 1,536 bytes
**   apart, and the 16 rows of one partial sum then share an L1 set. "Leaf form": lanes are 16 output columns; the 16
**   partial sums of order.h are computed one after the other (the chains of k = l,
**   l + 16, ...) and folded as they complete (p[l] + p[l+8] first, the fold's tree
**   depth first), so the fold is vertical adds, no shuffles, and the live registers are
**   a handful per output vector. For K = 32 (the head size) this replaces row-times-row
**   products that spent most of their time in horizontal sums.
*/
#ifndef SEMLITE_GEMM_F32_H
#define SEMLITE_GEMM_F32_H

#include <stddef.h>

#include "kernels.h"

/* Output columns per panel of a packed weight matrix. */
#define SL_F32_PANEL 4

/* Floats of the packed copy of an N x K matrix (whole panels, K rounded up to 16). */
size_t sl_f32_packed_floats(size_t N, size_t K);

/* Packs W [N][K] (rows ldw floats apart) into wp (sl_f32_packed_floats(N, K) floats). */
void sl_f32_pack(const float *w, size_t ldw, size_t N, size_t K, float *wp);

typedef struct sl_f32_kernels {
  const char *name;   /* "avx512", "avx2", "scalar" */

  /* Columns [n0, n1) of Y (n0 a multiple of SL_F32_PANEL) for rows m < M; wp packed from
  ** a matrix of K columns; bias may be NULL. */
  void (*gemm_packed)(const float *x, size_t ldx, size_t M, const float *wp, size_t K,
                      const float *bias, size_t n0, size_t n1, float *y, size_t ldy);

  /* Y[m][n] for m < M, n < N; B's rows as above. */
  void (*gemm_kn)(const float *x, size_t ldx, size_t M, const float *b, size_t bl, size_t bt,
                  size_t N, size_t K, float *y, size_t ldy);
} sl_f32_kernels;

/* The table for the level kernels.h chose (cpuid, capped by SEMLITE_ISA). */
const sl_f32_kernels *sl_f32_get(void);

/* The table of one level, capped at what this CPU runs (tests, benches). */
const sl_f32_kernels *sl_f32_for_isa(sl_isa isa);

/* The scalar table as it runs on a CPU without FMA (order.h's emulation); for the tests. */
const sl_f32_kernels *sl_f32_scalar_nofma(void);

/* Filled in by gemm_f32_avx2.c / gemm_f32_avx512.c (no-ops off x86). */
void sl_f32_fill_avx2(sl_f32_kernels *t);
void sl_f32_fill_avx512(sl_f32_kernels *t);

#endif
