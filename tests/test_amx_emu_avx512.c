/*
** test_amx_emu_avx512.c: ext/kernels/gemm_amx.h's tile loop over a C model of the AMX
** tiles, so tests/test_amx.c can check the loop (blocks of 32 x 32, the padded last
** rows, slices of K, the epilogue) bit for bit on any AVX-512 machine, AMX or not. The
** Makefile compiles this file with the AVX-512 flags (its name); test_amx.c calls it only
** where the CPU has AVX-512. The model follows the instructions' definitions: tdpbusd
** sums zero-extended bytes of A times sign-extended bytes of B in groups of 4 into int32;
** tdpbf16ps adds each pair's products to a float accumulator (exact products, one
** rounding per add; the hardware's own rounding inside a pair may differ, which the bf16
** comparison's bound allows for).
*/
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static _Thread_local _Alignas(64) unsigned char tiles[8][16 * 64];

static void emu_load(int t, const void *p, long stride) {
  for (int r = 0; r < 16; r++) memcpy(tiles[t] + 64 * r, (const char *)p + r * stride, 64);
}
static void emu_store(int t, void *p, long stride) {
  for (int r = 0; r < 16; r++) memcpy((char *)p + r * stride, tiles[t] + 64 * r, 64);
}
static void emu_dpbusd(int c, int a, int b) {
  for (int m = 0; m < 16; m++)
    for (int n = 0; n < 16; n++) {
      int32_t acc;
      memcpy(&acc, tiles[c] + 64 * m + 4 * n, 4);
      for (int k = 0; k < 16; k++)
        for (int g = 0; g < 4; g++)
          acc += (int32_t)tiles[a][64 * m + 4 * k + g] * (int32_t)(int8_t)tiles[b][64 * k + 4 * n + g];
      memcpy(tiles[c] + 64 * m + 4 * n, &acc, 4);
    }
}
static float bf(const unsigned char *p) {
  uint16_t h;
  uint32_t u;
  float f;
  memcpy(&h, p, 2);
  u = (uint32_t)h << 16;
  memcpy(&f, &u, 4);
  return f;
}
static void emu_dpbf16ps(int c, int a, int b) {
  for (int m = 0; m < 16; m++)
    for (int n = 0; n < 16; n++) {
      float acc;
      memcpy(&acc, tiles[c] + 64 * m + 4 * n, 4);
      for (int k = 0; k < 16; k++)
        for (int g = 0; g < 2; g++)
          acc += bf(tiles[a] + 64 * m + 4 * k + 2 * g) * bf(tiles[b] + 64 * k + 4 * n + 2 * g);
      memcpy(tiles[c] + 64 * m + 4 * n, &acc, 4);
    }
}

#define TILE_CONFIG() memset(tiles, 0, sizeof tiles)
#define TILE_RELEASE() memset(tiles, 0, sizeof tiles)
#define TILE_ZERO(t) memset(tiles[t], 0, sizeof tiles[t])
#define TILE_LOAD(t, base, stride) emu_load(t, base, (long)(stride))
#define TILE_STORE(t, base, stride) emu_store(t, base, (long)(stride))
#define TILE_DPBUSD(c, a, b) emu_dpbusd(c, a, b)
#define TILE_DPBF16PS(c, a, b) emu_dpbf16ps(c, a, b)

#include "../ext/kernels/gemm_amx.h"

void sl_test_amx_emu_i8(const uint8_t *xu, size_t ldq, const float *xs, size_t M, const int8_t *wp,
                        const float *ws, const int32_t *wsum, const float *bias, size_t n0, size_t n1,
                        size_t K, float *y, size_t ldy);
void sl_test_amx_emu_bf16(const uint16_t *xb, size_t ldx, size_t M, const uint16_t *wp, const float *bias,
                          size_t n0, size_t n1, size_t K, float *y, size_t ldy);

void sl_test_amx_emu_i8(const uint8_t *xu, size_t ldq, const float *xs, size_t M, const int8_t *wp,
                        const float *ws, const int32_t *wsum, const float *bias, size_t n0, size_t n1,
                        size_t K, float *y, size_t ldy) {
  amx_i8(xu, ldq, xs, M, wp, ws, wsum, bias, n0, n1, K, y, ldy);
}

void sl_test_amx_emu_bf16(const uint16_t *xb, size_t ldx, size_t M, const uint16_t *wp, const float *bias,
                          size_t n0, size_t n1, size_t K, float *y, size_t ldy) {
  amx_bf16(xb, ldx, M, wp, bias, n0, n1, K, y, ldy);
}
