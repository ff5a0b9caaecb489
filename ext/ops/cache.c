/*
** cache.c: the inference-cache protocol (see cache.h): content addresses, lookups
** through the L1 and an L2, stores, and the per-op counts.
*/
#include "cache.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

/* An entry served from the L1 is reported to its L2 row at most this often, so that
** the L2's LRU and LFU see entries that stay hot in memory without a write per hit. */
#define SL_CACHE_TOUCH_SECONDS 60

sl_cache_count *sl_cache_count_of(sl_cache_tally *t, const char *op) {
  for (int i = 0; i < t->n; i++)
    if (strcmp(t->ops[i].op, op) == 0) return &t->ops[i];
  if (t->n == SL_CACHE_MAX_OPS) return &t->ops[SL_CACHE_MAX_OPS - 1];
  memset(&t->ops[t->n], 0, sizeof t->ops[0]);
  snprintf(t->ops[t->n].op, SL_CACHE_OP_MAX, "%s", op);
  return &t->ops[t->n++];
}

void sl_cache_address(const unsigned char identity[16], const char *op, size_t n,
                      const sl_cache_part *parts, sl_cache_key *key) {
  static const char domain[] = "semlite-cache-1";
  XXH3_state_t st;
  XXH128_canonical_t out;
  XXH3_128bits_reset(&st);
  XXH3_128bits_update(&st, domain, sizeof domain);
  XXH3_128bits_update(&st, identity, 16);
  XXH3_128bits_update(&st, op, strlen(op) + 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char len[8];
    for (int b = 0; b < 8; b++) len[b] = (unsigned char)((uint64_t)parts[i].len >> (8 * b));
    XXH3_128bits_update(&st, len, sizeof len);
    XXH3_128bits_update(&st, parts[i].data, parts[i].len);
  }
  XXH128_canonicalFromHash(&out, XXH3_128bits_digest(&st));
  memcpy(key->b, out.digest, sizeof key->b);
}

int sl_cache_lookup(sl_l2 *l2, const char *op, const sl_cache_key *key, void *out,
                    size_t len, int *hit, sl_err *err) {
  sl_cache_count *c = sl_cache_count_of(l2->tally, op);
  double expires;
  int rc = SL_OK;

  *hit = 0;
  switch (sl_l1_get(key, l2->now(l2), out, len, SL_CACHE_TOUCH_SECONDS)) {
    case 0: break;
    case 2: rc = l2->touch(l2, key, err); /* fall through */
    default:
      if (rc) return rc;
      c->hits++;
      c->l1_hits++;
      sl_metrics_cache(sl_metrics_op_named(op), 1);
      *hit = 1;
      return SL_OK;
  }
  /* An L2 value serves this request only: it is not copied into the L1 (cache.h). */
  if (l2->get(l2, op, key, out, len, hit, &expires, err)) return SL_ERROR;
  sl_metrics_cache(sl_metrics_op_named(op), *hit);
  if (*hit) c->hits++;
  else c->misses++;
  return SL_OK;
}

int sl_cache_store(sl_l2 *l2, const char *op, const sl_cache_key *key, const void *value,
                   size_t len, sl_err *err) {
  double expires = -1;
  if (l2->put(l2, op, key, value, len, &expires, err)) return SL_ERROR;
  sl_l1_put(key, value, len, l2->now(l2), expires);
  return SL_OK;
}
