/*
** gemm.h: the encoder's matrix products: float32 (linear layers of fp32 models and
** every attention product), and int8 or bf16 weights for models loaded with that dtype.
**
** Every kernel computes a slice of output columns [n0, n1) of
**     Y[m][n] = sum_k X[m][k] * W[n][k] + bias[n]        for m < M
** with W in PyTorch's [out][in] layout, so callers split work by columns across cores.
** For int8 and bf16, K is padded: rows of X and W are zero-filled up to K, a multiple
** of SL_GEMM_K_ALIGN. float32 takes any K and strides.
**
** float32: each output's sum runs in an order that depends on K only (order.h: the same
**   at every level, so scalar, AVX2 and AVX-512 give the same bits), never on M, on the
**   row's position in X or on the columns asked for, so a sequence gets bit-identical
**   results alone or inside a batch (embed() equals embed_each()).
**
** int8 (per-output-channel symmetric weights, dynamic per-row activations):
**   W[n][k] ~ ws[n] * wq[n][k],  wq in [-127, 127]
**   X[m][k] ~ xs[m] * xq[m][k],  xq in [-127, 127], stored as xu = xq + 128 (uint8),
**   because VNNI's vpdpbusd multiplies unsigned by signed bytes; the +128 is removed with
**   wsum[n] = sum_k wq[n][k]:  sum_k xq*wq = sum_k xu*wq - 128 * wsum[n].
** bf16: X and W rounded to bfloat16 (round to nearest even), products accumulated in
**   float32 (vdpbf16ps where the CPU has AVX512_BF16, else widened to float32 and FMA).
**
** Packed weights (panels): levels that multiply a broadcast element group of X by a
** vector of 16 output columns (AVX-512 vpdpbusd / vdpbf16ps, AMX tiles) read W packed
** once at load: panels of SL_GEMM_PANEL output columns, each K/G steps of 16 x G
** elements, G = 4 int8 or 2 bf16, so element (n, k) is at
**     ((n / 16) * (K / G) + k / G) * 16 G + (n % 16) * G + k % G
** and every step is 64 bytes: one vector operand, and one row of an AMX B tile (16
** steps of a panel are one tile, 64 bytes apart). Columns past N are zero. The packed
** entries of the table are NULL at levels that read W in place; their n0 must be a
** multiple of SL_GEMM_PANEL (n1 any, up to N). int8 sums are exact integers, so the
** packed products give the in-place ones' bits.
*/
#ifndef SEMLITE_GEMM_H
#define SEMLITE_GEMM_H

#include <stddef.h>
#include <stdint.h>

#define SL_GEMM_K_ALIGN 64
#define SL_GEMM_PANEL 16

typedef struct sl_gemm_kernels {
  const char *f32_name, *i8_name, *bf16_name;    /* e.g. "avx512-vnni", "avx2", "scalar" */

  /* float32; W rows of K floats ldw apart, X rows ldx apart; bias may be NULL. */
  void (*gemm_f32)(const float *x, size_t ldx, size_t M, const float *w, size_t ldw,
                   const float *bias, size_t n0, size_t n1, size_t K, float *y, size_t ldy);

  /* Quantizes M rows of x (K floats each, row stride ldx) to xu (row stride ldq >= K,
  ** padded with the zero point 128 up to ldq) and xs[m] = max|x[m]| / 127. */
  void (*quantize_rows)(const float *x, size_t ldx, size_t M, size_t K, uint8_t *xu,
                        size_t ldq, float *xs);
  /* The same on centered rows: xc[m] = the row's centre (gemm_isa.h), and row m
  ** quantized as x[m] - xc[m]. The product then lacks xc[m] * sum_k w[n][k], which the
  ** caller adds back (for rows whose values are lopsided, such as GELU outputs). */
  void (*quantize_rows_centered)(const float *x, size_t ldx, size_t M, size_t K, uint8_t *xu,
                                 size_t ldq, float *xs, float *xc);

  void (*gemm_i8)(const uint8_t *xu, size_t ldq, const float *xs, size_t M,
                  const int8_t *wq, const float *ws, const int32_t *wsum, const float *bias,
                  size_t n0, size_t n1, size_t K, float *y, size_t ldy);

  /* Rounds n floats to bfloat16 (round to nearest even; NaN stays NaN). */
  void (*to_bf16)(const float *x, size_t n, uint16_t *out);

  void (*gemm_bf16)(const uint16_t *xb, size_t ldx, size_t M, const uint16_t *wb,
                    const float *bias, size_t n0, size_t n1, size_t K, float *y, size_t ldy);

  /* The same products on packed W (wp: sl_gemm_pack_*); NULL where the level has none.
  ** *_packed_name says which unit runs them ("avx512-vnni", "amx-int8", ...). */
  const char *i8_packed_name, *bf16_packed_name;
  void (*gemm_i8_packed)(const uint8_t *xu, size_t ldq, const float *xs, size_t M,
                         const int8_t *wp, const float *ws, const int32_t *wsum,
                         const float *bias, size_t n0, size_t n1, size_t K, float *y,
                         size_t ldy);
  void (*gemm_bf16_packed)(const uint16_t *xb, size_t ldx, size_t M, const uint16_t *wp,
                           const float *bias, size_t n0, size_t n1, size_t K, float *y,
                           size_t ldy);
} sl_gemm_kernels;

/* Elements of the packed copy of an N x K matrix (N rounded up to SL_GEMM_PANEL; K a
** multiple of SL_GEMM_K_ALIGN), and the packing itself (w: N rows of K elements). */
size_t sl_gemm_packed_elems(size_t N, size_t K);
void sl_gemm_pack_i8(const int8_t *w, size_t N, size_t K, int8_t *wp);
void sl_gemm_pack_bf16(const uint16_t *w, size_t N, size_t K, uint16_t *wp);

/* The kernels for the current ISA level (kernels.h: cpuid, capped by SEMLITE_ISA),
** using VNNI and AVX512_BF16 only where the CPU has them. */
const sl_gemm_kernels *sl_gemm_get(void);

#endif
