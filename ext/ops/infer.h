/*
** infer.h: inference requests end to end, below the SQL surface. One request is one
** call here, which owns the whole route: pin the model, check its kind, address each
** input, look it up (cache.h), compute the misses within the limits, store them,
** release the model, and count the call in the metrics (metrics.h). Messages name the
** problem but not the SQL function; the SQL layer puts the function's name in front.
**
** `l2` is the caller's cache store (cache.h), or NULL when the cache is off: then
** nothing is looked up or stored, in memory or on disk.
**
** Models are opaque here: callers above ops hold a pinned sl_model only between
** sl_op_pin and sl_op_release and ask these accessors for what they need.
*/
#ifndef SEMLITE_INFER_H
#define SEMLITE_INFER_H

#include <stddef.h>

#include "../base/status.h"
#include "../engine/model_config.h"   /* sl_model_kind */
#include "cache.h"
#include "metrics.h"

typedef struct sl_model sl_model;

/* ---- pinning ---- */

/* Pins the model called name (or, when name is NULL, the first loaded model of the
** kind) and checks it is of that kind (any kind for SL_KIND_ANY with a name). A
** cross-encoder must have one output (num_labels 1) to be pinned as SL_KIND_RERANK.
** Release it with sl_op_release. */
int sl_op_pin(const char *name, sl_model_kind kind, sl_model **out, sl_err *err);

/* As sl_op_pin when name is not NULL; with NULL, the first loaded usable model of the
** kind, or *out NULL without an error when there is none. */
int sl_op_pin_optional(const char *name, sl_model_kind kind, sl_model **out, sl_err *err);

void sl_op_release(sl_model *m);

/* ---- facts of a pinned model ---- */

/* Floats per result: the embedding dimension, or 1 for a cross-encoder. */
size_t sl_op_width(const sl_model *m);
/* The canonical folder it was loaded from. */
const char *sl_op_folder(const sl_model *m);
/* What its results depend on (sl_model_identity): the cache's model key. */
void sl_op_identity(sl_model *m, unsigned char id[16]);

/* ---- requests on a model named by the caller (NULL: the first of the kind) ---- */

/* embed(): one text into a malloc'd vector of *dim floats (free with sl_free()). */
int sl_op_embed_text(sl_l2 *l2, const char *model, const char *text, size_t len, float **out,
                     size_t *dim, sl_err *err);

/* rerank(): the cross-encoder's raw logit for one (query, doc) pair. */
int sl_op_rerank_pair(sl_l2 *l2, const char *model, const char *query, size_t qlen,
                      const char *doc, size_t dlen, float *score, sl_err *err);

/* semlite_tokenize(): the ids the model runs on, malloc'd (free with sl_free()). Any kind. */
int sl_op_tokenize(const char *model, const char *text, size_t len, int **ids, size_t *n,
                   sl_err *err);

/* Checks the model called name is loaded and of kind (pinnable as sl_op_pin says), and
** gives its width (sl_op_width) when width is not NULL. */
int sl_op_model_width(const char *model, sl_model_kind kind, size_t *width, sl_err *err);

/* semlite_vec's embed-on-insert: n texts into n rows of `dims` floats with the embedding
** model called name, which must have that dimension. Cached as embed() (op "embed"),
** so a row embeds what embed() returns and hits what embed() stored. One embed call in
** the metrics. */
int sl_op_embed_rows(sl_l2 *l2, const char *model, size_t dims, size_t n,
                     const char *const *texts, const size_t *lens, float *out, sl_err *err);

/* ---- requests on a pinned model (synergy) ---- */

/* The content address every request here gives an input: op over the model identity and
** (text) or (query, text). For stores that label their rows (synergy's). */
void sl_op_address(const unsigned char id[16], const char *op, const char *query, size_t qlen,
                   const char *text, size_t len, sl_cache_key *key);

/* n texts (embedding model) or n (query, docs[i]) pairs (cross-encoder, query not NULL)
** into n rows of sl_op_width(m) floats, cached under op, computed in as many passes as
** the limits need; each pass is one `metric` call. */
int sl_op_run_list(sl_l2 *l2, const char *op, sl_op metric, sl_model *m, const char *query,
                   size_t qlen, size_t n, const char *const *texts, const size_t *lens,
                   float *out, sl_err *err);

/* ---- streams: embed_each, rerank_each ---- */

/* A request over a list of texts whose results are wanted in order, one forward pass at
** a time, so that memory holds one batch and a consumer that stops early stops the
** work. The model is pinned per pass, not for the whole stream (a stream left half read
** must not keep semlite_model_unload() waiting); a name loaded again from another folder
** between passes fails the stream. texts and lens are the caller's and must outlive it. */
typedef struct sl_op_stream sl_op_stream;

/* query NULL: embed_each with an embedding model; else rerank_each of (query, texts[i]). */
int sl_op_stream_open(sl_l2 *l2, const char *model, const char *query, size_t qlen, size_t n,
                      const char *const *texts, const size_t *lens, sl_op_stream **out,
                      sl_err *err);
size_t sl_op_stream_width(const sl_op_stream *s);
/* The result of text i (0 <= i < n, called with i ascending): width floats, valid until
** the next call. */
int sl_op_stream_row(sl_op_stream *s, size_t i, const float **row, sl_err *err);
void sl_op_stream_close(sl_op_stream *s);

#endif
