/*
** infer.h: what one inference call does end to end, below the SQL surface: find and
** pin the model, check its kind, tokenize, run the engine within the limits, unpin,
** and count the call in the metrics (ext/ops/metrics.h). Messages name the problem but
** not the SQL function; the SQL layer puts the function's name in front.
*/
#ifndef SEMLITE_INFER_H
#define SEMLITE_INFER_H

#include <stddef.h>

#include "../base/status.h"
#include "../engine/registry.h"

/* Pins the model called name (or, when name is NULL, the first loaded model of the
** kind) and checks it is of that kind (any kind for SL_KIND_ANY with a name). Release it with sl_registry_release. */
int sl_op_pin(const char *name, sl_model_kind kind, sl_model **out, sl_err *err);

/* Pins a cross-encoder to rerank with: as sl_op_pin(name, SL_KIND_RERANK, ...), and
** refuses a classifier with other than one output (num_labels 1), which has no single
** relevance score. */
int sl_op_pin_reranker(const char *name, sl_model **out, sl_err *err);

/* Embeds one text with a pinned model into out (m->cfg.hidden floats). */
int sl_op_embed(const sl_model *m, const char *text, size_t len, float *out, sl_err *err);

/* Embeds n texts (semlite_vec's embed-on-insert) into n rows of m->cfg.hidden floats,
** in as many forward passes as the limits need; counted as one embed call. */
int sl_op_embed_many(const sl_model *m, size_t n, const char *const *texts, const size_t *lens,
                     float *out, sl_err *err);

/* Scores one (query, doc) pair with a pinned cross-encoder: the raw logit. */
int sl_op_rerank(const sl_model *m, const char *query, size_t qlen, const char *doc,
                 size_t dlen, float *score, sl_err *err);

/* One forward pass over the leading texts (documents): as many as fit in the limits
** (max_batch, max_tokens, memory_budget_mb), at least one; *done receives how many (see
** sl_model_embed_batch). Each is one embed_each / rerank_each call in the metrics. */
int sl_op_embed_batch(const sl_model *m, size_t n, const char *const *texts,
                      const size_t *lens, float *out, size_t *done, sl_err *err);
int sl_op_rerank_batch(const sl_model *m, const char *query, size_t qlen, size_t n,
                       const char *const *docs, const size_t *lens, float *scores,
                       size_t *done, sl_err *err);

#endif
