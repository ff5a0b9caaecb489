/*
** sql_cache.h: the inference cache as SQL-layer callers use it (docs/cache.md).
**
** A result is stored under its content address: XXH3-128 over the model's identity
** (sl_model_identity: weights, vocabulary, configuration, dtype), the operation's name
** and the call's inputs. A lookup tries the process-wide L1 (ext/ops/cache_l1.h), then
** the semlite_cache table of the schema the connection enabled (the L2). The contract,
** for every caller (embed, rerank, embed_each, rerank_each, later synergy):
**
**   if (sl_cache_on(c)) {
**     sl_cache_address(m, "op", n, parts, &key);
**     if (sl_cache_get(c, "op", &key, out, len)) -> use out (a hit, bit-identical)
**   }
**   compute out;
**   if (sl_cache_on(c)) sl_cache_put(c, "op", &key, out, len);
**
** - The parts are every input and parameter that changes the result and is not part
**   of the model's identity; each is hashed with its length, so no two different
**   lists of parts collide by concatenation.
** - Neither get nor put can fail the caller: a cache that cannot be read is a miss,
**   a write that fails (read-only database, SQLITE_BUSY, disk full) is counted in
**   semlite_cache_stats.write_failures and the caller's result stands.
** - Writes happen only on a miss (put), on an L2 hit (the row's hit count and last use)
**   and on an L1 hit whose use the row has not heard of for a minute; synchronously, as
**   nested statements in the caller's connection: inside the caller's transaction when
**   there is one, else each commits on its own.
** - Hits and misses are counted by get, per op, for semlite_cache_stats.
** - Use only from the thread running the connection's statement (SQLite's connection
**   mutex is what serializes the state).
*/
#ifndef SEMLITE_SQL_CACHE_H
#define SEMLITE_SQL_CACHE_H

#include <stddef.h>

#include "../engine/model.h"
#include "../ops/cache_l1.h"
#include "sql.h"

/* A connection's cache state: allocated in sqlite3_semlite_init, handed to the
** functions and modules that need it as their user data, freed by the last xDestroy. */
typedef struct sl_cache sl_cache;

sl_cache *sl_cache_new(sqlite3 *db);
/* One more registration holds c (before each sqlite3_create_*_v2 that passes it). */
void sl_cache_retain(sl_cache *c);
/* The xDestroy of those registrations: frees c with the last one. */
void sl_cache_release(void *c);

/* One input of a call, as bytes. */
typedef struct sl_cache_part {
  const void *data;
  size_t len;
} sl_cache_part;

/* 1 when the cache is enabled for this connection. The first call in a connection
** that never called semlite_cache_enable/disable adopts a cache left enabled in
** 'main' by an earlier connection (persistence across restarts). */
int sl_cache_on(sl_cache *c);

/* The content address of op over the model and the n parts. Computing the model's
** identity the first time hashes its weights (milliseconds, once per loaded model). */
void sl_cache_address(sl_model *m, const char *op, size_t n, const sl_cache_part *parts,
                      sl_cache_key *key);

/* 1 and the stored result (exactly len bytes) in out on a hit; 0 on a miss, including
** an entry of another length (a tampered row) or an expired one. */
int sl_cache_get(sl_cache *c, const char *op, const sl_cache_key *key, void *out, size_t len);

/* Stores len bytes after a miss (L2 when the database accepts the write, and L1). */
void sl_cache_put(sl_cache *c, const char *op, const sl_cache_key *key, const void *value,
                  size_t len);

/* SQL functions (registered with the connection's sl_cache as user data). */
void sl_sql_cache_enable(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_cache_disable(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_cache_clear_expired(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_cache_clock(sqlite3_context *ctx, int argc, sqlite3_value **argv);

/* semlite_cache_stats (module aux: the connection's sl_cache). */
extern sqlite3_module sl_cache_stats_module;

#endif
