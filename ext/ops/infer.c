/*
** infer.c: one inference call end to end (see infer.h). Every call reads the limits
** once, runs, and reports its latency, tokens and scratch to the metrics.
*/
#include "infer.h"

#include "limits.h"
#include "memory.h"
#include "metrics.h"

static const char *kind_noun(sl_model_kind kind) {
  return kind == SL_KIND_EMBED ? "an embedding model" : "a cross-encoder (rerank) model";
}

int sl_op_pin(const char *name, sl_model_kind kind, sl_model **out, sl_err *err) {
  sl_model *m = name ? sl_registry_acquire(name) : sl_registry_acquire_first(kind);
  *out = NULL;
  if (!m) {
    if (name) return sl_fail(err, "no model named '%s' (load one with semlite_model_load)", name);
    return sl_fail(err, "no %s is loaded (load one with semlite_model_load)",
                   kind == SL_KIND_EMBED ? "embedding model" : "cross-encoder (rerank) model");
  }
  if (kind != SL_KIND_ANY && m->cfg.kind != kind) {
    sl_registry_release(m);
    return sl_fail(err, "model '%s' is %s, not %s", name, kind_noun(m->cfg.kind), kind_noun(kind));
  }
  *out = m;
  return SL_OK;
}

int sl_op_pin_reranker(const char *name, sl_model **out, sl_err *err) {
  if (sl_op_pin(name, SL_KIND_RERANK, out, err)) return SL_ERROR;
  if ((*out)->cfg.num_labels != 1) {
    int labels = (*out)->cfg.num_labels;
    sl_registry_release(*out);
    *out = NULL;
    if (name)
      return sl_fail(err, "model '%s' is a classifier with %d labels; rerank needs a cross-encoder "
                     "with a single output (num_labels 1)", name, labels);
    return sl_fail(err, "the first loaded cross-encoder is a classifier with %d labels; rerank needs "
                   "a single output (num_labels 1): name a model", labels);
  }
  return SL_OK;
}

/* The end of a call of op that started at t0 and returned rc. */
static int finish(sl_op op, uint64_t t0, const sl_pass_stats *st, int rc) {
  sl_memory_note_scratch(st->peak_bytes);
  sl_metrics_record(op, t0, st->tokens, rc != SL_OK);
  return rc;
}

int sl_op_embed(const sl_model *m, const char *text, size_t len, float *out, sl_err *err) {
  return sl_op_embed_many(m, 1, &text, &len, out, err);
}

int sl_op_embed_many(const sl_model *m, size_t n, const char *const *texts, const size_t *lens,
                     float *out, sl_err *err) {
  uint64_t t0 = sl_metrics_now();
  sl_pass_limits lim;
  sl_pass_stats st = {0};
  sl_limits_pass(&lim);
  return finish(SL_OP_EMBED, t0, &st, sl_model_embed(m, &lim, n, texts, lens, out, &st, err));
}

int sl_op_rerank(const sl_model *m, const char *query, size_t qlen, const char *doc,
                 size_t dlen, float *score, sl_err *err) {
  uint64_t t0 = sl_metrics_now();
  sl_pass_limits lim;
  sl_pass_stats st = {0};
  sl_limits_pass(&lim);
  return finish(SL_OP_RERANK, t0, &st,
                sl_model_rerank(m, &lim, query, qlen, 1, &doc, &dlen, score, &st, err));
}

int sl_op_embed_batch(const sl_model *m, size_t n, const char *const *texts,
                      const size_t *lens, float *out, size_t *done, sl_err *err) {
  uint64_t t0 = sl_metrics_now();
  sl_pass_limits lim;
  sl_pass_stats st = {0};
  sl_limits_pass(&lim);
  return finish(SL_OP_EMBED_EACH, t0, &st,
                sl_model_embed_batch(m, &lim, n, texts, lens, out, done, &st, err));
}

int sl_op_rerank_batch(const sl_model *m, const char *query, size_t qlen, size_t n,
                       const char *const *docs, const size_t *lens, float *scores,
                       size_t *done, sl_err *err) {
  uint64_t t0 = sl_metrics_now();
  sl_pass_limits lim;
  sl_pass_stats st = {0};
  sl_limits_pass(&lim);
  return finish(SL_OP_RERANK_EACH, t0, &st,
                sl_model_rerank_batch(m, &lim, query, qlen, n, docs, lens, scores, done, &st, err));
}
