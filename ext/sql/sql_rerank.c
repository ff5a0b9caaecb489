/*
** sql_rerank.c: rerank(), a cross-encoder's relevance score for one (query, document)
** pair.
**
**   rerank(model, query, doc)   REAL: the classifier's raw logit, as the model card
**                               gives it (no sigmoid)
**   rerank(query, doc)          the first loaded cross-encoder
** Any NULL argument gives NULL. Models whose classifier has several outputs are refused
** (sl_op_pin_reranker). For many documents against one query, rerank_each
** (vtab_each.c) runs them in one batch.
**
** rerank() goes through the inference cache when it is enabled (sql_cache.h): the
** address covers the model's identity, the query and the document; the stored value
** is the float32 score.
*/
#include "../ops/infer.h"
#include "sql.h"
#include "sql_cache.h"

void sl_sql_rerank(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char fn[] = "rerank";
  static const char *const what[] = {"model name", "query", "document"};
  const char *arg[3] = {NULL, NULL, NULL};   /* model name (NULL: first loaded), query, doc */
  int first = 3 - argc, is_null, cached;
  sl_cache *cache = sqlite3_user_data(ctx);
  sl_model *m;
  sl_err err;
  float score;
  size_t qlen, dlen;
  sl_cache_key key;

  for (int i = 0; i < argc; i++) {
    arg[first + i] = sl_sql_text_arg(ctx, fn, what[first + i], argv[i], &is_null);
    if (!arg[first + i]) {
      if (is_null) sqlite3_result_null(ctx);
      return;
    }
  }
  if (sl_op_pin_reranker(arg[0], &m, &err)) {
    sl_sql_error(ctx, fn, &err);
    return;
  }
  qlen = (size_t)sqlite3_value_bytes(argv[argc - 2]);
  dlen = (size_t)sqlite3_value_bytes(argv[argc - 1]);
  cached = sl_cache_on(cache);
  if (cached) {
    sl_cache_part parts[2] = {{arg[1], qlen}, {arg[2], dlen}};
    sl_cache_address(m, fn, 2, parts, &key);
  }
  if (cached && sl_cache_get(cache, fn, &key, &score, sizeof score)) {
    sqlite3_result_double(ctx, score);
  } else if (sl_op_rerank(m, arg[1], qlen, arg[2], dlen, &score, &err)) {
    sl_sql_error(ctx, fn, &err);
  } else {
    if (cached) sl_cache_put(cache, fn, &key, &score, sizeof score);
    sqlite3_result_double(ctx, score);
  }
  sl_registry_release(m);
}
