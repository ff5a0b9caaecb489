/*
** gemm_f32.c: the packing of float32 weights, the scalar versions of gemm_f32.h's
** products (the reference, and what runs off x86), and the choice of level (the one
** kernels.h chose). order.h's order at every level: the scalar code below is the
** definition the SIMD levels reproduce bit for bit.
*/
#include <pthread.h>
#include <string.h>

#include "gemm_f32.h"
#include "order.h"

#if defined(__x86_64__) || defined(_M_X64)
#define SL_X86 1
#endif

#define LANES SL_ORDER_LANES

size_t sl_f32_packed_floats(size_t N, size_t K) {
  size_t panels = (N + SL_F32_PANEL - 1) / SL_F32_PANEL, chunks = (K + LANES - 1) / LANES;
  return panels * chunks * SL_F32_PANEL * LANES;
}

void sl_f32_pack(const float *w, size_t ldw, size_t N, size_t K, float *wp) {
  size_t panels = (N + SL_F32_PANEL - 1) / SL_F32_PANEL, chunks = (K + LANES - 1) / LANES;
  for (size_t p = 0; p < panels; p++)
    for (size_t c = 0; c < chunks; c++)
      for (size_t j = 0; j < SL_F32_PANEL; j++) {
        float *o = wp + ((p * chunks + c) * SL_F32_PANEL + j) * LANES;
        size_t n = p * SL_F32_PANEL + j, k0 = c * LANES, nk = K - k0 < LANES ? K - k0 : LANES;
        memset(o, 0, LANES * sizeof *o);
        if (n < N) memcpy(o, w + n * ldw + k0, nk * sizeof *o);
      }
}

/* One output of the packed product: panel chunks of column j (16 floats each, LANES
** apart from one chunk of the panel to the next column's), order.h's sum. hw: the CPU's
** fused product, else order.h's emulation. */
static inline __attribute__((always_inline)) float packed_sum(const float *a, const float *w, size_t K,
                                                              const int hw) {
  float s[LANES] = {0};
  size_t k = 0;
  for (; k + LANES <= K; k += LANES, w += SL_F32_PANEL * LANES) {
    if (hw)
      for (int l = 0; l < LANES; l++) s[l] = __builtin_fmaf(a[k + l], w[l], s[l]);
    else
      sl_fma16(a + k, w, s);
  }
  for (int l = 0; k < K; k++, l++) s[l] = hw ? __builtin_fmaf(a[k], w[l], s[l]) : sl_fmaf(a[k], w[l], s[l]);
  return sl_order_fold(s);
}

static inline __attribute__((always_inline)) void packed_all(const float *x, size_t ldx, size_t M,
                                                             const float *wp, size_t K, const float *bias,
                                                             size_t n0, size_t n1, float *y, size_t ldy,
                                                             const int hw) {
  const size_t chunks = (K + LANES - 1) / LANES;
  for (size_t m = 0; m < M; m++)
    for (size_t n = n0; n < n1; n++) {
      const float *w = wp + ((n / SL_F32_PANEL) * chunks * SL_F32_PANEL + n % SL_F32_PANEL) * LANES;
      y[m * ldy + n] = packed_sum(x + m * ldx, w, K, hw) + (bias ? bias[n] : 0.0f);
    }
}

/* gemm_kn: the same sum with B read down a column. */
static inline __attribute__((always_inline)) void kn_all(const float *x, size_t ldx, size_t M, const float *b,
                                                         size_t bl, size_t bt, size_t N, size_t K, float *y,
                                                         size_t ldy, const int hw) {
  for (size_t m = 0; m < M; m++)
    for (size_t n = 0; n < N; n++) {
      const float *a = x + m * ldx;
      float s[LANES] = {0};
      for (size_t k = 0; k < K; k++) {
        const float bk = b[k % LANES * bl + k / LANES * bt + n];
        s[k % LANES] = hw ? __builtin_fmaf(a[k], bk, s[k % LANES]) : sl_fmaf(a[k], bk, s[k % LANES]);
      }
      y[m * ldy + n] = sl_order_fold(s);
    }
}

static void gemm_packed(const float *x, size_t ldx, size_t M, const float *wp, size_t K, const float *bias,
                        size_t n0, size_t n1, float *y, size_t ldy) {
  packed_all(x, ldx, M, wp, K, bias, n0, n1, y, ldy, 0);
}

static void gemm_kn(const float *x, size_t ldx, size_t M, const float *b, size_t bl, size_t bt, size_t N,
                    size_t K, float *y, size_t ldy) {
  kn_all(x, ldx, M, b, bl, bt, N, K, y, ldy, 0);
}

#ifdef SL_X86
/* The scalar level on a CPU with FMA (SEMLITE_ISA=scalar on an AVX2 machine). */
__attribute__((target("fma"))) static void gemm_packed_fma(const float *x, size_t ldx, size_t M,
                                                           const float *wp, size_t K, const float *bias,
                                                           size_t n0, size_t n1, float *y, size_t ldy) {
  packed_all(x, ldx, M, wp, K, bias, n0, n1, y, ldy, 1);
}

__attribute__((target("fma"))) static void gemm_kn_fma(const float *x, size_t ldx, size_t M, const float *b,
                                                       size_t bl, size_t bt, size_t N, size_t K, float *y,
                                                       size_t ldy) {
  kn_all(x, ldx, M, b, bl, bt, N, K, y, ldy, 1);
}
#endif

static const sl_f32_kernels scalar = {"scalar", gemm_packed, gemm_kn};

static sl_f32_kernels levels[SL_ISA_AVX512 + 1];
static sl_isa best;
static pthread_once_t levels_once = PTHREAD_ONCE_INIT;

static void build_levels(void) {
  best = sl_cpu_best_isa();
  levels[SL_ISA_SCALAR] = scalar;
#ifdef SL_X86
  if (best >= SL_ISA_AVX2) {
    levels[SL_ISA_SCALAR].gemm_packed = gemm_packed_fma;
    levels[SL_ISA_SCALAR].gemm_kn = gemm_kn_fma;
  }
#endif
  levels[SL_ISA_AVX2] = levels[SL_ISA_SCALAR];
  if (best >= SL_ISA_AVX2) sl_f32_fill_avx2(&levels[SL_ISA_AVX2]);
  levels[SL_ISA_AVX512] = levels[SL_ISA_AVX2];
  if (best >= SL_ISA_AVX512) sl_f32_fill_avx512(&levels[SL_ISA_AVX512]);
}

const sl_f32_kernels *sl_f32_scalar_nofma(void) { return &scalar; }

const sl_f32_kernels *sl_f32_for_isa(sl_isa isa) {
  if ((unsigned)isa > SL_ISA_AVX512) return NULL;
  pthread_once(&levels_once, build_levels);
  return &levels[isa > best ? best : isa];
}

const sl_f32_kernels *sl_f32_get(void) { return sl_f32_for_isa(sl_kernels_get()->isa); }
