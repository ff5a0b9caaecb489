/*
** bench_kernels.c: the speed of semlite's numeric kernels (ext/kernels) at every ISA level
** this CPU runs, on one core, outside SQLite. It used to be two "tests" (gemm.speed and
** vec.kernel_speed) that printed timings and always passed; speed is measured here, never
** asserted in the test suite.
**
**   gemm      the encoder's products on its shapes, M x N x K with W [N][K]: 4 x 384 x 384
**             (the small-M path), 12 x 384 x 384 (one short text), 32 and 128 x 384 x 384,
**             512 x 384 x 384, 512 x 1536 x 384 and 512 x 384 x 1536.
**             fp32 in 64-column slices, as the encoder's tasks call it: gemm.h's gemm_f32 on
**             W in place, and gemm_f32.h's gemm_packed (fp32p) on W packed as the encoder
**             packs it at load (the kernel fp32 models run); int8 (VNNI where
**             present) on weights quantized as the engine does at load, plus the time to
**             quantize the activations; bf16 plus the time to round the activations;
**             int8p and bf16p the same products on packed weights (gemm.h's panels: what
**             the engine runs where the level has them, AMX when it runs). The
**             scalar level skips the shapes of more than 12 rows (seconds each). GOPS = 2 M N
**             K / time. Each figure is the fastest call within --seconds of calls (at least
**             3), timed in the thread's CPU time: on a shared machine the minimum is the
**             figure least disturbed by other processes, and time-slicing does not count.
**   openblas  cblas_sgemm of Debian's OpenBLAS (libopenblas0, loaded with dlopen when it is
**             installed: never linked into semlite), one thread, the same shapes in one call
**             (OpenBLAS blocks them itself), beside semlite's fp32p at the best level.
**   stream    the small-M path at memory speed: gemm_packed with M = 1, 4, 8 over 80
**             packed 384 x 384 matrices (47 MB, more than L3), GB/s of weights read, beside a
**             plain AVX read of as many bytes on one core.
**   distance  ns per distance of 384 dimensions for float32, int8 and bit vectors: one call
**             per vector, as sl_distance_many makes them; the fastest of 10 passes, each
**             scanning 256 vectors (in cache) 4 times.
**
** Prints both tables and writes bench/out/kernels.csv and kernels.png (bench/kernels/plot.gp).
*/
#include "../common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <dlfcn.h>
#include <time.h>

#include "../../ext/engine/quantize.h"
#include "../../ext/kernels/amx.h"
#include "../../ext/kernels/distance_isa.h"
#include "../../ext/kernels/gemm_f32.h"
#include "../../ext/kernels/gemm_isa.h"

#define MAX_LEVELS 3

/* The levels this CPU runs, lowest first. */
static int levels(sl_isa out[MAX_LEVELS]) {
  int n = 0;
  for (int i = SL_ISA_SCALAR; i <= (int)sl_cpu_best_isa(); i++) out[n++] = (sl_isa)i;
  return n;
}

static void *xmalloc(size_t n) { return xrealloc(NULL, n); }

static float urand(uint64_t *s) { return (float)(2 * rng_unit(s) - 1); }   /* [-1, 1) */

/* This thread's CPU time, seconds. */
static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The fastest single call within `secs` of calls (at least 3), in CPU time, into `best`. */
#define TIME_BEST(best, secs, call)                                  \
  do {                                                               \
    double best_ = INFINITY, start_ = now_s();                       \
    for (int n_ = 0; n_ < 3 || now_s() - start_ < (secs); n_++) {    \
      double t0_ = cpu_s();                                          \
      call;                                                          \
      double t_ = cpu_s() - t0_;                                     \
      if (t_ < best_) best_ = t_;                                    \
    }                                                                \
    best = best_;                                                    \
  } while (0)

/* ---------------------------------------------------------------- gemm */

enum { FP32, FP32P, INT8, BF16, INT8P, BF16P, NKIND };
static const char *const KIND[NKIND] = { "fp32", "fp32p", "int8", "bf16", "int8p", "bf16p" };

typedef struct gemm_row {
  size_t M, N, K;
  const char *kernel[NKIND];
  double s[NKIND], prep_s[NKIND];   /* seconds per call; prep: quantize / round the activations */
  double blas_s;                    /* OpenBLAS's cblas_sgemm (best level's row only), NaN without it */
  int ran;
} gemm_row;

#define N_SHAPES 7
static const size_t SHAPES[N_SHAPES][3] = {{4, 384, 384},    {12, 384, 384},   {32, 384, 384},  {128, 384, 384},
                                           {512, 384, 384}, {512, 1536, 384}, {512, 384, 1536}};

/* OpenBLAS's cblas_sgemm and its thread setting, when the library is installed. */
typedef void (*sgemm_fn)(int order, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                         const float *B, int ldb, float beta, float *C, int ldc);
static sgemm_fn blas_sgemm;
static const char *blas_name;

static void load_openblas(void) {
  static const char *const names[] = {"libopenblas.so.0", "libopenblas.so"};
  for (size_t i = 0; i < sizeof names / sizeof names[0] && !blas_sgemm; i++) {
    void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) continue;
    void (*set_threads)(int) = (void (*)(int))dlsym(h, "openblas_set_num_threads");
    blas_sgemm = (sgemm_fn)dlsym(h, "cblas_sgemm");
    if (set_threads) set_threads(1);
    blas_name = names[i];
  }
}

/* One shape at every level: rows[level]. */
static void bench_gemm_shape(const size_t shape[3], const sl_isa *isa, int n_isa, double secs, uint64_t *seed,
                             gemm_row *rows) {
  const size_t M = shape[0], N = shape[1], K = shape[2];
  float *x = xmalloc(M * K * 4), *w = xmalloc(N * K * 4), *b = xmalloc(N * 4), *y = xmalloc(M * N * 4);
  float *xs = xmalloc(M * 4);
  uint8_t *xu = xmalloc(M * K);
  uint16_t *xb = xmalloc(M * K * 2);
  for (size_t i = 0; i < M * K; i++) x[i] = urand(seed);
  for (size_t i = 0; i < N * K; i++) w[i] = urand(seed);
  memset(b, 0, N * 4);
  float *wp = xmalloc(sl_f32_packed_floats(N, K) * 4);
  sl_f32_pack(w, K, N, K, wp);
  sl_qweights q8, q16;
  sl_err err;
  if (sl_quantize_weights(w, N, K, SL_COMPUTE_INT8, &q8, &err) != SL_OK ||
      sl_quantize_weights(w, N, K, SL_COMPUTE_BF16, &q16, &err) != SL_OK)
    die("sl_quantize_weights: %s", err.msg);
  if (q8.kpad != K || q16.kpad != K) die("K = %zu is not a multiple of %d", K, SL_GEMM_K_ALIGN);
  int8_t *wqp = xmalloc(sl_gemm_packed_elems(N, K));
  uint16_t *wbp = xmalloc(sl_gemm_packed_elems(N, K) * 2);
  sl_gemm_pack_i8(q8.wq, N, K, wqp);
  sl_gemm_pack_bf16(q16.wb, N, K, wbp);
  for (int l = 0; l < n_isa; l++) {
    gemm_row *r = &rows[l];
    const sl_gemm_kernels *k = sl_gemm_for_isa(isa[l]);
    const sl_f32_kernels *kp = sl_f32_for_isa(isa[l]);
    const sl_gemm_kernels *pk = isa[l] == SL_ISA_AVX512 && sl_gemm_amx() ? sl_gemm_amx() : k;
    *r = (gemm_row){ .M = M, .N = N, .K = K,
                     .kernel = { k->f32_name, kp->name, k->i8_name, k->bf16_name,
                                 pk->i8_packed_name ? pk->i8_packed_name : "-",
                                 pk->bf16_packed_name ? pk->bf16_packed_name : "-" },
                     .s = { NAN, NAN, NAN, NAN, NAN, NAN }, .blas_s = NAN };
    if (isa[l] == SL_ISA_SCALAR && M > 12) continue;   /* the scalar level would take seconds */
    r->ran = 1;
    TIME_BEST(r->s[FP32], secs, for (size_t n0 = 0; n0 < N; n0 += 64)
                                  k->gemm_f32(x, K, M, w, K, b, n0, n0 + 64 < N ? n0 + 64 : N, K, y, N));
    TIME_BEST(r->s[FP32P], secs, for (size_t n0 = 0; n0 < N; n0 += 64)
                                   kp->gemm_packed(x, K, M, wp, K, b, n0, n0 + 64 < N ? n0 + 64 : N, y, N));
    if (blas_sgemm && l == n_isa - 1)   /* CblasRowMajor 101, NoTrans 111, Trans 112: X . W^T */
      TIME_BEST(r->blas_s, secs, blas_sgemm(101, 111, 112, (int)M, (int)N, (int)K, 1.0f, x, (int)K, w, (int)K, 0.0f,
                                            y, (int)N));
    TIME_BEST(r->prep_s[INT8], secs, k->quantize_rows(x, K, M, K, xu, q8.kpad, xs));
    TIME_BEST(r->s[INT8], secs, k->gemm_i8(xu, q8.kpad, xs, M, q8.wq, q8.ws, q8.wsum, b, 0, N, q8.kpad, y, N));
    TIME_BEST(r->prep_s[BF16], secs, k->to_bf16(x, M * K, xb));
    TIME_BEST(r->s[BF16], secs, k->gemm_bf16(xb, K, M, q16.wb, b, 0, N, q16.kpad, y, N));
    r->prep_s[INT8P] = r->prep_s[INT8], r->prep_s[BF16P] = r->prep_s[BF16];
    if (pk->gemm_i8_packed)
      TIME_BEST(r->s[INT8P], secs, for (size_t n0 = 0; n0 < N; n0 += 64)
                                     pk->gemm_i8_packed(xu, q8.kpad, xs, M, wqp, q8.ws, q8.wsum, b, n0,
                                                        n0 + 64 < N ? n0 + 64 : N, q8.kpad, y, N));
    if (pk->gemm_bf16_packed)
      TIME_BEST(r->s[BF16P], secs, for (size_t n0 = 0; n0 < N; n0 += 64)
                                     pk->gemm_bf16_packed(xb, K, M, wbp, b, n0, n0 + 64 < N ? n0 + 64 : N,
                                                          q16.kpad, y, N));
  }
  sl_qweights_free(&q8);
  sl_qweights_free(&q16);
  free(x), free(w), free(b), free(y), free(xs), free(xu), free(xb), free(wp), free(wqp), free(wbp);
}

/* ---------------------------------------------------------------- stream */

static volatile float sink;   /* a result the compiler cannot drop the calls of */

/* GB/s of packed weights gemm_packed reads at M = 1, 4, 8 (best level), and of a plain read,
** over 47 MB (80 packed 384 x 384 matrices): gbs[0] the plain read, gbs[1..3] M = 1, 4, 8. */
static void bench_stream(sl_isa top, uint64_t *seed, double gbs[4]) {
  enum { N = 384, K = 384, MATS = 80 };
  const size_t pf = sl_f32_packed_floats(N, K), total = MATS * pf;
  float *w = xmalloc(N * K * 4), *wp = xmalloc(total * 4), *x = xmalloc(8 * K * 4), *y = xmalloc(8 * N * 4);
  for (size_t i = 0; i < N * K; i++) w[i] = urand(seed);
  for (size_t i = 0; i < 8 * K; i++) x[i] = urand(seed);
  for (size_t m = 0; m < MATS; m++) sl_f32_pack(w, K, N, K, wp + m * pf);
  const sl_f32_kernels *kp = sl_f32_for_isa(top);
  static const size_t Ms[3] = {1, 4, 8};
  double best = INFINITY;
  for (int t = 0; t < 8; t++) {
    double t0 = cpu_s();
    float a[8] = {0};
    for (size_t i = 0; i + 8 <= total; i += 8)
      for (int j = 0; j < 8; j++) a[j] += wp[i + j];   /* vectorized by the compiler at -O2 */
    double d = cpu_s() - t0;
    sink += a[0] + a[7];
    if (d < best) best = d;
  }
  gbs[0] = total * 4 / best / 1e9;
  for (int i = 0; i < 3; i++) {
    best = INFINITY;
    for (int t = 0; t < 8; t++) {
      double t0 = cpu_s();
      for (size_t m = 0; m < MATS; m++) kp->gemm_packed(x, K, Ms[i], wp + m * pf, K, NULL, 0, N, y, N);
      double d = cpu_s() - t0;
      if (d < best) best = d;
    }
    gbs[i + 1] = total * 4 / best / 1e9;
  }
  free(w), free(wp), free(x), free(y);
}

/* ---------------------------------------------------------------- distance */

#define N_DIST 8
static const struct { sl_vec_type type; sl_metric metric; const char *name; } DIST[N_DIST] = {
  {SL_VEC_F32, SL_METRIC_L2, "f32 l2"},   {SL_VEC_F32, SL_METRIC_COSINE, "f32 cosine"},
  {SL_VEC_F32, SL_METRIC_DOT, "f32 dot"}, {SL_VEC_F32, SL_METRIC_L1, "f32 l1"},
  {SL_VEC_I8, SL_METRIC_L2, "int8 l2"},   {SL_VEC_I8, SL_METRIC_COSINE, "int8 cosine"},
  {SL_VEC_I8, SL_METRIC_DOT, "int8 dot"}, {SL_VEC_BIT, SL_METRIC_HAMMING, "bit hamming"},
};

/* ns per distance of each case at each level: ns[case][level]. */
static void bench_distances(const sl_isa *isa, int n_isa, uint64_t *seed, double ns[N_DIST][MAX_LEVELS]) {
  enum { DIMS = 384, COUNT = 256 };
  float *base = xmalloc(COUNT * DIMS * sizeof(float)), q[DIMS], out[COUNT];
  for (size_t i = 0; i < COUNT * DIMS; i++) base[i] = urand(seed);
  for (size_t i = 0; i < DIMS; i++) q[i] = urand(seed);
  for (int c = 0; c < N_DIST; c++) {
    const size_t stride = sl_vec_bytes(DIST[c].type, DIMS);
    for (int l = 0; l < n_isa; l++) {
      sl_distance_fn f = sl_distance_for_isa(isa[l], DIST[c].type, DIST[c].metric);
      double best = INFINITY;
      for (int trial = 0; trial < 10; trial++) {   /* the fastest pass is the least disturbed */
        double t0 = now_s();
        for (int rep = 0; rep < 4; rep++)
          for (size_t i = 0; i < COUNT; i++) out[i] = f(q, (const unsigned char *)base + i * stride, DIMS);
        double t = (now_s() - t0) * 1e9 / (4.0 * COUNT);
        sink += out[trial % COUNT];
        if (t < best) best = t;
      }
      ns[c][l] = best;
    }
  }
  free(base);
}

/* ---------------------------------------------------------------- report */

static void print_gemm(const gemm_row rows[N_SHAPES][MAX_LEVELS], const sl_isa *isa, int n_isa, FILE *csv) {
  printf("\n%-16s %-7s %-5s %-12s %10s %7s %8s %10s\n", "gemm M x N x K", "level", "kind", "kernel", "us/call",
         "GOPS", "vs fp32", "+prep us");
  for (int s = 0; s < N_SHAPES; s++)
    for (int l = 0; l < n_isa; l++) {
      const gemm_row *r = &rows[s][l];
      if (!r->ran) continue;
      char shape[32], ratio[16], prep[16];
      snprintf(shape, sizeof shape, "%zu x %zu x %zu", r->M, r->N, r->K);
      double ops = 2.0 * r->M * r->N * r->K;
      for (int k = 0; k < NKIND; k++) {
        if (isnan(r->s[k])) continue;   /* no packed product at this level */
        fnum(ratio, sizeof ratio, "%.2fx", k ? r->s[FP32] / r->s[k] : NAN);
        fnum(prep, sizeof prep, "%.1f", k >= INT8 ? r->prep_s[k] * 1e6 : NAN);
        printf("%-16s %-7s %-5s %-12s %10.1f %7.1f %8s %10s\n", shape, sl_isa_name(isa[l]), KIND[k], r->kernel[k],
               r->s[k] * 1e6, ops / r->s[k] * 1e-9, k ? ratio : "", k ? prep : "");
        fprintf(csv, "gemm,%zux%zux%zu,%s,%s,%s,%.1f,%.2f", r->M, r->N, r->K, sl_isa_name(isa[l]), KIND[k],
                r->kernel[k], r->s[k] * 1e9, ops / r->s[k] * 1e-9);
        csv_num(csv, k ? r->s[FP32] / r->s[k] : NAN);
        csv_num(csv, k >= INT8 ? r->prep_s[k] * 1e9 : NAN);
        fputc('\n', csv);
      }
    }
}

static void print_blas(const gemm_row rows[N_SHAPES][MAX_LEVELS], const sl_isa *isa, int n_isa, FILE *csv) {
  if (!blas_sgemm) {
    printf("\nOpenBLAS: not installed (apt-get install libopenblas0), no comparison\n");
    return;
  }
  printf("\n%-16s %14s %14s %9s   (%s, one thread; semlite at %s)\n", "fp32 M x N x K", "OpenBLAS GFLOPS",
         "semlite fp32p", "ratio", blas_name, sl_isa_name(isa[n_isa - 1]));
  for (int s = 0; s < N_SHAPES; s++) {
    const gemm_row *r = &rows[s][n_isa - 1];
    if (!r->ran) continue;
    double ops = 2.0 * r->M * r->N * r->K;
    char shape[32];
    snprintf(shape, sizeof shape, "%zu x %zu x %zu", r->M, r->N, r->K);
    printf("%-16s %14.1f %14.1f %8.2fx\n", shape, ops / r->blas_s * 1e-9, ops / r->s[FP32P] * 1e-9,
           r->blas_s / r->s[FP32P]);
    fprintf(csv, "gemm,%zux%zux%zu,%s,fp32,openblas,%.1f,%.2f,,\n", r->M, r->N, r->K, sl_isa_name(isa[n_isa - 1]),
            r->blas_s * 1e9, ops / r->blas_s * 1e-9);
  }
}

static void print_stream(const double gbs[4], FILE *csv) {
  printf("\nsmall M from memory (47 MB of packed weights, one core): plain read %.1f GB/s; gemm_packed M = 1: %.1f, "
         "M = 4: %.1f, M = 8: %.1f GB/s of weights\n", gbs[0], gbs[1], gbs[2], gbs[3]);
  fprintf(csv, "stream,read,,,,,%.2f,,\nstream,packed_m1,,,,,%.2f,,\nstream,packed_m4,,,,,%.2f,,\n"
               "stream,packed_m8,,,,,%.2f,,\n", gbs[0], gbs[1], gbs[2], gbs[3]);
}

static void print_distances(double ns[N_DIST][MAX_LEVELS], const sl_isa *isa, int n_isa, FILE *csv) {
  printf("\n%-16s", "ns per distance");
  for (int l = 0; l < n_isa; l++) printf(" %10s", sl_isa_name(isa[l]));
  printf("   (384 dimensions)\n");
  for (int c = 0; c < N_DIST; c++) {
    printf("%-16s", DIST[c].name);
    for (int l = 0; l < n_isa; l++) {
      printf(" %10.1f", ns[c][l]);
      fprintf(csv, "distance,%s,%s,%s,%s,%.2f,,,\n", DIST[c].name, sl_isa_name(isa[l]),
              DIST[c].type == SL_VEC_F32 ? "fp32" : DIST[c].type == SL_VEC_I8 ? "int8" : "bit",
              sl_isa_name(isa[l]), ns[c][l]);
    }
    printf("\n");
  }
}

/* kernels-plot.dat: index 0, GOPS per shape (one column per level and kind); index 1, ns per
** distance (one column per level); each block starts with its column names. */
static void write_plot_data(const char *path, const gemm_row rows[N_SHAPES][MAX_LEVELS],
                            double ns[N_DIST][MAX_LEVELS], const sl_isa *isa, int n_isa) {
  FILE *f = out_open(path, "w");
  fprintf(f, "shape");
  for (int l = 0; l < n_isa; l++)
    for (int k = 0; k < NKIND; k++) fprintf(f, " %s-%s", sl_isa_name(isa[l]), KIND[k]);
  fputc('\n', f);
  for (int s = 0; s < N_SHAPES; s++) {
    fprintf(f, "\"%zux%zux%zu\"", SHAPES[s][0], SHAPES[s][1], SHAPES[s][2]);
    for (int l = 0; l < n_isa; l++)
      for (int k = 0; k < NKIND; k++) {
        const gemm_row *r = &rows[s][l];
        fprintf(f, " %g", r->ran ? 2.0 * r->M * r->N * r->K / r->s[k] * 1e-9 : NAN);
      }
    fputc('\n', f);
  }
  fprintf(f, "\n\ncase");
  for (int l = 0; l < n_isa; l++) fprintf(f, " %s", sl_isa_name(isa[l]));
  fputc('\n', f);
  for (int c = 0; c < N_DIST; c++) {
    fprintf(f, "\"%s\"", DIST[c].name);
    for (int l = 0; l < n_isa; l++) fprintf(f, " %g", ns[c][l]);
    fputc('\n', f);
  }
  out_close(f, path);
}

int main(int argc, char **argv) {
  bench_init("bench_kernels", 1);
  args.seconds = 0.03;   /* --seconds: each GEMM figure is the fastest call within this time of calls */
  parse_args(argc, argv, "[options]", ARG_OUT | ARG_PLOT | ARG_SECONDS, NULL);
  mkdirs(args.out);
  sl_isa isa[MAX_LEVELS];
  int n_isa = levels(isa);
  double la[3];
  load_average(la);
  printf("bench_kernels: levels");
  for (int l = 0; l < n_isa; l++) printf(" %s", sl_isa_name(isa[l]));
  printf("; one core; load average at start: %.2f %.2f %.2f\n", la[0], la[1], la[2]);

  static gemm_row rows[N_SHAPES][MAX_LEVELS];
  static double ns[N_DIST][MAX_LEVELS];
  static double gbs[4];
  uint64_t seed = 41;
  load_openblas();
  cpu_sample c0 = cpu_now();
  for (int s = 0; s < N_SHAPES; s++) bench_gemm_shape(SHAPES[s], isa, n_isa, args.seconds, &seed, rows[s]);
  bench_stream(isa[n_isa - 1], &seed, gbs);
  bench_distances(isa, n_isa, &seed, ns);
  double other = other_cpus(c0, cpu_now());

  char *csv_path = fmt("%s/kernels.csv", args.out), *dat_path = fmt("%s/kernels-plot.dat", args.out);
  FILE *csv = out_open(csv_path, "w");
  fprintf(csv, "section,case,level,kind,kernel,ns_per_call,gops,speedup_vs_fp32,prep_ns\n");
  print_gemm(rows, isa, n_isa, csv);
  print_blas(rows, isa, n_isa, csv);
  print_stream(gbs, csv);
  print_distances(ns, isa, n_isa, csv);
  out_close(csv, csv_path);
  write_plot_data(dat_path, rows, ns, isa, n_isa);

  printf("\nother processes kept %.2f CPUs busy on average during the run%s\n", other,
         other > 0.15 ? " (WARNING: the machine was not quiet; the figures are best-of, but understated)" : "");
  printf("results: %s\n", csv_path);
  if (args.plot && *args.plot) {
    char *e = fmt("datafile='%q'; outfile='%q/kernels.png'; ngemm=%d; nlevels=%d", dat_path, args.out,
                  n_isa * NKIND, n_isa);
    if (gnuplot(args.plot, e)) printf("plot: %s/kernels.png\n", args.out);
    sqlite3_free(e);
  }
  sqlite3_free(csv_path);
  sqlite3_free(dat_path);
  return 0;
}
