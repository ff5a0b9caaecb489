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
** embed() goes through the inference cache when it is enabled (sql_cache.h): the
** address covers the model's identity and the text's exact bytes.
*/
#include <stdlib.h>

#include "../ops/infer.h"
#include "sql.h"
#include "sql_cache.h"

/* Resolves (model, text) from argv for the 1- and 2-argument forms. Returns 0 when the
** result is already set (NULL or error). */
static int model_and_text(sqlite3_context *ctx, const char *fn, sl_model_kind kind, int argc,
                          sqlite3_value **argv, sl_model **m, const char **text, int *len) {
  const char *name = NULL;
  int is_null;
  sl_err err;

  if (argc == 2) {
    name = sl_sql_text_arg(ctx, fn, "model name", argv[0], &is_null);
    if (!name) {
      if (is_null) sqlite3_result_null(ctx);
      return 0;
    }
  }
  *text = sl_sql_text_arg(ctx, fn, "text", argv[argc - 1], &is_null);
  if (!*text) {
    if (is_null) sqlite3_result_null(ctx);
    return 0;
  }
  *len = sqlite3_value_bytes(argv[argc - 1]);
  if (sl_op_pin(name, name ? kind : SL_KIND_EMBED, m, &err)) {
    sl_sql_error(ctx, fn, &err);
    return 0;
  }
  return 1;
}

void sl_sql_embed(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char fn[] = "embed";
  sl_cache *cache = sqlite3_user_data(ctx);
  sl_model *m;
  const char *text;
  int len, cached;
  sl_err err;
  float *vec;
  size_t bytes;
  sl_cache_key key;

  if (!model_and_text(ctx, fn, SL_KIND_EMBED, argc, argv, &m, &text, &len)) return;
  bytes = (size_t)m->cfg.hidden * sizeof(float);
  vec = sqlite3_malloc64(bytes);
  if (!vec) {
    sqlite3_result_error_nomem(ctx);
    sl_registry_release(m);
    return;
  }
  cached = sl_cache_on(cache);
  if (cached) {
    sl_cache_part part = {text, (size_t)len};
    sl_cache_address(m, fn, 1, &part, &key);
  }
  if (cached && sl_cache_get(cache, fn, &key, vec, bytes)) {
    /* a hit: vec holds the stored bytes */
  } else if (sl_op_embed(m, text, (size_t)len, vec, &err)) {
    sl_sql_error(ctx, fn, &err);
    sqlite3_free(vec);
    sl_registry_release(m);
    return;
  } else if (cached) {
    sl_cache_put(cache, fn, &key, vec, bytes);
  }
  sl_registry_release(m);
  sqlite3_result_blob(ctx, vec, (int)bytes, sqlite3_free);
  sqlite3_result_subtype(ctx, SL_SUBTYPE_F32);
}

void sl_sql_tokenize(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char fn[] = "semlite_tokenize";
  sl_model *m;
  const char *text;
  int len;
  sl_err err;
  sl_tokens ids = {0};

  if (!model_and_text(ctx, fn, SL_KIND_ANY, argc, argv, &m, &text, &len)) return;
  if (sl_model_tokenize(m, text, (size_t)len, &ids, &err)) {
    sl_sql_error(ctx, fn, &err);
  } else {
    sqlite3_str *s = sqlite3_str_new(NULL);
    sqlite3_str_appendchar(s, 1, '[');
    for (size_t i = 0; i < ids.n; i++) sqlite3_str_appendf(s, i ? ",%d" : "%d", ids.ids[i]);
    sqlite3_str_appendchar(s, 1, ']');
    if (sqlite3_str_errcode(s)) {
      sqlite3_free(sqlite3_str_finish(s));
      sqlite3_result_error_nomem(ctx);
    } else {
      sqlite3_result_text(ctx, sqlite3_str_finish(s), -1, sqlite3_free);
    }
  }
  sl_tokens_free(&ids);
  sl_registry_release(m);
}
