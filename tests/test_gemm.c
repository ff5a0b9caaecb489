/*
** test_gemm.c: tests of the reduced-precision matrix products (ext/kernels/gemm.h) at
** every level this CPU runs (scalar, AVX2, AVX-512 with VNNI / BF16 where present).
**
**   quantize_rows  against the rule in gemm_isa.h, written out again here: xs exactly
**                  max|x|/127, round to nearest even (ties checked), zero and
**                  non-finite rows, the padding with 128 up to ldq; bytes past the
**                  output untouched
**   gemm_i8        exact: each level's output equals, bit for bit, an int64 sum of
**                  xq*wq followed by the float epilogue of gemm_isa.h, over M in
**                  {1..7, 12, 33}, K in {64, 384, 1536}, column slices with odd bounds,
**                  extreme bytes (xu 0 and 255, wq +-127); outside the slice and below
**                  row M nothing is written. End to end (quantized from floats, K padded
**                  from 380 and 1000) within the quantization error bound
**   to_bf16        against a reference that picks the nearer of the two neighbouring
**                  bf16 values in double (ties to even), on ties, NaN, inf, denormals,
**                  FLT_MAX, at every tail length
**   gemm_bf16      against the exact double sum of the bf16 products, within the bound
**                  of float summation in any order: (K+1) 2^-24 (sum |x w| + |b|)
**   gemm_f32       against the double sum within the bound of float summation; each row's
**                  result bit-identical whatever M, the row's place and the column slice
**                  (what makes embed() equal embed_each()); odd K, strides, no bias;
**                  and every level bit-identical to the scalar one (order.h)
**   gemm_f32.h     gemm_packed (weights packed by sl_f32_pack) and gemm_kn (B [K][N],
**                  row-major and leaf-major) equal, bit for bit, gemm_f32 on the same
**                  operands at every level and without FMA: slices from any panel, rows
**                  past M and columns outside the slice untouched
** Speed is measured by bench/kernels (make bench-kernels), never here.
*/
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "../ext/kernels/gemm_f32.h"
#include "../ext/kernels/gemm_isa.h"
#include "test.h"

#define GUARD -1234.5f

/* The distinct tables this machine runs, lowest level first, with their level names. */
static int tables(const sl_gemm_kernels *out[3], const char *names[3]) {
  static const char *isa_names[] = {"scalar", "avx2", "avx512"};
  int n = 0;
  for (int i = SL_ISA_SCALAR; i <= (int)sl_cpu_best_isa(); i++) {
    out[n] = sl_gemm_for_isa((sl_isa)i);
    names[n++] = isa_names[i];
  }
  return n;
}

static uint64_t rng_next(uint64_t *s) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return *s >> 11;
}
static float urand(uint64_t *s, float lo, float hi) {
  return lo + (hi - lo) * (float)((double)rng_next(s) / 9007199254740992.0);
}
static int irand(uint64_t *s, int lo, int hi) { return lo + (int)(rng_next(s) % (uint64_t)(hi - lo + 1)); }

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) abort();
  return p;
}

static float f32_from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}
static float bf16_value(uint16_t h) { return f32_from_bits((uint32_t)h << 16); }
static size_t kpad(size_t k) { return (k + SL_GEMM_K_ALIGN - 1) / SL_GEMM_K_ALIGN * SL_GEMM_K_ALIGN; }

/* ---- levels -------------------------------------------------------------------------- */

static void test_levels(void) {
  const sl_gemm_kernels *all[3];
  const char *names[3];
  int n = tables(all, names);
  CHECK_INT(n, (int)sl_cpu_best_isa() + 1);
  for (int i = 0; i < n; i++) {
    const sl_gemm_kernels *k = all[i];
    CHECK(k->i8_name && k->bf16_name && k->quantize_rows && k->gemm_i8 && k->to_bf16 && k->gemm_bf16);
  }
  CHECK_STR(all[0]->i8_name, "scalar");
  CHECK_STR(all[0]->bf16_name, "scalar");
  CHECK(sl_gemm_for_isa((sl_isa)3) == NULL);
  CHECK(sl_gemm_get() == sl_gemm_for_isa(sl_kernels_get()->isa));
#if defined(__x86_64__) && defined(__GNUC__)
  /* The names say which instructions run; check them against the compiler's cpuid. */
  __builtin_cpu_init();
  if (sl_cpu_best_isa() >= SL_ISA_AVX2) {
    CHECK_STR(all[1]->i8_name, "avx2");
    CHECK_STR(all[1]->bf16_name, "avx2");
  }
  if (sl_cpu_best_isa() >= SL_ISA_AVX512) {
    CHECK_STR(all[2]->i8_name, __builtin_cpu_supports("avx512vnni") ? "avx512-vnni" : "avx2");
#if __GNUC__ >= 12 || defined(__clang__)
    CHECK_STR(all[2]->bf16_name, __builtin_cpu_supports("avx512bf16") ? "avx512-bf16" : "avx2");
#endif
  }
#endif
  /* An AVX-512 CPU without VNNI or BF16 keeps the AVX2 products. */
  if (sl_cpu_best_isa() >= SL_ISA_AVX512) {
    sl_gemm_kernels t = *all[1];
    sl_gemm_fill_avx512(&t, 0, 0);
    CHECK(t.gemm_i8 == all[1]->gemm_i8 && t.gemm_bf16 == all[1]->gemm_bf16);
    CHECK_STR(t.i8_name, "avx2");
    CHECK_STR(t.bf16_name, "avx2");
    CHECK(t.quantize_rows == all[2]->quantize_rows && t.to_bf16 == all[2]->to_bf16);
  }
}

/* ---- quantize_rows ------------------------------------------------------------------- */

/* gemm_isa.h's rule, written independently: the byte for x in a row of maximum amax. */
static uint8_t quantize_ref(float x, float amax) {
  float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
  double v = (double)(x * inv);
  if (isnan(v)) v = 0;
  v = fmin(127, fmax(-127, v));
  double r = floor(v), d = v - r;
  if (d > 0.5 || (d == 0.5 && fmod(r, 2) != 0)) r += 1; /* to nearest, ties to even */
  return (uint8_t)((int)r + 128);
}

static float row_amax(const float *x, size_t n) {
  float m = 0;
  for (size_t i = 0; i < n; i++) {
    if (isnan(x[i])) return NAN;
    if (fabsf(x[i]) > m) m = fabsf(x[i]);
  }
  return m;
}

static void test_quantize(void) {
  static const size_t ks[] = {1, 7, 15, 16, 17, 63, 64, 65, 100, 380, 384, 1536};
  const sl_gemm_kernels *all[3];
  const char *names[3];
  int nt = tables(all, names);
  uint64_t seed = 3;
  enum { ROWS = 9 };
  for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
    const size_t K = ks[ki], ldx = K + 5, ldq = kpad(K) + (ki % 2 ? 64 : 0);
    float *x = xmalloc(ROWS * ldx * sizeof *x);
    for (size_t i = 0; i < ROWS * ldx; i++) x[i] = GUARD;
    for (size_t r = 0; r < ROWS; r++) {
      float *p = x + r * ldx;
      for (size_t i = 0; i < K; i++) p[i] = urand(&seed, -3, 3);
      switch (r) {
      case 0: for (size_t i = 0; i < K; i++) p[i] = 0.0f; break;           /* zero row */
      case 1: for (size_t i = 0; i < K; i++) p[i] = -0.0f; break;
      case 2: /* amax = 127: inv = 1, so x.5 are exact ties */
        for (size_t i = 0; i < K; i++) p[i] = (float)((int)(i % 9) - 4) + 0.5f;
        p[K - 1] = -127.0f;
        break;
      case 3: p[K / 2] = NAN; break;
      case 4: p[K - 1] = INFINITY; break;
      case 5: /* denormals only: 127/amax overflows to inf, the clamp takes over */
        for (size_t i = 0; i < K; i++) p[i] = f32_from_bits((uint32_t)irand(&seed, 0, 3)) * (i % 2 ? -1.0f : 1.0f);
        break;
      case 6: for (size_t i = 0; i < K; i++) p[i] *= 1e-30f; break;
      case 7: p[0] = 3e38f; break;
      default: break;
      }
    }
    uint8_t *want = xmalloc(ROWS * ldq + 1), *got = xmalloc(ROWS * ldq + 1);
    float wxs[ROWS], gxs[ROWS];
    for (size_t r = 0; r < ROWS; r++) {
      float amax = row_amax(x + r * ldx, K);
      wxs[r] = amax / 127.0f;
      for (size_t i = 0; i < ldq; i++) want[r * ldq + i] = i < K ? quantize_ref(x[r * ldx + i], amax) : 128;
    }
    for (int t = 0; t < nt; t++) {
      memset(got, 0xA5, ROWS * ldq + 1);
      for (size_t r = 0; r < ROWS; r++) gxs[r] = GUARD;
      all[t]->quantize_rows(x, ldx, ROWS, K, got, ldq, gxs);
      CHECK_MSG(got[ROWS * ldq] == 0xA5, "%s quantize K=%zu wrote past the end", names[t], K);
      for (size_t r = 0; r < ROWS; r++) {
        CHECK_MSG(memcmp(&gxs[r], &wxs[r], sizeof(float)) == 0 || (isnan(gxs[r]) && isnan(wxs[r])),
                  "%s quantize K=%zu row %zu: xs %.9g, want %.9g", names[t], K, r, gxs[r], wxs[r]);
        for (size_t i = 0; i < ldq; i++)
          if (got[r * ldq + i] != want[r * ldq + i]) {
            CHECK_MSG(0, "%s quantize K=%zu ldq=%zu [%zu][%zu]: x=%.9g got %d want %d", names[t], K,
                      ldq, r, i, i < K ? x[r * ldx + i] : 0.0f, got[r * ldq + i], want[r * ldq + i]);
            break;
          }
      }
      CHECK(gxs[0] == 0 && gxs[1] == 0);
      CHECK(isnan(gxs[3]) && isinf(gxs[4]));
      for (size_t i = 0; i < K; i++) CHECK(got[i] == 128 && got[ldq + i] == 128);
    }
    /* ties to even, spelled out: x.5 with inv = 1 */
    if (K >= 9)
      for (size_t i = 0; i < 8; i++) {
        static const int even[8] = {-4, -2, -2, 0, 0, 2, 2, 4}; /* -3.5 -2.5 ... 3.5 */
        CHECK_INT((int)want[2 * ldq + i] - 128, even[i]);
      }
    free(x);
    free(want);
    free(got);
  }
}

/* ---- gemm_i8 ------------------------------------------------------------------------- */

typedef struct i8_case {
  size_t M, N, K, ldq, ldy;
  uint8_t *xu;
  float *xs;
  int8_t *wq;
  float *ws, *bias;
  int32_t *wsum;
} i8_case;

/* Random operands; pattern 1 puts the extreme bytes in (xu 0 and 255, wq +-127). */
static void i8_case_init(i8_case *c, size_t M, size_t N, size_t K, int pattern, uint64_t *seed) {
  c->M = M, c->N = N, c->K = K, c->ldq = K + (K == 384 ? 64 : 0), c->ldy = N + 7;
  c->xu = xmalloc(M * c->ldq);
  c->xs = xmalloc(M * sizeof *c->xs);
  c->wq = xmalloc(N * K);
  c->ws = xmalloc(N * sizeof *c->ws);
  c->bias = xmalloc(N * sizeof *c->bias);
  c->wsum = xmalloc(N * sizeof *c->wsum);
  for (size_t m = 0; m < M; m++) {
    c->xs[m] = urand(seed, 1e-3f, 0.1f);
    for (size_t k = 0; k < c->ldq; k++) {
      int v = irand(seed, 1, 255);
      if (pattern == 1) v = m % 3 == 0 ? 255 : m % 3 == 1 ? 0 : (k % 2 ? 255 : 0);
      c->xu[m * c->ldq + k] = (uint8_t)v;
    }
  }
  for (size_t n = 0; n < N; n++) {
    int32_t s = 0;
    for (size_t k = 0; k < K; k++) {
      int v = irand(seed, -127, 127);
      if (pattern == 1) v = n % 3 == 0 ? 127 : n % 3 == 1 ? -127 : (k % 3 ? 127 : -127);
      c->wq[n * K + k] = (int8_t)v;
      s += v;
    }
    c->wsum[n] = s;
    c->ws[n] = urand(seed, 1e-3f, 0.05f);
    c->bias[n] = urand(seed, -1, 1);
  }
}

static void i8_case_free(i8_case *c) {
  free(c->xu), free(c->xs), free(c->wq), free(c->ws), free(c->bias), free(c->wsum);
}

/* gemm_isa.h's epilogue on an int64 sum of xq*wq. */
static float i8_ref(const i8_case *c, size_t m, size_t n, const float *bias) {
  int64_t acc = 0;
  for (size_t k = 0; k < c->K; k++) acc += (int64_t)((int)c->xu[m * c->ldq + k] - 128) * c->wq[n * c->K + k];
  float s = c->xs[m] * c->ws[n];
  return (float)(int32_t)acc * s + (bias ? bias[n] : 0.0f);
}

/* Runs one slice at every level; each output must equal the reference's bits, and
** everything outside the slice and below row M keep its guard. */
static void i8_check(const i8_case *c, size_t n0, size_t n1, int with_bias) {
  const sl_gemm_kernels *all[3];
  const char *names[3];
  int nt = tables(all, names);
  const float *bias = with_bias ? c->bias : NULL;
  const size_t ny = (c->M + 1) * c->ldy;
  float *y = xmalloc(ny * sizeof *y);
  for (int t = 0; t < nt; t++) {
    for (size_t i = 0; i < ny; i++) y[i] = GUARD;
    all[t]->gemm_i8(c->xu, c->ldq, c->xs, c->M, c->wq, c->ws, c->wsum, bias, n0, n1, c->K, y, c->ldy);
    int bad = 0;
    for (size_t m = 0; m <= c->M && !bad; m++)
      for (size_t n = 0; n < c->ldy && !bad; n++) {
        float got = y[m * c->ldy + n];
        float want = m < c->M && n >= n0 && n < n1 ? i8_ref(c, m, n, bias) : GUARD;
        if (memcmp(&got, &want, sizeof got) != 0) {
          CHECK_MSG(0, "%s gemm_i8 M=%zu K=%zu [%zu,%zu) bias=%d: y[%zu][%zu] = %.9g, want %.9g",
                    all[t]->i8_name, c->M, c->K, n0, n1, with_bias, m, n, got, want);
          bad = 1;
        }
      }
  }
  free(y);
}

static void test_i8_exact(void) {
  static const size_t Ms[] = {1, 2, 3, 4, 5, 6, 7, 12, 33};
  static const size_t Ks[] = {64, 384, 1536};
  uint64_t seed = 5;
  for (size_t ki = 0; ki < 3; ki++)
    for (size_t mi = 0; mi < sizeof Ms / sizeof Ms[0]; mi++) {
      i8_case c;
      i8_case_init(&c, Ms[mi], 41, Ks[ki], 0, &seed);
      i8_check(&c, 0, 41, 1);
      i8_check(&c, 3, 37, 1);
      i8_check(&c, 5, 6, mi % 2);
      i8_check(&c, 40, 41, 1);
      i8_check(&c, 7, 7, 1); /* empty slice: writes nothing */
      i8_case_free(&c);
    }
  /* the largest sums: xu 0/255 against wq +-127 */
  for (size_t ki = 0; ki < 3; ki++) {
    i8_case c;
    i8_case_init(&c, 7, 13, Ks[ki], 1, &seed);
    i8_check(&c, 0, 13, 1);
    i8_check(&c, 1, 12, 0);
    i8_case_free(&c);
  }
}

/* Per-output-channel symmetric weights, as the engine makes them at load. */
static void quantize_weights(const float *w, size_t N, size_t K, size_t Kp, int8_t *wq, float *ws, int32_t *wsum) {
  for (size_t n = 0; n < N; n++) {
    float amax = row_amax(w + n * K, K);
    ws[n] = amax / 127.0f;
    int32_t s = 0;
    for (size_t k = 0; k < Kp; k++) {
      int v = k < K && amax > 0 ? (int)lrintf(w[n * K + k] * (127.0f / amax)) : 0;
      wq[n * Kp + k] = (int8_t)v;
      s += v;
    }
    wsum[n] = s;
  }
}

/* From floats: K padded from 380 and 1000, a zero row (exactly bias), against the double
** product within what the two quantizations can move it:
**   |err| <= sum_k (|x| ws/2 + |w| xs/2 + xs ws/4) + 1e-6 (|y| + |b|) */
static void test_i8_end_to_end(void) {
  static const size_t Ks[] = {380, 384, 1000};
  const sl_gemm_kernels *all[3];
  const char *names[3];
  int nt = tables(all, names);
  uint64_t seed = 9;
  const size_t M = 12, N = 37;
  for (size_t ki = 0; ki < 3; ki++) {
    const size_t K = Ks[ki], Kp = kpad(K);
    float *x = xmalloc(M * K * sizeof *x), *w = xmalloc(N * K * sizeof *w), *b = xmalloc(N * sizeof *b);
    for (size_t i = 0; i < M * K; i++) x[i] = urand(&seed, -2, 2);
    for (size_t i = 0; i < K; i++) x[5 * K + i] = 0;
    for (size_t i = 0; i < N * K; i++) w[i] = urand(&seed, -0.1f, 0.1f);
    for (size_t i = 0; i < N; i++) b[i] = urand(&seed, -1, 1);
    int8_t *wq = xmalloc(N * Kp);
    float *ws = xmalloc(N * sizeof *ws), *xs = xmalloc(M * sizeof *xs), *y = xmalloc(M * N * sizeof *y);
    int32_t *wsum = xmalloc(N * sizeof *wsum);
    uint8_t *xu = xmalloc(M * Kp);
    quantize_weights(w, N, K, Kp, wq, ws, wsum);
    for (int t = 0; t < nt; t++) {
      all[t]->quantize_rows(x, K, M, K, xu, Kp, xs);
      all[t]->gemm_i8(xu, Kp, xs, M, wq, ws, wsum, b, 0, N, Kp, y, N);
      double worst = 0;
      for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
          double ref = b[n], tol = 0;
          for (size_t k = 0; k < K; k++) {
            ref += (double)x[m * K + k] * w[n * K + k];
            tol += fabs(x[m * K + k]) * ws[n] / 2 + fabs(w[n * K + k]) * xs[m] / 2 + xs[m] * ws[n] / 4;
          }
          tol += 1e-6 * (fabs(ref) + fabs(b[n]));
          double e = fabs(y[m * N + n] - ref) / tol;
          if (!(e <= worst)) worst = e;
          if (m == 5) CHECK(y[m * N + n] == b[n]);
        }
      CHECK_MSG(worst <= 1, "%s int8 K=%zu: %.2f of the quantization bound", all[t]->i8_name, K, worst);
    }
    free(x), free(w), free(b), free(wq), free(ws), free(xs), free(y), free(wsum), free(xu);
  }
}

/* ---- bf16 ---------------------------------------------------------------------------- */

/* The nearer of the two bf16 neighbours of x, in double; ties to the even one. */
static uint16_t bf16_ref(float x) {
  uint32_t u = sl_f32_bits(x);
  if (isnan(x)) return (uint16_t)((u >> 16) | 0x40);
  uint16_t lo = (uint16_t)(u >> 16), hi = (uint16_t)(lo + 1);
  if ((u & 0xffff) == 0) return lo;
  double dl = fabs((double)x - bf16_value(lo));
  double vh = (hi & 0x7fff) == 0x7f80 ? ldexp(copysign(1.0, x), 128) : bf16_value(hi); /* past the max */
  double dh = fabs((double)x - vh);
  if (dl < dh) return lo;
  if (dh < dl) return hi;
  return lo % 2 ? hi : lo;
}

static void test_bf16_round(void) {
  static const uint32_t special[] = {
    0x3f808000, 0x3f818000, 0x3f808001, 0x3f807fff, 0xbf808000, 0xbf818000, /* ties, near */
    0x7f800000, 0xff800000, 0x7f800001, 0xffc00000, 0x7fffffff, 0x7fbfffff, 0xff800001,
    0x00000001, 0x00008000, 0x00018000, 0x00007fff, 0x80008000, 0x807fffff, 0x007fffff,
    0x00800000, 0x80000000, 0x00000000, 0x7f7fffff, 0xff7fffff, 0x7f7f7fff, 0x7f7f8000,
    0x7f7e8000, 0x3f800000, 0x4049ffff,
  };
  const size_t ns = sizeof special / sizeof special[0];
  const sl_gemm_kernels *all[3];
  const char *names[3];
  int nt = tables(all, names);
  uint64_t seed = 21;
  float x[80];
  uint16_t got[81];
  for (size_t n = 0; n <= 70; n++)
    for (int t = 0; t < nt; t++) {
      for (size_t i = 0; i < n; i++)
        x[i] = i % 2 ? f32_from_bits(special[(i / 2 + n) % ns]) : f32_from_bits((uint32_t)rng_next(&seed));
      for (size_t i = 0; i <= n; i++) got[i] = 0xBEEF;
      all[t]->to_bf16(x, n, got);
      CHECK_MSG(got[n] == 0xBEEF, "%s to_bf16 n=%zu wrote past the end", names[t], n);
      for (size_t i = 0; i < n; i++) {
        uint16_t want = bf16_ref(x[i]);
        CHECK_MSG(got[i] == want, "%s to_bf16 n=%zu [%zu]: 0x%08x -> 0x%04x, want 0x%04x", names[t], n,
                  i, sl_f32_bits(x[i]), got[i], want);
        CHECK(sl_bf16_round(x[i]) == want);
      }
    }
  /* the spelled-out expectations behind the reference */
  CHECK_INT(bf16_ref(f32_from_bits(0x3f808000)), 0x3f80); /* tie, down to even */
  CHECK_INT(bf16_ref(f32_from_bits(0x3f818000)), 0x3f82); /* tie, up to even */
  CHECK_INT(bf16_ref(f32_from_bits(0x7f800001)), 0x7fc0); /* signaling NaN: quiet, not inf */
  CHECK_INT(bf16_ref(f32_from_bits(0x7f7fffff)), 0x7f80); /* FLT_MAX rounds to inf */
  CHECK_INT(bf16_ref(f32_from_bits(0x00008000)), 0x0000); /* denormal tie to even zero */
  CHECK_INT(bf16_ref(f32_from_bits(0x00018000)), 0x0002);
  CHECK_INT(bf16_ref(f32_from_bits(0x807fffff)), 0x8080); /* largest denormal up to FLT_MIN */
}

/* Exact double sum of the products of bf16 operands; the bound of float summation. */
static void bf16_check(const sl_gemm_kernels *kt, size_t M, size_t N, size_t K, size_t n0, size_t n1,
                       int with_bias, uint64_t *seed) {
  const size_t ldx = K + 32, ldy = N + 3;
  uint16_t *xb = xmalloc(M * ldx * 2), *wb = xmalloc(N * K * 2);
  float *bias = xmalloc(N * sizeof *bias), *y = xmalloc((M + 1) * ldy * sizeof *y);
  for (size_t m = 0; m < M; m++)
    for (size_t k = 0; k < ldx; k++) xb[m * ldx + k] = sl_bf16_round(urand(seed, -2, 2));
  for (size_t i = 0; i < N * K; i++) wb[i] = sl_bf16_round(urand(seed, -0.2f, 0.2f));
  for (size_t n = 0; n < N; n++) bias[n] = with_bias ? urand(seed, -1, 1) : 0.0f;
  for (size_t i = 0; i < (M + 1) * ldy; i++) y[i] = GUARD;
  kt->gemm_bf16(xb, ldx, M, wb, with_bias ? bias : NULL, n0, n1, K, y, ldy);
  double worst = 0;
  size_t wm = 0, wn = 0;
  int guards = 1;
  for (size_t m = 0; m <= M; m++)
    for (size_t n = 0; n < ldy; n++) {
      float got = y[m * ldy + n];
      if (m == M || n < n0 || n >= n1) {
        if (got != GUARD) guards = 0;
        continue;
      }
      double ref = bias[n], mag = fabs(bias[n]);
      for (size_t kk = 0; kk < K; kk++) {
        double p = (double)bf16_value(xb[m * ldx + kk]) * bf16_value(wb[n * K + kk]);
        ref += p, mag += fabs(p);
      }
      double e = fabs(got - ref) / ((double)(K + 1) * ldexp(mag, -24));
      if (!(e <= worst)) worst = e, wm = m, wn = n;
    }
  CHECK_MSG(guards, "%s gemm_bf16 M=%zu K=%zu [%zu,%zu): wrote outside the slice", kt->bf16_name, M, K,
            n0, n1);
  CHECK_MSG(worst <= 1, "%s gemm_bf16 M=%zu K=%zu [%zu,%zu): y[%zu][%zu] %.2f of the bound", kt->bf16_name, M,
            K, n0, n1, wm, wn, worst);
  free(xb), free(wb), free(bias), free(y);
}

static void test_bf16_gemm(void) {
  static const size_t Ms[] = {1, 2, 3, 4, 5, 6, 7, 12, 33};
  static const size_t Ks[] = {64, 384, 1536};
  const sl_gemm_kernels *all[3];
  const char *names[3];
  int nt = tables(all, names);
  uint64_t seed = 31;
  for (int t = 0; t < nt; t++)
    for (size_t ki = 0; ki < 3; ki++)
      for (size_t mi = 0; mi < sizeof Ms / sizeof Ms[0]; mi++) {
        bf16_check(all[t], Ms[mi], 41, Ks[ki], 0, 41, 1, &seed);
        bf16_check(all[t], Ms[mi], 41, Ks[ki], 3, 37, 1, &seed);
        bf16_check(all[t], Ms[mi], 41, Ks[ki], 5, 6, mi % 2, &seed);
        bf16_check(all[t], Ms[mi], 41, Ks[ki], 40, 41, 1, &seed);
        bf16_check(all[t], Ms[mi], 41, Ks[ki], 7, 7, 1, &seed);
      }
}

/* K padded from 380: to_bf16 on the real row, zeros after it, as the engine does. Every
** level's products agree with the fp32 double product within the bf16 rounding of both
** operands, 2^-8 relative each. */
static void test_bf16_end_to_end(void) {
  const sl_gemm_kernels *all[3];
  const char *names[3];
  int nt = tables(all, names);
  uint64_t seed = 37;
  const size_t M = 7, N = 19, K = 380, Kp = kpad(K);
  float *x = xmalloc(M * K * sizeof *x), *w = xmalloc(N * K * sizeof *w), *b = xmalloc(N * sizeof *b);
  float *y = xmalloc(M * N * sizeof *y);
  uint16_t *xb = xmalloc(M * Kp * 2), *wb = xmalloc(N * Kp * 2);
  for (size_t i = 0; i < M * K; i++) x[i] = urand(&seed, -2, 2);
  for (size_t i = 0; i < N * K; i++) w[i] = urand(&seed, -0.1f, 0.1f);
  for (size_t i = 0; i < N; i++) b[i] = urand(&seed, -1, 1);
  for (int t = 0; t < nt; t++) {
    memset(xb, 0, M * Kp * 2);
    memset(wb, 0, N * Kp * 2);
    for (size_t m = 0; m < M; m++) all[t]->to_bf16(x + m * K, K, xb + m * Kp);
    for (size_t n = 0; n < N; n++) all[t]->to_bf16(w + n * K, K, wb + n * Kp);
    all[t]->gemm_bf16(xb, Kp, M, wb, b, 0, N, Kp, y, N);
    double worst = 0;
    for (size_t m = 0; m < M; m++)
      for (size_t n = 0; n < N; n++) {
        double ref = b[n], mag = fabs(b[n]);
        for (size_t k = 0; k < K; k++) ref += (double)x[m * K + k] * w[n * K + k], mag += fabs((double)x[m * K + k] * w[n * K + k]);
        double e = fabs(y[m * N + n] - ref) / (mag * (2 * 0x1p-8 + (K + 1) * 0x1p-24));
        if (!(e <= worst)) worst = e;
      }
    CHECK_MSG(worst <= 1, "%s bf16 K=%zu: %.2f of the bound", all[t]->bf16_name, K, worst);
  }
  free(x), free(w), free(b), free(y), free(xb), free(wb);
}

/* ---- gemm_f32 ------------------------------------------------------------------------ */

/* One case: X (M rows, stride ldx = K + 5) and W (N rows, stride ldw = K + 3) random;
** y against the double sum within (K+1) 2^-24 (sum |x w| + |b|); nothing written outside
** the slice or below row M; and every row equal, bit for bit, to the same row computed
** alone (M = 1, the full column range) — the property the encoder relies on. */
static void f32_check(const sl_gemm_kernels *kt, size_t M, size_t N, size_t K, size_t n0, size_t n1,
                      int with_bias, uint64_t *seed) {
  const size_t ldx = K + 5, ldw = K + 3, ldy = N + 3;
  float *x = xmalloc(M * ldx * 4), *w = xmalloc(N * ldw * 4), *bias = xmalloc(N * 4);
  float *y = xmalloc((M + 1) * ldy * 4), *alone = xmalloc(N * 4);
  for (size_t i = 0; i < M * ldx; i++) x[i] = urand(seed, -2, 2);
  for (size_t i = 0; i < N * ldw; i++) w[i] = urand(seed, -0.5f, 0.5f);
  for (size_t n = 0; n < N; n++) bias[n] = with_bias ? urand(seed, -1, 1) : 0.0f;
  for (size_t i = 0; i < (M + 1) * ldy; i++) y[i] = GUARD;
  kt->gemm_f32(x, ldx, M, w, ldw, with_bias ? bias : NULL, n0, n1, K, y, ldy);
  double worst = 0;
  int guards = 1, same = 1;
  for (size_t m = 0; m <= M; m++) {
    if (m < M) kt->gemm_f32(x + m * ldx, ldx, 1, w, ldw, with_bias ? bias : NULL, 0, N, K, alone, N);
    for (size_t n = 0; n < ldy; n++) {
      float got = y[m * ldy + n];
      if (m == M || n < n0 || n >= n1) {
        if (got != GUARD) guards = 0;
        continue;
      }
      double ref = bias[n], mag = fabs(bias[n]);
      for (size_t k = 0; k < K; k++) {
        double p = (double)x[m * ldx + k] * w[n * ldw + k];
        ref += p, mag += fabs(p);
      }
      double e = fabs(got - ref) / ((double)(K + 1) * ldexp(mag, -24));
      if (!(e <= worst)) worst = e;
      if (memcmp(&got, &alone[n], sizeof got) != 0) same = 0;
    }
  }
  CHECK_MSG(guards, "%s gemm_f32 M=%zu K=%zu [%zu,%zu): wrote outside the slice", kt->f32_name, M, K, n0, n1);
  CHECK_MSG(worst <= 1, "%s gemm_f32 M=%zu K=%zu [%zu,%zu): %.2f of the bound", kt->f32_name, M, K, n0, n1,
            worst);
  CHECK_MSG(same, "%s gemm_f32 M=%zu K=%zu [%zu,%zu): a row differs from the same row alone", kt->f32_name,
            M, K, n0, n1);
  free(x), free(w), free(bias), free(y), free(alone);
}

static void test_f32_gemm(void) {
  static const size_t Ms[] = {1, 2, 3, 4, 5, 7, 12, 33};
  static const size_t Ks[] = {1, 7, 16, 32, 45, 384, 1000};
  const sl_gemm_kernels *all[3];
  const char *names[3];
  int nt = tables(all, names);
  uint64_t seed = 37;
  for (int t = 0; t < nt; t++)
    for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++)
      for (size_t mi = 0; mi < sizeof Ms / sizeof Ms[0]; mi++) {
        f32_check(all[t], Ms[mi], 41, Ks[ki], 0, 41, 1, &seed);
        f32_check(all[t], Ms[mi], 41, Ks[ki], 3, 37, mi % 2, &seed);
        f32_check(all[t], Ms[mi], 41, Ks[ki], 40, 41, 1, &seed);
        f32_check(all[t], Ms[mi], 41, Ks[ki], 7, 7, 1, &seed);
      }
}

/* order.h: every level's gemm_f32 (and the scalar one without FMA, order.h's emulation)
** equals the scalar one bit for bit, on K around each
** vector and block boundary, terms of mixed magnitudes (so that any other order rounds
** differently), strides, slices, with and without bias. */
static void test_f32_levels_exact(void) {
  static const size_t Ms[] = {1, 2, 3, 4, 5, 9, 33};
  static const size_t Ks[] = {1, 7, 8, 9, 15, 16, 17, 24, 31, 33, 47, 64, 384, 1000, 1536};
  const sl_gemm_kernels *all[3];
  const char *names[3];
  int nt = tables(all, names);
  uint64_t seed = 41;
  for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++)
    for (size_t mi = 0; mi < sizeof Ms / sizeof Ms[0]; mi++) {
      const size_t M = Ms[mi], K = Ks[ki], N = 23, ldx = K + 3, ldw = K + 1, ldy = N;
      const size_t n0 = mi % 3, n1 = N - mi % 2;
      float *x = xmalloc(M * ldx * 4), *w = xmalloc(N * ldw * 4), *bias = xmalloc(N * 4);
      float *want = xmalloc(M * ldy * 4), *got = xmalloc(M * ldy * 4);
      for (size_t i = 0; i < M * ldx; i++) x[i] = urand(&seed, -2, 2) * (i % 7 == 0 ? 1e3f : 1.0f);
      for (size_t i = 0; i < N * ldw; i++) w[i] = urand(&seed, -0.5f, 0.5f) * (i % 5 == 0 ? 1e-3f : 1.0f);
      for (size_t n = 0; n < N; n++) bias[n] = urand(&seed, -1, 1);
      const float *b = mi % 2 ? bias : NULL;
      memset(want, 0, M * ldy * 4);
      all[0]->gemm_f32(x, ldx, M, w, ldw, b, n0, n1, K, want, ldy);
      for (int t = 0; t < nt; t++) {
        /* t = 0: the scalar table without FMA, against the one this CPU runs */
        const sl_gemm_kernels *kt = t ? all[t] : sl_gemm_scalar_nofma();
        memset(got, 0, M * ldy * 4);
        kt->gemm_f32(x, ldx, M, w, ldw, b, n0, n1, K, got, ldy);
        size_t diff = 0;
        for (size_t i = 0; i < M * ldy; i++)
          if (memcmp(&got[i], &want[i], sizeof got[i]) != 0) diff++;
        CHECK_MSG(diff == 0, "%s gemm_f32 M=%zu K=%zu [%zu,%zu): %zu outputs differ from scalar's bits",
                  t ? names[t] : "scalar without FMA", M, K, n0, n1, diff);
      }
      free(x), free(w), free(bias), free(want), free(got);
    }
}

/* gemm_f32.h: both products equal the scalar gemm_f32 bit for bit (order.h's order), at
** every level (t = 0: the scalar table without FMA). Guards around the outputs catch
** writes outside the slice. */
static void test_f32_packed_exact(void) {
  static const size_t Ms[] = {1, 2, 3, 4, 5, 8, 13, 33};
  static const size_t Ks[] = {1, 7, 15, 16, 17, 32, 33, 47, 64, 100, 384};
  static const size_t Ns[] = {1, 5, 16, 23, 40};
  const sl_gemm_kernels *ref = sl_gemm_for_isa(SL_ISA_SCALAR);
  uint64_t seed = 43;
  for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++)
    for (size_t mi = 0; mi < sizeof Ms / sizeof Ms[0]; mi++)
      for (size_t ni = 0; ni < sizeof Ns / sizeof Ns[0]; ni++) {
        const size_t M = Ms[mi], K = Ks[ki], N = Ns[ni], ldx = K + 3, ldy = N + 2;
        const size_t n0 = N > 4 && mi % 2 ? SL_F32_PANEL : 0, n1 = N - (N > 8 && ki % 2);
        const size_t lt = (K + 15) / 16, ldb = N + 1;
        float *x = xmalloc(M * ldx * 4), *w = xmalloc(N * K * 4), *bias = xmalloc(N * 4);
        float *wp = xmalloc(sl_f32_packed_floats(N, K) * 4), *bt = xmalloc(K * ldb * 4);
        float *bl = xmalloc(16 * lt * ldb * 4);
        float *want = xmalloc((M + 1) * ldy * 4), *got = xmalloc((M + 1) * ldy * 4);
        for (size_t i = 0; i < M * ldx; i++) x[i] = urand(&seed, -2, 2) * (i % 7 == 0 ? 1e3f : 1.0f);
        for (size_t i = 0; i < N * K; i++) w[i] = urand(&seed, -0.5f, 0.5f) * (i % 5 == 0 ? 1e-3f : 1.0f);
        for (size_t n = 0; n < N; n++) bias[n] = urand(&seed, -1, 1);
        sl_f32_pack(w, K, N, K, wp);
        for (size_t k = 0; k < K; k++)   /* B = W^T, row-major and leaf-major */
          for (size_t n = 0; n < N; n++) bt[k * ldb + n] = bl[(k % 16 * lt + k / 16) * ldb + n] = w[n * K + k];
        const float *b = (mi + ni) % 2 ? bias : NULL;
        for (int form = 0; form < 3; form++) {
          for (size_t i = 0; i < (M + 1) * ldy; i++) want[i] = GUARD;
          if (form == 0) ref->gemm_f32(x, ldx, M, w, K, b, n0, n1, K, want, ldy);
          else ref->gemm_f32(x, ldx, M, w, K, NULL, 0, N, K, want, ldy);
          for (int t = 0; t <= (int)sl_cpu_best_isa(); t++) {
            const sl_f32_kernels *kt = t ? sl_f32_for_isa((sl_isa)t) : sl_f32_scalar_nofma();
            for (size_t i = 0; i < (M + 1) * ldy; i++) got[i] = GUARD;
            if (form == 0) kt->gemm_packed(x, ldx, M, wp, K, b, n0, n1, got, ldy);
            else if (form == 1) kt->gemm_kn(x, ldx, M, bt, ldb, 16 * ldb, N, K, got, ldy);
            else kt->gemm_kn(x, ldx, M, bl, lt * ldb, ldb, N, K, got, ldy);
            size_t diff = 0;
            for (size_t i = 0; i < (M + 1) * ldy; i++)
              if (memcmp(&got[i], &want[i], sizeof got[i]) != 0) diff++;
            CHECK_MSG(diff == 0, "%s %s M=%zu N=%zu K=%zu: %zu outputs differ from gemm_f32's bits",
                      t ? kt->name : "scalar without FMA",
                      form == 0 ? "gemm_packed" : form == 1 ? "gemm_kn row-major" : "gemm_kn leaf-major", M, N, K,
                      diff);
          }
        }
        free(x), free(w), free(bias), free(wp), free(bt), free(bl), free(want), free(got);
      }
}

const sl_test gemm_tests[] = {
  {"levels", test_levels},
  {"quantize", test_quantize},
  {"i8_exact", test_i8_exact},
  {"i8_end_to_end", test_i8_end_to_end},
  {"bf16_round", test_bf16_round},
  {"bf16_gemm", test_bf16_gemm},
  {"bf16_end_to_end", test_bf16_end_to_end},
  {"f32_gemm", test_f32_gemm},
  {"f32_levels_exact", test_f32_levels_exact},
  {"f32_packed_exact", test_f32_packed_exact},
  {0, 0},
};
