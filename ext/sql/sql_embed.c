/*
** sql_embed.c: embed() and semlite_tokenize().
**
**   embed(text)            the first loaded embedding model
**   embed(model, text)     float32 BLOB of the model's dimension (sqlite-vec's format)
**   semlite_tokenize(model, text)   JSON array of the token ids the model runs on
**                                   (any kind of model; the 1-argument form uses the
**                                   first embedding model)
** NULL text gives NULL; NULL model name gives NULL.
**
** Each is one call into ops (ext/ops/infer.h), which owns the request; embed() passes
** the connection's cache store (sql_cache.h) when the cache is enabled.
*/
#include <stdlib.h>

#include "../base/alloc.h"
#include "../ops/infer.h"
#include "sql.h"
#include "sql_cache.h"

/* Reads (model, text) from argv for the 1- and 2-argument forms. Returns 0 when the
** result is already set (NULL or error). */
static int model_and_text(sqlite3_context *ctx, const char *fn, int argc, sqlite3_value **argv,
                          const char **model, const char **text, size_t *len) {
  int is_null;
  *model = NULL;
  if (argc == 2 && !(*model = sl_sql_text_arg(ctx, fn, "model name", argv[0], &is_null))) {
    if (is_null) sqlite3_result_null(ctx);
    return 0;
  }
  if (!(*text = sl_sql_text_arg(ctx, fn, "text", argv[argc - 1], &is_null))) {
    if (is_null) sqlite3_result_null(ctx);
    return 0;
  }
  *len = (size_t)sqlite3_value_bytes(argv[argc - 1]);
  return 1;
}

void sl_sql_embed(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char fn[] = "embed";
  const char *model, *text;
  size_t len, dim;
  float *vec;
  sl_err err;

  if (!model_and_text(ctx, fn, argc, argv, &model, &text, &len)) return;
  if (sl_op_embed_text(sl_cache_l2(sqlite3_user_data(ctx)), model, text, len, &vec, &dim, &err)) {
    sl_sql_error(ctx, fn, &err);
    return;
  }
  sqlite3_result_blob(ctx, vec, (int)(dim * sizeof *vec), sl_free);
  sqlite3_result_subtype(ctx, SL_SUBTYPE_F32);
}

void sl_sql_tokenize(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char fn[] = "semlite_tokenize";
  const char *model, *text;
  size_t len, n;
  int *ids;
  sl_err err;
  sqlite3_str *s;

  if (!model_and_text(ctx, fn, argc, argv, &model, &text, &len)) return;
  if (sl_op_tokenize(model, text, len, &ids, &n, &err)) {
    sl_sql_error(ctx, fn, &err);
    return;
  }
  s = sqlite3_str_new(NULL);
  sqlite3_str_appendchar(s, 1, '[');
  for (size_t i = 0; i < n; i++) sqlite3_str_appendf(s, i ? ",%d" : "%d", ids[i]);
  sqlite3_str_appendchar(s, 1, ']');
  sl_free(ids);
  if (sqlite3_str_errcode(s)) {
    sqlite3_free(sqlite3_str_finish(s));
    sqlite3_result_error_nomem(ctx);
  } else {
    sqlite3_result_text(ctx, sqlite3_str_finish(s), -1, sqlite3_free);
  }
}
