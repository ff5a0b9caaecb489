/*
** gemm_amx.h: the AMX tile loop of the packed int8 and bf16 products, written once over
** TILE_* operations its includer defines: gemm_amx_avx512.c with the real instructions,
** tests/test_amx_avx512.c with a C model of the tiles, so the loop (blocks, padding of the
** last rows, slices, epilogue) is checked bit for bit on machines without AMX as well.
** Needs <immintrin.h> with AVX-512 (the epilogue) and these, tile numbers as literals:
**   TILE_CONFIG()             the 8 tiles as 16 rows x 64 bytes (palette 1)
**   TILE_RELEASE()            back to the init state
**   TILE_ZERO(t)              tile t = 0
**   TILE_LOAD(t, p, stride)   16 rows of 64 bytes from p, stride bytes apart
**   TILE_STORE(t, p, stride)  the reverse
**   TILE_DPBUSD(c, a, b)      c (int32) += a (u8) . b (s8), 4-byte groups
**   TILE_DPBF16PS(c, a, b)    c (float) += a (bf16) . b (bf16), pairs
** Layout and arithmetic: gemm_amx_avx512.c's header.
*/
#ifndef SEMLITE_GEMM_AMX_H
#define SEMLITE_GEMM_AMX_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

/* rows r < 16 slices of 64 bytes (stride ld) into pad, the other rows filled with fill. */
static const char *pad_rows(char *pad, const char *a, size_t ld, size_t r, int fill) {
  for (size_t i = 0; i < r; i++) memcpy(pad + 64 * i, a + i * ld, 64);
  memset(pad + 64 * r, fill, 64 * (16 - r));
  return pad;
}

static inline __mmask16 col_mask(size_t cols) {
  return cols >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << cols) - 1);
}

/* The operands of one call, whichever the product. */
typedef struct amx_args {
  const char *x;        /* rows of X, ldx bytes apart */
  size_t ldx, M;
  const char *wp;       /* packed W */
  size_t K;             /* elements */
  const float *xs, *ws, *bias;
  const int32_t *wsum;
  size_t n0, n1;
  float *y;
  size_t ldy;
} amx_args;

/* The tile loop of both products; bf16 is a constant in each caller. Bytes per 64-byte
** slice of K: 64 int8 or 32 bf16; per panel: 16 K bytes (int8) or 32 K (bf16). */
static inline __attribute__((always_inline)) void amx_gemm(const int bf16, const amx_args *a) {
  _Alignas(64) char pad[2][16 * 64];
  _Alignas(64) int32_t c[4][16 * 16];
  const size_t slices = bf16 ? a->K / 32 : a->K / 64, panel = bf16 ? 32 * a->K : 16 * a->K;
  const int fill = bf16 ? 0 : 128;
  if (a->n0 >= a->n1 || a->M == 0) return;
  TILE_CONFIG();
  for (size_t n = a->n0; n < a->n1; n += 32) {
    const int two_cols = a->n1 - n > 16;
    const char *b0 = a->wp + n / 16 * panel, *b1 = b0 + panel;
    for (size_t m = 0; m < a->M; m += 32) {
      const size_t left = a->M - m;
      const size_t r0 = left < 16 ? left : 16, r1 = left <= 16 ? 0 : left - 16 < 16 ? left - 16 : 16;
      const char *x0 = a->x + m * a->ldx, *x1 = x0 + 16 * a->ldx;
      TILE_ZERO(0);
      TILE_ZERO(1);
      TILE_ZERO(2);
      TILE_ZERO(3);
      for (size_t k = 0; k < slices; k++) {
        const char *a0 = x0 + 64 * k, *a1 = x1 + 64 * k;
        size_t s0 = a->ldx, s1 = a->ldx;
        if (r0 < 16) a0 = pad_rows(pad[0], a0, a->ldx, r0, fill), s0 = 64;
        TILE_LOAD(4, a0, s0);
        TILE_LOAD(6, b0 + 1024 * k, 64);
        if (bf16) TILE_DPBF16PS(0, 4, 6); else TILE_DPBUSD(0, 4, 6);
        if (two_cols) {
          TILE_LOAD(7, b1 + 1024 * k, 64);
          if (bf16) TILE_DPBF16PS(1, 4, 7); else TILE_DPBUSD(1, 4, 7);
        }
        if (r1) {
          if (r1 < 16) a1 = pad_rows(pad[1], a1, a->ldx, r1, fill), s1 = 64;
          TILE_LOAD(5, a1, s1);
          if (bf16) TILE_DPBF16PS(2, 5, 6); else TILE_DPBUSD(2, 5, 6);
          if (two_cols) {
            if (bf16) TILE_DPBF16PS(3, 5, 7); else TILE_DPBUSD(3, 5, 7);
          }
        }
      }
      TILE_STORE(0, c[0], 64);
      TILE_STORE(1, c[1], 64);
      TILE_STORE(2, c[2], 64);
      TILE_STORE(3, c[3], 64);
      /* gemm_isa.h's epilogue (int8) or sum + bias (bf16), tile by tile */
      for (int t = 0; t < 2; t++) {
        const size_t rows = t ? r1 : r0;
        for (int p = 0; p < 1 + two_cols; p++) {
          const size_t col = n + 16 * (size_t)p, cols = a->n1 - col;
          const __mmask16 cm = col_mask(cols);
          const __m512 b = a->bias ? _mm512_maskz_loadu_ps(cm, a->bias + col) : _mm512_setzero_ps();
          const int32_t *acc = c[2 * t + p];
          float *yr = a->y + (m + 16 * (size_t)t) * a->ldy + col;
          if (bf16) {
            for (size_t i = 0; i < rows; i++)
              _mm512_mask_storeu_ps(yr + i * a->ldy, cm, _mm512_add_ps(_mm512_load_ps((const float *)acc + 16 * i), b));
          } else {
            const __m512i corr = _mm512_slli_epi32(_mm512_maskz_loadu_epi32(cm, a->wsum + col), 7);
            const __m512 wsv = _mm512_maskz_loadu_ps(cm, a->ws + col);
            for (size_t i = 0; i < rows; i++) {
              const __m512 scale = _mm512_mul_ps(_mm512_set1_ps(a->xs[m + 16 * (size_t)t + i]), wsv);
              const __m512 v = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_load_si512(acc + 16 * i), corr));
              _mm512_mask_storeu_ps(yr + i * a->ldy, cm, _mm512_add_ps(_mm512_mul_ps(v, scale), b));
            }
          }
        }
      }
    }
  }
  TILE_RELEASE();
}

static void amx_i8(const uint8_t *xu, size_t ldq, const float *xs, size_t M, const int8_t *wp,
                   const float *ws, const int32_t *wsum, const float *bias, size_t n0, size_t n1,
                   size_t K, float *y, size_t ldy) {
  const amx_args a = {(const char *)xu, ldq, M, (const char *)wp, K, xs, ws, bias, wsum, n0, n1, y, ldy};
  amx_gemm(0, &a);
}

static void amx_bf16(const uint16_t *xb, size_t ldx, size_t M, const uint16_t *wp, const float *bias,
                     size_t n0, size_t n1, size_t K, float *y, size_t ldy) {
  const amx_args a = {(const char *)xb, 2 * ldx, M, (const char *)wp, K, NULL, NULL, bias, NULL, n0, n1, y, ldy};
  amx_gemm(1, &a);
}

#endif
