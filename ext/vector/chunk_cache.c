/*
** chunk_cache.c: the process-wide chunk cache of chunk_cache.h: a hash table of entries
** by key and an LRU list, under one mutex that is held only to look up, link and unlink
** (never while data is copied or scanned: readers hold pins).
**
** An entry is RESERVED (being filled by one caller, counted in the bound, invisible),
** LIVE (in the table and the list) or GONE (evicted or a duplicate; freed by the last
** release).
*/
#include "../base/alloc.h"
#include "chunk_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

enum { RESERVED, LIVE, GONE };

struct sl_cached_chunk {
  sl_chunk_key key;
  size_t bytes;
  uint64_t scan;                        /* the last scan that used it */
  int pins, state;
  sl_cached_chunk *newer, *older;       /* LRU list, LIVE only */
  sl_cached_chunk *chain;               /* hash bucket, LIVE only */
  unsigned char data[];
};

static struct {
  pthread_mutex_t mu;
  sl_cached_chunk **buckets;
  size_t n_buckets, n_live;
  sl_cached_chunk *newest, *oldest;
  size_t held, limit;                   /* bytes of RESERVED and LIVE entries */
  uint64_t scans;
} cache = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, NULL, NULL, 0, SL_CHUNK_CACHE_DEFAULT, 0};

sl_chunk_key sl_chunk_key_make(const char *const *names, int n_names, int64_t chunk_id,
                               const void *version, size_t version_bytes) {
  XXH3_state_t st;
  XXH128_hash_t h;
  sl_chunk_key key;
  XXH3_128bits_reset(&st);
  /* each name with its NUL, so ("ab","c") and ("a","bc") differ */
  for (int i = 0; i < n_names; i++) XXH3_128bits_update(&st, names[i], strlen(names[i]) + 1);
  XXH3_128bits_update(&st, &chunk_id, sizeof chunk_id);
  XXH3_128bits_update(&st, version, version_bytes);
  h = XXH3_128bits_digest(&st);
  key.lo = h.low64;
  key.hi = h.high64;
  return key;
}

static sl_cached_chunk **bucket(sl_chunk_key key) {
  return &cache.buckets[key.lo & (cache.n_buckets - 1)];
}

static sl_cached_chunk *find(sl_chunk_key key) {
  if (!cache.n_buckets) return NULL;
  for (sl_cached_chunk *c = *bucket(key); c; c = c->chain)
    if (c->key.lo == key.lo && c->key.hi == key.hi) return c;
  return NULL;
}

static void lru_unlink(sl_cached_chunk *c) {
  if (c->newer) c->newer->older = c->older;
  else cache.newest = c->older;
  if (c->older) c->older->newer = c->newer;
  else cache.oldest = c->newer;
  c->newer = c->older = NULL;
}

static void lru_push_newest(sl_cached_chunk *c) {
  c->older = cache.newest;
  c->newer = NULL;
  if (cache.newest) cache.newest->newer = c;
  cache.newest = c;
  if (!cache.oldest) cache.oldest = c;
}

/* Doubles the bucket array when the table is full; keeps the old one if memory is short
** (longer chains, still correct). */
static void maybe_grow(void) {
  size_t n = cache.n_buckets ? cache.n_buckets * 2 : 64;
  sl_cached_chunk **b;
  if (cache.n_live < cache.n_buckets) return;
  if (!(b = sl_calloc(n, sizeof *b))) return;
  for (size_t i = 0; i < cache.n_buckets; i++)
    for (sl_cached_chunk *c = cache.buckets[i], *next; c; c = next) {
      next = c->chain;
      c->chain = b[c->key.lo & (n - 1)];
      b[c->key.lo & (n - 1)] = c;
    }
  sl_free(cache.buckets);
  cache.buckets = b;
  cache.n_buckets = n;
}

/* LIVE -> GONE: out of the table and the list, out of the bound; freed now if unpinned. */
static void evict(sl_cached_chunk *c) {
  sl_cached_chunk **p = bucket(c->key);
  while (*p != c) p = &(*p)->chain;
  *p = c->chain;
  lru_unlink(c);
  cache.n_live--;
  cache.held -= c->bytes;
  c->state = GONE;
  if (c->pins == 0) sl_free(c);
}

uint64_t sl_chunk_cache_scan(void) {
  pthread_mutex_lock(&cache.mu);
  uint64_t id = ++cache.scans;
  pthread_mutex_unlock(&cache.mu);
  return id;
}

sl_cached_chunk *sl_chunk_cache_get(sl_chunk_key key, uint64_t scan) {
  pthread_mutex_lock(&cache.mu);
  sl_cached_chunk *c = find(key);
  if (c) {
    c->pins++;
    c->scan = scan;
    lru_unlink(c);
    lru_push_newest(c);
  }
  pthread_mutex_unlock(&cache.mu);
  return c;
}

sl_cached_chunk *sl_chunk_cache_reserve(sl_chunk_key key, size_t bytes, uint64_t scan) {
  sl_cached_chunk *c = NULL;
  pthread_mutex_lock(&cache.mu);
  if (bytes > cache.limit) goto done;
  while (cache.held + bytes > cache.limit) {
    if (!cache.oldest || cache.oldest->scan == scan) goto done;
    evict(cache.oldest);
  }
  if (!(c = sl_malloc(sizeof *c + bytes))) goto done;
  memset(c, 0, sizeof *c);
  c->key = key;
  c->bytes = bytes;
  c->scan = scan;
  c->pins = 1;
  c->state = RESERVED;
  cache.held += bytes;
done:
  pthread_mutex_unlock(&cache.mu);
  return c;
}

unsigned char *sl_chunk_data(sl_cached_chunk *c) { return c->data; }

void sl_chunk_cache_publish(sl_cached_chunk *c) {
  pthread_mutex_lock(&cache.mu);
  if (find(c->key)) {          /* another caller filled the same chunk first */
    cache.held -= c->bytes;
    c->state = GONE;
  } else {
    maybe_grow();
    c->chain = *bucket(c->key);
    *bucket(c->key) = c;
    lru_push_newest(c);
    cache.n_live++;
    c->state = LIVE;
  }
  pthread_mutex_unlock(&cache.mu);
}

void sl_chunk_cache_release(sl_cached_chunk *c) {
  if (!c) return;
  pthread_mutex_lock(&cache.mu);
  if (--c->pins == 0 && c->state != LIVE) {
    if (c->state == RESERVED) cache.held -= c->bytes;
    sl_free(c);
  }
  pthread_mutex_unlock(&cache.mu);
}

void sl_chunk_cache_set_limit(size_t bytes) {
  pthread_mutex_lock(&cache.mu);
  cache.limit = bytes;
  while (cache.held > cache.limit && cache.oldest) evict(cache.oldest);
  pthread_mutex_unlock(&cache.mu);
}

size_t sl_chunk_cache_bytes(void) {
  pthread_mutex_lock(&cache.mu);
  size_t n = cache.held;
  pthread_mutex_unlock(&cache.mu);
  return n;
}
