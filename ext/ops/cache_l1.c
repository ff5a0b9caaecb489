/*
** cache_l1.c: the process-wide L1 of the inference cache (see cache_l1.h).
**
** A chained hash table over the address (already uniformly distributed: its first 8
** bytes are the hash) and one doubly linked list in recency order. Every entry is one
** allocation, header and value together; it counts its full size against the
** capacity, so the bound is on memory, not on entries.
*/
#include "../base/alloc.h"
#include "cache_l1.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
  sl_cache_key key;
  struct entry *chain;            /* next in the bucket */
  struct entry *newer, *older;    /* recency list */
  double expires;                 /* < 0: never */
  double reported;                /* when the L2 last heard of a use */
  size_t len;
  unsigned char value[];
} entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry **buckets;
static size_t n_buckets;          /* a power of two, or 0 before the first put */
static size_t n_entries, used;
static size_t capacity = SL_L1_DEFAULT_BYTES;
static entry *newest, *oldest;

static size_t cost(size_t len) { return sizeof(entry) + len; }

static size_t bucket_of(const sl_cache_key *key) {
  uint64_t h;
  memcpy(&h, key->b, sizeof h);
  return (size_t)h & (n_buckets - 1);
}

static entry **find_slot(const sl_cache_key *key) {
  entry **p = &buckets[bucket_of(key)];
  while (*p && memcmp((*p)->key.b, key->b, sizeof key->b) != 0) p = &(*p)->chain;
  return p;
}

static void unlink_recency(entry *e) {
  if (e->newer) e->newer->older = e->older; else newest = e->older;
  if (e->older) e->older->newer = e->newer; else oldest = e->newer;
  e->newer = e->older = NULL;
}

static void push_newest(entry *e) {
  e->older = newest;
  e->newer = NULL;
  if (newest) newest->newer = e; else oldest = e;
  newest = e;
}

static void drop(entry **slot) {
  entry *e = *slot;
  *slot = e->chain;
  unlink_recency(e);
  used -= cost(e->len);
  n_entries--;
  sl_free(e);
}

static void evict_to(size_t limit) {
  while (oldest && used > limit) drop(find_slot(&oldest->key));
}

/* Doubles the table when it holds more entries than buckets. Failing to grow only
** lengthens the chains. */
static void maybe_grow(void) {
  size_t n = n_buckets ? n_buckets * 2 : 1024;
  entry **b;
  if (n_buckets && n_entries < n_buckets) return;
  if (!(b = sl_calloc(n, sizeof *b))) return;
  for (size_t i = 0; i < n_buckets; i++) {
    for (entry *e = buckets[i], *next; e; e = next) {
      uint64_t h;
      next = e->chain;
      memcpy(&h, e->key.b, sizeof h);
      e->chain = b[(size_t)h & (n - 1)];
      b[(size_t)h & (n - 1)] = e;
    }
  }
  sl_free(buckets);
  buckets = b;
  n_buckets = n;
}

size_t sl_l1_set_capacity(size_t bytes) {
  size_t old;
  pthread_mutex_lock(&lock);
  old = capacity;
  capacity = bytes;
  evict_to(bytes);
  pthread_mutex_unlock(&lock);
  return old;
}

int sl_l1_get(const sl_cache_key *key, double now, void *out, size_t len, double touch_every) {
  int hit = 0;
  pthread_mutex_lock(&lock);
  if (n_buckets) {
    entry **slot = find_slot(key), *e = *slot;
    if (e && e->expires >= 0 && e->expires <= now) {
      drop(slot);
    } else if (e && e->len == len) {
      memcpy(out, e->value, len);
      unlink_recency(e);
      push_newest(e);
      hit = 1;
      if (now - e->reported >= touch_every) {
        e->reported = now;
        hit = 2;
      }
    }
  }
  pthread_mutex_unlock(&lock);
  return hit;
}

void sl_l1_put(const sl_cache_key *key, const void *value, size_t len, double now,
               double expires) {
  entry *e, **slot;
  pthread_mutex_lock(&lock);
  if (cost(len) > capacity) goto done;
  maybe_grow();
  if (!n_buckets) goto done;
  slot = find_slot(key);
  if (*slot) drop(slot);
  evict_to(capacity - cost(len));
  if (!(e = sl_malloc(cost(len)))) goto done;
  e->key = *key;
  e->expires = expires;
  e->reported = now;
  e->len = len;
  memcpy(e->value, value, len);
  slot = find_slot(key);   /* eviction may have emptied the slot found above */
  e->chain = *slot;
  *slot = e;
  push_newest(e);
  used += cost(len);
  n_entries++;
done:
  pthread_mutex_unlock(&lock);
}

void sl_l1_usage(size_t *entries, size_t *bytes) {
  pthread_mutex_lock(&lock);
  *entries = n_entries;
  *bytes = used;
  pthread_mutex_unlock(&lock);
}
