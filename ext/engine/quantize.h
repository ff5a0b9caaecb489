/*
** quantize.h: reduced-precision copies of a linear layer's weights, made once at model
** load when the model is loaded with dtype int8 or bf16 (see kernels/gemm.h for the
** arithmetic the copies serve).
*/
#ifndef SEMLITE_QUANTIZE_H
#define SEMLITE_QUANTIZE_H

#include <stddef.h>
#include <stdint.h>

#include "../base/status.h"
#include "../kernels/gemm.h"
#include "dtype.h"

/* The quantized form of one [out][in] weight matrix. Rows are padded with zeros to
** kpad = in rounded up to SL_GEMM_K_ALIGN. */
typedef struct sl_qweights {
  size_t out, in, kpad;
  int8_t *wq;        /* int8: out * kpad */
  float *ws;         /* int8: per-row scale */
  int32_t *wsum;     /* int8: per-row sum of wq */
  uint16_t *wb;      /* bf16: out * kpad */
  int8_t *wqp;       /* int8 packed for the kernels' panel products (gemm.h), instead of wq */
  uint16_t *wbp;     /* bf16 packed, instead of wb */
  float *wsw;        /* int8 with centered activations: ws[n] * wsum[n] (sl_qweights_center) */
} sl_qweights;

int sl_quantize_weights(const float *w, size_t out, size_t in, sl_compute_dtype dtype,
                        sl_qweights *q, sl_err *err);
/* Replaces the copy with the packed one (gemm.h's panels) when the kernels g have a
** packed product for its dtype; otherwise leaves it as it is. */
int sl_qweights_pack(sl_qweights *q, const sl_gemm_kernels *g, sl_err *err);
/* Centered activations for an int8 layer whose inputs are lopsided (the GELU output of
** the second feed-forward layer: about -0.17 to several units). Each row x is quantized
** as x - c, c = (min + max) / 2 of the row (the kernels' quantize_rows_centered), so the
** 255 levels span [min, max] instead of [-max, max]; the product then lacks
** c * sum_k w[n][k], which the caller adds back as c[m] * wsw[n] after the GEMM
** (sl_add_row_offsets). The integer GEMM is unchanged, so the results stay bit-identical
** across levels. */
int sl_qweights_center(sl_qweights *q, sl_err *err);
/* y[m][n] += c[m] * wsw[n] for m < rows, n in [n0, n1). */
void sl_add_row_offsets(float *y, size_t ldy, size_t rows, const float *c, const float *wsw,
                        size_t n0, size_t n1);
void sl_qweights_free(sl_qweights *q);
size_t sl_qweights_bytes(const sl_qweights *q);

#endif
