/*
** cache.h: the one inference-cache protocol (docs/cache.md). Every request that can be
** cached (embed, rerank, embed_each, rerank_each, embed-on-insert, synergy's descriptors
** and hops) goes through it, in ext/ops/infer.c:
**
**   address = XXH3-128(model identity, op, every input)
**   L1 (process-wide, ext/ops/cache_l1.h) -> L2 (a store behind sl_l2) -> compute
**   -> store in the L2 and the L1
**
** The L2 is reached through the sl_l2 interface, so ops knows no SQLite: the SQL layer
** implements it over the semlite_cache table (ext/sql/sql_cache.c), synergy over its own
** step tables. Rules every L2 and every caller follow:
** - A cache problem is a miss or an unstored value, never an error, except one: a
**   store that reports its database's transaction was ended under the caller (an I/O
**   error, a full disk, a ROLLBACK trigger) returns SL_ERROR, and the request fails with
**   that error instead of returning a result (docs/security.md).
** - The L1 holds only values this process computed. A value read from an L2 (a database
**   file, which may have been edited) serves the request that read it and is never
**   copied into the L1, so no file can change what another database's connections get.
** - Use an sl_l2 only from the thread running its connection's statement.
*/
#ifndef SEMLITE_OPS_CACHE_H
#define SEMLITE_OPS_CACHE_H

#include <stddef.h>

#include "../base/status.h"
#include "cache_l1.h"

/* Per-op counts of one L2's requests, for semlite_cache_stats. */
#define SL_CACHE_MAX_OPS 16
#define SL_CACHE_OP_MAX 32

typedef struct sl_cache_count {
  char op[SL_CACHE_OP_MAX];
  long long hits, l1_hits, misses, write_failures;
} sl_cache_count;

typedef struct sl_cache_tally {
  sl_cache_count ops[SL_CACHE_MAX_OPS];
  int n;
} sl_cache_tally;

/* The counts of op (created on first use; past SL_CACHE_MAX_OPS names the last slot
** counts for the rest). */
sl_cache_count *sl_cache_count_of(sl_cache_tally *t, const char *op);

/* An L2 store. Each method returns SL_OK, or SL_ERROR only when the caller's transaction
** was ended (err says how); every other failure is a miss or an unstored value, counted
** by the store in tally->write_failures where it lost a write. */
typedef struct sl_l2 sl_l2;
struct sl_l2 {
  /* *hit = 1 and exactly len bytes in out on a live entry; *expires: unix seconds or
  ** negative for never. */
  int (*get)(sl_l2 *l2, const char *op, const sl_cache_key *key, void *out, size_t len,
             int *hit, double *expires, sl_err *err);
  /* Stores a computed value; *expires receives its expiry (negative: never). */
  int (*put)(sl_l2 *l2, const char *op, const sl_cache_key *key, const void *value,
             size_t len, double *expires, sl_err *err);
  /* Records a use served by the L1 (hits + 1, last use) for the store's eviction. */
  int (*touch)(sl_l2 *l2, const sl_cache_key *key, sl_err *err);
  /* The store's clock, unix seconds (injectable for tests). */
  double (*now)(sl_l2 *l2);
  sl_cache_tally *tally;
  void *ctx;                    /* the store's own state, for its methods */
};

/* One input of a request, as bytes. */
typedef struct sl_cache_part {
  const void *data;
  size_t len;
} sl_cache_part;

/* The content address of op over a model identity and n parts. Each part is hashed with
** its length, so no two different lists of parts collide by concatenation. */
void sl_cache_address(const unsigned char identity[16], const char *op, size_t n,
                      const sl_cache_part *parts, sl_cache_key *key);

/* L1, then l2: *hit = 1 and the value in out. */
int sl_cache_lookup(sl_l2 *l2, const char *op, const sl_cache_key *key, void *out,
                    size_t len, int *hit, sl_err *err);

/* Stores a value this process computed: the l2, then the L1. */
int sl_cache_store(sl_l2 *l2, const char *op, const sl_cache_key *key, const void *value,
                   size_t len, sl_err *err);

#endif
