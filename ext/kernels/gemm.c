/*
** gemm.c: the scalar versions of gemm.h's kernels, which are the reference the SIMD
** ones are tested against and what runs off x86, and the choice of level: the one
** kernels.h chose (cpuid, capped by SEMLITE_ISA), with the AVX-512 products only where
** cpuid also reports AVX512_VNNI (int8) and AVX512_BF16 (bf16), and above it AMX when
** amx.h's checks and self-test pass. The exact arithmetic every level shares is spelled
** out in gemm_isa.h.
**
** The scalar int8 product is plain integer arithmetic, so its int32 sums equal the
** SIMD ones whatever their order; the float epilogue is written in the same operations
** in the same order at every level, so the outputs are equal bit for bit. The float32
** sum is order.h's, as at every level (bit-identical too). The bf16 sum runs in 8
** interleaved float partial sums (which the compiler can keep in one vector register even
** at this level): the order differs from the SIMD levels', the bound on the rounding
** does not.
*/
#include <math.h>
#include <pthread.h>

#include "amx.h"
#include "gemm_isa.h"
#include "order.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#define SL_X86 1
#endif

/* gemm_isa.h's rule on row r minus c (c = 0: the plain rule; x - 0 is x, bit for bit). */
static void quantize_row(const float *r, size_t K, float c, uint8_t *q, size_t ldq, float *xs) {
  uint32_t abits = 0;
  for (size_t k = 0; k < K; k++) {
    uint32_t a = sl_f32_bits(r[k] - c) & 0x7fffffffu;
    if (a > abits) abits = a;
  }
  float amax;
  memcpy(&amax, &abits, sizeof amax);
  *xs = amax / 127.0f;
  const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
  for (size_t k = 0; k < K; k++) {
    float v = (r[k] - c) * inv;
    if (v != v) v = 0.0f;
    if (v > 127.0f) v = 127.0f;  /* only when inv overflowed (amax denormal) */
    if (v < -127.0f) v = -127.0f;
    /* v + 1.5*2^23 has no fraction bits left, so the add rounds v to an integer in
    ** the current rounding mode (to nearest even), as cvtps2dq does; inline, where
    ** nearbyintf is a libm call on baseline x86-64. */
    v = (v + 12582912.0f) - 12582912.0f;
    q[k] = (uint8_t)((int)v + 128);
  }
  memset(q + K, 128, ldq - K);
}

static void quantize_rows(const float *x, size_t ldx, size_t M, size_t K, uint8_t *xu,
                          size_t ldq, float *xs) {
  for (size_t m = 0; m < M; m++) quantize_row(x + m * ldx, K, 0.0f, xu + m * ldq, ldq, xs + m);
}

static void quantize_rows_centered(const float *x, size_t ldx, size_t M, size_t K, uint8_t *xu,
                                   size_t ldq, float *xs, float *xc) {
  for (size_t m = 0; m < M; m++) {
    const float *r = x + m * ldx;
    float lo = INFINITY, hi = -INFINITY;
    for (size_t k = 0; k < K; k++) {
      lo = r[k] < lo ? r[k] : lo;
      hi = r[k] > hi ? r[k] : hi;
    }
    xc[m] = sl_row_center(lo, hi);
    quantize_row(r, K, xc[m], xu + m * ldq, ldq, xs + m);
  }
}

static void gemm_i8(const uint8_t *xu, size_t ldq, const float *xs, size_t M,
                    const int8_t *wq, const float *ws, const int32_t *wsum, const float *bias,
                    size_t n0, size_t n1, size_t K, float *y, size_t ldy) {
  for (size_t m = 0; m < M; m++) {
    const uint8_t *a = xu + m * ldq;
    for (size_t n = n0; n < n1; n++) {
      const int8_t *b = wq + n * K;
      int32_t acc = 0;
      size_t k = 0;
      /* blocks of a fixed length, which the compiler vectorizes even at -O2 */
      for (; k + SL_GEMM_K_ALIGN <= K; k += SL_GEMM_K_ALIGN)
        for (size_t l = 0; l < SL_GEMM_K_ALIGN; l++) acc += (int32_t)a[k + l] * b[k + l];
      for (; k < K; k++) acc += (int32_t)a[k] * b[k];
      acc -= 128 * wsum[n];
      y[m * ldy + n] = (float)acc * (xs[m] * ws[n]) + (bias ? bias[n] : 0.0f);
    }
  }
}

/* order.h's order: 16 partial sums over k mod 16, fused, folded in halves; the SIMD
** levels run the same operations, so every level gives the same bits. hw: the CPU's
** FMA instruction (the compiler keeps the 16 sums in vector registers), else order.h's
** exact emulation, about 5 times slower. */
static inline __attribute__((always_inline)) void f32_sums(const float *x, size_t ldx, size_t M,
                                                           const float *w, size_t ldw, const float *bias,
                                                           size_t n0, size_t n1, size_t K, float *y,
                                                           size_t ldy, const int hw) {
  for (size_t m = 0; m < M; m++) {
    const float *a = x + m * ldx;
    for (size_t n = n0; n < n1; n++) {
      const float *b = w + n * ldw;
      float s[SL_ORDER_LANES] = {0};
      size_t k = 0;
      for (; k + SL_ORDER_LANES <= K; k += SL_ORDER_LANES) {
        if (hw)
          for (int l = 0; l < SL_ORDER_LANES; l++) s[l] = __builtin_fmaf(a[k + l], b[k + l], s[l]);
        else
          sl_fma16(a + k, b + k, s);
      }
      for (int l = 0; k < K; k++, l++) s[l] = hw ? __builtin_fmaf(a[k], b[k], s[l]) : sl_fmaf(a[k], b[k], s[l]);
      y[m * ldy + n] = sl_order_fold(s) + (bias ? bias[n] : 0.0f);
    }
  }
}

static void gemm_f32(const float *x, size_t ldx, size_t M, const float *w, size_t ldw,
                     const float *bias, size_t n0, size_t n1, size_t K, float *y, size_t ldy) {
  f32_sums(x, ldx, M, w, ldw, bias, n0, n1, K, y, ldy, 0);
}

#ifdef SL_X86
/* The scalar level on a CPU with FMA (SEMLITE_ISA=scalar on any AVX2 machine): the same
** bits, at the speed of the scalar code before the order was fixed. */
__attribute__((target("fma"))) static void gemm_f32_fma(const float *x, size_t ldx, size_t M,
                                                         const float *w, size_t ldw, const float *bias,
                                                         size_t n0, size_t n1, size_t K, float *y,
                                                         size_t ldy) {
  f32_sums(x, ldx, M, w, ldw, bias, n0, n1, K, y, ldy, 1);
}
#endif

static void to_bf16(const float *x, size_t n, uint16_t *out) {
  for (size_t i = 0; i < n; i++) out[i] = sl_bf16_round(x[i]);
}

static inline float bf16_to_f32(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

static void gemm_bf16(const uint16_t *xb, size_t ldx, size_t M, const uint16_t *wb,
                      const float *bias, size_t n0, size_t n1, size_t K, float *y, size_t ldy) {
  for (size_t m = 0; m < M; m++) {
    const uint16_t *a = xb + m * ldx;
    for (size_t n = n0; n < n1; n++) {
      const uint16_t *b = wb + n * K;
      float s[8] = {0};
      size_t k = 0;
      for (; k + 8 <= K; k += 8)
        for (int l = 0; l < 8; l++) s[l] += bf16_to_f32(a[k + l]) * bf16_to_f32(b[k + l]);
      for (; k < K; k++) s[k % 8] += bf16_to_f32(a[k]) * bf16_to_f32(b[k]);
      float t = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
      y[m * ldy + n] = t + (bias ? bias[n] : 0.0f);
    }
  }
}

/* ---- packed weights (gemm.h's panel layout) ---- */

size_t sl_gemm_packed_elems(size_t N, size_t K) {
  return (N + SL_GEMM_PANEL - 1) / SL_GEMM_PANEL * SL_GEMM_PANEL * K;
}

/* G elements of a row per step; T the element type. */
#define PACK(T, G, w, N, K, wp)                                                              \
  do {                                                                                       \
    const size_t np_ = (N + SL_GEMM_PANEL - 1) / SL_GEMM_PANEL;                              \
    for (size_t p = 0; p < np_; p++)                                                         \
      for (size_t s = 0; s < (K) / (G); s++) {                                               \
        T *dst = (wp) + (p * ((K) / (G)) + s) * SL_GEMM_PANEL * (G);                         \
        for (size_t c = 0; c < SL_GEMM_PANEL; c++) {                                         \
          const size_t n = p * SL_GEMM_PANEL + c;                                            \
          for (size_t g = 0; g < (G); g++) dst[c * (G) + g] = n < (N) ? (w)[n * (K) + s * (G) + g] : 0; \
        }                                                                                    \
      }                                                                                      \
  } while (0)

void sl_gemm_pack_i8(const int8_t *w, size_t N, size_t K, int8_t *wp) { PACK(int8_t, 4, w, N, K, wp); }
void sl_gemm_pack_bf16(const uint16_t *w, size_t N, size_t K, uint16_t *wp) { PACK(uint16_t, 2, w, N, K, wp); }

static const sl_gemm_kernels scalar = {
  "scalar", "scalar", "scalar", gemm_f32, quantize_rows, quantize_rows_centered, gemm_i8,
  to_bf16, gemm_bf16, NULL, NULL, NULL, NULL, /* no packed products */
};

#ifdef SL_X86
/* CPUID.(7,0):ECX[11] is AVX512_VNNI, CPUID.(7,1):EAX[5] AVX512_BF16 (leaf 7 subleaf 1
** exists when CPUID.(7,0):EAX >= 1). Both use the ZMM state dispatch.c already
** checked with xgetbv. */
static void cpu_extensions(int *vnni, int *bf16) {
  unsigned a, b, c, d;
  *vnni = *bf16 = 0;
  if (__get_cpuid_max(0, NULL) < 7) return;
  __cpuid_count(7, 0, a, b, c, d);
  *vnni = (c >> 11) & 1;
  if (a >= 1) {
    __cpuid_count(7, 1, a, b, c, d);
    *bf16 = (a >> 5) & 1;
  }
}
#endif

/* One table per level, built once; levels above the CPU's stay at the best it runs. */
static sl_gemm_kernels levels[SL_ISA_AVX512 + 1];
static sl_isa best;
static pthread_once_t levels_once = PTHREAD_ONCE_INIT;

static void build_levels(void) {
  best = sl_cpu_best_isa();
  levels[SL_ISA_SCALAR] = scalar;
#ifdef SL_X86
  if (best >= SL_ISA_AVX2) levels[SL_ISA_SCALAR].gemm_f32 = gemm_f32_fma;
#endif
  levels[SL_ISA_AVX2] = scalar;
  if (best >= SL_ISA_AVX2) sl_gemm_fill_avx2(&levels[SL_ISA_AVX2]);
  levels[SL_ISA_AVX512] = levels[SL_ISA_AVX2];
#ifdef SL_X86
  if (best >= SL_ISA_AVX512) {
    int vnni, bf16;
    cpu_extensions(&vnni, &bf16);
    sl_gemm_fill_avx512(&levels[SL_ISA_AVX512], vnni, bf16);
    sl_gemm_fill_packed_avx512(&levels[SL_ISA_AVX512], vnni, bf16);
  }
#endif
}

const sl_gemm_kernels *sl_gemm_scalar_nofma(void) { return &scalar; }

const sl_gemm_kernels *sl_gemm_for_isa(sl_isa isa) {
  if ((unsigned)isa > SL_ISA_AVX512) return NULL;
  pthread_once(&levels_once, build_levels);
  return &levels[isa > best ? best : isa];
}

/* AMX over the avx512 table, decided once (amx.h). */
static sl_gemm_kernels amx_table;
static const char *amx_state;
static int amx_on;
static pthread_once_t amx_once = PTHREAD_ONCE_INIT;

static void decide_amx(void) {
  const sl_gemm_kernels *base = sl_gemm_for_isa(sl_kernels_get()->isa);
  int bf16;
  if (!sl_amx_cpu(&bf16)) {
    amx_state = SL_AMX_NO_CPU;
  } else if (sl_kernels_get()->isa != SL_ISA_AVX512 || sl_isa_env_caps()) {
    amx_state = SL_AMX_CAPPED;
  } else {
    amx_table = *base;
    amx_state = sl_amx_enable(&amx_table);
    amx_on = strncmp(amx_state, SL_AMX_ON, strlen(SL_AMX_ON)) == 0;
  }
}

const sl_gemm_kernels *sl_gemm_amx(void) {
  pthread_once(&amx_once, decide_amx);
  return amx_on ? &amx_table : NULL;
}

const char *sl_gemm_amx_state(void) {
  pthread_once(&amx_once, decide_amx);
  return amx_state;
}

const sl_gemm_kernels *sl_gemm_get(void) {
  const sl_gemm_kernels *amx = sl_gemm_amx();
  return amx ? amx : sl_gemm_for_isa(sl_kernels_get()->isa);
}
