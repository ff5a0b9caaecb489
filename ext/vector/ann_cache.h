/*
** ann_cache.h: the process-wide cache of approximate-nearest-neighbour indexes in memory
** (a semlite_vec table's HNSW graph and codes, ext/sql/vec/index_graph.h), so a query
** does not rebuild the graph out of SQLite. Entries are opaque objects with a size and
** a destructor, keyed by a name (database file, schema, table) and the index's version:
** 8 random bytes the writer replaces in the same transaction as every change
** (ext/sql/vec/index_hnsw.c). A connection that reads another version (a later commit,
** another process) looks up another key; an entry published under a name replaces the
** one held under it. Published objects are immutable: readers pin them; a writer takes
** an entry out (when nobody pins it) to change it and publishes it again at commit.
**
** Memory is bounded by the ann_cache_mb limit (sl_ann_cache_set_limit, default
** SL_ANN_CACHE_DEFAULT): the least recently used unpinned entries are dropped to make
** room; an object larger than the bound is not cached at all.
*/
#ifndef SEMLITE_ANN_CACHE_H
#define SEMLITE_ANN_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define SL_ANN_CACHE_DEFAULT ((size_t)512 << 20)
#define SL_ANN_VERSION_BYTES 8

typedef void (*sl_ann_free_fn)(void *obj);

/* The object cached under (name, version), pinned, or NULL. */
void *sl_ann_cache_get(const char *name, const unsigned char version[SL_ANN_VERSION_BYTES]);
/* Drops a pin taken by get or put. */
void sl_ann_cache_release(void *obj);
/* Takes the object cached under (name, version) out of the cache, when nobody pins it:
** it is the caller's again (to change, then put back or free). NULL otherwise. */
void *sl_ann_cache_take(const char *name, const unsigned char version[SL_ANN_VERSION_BYTES]);
/* Publishes obj (bytes big, indexing `items` vectors, freed by free_fn) under (name,
** version), replacing what the name held. 1: the cache owns it and the caller holds one
** pin; 0: it did not fit (or memory is short) and it is still the caller's. */
int sl_ann_cache_put(const char *name, const unsigned char version[SL_ANN_VERSION_BYTES], void *obj,
                     size_t bytes, size_t items, sl_ann_free_fn free_fn);
/* Drops the unpinned entry held under name, whatever its version (DROP TABLE). */
void sl_ann_cache_forget(const char *name);

/* Sets the bound in bytes (0 turns the cache off and empties it). */
void sl_ann_cache_set_limit(size_t bytes);
/* Bytes held now, and the entries and vectors they index (semlite_memory). */
size_t sl_ann_cache_bytes(void);
void sl_ann_cache_usage(size_t *bytes, size_t *entries, size_t *items);

#endif
