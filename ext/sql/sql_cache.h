/*
** sql_cache.h: the inference cache's SQL side (docs/cache.md): a connection's cache
** state and the L2 store (ext/ops/cache.h's sl_l2) over the semlite_cache table of the
** schema this connection enabled, the semlite_cache_* functions and semlite_cache_stats.
**
** A connection uses the cache only after it called semlite_cache_enable itself: a
** database whose tables say "enabled" is not trusted on its own (docs/security.md).
** Writes run nested in the caller's statement through sl_sql_nested_write, so a cache
** write never ends the caller's transaction, and a request whose transaction SQLite
** ended anyway fails instead of returning a result.
*/
#ifndef SEMLITE_SQL_CACHE_H
#define SEMLITE_SQL_CACHE_H

#include "../ops/cache.h"
#include "sql.h"

/* A connection's cache state: allocated in sqlite3_semlite_init, handed to the
** functions and modules that need it as their user data, freed by the last xDestroy. */
typedef struct sl_cache sl_cache;

sl_cache *sl_cache_new(sqlite3 *db);
/* One more registration holds c (before each sqlite3_create_*_v2 that passes it). */
void sl_cache_retain(sl_cache *c);
/* The xDestroy of those registrations: frees c with the last one. */
void sl_cache_release(void *c);

/* The store a request on this connection uses, or NULL when the cache is off. */
sl_l2 *sl_cache_l2(sl_cache *c);
/* The same, in memory only (the process-wide L1, no statement on the database): for work
** done while SQLite commits or opens a savepoint, where no nested statement may run. */
sl_l2 *sl_cache_l2_memory_only(sl_cache *c);

/* SQL functions (registered with the connection's sl_cache as user data). */
void sl_sql_cache_enable(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_cache_disable(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_cache_clear_expired(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_cache_clock(sqlite3_context *ctx, int argc, sqlite3_value **argv);

/* semlite_cache_stats (module aux: the connection's sl_cache). */
extern sqlite3_module sl_cache_stats_module;

#endif
