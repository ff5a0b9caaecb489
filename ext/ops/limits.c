/*
** limits.c: the process-wide limits (see limits.h). One table holds each limit's name,
** range, default and description, so validation, the semlite_limits rows and the
** documentation cannot drift apart.
*/
#include "limits.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../base/pool.h"
#include "cache_l1.h"
#include "../vector/ann_cache.h"
#include "../vector/chunk_cache.h"

typedef struct limit_def {
  const char *name, *description;
  long long min, max, dflt;       /* dflt 0 for threads: every core */
} limit_def;

static const limit_def defs[SL_LIMIT_COUNT] = {
  [SL_LIMIT_THREADS] = {"threads", "threads one forward pass runs on, the caller included "
                        "(1 to 64; default: the cores)", 1, 64, 0},
  [SL_LIMIT_MAX_BATCH] = {"max_batch", "sequences in one forward pass of embed_each, rerank_each "
                          "and semlite_vec inserts (1 to 512; default 512)", 1, SL_BATCH_MAX_SEQS,
                          SL_BATCH_MAX_SEQS},
  [SL_LIMIT_MAX_TOKENS] = {"max_tokens", "tokens packed into one forward pass; a longer single "
                           "text runs alone (2 to 65536; default 1024)", 2, 65536, SL_BATCH_TOKENS},
  [SL_LIMIT_MEMORY_BUDGET_MB] = {"memory_budget_mb", "scratch memory of one forward pass in MB: "
                                 "batches are split to fit, a text that cannot fit is refused "
                                 "(1 to 1048576; default 256)", 1, 1048576, 256},
  [SL_LIMIT_L1_CACHE_MB] = {"l1_cache_mb", "size of the in-memory inference cache in MB; 0 turns "
                            "it off (0 to 1048576; default 64)", 0, 1048576, SL_L1_DEFAULT_BYTES >> 20},
  [SL_LIMIT_VEC_CACHE_MB] = {"vec_cache_mb", "memory semlite_vec may keep chunks of vectors in for "
                             "k-NN scans, in MB; 0 turns it off (0 to 1048576; default 256)", 0, 1048576,
                             SL_CHUNK_CACHE_DEFAULT >> 20},
  [SL_LIMIT_ANN_CACHE_MB] = {"ann_cache_mb", "memory semlite_vec may keep HNSW indexes (graph and int8 "
                             "codes) in, in MB, shared by every connection; 0 turns it off (0 to 1048576; "
                             "default 512)", 0, 1048576, SL_ANN_CACHE_DEFAULT >> 20},
  [SL_LIMIT_MAX_DOCUMENT_MB] = {"max_document_mb", "size of a document argument (the JSON of "
                                "semlite_ha_import, embed_each, rerank_each and model options) in MB "
                                "(1 to 4096; default 64)", 1, 4096, 64},
  [SL_LIMIT_SYNERGY_MAX_NODES] = {"synergy_max_nodes", "entities and devices a synergy run takes: "
                                  "its candidate links grow with their square (1 to 1000000; "
                                  "default 50000)", 1, 1000000, 50000},
  [SL_LIMIT_REPLICATED_MAX_ROWS] = {"replicated_max_rows", "rows one statement may embed on insert into a "
                                    "semlite_vec table of a replicated database (dqlite), so that it ends within "
                                    "the election timeout; 0: no limit (0 to 1000000; default 64)", 0, 1000000, 64},
};

/* The value set plus one; 0 (every limit at start, whatever their number): not set, the
** default applies. */
static atomic_llong values[SL_LIMIT_COUNT];

const char *sl_limit_name(sl_limit id) { return defs[id].name; }
const char *sl_limit_description(sl_limit id) { return defs[id].description; }

long long sl_limit_get(sl_limit id) {
  long long v = atomic_load_explicit(&values[id], memory_order_relaxed);
  if (v > 0) return v - 1;
  if (id == SL_LIMIT_THREADS) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores < 1 ? 1 : cores > defs[id].max ? defs[id].max : cores;
  }
  return defs[id].dflt;
}

int sl_limit_set(sl_limit id, long long value, sl_err *err) {
  const limit_def *d = &defs[id];
  if (value < d->min || value > d->max)
    return sl_fail(err, "%s must be between %lld and %lld, got %lld", d->name, d->min, d->max, value);
  atomic_store(&values[id], value + 1);
  if (id == SL_LIMIT_THREADS) sl_pool_set_threads((int)value);
  if (id == SL_LIMIT_L1_CACHE_MB) sl_l1_set_capacity((size_t)value << 20);
  if (id == SL_LIMIT_VEC_CACHE_MB) sl_chunk_cache_set_limit((size_t)value << 20);
  if (id == SL_LIMIT_ANN_CACHE_MB) sl_ann_cache_set_limit((size_t)value << 20);
  return SL_OK;
}

int sl_limit_find(const char *name, sl_limit *out, sl_err *err) {
  for (int i = 0; i < SL_LIMIT_COUNT; i++) {
    if (strcmp(defs[i].name, name) == 0) {
      *out = (sl_limit)i;
      return SL_OK;
    }
  }
  {
    char names[256];
    sl_limit_list(names, sizeof names, ", ");
    return sl_fail(err, "no limit named '%s' (known: %s)", name, names);
  }
}

void sl_limit_list(char *out, size_t cap, const char *last) {
  size_t used = 0;
  out[0] = 0;
  for (int i = 0; i < SL_LIMIT_COUNT && used < cap; i++)
    used += (size_t)snprintf(out + used, cap - used, "%s%s",
                             i == 0 ? "" : i == SL_LIMIT_COUNT - 1 ? last : ", ", defs[i].name);
}

int sl_limit_document(size_t bytes, sl_err *err) {
  long long mb = sl_limit_get(SL_LIMIT_MAX_DOCUMENT_MB);
  if (bytes <= (size_t)mb << 20) return SL_OK;
  return sl_fail(err, "the document is %zu bytes, over the max_document_mb limit of %lld MB", bytes, mb);
}

void sl_limits_pass(sl_pass_limits *out) {
  out->max_seqs = (size_t)sl_limit_get(SL_LIMIT_MAX_BATCH);
  out->max_tokens = (size_t)sl_limit_get(SL_LIMIT_MAX_TOKENS);
  out->max_bytes = (size_t)sl_limit_get(SL_LIMIT_MEMORY_BUDGET_MB) << 20;
}
