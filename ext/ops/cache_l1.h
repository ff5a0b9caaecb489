/*
** cache_l1.h: the inference cache's process-wide L1 (docs/cache.md): a bounded-bytes LRU
** map from a 128-bit content address to the bytes of a result, in front of the
** semlite_cache table (the L2, and the truth). A hot hit costs a hash lookup and a copy
** instead of a SQL statement.
**
** Values are results of pure functions of their address, so one L1 serves every
** connection and database of the process: whoever stored a value under an address
** stored the same bytes. It knows nothing of SQLite. Thread-safe (one mutex; the
** critical sections are a lookup and a memcpy).
*/
#ifndef SEMLITE_CACHE_L1_H
#define SEMLITE_CACHE_L1_H

#include <stddef.h>

/* A content address: XXH3-128 in canonical (big-endian) byte order. */
typedef struct sl_cache_key {
  unsigned char b[16];
} sl_cache_key;

/* Default capacity: about 40,000 MiniLM embeddings. */
#define SL_L1_DEFAULT_BYTES ((size_t)64 << 20)

/* Sets the capacity in bytes (entries and their bookkeeping), evicting least recently
** used entries to fit; 0 empties the L1 and turns it off. Returns the previous one. */
size_t sl_l1_set_capacity(size_t bytes);

/* Copies the value stored under key into out when there is one of exactly len bytes
** that has not expired at now (unix seconds): returns 1, or 2 when the entry was last
** reported to the L2 (stored, or returned by 2) touch_every seconds ago or more, in which
** case the caller should record the use in the L2 (exactly one caller gets the 2).
** Otherwise 0. A hit makes the entry the most recently used; an expired entry is
** dropped. */
int sl_l1_get(const sl_cache_key *key, double now, void *out, size_t len, double touch_every);

/* Stores a copy of value under key, replacing any previous one, as the most recently
** used entry, reported to the L2 at now. expires is unix seconds, or a negative number
** for never. A value that cannot fit the capacity, or that cannot be allocated, is
** simply not kept. */
void sl_l1_put(const sl_cache_key *key, const void *value, size_t len, double now,
               double expires);

/* Entries and bytes held (bytes as counted against the capacity). */
void sl_l1_usage(size_t *entries, size_t *bytes);

#endif
