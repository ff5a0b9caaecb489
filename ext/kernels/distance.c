/*
** distance.c: the distance functions of distance.h: the scalar versions, which are the
** reference the SIMD ones are tested against and what runs off x86, and the choice of
** level (the one kernels.h chose: cpuid, capped by SEMLITE_ISA).
**
** The scalar float32 l2, cosine and dot add in element order in a float, and l1 in a
** double: sqlite-vec's own scalar code does exactly that, so at SEMLITE_ISA=scalar
** float32 results equal sqlite-vec's bit for bit. int8 sums and bit counts are exact
** integers at every level. Vectors need no alignment (a BLOB inside a database page may
** sit at any address), so elements are read through memcpy, which compiles to a plain
** load.
*/
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "distance_isa.h"

static inline float ld_f32(const unsigned char *p) {
  float f;
  memcpy(&f, p, sizeof f);
  return f;
}

static float f32_l2(const void *x, const void *y, size_t n) {
  const unsigned char *a = x, *b = y;
  float s = 0;
  for (size_t i = 0; i < n; i++) {
    float d = ld_f32(a + 4 * i) - ld_f32(b + 4 * i);
    s += d * d;
  }
  return sqrtf(s);
}

static float f32_l1(const void *x, const void *y, size_t n) {
  const unsigned char *a = x, *b = y;
  double s = 0;
  for (size_t i = 0; i < n; i++) s += fabs((double)ld_f32(a + 4 * i) - (double)ld_f32(b + 4 * i));
  return (float)s;
}

static float f32_dot(const void *x, const void *y, size_t n) {
  const unsigned char *a = x, *b = y;
  float s = 0;
  for (size_t i = 0; i < n; i++) s += ld_f32(a + 4 * i) * ld_f32(b + 4 * i);
  return -s;
}

static float f32_cosine(const void *x, const void *y, size_t n) {
  const unsigned char *a = x, *b = y;
  float xy = 0, xx = 0, yy = 0;
  for (size_t i = 0; i < n; i++) {
    float u = ld_f32(a + 4 * i), v = ld_f32(b + 4 * i);
    xy += u * v;
    xx += u * u;
    yy += v * v;
  }
  return sl_cosine_finish(xy, xx, yy);
}

static float i8_l2(const void *x, const void *y, size_t n) {
  const int8_t *a = x, *b = y;
  int64_t s = 0;
  for (size_t i = 0; i < n; i++) {
    int32_t d = (int32_t)a[i] - b[i];
    s += d * d;
  }
  return (float)sqrt((double)s);
}

static float i8_l1(const void *x, const void *y, size_t n) {
  const int8_t *a = x, *b = y;
  int64_t s = 0;
  for (size_t i = 0; i < n; i++) s += abs((int)a[i] - b[i]);
  return (float)s;
}

static float i8_dot(const void *x, const void *y, size_t n) {
  const int8_t *a = x, *b = y;
  int64_t s = 0;
  for (size_t i = 0; i < n; i++) s += (int32_t)a[i] * b[i];
  return (float)-s;
}

static float i8_cosine(const void *x, const void *y, size_t n) {
  const int8_t *a = x, *b = y;
  int64_t xy = 0, xx = 0, yy = 0;
  for (size_t i = 0; i < n; i++) {
    xy += (int32_t)a[i] * b[i];
    xx += (int32_t)a[i] * a[i];
    yy += (int32_t)b[i] * b[i];
  }
  return sl_cosine_finish((double)xy, (double)xx, (double)yy);
}

static float bit_hamming(const void *x, const void *y, size_t n) {
  const unsigned char *a = x, *b = y;
  size_t bytes = n / 8, i = 0;
  uint64_t s = 0;
  for (; i + 8 <= bytes; i += 8) {
    uint64_t u, v;
    memcpy(&u, a + i, 8);
    memcpy(&v, b + i, 8);
    s += (uint64_t)__builtin_popcountll(u ^ v);
  }
  for (; i < bytes; i++) s += (uint64_t)__builtin_popcount((unsigned)(a[i] ^ b[i]));
  return (float)s;
}

static const sl_distance_table scalar = {.fn = {
  [SL_VEC_F32] = {[SL_METRIC_L2] = f32_l2, [SL_METRIC_L1] = f32_l1,
                  [SL_METRIC_COSINE] = f32_cosine, [SL_METRIC_DOT] = f32_dot},
  [SL_VEC_I8] = {[SL_METRIC_L2] = i8_l2, [SL_METRIC_L1] = i8_l1,
                 [SL_METRIC_COSINE] = i8_cosine, [SL_METRIC_DOT] = i8_dot},
  [SL_VEC_BIT] = {[SL_METRIC_HAMMING] = bit_hamming},
}};

/* One table per level, built once; levels above the CPU's stay at the best it runs. */
static sl_distance_table levels[SL_ISA_AVX512 + 1];
static sl_isa best;
static pthread_once_t levels_once = PTHREAD_ONCE_INIT;

static void build_levels(void) {
  best = sl_cpu_best_isa();
  levels[SL_ISA_SCALAR] = scalar;
  levels[SL_ISA_AVX2] = scalar;
  if (best >= SL_ISA_AVX2) sl_distance_fill_avx2(&levels[SL_ISA_AVX2]);
  levels[SL_ISA_AVX512] = levels[SL_ISA_AVX2];
  if (best >= SL_ISA_AVX512) sl_distance_fill_avx512(&levels[SL_ISA_AVX512]);
}

sl_distance_fn sl_distance_for_isa(sl_isa isa, sl_vec_type type, sl_metric metric) {
  if ((unsigned)type >= SL_VEC_NTYPES || (unsigned)metric >= SL_NMETRICS) return NULL;
  if ((unsigned)isa > SL_ISA_AVX512) return NULL;
  pthread_once(&levels_once, build_levels);
  return levels[isa > best ? best : isa].fn[type][metric];
}

sl_distance_fn sl_distance_for(sl_vec_type type, sl_metric metric) {
  return sl_distance_for_isa(sl_kernels_get()->isa, type, metric);
}

int sl_distance_many_isa(sl_isa isa, sl_vec_type type, sl_metric metric, const void *q,
                         const void *base, size_t count, size_t n, float *out) {
  sl_distance_fn fn = sl_distance_for_isa(isa, type, metric);
  const size_t stride = sl_vec_bytes(type, n);
  if (!fn) return -1;
  sl_distance_many_fn many = levels[isa > best ? best : isa].many[type][metric];
  if (many) {
    many(q, base, count, n, out);
    return 0;
  }
  for (size_t i = 0; i < count; i++) out[i] = fn(q, (const unsigned char *)base + i * stride, n);
  return 0;
}

int sl_distance_many(sl_vec_type type, sl_metric metric, const void *q, const void *base,
                     size_t count, size_t n, float *out) {
  return sl_distance_many_isa(sl_kernels_get()->isa, type, metric, q, base, count, n, out);
}

size_t sl_vec_bytes(sl_vec_type type, size_t n) {
  switch (type) {
  case SL_VEC_F32: return n * sizeof(float);
  case SL_VEC_I8: return n;
  case SL_VEC_BIT: return n / 8;
  }
  return 0;
}
