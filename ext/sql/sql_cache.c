/*
** sql_cache.c: the inference cache's SQL side (see sql_cache.h, docs/cache.md): a
** connection's cache state, L2 reads and writes on the semlite_cache table,
** semlite_cache_enable/disable/clear_expired/clock and the semlite_cache_stats
** table.
**
** Prepared statements are kept per connection, and a connection with statements left
** unfinalized refuses sqlite3_close(). SQLite disconnects every virtual table, eponymous
** ones included, before it checks; so the statements are prepared only while this
** connection's semlite_cache_stats is connected, and its xDisconnect finalizes them.
*/
#include "../base/alloc.h"
#include "sql_cache.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sql_scripts.h"
#include "sql_snapshot.h"

enum { OFF, ON };

struct sl_cache {
  sl_l2 l2;                     /* over the tables; ctx is this sl_cache */
  sl_l2 memory_only;            /* the same counts, no statements (sl_cache_l2_memory_only) */
  sqlite3 *db;
  int refs;
  int state;                    /* ON only after semlite_cache_enable on this connection */
  char schema[128];             /* where the tables are, when ON */
  int stats_connected;          /* semlite_cache_stats is connected: statements may live */
  sqlite3_stmt *get, *touch, *put, *ttl;
  int clock_fixed;
  double clock;                 /* the injected time, when clock_fixed */
  sl_cache_tally tally;
};

static int l2_get(sl_l2 *l2, const char *op, const sl_cache_key *key, void *out, size_t len,
                  int *hit, double *expires, sl_err *err);
static int l2_put(sl_l2 *l2, const char *op, const sl_cache_key *key, const void *value,
                  size_t len, double *expires, sl_err *err);
static int l2_touch(sl_l2 *l2, const sl_cache_key *key, sl_err *err);
static double l2_now(sl_l2 *l2);

static double now(const sl_cache *c);

/* The memory-only store: nothing is read or written in the database. */
static int none_get(sl_l2 *l2, const char *op, const sl_cache_key *key, void *out, size_t len,
                    int *hit, double *expires, sl_err *err) {
  *hit = 0;
  *expires = -1;
  return SL_OK;
}
static int none_put(sl_l2 *l2, const char *op, const sl_cache_key *key, const void *value,
                    size_t len, double *expires, sl_err *err) {
  *expires = -1;
  return SL_OK;
}
static int none_touch(sl_l2 *l2, const sl_cache_key *key, sl_err *err) { return SL_OK; }
static double none_now(sl_l2 *l2) { return now(l2->ctx); }

sl_cache *sl_cache_new(sqlite3 *db) {
  sl_cache *c = sqlite3_malloc(sizeof *c);
  if (!c) return NULL;
  memset(c, 0, sizeof *c);
  c->db = db;
  c->state = OFF;
  c->l2 = (sl_l2){l2_get, l2_put, l2_touch, l2_now, &c->tally, c};
  c->memory_only = (sl_l2){none_get, none_put, none_touch, none_now, &c->tally, c};
  return c;
}

void sl_cache_retain(sl_cache *c) { c->refs++; }

static void finalize_all(sl_cache *c) {
  sqlite3_finalize(c->get);
  sqlite3_finalize(c->touch);
  sqlite3_finalize(c->put);
  sqlite3_finalize(c->ttl);
  c->get = c->touch = c->put = c->ttl = NULL;
}

void sl_cache_release(void *p) {
  sl_cache *c = p;
  if (--c->refs > 0) return;
  finalize_all(c);
  sqlite3_free(c);
}

sl_l2 *sl_cache_l2(sl_cache *c) { return c->state == ON ? &c->l2 : NULL; }

sl_l2 *sl_cache_l2_memory_only(sl_cache *c) { return c->state == ON ? &c->memory_only : NULL; }

static double now(const sl_cache *c) {
  struct timespec ts;
  if (c->clock_fixed) return c->clock;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double l2_now(sl_l2 *l2) { return now(l2->ctx); }

/* ---- statements ---- */

static sqlite3_stmt *prepare(sl_cache *c, const char *fmt) {
  sqlite3_stmt *st = NULL;
  char *sql = sqlite3_mprintf(fmt, c->schema, c->schema);
  if (sql) sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
  sqlite3_free(sql);
  return st;
}

/* Prepares the statements of the enabled schema. 0 when they cannot be (the tables
** were dropped, the schema detached, no memory): the cache then acts as empty and
** unwritable, and the next call tries again. */
static int ready(sl_cache *c) {
  if (c->get) return 1;
  if (!c->stats_connected) {
    /* Connects the eponymous semlite_cache_stats (see the top of the file). */
    sqlite3_stmt *probe = NULL;
    sqlite3_prepare_v2(c->db, "SELECT 1 FROM semlite_cache_stats", -1, &probe, NULL);
    sqlite3_finalize(probe);
    if (!c->stats_connected) return 0;
  }
  c->get = prepare(c,
    "SELECT value, expires_at FROM \"%w\".semlite_cache WHERE key = ?1 "
    "AND (expires_at IS NULL OR expires_at > ?2) "
    "AND (SELECT value FROM \"%w\".semlite_cache_meta WHERE name = 'enabled') = 1");
  c->touch = prepare(c, "UPDATE \"%w\".semlite_cache SET hits = hits + 1, last_used = ?2 WHERE key = ?1");
  c->put = prepare(c,
    "INSERT INTO \"%w\".semlite_cache(key, op, value, size, created_at, last_used) "
    "SELECT ?1, ?2, ?3, length(?3), ?4, ?4 "
    "WHERE (SELECT value FROM \"%w\".semlite_cache_meta WHERE name = 'enabled') = 1 "
    "ON CONFLICT(key) DO NOTHING");
  c->ttl = prepare(c, "SELECT ttl_seconds FROM \"%w\".semlite_cache_config WHERE op = ?1");
  if (!c->get || !c->touch || !c->put || !c->ttl) {
    finalize_all(c);
    return 0;
  }
  return 1;
}

/* Does `schema` hold an enabled cache? Read without the prepared statements, which
** belong to the schema already in use. */
static int schema_enabled(sqlite3 *db, const char *schema) {
  sqlite3_stmt *st = NULL;
  char *sql = sqlite3_mprintf("SELECT value FROM \"%w\".semlite_cache_meta WHERE name = 'enabled'", schema);
  int on = 0;
  if (sql && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    on = sqlite3_column_int(st, 0) == 1;
  sqlite3_finalize(st);
  sqlite3_free(sql);
  return on;
}

/* May this statement write the cache's tables? Not from a read of a replicated database
** (sl_sql_write_allowed): the cache then serves what it holds and stores nothing there. */
static int writable(sl_cache *c) {
  sl_err refused;
  return sl_sql_write_allowed(c->db, c->schema, &refused) == SL_OK;
}

/* Runs a write nested in the caller's statement; a lost write is counted, never
** reported, unless it ended the caller's transaction. */
static int write_step(sl_cache *c, const char *op, sqlite3_stmt *st, sl_err *err) {
  int written;
  if (sl_sql_nested_write(c->db, st, &written, err)) return SL_ERROR;
  if (!written && op) sl_cache_count_of(&c->tally, op)->write_failures++;
  return SL_OK;
}

/* Records a use in the L2 row (hits + 1, last_used), for the eviction policy; a
** read-only database just serves. */
static int touch(sl_cache *c, const sl_cache_key *key, double t, sl_err *err) {
  if (sqlite3_db_readonly(c->db, c->schema) == 1 || !writable(c) || !ready(c)) return SL_OK;
  sqlite3_bind_blob(c->touch, 1, key->b, sizeof key->b, SQLITE_STATIC);
  sqlite3_bind_double(c->touch, 2, t);
  return write_step(c, NULL, c->touch, err);
}

static int l2_touch(sl_l2 *l2, const sl_cache_key *key, sl_err *err) {
  sl_cache *c = l2->ctx;
  return touch(c, key, now(c), err);
}

static int l2_get(sl_l2 *l2, const char *op, const sl_cache_key *key, void *out, size_t len,
                  int *hit, double *expires, sl_err *err) {
  sl_cache *c = l2->ctx;
  int in_txn = !sqlite3_get_autocommit(c->db), row;
  double t = now(c);

  *hit = 0;
  *expires = -1;
  if (!ready(c)) return SL_OK;
  sqlite3_bind_blob(c->get, 1, key->b, sizeof key->b, SQLITE_STATIC);
  sqlite3_bind_double(c->get, 2, t);
  if (sl_sql_nested_read(c->db, c->get, in_txn, &row, err)) return SL_ERROR;
  if (row && (size_t)sqlite3_column_bytes(c->get, 0) == len) {
    const void *v = sqlite3_column_blob(c->get, 0);
    if (v) {
      memcpy(out, v, len);
      *hit = 1;
      if (sqlite3_column_type(c->get, 1) != SQLITE_NULL) *expires = sqlite3_column_double(c->get, 1);
    }
  }
  sqlite3_reset(c->get);
  sqlite3_clear_bindings(c->get);
  return *hit ? touch(c, key, t, err) : SL_OK;
}

static int l2_put(sl_l2 *l2, const char *op, const sl_cache_key *key, const void *value,
                  size_t len, double *expires, sl_err *err) {
  sl_cache *c = l2->ctx;
  int in_txn = !sqlite3_get_autocommit(c->db), row;
  double t = now(c);

  *expires = -1;
  if (!writable(c) || !ready(c)) {
    sl_cache_count_of(&c->tally, op)->write_failures++;
    return SL_OK;
  }
  sqlite3_bind_text(c->ttl, 1, op, -1, SQLITE_STATIC);
  if (sl_sql_nested_read(c->db, c->ttl, in_txn, &row, err)) return SL_ERROR;
  if (row && sqlite3_column_type(c->ttl, 0) != SQLITE_NULL) *expires = t + sqlite3_column_double(c->ttl, 0);
  sqlite3_reset(c->ttl);
  sqlite3_clear_bindings(c->ttl);

  sqlite3_bind_blob(c->put, 1, key->b, sizeof key->b, SQLITE_STATIC);
  sqlite3_bind_text(c->put, 2, op, -1, SQLITE_STATIC);
  sqlite3_bind_blob(c->put, 3, value, (int)len, SQLITE_STATIC);
  sqlite3_bind_double(c->put, 4, t);
  return write_step(c, op, c->put, err);
}

/* ---- SQL functions ---- */

/* The schema argument (default 'main'), checked to name an attached database. */
static const char *schema_arg(sqlite3_context *ctx, const char *fn, int argc, sqlite3_value **argv) {
  const char *schema = "main";
  int is_null;
  if (argc > 0) {
    schema = sl_sql_text_arg(ctx, fn, "schema", argv[0], &is_null);
    if (!schema) {
      if (is_null) sl_sql_errorf(ctx, fn, "the schema must be TEXT, got NULL");
      return NULL;
    }
  }
  if (!sqlite3_db_filename(sqlite3_context_db_handle(ctx), schema)) {
    sl_sql_errorf(ctx, fn, "no database named '%s'", schema);
    return NULL;
  }
  if (strlen(schema) >= sizeof ((sl_cache *)0)->schema) {
    sl_sql_errorf(ctx, fn, "schema name too long");
    return NULL;
  }
  return schema;
}

/* cache.sql with %SCHEMA% replaced by the quoted name; sqlite3_free it. */
static char *schema_script(const char *schema) {
  const char *script = sl_sql_script("cache.sql"), *p, *at;
  sqlite3_str *s = sqlite3_str_new(NULL);
  for (p = script; (at = strstr(p, "%SCHEMA%")) != NULL; p = at + 8) {
    sqlite3_str_append(s, p, (int)(at - p));
    sqlite3_str_appendf(s, "\"%w\"", schema);
  }
  sqlite3_str_appendall(s, p);
  return sqlite3_str_finish(s);
}

/* Atomic blocks of cache statements. Outside a transaction the block takes the write
** lock first (BEGIN IMMEDIATE), so that connections enabling at once queue on the busy
** handler instead of failing to upgrade a read; inside the user's transaction it is a
** savepoint of it; inside a write statement (INSERT INTO t SELECT semlite_cache_enable(),
** as a replicated database needs) it is that statement's transaction. Each returns SQLite's code (never judged by whether a message could
** be allocated, which out of memory prevents) and keeps the first failure's message in
** a->msg. */
typedef struct atomic {
  sqlite3 *db;
  int own;                     /* began the transaction, rather than a savepoint */
  int begun;                   /* the BEGIN or SAVEPOINT succeeded */
  int rc;
  char msg[256];
} atomic;

static int atomic_step(atomic *a, const char *sql) {
  if (a->rc == SQLITE_OK && (a->rc = sqlite3_exec(a->db, sql, NULL, NULL, NULL)) != SQLITE_OK)
    snprintf(a->msg, sizeof a->msg, "%s", sqlite3_errmsg(a->db));
  return a->rc;
}

static int begin_atomic(atomic *a, sqlite3 *db) {
  memset(a, 0, sizeof *a);
  a->db = db;
  a->own = sqlite3_get_autocommit(db);
  /* Bare inside a write statement in autocommit mode (sl_sql_block_begin's rule). */
  if (a->own && sl_sql_write_running(db)) return SQLITE_OK;
  a->begun = atomic_step(a, a->own ? "BEGIN IMMEDIATE" : "SAVEPOINT semlite_cache") == SQLITE_OK;
  return a->rc;
}

/* Commits when every step succeeded, else rolls back. */
static int end_atomic(atomic *a) {
  if (!a->begun) return a->rc;
  if (atomic_step(a, a->own ? "COMMIT" : "RELEASE semlite_cache") == SQLITE_OK) return SQLITE_OK;
  if (!a->own || !sqlite3_get_autocommit(a->db))
    sqlite3_exec(a->db, a->own ? "ROLLBACK" : "ROLLBACK TO semlite_cache; RELEASE semlite_cache", NULL, NULL, NULL);
  return a->rc;
}

/* The function's result for a failed block: SQLITE_NOMEM as such, else "fn: message"
** with SQLite's code. */
static void atomic_error(sqlite3_context *ctx, const char *fn, const atomic *a) {
  if ((a->rc & 0xff) == SQLITE_NOMEM) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sl_sql_errorf(ctx, fn, "%s", a->msg);
  sqlite3_result_error_code(ctx, a->rc);
}

static void use_schema(sl_cache *c, const char *schema, int state) {
  finalize_all(c);
  if (schema != c->schema) snprintf(c->schema, sizeof c->schema, "%s", schema);
  c->state = state;
}

void sl_sql_cache_enable(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char fn[] = "semlite_cache_enable";
  sl_cache *c = sqlite3_user_data(ctx);
  const char *schema = schema_arg(ctx, fn, argc, argv);
  char *sql;
  atomic a;
  sl_err refused;

  if (!schema) return;
  if (sqlite3_db_readonly(c->db, schema) == 1) {
    /* A read-only copy of a cache can still serve its entries. */
    if (!schema_enabled(c->db, schema)) {
      sl_sql_errorf(ctx, fn, "database '%s' is read-only and holds no enabled cache", schema);
      return;
    }
  } else if (sl_sql_write_allowed(c->db, schema, &refused)) {
    /* So can a replicated one read by a read statement; creating one there is a write. */
    if (!schema_enabled(c->db, schema)) {
      sl_sql_errorf(ctx, fn, "%s; or enable the cache in a local database: ATTACH one and "
                    "call semlite_cache_enable('<its name>')", refused.msg);
      return;
    }
  } else {
    if (!(sql = schema_script(schema))) {
      sqlite3_result_error_nomem(ctx);
      return;
    }
    char *full = sqlite3_mprintf("%s\nUPDATE \"%w\".semlite_cache_meta SET value = 1 WHERE name = 'enabled';",
                                 sql, schema);
    sqlite3_free(sql);
    if (!full) {
      sqlite3_result_error_nomem(ctx);
      return;
    }
    begin_atomic(&a, c->db);
    atomic_step(&a, full);
    sqlite3_free(full);
    if (end_atomic(&a) != SQLITE_OK) {
      atomic_error(ctx, fn, &a);
      return;
    }
  }
  use_schema(c, schema, ON);
  sqlite3_result_int(ctx, 1);
}

void sl_sql_cache_disable(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char fn[] = "semlite_cache_disable";
  sl_cache *c = sqlite3_user_data(ctx);
  const char *schema;
  sl_err refused;

  if (argc == 0 && c->state == ON) {
    schema = c->schema;
  } else if (!(schema = schema_arg(ctx, fn, argc, argv))) {
    return;
  }
  /* Recorded in the database for every connection, where it can be written; a
  ** read-only database is only left alone by this one. */
  if (sqlite3_db_readonly(c->db, schema) != 1 && schema_enabled(c->db, schema)) {
    if (sl_sql_write_allowed(c->db, schema, &refused)) {
      sl_sql_error(ctx, fn, &refused);
      return;
    }
    char *sql = sqlite3_mprintf("UPDATE \"%w\".semlite_cache_meta SET value = 0 WHERE name = 'enabled'", schema);
    atomic a = {c->db, 0, 0, SQLITE_OK, ""};
    if (!sql) {
      sqlite3_result_error_nomem(ctx);
      return;
    }
    atomic_step(&a, sql);
    sqlite3_free(sql);
    if (a.rc != SQLITE_OK) {
      atomic_error(ctx, fn, &a);
      return;
    }
  }
  use_schema(c, schema, OFF);
  sqlite3_result_int(ctx, 1);
}

/* Expired rows removed so far, all ops (the triggers' count), into *n; a failure is the
** block's. */
static int total_expired(sl_cache *c, atomic *a, sqlite3_int64 *n) {
  sqlite3_stmt *st = NULL;
  char *sql;
  if (a->rc != SQLITE_OK) return a->rc;
  if (!(sql = sqlite3_mprintf("SELECT total(expired) FROM \"%w\".semlite_cache_counters", c->schema))) {
    snprintf(a->msg, sizeof a->msg, "out of memory");
    return a->rc = SQLITE_NOMEM;
  }
  if ((a->rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL)) == SQLITE_OK) {
    if (sqlite3_step(st) == SQLITE_ROW) *n = sqlite3_column_int64(st, 0);
    else a->rc = sqlite3_errcode(c->db);
  }
  if (a->rc != SQLITE_OK) snprintf(a->msg, sizeof a->msg, "%s", sqlite3_errmsg(c->db));
  sqlite3_finalize(st);
  sqlite3_free(sql);
  return a->rc;
}

void sl_sql_cache_clear_expired(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char fn[] = "semlite_cache_clear_expired";
  sl_cache *c = sqlite3_user_data(ctx);
  sqlite3_int64 before = 0, after = 0;
  char *sql;
  atomic a;
  sl_err refused;

  if (c->state != ON) {
    sl_sql_errorf(ctx, fn, "the cache is not enabled (call semlite_cache_enable first)");
    return;
  }
  if (sl_sql_write_allowed(c->db, c->schema, &refused)) {
    sl_sql_error(ctx, fn, &refused);
    return;
  }
  if (!(sql = sqlite3_mprintf("INSERT INTO \"%w\".semlite_cache_expire(now) VALUES (%.6f)", c->schema, now(c)))) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  /* The count is read in the same transaction as the deletes. */
  begin_atomic(&a, c->db);
  total_expired(c, &a, &before);
  atomic_step(&a, sql);
  total_expired(c, &a, &after);
  sqlite3_free(sql);
  if (end_atomic(&a) != SQLITE_OK) atomic_error(ctx, fn, &a);
  else sqlite3_result_int64(ctx, after - before);
}

void sl_sql_cache_clock(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char fn[] = "semlite_cache_clock";
  sl_cache *c = sqlite3_user_data(ctx);
  int type = sqlite3_value_type(argv[0]);
  if (type == SQLITE_NULL) {
    c->clock_fixed = 0;
  } else if (type == SQLITE_INTEGER || type == SQLITE_FLOAT) {
    c->clock_fixed = 1;
    c->clock = sqlite3_value_double(argv[0]);
  } else {
    sl_sql_errorf(ctx, fn, "the time must be unix seconds (a number) or NULL, got %s",
                  sl_sql_type_name(argv[0]));
    return;
  }
  sqlite3_result_double(ctx, now(c));
}

/* ---- semlite_cache_stats ---- */

enum { S_OP, S_ENTRIES, S_BYTES, S_HITS, S_MISSES, S_HIT_RATE, S_EVICTIONS, S_EXPIRED, S_L1_HITS,
       S_WRITE_FAILURES };

typedef struct stats_row {
  char op[SL_CACHE_OP_MAX];
  sqlite3_int64 entries, bytes, evictions, expired;
  sl_cache_count mem;
} stats_row;

typedef struct stats_rows {
  stats_row *rows;
  int n;
} stats_rows;

/* Connecting semlite_cache_stats is what lets the cache keep prepared statements (see the
** top of the file); disconnecting finalizes them. */
static void stats_connected(void *aux, int on) {
  sl_cache *c = aux;
  c->stats_connected = on;
  if (!on) finalize_all(c);
}

static stats_row *row_for(stats_rows *cur, const char *op) {
  for (int i = 0; i < cur->n; i++)
    if (strcmp(cur->rows[i].op, op) == 0) return &cur->rows[i];
  if (cur->n == 2 * SL_CACHE_MAX_OPS) return NULL;
  memset(&cur->rows[cur->n], 0, sizeof cur->rows[0]);
  snprintf(cur->rows[cur->n].op, SL_CACHE_OP_MAX, "%s", op);
  return &cur->rows[cur->n++];
}

static int by_op(const void *a, const void *b) {
  return strcmp(((const stats_row *)a)->op, ((const stats_row *)b)->op);
}

/* One row per op: the table's totals (entries, bytes, evictions, expired: every
** connection's, persistent) beside this connection's counts of hits and misses. */
static int stats_snapshot(void *aux, void **rows, size_t *n, sl_err *err) {
  stats_rows all = {0}, *cur = &all;
  sl_cache *c = aux;
  if (!(cur->rows = sl_malloc(2 * SL_CACHE_MAX_OPS * sizeof *cur->rows))) return sl_oom(err);
  if (c->state == ON) {
    sqlite3_stmt *st = NULL;
    char *sql = sqlite3_mprintf("SELECT op, entries, bytes, evictions, expired FROM \"%w\".semlite_cache_counters",
                                c->schema);
    if (sql && sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) == SQLITE_OK) {
      while (sqlite3_step(st) == SQLITE_ROW) {
        const char *op = (const char *)sqlite3_column_text(st, 0);
        stats_row *r = op ? row_for(cur, op) : NULL;
        if (!r) continue;
        r->entries = sqlite3_column_int64(st, 1);
        r->bytes = sqlite3_column_int64(st, 2);
        r->evictions = sqlite3_column_int64(st, 3);
        r->expired = sqlite3_column_int64(st, 4);
      }
    }
    sqlite3_finalize(st);
    sqlite3_free(sql);
  }
  for (int i = 0; i < c->tally.n; i++) {
    stats_row *r = row_for(cur, c->tally.ops[i].op);
    if (r) r->mem = c->tally.ops[i];
  }
  qsort(cur->rows, (size_t)cur->n, sizeof *cur->rows, by_op);
  *rows = cur->rows;
  *n = (size_t)cur->n;
  return SL_OK;
}

static void stats_column(const void *rows, size_t i, sqlite3_context *ctx, int col) {
  const stats_row *r = (const stats_row *)rows + i;
  switch (col) {
    case S_OP: sqlite3_result_text(ctx, r->op, -1, SQLITE_TRANSIENT); break;
    case S_ENTRIES: sqlite3_result_int64(ctx, r->entries); break;
    case S_BYTES: sqlite3_result_int64(ctx, r->bytes); break;
    case S_HITS: sqlite3_result_int64(ctx, r->mem.hits); break;
    case S_MISSES: sqlite3_result_int64(ctx, r->mem.misses); break;
    case S_HIT_RATE:
      if (r->mem.hits + r->mem.misses == 0) sqlite3_result_null(ctx);
      else sqlite3_result_double(ctx, (double)r->mem.hits / (double)(r->mem.hits + r->mem.misses));
      break;
    case S_EVICTIONS: sqlite3_result_int64(ctx, r->evictions); break;
    case S_EXPIRED: sqlite3_result_int64(ctx, r->expired); break;
    case S_L1_HITS: sqlite3_result_int64(ctx, r->mem.l1_hits); break;
    default: sqlite3_result_int64(ctx, r->mem.write_failures); break;
  }
}

/* Eponymous only (no xCreate): there is one per connection, nothing to create. DIRECTONLY:
** it reads the connection's own counters, not for a view or trigger to show. */
static const sl_snapshot_def stats_def = {
  "semlite_cache_stats",
  "CREATE TABLE x(op TEXT, entries INTEGER, bytes INTEGER, hits INTEGER, misses INTEGER, "
  "hit_rate REAL, evictions INTEGER, expired INTEGER, l1_hits INTEGER, write_failures INTEGER)",
  SQLITE_VTAB_DIRECTONLY, stats_snapshot, stats_column, stats_connected,
  "it counts the cache's entries and this connection's hits; to empty the cache DELETE FROM "
  "semlite_cache, to drop expired entries call semlite_cache_clear_expired(), to stop it call "
  "semlite_cache_disable()"};

SL_SNAPSHOT_MODULE(sl_cache_stats_module, stats_def, sl_snapshot_read_only);
