/*
** ann_cache.c: the process-wide ANN index cache of ann_cache.h: a short list of entries
** (one per table whose index is hot), most recently used first, under one mutex held
** only to look up, link and unlink. An entry replaced or evicted while pinned is
** unlinked at once and freed by its last release.
*/
#include "../base/alloc.h"
#include "ann_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
  char *name;
  unsigned char version[SL_ANN_VERSION_BYTES];
  void *obj;
  size_t bytes, items;
  sl_ann_free_fn free_fn;
  int pins, linked;
  struct entry *next;        /* the list while linked; the orphans while not */
} entry;

static struct {
  pthread_mutex_t mu;
  entry *head;               /* linked entries, most recently used first */
  entry *orphans;            /* unlinked but pinned */
  size_t held, limit;
} cache = {PTHREAD_MUTEX_INITIALIZER, NULL, NULL, 0, SL_ANN_CACHE_DEFAULT};

static void entry_free(entry *e) {
  e->free_fn(e->obj);
  sl_free(e->name);
  sl_free(e);
}

/* Unlinks e from the list (prev: its predecessor or NULL); frees it unless pinned. */
static void unlink_entry(entry *e, entry *prev) {
  if (prev) prev->next = e->next;
  else cache.head = e->next;
  e->linked = 0;
  cache.held -= e->bytes;
  if (e->pins) {
    e->next = cache.orphans;
    cache.orphans = e;
  } else {
    entry_free(e);
  }
}

static entry *find(const char *name, entry **prev) {
  entry *p = NULL;
  for (entry *e = cache.head; e; p = e, e = e->next)
    if (strcmp(e->name, name) == 0) {
      if (prev) *prev = p;
      return e;
    }
  return NULL;
}

void *sl_ann_cache_get(const char *name, const unsigned char version[SL_ANN_VERSION_BYTES]) {
  entry *prev = NULL, *e;
  void *obj = NULL;
  pthread_mutex_lock(&cache.mu);
  e = find(name, &prev);
  if (e && memcmp(e->version, version, SL_ANN_VERSION_BYTES) == 0) {
    e->pins++;
    obj = e->obj;
    if (prev) {  /* to the front */
      prev->next = e->next;
      e->next = cache.head;
      cache.head = e;
    }
  }
  pthread_mutex_unlock(&cache.mu);
  return obj;
}

void sl_ann_cache_release(void *obj) {
  if (!obj) return;
  pthread_mutex_lock(&cache.mu);
  for (entry *e = cache.head; e; e = e->next)
    if (e->obj == obj) {
      e->pins--;
      pthread_mutex_unlock(&cache.mu);
      return;
    }
  for (entry *e = cache.orphans, *p = NULL; e; p = e, e = e->next)
    if (e->obj == obj) {
      if (--e->pins == 0) {
        if (p) p->next = e->next;
        else cache.orphans = e->next;
        entry_free(e);
      }
      break;
    }
  pthread_mutex_unlock(&cache.mu);
}

void *sl_ann_cache_take(const char *name, const unsigned char version[SL_ANN_VERSION_BYTES]) {
  entry *prev = NULL, *e;
  void *obj = NULL;
  pthread_mutex_lock(&cache.mu);
  e = find(name, &prev);
  if (e && !e->pins && memcmp(e->version, version, SL_ANN_VERSION_BYTES) == 0) {
    obj = e->obj;
    if (prev) prev->next = e->next;
    else cache.head = e->next;
    cache.held -= e->bytes;
    sl_free(e->name);
    sl_free(e);
  }
  pthread_mutex_unlock(&cache.mu);
  return obj;
}

/* Drops least recently used unpinned entries until `bytes` more fit; 0 if they cannot. */
static int make_room(size_t bytes) {
  while (cache.held + bytes > cache.limit) {
    entry *victim = NULL, *vprev = NULL, *p = NULL;
    for (entry *e = cache.head; e; p = e, e = e->next)
      if (!e->pins) victim = e, vprev = p;
    if (!victim) return 0;
    unlink_entry(victim, vprev);
  }
  return 1;
}

int sl_ann_cache_put(const char *name, const unsigned char version[SL_ANN_VERSION_BYTES], void *obj,
                     size_t bytes, size_t items, sl_ann_free_fn free_fn) {
  entry *e, *old, *prev = NULL;
  int ok = 0;
  pthread_mutex_lock(&cache.mu);
  if ((old = find(name, &prev)) != NULL) unlink_entry(old, prev);
  if (bytes <= cache.limit && make_room(bytes) && (e = sl_calloc(1, sizeof *e)) != NULL) {
    if ((e->name = sl_strdup(name)) != NULL) {
      memcpy(e->version, version, SL_ANN_VERSION_BYTES);
      e->obj = obj;
      e->bytes = bytes;
      e->items = items;
      e->free_fn = free_fn;
      e->pins = 1;
      e->linked = 1;
      e->next = cache.head;
      cache.head = e;
      cache.held += bytes;
      ok = 1;
    } else {
      sl_free(e);
    }
  }
  pthread_mutex_unlock(&cache.mu);
  return ok;
}

void sl_ann_cache_forget(const char *name) {
  entry *prev = NULL, *e;
  pthread_mutex_lock(&cache.mu);
  if ((e = find(name, &prev)) != NULL) unlink_entry(e, prev);
  pthread_mutex_unlock(&cache.mu);
}

void sl_ann_cache_set_limit(size_t bytes) {
  pthread_mutex_lock(&cache.mu);
  cache.limit = bytes;
  make_room(0);
  pthread_mutex_unlock(&cache.mu);
}

size_t sl_ann_cache_bytes(void) {
  size_t n;
  pthread_mutex_lock(&cache.mu);
  n = cache.held;
  pthread_mutex_unlock(&cache.mu);
  return n;
}

void sl_ann_cache_usage(size_t *bytes, size_t *entries, size_t *items) {
  pthread_mutex_lock(&cache.mu);
  *bytes = cache.held;
  *entries = *items = 0;
  for (entry *e = cache.head; e; e = e->next) ++*entries, *items += e->items;
  pthread_mutex_unlock(&cache.mu);
}
