/*
** quantize.c: int8 and bf16 copies of weight matrices (see quantize.h).
**
** int8 is symmetric per output channel: scale = max|w| / 127, q = round(w / scale), so
** zero stays exactly zero and no zero point enters the weights. A row of zeros gets
** scale 0 and all-zero q.
*/
#include "../base/alloc.h"
#include "quantize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/gemm.h"

static int quantize_i8(const float *w, sl_qweights *q, sl_err *err) {
  q->wq = sl_calloc(q->out * q->kpad, 1);
  q->ws = sl_malloc(q->out * sizeof *q->ws);
  q->wsum = sl_malloc(q->out * sizeof *q->wsum);
  if (!q->wq || !q->ws || !q->wsum) return sl_fail_code(err, SL_CODE_NOMEM, "out of memory quantizing weights");
  for (size_t n = 0; n < q->out; n++) {
    const float *row = w + n * q->in;
    int8_t *qrow = q->wq + n * q->kpad;
    float amax = 0;
    int32_t sum = 0;
    for (size_t k = 0; k < q->in; k++) {   /* fmaxf's rule (a NaN is skipped), inline */
      const float a = fabsf(row[k]);
      if (a > amax) amax = a;
    }
    q->ws[n] = amax / 127.0f;
    if (amax > 0) {
      float inv = 127.0f / amax;
      for (size_t k = 0; k < q->in; k++) {
        /* lrintf's result, inline: |v| <= 127 (a hair more by rounding) rounds to the
        ** nearest integer, ties to even, by adding and removing 1.5 * 2^23; a product
        ** that is not finite (a NaN or inf weight, or inv overflowed) is -127, as
        ** x86's lrintf (LONG_MIN), clamped, made it */
        float v = row[k] * inv;
        long r = !(v - v == 0.0f) ? -127 : (long)((v + 12582912.0f) - 12582912.0f);
        qrow[k] = (int8_t)(r > 127 ? 127 : r < -127 ? -127 : r);
        sum += qrow[k];
      }
    }
    q->wsum[n] = sum;
  }
  return SL_OK;
}

static int quantize_bf16(const float *w, sl_qweights *q, sl_err *err) {
  const sl_gemm_kernels *g = sl_gemm_get();
  q->wb = sl_calloc(q->out * q->kpad, sizeof *q->wb);
  if (!q->wb) return sl_fail_code(err, SL_CODE_NOMEM, "out of memory converting weights to bf16");
  for (size_t n = 0; n < q->out; n++) g->to_bf16(w + n * q->in, q->in, q->wb + n * q->kpad);
  return SL_OK;
}

int sl_quantize_weights(const float *w, size_t out, size_t in, sl_compute_dtype dtype,
                        sl_qweights *q, sl_err *err) {
  int rc;
  memset(q, 0, sizeof *q);
  q->out = out;
  q->in = in;
  q->kpad = (in + SL_GEMM_K_ALIGN - 1) / SL_GEMM_K_ALIGN * SL_GEMM_K_ALIGN;
  rc = dtype == SL_COMPUTE_INT8 ? quantize_i8(w, q, err)
     : dtype == SL_COMPUTE_BF16 ? quantize_bf16(w, q, err)
     : SL_OK;
  if (rc) sl_qweights_free(q);
  return rc;
}

int sl_qweights_pack(sl_qweights *q, const sl_gemm_kernels *g, sl_err *err) {
  const size_t n = sl_gemm_packed_elems(q->out, q->kpad);
  if (q->wq && g->gemm_i8_packed) {
    if (!(q->wqp = sl_malloc(n))) return sl_oom(err);
    sl_gemm_pack_i8(q->wq, q->out, q->kpad, q->wqp);
    sl_free(q->wq);
    q->wq = NULL;
  } else if (q->wb && g->gemm_bf16_packed) {
    if (!(q->wbp = sl_malloc(n * sizeof *q->wbp))) return sl_oom(err);
    sl_gemm_pack_bf16(q->wb, q->out, q->kpad, q->wbp);
    sl_free(q->wb);
    q->wb = NULL;
  }
  return SL_OK;
}

int sl_qweights_center(sl_qweights *q, sl_err *err) {
  if (!q->ws) return SL_OK;
  if (!(q->wsw = sl_malloc(q->out * sizeof *q->wsw))) return sl_oom(err);
  for (size_t n = 0; n < q->out; n++) q->wsw[n] = q->ws[n] * (float)q->wsum[n];
  return SL_OK;
}

/* A plain loop of elementwise float operations (the compiler vectorizes it; with
** -ffp-contract=off each result is the same bits however it is computed). */
void sl_add_row_offsets(float *y, size_t ldy, size_t rows, const float *c, const float *wsw,
                        size_t n0, size_t n1) {
  for (size_t m = 0; m < rows; m++)
    for (size_t n = n0; n < n1; n++) y[m * ldy + n] += c[m] * wsw[n];
}

void sl_qweights_free(sl_qweights *q) {
  sl_free(q->wsw);
  sl_free(q->wqp);
  sl_free(q->wbp);
  sl_free(q->wq);
  sl_free(q->ws);
  sl_free(q->wsum);
  sl_free(q->wb);
  memset(q, 0, sizeof *q);
}

size_t sl_qweights_bytes(const sl_qweights *q) {
  const size_t packed = sl_gemm_packed_elems(q->out, q->kpad);
  return (q->wq ? q->out * q->kpad : 0) + (q->wqp ? packed : 0) +
         (q->ws ? q->out * (sizeof *q->ws + sizeof *q->wsum) : 0) + (q->wsw ? q->out * sizeof *q->wsw : 0) +
         (q->wb ? q->out * q->kpad * sizeof *q->wb : 0) + (q->wbp ? packed * sizeof *q->wbp : 0);
}
