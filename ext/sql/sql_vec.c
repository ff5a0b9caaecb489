/*
** sql_vec.c: sqlite-vec's vector formats: the one reader of vector arguments (BLOB or
** JSON; also of the vectors semlite_vec stores and is queried with, which must have
** its column's type and size: sl_sql_vec_read_exact), the one writer of vector
** results, and the functions that only convert: vec_f32(), vec_int8(), vec_bit(),
** vec_length(), vec_to_json(). The functions that compute on vectors are in
** sql_vec_ops.c.
**
** Formats, as sqlite-vec defines them:
**   float32  BLOB of little-endian floats, 4 bytes each; or a JSON array of numbers
**   int8     BLOB of signed bytes; or a JSON array of integers from -128 to 127
**   bit      BLOB of bits, 8 per byte, least significant first; no JSON form
** A BLOB's element type is its subtype (223 float32, 224 bit, 225 int8; none means
** float32), which is how vec_int8() and vec_bit() results keep their type through
** other functions; the constructors ignore it, as they exist to say what a BLOB holds.
** Unlike sqlite-vec, NULL in gives NULL out (the SQL convention). JSON numbers are read
** in sqlite-vec's forms (read_json), but '[1,,2]' is an error rather than [1,2].
*/
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../vector/layout.h"
#include "sql.h"

const char *sl_sql_vec_type_name(sl_vec_type type) {
  switch (type) {
  case SL_VEC_F32: return "float32";
  case SL_VEC_I8: return "int8";
  case SL_VEC_BIT: return "bit";
  }
  return "?";
}

static int subtype_of(sl_vec_type type) {
  return type == SL_VEC_I8 ? SL_SUBTYPE_I8 : type == SL_VEC_BIT ? SL_SUBTYPE_BIT : SL_SUBTYPE_F32;
}

/* sqlite-vec's rule: no subtype, its float32 one or SQLite's JSON one mean float32. */
static int type_of_subtype(unsigned subtype, int *type, sl_err *err) {
  switch (subtype) {
  case 0: case SL_SUBTYPE_F32: case SL_SUBTYPE_JSON: *type = SL_VEC_F32; return SL_OK;
  case SL_SUBTYPE_I8: *type = SL_VEC_I8; return SL_OK;
  case SL_SUBTYPE_BIT: *type = SL_VEC_BIT; return SL_OK;
  }
  return sl_fail(err, "unknown vector subtype %u (223 is float32, 224 bit, 225 int8)", subtype);
}

/* Borrows the BLOB when its address suits the element type, copies it otherwise: a
** BLOB read from a database page may sit at any address. */
static int read_blob(sqlite3_value *v, sl_sql_vec *out, sl_err *err) {
  const void *p = sqlite3_value_blob(v);
  const int bytes = sqlite3_value_bytes(v);
  const size_t size = out->type == SL_VEC_F32 ? sizeof(float) : 1; /* also the alignment */
  if (bytes == 0) return sl_fail(err, "zero-length vectors are not supported.");
  if (!p) return sl_oom(err);
  if (bytes % size)
    return sl_fail(err, "invalid float32 vector BLOB length. Must be divisible by 4, found %d", bytes);
  out->n = out->type == SL_VEC_BIT ? (size_t)bytes * 8 : (size_t)bytes / size;
  if ((uintptr_t)p % size == 0) {
    out->data = p;
    return SL_OK;
  }
  if (!(out->owned = sqlite3_malloc(bytes))) return sl_oom(err);
  memcpy(out->owned, p, (size_t)bytes);
  out->data = out->owned;
  return SL_OK;
}

/* ---- JSON vectors ----
** An array of numbers, read as sqlite-vec reads it: numbers may be written `.5`, `1.`,
** `+1`; a trailing comma before `]` is allowed; a number beyond float32's range is an
** infinity. Anything else is an error (sqlite-vec also skips some garbage: `[1,,2]`,
** `[1 2]`). Numbers are converted in the "C" locale: the host may use a decimal comma. */

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static void c_locale_init(void) { c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0); }

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int json_fail(sl_err *err, const char *s, size_t len, size_t at) {
  if (at >= len) return sl_fail(err, "invalid JSON at byte %zu: unexpected end of input", at);
  return sl_fail(err, "invalid JSON at byte %zu: unexpected character '%c'", at, s[at]);
}

/* The length of the number at s (sign, digits with an optional point, exponent), 0 if
** there is none. */
static size_t number_span(const char *s, size_t len) {
  size_t i = 0, digits = 0;
  if (i < len && (s[i] == '+' || s[i] == '-')) i++;
  while (i < len && is_digit(s[i])) i++, digits++;
  if (i < len && s[i] == '.')
    for (i++; i < len && is_digit(s[i]); i++) digits++;
  if (!digits) return 0;
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    size_t j = i + 1, e = 0;
    if (j < len && (s[j] == '+' || s[j] == '-')) j++;
    while (j < len && is_digit(s[j])) j++, e++;
    if (e) i = j;
  }
  return i;
}

/* One element into out (a growing array of doubles). */
static int json_number(const char *s, size_t n, double *x, sl_err *err) {
  char buf[64], *copy = n < sizeof buf ? buf : sqlite3_malloc64(n + 1);
  if (!copy) return sl_oom(err);
  memcpy(copy, s, n);
  copy[n] = 0;
  pthread_once(&c_locale_once, c_locale_init);
  *x = c_locale ? strtod_l(copy, NULL, c_locale) : strtod(copy, NULL);
  if (copy != buf) sqlite3_free(copy);
  return SL_OK;
}

static int element_error(const sl_sql_vec *out, size_t i, sl_err *err) {
  if (out->type == SL_VEC_F32) return sl_fail(err, "element %zu of the JSON vector is not a finite float32 number", i);
  return sl_fail(err, "element %zu of the JSON vector is not an integer from -128 to 127", i);
}

static int read_json(sqlite3_value *v, sl_sql_vec *out, sl_err *err) {
  const char *s = (const char *)sqlite3_value_text(v);
  const size_t len = (size_t)sqlite3_value_bytes(v);
  size_t pos = 0, n = 0, cap = 0;
  double *vals = NULL;
  int rc = SL_ERROR;
  if (!s) return sl_oom(err);
  while (pos < len && is_ws(s[pos])) pos++;
  if (pos < len && (s[pos] == '{' || s[pos] == '"' || number_span(s + pos, len - pos)))
    return sl_fail(err, "JSON array parsing error: Input does not start with '[' (a JSON vector is an array of numbers)");
  if (pos >= len || s[pos] != '[') return json_fail(err, s, len, pos);
  pos++;
  for (;;) {
    size_t span;
    double x = 0;
    while (pos < len && is_ws(s[pos])) pos++;
    if (pos < len && s[pos] == ']' && n == 0) break;  /* [] */
    if (pos >= len && n == 0) {                        /* '[' alone: empty, as sqlite-vec says */
      sl_fail(err, "zero-length vectors are not supported.");
      goto done;
    }
    if (pos < len && (s[pos] == '"' || s[pos] == '[' || s[pos] == '{' || s[pos] == 't' || s[pos] == 'f' ||
                      s[pos] == 'n')) {
      element_error(out, n, err);
      goto done;
    }
    if (!(span = number_span(s + pos, len - pos))) {
      json_fail(err, s, len, pos);
      goto done;
    }
    if (n == cap) {
      double *grown = sqlite3_realloc64(vals, (cap = cap ? 2 * cap : 16) * sizeof *vals);
      if (!grown) {
        sl_oom(err);
        goto done;
      }
      vals = grown;
    }
    if (json_number(s + pos, span, &x, err)) goto done;
    vals[n++] = x;
    pos += span;
    while (pos < len && is_ws(s[pos])) pos++;
    if (pos < len && s[pos] == ']') break;
    if (pos >= len || s[pos] != ',') {
      json_fail(err, s, len, pos);
      goto done;
    }
    pos++;
    while (pos < len && is_ws(s[pos])) pos++;
    if (pos < len && s[pos] == ']' && n > 0) break;  /* a trailing comma */
  }
  for (pos++; pos < len && is_ws(s[pos]); pos++) {}
  if (pos < len) {
    sl_fail(err, "invalid JSON at byte %zu: unexpected data after the top-level value", pos);
    goto done;
  }
  if (n == 0) {
    sl_fail(err, "zero-length vectors are not supported.");
    goto done;
  }
  if (!(out->owned = sqlite3_malloc64(sl_vec_bytes(out->type, n)))) {
    sl_oom(err);
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    const double x = vals[i];
    if (out->type == SL_VEC_F32) {
      if (isnan(x)) {
        element_error(out, i, err);
        goto done;
      }
      ((float *)out->owned)[i] = (float)x;  /* beyond float32's range: an infinity, as in sqlite-vec */
    } else {
      if (x != floor(x) || x < -128 || x > 127) {
        element_error(out, i, err);
        goto done;
      }
      ((int8_t *)out->owned)[i] = (int8_t)x;
    }
  }
  out->n = n;
  out->data = out->owned;
  rc = SL_OK;
done:
  sqlite3_free(vals);
  return rc;
}

int sl_sql_vec_read(sqlite3_value *v, int type, sl_sql_vec *out, sl_err *err) {
  int rc;
  memset(out, 0, sizeof *out);
  if (type == SL_SQL_VEC_ANY && type_of_subtype(sqlite3_value_subtype(v), &type, err)) return SL_ERROR;
  out->type = (sl_vec_type)type;
  if (sqlite3_value_type(v) == SQLITE_BLOB)
    rc = read_blob(v, out, err);
  else if (type == SL_VEC_BIT) /* bit vectors have no JSON form */
    rc = sl_fail(err, "Unknown type for bitvector. A bit vector is a BLOB, got %s", sl_sql_type_name(v));
  else if (sqlite3_value_type(v) == SQLITE_TEXT)
    rc = read_json(v, out, err);
  else
    rc = sl_fail(err, "Input must have type BLOB (compact format) or TEXT (JSON), found %s", sl_sql_type_name(v));
  if (rc) sl_sql_vec_free(out);
  return rc;
}

void sl_sql_vec_free(sl_sql_vec *vec) {
  sqlite3_free(vec->owned);
  vec->owned = NULL;
  vec->data = NULL;
}

int sl_sql_vec_read_exact(sqlite3_value *v, sl_vec_type type, size_t dims, const char *what, void *out,
                          sl_err *err) {
  const unsigned sub = sqlite3_value_subtype(v);
  sl_sql_vec vec;
  int said;
  /* A BLOB that says what it holds (vec_int8(), vec_bit(), embed()) must hold ours. */
  if (sqlite3_value_type(v) == SQLITE_BLOB && (sub == SL_SUBTYPE_F32 || sub == SL_SUBTYPE_I8 || sub == SL_SUBTYPE_BIT) &&
      type_of_subtype(sub, &said, err) == SL_OK && said != (int)type)
    return sl_fail(err, "%s: expected to be of type %s, but a %s vector was provided (the column is %s[%zu])", what,
                   sl_sql_vec_type_name(type), sl_sql_vec_type_name((sl_vec_type)said), sl_knn_type_name(type), dims);
  if (sl_sql_vec_read(v, (int)type, &vec, err)) {
    sl_err_prefix(err, what);
    return SL_ERROR;
  }
  if (vec.n != dims) {
    sl_sql_vec_free(&vec);
    return sl_fail(err, "%s: Dimension mismatch. Expected %zu dimensions but received %zu (the column is %s[%zu])",
                   what, dims, vec.n, sl_knn_type_name(type), dims);
  }
  memcpy(out, vec.data, sl_vec_bytes(type, dims));
  sl_sql_vec_free(&vec);
  if (type == SL_VEC_F32) {
    const unsigned char *p = out;
    for (size_t i = 0; i < dims; i++) {
      float f;
      memcpy(&f, p + 4 * i, 4);
      if (!isfinite(f)) return sl_fail(err, "%s: element %zu is not a finite number", what, i);
    }
  }
  return SL_OK;
}

int sl_sql_vec_args(sqlite3_context *ctx, const char *fn, int argc, sqlite3_value **argv,
                    int nvec, int type, sl_sql_vec *vecs) {
  static const char *const which[] = {"first vector", "second vector"};
  sl_err err;
  int i;
  for (i = 0; i < argc; i++) {
    if (sqlite3_value_type(argv[i]) == SQLITE_NULL) {
      sqlite3_result_null(ctx);
      return 0;
    }
  }
  for (i = 0; i < nvec; i++) {
    if (sl_sql_vec_read(argv[i], type, &vecs[i], &err)) {
      if (nvec > 1) sl_err_prefix(&err, which[i]);
      goto fail;
    }
  }
  if (nvec == 2 && vecs[0].type != vecs[1].type)
    sl_fail(&err, "Vector type mistmatch. First vector has type %s, while the second has type %s.",
            sl_sql_vec_type_name(vecs[0].type), sl_sql_vec_type_name(vecs[1].type)); /* sqlite-vec's text */
  else if (nvec == 2 && vecs[0].n != vecs[1].n)
    sl_fail(&err, "vectors have different dimensions (%zu and %zu)", vecs[0].n, vecs[1].n);
  else
    return 1;
fail:
  while (i-- > 0) sl_sql_vec_free(&vecs[i]);
  sl_sql_error(ctx, fn, &err);
  return 0;
}

void sl_sql_vec_result(sqlite3_context *ctx, sl_vec_type type, void *buf, size_t n) {
  sqlite3_result_blob64(ctx, buf, sl_vec_bytes(type, n), sqlite3_free);
  sqlite3_result_subtype(ctx, (unsigned)subtype_of(type));
}

/* vec_f32, vec_int8, vec_bit: the vector as that type, whatever the subtype said. */
static void construct(sqlite3_context *ctx, int argc, sqlite3_value **argv, const char *fn,
                      sl_vec_type type) {
  sl_sql_vec v;
  if (!sl_sql_vec_args(ctx, fn, argc, argv, 1, (int)type, &v)) return;
  if (!v.owned) {
    const size_t bytes = sl_vec_bytes(type, v.n);
    if (!(v.owned = sqlite3_malloc64(bytes))) {
      sqlite3_result_error_nomem(ctx);
      return;
    }
    memcpy(v.owned, v.data, bytes);
  }
  sl_sql_vec_result(ctx, type, v.owned, v.n);
}

void sl_sql_vec_f32(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  construct(ctx, argc, argv, "vec_f32", SL_VEC_F32);
}

void sl_sql_vec_int8(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  construct(ctx, argc, argv, "vec_int8", SL_VEC_I8);
}

void sl_sql_vec_bit(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  construct(ctx, argc, argv, "vec_bit", SL_VEC_BIT);
}

void sl_sql_vec_length(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sl_sql_vec v;
  if (!sl_sql_vec_args(ctx, "vec_length", argc, argv, 1, SL_SQL_VEC_ANY, &v)) return;
  sqlite3_result_int64(ctx, (sqlite3_int64)v.n);
  sl_sql_vec_free(&v);
}

/* sqlite-vec's text: floats with printf's %f (six decimals; NaN as null), int8 and bit
** elements as integers, one per dimension. The subtype marks it as JSON for SQLite's
** json functions. */
void sl_sql_vec_to_json(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sl_sql_vec v;
  sqlite3_str *s;
  int rc;
  if (!sl_sql_vec_args(ctx, "vec_to_json", argc, argv, 1, SL_SQL_VEC_ANY, &v)) return;
  s = sqlite3_str_new(sqlite3_context_db_handle(ctx));
  sqlite3_str_appendchar(s, 1, '[');
  for (size_t i = 0; i < v.n; i++) {
    if (i) sqlite3_str_appendchar(s, 1, ',');
    if (v.type == SL_VEC_F32) {
      const float f = ((const float *)v.data)[i];
      if (isnan(f)) sqlite3_str_appendall(s, "null");
      else sqlite3_str_appendf(s, "%f", (double)f);
    } else if (v.type == SL_VEC_I8) {
      sqlite3_str_appendf(s, "%d", ((const int8_t *)v.data)[i]);
    } else {
      sqlite3_str_appendchar(s, 1, (char)('0' + ((((const unsigned char *)v.data)[i / 8] >> (i % 8)) & 1)));
    }
  }
  sqlite3_str_appendchar(s, 1, ']');
  sl_sql_vec_free(&v);
  if ((rc = sqlite3_str_errcode(s)) != SQLITE_OK) {
    sqlite3_free(sqlite3_str_finish(s));
    if (rc == SQLITE_TOOBIG) sqlite3_result_error_toobig(ctx);
    else sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_text(ctx, sqlite3_str_finish(s), -1, sqlite3_free);
  sqlite3_result_subtype(ctx, SL_SUBTYPE_JSON);
}
