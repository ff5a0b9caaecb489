/*
** model.h: a loaded model folder: its configuration, tokenizer and encoder, and the
** text-level entry points (tokenize, embed, score a pair) the operations layer calls.
**
** An sl_model is immutable once opened and safe to use from any number of threads.
** Who may use it when is the registry's business (registry.h), not this file's.
*/
#ifndef SEMLITE_MODEL_H
#define SEMLITE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "../base/file.h"
#include "../base/status.h"
#include "bert.h"
#include "model_config.h"
#include "tokenizer.h"

typedef struct sl_model {
  char *dir;                  /* canonical path of the folder (realpath) */
  sl_model_config cfg;
  sl_tokenizer *tok;
  sl_bert *bert;
  double load_ms;             /* wall time of sl_model_open */
  uint64_t vocab_hash;        /* XXH3-64 of vocab.txt as loaded */
  sl_file_log files;          /* every file read (and optional file found absent), stamped */
  unsigned char id[16];       /* sl_model_identity, hashed at load */
  unsigned char files_hash[16]; /* sl_model_files_hash, hashed at load */
} sl_model;

/* Opens the Hugging Face folder dir: configuration, vocab.txt, model.safetensors. Every
** file is read whole into memory through file.h (regular files only, size-capped, never
** a blocking open), so the model never changes after this and no change to its files
** can reach it; m->files records what was read. dtype: what the encoder's linear
** layers compute in (quantized copies made at load). */
int sl_model_open(const char *dir, sl_compute_dtype dtype, sl_model **out, sl_err *err);
void sl_model_close(sl_model *m);

/* The path of the first file of the folder that is no longer the one the model read
** (replaced, modified, removed, or an optional file that appeared), or NULL when all are
** as they were. Reads the file system (stat); thread-safe. */
const char *sl_model_changed(const sl_model *m);

/* What the model's results depend on, as 16 bytes for content addressing (the inference
** cache, docs/cache.md): XXH3-128 over the bytes of model.safetensors, vocab.txt, every
** configuration value the forward pass and tokenizer read, the compute dtype and the
** kernel level: the bytes in memory, which the model computes with for its whole life.
** Two models with equal identities give bit-identical results. Hashed at load (about
** 10 ms per 100 MB of weights); thread-safe. */
void sl_model_identity(const sl_model *m, unsigned char out[16]);

/* XXH3-128 (canonical bytes) of model.safetensors followed by vocab.txt, the bytes the
** model read and computes with: what a database records of a model (ops/fingerprint.h),
** independent of dtype and CPU. Hashed at load, in the same pass as the identity. */
void sl_model_files_hash(const sl_model *m, unsigned char out[16]);

/* [CLS] text [SEP] truncated to the model's maximum length, as the model sees it. */
int sl_model_tokenize(const sl_model *m, const char *text, size_t len, sl_tokens *out,
                      sl_err *err);

/* [CLS] query [SEP] doc [SEP] with Hugging Face `longest_first` truncation to the
** model's maximum length; type_ids gets 0 up to the first [SEP], 1 after it. */
int sl_model_tokenize_pair(const sl_model *m, const char *query, size_t qlen, const char *doc,
                           size_t dlen, sl_tokens *ids, sl_tokens *type_ids, sl_err *err);

/* Default tokens in one forward pass when a call holds many texts (the max_tokens
** limit's default). Sequences are packed without padding, and the pass's scratch memory
** is about (6 * hidden + intermediate) floats per token: 15 MB for MiniLM-L6 at this
** bound, 31 MB for a BERT-base. Larger batches only
** lose: the GEMMs are already efficient at a few hundred rows, and a scratch that leaves
** the cache slows every other step (rerank_each, MiniLM-L6, best of 5: 512 and 1024
** tokens per pass alike, 2048 up to 20% slower, 8192 20-50% slower). A sequence longer
** than the bound (only for models allowing more positions) runs alone. */
#define SL_BATCH_TOKENS 1024
/* Most sequences in one forward pass (the max_batch limit's ceiling): each has at least
** [CLS] and [SEP]. */
#define SL_BATCH_MAX_SEQS (SL_BATCH_TOKENS / 2)

/* Bounds on each forward pass of a call, from the operator's limits (ext/ops/limits.h):
** the packing stops before a text that would pass max_tokens, max_seqs or max_bytes. A
** single text longer than max_tokens runs alone; one whose pass would need more than
** max_bytes of scratch is refused. */
typedef struct sl_pass_limits {
  size_t max_tokens;          /* tokens in one pass */
  size_t max_seqs;            /* sequences in one pass, 1 to SL_BATCH_MAX_SEQS */
  size_t max_bytes;           /* scratch of one pass (sl_model_pass_bytes); 0: no bound */
} sl_pass_limits;

/* The engine's own bounds, for callers without an operator's limits (tests, tools). */
#define SL_PASS_DEFAULTS ((sl_pass_limits){SL_BATCH_TOKENS, SL_BATCH_MAX_SEQS, 0})

/* What a call ran, added to by each pass: for the metrics and semlite_memory. */
typedef struct sl_pass_stats {
  size_t tokens;              /* tokens through the encoder */
  size_t peak_bytes;          /* scratch of the largest pass */
} sl_pass_stats;

/* Scratch bytes of one forward pass over `tokens` tokens whose longest sequence has
** `longest`: the activations of every token plus one attention matrix per head. */
size_t sl_model_pass_bytes(const sl_model *m, size_t tokens, size_t longest);

/* Embeds n texts; out receives n rows of cfg.hidden floats. Embedding models only.
** Runs as many forward passes as the texts need within lim. */
int sl_model_embed(const sl_model *m, const sl_pass_limits *lim, size_t n, const char *const *texts,
                   const size_t *lens, float *out, sl_pass_stats *stats, sl_err *err);

/* Scores n (query, docs[i]) pairs: scores[i] is the classifier's raw logit (no sigmoid).
** Cross-encoders with one output (num_labels 1) only. Batched as sl_model_embed. */
int sl_model_rerank(const sl_model *m, const sl_pass_limits *lim, const char *query, size_t qlen,
                    size_t n, const char *const *docs, const size_t *lens, float *scores,
                    sl_pass_stats *stats, sl_err *err);

/* One forward pass over the leading texts of a call: as many as fit in lim (at least
** one). *done receives how many were run (0 only when n is 0); their rows are written
** as by the functions above. For callers that hand out results as they come
** (embed_each, rerank_each), so that they hold one batch in memory at a time. */
int sl_model_embed_batch(const sl_model *m, const sl_pass_limits *lim, size_t n,
                         const char *const *texts, const size_t *lens, float *out, size_t *done,
                         sl_pass_stats *stats, sl_err *err);
int sl_model_rerank_batch(const sl_model *m, const sl_pass_limits *lim, const char *query,
                          size_t qlen, size_t n, const char *const *docs, const size_t *lens,
                          float *scores, size_t *done, sl_pass_stats *stats, sl_err *err);

#endif
