/*
** chunk_cache.h: the process-wide cache of semlite_vec chunks in memory, so a k-NN scan
** reads vectors where they lie instead of copying ~40-150 MB per query out of SQLite.
**
** Entries are keyed by a 128-bit address that includes the chunk's version: a random
** 64-bit value that every write to a chunk replaces (ext/sql/vec/store.c), stored in the
** chunk's row. A version names one content of one chunk for good, so an entry never
** needs invalidating: a connection that sees another version (a later commit, another
** process, a rollback) simply looks up another key; old entries age out by LRU. The
** writer's own connection bypasses the cache for chunks it changed in the open
** transaction, whose content may still move under one version (ext/sql/vec/vec.h).
**
** Memory is bounded (sl_chunk_cache_set_limit, default SL_CHUNK_CACHE_DEFAULT). A scan
** larger than the bound never evicts what it cached itself: its first chunks stay, the
** rest are read from SQLite each time, instead of every chunk being evicted before its
** next use (LRU's worst case on a repeated scan).
*/
#ifndef SEMLITE_CHUNK_CACHE_H
#define SEMLITE_CHUNK_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define SL_CHUNK_CACHE_DEFAULT ((size_t)256 << 20)

typedef struct sl_chunk_key {
  uint64_t lo, hi;
} sl_chunk_key;

/* One cached chunk: bytes of data, immutable once published. Readers hold a pin. */
typedef struct sl_cached_chunk sl_cached_chunk;

/* The address of (names..., chunk id, version): names are NUL-terminated strings that
** identify the table and what is cached (database file, schema, table, column). */
sl_chunk_key sl_chunk_key_make(const char *const *names, int n_names, int64_t chunk_id,
                               const void *version, size_t version_bytes);

/* A new scan's id: entries a scan added are never evicted for that same scan. */
uint64_t sl_chunk_cache_scan(void);

/* The pinned entry for key, or NULL; it now belongs to `scan` as well. */
sl_cached_chunk *sl_chunk_cache_get(sl_chunk_key key, uint64_t scan);

/* A pinned entry of `bytes` bytes for the caller to fill and then publish, or NULL when
** it does not fit without evicting entries of this scan (or memory is short). */
sl_cached_chunk *sl_chunk_cache_reserve(sl_chunk_key key, size_t bytes, uint64_t scan);
unsigned char *sl_chunk_data(sl_cached_chunk *c);

/* Makes a filled entry visible to sl_chunk_cache_get; drop a failed fill with
** sl_chunk_cache_release alone (it is then freed). */
void sl_chunk_cache_publish(sl_cached_chunk *c);
void sl_chunk_cache_release(sl_cached_chunk *c);

/* Sets the bound in bytes (0 turns the cache off and empties it). */
void sl_chunk_cache_set_limit(size_t bytes);
/* What is held now. */
size_t sl_chunk_cache_bytes(void);

#endif
