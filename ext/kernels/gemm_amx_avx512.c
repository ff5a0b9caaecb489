/*
** gemm_amx_avx512.c: the packed int8 and bf16 products on Intel AMX tiles (tdpbusd,
** tdpbf16ps), the probe that decides whether they may run, and their self-test (amx.h).
**
** Tiles (palette 1): every one of the 8 is 16 rows of 64 bytes. tmm0-3 accumulate a
** block of 32 rows of X by 32 output columns (2 x 2 tiles of 16 x 16 int32 or float),
** tmm4-5 hold 16 rows of X by 64 bytes of K (A), tmm6-7 16 steps of a panel (B): gemm.h's
** panel layout is the B tile layout, each 64-byte step one tile row (16 columns x 4 int8,
** or x 2 bf16), so a panel's 16 steps at k are one tileloadd, 64 bytes apart.
** tdpbusd multiplies unsigned bytes of A by signed bytes of B, as vpdpbusd does, so xu =
** xq + 128 and the 128 * wsum correction are the VNNI path's; the int32 sums are exact,
** and the epilogue is gemm_isa.h's, so the outputs are the VNNI path's bits.
** Rows past M in the last block of X: its 64-byte slices are copied into a 16-row
** buffer whose other rows hold the zero point (int8) or 0 (bf16), and those rows are
** never stored; columns past n1 are masked off at the store.
**
** Each call configures the tiles (ldtilecfg) and releases them (tilerelease) at its end,
** so a thread holds no tile state between passes (the kernel then saves no 8 KB of it
** on a context switch). The instructions are written as inline asm here rather than
** through GCC 12's amx*intrin.h: its tile loads do not tell the compiler they read
** memory (no "m" operand or clobber), so stores to the padding buffer could be moved
** past them; with the asm below every tile instruction is ordered against memory. The
** Makefile gives this file the AVX-512 flags for the epilogue; nothing here runs unless
** sl_amx_enable succeeded.
*/
#include "amx.h"

#include "../base/alloc.h"
#include "gemm_isa.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#include <immintrin.h>
#include <math.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARCH_GET_XCOMP_PERM 0x1022
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

typedef struct tile_config {
  uint8_t palette, start_row, reserved0[14];
  uint16_t colsb[16];
  uint8_t rows[16];
} tile_config;
_Static_assert(sizeof(tile_config) == 64, "ldtilecfg reads 64 bytes");

static const _Alignas(64) tile_config config = {
  .palette = 1,
  .colsb = {64, 64, 64, 64, 64, 64, 64, 64},
  .rows = {16, 16, 16, 16, 16, 16, 16, 16},
};

#define TILE_CONFIG() __asm__ volatile("ldtilecfg %0" ::"m"(config))
#define TILE_RELEASE() __asm__ volatile("tilerelease" ::: "memory")
#define TILE_ZERO(t) __asm__ volatile("tilezero %%tmm" #t ::: "memory")
#define TILE_LOAD(t, base, stride) \
  __asm__ volatile("tileloadd (%0,%1,1), %%tmm" #t ::"r"(base), "r"((long)(stride)) : "memory")
#define TILE_STORE(t, base, stride) \
  __asm__ volatile("tilestored %%tmm" #t ", (%0,%1,1)" ::"r"(base), "r"((long)(stride)) : "memory")
/* c += a . b (AT&T order: b, a, c) */
#define TILE_DPBUSD(c, a, b) __asm__ volatile("tdpbusd %%tmm" #b ", %%tmm" #a ", %%tmm" #c ::: "memory")
#define TILE_DPBF16PS(c, a, b) __asm__ volatile("tdpbf16ps %%tmm" #b ", %%tmm" #a ", %%tmm" #c ::: "memory")

#include "gemm_amx.h"

/* CPUID.(7,0):EDX bit 22 AMX-BF16, bit 24 AMX-TILE, bit 25 AMX-INT8. */
int sl_amx_cpu(int *bf16) {
  unsigned a, b, c, d;
  *bf16 = 0;
  if (__get_cpuid_max(0, NULL) < 7) return 0;
  __cpuid_count(7, 0, a, b, c, d);
  *bf16 = (d >> 22) & 1;
  return ((d >> 24) & 1) && ((d >> 25) & 1);
}

/* XCR0 bits 17 (XTILECFG) and 18 (XTILEDATA): the OS manages the tile state. */
static int os_tiles(void) {
  unsigned a, b, c, d;
  __cpuid(1, a, b, c, d);
  if (!(c & bit_OSXSAVE)) return 0;
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (lo & (3u << 17)) == (3u << 17);
}

/* Linux's permission for XTILEDATA, process-wide (threads share it). */
static int request_tiles(void) {
  unsigned long perm = 0;
  if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) != 0) return 0;
  if (syscall(SYS_arch_prctl, ARCH_GET_XCOMP_PERM, &perm) != 0) return 0;
  return (perm >> XFEATURE_XTILEDATA) & 1;
}

/* ---- self-test ------------------------------------------------------------------------ */

static uint32_t lcg(uint64_t *s) {
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(*s >> 33);
}

/* One shape: M rows, N columns, K (a multiple of 64), the slice [n0, n1); pattern 1 puts
** the extreme bytes in. Returns 0 when AMX matches. */
static int check_shape(const sl_gemm_kernels *amx, const sl_gemm_kernels *ref, size_t M, size_t N,
                       size_t K, size_t n0, size_t n1, int pattern, int with_bias, uint64_t *seed) {
  const size_t ldy = N + 3, ny = (M + 1) * ldy, np = sl_gemm_packed_elems(N, K);
  uint8_t *xu = sl_malloc(M * K);
  int8_t *wq = sl_malloc(N * K), *wqp = sl_malloc(np);
  uint16_t *xb = sl_malloc(M * K * 2), *wb = sl_malloc(N * K * 2), *wbp = sl_malloc(np * 2);
  float *xs = sl_malloc(M * 4), *ws = sl_malloc(N * 4), *bias = sl_malloc(N * 4);
  float *y0 = sl_malloc(ny * 4), *y1 = sl_malloc(ny * 4);
  double *mag = sl_malloc(M * N * sizeof *mag);
  int32_t *wsum = sl_malloc(N * 4);
  int bad = 0;
  if (!xu || !wq || !wqp || !xb || !wb || !wbp || !xs || !ws || !bias || !y0 || !y1 || !mag || !wsum) {
    bad = -1; /* no memory: not a verdict on AMX, but no reason to trust it either */
    goto done;
  }
  for (size_t m = 0; m < M; m++) {
    xs[m] = (float)(lcg(seed) % 1000 + 1) * 1e-4f;
    for (size_t k = 0; k < K; k++) {
      uint32_t r = lcg(seed);
      xu[m * K + k] = pattern ? (uint8_t)(m % 3 == 0 ? 255 : m % 3 == 1 ? 0 : (k % 2 ? 255 : 0)) : (uint8_t)r;
      /* bf16 of a value in about [-2, 2): sign, exponent 126 or 127, 7 random bits */
      xb[m * K + k] = (uint16_t)((r & 0x8000) | ((126u + ((r >> 8) & 1)) << 7) | ((r >> 9) & 0x7f));
    }
  }
  for (size_t n = 0; n < N; n++) {
    int32_t s = 0;
    for (size_t k = 0; k < K; k++) {
      uint32_t r = lcg(seed);
      int v = (int)(r % 255) - 127;
      if (pattern) v = n % 3 == 0 ? 127 : n % 3 == 1 ? -127 : (k % 3 ? 127 : -127);
      wq[n * K + k] = (int8_t)v;
      s += v;
      wb[n * K + k] = (uint16_t)((r & 0x8000) | ((125u + ((r >> 8) & 3)) << 7) | ((r >> 10) & 0x7f));
    }
    wsum[n] = s;
    ws[n] = (float)(lcg(seed) % 1000 + 1) * 1e-5f;
    bias[n] = (float)((int)(lcg(seed) % 2001) - 1000) * 1e-3f;
  }
  for (size_t m = 0; m < M; m++)
    for (size_t n = 0; n < N; n++) {
      double s = 0;
      for (size_t k = 0; k < K; k++) {
        uint32_t xa = (uint32_t)(xb[m * K + k] & 0x7fff) << 16, wa = (uint32_t)(wb[n * K + k] & 0x7fff) << 16;
        float xf, wf;
        memcpy(&xf, &xa, 4);
        memcpy(&wf, &wa, 4);
        s += (double)xf * wf;
      }
      mag[m * N + n] = s;
    }
  sl_gemm_pack_i8(wq, N, K, wqp);
  sl_gemm_pack_bf16(wb, N, K, wbp);
  const float *b = with_bias ? bias : NULL;

  for (size_t i = 0; i < ny; i++) y0[i] = y1[i] = -1234.5f;
  ref->gemm_i8(xu, K, xs, M, wq, ws, wsum, b, n0, n1, K, y0, ldy);
  amx->gemm_i8_packed(xu, K, xs, M, wqp, ws, wsum, b, n0, n1, K, y1, ldy);
  if (memcmp(y0, y1, ny * 4) != 0) bad = 1;

  if (amx->gemm_bf16_packed != ref->gemm_bf16_packed) {
    for (size_t i = 0; i < ny; i++) y0[i] = y1[i] = -1234.5f;
    ref->gemm_bf16(xb, K, M, wb, b, n0, n1, K, y0, ldy);
    amx->gemm_bf16_packed(xb, K, M, wbp, b, n0, n1, K, y1, ldy);
    for (size_t m = 0; m <= M && !bad; m++)
      for (size_t n = 0; n < ldy && !bad; n++) {
        const float g = y1[m * ldy + n], w = y0[m * ldy + n];
        if (m < M && n >= n0 && n < n1) {
          /* both sums round float32 over K / 2 steps: well within 2^-14 of sum |x w| */
          const double tol = mag[m * N + n] * (1.0 / 16384) + 1e-30;
          if (!(fabs((double)g - (double)w) <= tol)) bad = 1;
        } else if (memcmp(&g, &w, 4) != 0) {
          bad = 1;
        }
      }
  }
done:
  sl_free(xu), sl_free(wq), sl_free(wqp), sl_free(xb), sl_free(wb), sl_free(wbp);
  sl_free(xs), sl_free(ws), sl_free(bias), sl_free(y0), sl_free(y1), sl_free(mag), sl_free(wsum);
  return bad;
}

int sl_amx_self_test(const sl_gemm_kernels *amx, const sl_gemm_kernels *ref) {
  /* row counts around the 16- and 32-row tiles, slices starting inside the matrix and
  ** ending inside a panel, K of one slice and of many */
  static const size_t shapes[][6] = {
    /* M, N, K, n0, n1, pattern */
    {1, 16, 64, 0, 16, 0},     {17, 40, 192, 16, 40, 0}, {33, 64, 1536, 0, 64, 1},
    {16, 48, 128, 0, 48, 0},   {32, 33, 64, 32, 33, 1},  {47, 96, 384, 32, 90, 0},
    {5, 384, 384, 0, 384, 0},
  };
  uint64_t seed = 0x5eed;
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    const size_t *s = shapes[i];
    if (check_shape(amx, ref, s[0], s[1], s[2], s[3], s[4], (int)s[5], (int)(i % 2 == 0), &seed)) return 1;
  }
  return 0;
}

const char *sl_amx_enable(sl_gemm_kernels *t) {
  int bf16;
  if (!sl_amx_cpu(&bf16)) return SL_AMX_NO_CPU;
  if (!os_tiles()) return SL_AMX_NO_OS;
  if (!request_tiles()) return SL_AMX_REFUSED;
  sl_gemm_kernels amx = *t;
  amx.gemm_i8_packed = amx_i8;
  amx.i8_name = amx.i8_packed_name = "amx-int8";
  if (bf16) {
    amx.gemm_bf16_packed = amx_bf16;
    amx.bf16_name = amx.bf16_packed_name = "amx-bf16";
  }
  if (sl_amx_self_test(&amx, t)) return SL_AMX_SELFTEST;
  *t = amx;
  return bf16 ? SL_AMX_ON : SL_AMX_ON_INT8;
}

#else
int sl_amx_cpu(int *bf16) { *bf16 = 0; return 0; }
int sl_amx_self_test(const sl_gemm_kernels *amx, const sl_gemm_kernels *ref) { (void)amx, (void)ref; return 1; }
const char *sl_amx_enable(sl_gemm_kernels *t) { (void)t; return SL_AMX_NO_CPU; }
#endif
