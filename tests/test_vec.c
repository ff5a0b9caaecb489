/*
** test_vec.c: the sqlite-vec-compatible vector functions (ext/sql/sql_vec*.c) and the
** distance kernels under them (ext/kernels/distance*.c).
**
** Kernels, at every ISA level this CPU runs, against references written here:
**   exact     int8 and bit at every length; float32 on small integer values, where every
**             partial sum in any order is an exact float, so l1, dot and l2^2 must equal
**             the true sum and cosine the double formula on it (catches a lost or
**             repeated element, which tolerances could hide)
**   bounded   float32 on random values against a double reference: a float sum of n
**             terms in any order is within n * 2^-24 * sum|term| of the true sum, so
**             l1, dot and l2^2 are checked with that bound, cosine with 3n * 2^-24
** SQL, on the real semlite.so: every function, every error message, NULLs, subtypes.
** Compatibility: the same queries through sqlite-vec's vec0.so (SEMLITE_VEC0, see
** tests/vec0.mk) and semlite.so, results compared column by column (see test_compat).
** The kernels' speed is measured by bench/kernels (make bench-kernels), never here.
*/
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "../ext/kernels/distance_isa.h"
#include "test.h"

/* ---- kernels ---- */

static const size_t kdims[] = {1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 129, 384, 1536, 4099};
#define NKDIMS (sizeof kdims / sizeof kdims[0])

static const char *const isa_names[] = {"scalar", "avx2", "avx512"};

static uint64_t rng_next(uint64_t *s) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return *s >> 11;
}
static double urand(uint64_t *s) { return (double)rng_next(s) / 9007199254740992.0; } /* [0, 1) */

/* Exactly-sized heap buffers (so ASan sees any read past the end), the data starting
** `skew` bytes in, to test unaligned vectors. The caller frees the returned base. */
static void *alloc_skewed(size_t bytes, size_t skew, unsigned char **data) {
  unsigned char *p = malloc(bytes + skew);
  if (!p) abort();
  *data = p + skew;
  return p;
}

/* The levels this CPU runs. */
static int levels(sl_isa out[3]) {
  int n = 0;
  for (int i = SL_ISA_SCALAR; i <= SL_ISA_AVX512; i++)
    if (sl_kernels_for((sl_isa)i)) out[n++] = (sl_isa)i;
  return n;
}

static void put_f32(unsigned char *p, size_t i, float f) { memcpy(p + 4 * i, &f, 4); }
static float get_f32(const unsigned char *p, size_t i) {
  float f;
  memcpy(&f, p + 4 * i, 4);
  return f;
}

/* Double sums of a float32 pair: x.y, |x|^2, |y|^2, sum (x-y)^2, sum |x-y|, and the
** sums of absolute terms that bound a float evaluation's error. */
typedef struct f32_ref {
  double xy, xx, yy, l2sq, l1, abs_xy;
} f32_ref;

static f32_ref ref_f32(const unsigned char *x, const unsigned char *y, size_t n) {
  f32_ref r = {0, 0, 0, 0, 0, 0};
  for (size_t i = 0; i < n; i++) {
    double a = get_f32(x, i), b = get_f32(y, i);
    r.xy += a * b;
    r.abs_xy += fabs(a * b);
    r.xx += a * a;
    r.yy += b * b;
    r.l2sq += (a - b) * (a - b);
    r.l1 += fabs(a - b);
  }
  return r;
}

/* Float32 on integer values in [-30, 30]: every sum below 2^24, so exact in any order. */
static void test_kernel_f32_exact(void) {
  sl_isa isa[3];
  int nisa = levels(isa);
  uint64_t seed = 1;
  for (size_t d = 0; d < NKDIMS; d++) {
    const size_t n = kdims[d];
    unsigned char *x, *y;
    void *bx = alloc_skewed(4 * n, 1, &x), *by = alloc_skewed(4 * n, 0, &y);
    for (size_t i = 0; i < n; i++) {
      put_f32(x, i, (float)((int)(rng_next(&seed) % 61) - 30));
      put_f32(y, i, (float)((int)(rng_next(&seed) % 61) - 30));
    }
    const f32_ref r = ref_f32(x, y, n);
    for (int k = 0; k < nisa; k++) {
      float l2 = sl_distance_for_isa(isa[k], SL_VEC_F32, SL_METRIC_L2)(x, y, n);
      float l1 = sl_distance_for_isa(isa[k], SL_VEC_F32, SL_METRIC_L1)(x, y, n);
      float dot = sl_distance_for_isa(isa[k], SL_VEC_F32, SL_METRIC_DOT)(x, y, n);
      float cosine = sl_distance_for_isa(isa[k], SL_VEC_F32, SL_METRIC_COSINE)(x, y, n);
      CHECK_MSG(l2 == (float)sqrt(r.l2sq), "%s n=%zu l2 %.9g, expected %.9g", isa_names[isa[k]], n, l2, sqrt(r.l2sq));
      CHECK_MSG(l1 == (float)r.l1, "%s n=%zu l1 %.9g, expected %.9g", isa_names[isa[k]], n, l1, r.l1);
      CHECK_MSG(dot == (float)-r.xy, "%s n=%zu dot %.9g, expected %.9g", isa_names[isa[k]], n, dot, -r.xy);
      CHECK_MSG(cosine == sl_cosine_finish(r.xy, r.xx, r.yy) || (isnan(cosine) && r.xx * r.yy == 0),
                "%s n=%zu cosine %.9g, expected %.9g", isa_names[isa[k]], n, cosine,
                sl_cosine_finish(r.xy, r.xx, r.yy));
    }
    free(bx);
    free(by);
  }
}

/* Float32 on random values in [-1, 1) (and scaled by 1e3 and 1e-3) against double. */
static void test_kernel_f32_bounded(void) {
  static const double scales[] = {1, 1e3, 1e-3};
  const double u = ldexp(1, -24);
  sl_isa isa[3];
  int nisa = levels(isa);
  uint64_t seed = 2;
  for (size_t s = 0; s < 3; s++) {
    for (size_t d = 0; d < NKDIMS; d++) {
      const size_t n = kdims[d];
      unsigned char *x, *y;
      void *bx = alloc_skewed(4 * n, 0, &x), *by = alloc_skewed(4 * n, 2, &y);
      for (size_t i = 0; i < n; i++) {
        put_f32(x, i, (float)((2 * urand(&seed) - 1) * scales[s]));
        put_f32(y, i, (float)((2 * urand(&seed) - 1) * scales[s]));
      }
      const f32_ref r = ref_f32(x, y, n);
      const double g = (double)n * u;
      for (int k = 0; k < nisa; k++) {
        const char *name = isa_names[isa[k]];
        double l2 = sl_distance_for_isa(isa[k], SL_VEC_F32, SL_METRIC_L2)(x, y, n);
        double l1 = sl_distance_for_isa(isa[k], SL_VEC_F32, SL_METRIC_L1)(x, y, n);
        double dot = sl_distance_for_isa(isa[k], SL_VEC_F32, SL_METRIC_DOT)(x, y, n);
        double cosine = sl_distance_for_isa(isa[k], SL_VEC_F32, SL_METRIC_COSINE)(x, y, n);
        double ref_cos = 1 - r.xy / sqrt(r.xx * r.yy);
        /* l2^2 within g*l2sq (plus the differences' own rounding, u each), then a
        ** rounded sqrt; compared as squares */
        CHECK_MSG(fabs(l2 * l2 - r.l2sq) <= (g + 4 * u) * r.l2sq + 1e-300, "%s n=%zu l2 %.9g, reference %.9g",
                  name, n, l2, sqrt(r.l2sq));
        CHECK_MSG(fabs(l1 - r.l1) <= (g + 2 * u) * r.l1, "%s n=%zu l1 %.9g, reference %.9g", name, n, l1, r.l1);
        CHECK_MSG(fabs(dot + r.xy) <= (g + u) * r.abs_xy + u * fabs(r.xy), "%s n=%zu dot %.9g, reference %.9g",
                  name, n, dot, -r.xy);
        CHECK_MSG(fabs(cosine - ref_cos) <= 3 * g + 2 * u, "%s n=%zu cosine %.9g, reference %.9g", name, n,
                  cosine, ref_cos);
      }
      free(bx);
      free(by);
    }
  }
}

/* int8 and bit: exact at every level, on random and extreme values; 70000 dimensions
** cross the point where the SIMD levels move int32 lanes into 64-bit ones. */
static void test_kernel_int8_bit(void) {
  static const size_t more[] = {255, 256, 257, 70000};
  sl_isa isa[3];
  int nisa = levels(isa);
  uint64_t seed = 3;
  for (size_t d = 0; d < NKDIMS + 4; d++) {
    const size_t n = d < NKDIMS ? kdims[d] : more[d - NKDIMS];
    for (int extreme = 0; extreme < 2; extreme++) {
      unsigned char *x, *y;
      void *bx = alloc_skewed(n, 1, &x), *by = alloc_skewed(n, 0, &y);
      int64_t xy = 0, xx = 0, yy = 0, l2sq = 0, l1 = 0, ham = 0;
      for (size_t i = 0; i < n; i++) {
        int a = extreme ? (i % 3 ? -128 : 127) : (int)(rng_next(&seed) % 256) - 128;
        int b = extreme ? (i % 3 ? 127 : -128) : (int)(rng_next(&seed) % 256) - 128;
        x[i] = (unsigned char)(int8_t)a;
        y[i] = (unsigned char)(int8_t)b;
        xy += a * b;
        xx += a * a;
        yy += b * b;
        l2sq += (a - b) * (a - b);
        l1 += abs(a - b);
        ham += __builtin_popcount((unsigned)(x[i] ^ y[i]));
      }
      for (int k = 0; k < nisa; k++) {
        const char *name = isa_names[isa[k]];
        float got;
        got = sl_distance_for_isa(isa[k], SL_VEC_I8, SL_METRIC_L2)(x, y, n);
        CHECK_MSG(got == (float)sqrt((double)l2sq), "%s n=%zu int8 l2 %.9g", name, n, got);
        got = sl_distance_for_isa(isa[k], SL_VEC_I8, SL_METRIC_L1)(x, y, n);
        CHECK_MSG(got == (float)l1, "%s n=%zu int8 l1 %.9g, expected %lld", name, n, got, (long long)l1);
        got = sl_distance_for_isa(isa[k], SL_VEC_I8, SL_METRIC_DOT)(x, y, n);
        CHECK_MSG(got == (float)-xy, "%s n=%zu int8 dot %.9g, expected %lld", name, n, got, (long long)-xy);
        got = sl_distance_for_isa(isa[k], SL_VEC_I8, SL_METRIC_COSINE)(x, y, n);
        CHECK_MSG(got == sl_cosine_finish((double)xy, (double)xx, (double)yy), "%s n=%zu int8 cosine %.9g", name,
                  n, got);
        got = sl_distance_for_isa(isa[k], SL_VEC_BIT, SL_METRIC_HAMMING)(x, y, 8 * n);
        CHECK_MSG(got == (float)ham, "%s n=%zu hamming %.9g, expected %lld", name, 8 * n, got, (long long)ham);
      }
      free(bx);
      free(by);
    }
  }
}

/* sl_distance_many at every level equals one call per vector, bit for bit, for every
** count around the 4-vector blocks of the batched kernels, on random and extreme bytes. */
static void test_kernel_many(void) {
  static const size_t counts[] = {1, 3, 4, 5, 8, 9};
  static const size_t dims[] = {1, 63, 64, 65, 384, 1000, 70000};
  static const struct { sl_vec_type type; sl_metric metric; } pairs[] = {
    {SL_VEC_I8, SL_METRIC_DOT}, {SL_VEC_I8, SL_METRIC_L2}, {SL_VEC_I8, SL_METRIC_COSINE},
    {SL_VEC_F32, SL_METRIC_L2}, {SL_VEC_BIT, SL_METRIC_HAMMING}};
  sl_isa isa[3];
  int nisa = levels(isa);
  uint64_t seed = 5;
  for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++)
      for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
        const size_t n = pairs[p].type == SL_VEC_BIT ? 8 * dims[d] : dims[d], count = counts[c];
        const size_t bytes = sl_vec_bytes(pairs[p].type, n);
        unsigned char *q = malloc(bytes), *base = malloc(count * bytes);
        float *got = malloc(count * sizeof *got);
        for (size_t i = 0; i < bytes; i++) q[i] = d % 2 ? 0x80 : (unsigned char)rng_next(&seed);
        for (size_t i = 0; i < count * bytes; i++)
          base[i] = pairs[p].type == SL_VEC_F32 ? (unsigned char)(rng_next(&seed) % 64)
                    : d % 2 ? 0x7f : (unsigned char)rng_next(&seed);
        for (int k = 0; k < nisa; k++) {
          sl_distance_fn fn = sl_distance_for_isa(isa[k], pairs[p].type, pairs[p].metric);
          CHECK(sl_distance_many_isa(isa[k], pairs[p].type, pairs[p].metric, q, base, count, n, got) == 0);
          for (size_t i = 0; i < count; i++) {
            float one = fn(q, base + i * bytes, n);
            CHECK_MSG(memcmp(&one, &got[i], sizeof one) == 0, "%s type %d metric %d n=%zu count %zu: vector %zu "
                      "%.9g, alone %.9g", isa_names[isa[k]], pairs[p].type, pairs[p].metric, n, count, i, got[i], one);
          }
        }
        free(q), free(base), free(got);
      }
}

static void test_kernel_dispatch(void) {
  static const int defined[3][5] = {{1, 1, 1, 1, 0}, {1, 1, 1, 1, 0}, {0, 0, 0, 0, 1}};
  float q[24], base[5 * 24], out[5];
  uint64_t seed = 4;
  for (int t = 0; t < 3; t++)
    for (int m = 0; m < 5; m++)
      CHECK_MSG((sl_distance_for((sl_vec_type)t, (sl_metric)m) != NULL) == defined[t][m], "type %d metric %d", t, m);
  CHECK(sl_distance_for((sl_vec_type)3, SL_METRIC_L2) == NULL);
  CHECK(sl_distance_for(SL_VEC_F32, (sl_metric)5) == NULL);
  CHECK(sl_distance_for(SL_VEC_F32, SL_METRIC_L2) ==
        sl_distance_for_isa(sl_kernels_get()->isa, SL_VEC_F32, SL_METRIC_L2));
  CHECK_INT(sl_vec_bytes(SL_VEC_F32, 384), 1536);
  CHECK_INT(sl_vec_bytes(SL_VEC_I8, 384), 384);
  CHECK_INT(sl_vec_bytes(SL_VEC_BIT, 384), 48);
  /* the many-vector scan equals one call per vector, for each type's stride */
  for (size_t i = 0; i < 24; i++) q[i] = (float)urand(&seed);
  for (size_t i = 0; i < 5 * 24; i++) base[i] = (float)urand(&seed);
  CHECK_INT(sl_distance_many(SL_VEC_F32, SL_METRIC_HAMMING, q, base, 5, 24, out), -1);
  for (int t = 0; t < 3; t++) {
    const sl_metric m = t == SL_VEC_BIT ? SL_METRIC_HAMMING : SL_METRIC_L2;
    const size_t n = t == SL_VEC_F32 ? 24 : t == SL_VEC_I8 ? 96 : 768; /* 96 bytes each */
    CHECK_INT(sl_distance_many((sl_vec_type)t, m, q, base, 5, n, out), 0);
    for (size_t i = 0; i < 5; i++)
      CHECK(out[i] == sl_distance_for((sl_vec_type)t, m)(q, (const unsigned char *)base + i * 96, n));
  }
}

/* ---- SQL ---- */

static void test_constructors(void) {
  sqlite3 *db = t_open();
  CHECK_QUERY(db, "SELECT hex(vec_f32('[1, -2.5, 0.1]'))", NULL, NULL, "0000803F000020C0CDCCCC3D");
  CHECK_QUERY(db, "SELECT hex(vec_f32(x'0000803f'))", NULL, NULL, "0000803F");
  CHECK_QUERY(db, "SELECT hex(vec_int8('[1, -2, 127, -128]'))", NULL, NULL, "01FE7F80");
  CHECK_QUERY(db, "SELECT hex(vec_int8(x'01fe'))", NULL, NULL, "01FE");
  CHECK_QUERY(db, "SELECT hex(vec_int8('[3.0]'))", NULL, NULL, "03");
  CHECK_QUERY(db, "SELECT hex(vec_bit(x'05a0'))", NULL, NULL, "05A0");
  /* constructors say what a BLOB holds, whatever its subtype said */
  CHECK_QUERY(db, "SELECT hex(vec_f32(vec_int8('[1,2,3,4]')))", NULL, NULL, "01020304");
  CHECK_QUERY(db, "SELECT subtype(vec_f32(vec_int8('[1,2,3,4]')))", NULL, NULL, "223");
  CHECK_QUERY(db, "SELECT hex(vec_bit(vec_f32('[1]')))", NULL, NULL, "0000803F");
  CHECK_QUERY(db, "SELECT vec_length(vec_bit(vec_f32('[1]')))", NULL, NULL, "32");
  CHECK_QUERY(db, "SELECT vec_length('[1, 2, 3]')", NULL, NULL, "3");
  CHECK_QUERY(db, "SELECT vec_length(x'0000803f00000040')", NULL, NULL, "2");
  CHECK_QUERY(db, "SELECT vec_length(vec_int8('[1, 2, 3]'))", NULL, NULL, "3");
  CHECK_QUERY(db, "SELECT vec_length(vec_bit(x'0505'))", NULL, NULL, "16");
  /* SQLite's JSON subtype means float32 JSON, as in sqlite-vec */
  CHECK_QUERY(db, "SELECT vec_length(json('[1, 2]'))", NULL, NULL, "2");
  CHECK_QUERY(db, "SELECT vec_to_json(vec_int8(vec_to_json(vec_int8('[5, -6]'))))", NULL, NULL, "[5,-6]");
  sqlite3_close(db);
}

/* .npy files as NumPy writes them (numpy.lib.format; 64-byte aligned headers): NPY_2X3
** float32 [[1, -2.5, 3], [0.5, 0, -1]] (version 1); NPY_V2 [[1], [2]] (version 2);
** NPY_F8 float64; NPY_1D shape (2,); NPY_SHORT one float short; NPY_FORTRAN
** fortran_order True; NPY_EMPTY shape (0, 3). */
#define NPY_2X3 "x'934E554D5059010076007B276465736372273A20273C6634272C2027666F727472616E5F6F72646572273A2046616C73652C20277368617065273A2028322C2033292C207D202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200A0000803F000020C0000040400000003F00000000000080BF'"
#define NPY_V2 "x'934E554D50590200740000007B276465736372273A20273C6634272C2027666F727472616E5F6F72646572273A2046616C73652C20277368617065273A2028322C2031292C207D20202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200A0000803F00000040'"
#define NPY_F8 "x'934E554D5059010076007B276465736372273A20273C6638272C2027666F727472616E5F6F72646572273A2046616C73652C20277368617065273A2028322C2031292C207D202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200A000000000000F03F0000000000000040'"
#define NPY_1D "x'934E554D5059010076007B276465736372273A20273C6634272C2027666F727472616E5F6F72646572273A2046616C73652C20277368617065273A2028322C292C207D2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200A0000803F00000040'"
#define NPY_SHORT "x'934E554D5059010076007B276465736372273A20273C6634272C2027666F727472616E5F6F72646572273A2046616C73652C20277368617065273A2028322C2031292C207D202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200A0000803F'"
#define NPY_FORTRAN "x'934E554D5059010076007B276465736372273A20273C6634272C2027666F727472616E5F6F72646572273A20547275652C20277368617065273A2028322C2032292C207D20202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200A0000803F000000400000404000008040'"
#define NPY_EMPTY "x'934E554D5059010076007B276465736372273A20273C6634272C2027666F727472616E5F6F72646572273A2046616C73652C20277368617065273A2028302C2033292C207D202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200A'"

static void test_to_json(void) {
  sqlite3 *db = t_open();
  CHECK_QUERY(db, "SELECT vec_to_json('[1, -2.5, 0.1]')", NULL, NULL, "[1.000000,-2.500000,0.100000]");
  CHECK_QUERY(db, "SELECT vec_to_json(vec_int8('[1, -2]'))", NULL, NULL, "[1,-2]");
  CHECK_QUERY(db, "SELECT vec_to_json(vec_bit(x'05'))", NULL, NULL, "[1,0,1,0,0,0,0,0]");
  /* NaN as null, infinities and -0 as SQLite's printf writes them (sqlite-vec's text) */
  CHECK_QUERY(db, "SELECT vec_to_json(x'0000c07f0000807f000080ff00000080')", NULL, NULL,
              "[null,Inf,-Inf,0.000000]");
  CHECK_QUERY(db, "SELECT vec_to_json('[1e30, 1e-7, -0.0000015]')", NULL, NULL,
              "[1000000015047466000000000000000.000000,0.000000,-0.000002]");
  CHECK_QUERY(db, "SELECT json_extract(vec_to_json('[1.5, 2]'), '$[1]')", NULL, NULL, "2.0");
  /* sqlite-vec's number forms: .5, 1., +1, a trailing comma, overflow to infinity */
  CHECK_QUERY(db, "SELECT vec_to_json('[.5, -.5, 1., +1, 2e+1, ]')", NULL, NULL,
              "[0.500000,-0.500000,1.000000,1.000000,20.000000]");
  CHECK_QUERY(db, "SELECT vec_to_json('[1e39, -1e39]') || vec_to_json(vec_int8('[+3, 4.]'))", NULL, NULL,
              "[Inf,-Inf][3,4]");
  CHECK_QUERY(db, "SELECT vec_version() || ' ' || vec_type(vec_int8('[1]')) || ' ' || vec_type('[1]')", NULL, NULL,
              "v0.1.9 int8 float32");
  CHECK_QUERY(db, "SELECT group_concat(rowid || ':' || value, ' ') FROM vec_each('[1.5, -2]')", NULL, NULL,
              "0:1.5 1:-2.0");
  CHECK_QUERY(db, "SELECT group_concat(value, '') FROM vec_each(vec_bit(x'05'))", NULL, NULL, "00000101");
  CHECK_QUERY(db, "SELECT count(*) FROM vec_each(NULL)", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT * FROM vec_each", NULL, NULL, "ERROR: vec_each: needs a vector argument: vec_each(v)");
  CHECK_QUERY(db, "SELECT group_concat(rowid || ':' || vec_to_json(vector) || ':' || vec_type(vector), ' ') "
                  "FROM vec_npy_each(" NPY_2X3 ")", NULL, NULL,
              "0:[1.000000,-2.500000,3.000000]:float32 1:[0.500000,0.000000,-1.000000]:float32");
  CHECK_QUERY(db, "SELECT group_concat(vec_to_json(vector), ' ') FROM vec_npy_each(" NPY_V2 ")", NULL, NULL,
              "[1.000000] [2.000000]");
  CHECK_QUERY(db, "SELECT count(*) FROM vec_npy_each(" NPY_EMPTY ")", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT count(*) FROM vec_npy_each(NULL)", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT * FROM vec_npy_each(" NPY_F8 ")", NULL, NULL,
              "ERROR: vec_npy_each: dtype '<f8' is not supported: only float32 ('<f4')");
  CHECK_QUERY(db, "SELECT * FROM vec_npy_each(" NPY_1D ")", NULL, NULL,
              "ERROR: vec_npy_each: the array has 1 dimension; vec_npy_each reads a 2-D array (vectors, dimensions)");
  CHECK_QUERY(db, "SELECT * FROM vec_npy_each(" NPY_SHORT ")", NULL, NULL,
              "ERROR: vec_npy_each: data is 4 bytes, the shape (2, 1) needs 8");
  CHECK_QUERY(db, "SELECT * FROM vec_npy_each(" NPY_FORTRAN ")", NULL, NULL,
              "ERROR: vec_npy_each: only C-order arrays are supported ('fortran_order': False)");
  CHECK_QUERY(db, "SELECT * FROM vec_npy_each(x'934E554D')", NULL, NULL,
              "ERROR: vec_npy_each: not a .npy array (no \\x93NUMPY magic)");
  CHECK_QUERY(db, "SELECT * FROM vec_npy_each('[1, 2]')", NULL, NULL,
              "ERROR: vec_npy_each: the array must be a BLOB of a .npy file, got TEXT");
  CHECK_QUERY(db, "SELECT * FROM vec_npy_each", NULL, NULL,
              "ERROR: vec_npy_each: needs a .npy BLOB argument: vec_npy_each(array)");
  sqlite3_close(db);
}

static void test_subtypes(void) {
  static const char *const cases[][2] = {
    {"vec_f32('[1]')", "223"},
    {"vec_int8('[1]')", "225"},
    {"vec_bit(x'01')", "224"},
    {"vec_to_json('[1]')", "74"},
    {"vec_normalize('[1]')", "223"},
    {"vec_slice('[1, 2]', 0, 1)", "223"},
    {"vec_slice(vec_int8('[1, 2]'), 0, 1)", "225"},
    {"vec_slice(vec_bit(x'0102'), 0, 8)", "224"},
    {"vec_add('[1]', '[2]')", "223"},
    {"vec_sub(vec_int8('[1]'), vec_int8('[2]'))", "225"},
    {"vec_quantize_int8('[0.5]', 'unit')", "225"},
    {"vec_quantize_binary('[1, 1, 1, 1, 1, 1, 1, 1]')", "224"},
    {"vec_length('[1]')", "0"},
    {"vec_distance_l2('[1]', '[2]')", "0"},
  };
  sqlite3 *db = t_open();
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT subtype(%s)", cases[i][0]);
    CHECK_QUERY(db, sql, NULL, NULL, cases[i][1]);
  }
  sqlite3_close(db);
}

static void test_distances(void) {
  sqlite3 *db = t_open();
  CHECK_QUERY(db, "SELECT vec_distance_l2('[0, 0]', '[3, 4]')", NULL, NULL, "5.0");
  CHECK_QUERY(db, "SELECT vec_distance_l1('[0, 0]', '[3, -4]')", NULL, NULL, "7.0");
  CHECK_QUERY(db, "SELECT vec_distance_cosine('[1, 0]', '[0, 1]')", NULL, NULL, "1.0");
  CHECK_QUERY(db, "SELECT vec_distance_cosine('[1, 0]', '[-2, 0]')", NULL, NULL, "2.0");
  CHECK_QUERY(db, "SELECT vec_distance_dot('[1, 2]', '[3, 4]')", NULL, NULL, "-11.0");
  CHECK_QUERY(db, "SELECT vec_distance_l2(vec_int8('[0, 0]'), vec_int8('[3, 4]'))", NULL, NULL, "5.0");
  CHECK_QUERY(db, "SELECT vec_distance_l1(vec_int8('[1, 2, 3]'), vec_int8('[-128, 127, 3]'))", NULL, NULL, "254");
  CHECK_QUERY(db, "SELECT typeof(vec_distance_l1(vec_int8('[1]'), vec_int8('[2]')))", NULL, NULL, "integer");
  CHECK_QUERY(db, "SELECT vec_distance_cosine(vec_int8('[1, 0]'), vec_int8('[0, 5]'))", NULL, NULL, "1.0");
  CHECK_QUERY(db, "SELECT vec_distance_dot(vec_int8('[1, -2]'), vec_int8('[3, 4]'))", NULL, NULL, "5.0");
  CHECK_QUERY(db, "SELECT vec_distance_hamming(vec_bit(x'0f'), vec_bit(x'f1'))", NULL, NULL, "7.0");
  CHECK_QUERY(db, "SELECT vec_distance_hamming(vec_bit(zeroblob(64)), vec_bit(CAST(x'ff' || zeroblob(63) AS BLOB)))",
              NULL, NULL, "8.0");
  /* a zero vector has no direction: NULL, as sqlite-vec gives */
  CHECK_QUERY(db, "SELECT vec_distance_cosine('[0, 0]', '[1, 1]')", NULL, NULL, "NULL");
  /* JSON and BLOB arguments mix freely */
  CHECK_QUERY(db, "SELECT vec_distance_l2(vec_f32('[0, 0]'), '[3, 4]')", NULL, NULL, "5.0");
  sqlite3_close(db);
}

/* odd(blob, k): the BLOB's bytes from static buffer k at an odd address, handed to
** SQLite without a copy (SQLITE_STATIC), so the next function sees a misaligned pointer,
** as it could for a BLOB read in place. The results must not depend on it (and under
** UBSan no float may be read through it: the reader copies such BLOBs). */
static unsigned char odd_buffers[2][1 + 4096];

static void odd_blob(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  const int k = sqlite3_value_int(argv[1]) & 1, n = sqlite3_value_bytes(argv[0]);
  if (n > 4096) {
    sqlite3_result_error(ctx, "odd: too long", -1);
    return;
  }
  memcpy(odd_buffers[k] + 1, sqlite3_value_blob(argv[0]), (size_t)n);
  sqlite3_result_blob(ctx, odd_buffers[k] + 1, n, SQLITE_STATIC);
}

static void test_unaligned(void) {
  static const char *const exprs[] = {
    "vec_distance_l2(%s, %s)", "vec_distance_l1(%s, %s)", "vec_distance_cosine(%s, %s)", "vec_distance_dot(%s, %s)",
    "hex(vec_add(%s, %s))", "hex(vec_sub(%s, %s))", "vec_to_json(%s) || vec_to_json(%s)",
    "hex(vec_normalize(%s)) || hex(vec_slice(%s, 1, 3))", "hex(vec_quantize_int8(%s, 'unit')) || vec_length(%s)",
    "hex(vec_f32(%s)) || hex(vec_f32(%s))",
  };
  static const char a[] = "vec_f32('[1, 2, 3, 4, 5, 6, 7, 8, 9]')", b[] = "vec_f32('[9, 8, 7, 6, 5, 4, 3, 2, 0.5]')";
  sqlite3 *db = t_open();
  sqlite3_create_function(db, "odd", 2, SQLITE_UTF8, NULL, odd_blob, NULL, NULL);
  CHECK_QUERY(db, "SELECT vec_distance_l1(odd(vec_f32('[1, 2, 3, 4, 5, 6, 7, 8, 9]'), 0), '[0, 0, 0, 0, 0, 0, 0, 0, 0]')",
              NULL, NULL, "45.0");
  for (size_t i = 0; i < sizeof exprs / sizeof exprs[0]; i++) {
    char oa[100], ob[100], aligned[400], odd[400], sql[900];
    snprintf(oa, sizeof oa, "odd(%s, 0)", a);
    snprintf(ob, sizeof ob, "odd(%s, 1)", b);
    snprintf(aligned, sizeof aligned, exprs[i], a, b);
    snprintf(odd, sizeof odd, exprs[i], oa, ob);
    snprintf(sql, sizeof sql, "SELECT %s IS %s", aligned, odd);
    CHECK_QUERY(db, sql, NULL, NULL, "1");
  }
  sqlite3_close(db);
}

static void test_arithmetic(void) {
  sqlite3 *db = t_open();
  CHECK_QUERY(db, "SELECT vec_to_json(vec_add('[1, 2]', '[3, 4.5]'))", NULL, NULL, "[4.000000,6.500000]");
  CHECK_QUERY(db, "SELECT vec_to_json(vec_sub('[1, 2]', '[3, 4.5]'))", NULL, NULL, "[-2.000000,-2.500000]");
  /* int8 wraps around, as in sqlite-vec */
  CHECK_QUERY(db, "SELECT vec_to_json(vec_add(vec_int8('[100, -100, 1]'), vec_int8('[100, -100, 2]')))", NULL, NULL,
              "[-56,56,3]");
  CHECK_QUERY(db, "SELECT vec_to_json(vec_sub(vec_int8('[-128]'), vec_int8('[127]')))", NULL, NULL, "[1]");
  CHECK_QUERY(db, "SELECT vec_to_json(vec_normalize('[3, 4]'))", NULL, NULL, "[0.600000,0.800000]");
  CHECK_QUERY(db, "SELECT vec_to_json(vec_normalize('[0, 0]'))", NULL, NULL, "[null,null]");
  CHECK_QUERY(db, "SELECT vec_to_json(vec_slice('[1, 2, 3, 4]', 1, 3))", NULL, NULL, "[2.000000,3.000000]");
  CHECK_QUERY(db, "SELECT vec_to_json(vec_slice('[1, 2, 3, 4]', 0, 4))", NULL, NULL,
              "[1.000000,2.000000,3.000000,4.000000]");
  CHECK_QUERY(db, "SELECT vec_to_json(vec_slice(vec_int8('[1, 2, 3]'), 2, 3))", NULL, NULL, "[3]");
  CHECK_QUERY(db, "SELECT hex(vec_slice(vec_bit(x'0f1f2f'), 8, 24))", NULL, NULL, "1F2F");
  sqlite3_close(db);
}

static void test_quantize(void) {
  sqlite3 *db = t_open();
  /* step 2/255 in float, truncated toward zero, clamped; NaN to 127 (sqlite-vec's values) */
  CHECK_QUERY(db, "SELECT vec_to_json(vec_quantize_int8('[-1, -0.5, 0, 0.5, 1, 2, -2, 0.001, 1.003, -0.999]', 'unit'))",
              NULL, NULL, "[-128,-64,0,63,126,127,-128,0,127,-127]");
  CHECK_QUERY(db, "SELECT hex(vec_quantize_int8(x'0000c07f0000807f000080ff', 'UNIT'))", NULL, NULL, "7F7F80");
  CHECK_QUERY(db, "SELECT hex(vec_quantize_binary('[1, -1, 0, 2, 3, -4, 5, 6]'))", NULL, NULL, "D9");
  CHECK_QUERY(db, "SELECT hex(vec_quantize_binary(vec_int8('[1, -1, 0, 2, 3, -4, 5, 6, 0, 0, 0, 0, 0, 0, 0, 1]')))",
              NULL, NULL, "D980");
  CHECK_QUERY(db, "SELECT hex(vec_quantize_binary(x'0000c07f0000807f000080ff0000c0ff00000000000000800000803f000080bf'))",
              NULL, NULL, "42");
  sqlite3_close(db);
}

static void test_nulls(void) {
  static const char *const calls[] = {
    "vec_f32(NULL)", "vec_int8(NULL)", "vec_bit(NULL)", "vec_length(NULL)", "vec_to_json(NULL)",
    "vec_normalize(NULL)", "vec_quantize_binary(NULL)",
    "vec_quantize_int8(NULL, 'unit')", "vec_quantize_int8('[1]', NULL)",
    "vec_slice(NULL, 0, 1)", "vec_slice('[1]', NULL, 1)", "vec_slice('[1]', 0, NULL)",
    "vec_distance_l2(NULL, '[1]')", "vec_distance_l1('[1]', NULL)", "vec_distance_cosine(NULL, NULL)",
    "vec_distance_dot(NULL, '[1]')", "vec_distance_hamming(vec_bit(x'01'), NULL)",
    "vec_add(NULL, '[1]')", "vec_sub('[1]', NULL)",
    /* NULL wins over an argument that would be an error */
    "vec_distance_l2(NULL, 5)", "vec_add(5, NULL)",
  };
  sqlite3 *db = t_open();
  for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT %s", calls[i]);
    CHECK_QUERY(db, sql, NULL, NULL, "NULL");
  }
  sqlite3_close(db);
}

static void test_errors(void) {
  static const char *const cases[][2] = {
    /* reading */
    {"vec_f32(1)", "vec_f32: Input must have type BLOB (compact format) or TEXT (JSON), found INTEGER"},
    {"vec_length(3.5)", "vec_length: Input must have type BLOB (compact format) or TEXT (JSON), found REAL"},
    {"vec_f32(x'010203')", "vec_f32: invalid float32 vector BLOB length. Must be divisible by 4, found 3"},
    {"vec_f32(x'')", "vec_f32: zero-length vectors are not supported."},
    {"vec_int8(x'')", "vec_int8: zero-length vectors are not supported."},
    {"vec_f32('[]')", "vec_f32: zero-length vectors are not supported."},
    {"vec_f32(' [ ')", "vec_f32: zero-length vectors are not supported."},  /* '[' alone, as sqlite-vec */
    {"vec_f32('1]')", "vec_f32: JSON array parsing error: Input does not start with '[' (a JSON vector is an array of numbers)"},
    {"vec_f32('abc')", "vec_f32: invalid JSON at byte 0: unexpected character 'a'"},
    {"vec_f32('[1,,2]')", "vec_f32: invalid JSON at byte 3: unexpected character ','"},
    {"vec_f32('[1, 2')", "vec_f32: invalid JSON at byte 5: unexpected end of input"},
    {"vec_f32('[1] x')", "vec_f32: invalid JSON at byte 4: unexpected data after the top-level value"},
    {"vec_f32('{\"a\": 1}')", "vec_f32: JSON array parsing error: Input does not start with '[' (a JSON vector is an array of numbers)"},
    {"vec_f32('[1, \"a\"]')", "vec_f32: element 1 of the JSON vector is not a finite float32 number"},
    {"vec_f32('[1, nan]')", "vec_f32: element 1 of the JSON vector is not a finite float32 number"},
    {"vec_f32('[0x10]')", "vec_f32: invalid JSON at byte 2: unexpected character 'x'"},
    {"vec_f32('[,]')", "vec_f32: invalid JSON at byte 1: unexpected character ','"},
    {"vec_f32('[1,]x')", "vec_f32: invalid JSON at byte 4: unexpected data after the top-level value"},
    {"vec_type(1)", "vec_type: Input must have type BLOB (compact format) or TEXT (JSON), found INTEGER"},
    {"vec_int8('[1.5]')", "vec_int8: element 0 of the JSON vector is not an integer from -128 to 127"},
    {"vec_int8('[0, 128]')", "vec_int8: element 1 of the JSON vector is not an integer from -128 to 127"},
    {"vec_int8('[-129]')", "vec_int8: element 0 of the JSON vector is not an integer from -128 to 127"},
    {"vec_bit('[1]')", "vec_bit: Unknown type for bitvector. A bit vector is a BLOB, got TEXT"},
    {"vec_bit(7)", "vec_bit: Unknown type for bitvector. A bit vector is a BLOB, got INTEGER"},
    {"vec_length(vec_bit(x''))", "vec_bit: zero-length vectors are not supported."},
    /* two vectors */
    {"vec_distance_l2(zeroblob(1536), '[1, 2, 3]')", "vec_distance_l2: vectors have different dimensions (384 and 3)"},
    {"vec_distance_l1('[1]', vec_int8('[1]'))", "vec_distance_l1: Vector type mistmatch. First vector has type float32, while the second has type int8."},
    {"vec_add('[1]', vec_bit(x'01'))", "vec_add: Vector type mistmatch. First vector has type float32, while the second has type bit."},
    {"vec_distance_cosine('[1]', 3)", "vec_distance_cosine: second vector: Input must have type BLOB (compact format) or TEXT (JSON), found INTEGER"},
    {"vec_distance_dot('[1', '[1]')", "vec_distance_dot: first vector: invalid JSON at byte 2: unexpected end of input"},
    {"vec_sub(x'00', '[1]')",
     "vec_sub: first vector: invalid float32 vector BLOB length. Must be divisible by 4, found 1"},
    /* metric and type */
    {"vec_distance_l2(vec_bit(x'01'), vec_bit(x'01'))", "vec_distance_l2: not defined for bit vectors (vec_distance_hamming is)"},
    {"vec_distance_l1(vec_bit(x'01'), vec_bit(x'01'))", "vec_distance_l1: not defined for bit vectors (vec_distance_hamming is)"},
    {"vec_distance_cosine(vec_bit(x'01'), vec_bit(x'01'))",
     "vec_distance_cosine: not defined for bit vectors (vec_distance_hamming is)"},
    {"vec_distance_dot(vec_bit(x'01'), vec_bit(x'01'))", "vec_distance_dot: not defined for bit vectors (vec_distance_hamming is)"},
    {"vec_distance_hamming('[1]', '[2]')",
     "vec_distance_hamming: Cannot calculate hamming distance between two float32 vectors. It is only defined for bit vectors (vec_quantize_binary makes them)"},
    {"vec_distance_hamming(vec_int8('[1]'), vec_int8('[2]'))",
     "vec_distance_hamming: Cannot calculate hamming distance between two int8 vectors. It is only defined for bit vectors (vec_quantize_binary makes them)"},
    {"vec_add(vec_bit(x'01'), vec_bit(x'01'))", "vec_add: Cannot add two bitvectors together."},
    {"vec_sub(vec_bit(x'01'), vec_bit(x'01'))", "vec_sub: Cannot subtract two bitvectors together."},
    {"vec_normalize(vec_int8('[3, 4]'))", "vec_normalize: only float32 vectors can be normalized, got int8"},
    {"vec_normalize(vec_bit(x'01'))", "vec_normalize: only float32 vectors can be normalized, got bit"},
    /* quantize */
    {"vec_quantize_int8('[1]', 'other')", "vec_quantize_int8: the range must be 'unit' (elements in [-1, 1]), got 'other'"},
    {"vec_quantize_int8('[1]', 'unit' || char(0) || 'x')",
     "vec_quantize_int8: the range must be 'unit' (elements in [-1, 1]), got 'unit'"},
    {"vec_quantize_int8('[1]', 5)", "vec_quantize_int8: the range must be the TEXT 'unit', got INTEGER"},
    {"vec_quantize_int8(vec_int8('[1]'), 'unit')", "vec_quantize_int8: only float32 vectors can be quantized, got int8"},
    {"vec_quantize_binary('[1, -1, 0]')", "vec_quantize_binary: the vector has 3 dimensions, not a multiple of 8"},
    {"vec_quantize_binary(vec_bit(x'ff'))", "vec_quantize_binary: the vector is already a bit vector"},
    /* slice */
    {"vec_slice('[1, 2, 3, 4]', -1, 3)", "vec_slice: slice 'start' index must be a postive number. Got -1"},
    {"vec_slice('[1, 2, 3, 4]', 0, -3)", "vec_slice: slice 'end' index must be a postive number. Got -3"},
    {"vec_slice('[1, 2, 3, 4]', 5, 6)", "vec_slice: slice 'start' index is greater than the number of dimensions (5 > 4)"},
    {"vec_slice('[1, 2, 3, 4]', 1, 5)", "vec_slice: slice 'end' index is greater than the number of dimensions (5 > 4)"},
    {"vec_slice('[1, 2, 3, 4]', 3, 1)", "vec_slice: slice 'start' index is greater than 'end' index (3 > 1)"},
    {"vec_slice('[1, 2, 3, 4]', 2, 2)", "vec_slice: start and end are both 2; zero-length vectors are not supported."},
    {"vec_slice('[1, 2, 3, 4]', '1', 2)", "vec_slice: start must be INTEGER, got TEXT"},
    {"vec_slice('[1, 2, 3, 4]', 1, 2.0)", "vec_slice: end must be INTEGER, got REAL"},
    {"vec_slice(vec_bit(x'0101'), 3, 16)", "vec_slice: start index must be divisible by 8. Bit vectors are sliced at multiples of 8, got 3 and 16"},
    {"vec_slice(vec_bit(x'0101'), 0, 3)", "vec_slice: end index must be divisible by 8. Bit vectors are sliced at multiples of 8, got 0 and 3"},
  };
  sqlite3 *db = t_open();
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char sql[300], expect[300];
    snprintf(sql, sizeof sql, "SELECT %s", cases[i][0]);
    snprintf(expect, sizeof expect, "ERROR: %s", cases[i][1]);
    CHECK_QUERY(db, sql, NULL, NULL, expect);
  }
  sqlite3_close(db);
}

/* Subtypes SQLite does not know as vectors are refused, as sqlite-vec refuses them.
** SQL cannot set a subtype, so a tiny function registered here does. */
static void set_subtype(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sqlite3_result_value(ctx, argv[0]);
  sqlite3_result_subtype(ctx, (unsigned)sqlite3_value_int(argv[1]));
}

static void test_unknown_subtype(void) {
  sqlite3 *db = t_open();
  sqlite3_create_function(db, "with_subtype", 2, SQLITE_UTF8, NULL, set_subtype, NULL, NULL);
  CHECK_QUERY(db, "SELECT vec_length(with_subtype(x'00000000', 12))", NULL, NULL,
              "ERROR: vec_length: unknown vector subtype 12 (223 is float32, 224 bit, 225 int8)");
  CHECK_QUERY(db, "SELECT vec_length(with_subtype(x'00000000', 224))", NULL, NULL, "32");
  CHECK_QUERY(db, "SELECT vec_length(with_subtype(x'00000000', 225))", NULL, NULL, "4");
  /* constructors do not look at the subtype */
  CHECK_QUERY(db, "SELECT vec_length(vec_f32(with_subtype(x'00000000', 12)))", NULL, NULL, "1");
  sqlite3_close(db);
}

static void test_flags(void) {
  static const char *const names[] = {
    "vec_f32", "vec_int8", "vec_bit", "vec_length", "vec_to_json", "vec_distance_l2", "vec_distance_l1",
    "vec_distance_cosine", "vec_distance_dot", "vec_distance_hamming", "vec_quantize_int8",
    "vec_quantize_binary", "vec_normalize", "vec_slice", "vec_add", "vec_sub",
  };
  sqlite3 *db = t_open();
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char *got = t_query(db,
                        "SELECT count(*) FROM pragma_function_list WHERE name = ?1 "
                        "AND flags & 0x800 AND flags & 0x200000 AND flags & 0x100000",
                        names[i], NULL);
    CHECK_MSG(strcmp(got, "1") == 0, "%s: %s function_list rows with DETERMINISTIC|INNOCUOUS|SUBTYPE", names[i], got);
    sqlite3_free(got);
  }
  sqlite3_close(db);
}

/* ---- compatibility with sqlite-vec ---- */

/* Rows (n, a, b) of random vector pairs of each dimension count in dims: float32 in
** [-1.2, 1.2) (so quantize_int8 clamps some), int8 and bit any bytes. */
static void insert_pairs(sqlite3 *db, const char *table, sl_vec_type type, const int *dims, size_t count,
                         uint64_t *seed) {
  char sql[100];
  sqlite3_stmt *st;
  snprintf(sql, sizeof sql, "INSERT INTO %s(n, a, b) VALUES (?1, ?2, ?3)", table);
  sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  for (size_t k = 0; k < count; k++) {
    const size_t bytes = sl_vec_bytes(type, (size_t)dims[k]);
    unsigned char *v[2] = {malloc(bytes), malloc(bytes)};
    if (!v[0] || !v[1]) abort();
    for (int j = 0; j < 2; j++) {
      for (size_t i = 0; i < (type == SL_VEC_F32 ? bytes / 4 : bytes); i++) {
        if (type == SL_VEC_F32) put_f32(v[j], i, (float)(2.4 * urand(seed) - 1.2));
        else v[j][i] = (unsigned char)rng_next(seed);
      }
    }
    sqlite3_bind_int(st, 1, dims[k]);
    sqlite3_bind_blob(st, 2, v[0], (int)bytes, free);
    sqlite3_bind_blob(st, 3, v[1], (int)bytes, free);
    sqlite3_step(st);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
}

/* The same data in both connections, and one zero vector (cosine 0/0, normalize NaN). */
static void fill(sqlite3 *db) {
  static const int fdims[] = {1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 100, 384, 768, 1536};
  static const int idims[] = {2, 3, 8, 16, 17, 33, 64, 100, 384, 1024};
  static const int bdims[] = {8, 16, 24, 64, 72, 128, 384, 1024};
  uint64_t seed = 42;
  t_exec(db, "CREATE TABLE vf(id INTEGER PRIMARY KEY, n INTEGER, a BLOB, b BLOB);"
             "CREATE TABLE vi(id INTEGER PRIMARY KEY, n INTEGER, a BLOB, b BLOB);"
             "CREATE TABLE vb(id INTEGER PRIMARY KEY, n INTEGER, a BLOB, b BLOB)");
  insert_pairs(db, "vf", SL_VEC_F32, fdims, sizeof fdims / sizeof fdims[0], &seed);
  insert_pairs(db, "vi", SL_VEC_I8, idims, sizeof idims / sizeof idims[0], &seed);
  insert_pairs(db, "vb", SL_VEC_BIT, bdims, sizeof bdims / sizeof bdims[0], &seed);
  t_exec(db, "INSERT INTO vf(n, a, b) SELECT n, zeroblob(4 * n), b FROM vf WHERE n = 8");
}

/* How a query's results may differ between the two:
**   SAME     not at all: every column equal as text, BLOBs byte for byte, type included
**   ORDER    REAL columns within TOL_SUM * max(1, |sqlite-vec's|), BLOB columns as
**            float32 element by element the same way (NaN equal to NaN), the rest the
**            same: float32 sums that sqlite-vec adds in element order and semlite in 8
**            or 16 float lanes with FMA. At SEMLITE_ISA=scalar semlite adds in
**            sqlite-vec's order, so these must then be the same.
**   ROUNDED  as ORDER at every level: sqlite-vec sums l1 in double and returns it;
**            semlite's distances are floats.
**   FAILS    both fail (the messages differ by design: semlite's name the function)
** Both sums are within n * 2^-24 of the true one; measured, the largest relative
** difference on this data is about 1.3e-7 (the test prints it). */
typedef enum compat_kind { SAME, ORDER, ROUNDED, FAILS } compat_kind;
#define TOL_SUM 1e-5

static const struct { const char *sql; compat_kind kind; } compat_queries[] = {
  /* float32: formats, constructors, subtypes */
  {"SELECT vec_length(a), vec_length(vec_f32(a)), vec_length(vec_to_json(a)), vec_length(json(vec_to_json(a))) FROM vf", SAME},
  {"SELECT vec_to_json(a), subtype(vec_to_json(a)), vec_to_json(vec_f32(vec_to_json(b))) FROM vf", SAME},
  {"SELECT hex(vec_f32(a)), subtype(vec_f32(a)), hex(vec_f32(vec_to_json(a))), typeof(vec_f32(a)) FROM vf", SAME},
  {"SELECT hex(vec_add(a, b)), hex(vec_sub(a, b)), subtype(vec_add(a, b)), subtype(vec_sub(a, b)) FROM vf", SAME},
  {"SELECT hex(vec_add(vec_to_json(a), b)), hex(vec_sub(a, vec_to_json(b))) FROM vf", SAME},
  {"SELECT hex(vec_slice(a, 0, n)), hex(vec_slice(a, n / 2, n)), subtype(vec_slice(a, 0, 1)) FROM vf", SAME},
  {"SELECT hex(vec_quantize_int8(a, 'unit')), subtype(vec_quantize_int8(b, 'unit')) FROM vf", SAME},
  {"SELECT hex(vec_quantize_binary(a)), hex(vec_quantize_binary(b)), subtype(vec_quantize_binary(a)) FROM vf "
   "WHERE n % 8 = 0", SAME},
  {"SELECT typeof(vec_distance_l2(a, b)), typeof(vec_distance_l1(a, b)), typeof(vec_distance_cosine(a, b)) FROM vf", SAME},
  /* float32: sums */
  {"SELECT vec_distance_l2(a, b), vec_distance_l2(vec_to_json(a), b), vec_distance_l2(b, a) FROM vf", ORDER},
  {"SELECT vec_distance_l1(a, b), vec_distance_l1(b, vec_to_json(a)) FROM vf", ROUNDED},
  {"SELECT vec_distance_cosine(a, b), vec_distance_cosine(a, a) FROM vf", ORDER},
  {"SELECT vec_normalize(a), vec_normalize(b), subtype(vec_normalize(a)) FROM vf", ORDER},
  /* int8: sums are exact integers in both while below 2^24, which this data is */
  {"SELECT vec_length(vec_int8(a)), vec_to_json(vec_int8(a)), hex(vec_int8(vec_to_json(vec_int8(a)))), "
   "subtype(vec_int8(a)), hex(vec_int8(a)) FROM vi", SAME},
  {"SELECT vec_distance_l2(vec_int8(a), vec_int8(b)), vec_distance_l1(vec_int8(a), vec_int8(b)), "
   "vec_distance_cosine(vec_int8(a), vec_int8(b)), typeof(vec_distance_l1(vec_int8(a), vec_int8(b))) FROM vi", SAME},
  {"SELECT hex(vec_add(vec_int8(a), vec_int8(b))), hex(vec_sub(vec_int8(a), vec_int8(b))), "
   "subtype(vec_add(vec_int8(a), vec_int8(b))) FROM vi", SAME},
  {"SELECT hex(vec_slice(vec_int8(a), 1, n)), subtype(vec_slice(vec_int8(a), 0, 1)) FROM vi", SAME},
  {"SELECT hex(vec_quantize_binary(vec_int8(a))) FROM vi WHERE n % 8 = 0", SAME},
  /* bit */
  {"SELECT vec_length(vec_bit(a)), vec_to_json(vec_bit(a)), hex(vec_bit(a)), subtype(vec_bit(a)) FROM vb", SAME},
  {"SELECT vec_distance_hamming(vec_bit(a), vec_bit(b)), typeof(vec_distance_hamming(vec_bit(a), vec_bit(b))) FROM vb", SAME},
  {"SELECT hex(vec_slice(vec_bit(a), 8, n)), subtype(vec_slice(vec_bit(a), 0, 8)) FROM vb WHERE n > 8", SAME},
  /* literals: rounding, clamping, NaN and infinities, -0 */
  {"SELECT vec_to_json(vec_quantize_int8('[-1, -0.5, 0, 0.5, 1, 2, -2, 0.001, 1.003, -0.999, 0.9961]', 'unit'))", SAME},
  {"SELECT hex(vec_quantize_int8(x'0000c07f0000807f000080ff', 'unit')), "
   "hex(vec_quantize_binary(x'0000c07f0000807f000080ff0000c0ff00000000000000800000803f000080bf'))", SAME},
  {"SELECT vec_to_json(x'0000c07f0000807f000080ff00000080'), vec_to_json('[1e30, 1e-7, -0.0000015, 123456.7]')", SAME},
  {"SELECT vec_distance_cosine('[0, 0]', '[1, 1]'), vec_to_json(vec_normalize('[0, 0]'))", SAME},
  {"SELECT vec_to_json(vec_slice('[1, 2, 3, 4]', 1, 3)), vec_to_json(vec_int8(' [ 1 , -2 ] '))", SAME},
  /* JSON numbers as sqlite-vec reads them (issue 14) */
  {"SELECT vec_to_json('[.5, -.5]'), vec_to_json('[1.]'), vec_to_json('[1,2,]'), vec_to_json('[+1]'), "
   "vec_to_json('[1e39]'), vec_to_json('[-1e39]'), vec_to_json('[ 1 , 2 , ]'), vec_to_json('[-.5e1]'), "
   "vec_to_json('[1e-50]'), hex(vec_f32('[1.E2, 3e+1]')), vec_to_json(vec_int8('[1, -2, +3,]'))", SAME},
  /* the rest of sqlite-vec's API */
  {"SELECT vec_version(), vec_type('[1,2]'), vec_type(vec_int8('[1]')), vec_type(vec_bit(x'01')), "
   "vec_type(vec_f32(x'0000803f'))", SAME},
  {"SELECT rowid, value, typeof(value) FROM vec_each('[1, 2.5, -3]')", SAME},
  {"SELECT rowid, value, typeof(value) FROM vec_each(vec_int8('[1, -2, 127]'))", SAME},
  {"SELECT rowid, value FROM vec_each(vec_bit(x'05f0'))", SAME},
  {"SELECT vf.id, e.rowid, e.value FROM vf, vec_each(vf.a) AS e WHERE e.rowid < 2 ORDER BY vf.id, e.rowid", SAME},
  /* errors in both */
  {"SELECT vec_f32('[]')", FAILS},
  {"SELECT vec_f32('[,]')", FAILS},
  {"SELECT vec_f32('[1e]')", FAILS},
  {"SELECT vec_f32('[.]')", FAILS},
  {"SELECT vec_type(5)", FAILS},
  {"SELECT vec_distance_l2('[1]', '[1, 2]')", FAILS},
  {"SELECT vec_distance_l2('[1]', vec_int8('[1]'))", FAILS},
  {"SELECT vec_distance_l2(vec_bit(x'01'), vec_bit(x'01'))", FAILS},
  {"SELECT vec_distance_hamming('[1]', '[1]')", FAILS},
  {"SELECT vec_f32('[1, \"a\"]')", FAILS},
  {"SELECT vec_f32(x'010203')", FAILS},
  {"SELECT vec_f32(5)", FAILS},
  {"SELECT vec_bit('[1]')", FAILS},
  {"SELECT vec_int8('[300]')", FAILS},
  {"SELECT vec_quantize_binary('[1, 2, 3]')", FAILS},
  {"SELECT vec_quantize_int8('[1]', 'other')", FAILS},
  {"SELECT vec_normalize(vec_int8('[1]'))", FAILS},
  {"SELECT vec_add(vec_bit(x'01'), vec_bit(x'01'))", FAILS},
  {"SELECT vec_slice('[1, 2]', 1, 1)", FAILS},
  {"SELECT vec_slice('[1, 2]', 0, 3)", FAILS},
  {"SELECT vec_slice(vec_bit(x'0101'), 3, 8)", FAILS},
};

static int same_float(double s, double v, double tol, double *worst) {
  double err;
  if (isnan(s) || isnan(v)) return isnan(s) && isnan(v);
  err = fabs(s - v) / (fabs(v) > 1 ? fabs(v) : 1);
  if (err > *worst) *worst = err;
  return err <= tol;
}

/* Compares one column of the current rows; returns 1 when equal. */
static int same_column(sqlite3_stmt *s, sqlite3_stmt *v, int col, double tol, double *worst) {
  const int type = sqlite3_column_type(v, col);
  if (sqlite3_column_type(s, col) != type) return 0;
  if (tol > 0 && type == SQLITE_FLOAT)
    return same_float(sqlite3_column_double(s, col), sqlite3_column_double(v, col), tol, worst);
  if (type == SQLITE_BLOB) {
    const unsigned char *a = sqlite3_column_blob(s, col), *b = sqlite3_column_blob(v, col);
    const int n = sqlite3_column_bytes(v, col);
    if (sqlite3_column_bytes(s, col) != n) return 0;
    if (tol == 0 || n % 4) return memcmp(a, b, (size_t)n) == 0;
    for (int i = 0; i < n / 4; i++)
      if (!same_float(get_f32(a, (size_t)i), get_f32(b, (size_t)i), tol, worst)) return 0;
    return 1;
  }
  {
    const char *a = (const char *)sqlite3_column_text(s, col), *b = (const char *)sqlite3_column_text(v, col);
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
  }
}

/* Runs one query in both, expecting both to fail, or the same rows with floats within tol
** (0: exactly the same). Returns the number of rows compared, -1 on a difference. */
static int compare_query(sqlite3 *sdb, sqlite3 *vdb, const char *sql, int fails, double tol, double *worst) {
  sqlite3_stmt *s = NULL, *v = NULL;
  int rows = 0, rs, rv;
  if (sqlite3_prepare_v2(sdb, sql, -1, &s, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(vdb, sql, -1, &v, NULL) != SQLITE_OK) {
    sl_test_fail(__FILE__, __LINE__, "%s: cannot prepare: semlite \"%s\", sqlite-vec \"%s\"", sql,
                 sqlite3_errmsg(sdb), sqlite3_errmsg(vdb));
    rows = -1;
    goto done;
  }
  for (;;) {
    rs = sqlite3_step(s);
    rv = sqlite3_step(v);
    if (fails) {
      CHECK_MSG(rs == SQLITE_ERROR && rv == SQLITE_ERROR, "%s: expected an error from both, got %d (%s) and %d (%s)",
                sql, rs, sqlite3_errmsg(sdb), rv, sqlite3_errmsg(vdb));
      break;
    }
    if (rs != rv || (rs != SQLITE_ROW && rs != SQLITE_DONE)) {
      sl_test_fail(__FILE__, __LINE__, "%s: row %d: semlite %d (%s), sqlite-vec %d (%s)", sql, rows, rs,
                   sqlite3_errmsg(sdb), rv, sqlite3_errmsg(vdb));
      rows = -1;
      break;
    }
    if (rs == SQLITE_DONE) break;
    for (int c = 0; c < sqlite3_column_count(v); c++) {
      if (!same_column(s, v, c, tol, worst)) {
        const char *a = (const char *)sqlite3_column_text(s, c);
        const char *b = (const char *)sqlite3_column_text(v, c);
        sl_test_fail(__FILE__, __LINE__, "%s: row %d column %d: semlite \"%.80s\", sqlite-vec \"%.80s\"", sql, rows, c,
                     a ? a : "NULL", b ? b : "NULL");
        rows = -1;
        goto done;
      }
    }
    rows++;
  }
done:
  sqlite3_finalize(s);
  sqlite3_finalize(v);
  return rows;
}

static void test_compat(void) {
  const char *path = getenv("SEMLITE_VEC0"), *isa = getenv("SEMLITE_ISA");
  const int scalar = isa && strcmp(isa, "scalar") == 0;
  sqlite3 *sdb, *vdb = NULL;
  char *err = NULL;
  int rows = 0, queries = 0;
  if (!path || !*path) {
    sl_test_skip("SEMLITE_VEC0 is not set (make vec0 fetches sqlite-vec's vec0.so)");
    return;
  }
  if (access(path, R_OK) != 0) {
    sl_test_fail(__FILE__, __LINE__, "SEMLITE_VEC0=%s: no such file (make vec0)", path);
    return;
  }
  sqlite3_open(":memory:", &vdb);
  sqlite3_enable_load_extension(vdb, 1);
  if (sqlite3_load_extension(vdb, path, NULL, &err) != SQLITE_OK) {
    sl_test_fail(__FILE__, __LINE__, "cannot load %s: %s", path, err ? err : "?");
    sqlite3_free(err);
    sqlite3_close(vdb);
    return;
  }
  sdb = t_open();
  fill(sdb);
  fill(vdb);
  {
    char *version = t_query(vdb, "SELECT vec_version()", NULL, NULL);
    printf("  compat with sqlite-vec %s; largest relative differences of the float32 sums:\n", version);
    sqlite3_free(version);
  }
  for (size_t q = 0; q < sizeof compat_queries / sizeof compat_queries[0]; q++) {
    const compat_kind kind = compat_queries[q].kind;
    const double tol = kind == ROUNDED || (kind == ORDER && !scalar) ? TOL_SUM : 0;
    double worst = 0;
    int n = compare_query(sdb, vdb, compat_queries[q].sql, kind == FAILS, tol, &worst);
    if (n >= 0) rows += n;
    if (kind == ORDER || kind == ROUNDED) printf("    %.2g  %.60s...\n", worst, compat_queries[q].sql);
    queries++;
  }
  printf("  %d queries, %d rows compared\n", queries, rows);
  sqlite3_close(sdb);
  sqlite3_close(vdb);
}

const sl_test vec_tests[] = {
  {"kernel_f32_exact", test_kernel_f32_exact},
  {"kernel_f32_bounded", test_kernel_f32_bounded},
  {"kernel_int8_bit", test_kernel_int8_bit},
  {"kernel_many", test_kernel_many},
  {"kernel_dispatch", test_kernel_dispatch},
  {"constructors", test_constructors},
  {"to_json", test_to_json},
  {"subtypes", test_subtypes},
  {"distances", test_distances},
  {"unaligned", test_unaligned},
  {"arithmetic", test_arithmetic},
  {"quantize", test_quantize},
  {"nulls", test_nulls},
  {"errors", test_errors},
  {"unknown_subtype", test_unknown_subtype},
  {"flags", test_flags},
  {"compat", test_compat},
  {0, 0},
};
