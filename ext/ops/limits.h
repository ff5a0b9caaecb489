/*
** limits.h: the operator's bounds on what semlite may take, process-wide and read by
** every call (the semlite_limits table sets them).
**
**   threads           threads one forward pass runs on, the caller included
**   max_batch         sequences in one forward pass (embed_each, rerank_each, inserts)
**   max_tokens        tokens packed into one forward pass
**   memory_budget_mb  scratch memory one forward pass may take; larger batches are
**                     split, a single text that cannot fit is refused
**   l1_cache_mb       size of the in-memory inference cache (read by the cache)
**   vec_cache_mb      memory semlite_vec may keep chunks in (read by the chunk cache)
**   ann_cache_mb      memory semlite_vec may keep HNSW graphs and codes in (the ANN cache)
**   max_document_mb   size of a document argument (JSON, YAML) a call accepts
**   synergy_max_nodes entities and devices a synergy run takes (its links are quadratic)
**
** Values are atomics: reading one is a relaxed load, so calls never wait on a setter;
** a call reads each limit once, at its start. docs/operations.md has the defaults and
** the reasons for them.
*/
#ifndef SEMLITE_LIMITS_H
#define SEMLITE_LIMITS_H

#include "../base/status.h"
#include "../engine/model.h"

typedef enum sl_limit {
  SL_LIMIT_THREADS,
  SL_LIMIT_MAX_BATCH,
  SL_LIMIT_MAX_TOKENS,
  SL_LIMIT_MEMORY_BUDGET_MB,
  SL_LIMIT_L1_CACHE_MB,
  SL_LIMIT_VEC_CACHE_MB,
  SL_LIMIT_ANN_CACHE_MB,
  SL_LIMIT_MAX_DOCUMENT_MB,
  SL_LIMIT_SYNERGY_MAX_NODES,
  SL_LIMIT_REPLICATED_MAX_ROWS,
  SL_LIMIT_COUNT
} sl_limit;

/* A limit's name, its one-line description (with range and default) for semlite_limits. */
const char *sl_limit_name(sl_limit id);
const char *sl_limit_description(sl_limit id);

long long sl_limit_get(sl_limit id);

/* Sets a limit after checking its range: "<name> must be between <min> and <max>, got
** <value>". */
int sl_limit_set(sl_limit id, long long value, sl_err *err);

/* The limit called name, or SL_ERROR naming the known ones. */
int sl_limit_find(const char *name, sl_limit *out, sl_err *err);

/* The limits' names in order, comma-separated, `last` before the last one (", " or
** " and "), into out. */
void sl_limit_list(char *out, size_t cap, const char *last);

/* SL_ERROR when a document (a JSON or YAML argument) of `bytes` is over max_document_mb:
** "the document is N bytes, over the max_document_mb limit of M MB". */
int sl_limit_document(size_t bytes, sl_err *err);

/* The bounds of one forward pass as the limits stand now. */
void sl_limits_pass(sl_pass_limits *out);

#endif
