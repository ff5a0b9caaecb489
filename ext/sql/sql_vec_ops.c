/*
** sql_vec_ops.c: the sqlite-vec functions that compute on vectors: the distances
** (vec_distance_l2, _l1, _cosine, _hamming, and semlite's _dot), vec_add, vec_sub,
** vec_normalize, vec_slice, vec_quantize_int8 and vec_quantize_binary.
**
** Arguments are read by sql_vec.c (the element type comes from the subtype); the
** arithmetic of the distances is in ext/kernels/distance*.c, chosen per CPU. Results
** follow sqlite-vec's: every distance is REAL except l1 of int8 vectors (INTEGER); a
** zero vector's cosine distance is NULL (0/0); int8 sums wrap around, as int8 arithmetic
** does in sqlite-vec.
*/
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "sql.h"

/* ---- distances ---- */

static void distance(sqlite3_context *ctx, int argc, sqlite3_value **argv, const char *fn,
                     sl_metric metric) {
  sl_sql_vec v[2];
  sl_distance_fn f;
  if (!sl_sql_vec_args(ctx, fn, argc, argv, 2, SL_SQL_VEC_ANY, v)) return;
  f = sl_distance_for(v[0].type, metric);
  if (!f && v[0].type == SL_VEC_BIT)
    sl_sql_errorf(ctx, fn, "not defined for bit vectors (vec_distance_hamming is)");
  else if (!f)
    sl_sql_errorf(ctx, fn, "Cannot calculate hamming distance between two %s vectors. It is only defined for bit "
                  "vectors (vec_quantize_binary makes them)", sl_sql_vec_type_name(v[0].type));
  else if (metric == SL_METRIC_L1 && v[0].type == SL_VEC_I8)
    sqlite3_result_int64(ctx, (sqlite3_int64)f(v[0].data, v[1].data, v[0].n));
  else
    sqlite3_result_double(ctx, f(v[0].data, v[1].data, v[0].n));
  sl_sql_vec_free(&v[0]);
  sl_sql_vec_free(&v[1]);
}

void sl_sql_vec_distance_l2(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  distance(ctx, argc, argv, "vec_distance_l2", SL_METRIC_L2);
}
void sl_sql_vec_distance_l1(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  distance(ctx, argc, argv, "vec_distance_l1", SL_METRIC_L1);
}
void sl_sql_vec_distance_cosine(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  distance(ctx, argc, argv, "vec_distance_cosine", SL_METRIC_COSINE);
}
void sl_sql_vec_distance_dot(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  distance(ctx, argc, argv, "vec_distance_dot", SL_METRIC_DOT);
}
void sl_sql_vec_distance_hamming(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  distance(ctx, argc, argv, "vec_distance_hamming", SL_METRIC_HAMMING);
}

/* ---- element-wise ---- */

/* A new result buffer for n elements of type, or NULL with the error set. */
static void *result_buffer(sqlite3_context *ctx, sl_vec_type type, size_t n) {
  void *p = sqlite3_malloc64(sl_vec_bytes(type, n));
  if (!p) sqlite3_result_error_nomem(ctx);
  return p;
}

/* a + sign*b; int8 in unsigned bytes, so that wrapping around is defined behaviour. */
static void add(sqlite3_context *ctx, int argc, sqlite3_value **argv, const char *fn, int sign) {
  sl_sql_vec v[2];
  void *out;
  if (!sl_sql_vec_args(ctx, fn, argc, argv, 2, SL_SQL_VEC_ANY, v)) return;
  if (v[0].type == SL_VEC_BIT) {
    sl_sql_errorf(ctx, fn, "Cannot %s two bitvectors together.", sign > 0 ? "add" : "subtract");
  } else if ((out = result_buffer(ctx, v[0].type, v[0].n)) != NULL) {
    if (v[0].type == SL_VEC_F32) {
      const float *a = v[0].data, *b = v[1].data;
      float *r = out;
      for (size_t i = 0; i < v[0].n; i++) r[i] = sign > 0 ? a[i] + b[i] : a[i] - b[i];
    } else {
      const unsigned char *a = v[0].data, *b = v[1].data;
      unsigned char *r = out;
      for (size_t i = 0; i < v[0].n; i++) r[i] = (unsigned char)(sign > 0 ? a[i] + b[i] : a[i] - b[i]);
    }
    sl_sql_vec_result(ctx, v[0].type, out, v[0].n);
  }
  sl_sql_vec_free(&v[0]);
  sl_sql_vec_free(&v[1]);
}

void sl_sql_vec_add(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  add(ctx, argc, argv, "vec_add", 1);
}
void sl_sql_vec_sub(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  add(ctx, argc, argv, "vec_sub", -1);
}

/* x / |x|, the norm rounded to float first, as sqlite-vec does; a zero vector gives
** NaN elements (0/0), as there. |x|^2 is minus the dot "distance" of x to itself: the
** same float sum the distances make (in sqlite-vec's order at SEMLITE_ISA=scalar). */
void sl_sql_vec_normalize(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sl_sql_vec v;
  float *out;
  if (!sl_sql_vec_args(ctx, "vec_normalize", argc, argv, 1, SL_SQL_VEC_ANY, &v)) return;
  if (v.type != SL_VEC_F32) {
    sl_sql_errorf(ctx, "vec_normalize", "only float32 vectors can be normalized, got %s",
                  sl_sql_vec_type_name(v.type));
  } else if ((out = result_buffer(ctx, SL_VEC_F32, v.n)) != NULL) {
    const float *x = v.data;
    const float norm = sqrtf(-sl_distance_for(SL_VEC_F32, SL_METRIC_DOT)(x, x, v.n));
    for (size_t i = 0; i < v.n; i++) out[i] = x[i] / norm;
    sl_sql_vec_result(ctx, SL_VEC_F32, out, v.n);
  }
  sl_sql_vec_free(&v);
}

/* The INTEGER arguments start and end of vec_slice checked against a vector of n
** dimensions of type: 0, or -1 with the error set. */
static int slice_range(sqlite3_context *ctx, sqlite3_value **argv, sl_vec_type type,
                       sqlite3_int64 n, sqlite3_int64 *start, sqlite3_int64 *end) {
  static const char fn[] = "vec_slice";
  static const char *const what[] = {"start", "end"};
  sqlite3_int64 x[2];
  for (int i = 0; i < 2; i++) {
    if (sqlite3_value_type(argv[1 + i]) != SQLITE_INTEGER) {
      sl_sql_errorf(ctx, fn, "%s must be INTEGER, got %s", what[i], sl_sql_type_name(argv[1 + i]));
      return -1;
    }
    x[i] = sqlite3_value_int64(argv[1 + i]);
    if (x[i] < 0) {
      sl_sql_errorf(ctx, fn, "slice '%s' index must be a postive number. Got %lld", what[i], x[i]); /* sic, as sqlite-vec */
      return -1;
    }
    if (x[i] > n) {
      sl_sql_errorf(ctx, fn, "slice '%s' index is greater than the number of dimensions (%lld > %lld)", what[i], x[i], n);
      return -1;
    }
  }
  if (x[0] >= x[1]) {
    if (x[0] > x[1]) sl_sql_errorf(ctx, fn, "slice 'start' index is greater than 'end' index (%lld > %lld)", x[0], x[1]);
    else sl_sql_errorf(ctx, fn, "start and end are both %lld; zero-length vectors are not supported.", x[0]);
    return -1;
  }
  if (type == SL_VEC_BIT && (x[0] % 8 || x[1] % 8)) {
    sl_sql_errorf(ctx, fn, "%s index must be divisible by 8. Bit vectors are sliced at multiples of 8, got %lld and %lld",
                  x[0] % 8 ? "start" : "end", x[0], x[1]);
    return -1;
  }
  *start = x[0];
  *end = x[1];
  return 0;
}

/* Dimensions [start, end) of the vector, of the same type. */
void sl_sql_vec_slice(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sl_sql_vec v;
  sqlite3_int64 start, end;
  void *out;
  if (!sl_sql_vec_args(ctx, "vec_slice", argc, argv, 1, SL_SQL_VEC_ANY, &v)) return;
  if (slice_range(ctx, argv, v.type, (sqlite3_int64)v.n, &start, &end) == 0 &&
      (out = result_buffer(ctx, v.type, (size_t)(end - start))) != NULL) {
    memcpy(out, (const unsigned char *)v.data + sl_vec_bytes(v.type, (size_t)start),
           sl_vec_bytes(v.type, (size_t)(end - start)));
    sl_sql_vec_result(ctx, v.type, out, (size_t)(end - start));
  }
  sl_sql_vec_free(&v);
}

/* ---- quantization ---- */

/* sqlite-vec's 'unit' quantizer: [-1, 1] onto the 256 int8 values in steps of 2/255
** (rounded to float), computed in double, truncated toward zero, clamped; fmin/fmax
** make NaN 127, as there. */
static int8_t quantize_unit(float x) {
  const float step = (float)(2.0 / 255);
  const double q = ((double)x + 1.0) / step - 128;
  return (int8_t)fmax(-128.0, fmin(127.0, q));
}

void sl_sql_vec_quantize_int8(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char fn[] = "vec_quantize_int8";
  sl_sql_vec v;
  int8_t *out;
  if (!sl_sql_vec_args(ctx, fn, argc, argv, 1, SL_SQL_VEC_ANY, &v)) return;
  if (v.type != SL_VEC_F32) {
    sl_sql_errorf(ctx, fn, "only float32 vectors can be quantized, got %s", sl_sql_vec_type_name(v.type));
  } else if (sqlite3_value_type(argv[1]) != SQLITE_TEXT) {
    sl_sql_errorf(ctx, fn, "the range must be the TEXT 'unit', got %s", sl_sql_type_name(argv[1]));
  } else if (sqlite3_value_bytes(argv[1]) != 4 ||
             sqlite3_strnicmp((const char *)sqlite3_value_text(argv[1]), "unit", 4) != 0) {
    sl_sql_errorf(ctx, fn, "the range must be 'unit' (elements in [-1, 1]), got '%.40s'",
                  (const char *)sqlite3_value_text(argv[1]));
  } else if ((out = result_buffer(ctx, SL_VEC_I8, v.n)) != NULL) {
    for (size_t i = 0; i < v.n; i++) out[i] = quantize_unit(((const float *)v.data)[i]);
    sl_sql_vec_result(ctx, SL_VEC_I8, out, v.n);
  }
  sl_sql_vec_free(&v);
}

/* Bit i set when element i is > 0. */
void sl_sql_vec_quantize_binary(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char fn[] = "vec_quantize_binary";
  sl_sql_vec v;
  unsigned char *out;
  if (!sl_sql_vec_args(ctx, fn, argc, argv, 1, SL_SQL_VEC_ANY, &v)) return;
  if (v.type == SL_VEC_BIT) {
    sl_sql_errorf(ctx, fn, "the vector is already a bit vector");
  } else if (v.n % 8) {
    sl_sql_errorf(ctx, fn, "the vector has %zu dimensions, not a multiple of 8", v.n);
  } else if ((out = result_buffer(ctx, SL_VEC_BIT, v.n)) != NULL) {
    memset(out, 0, v.n / 8);
    for (size_t i = 0; i < v.n; i++) {
      const int positive =
          v.type == SL_VEC_F32 ? ((const float *)v.data)[i] > 0 : ((const int8_t *)v.data)[i] > 0;
      out[i / 8] |= (unsigned char)(positive << (i % 8));
    }
    sl_sql_vec_result(ctx, SL_VEC_BIT, out, v.n);
  }
  sl_sql_vec_free(&v);
}
