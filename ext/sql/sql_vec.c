/*
** sql_vec.c: the vector helpers with sqlite-vec's names, formats and results:
** vec_f32(), vec_to_json(), vec_length().
**
** A float32 vector is a BLOB of little-endian floats (4 bytes each) or a JSON array of
** numbers. Unlike sqlite-vec, NULL in gives NULL out (the SQL convention); errors name
** the function and the problem.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/json.h"
#include "sql.h"

/* Reads a float32 vector from a BLOB or JSON TEXT into a new sqlite3_malloc'd array.
** Returns 0 with the result set (NULL or error) when there is no vector. */
static int read_vector(sqlite3_context *ctx, const char *fn, sqlite3_value *v, float **out,
                       size_t *n) {
  *out = NULL;
  *n = 0;
  switch (sqlite3_value_type(v)) {
    case SQLITE_NULL:
      sqlite3_result_null(ctx);
      return 0;
    case SQLITE_BLOB: {
      int bytes = sqlite3_value_bytes(v);
      const void *p = sqlite3_value_blob(v);
      if (bytes == 0) { sl_sql_errorf(ctx, fn, "zero-length vectors are not supported"); return 0; }
      if (bytes % 4) {
        sl_sql_errorf(ctx, fn, "a float32 vector BLOB must have a length divisible by 4, got %d bytes", bytes);
        return 0;
      }
      if (!(*out = sqlite3_malloc(bytes))) { sqlite3_result_error_nomem(ctx); return 0; }
      memcpy(*out, p, (size_t)bytes);
      *n = (size_t)bytes / 4;
      return 1;
    }
    case SQLITE_TEXT: {
      sl_json_doc *doc;
      sl_err err;
      const sl_json *root, *e;
      size_t i = 0;
      if (sl_json_parse((const char *)sqlite3_value_text(v), (size_t)sqlite3_value_bytes(v), &doc, &err)) {
        sl_sql_error(ctx, fn, &err);
        return 0;
      }
      root = sl_json_root(doc);
      if (root->type != SL_JSON_ARRAY) {
        sl_json_free(doc);
        sl_sql_errorf(ctx, fn, "a JSON vector must be an array of numbers");
        return 0;
      }
      if (root->n == 0) {
        sl_json_free(doc);
        sl_sql_errorf(ctx, fn, "zero-length vectors are not supported");
        return 0;
      }
      if (!(*out = sqlite3_malloc64(root->n * sizeof(float)))) {
        sl_json_free(doc);
        sqlite3_result_error_nomem(ctx);
        return 0;
      }
      for (e = root->child; e; e = e->next, i++) {
        float f = (float)e->number;
        if (e->type != SL_JSON_NUMBER || !isfinite(f)) {
          sl_sql_errorf(ctx, fn, "element %zu of the JSON vector is not a finite float32 number", i);
          sl_json_free(doc);
          sqlite3_free(*out);
          *out = NULL;
          return 0;
        }
        (*out)[i] = f;
      }
      *n = root->n;
      sl_json_free(doc);
      return 1;
    }
    default:
      sl_sql_errorf(ctx, fn, "a vector must be a BLOB or JSON TEXT, got %s", sl_sql_type_name(v));
      return 0;
  }
}

void sl_sql_vec_f32(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  float *v;
  size_t n;
  if (!read_vector(ctx, "vec_f32", argv[0], &v, &n)) return;
  sqlite3_result_blob64(ctx, v, n * sizeof(float), sqlite3_free);
  sqlite3_result_subtype(ctx, SL_SUBTYPE_F32);
}

void sl_sql_vec_to_json(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  float *v;
  size_t n;
  sqlite3_str *s;
  if (!read_vector(ctx, "vec_to_json", argv[0], &v, &n)) return;
  s = sqlite3_str_new(NULL);
  sqlite3_str_appendchar(s, 1, '[');
  for (size_t i = 0; i < n; i++) sqlite3_str_appendf(s, i ? ",%f" : "%f", (double)v[i]);
  sqlite3_str_appendchar(s, 1, ']');
  sqlite3_free(v);
  if (sqlite3_str_errcode(s)) {
    sqlite3_free(sqlite3_str_finish(s));
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_text(ctx, sqlite3_str_finish(s), -1, sqlite3_free);
}

void sl_sql_vec_length(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  float *v;
  size_t n;
  if (!read_vector(ctx, "vec_length", argv[0], &v, &n)) return;
  sqlite3_free(v);
  sqlite3_result_int64(ctx, (sqlite3_int64)n);
}
