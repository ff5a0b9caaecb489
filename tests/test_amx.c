/*
** test_amx.c: the packed-weight products (gemm.h's panels) and AMX (ext/kernels/amx.h).
**
**   packed_i8     every packed int8 product this machine has (AVX-512 VNNI, AMX when it
**                 runs, and gemm_amx.h's tile loop over a C model of the tiles on any
**                 AVX-512 CPU) equals the scalar in-place product bit for bit, on shapes
**                 around the 6-row, 16-row and 32-row blocks and the 16-column panels,
**                 on slices that start and end inside the matrix; outside the slice and
**                 below row M nothing is written.
**   packed_bf16   the same for bf16, within float rounding of sum |x w|.
**   centered      quantize_rows_centered (the second feed-forward layer's rows) gives the
**                 same bytes, scales and centres at every level, for awkward lengths and
**                 rows with NaN, inf, signed zeros and denormals, and the centre it should.
**   self_test     amx.h's self-test passes for the VNNI products and fails for a
**                 product one bit off (so a wrong AMX kernel cannot slip through).
**   state         the reason semlite_build_info() gives is consistent with cpuid and
**                 with the table in use.
**   hardware      on a CPU with AMX, the self-test again and AMX in use; skipped elsewhere.
*/
#include <math.h>
#include <stdlib.h>

#include "../ext/kernels/amx.h"
#include "../ext/kernels/gemm_isa.h"
#include "test.h"

#define GUARD -1234.5f

/* tests/test_amx_emu_avx512.c */
void sl_test_amx_emu_i8(const uint8_t *xu, size_t ldq, const float *xs, size_t M, const int8_t *wp,
                        const float *ws, const int32_t *wsum, const float *bias, size_t n0, size_t n1,
                        size_t K, float *y, size_t ldy);
void sl_test_amx_emu_bf16(const uint16_t *xb, size_t ldx, size_t M, const uint16_t *wp, const float *bias,
                          size_t n0, size_t n1, size_t K, float *y, size_t ldy);

static uint64_t rng(uint64_t *s) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return *s >> 11;
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) abort();
  return p;
}

/* The packed products to check: name and table entry (AMX's, the VNNI ones, the model). */
typedef struct candidate {
  const char *name;
  void (*i8)(const uint8_t *, size_t, const float *, size_t, const int8_t *, const float *,
             const int32_t *, const float *, size_t, size_t, size_t, float *, size_t);
  void (*bf16)(const uint16_t *, size_t, size_t, const uint16_t *, const float *, size_t, size_t,
               size_t, float *, size_t);
} candidate;

static int candidates(candidate out[3]) {
  int n = 0;
  const sl_gemm_kernels *t = sl_gemm_for_isa(SL_ISA_AVX512);
  if (t->gemm_i8_packed || t->gemm_bf16_packed)
    out[n++] = (candidate){"avx512 packed", t->gemm_i8_packed, t->gemm_bf16_packed};
  if (sl_cpu_best_isa() >= SL_ISA_AVX512)
    out[n++] = (candidate){"amx tile loop (C model)", sl_test_amx_emu_i8, sl_test_amx_emu_bf16};
  if (sl_gemm_amx())
    out[n++] = (candidate){"amx", sl_gemm_amx()->gemm_i8_packed, sl_gemm_amx()->gemm_bf16_packed};
  return n;
}

/* M, N, K */
static const size_t SHAPES[][3] = {
  {1, 16, 64}, {5, 40, 192}, {7, 100, 384}, {16, 64, 128}, {17, 48, 1536}, {33, 384, 384}, {47, 33, 64},
};
#define N_SHAPES (sizeof SHAPES / sizeof SHAPES[0])

typedef struct operands {
  size_t M, N, K, ldq, ldy;
  uint8_t *xu;
  int8_t *wq, *wqp;
  uint16_t *xb, *wb, *wbp;
  float *xs, *ws, *bias;
  int32_t *wsum;
} operands;

static void operands_init(operands *o, size_t M, size_t N, size_t K, uint64_t *seed) {
  o->M = M, o->N = N, o->K = K, o->ldq = K + 64, o->ldy = N + 5;
  o->xu = xmalloc(M * o->ldq);
  o->xb = xmalloc(M * o->ldq * 2);
  o->wq = xmalloc(N * K);
  o->wb = xmalloc(N * K * 2);
  o->wqp = xmalloc(sl_gemm_packed_elems(N, K));
  o->wbp = xmalloc(sl_gemm_packed_elems(N, K) * 2);
  o->xs = xmalloc(M * 4), o->ws = xmalloc(N * 4), o->bias = xmalloc(N * 4), o->wsum = xmalloc(N * 4);
  for (size_t m = 0; m < M; m++) {
    o->xs[m] = (float)(rng(seed) % 1000 + 1) * 1e-4f;
    for (size_t k = 0; k < o->ldq; k++) {
      uint64_t r = rng(seed);
      /* every fifth row at the extremes 0 and 255 */
      o->xu[m * o->ldq + k] = m % 5 == 4 ? (uint8_t)(k % 2 ? 255 : 0) : (uint8_t)r;
      o->xb[m * o->ldq + k] = (uint16_t)((r & 0x8000) | ((120u + ((r >> 16) % 10)) << 7) | ((r >> 20) & 0x7f));
    }
  }
  for (size_t n = 0; n < N; n++) {
    int32_t s = 0;
    for (size_t k = 0; k < K; k++) {
      uint64_t r = rng(seed);
      int v = n % 7 == 3 ? (k % 3 ? 127 : -127) : (int)(r % 255) - 127;
      o->wq[n * K + k] = (int8_t)v;
      s += v;
      o->wb[n * K + k] = (uint16_t)((r & 0x8000) | ((118u + ((r >> 16) % 12)) << 7) | ((r >> 24) & 0x7f));
    }
    o->wsum[n] = s;
    o->ws[n] = (float)(rng(seed) % 1000 + 1) * 1e-5f;
    o->bias[n] = (float)((int)(rng(seed) % 2001) - 1000) * 1e-3f;
  }
  sl_gemm_pack_i8(o->wq, N, K, o->wqp);
  sl_gemm_pack_bf16(o->wb, N, K, o->wbp);
}

static void operands_free(operands *o) {
  free(o->xu), free(o->xb), free(o->wq), free(o->wb), free(o->wqp), free(o->wbp);
  free(o->xs), free(o->ws), free(o->bias), free(o->wsum);
}

/* Slices of [0, N): whole, from the second panel to inside the last, the last panel. */
static int slices(size_t N, size_t out[3][2]) {
  int n = 0;
  out[n][0] = 0, out[n++][1] = N;
  if (N > 20) out[n][0] = 16, out[n++][1] = N - 3;
  out[n][0] = (N - 1) / 16 * 16, out[n++][1] = N;
  return n;
}

static void test_packed_i8(void) {
  candidate c[3];
  const int nc = candidates(c);
  const sl_gemm_kernels *ref = sl_gemm_for_isa(SL_ISA_SCALAR);
  uint64_t seed = 11;
  int checked = 0;
  for (size_t s = 0; s < N_SHAPES; s++) {
    operands o;
    operands_init(&o, SHAPES[s][0], SHAPES[s][1], SHAPES[s][2], &seed);
    const size_t ny = (o.M + 1) * o.ldy;
    float *want = xmalloc(ny * 4), *got = xmalloc(ny * 4);
    size_t sl[3][2];
    const int ns = slices(o.N, sl);
    for (int i = 0; i < ns; i++) {
      const float *bias = (s + (size_t)i) % 2 ? o.bias : NULL;
      for (size_t j = 0; j < ny; j++) want[j] = GUARD;
      ref->gemm_i8(o.xu, o.ldq, o.xs, o.M, o.wq, o.ws, o.wsum, bias, sl[i][0], sl[i][1], o.K, want, o.ldy);
      for (int k = 0; k < nc; k++) {
        if (!c[k].i8) continue;
        for (size_t j = 0; j < ny; j++) got[j] = GUARD;
        c[k].i8(o.xu, o.ldq, o.xs, o.M, o.wqp, o.ws, o.wsum, bias, sl[i][0], sl[i][1], o.K, got, o.ldy);
        CHECK_MSG(memcmp(want, got, ny * 4) == 0, "%s int8 M=%zu N=%zu K=%zu [%zu,%zu): not the scalar bits",
                  c[k].name, o.M, o.N, o.K, sl[i][0], sl[i][1]);
        checked++;
      }
    }
    free(want), free(got);
    operands_free(&o);
  }
  if (!nc) sl_test_skip("no packed int8 product on this CPU (no AVX-512 VNNI)");
  else printf("  %d products bit-identical to scalar (%s%s%s)\n", checked, c[0].name, nc > 1 ? ", " : "",
              nc > 1 ? c[1].name : "");
}

static void test_packed_bf16(void) {
  candidate c[3];
  const int nc = candidates(c);
  const sl_gemm_kernels *ref = sl_gemm_for_isa(SL_ISA_SCALAR);
  uint64_t seed = 12;
  for (size_t s = 0; s < N_SHAPES; s++) {
    operands o;
    operands_init(&o, SHAPES[s][0], SHAPES[s][1], SHAPES[s][2], &seed);
    const size_t ny = (o.M + 1) * o.ldy;
    float *want = xmalloc(ny * 4), *got = xmalloc(ny * 4);
    size_t sl[3][2];
    const int ns = slices(o.N, sl);
    for (int i = 0; i < ns; i++) {
      const float *bias = (s + (size_t)i) % 2 ? o.bias : NULL;
      for (size_t j = 0; j < ny; j++) want[j] = GUARD;
      ref->gemm_bf16(o.xb, o.ldq, o.M, o.wb, bias, sl[i][0], sl[i][1], o.K, want, o.ldy);
      for (int k = 0; k < nc; k++) {
        if (!c[k].bf16) continue;
        for (size_t j = 0; j < ny; j++) got[j] = GUARD;
        c[k].bf16(o.xb, o.ldq, o.M, o.wbp, bias, sl[i][0], sl[i][1], o.K, got, o.ldy);
        int bad = 0;
        for (size_t m = 0; m <= o.M && !bad; m++)
          for (size_t n = 0; n < o.ldy && !bad; n++) {
            const float g = got[m * o.ldy + n], w = want[m * o.ldy + n];
            if (m < o.M && n >= sl[i][0] && n < sl[i][1]) {
              double mag = 0;
              for (size_t k2 = 0; k2 < o.K; k2++) {
                uint32_t a = (uint32_t)(o.xb[m * o.ldq + k2] & 0x7fff) << 16, b = (uint32_t)(o.wb[n * o.K + k2] & 0x7fff) << 16;
                float fa, fb;
                memcpy(&fa, &a, 4), memcpy(&fb, &b, 4);
                mag += (double)fa * fb;
              }
              bad = !(fabs((double)g - (double)w) <= mag * (1.0 / 16384) + 1e-30);
            } else {
              bad = memcmp(&g, &w, 4) != 0;
            }
            CHECK_MSG(!bad, "%s bf16 M=%zu N=%zu K=%zu [%zu,%zu): y[%zu][%zu] = %.9g, scalar %.9g", c[k].name,
                      o.M, o.N, o.K, sl[i][0], sl[i][1], m, n, g, w);
          }
      }
    }
    free(want), free(got);
    operands_free(&o);
  }
  if (!nc) sl_test_skip("no packed bf16 product on this CPU");
}

static void test_centered(void) {
  static const size_t Ks[] = {1, 7, 15, 16, 17, 33, 64, 100, 1536};
  uint64_t seed = 13;
  const sl_gemm_kernels *ref = sl_gemm_for_isa(SL_ISA_SCALAR);
  for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++) {
    const size_t K = Ks[ki], M = 9, ldx = K + 3, ldq = (K + 63) / 64 * 64 + 64;
    float *x = xmalloc(M * ldx * 4), xs[2][9], xc[2][9];
    uint8_t *q[2] = {xmalloc(M * ldq), xmalloc(M * ldq)};
    for (size_t m = 0; m < M; m++)
      for (size_t k = 0; k < ldx; k++) {
        float v = (float)((int)(rng(&seed) % 20001) - 2000) * 1e-3f;   /* about -2 to 18 */
        if (m == 1) v = k % 2 ? -0.0f : 0.0f;                          /* signed zeros */
        if (m == 2 && k == K / 2) v = NAN;
        if (m == 3 && k == K - 1) v = -INFINITY;
        if (m == 4) v = v * 1e-39f;                                    /* denormals */
        if (m == 5) v = NAN;                                           /* nothing but NaN */
        if (m == 6) v = -0.17f + (float)(k % 5) * 0.01f;              /* all negative */
        x[m * ldx + k] = v;
      }
    ref->quantize_rows_centered(x, ldx, M, K, q[0], ldq, xs[0], xc[0]);
    for (int isa = SL_ISA_AVX2; isa <= (int)sl_cpu_best_isa(); isa++) {
      const sl_gemm_kernels *t = sl_gemm_for_isa((sl_isa)isa);
      memset(q[1], 0xee, M * ldq);
      t->quantize_rows_centered(x, ldx, M, K, q[1], ldq, xs[1], xc[1]);
      CHECK_MSG(memcmp(q[0], q[1], M * ldq) == 0 && memcmp(xs[0], xs[1], sizeof xs[0]) == 0 &&
                    memcmp(xc[0], xc[1], sizeof xc[0]) == 0,
                "%s quantize_rows_centered K=%zu differs from scalar", sl_isa_name((sl_isa)isa), K);
    }
    /* the centre: (min + max) / 2, +0 for the zeros, 0 for rows with inf or only NaN */
    float lo = INFINITY, hi = -INFINITY;
    for (size_t k = 0; k < K; k++) lo = fminf(lo, x[k]), hi = fmaxf(hi, x[k]);
    CHECK(xc[0][0] == 0.5f * lo + 0.5f * hi);
    CHECK(xc[0][1] == 0.0f && !signbit(xc[0][1]));
    CHECK(xc[0][3] == 0.0f && xc[0][5] == 0.0f);
    CHECK(isnan(xs[0][2]) && isnan(xs[0][5]) && isinf(xs[0][3]));
    /* the row's ends at -127 and 127 */
    if (K > 1) {
      int has_lo = 0, has_hi = 0;
      for (size_t k = 0; k < K; k++) has_lo |= q[0][k] == 1, has_hi |= q[0][k] == 255;
      CHECK_MSG(has_lo && has_hi, "K=%zu: the row's min and max are not at -127 and 127", K);
    }
    free(x), free(q[0]), free(q[1]);
  }
}

/* The VNNI product with one output one bit off. */
static void (*real_i8)(const uint8_t *, size_t, const float *, size_t, const int8_t *, const float *,
                       const int32_t *, const float *, size_t, size_t, size_t, float *, size_t);
static void off_by_one_bit(const uint8_t *xu, size_t ldq, const float *xs, size_t M, const int8_t *wp,
                           const float *ws, const int32_t *wsum, const float *bias, size_t n0, size_t n1,
                           size_t K, float *y, size_t ldy) {
  real_i8(xu, ldq, xs, M, wp, ws, wsum, bias, n0, n1, K, y, ldy);
  if (M > 3 && n1 > n0) {
    uint32_t u;
    float *p = y + 3 * ldy + n1 - 1;
    memcpy(&u, p, 4);
    u ^= 1;
    memcpy(p, &u, 4);
  }
}

static void test_self_test(void) {
  const sl_gemm_kernels *t = sl_gemm_for_isa(SL_ISA_AVX512);
  if (!t->gemm_i8_packed) {
    sl_test_skip("no packed int8 product on this CPU (no AVX-512 VNNI)");
    return;
  }
  CHECK(sl_amx_self_test(t, sl_gemm_for_isa(SL_ISA_SCALAR)) == 0);
  sl_gemm_kernels broken = *t;
  real_i8 = t->gemm_i8_packed;
  broken.gemm_i8_packed = off_by_one_bit;
  CHECK(sl_amx_self_test(&broken, sl_gemm_for_isa(SL_ISA_SCALAR)) != 0);
}

static void test_state(void) {
  static const char *known[] = {SL_AMX_ON, SL_AMX_ON_INT8, SL_AMX_CAPPED, SL_AMX_NO_CPU,
                                SL_AMX_NO_OS, SL_AMX_REFUSED, SL_AMX_SELFTEST};
  const char *state = sl_gemm_amx_state();
  int bf16, found = 0;
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) found |= strcmp(state, known[i]) == 0;
  CHECK_MSG(found, "unknown AMX state '%s'", state);
  if (!sl_amx_cpu(&bf16)) CHECK_STR(state, SL_AMX_NO_CPU);
  CHECK((sl_gemm_amx() != NULL) == (strncmp(state, SL_AMX_ON, strlen(SL_AMX_ON)) == 0));
  CHECK(sl_gemm_get() == (sl_gemm_amx() ? sl_gemm_amx() : sl_gemm_for_isa(sl_kernels_get()->isa)));
  sqlite3 *db = t_open();
  CHECK_QUERY(db, "SELECT semlite_build_info() ->> '$.isa.amx'", NULL, NULL, state);
  sqlite3_close(db);
}

static void test_hardware(void) {
  const sl_gemm_kernels *amx = sl_gemm_amx();
  if (!amx) {
    sl_test_skip("AMX does not run here (%s)", sl_gemm_amx_state());
    return;
  }
  CHECK(sl_amx_self_test(amx, sl_gemm_for_isa(SL_ISA_AVX512)) == 0);
  CHECK_STR(amx->i8_name, "amx-int8");
  printf("  %s: int8 on %s, bf16 on %s\n", sl_gemm_amx_state(), amx->i8_packed_name,
         amx->bf16_packed_name ? amx->bf16_packed_name : "-");
}

const sl_test amx_tests[] = {
  {"packed_i8", test_packed_i8},
  {"packed_bf16", test_packed_bf16},
  {"centered", test_centered},
  {"self_test", test_self_test},
  {"state", test_state},
  {"hardware", test_hardware},
  {NULL, NULL},
};
