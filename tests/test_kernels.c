/*
** test_kernels.c: tests of the kernel tables (ext/kernels/) and their dispatch.
**
** Every table this CPU can run is compared with a double-precision reference written
** here, on lengths that hit each vector tail (1, 7, 15, 16, 17, 31, 33, 384, 1536) and
** on extreme inputs; the words past each row must come back untouched. Tolerances:
**   gelu          |err| <= 2e-7 * (1 + |ref|), and <= 1e-6 * |ref| where |ref| >= 1e-30
**                 (relative accuracy in the negative tail too, where erf-based code
**                 would cancel)
**   softmax       |err| <= (1e-6 + 2^-24 |d|) * ref + 1e-37, d = scale*x - max: a float
**                 kernel forms d with a relative rounding, which exp turns into an
**                 error proportional to |d|; it matters only for entries e^d far below 1
**   layernorm     |err| <= 1e-5, and exactly beta on a constant row
**   sum_rows, max_rows, scale   exact (double sums in row order; max and one product
**                 are exact)
**   dot           |err| <= 1e-6 * sum |x*y| (float lanes)
**   tanh          |err| <= 1.5e-7, relative <= 2.4e-7 below 0.5
** Beyond the tolerances, every table must give the scalar table's bits for every kernel
** (order.h: the same operations in the same order at every level).
** The SEMLITE_ISA rule is tested through sl_isa_from_env(), since the process-wide
** choice is made once; when the variable is set for the run, sl_kernels_get() is
** checked against it too.
*/
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "../ext/kernels/kernels.h"
#include "../ext/kernels/order.h"
#include "test.h"


static const size_t dims[] = {1, 7, 15, 16, 17, 31, 33, 384, 1536};
#define NDIMS (sizeof dims / sizeof dims[0])
#define GUARD -1234.5f /* fills the words past a row; every kernel would change it */
#define PAD 19        /* guard words after each buffer (more than one vector) */

/* The tables this machine can run, scalar first. */
static int tables(const sl_kernels *out[3]) {
  int n = 0;
  for (int i = SL_ISA_SCALAR; i <= SL_ISA_AVX512; i++) {
    const sl_kernels *k = sl_kernels_for((sl_isa)i);
    if (k) out[n++] = k;
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

/* n floats for the caller to fill, then PAD guard words. */
static float *alloc_guarded(size_t n) {
  float *p = malloc((n + PAD) * sizeof *p);
  if (!p) abort();
  for (size_t i = 0; i < PAD; i++) p[n + i] = GUARD;
  return p;
}
static int guard_intact(const float *p, size_t n) {
  for (size_t i = n; i < n + PAD; i++)
    if (p[i] != GUARD) return 0;
  return 1;
}

/* ---- dispatch ---------------------------------------------------------------------- */

static void test_dispatch(void) {
  sl_isa best = sl_cpu_best_isa();
  const sl_kernels *all[3];
  int n = tables(all);
  CHECK_INT(n, (int)best + 1); /* every level up to the best, none above */
  for (int i = 0; i < n; i++) {
    static const char *names[] = {"scalar", "avx2", "avx512"};
    CHECK_INT(all[i]->isa, i);
    CHECK_STR(all[i]->name, names[i]);
    CHECK(all[i]->gelu && all[i]->softmax_rows && all[i]->add_layernorm && all[i]->sum_rows &&
          all[i]->max_rows && all[i]->scale && all[i]->dot);
  }
  if (best < SL_ISA_AVX512) CHECK(sl_kernels_for((sl_isa)(best + 1)) == NULL);
#if defined(__x86_64__) && defined(__GNUC__)
  /* A second opinion: the compiler runtime also checks the OS's XSAVE state. */
  __builtin_cpu_init();
  sl_isa want = SL_ISA_SCALAR;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    want = SL_ISA_AVX2;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
      want = SL_ISA_AVX512;
  }
  CHECK_INT(best, want);
#endif

  const sl_kernels *k = sl_kernels_get();
  CHECK(k != NULL);
  if (k) CHECK_INT(k->isa, sl_isa_from_env(getenv("SEMLITE_ISA"), best));
  CHECK(sl_kernels_get() == k);
}

static void test_isa_env_rule(void) {
  for (int b = SL_ISA_SCALAR; b <= SL_ISA_AVX512; b++) {
    sl_isa best = (sl_isa)b;
    CHECK_INT(sl_isa_from_env(NULL, best), best);
    CHECK_INT(sl_isa_from_env("", best), best);
    CHECK_INT(sl_isa_from_env("scalar", best), SL_ISA_SCALAR);
    CHECK_INT(sl_isa_from_env("avx2", best), best < SL_ISA_AVX2 ? best : SL_ISA_AVX2);
    CHECK_INT(sl_isa_from_env("avx512", best), best);
    /* unknown values fall back to the best level, whatever they look like */
    CHECK_INT(sl_isa_from_env("AVX2", best), best);
    CHECK_INT(sl_isa_from_env("avx2 ", best), best);
    CHECK_INT(sl_isa_from_env("sse", best), best);
    CHECK_INT(sl_isa_from_env("avx", best), best);
  }
}

static void *get_kernels(void *arg) {
  (void)arg;
  return (void *)sl_kernels_get();
}

static void test_dispatch_threads(void) {
  pthread_t th[8];
  void *got[8];
  for (int i = 0; i < 8; i++) CHECK(pthread_create(&th[i], NULL, get_kernels, NULL) == 0);
  for (int i = 0; i < 8; i++) pthread_join(th[i], &got[i]);
  for (int i = 0; i < 8; i++) CHECK(got[i] == (void *)sl_kernels_get());
}

/* ---- gelu ---------------------------------------------------------------------------- */

static double gelu_ref(double x) { return 0.5 * x * erfc(-x * 0.70710678118654752440); }

/* Worst error of k->gelu over xs[0..n) as a fraction of the tolerance; *at its index. */
static double gelu_worst(const sl_kernels *k, const float *xs, size_t n, size_t *at, float *got_at) {
  float *y = alloc_guarded(n);
  for (size_t i = 0; i < n; i++) y[i] = xs[i];
  k->gelu(y, n);
  double worst = guard_intact(y, n) ? 0 : INFINITY;
  *at = 0;
  for (size_t i = 0; i < n; i++) {
    double ref = gelu_ref(xs[i]), err = fabs(y[i] - ref);
    double r = err / (2e-7 * (1 + fabs(ref)));
    if (fabs(ref) >= 1e-30 && err / (1e-6 * fabs(ref)) > r) r = err / (1e-6 * fabs(ref));
    if (isnan(y[i])) r = INFINITY;
    if (r > worst) worst = r, *at = i;
  }
  *got_at = y[*at];
  free(y);
  return worst;
}

static void test_gelu(void) {
  static const float special[] = {
    0.0f, 1.0f, -1.0f, 0.99999994f, -0.99999994f, 1.0000001f, -1.0000001f, 0.5f, -0.5f,
    10.0f, -10.0f, 5.5f, -5.5f, 3.0f, -3.0f, 13.0f, -13.0f, 14.5f, -14.5f, 20.0f, -20.0f,
    1e-30f, -1e-30f, 1e-40f, -1e-40f, FLT_TRUE_MIN, -FLT_TRUE_MIN, FLT_MIN, -FLT_MIN,
    1e30f, -1e30f, FLT_MAX, -FLT_MAX, 88.0f, -88.0f,
  };
  const size_t ns = sizeof special / sizeof special[0];
  const sl_kernels *all[3];
  int nt = tables(all);
  uint64_t seed = 1;
  float *xs = malloc(4096 * sizeof *xs);
  for (int t = 0; t < nt; t++) {
    const sl_kernels *k = all[t];
    for (size_t d = 0; d < NDIMS; d++) {
      size_t n = dims[d];
      /* specials rotated so that each lands in the tail of some length */
      for (size_t i = 0; i < n; i++)
        xs[i] = i % 3 == 0 ? special[(i / 3 + d) % ns] : urand(&seed, -8, 8);
      size_t at;
      float got;
      double w = gelu_worst(k, xs, n, &at, &got);
      CHECK_MSG(w <= 1, "%s gelu n=%zu: x=%.9g got %.9g want %.9g (%.2f of tolerance)",
                k->name, n, xs[at], got, gelu_ref(xs[at]), w);
    }
    /* a dense sweep over the range where all the approximation work is */
    size_t n = 4096;
    for (size_t i = 0; i < n; i++) xs[i] = -16.0f + 32.0f * (float)i / (float)n + urand(&seed, 0, 1e-3f);
    size_t at;
    float got;
    double w = gelu_worst(k, xs, n, &at, &got);
    CHECK_MSG(w <= 1, "%s gelu sweep: x=%.9g got %.9g want %.9g (%.2f of tolerance)",
              k->name, xs[at], got, gelu_ref(xs[at]), w);

    /* signs of zero and the infinities, NaN */
    float z[4] = {0.0f, -0.0f, INFINITY, NAN};
    k->gelu(z, 4);
    CHECK_MSG(z[0] == 0 && !signbit(z[0]), "%s gelu(+0) = %g", k->name, z[0]);
    CHECK_MSG(z[1] == 0 && signbit(z[1]), "%s gelu(-0) = %g", k->name, z[1]);
    CHECK_MSG(z[2] == INFINITY, "%s gelu(inf) = %g", k->name, z[2]);
    CHECK_MSG(isnan(z[3]), "%s gelu(nan) = %g", k->name, z[3]);
  }
  free(xs);
}

/* ---- softmax ------------------------------------------------------------------------- */

/* Fills row r of a softmax case with one of several patterns. */
static void softmax_row(float *p, size_t cols, size_t r, uint64_t *seed) {
  for (size_t i = 0; i < cols; i++) p[i] = urand(seed, -8, 8);
  switch (r) {
  case 0: /* large logits and a masked entry */
    p[cols / 2] = 80.0f;
    if (cols > 1) p[cols - 1] = -1e30f;
    if (cols > 2) p[0] = 79.5f;
    break;
  case 1: /* all equal */
    for (size_t i = 0; i < cols; i++) p[i] = 3.25f;
    break;
  case 2: /* fully masked: still uniform */
    for (size_t i = 0; i < cols; i++) p[i] = -1e30f;
    break;
  case 3: /* masks at -FLT_MAX and the max in the tail */
    for (size_t i = 0; i < cols; i += 2) p[i] = -FLT_MAX;
    p[cols - 1] = 5.0f;
    break;
  default:
    break;
  }
}

static void test_softmax(void) {
  static const float scales[] = {1.0f, 0.17677669f, -0.5f, 0.0f};
  const sl_kernels *all[3];
  int nt = tables(all);
  uint64_t seed = 7;
  for (int t = 0; t < nt; t++) {
    const sl_kernels *k = all[t];
    for (size_t d = 0; d < NDIMS; d++) {
      for (size_t rows = 1; rows <= 5; rows++) {
        for (size_t si = 0; si < sizeof scales / sizeof scales[0]; si++) {
          size_t cols = dims[d], ld = cols + 3;
          float scale = scales[si];
          float *x = alloc_guarded(rows * ld), *orig = malloc(rows * ld * sizeof *orig);
          for (size_t i = 0; i < rows * ld; i++) x[i] = GUARD;
          for (size_t r = 0; r < rows; r++) softmax_row(x + r * ld, cols, r, &seed);
          for (size_t i = 0; i < rows * ld; i++) orig[i] = x[i];
          k->softmax_rows(x, rows, cols, ld, scale);

          double worst = guard_intact(x, rows * ld) ? 0 : INFINITY;
          size_t wr = 0, wi = 0;
          double wref = 0;
          for (size_t r = 0; r < rows; r++) {
            const float *o = orig + r * ld, *p = x + r * ld;
            for (size_t i = cols; i < ld; i++)
              if (p[i] != GUARD) worst = INFINITY, wr = r, wi = i;
            double mx = -INFINITY, sum = 0;
            for (size_t i = 0; i < cols; i++) mx = fmax(mx, (double)scale * o[i]);
            for (size_t i = 0; i < cols; i++) sum += exp((double)scale * o[i] - mx);
            for (size_t i = 0; i < cols; i++) {
              double dd = (double)scale * o[i] - mx, ref = exp(dd) / sum;
              double tol = (1e-6 + ldexp(fabs(dd), -24)) * ref + 1e-37;
              double e = isnan(p[i]) ? INFINITY : fabs(p[i] - ref) / tol;
              if (e > worst) worst = e, wr = r, wi = i, wref = ref;
            }
          }
          CHECK_MSG(worst <= 1,
                    "%s softmax rows=%zu cols=%zu scale=%g: [%zu][%zu] x=%.9g got %.9g want %.9g (%.2f of tolerance)",
                    k->name, rows, cols, scale, wr, wi, orig[wr * ld + wi], x[wr * ld + wi], wref, worst);
          free(x);
          free(orig);
        }
      }
    }
  }
}

/* ---- layernorm ----------------------------------------------------------------------- */

static void test_layernorm(void) {
  static const float epss[] = {1e-12f, 1e-5f};
  const sl_kernels *all[3];
  int nt = tables(all);
  uint64_t seed = 11;
  for (int t = 0; t < nt; t++) {
    const sl_kernels *k = all[t];
    for (size_t d = 0; d < NDIMS; d++) {
      size_t dim = dims[d];
      float *gamma = malloc(dim * sizeof *gamma), *beta = malloc(dim * sizeof *beta);
      for (size_t i = 0; i < dim; i++) gamma[i] = urand(&seed, 0.5f, 1.5f), beta[i] = urand(&seed, -0.5f, 0.5f);
      for (size_t rows = 1; rows <= 5; rows++) {
        for (int with_res = 0; with_res < 2; with_res++) {
          for (size_t ei = 0; ei < 2; ei++) {
            float eps = epss[ei];
            size_t n = rows * dim;
            float *x = alloc_guarded(n), *res = malloc(n * sizeof *res), *orig = malloc(n * sizeof *orig);
            for (size_t r = 0; r < rows; r++) {
              float *p = x + r * dim, *q = res + r * dim;
              for (size_t i = 0; i < dim; i++) {
                switch (r) {
                case 1: p[i] = 0.1f, q[i] = 0.2f; break;                             /* constant */
                case 2: p[i] = 1000.0f + urand(&seed, -1, 1), q[i] = urand(&seed, -1, 1); break; /* offset */
                case 3: p[i] = urand(&seed, -30, 30), q[i] = i == 3 ? 200.0f : 0.0f; break; /* outlier */
                default: p[i] = urand(&seed, -2, 2), q[i] = urand(&seed, -2, 2); break;
                }
              }
            }
            for (size_t i = 0; i < n; i++) orig[i] = x[i];
            k->add_layernorm(x, with_res ? res : NULL, rows, dim, gamma, beta, eps);

            double worst = guard_intact(x, n) ? 0 : INFINITY;
            size_t wr = 0, wi = 0;
            double wref = 0;
            for (size_t r = 0; r < rows; r++) {
              const float *o = orig + r * dim, *q = res + r * dim, *p = x + r * dim;
              double mean = 0, var = 0;
              for (size_t i = 0; i < dim; i++) mean += (double)o[i] + (with_res ? q[i] : 0.0);
              mean /= (double)dim;
              for (size_t i = 0; i < dim; i++) {
                double v = (double)o[i] + (with_res ? q[i] : 0.0) - mean;
                var += v * v;
              }
              var /= (double)dim;
              int constant = dim == 1 || r == 1;
              for (size_t i = 0; i < dim; i++) {
                double v = (double)o[i] + (with_res ? q[i] : 0.0);
                double ref = (v - mean) / sqrt(var + (double)eps) * gamma[i] + beta[i];
                double e = isnan(p[i]) ? INFINITY : fabs(p[i] - ref) / 1e-5;
                if (constant && p[i] != beta[i]) e = INFINITY;
                if (e > worst) worst = e, wr = r, wi = i, wref = ref;
              }
            }
            CHECK_MSG(worst <= 1,
                      "%s layernorm rows=%zu dim=%zu res=%d eps=%g: [%zu][%zu] got %.9g want %.9g (%.2f of tolerance)",
                      k->name, rows, dim, with_res, eps, wr, wi, x[wr * dim + wi], wref, worst);
            free(x);
            free(res);
            free(orig);
          }
        }
      }
      free(gamma);
      free(beta);
    }
  }
}

/* ---- reductions, scale, dot ---------------------------------------------------------- */

static void test_sum_max_rows(void) {
  static const size_t row_counts[] = {1, 2, 3, 4, 5, 512};
  const sl_kernels *all[3];
  int nt = tables(all);
  uint64_t seed = 13;
  for (int t = 0; t < nt; t++) {
    const sl_kernels *k = all[t];
    for (size_t d = 0; d < NDIMS; d++) {
      for (size_t rc = 0; rc < sizeof row_counts / sizeof row_counts[0]; rc++) {
        size_t dim = dims[d], rows = row_counts[rc], n = rows * dim;
        float *x = malloc(n * sizeof *x), *sum = alloc_guarded(dim), *mx = alloc_guarded(dim);
        for (size_t i = 0; i < n; i++) x[i] = urand(&seed, -100, 10) * (i % 5 == 0 ? 1e-3f : 1.0f);
        if (dim > 2) x[n - 1] = -INFINITY, x[1] = 3e38f;
        k->sum_rows(x, rows, dim, sum);
        k->max_rows(x, rows, dim, mx);
        int ok_sum = guard_intact(sum, dim), ok_max = guard_intact(mx, dim);
        for (size_t c = 0; c < dim; c++) {
          double s = 0;
          float m = x[c];
          for (size_t r = 0; r < rows; r++) s += x[r * dim + c], m = x[r * dim + c] > m ? x[r * dim + c] : m;
          if (sum[c] != (float)s) ok_sum = 0;
          if (mx[c] != m) ok_max = 0;
        }
        CHECK_MSG(ok_sum, "%s sum_rows rows=%zu dim=%zu", k->name, rows, dim);
        CHECK_MSG(ok_max, "%s max_rows rows=%zu dim=%zu", k->name, rows, dim);
        free(x);
        free(sum);
        free(mx);
      }
    }
  }
}

static void test_scale_dot(void) {
  const sl_kernels *all[3];
  int nt = tables(all);
  uint64_t seed = 17;
  for (int t = 0; t < nt; t++) {
    const sl_kernels *k = all[t];
    for (size_t d = 0; d < NDIMS; d++) {
      size_t n = dims[d];
      float *x = alloc_guarded(n), *y = malloc(n * sizeof *y), *orig = malloc(n * sizeof *orig);
      for (size_t i = 0; i < n; i++) orig[i] = x[i] = urand(&seed, -3, 3), y[i] = urand(&seed, -3, 3);

      double ref = 0, mag = 0;
      for (size_t i = 0; i < n; i++) ref += (double)x[i] * y[i], mag += fabs((double)x[i] * y[i]);
      float got = k->dot(x, y, n);
      CHECK_MSG(fabs(got - ref) <= 1e-6 * mag, "%s dot n=%zu: got %.9g want %.9g", k->name, n, got, ref);

      k->scale(x, n, 0.3f);
      int ok = guard_intact(x, n);
      for (size_t i = 0; i < n; i++)
        if (x[i] != orig[i] * 0.3f) ok = 0;
      CHECK_MSG(ok, "%s scale n=%zu", k->name, n);
      free(x);
      free(y);
      free(orig);
    }
  }
}

/* ---- tanh ---------------------------------------------------------------------------- */

/* Against double tanh: |err| <= 1.5e-7, and <= 2 ulp relative below 0.5 (the series);
** odd, +-0 kept, +-1 far out, NaN through. */
static void test_tanh(void) {
  const sl_kernels *all[3];
  int nt = tables(all);
  uint64_t seed = 29;
  const size_t n = 20000;
  float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
  for (size_t i = 0; i < n; i++)
    x[i] = i < n / 2 ? -12.0f + 24.0f * (float)i / (float)(n / 2) : urand(&seed, -1, 1) * ldexpf(1, -(int)(i % 40));
  for (int t = 0; t < nt; t++) {
    memcpy(y, x, n * sizeof *y);
    all[t]->tanh(y, n);
    double worst_abs = 0, worst_rel = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
      double ref = tanh((double)x[i]), e = fabs(y[i] - ref);
      if (e > worst_abs) worst_abs = e, at = i;
      if (fabs(x[i]) < 0.5f && ref != 0 && e / fabs(ref) > worst_rel) worst_rel = e / fabs(ref);
    }
    CHECK_MSG(worst_abs <= 1.5e-7, "%s tanh: x=%.9g got %.9g want %.9g", all[t]->name, x[at], y[at], tanh((double)x[at]));
    CHECK_MSG(worst_rel <= 2.4e-7, "%s tanh below 0.5: relative error %.3g", all[t]->name, worst_rel);
    float z[6] = {0.0f, -0.0f, 30.0f, -30.0f, INFINITY, NAN};
    all[t]->tanh(z, 6);
    CHECK_MSG(z[0] == 0 && !signbit(z[0]) && z[1] == 0 && signbit(z[1]), "%s tanh(+-0) = %g, %g", all[t]->name, z[0], z[1]);
    CHECK_MSG(z[2] == 1 && z[3] == -1 && z[4] == 1 && isnan(z[5]), "%s tanh(30, -30, inf, nan) = %g %g %g %g",
              all[t]->name, z[2], z[3], z[4], z[5]);
  }
  free(x), free(y);
}

/* ---- the same bits at every level (order.h) ------------------------------------------- */

/* sl_fmaf and sl_fma16 (the scalar table's fused product) against libm's fmaf: random
** triples, cancellations, and products that sit exactly halfway between two floats with
** a tiny addend, where rounding to double and then to float would round twice. */
static void test_fmaf(void) {
  uint64_t seed = 23;
  size_t bad = 0, cases = 0;
  float a[16], b[16], c[16], want[16];
  for (int round = 0; round < 40000; round++) {
    for (int l = 0; l < 16; l++) {
      switch ((round + l) % 4) {
      case 0: /* random */
        a[l] = urand(&seed, -4, 4), b[l] = urand(&seed, -4, 4), c[l] = urand(&seed, -4, 4);
        break;
      case 1: /* cancellation */
        a[l] = urand(&seed, -4, 4), b[l] = urand(&seed, -4, 4), c[l] = -(a[l] * b[l]);
        break;
      case 2: { /* p = 1 + ... + odd * 2^-24: a float tie, and an addend below a double ulp */
        int i = (int)(rng_next(&seed) % 2048) | 1, j = (int)(rng_next(&seed) % 2048) | 1;
        a[l] = 1.0f + (float)i * 0x1p-12f, b[l] = 1.0f + (float)j * 0x1p-12f;
        c[l] = (rng_next(&seed) % 2 ? 1.0f : -1.0f) * ldexpf(1.0f, -60 - (int)(rng_next(&seed) % 40));
        break;
      }
      default: /* tiny results, subnormals, infinities */
        a[l] = urand(&seed, -1, 1) * 0x1p-70f, b[l] = urand(&seed, -1, 1) * 0x1p-70f,
        c[l] = rng_next(&seed) % 8 == 0 ? INFINITY : urand(&seed, -1, 1) * 0x1p-140f;
        break;
      }
      want[l] = fmaf(a[l], b[l], c[l]);
      float got = sl_fmaf(a[l], b[l], c[l]);
      if (memcmp(&got, &want[l], sizeof got) != 0 && !(isnan(got) && isnan(want[l]))) {
        if (bad++ < 5)
          sl_test_fail(__FILE__, __LINE__, "sl_fmaf(%a, %a, %a) = %a, fmaf %a", a[l], b[l], c[l], got, want[l]);
      }
      cases++;
    }
    sl_fma16(a, b, c);
    for (int l = 0; l < 16; l++)
      if (memcmp(&c[l], &want[l], sizeof c[l]) != 0 && !(isnan(c[l]) && isnan(want[l]))) {
        if (bad++ < 5) sl_test_fail(__FILE__, __LINE__, "sl_fma16 lane %d = %a, fmaf %a", l, c[l], want[l]);
      }
  }
  CHECK_MSG(bad == 0, "%zu of %zu fused products differ from fmaf", bad, cases);
}

/* n floats of out equal a's bits; the index of the first that is not, or n. */
static size_t first_diff(const float *a, const float *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (memcmp(&a[i], &b[i], sizeof a[i]) != 0) return i;
  return n;
}

/* Every kernel of every table gives the scalar table's bits: inputs of mixed magnitudes
** (so that another summation order would round differently), every tail length, the
** specials of the tests above. */
static void test_levels_exact(void) {
  static const size_t lens[] = {1, 7, 8, 9, 15, 16, 17, 23, 31, 32, 33, 47, 100, 384, 1536};
  const sl_kernels *all[3];
  int nt = tables(all);
  uint64_t seed = 19;
  if (nt < 2) {
    sl_test_skip("only the scalar table runs here");
    return;
  }
  for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
    const size_t n = lens[li], rows = 3, N = rows * n;
    float *in = malloc(N * sizeof *in), *res = malloc(N * sizeof *res), *g = malloc(n * sizeof *g),
          *b = malloc(n * sizeof *b), *want = malloc(N * sizeof *want), *got = malloc(N * sizeof *got);
    for (size_t i = 0; i < N; i++)
      in[i] = urand(&seed, -6, 6) * (i % 7 == 0 ? 40.0f : 1.0f), res[i] = urand(&seed, -2, 2);
    for (size_t i = 0; i < n; i++) g[i] = urand(&seed, 0.5f, 1.5f), b[i] = urand(&seed, -0.5f, 0.5f);
    for (int t = 1; t < nt; t++) {
      const sl_kernels *k = all[t], *ref = all[0];
#define SAME(what, call_ref, call_k, count)                                                       \
  do {                                                                                            \
    memcpy(want, in, N * sizeof *in), memcpy(got, in, N * sizeof *in);                            \
    call_ref;                                                                                     \
    call_k;                                                                                       \
    size_t at_ = first_diff(want, got, count);                                                    \
    CHECK_MSG(at_ == (count), "%s %s n=%zu: [%zu] %.9g, scalar %.9g", k->name, what, n, at_,     \
              at_ < (count) ? got[at_] : 0.0, at_ < (count) ? want[at_] : 0.0);                   \
  } while (0)
      SAME("gelu", ref->gelu(want, N), k->gelu(got, N), N);
      SAME("softmax", ref->softmax_rows(want, rows, n, n, 0.125f), k->softmax_rows(got, rows, n, n, 0.125f), N);
      SAME("softmax scale<0", ref->softmax_rows(want, rows, n, n, -0.5f), k->softmax_rows(got, rows, n, n, -0.5f), N);
      SAME("layernorm", ref->add_layernorm(want, NULL, rows, n, g, b, 1e-12f),
           k->add_layernorm(got, NULL, rows, n, g, b, 1e-12f), N);
      SAME("add_layernorm", ref->add_layernorm(want, res, rows, n, g, b, 1e-5f),
           k->add_layernorm(got, res, rows, n, g, b, 1e-5f), N);
      SAME("sum_rows", ref->sum_rows(in, rows, n, want), k->sum_rows(in, rows, n, got), n);
      SAME("max_rows", ref->max_rows(in, rows, n, want), k->max_rows(in, rows, n, got), n);
      SAME("scale", ref->scale(want, N, 0.37f), k->scale(got, N, 0.37f), N);
      SAME("dot", want[0] = ref->dot(in, res, N), got[0] = k->dot(in, res, N), 1);
      SAME("normalize", sl_kernels_normalize(ref, want, n), sl_kernels_normalize(k, got, n), n);
      SAME("tanh", ref->tanh(want, N), k->tanh(got, N), N);
#undef SAME
    }
    free(in), free(res), free(g), free(b), free(want), free(got);
  }
  /* gelu over a dense sweep and its specials, exp through softmax over a wide range */
  float *want = malloc(8192 * sizeof *want), *got = malloc(8192 * sizeof *got);
  for (size_t i = 0; i < 8192; i++) want[i] = -20.0f + 40.0f * (float)i / 8192.0f + urand(&seed, 0, 1e-3f);
  static const float special[] = {0.0f, -0.0f, 1.0f, -1.0f, 14.5f, -14.5f, 1e-30f, -1e-40f,
                                  FLT_TRUE_MIN, FLT_MAX, -FLT_MAX, 88.0f, -88.0f, INFINITY, -INFINITY};
  for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) want[i * 7] = special[i];
  float *orig = malloc(8192 * sizeof *orig);
  memcpy(orig, want, 8192 * sizeof *orig);
  all[0]->gelu(want, 8192);
  for (int t = 1; t < nt; t++) {
    memcpy(got, orig, 8192 * sizeof *got);
    all[t]->gelu(got, 8192);
    size_t at = first_diff(want, got, 8192);
    CHECK_MSG(at == 8192, "%s gelu sweep: x=%.9g got %.9g, scalar %.9g", all[t]->name,
              at < 8192 ? orig[at] : 0.0, at < 8192 ? got[at] : 0.0, at < 8192 ? want[at] : 0.0);
  }
  for (size_t i = 0; i < 8192; i++) orig[i] = urand(&seed, -120, 100);
  memcpy(want, orig, 8192 * sizeof *want);
  all[0]->softmax_rows(want, 8, 1024, 1024, 1.0f);
  for (int t = 1; t < nt; t++) {
    memcpy(got, orig, 8192 * sizeof *got);
    all[t]->softmax_rows(got, 8, 1024, 1024, 1.0f);
    size_t at = first_diff(want, got, 8192);
    CHECK_MSG(at == 8192, "%s softmax wide: [%zu] got %.9g, scalar %.9g", all[t]->name, at,
              at < 8192 ? got[at] : 0.0, at < 8192 ? want[at] : 0.0);
  }
  free(want), free(got), free(orig);
}

const sl_test kernels_tests[] = {
  {"dispatch", test_dispatch},
  {"isa_env_rule", test_isa_env_rule},
  {"dispatch_threads", test_dispatch_threads},
  {"gelu", test_gelu},
  {"softmax", test_softmax},
  {"layernorm", test_layernorm},
  {"sum_max_rows", test_sum_max_rows},
  {"scale_dot", test_scale_dot},
  {"tanh", test_tanh},
  {"fmaf", test_fmaf},
  {"levels_exact", test_levels_exact},
  {0, 0},
};
