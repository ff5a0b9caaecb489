/*
** sql_rerank.c: rerank(), a cross-encoder's relevance score for one (query, document)
** pair.
**
**   rerank(model, query, doc)   REAL: the classifier's raw logit, as the model card
**                               gives it (no sigmoid)
**   rerank(query, doc)          the first loaded cross-encoder
** Any NULL argument gives NULL. Models whose classifier has several outputs are refused
** (sl_op_pin). For many documents against one query, rerank_each (vtab_each.c) runs
** them in one batch. One call into ops (sl_op_rerank_pair), with the connection's cache
** store when the cache is enabled.
*/
#include "../ops/infer.h"
#include "sql.h"
#include "sql_cache.h"

void sl_sql_rerank(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char fn[] = "rerank";
  static const char *const what[] = {"model name", "query", "document"};
  const char *arg[3] = {NULL, NULL, NULL};   /* model name (NULL: first loaded), query, doc */
  int first = 3 - argc, is_null;
  float score;
  sl_err err;

  for (int i = 0; i < argc; i++) {
    arg[first + i] = sl_sql_text_arg(ctx, fn, what[first + i], argv[i], &is_null);
    if (!arg[first + i]) {
      if (is_null) sqlite3_result_null(ctx);
      return;
    }
  }
  if (sl_op_rerank_pair(sl_cache_l2(sqlite3_user_data(ctx)), arg[0], arg[1],
                        (size_t)sqlite3_value_bytes(argv[argc - 2]), arg[2],
                        (size_t)sqlite3_value_bytes(argv[argc - 1]), &score, &err)) {
    sl_sql_error(ctx, fn, &err);
    return;
  }
  sqlite3_result_double(ctx, score);
}
