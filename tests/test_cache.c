/*
** test_cache.c: the inference cache (docs/cache.md) through SQL on the real semlite.so:
** exact hit and miss counts, bit-identical hits, addresses that separate models, dtypes
** and inputs, LRU and LFU-with-aging eviction order and TTL under the injectable clock,
** persistence across connections, read-only databases, SQLITE_BUSY, a full disk inside
** the user's transaction, two connections at once, and a writer killed mid-write.
**
** The L1 is process-wide: tests that count L2 hits turn it off (l1_cache_mb 0 in semlite_limits)
** and every test restores the default before it ends.
*/
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../ext/ops/cache_l1.h"
#include "test.h"

#define L1_DEFAULT "64"

static char minilm_path[1024], ce_path[1024];

static void load_models(sqlite3 *db) {
  t_model_path(minilm_path, sizeof minilm_path, "minilm-l6-embed");
  t_model_path(ce_path, sizeof ce_path, "minilm-l6-rerank");
  CHECK_QUERY(db, "SELECT semlite_model_load('minilm', ?1)", minilm_path, NULL, "minilm");
  CHECK_QUERY(db, "SELECT semlite_model_load('ce', ?1)", ce_path, NULL, "ce");
}

/* A connection to a file (or ":memory:") with semlite loaded and the twins named. */
static sqlite3 *open_db(const char *path, int flags) {
  sqlite3 *db = NULL;
  char *err = NULL;
  if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
    sl_test_fail(__FILE__, __LINE__, "cannot open %s: %s", path, sqlite3_errmsg(db));
    return db;
  }
  sqlite3_enable_load_extension(db, 1);
  if (sqlite3_load_extension(db, sl_test_so_path(), NULL, &err) != SQLITE_OK)
    sl_test_fail(__FILE__, __LINE__, "cannot load %s: %s", sl_test_so_path(), err ? err : "?");
  sqlite3_free(err);
  load_models(db);
  return db;
}

static sqlite3 *open_mem(void) { return open_db(":memory:", SQLITE_OPEN_READWRITE); }

/* sqlite3_close must succeed: the cache's statements may not keep a connection open. */
static void close_db(sqlite3 *db) {
  CHECK_INT(sqlite3_close(db), SQLITE_OK);
}

/* The L1's size in MB: the l1_cache_mb limit, process-wide, so it is set from a
** connection of its own (db may be read-only, where SQLite refuses any UPDATE). */
static void l1(const char *mb) {
  char sql[128];
  sqlite3 *own = t_open();
  snprintf(sql, sizeof sql, "UPDATE semlite_limits SET value = %s WHERE name = 'l1_cache_mb'", mb);
  t_exec(own, sql);
  sqlite3_close(own);
}

static void set_clock(sqlite3 *db, int t) {
  char sql[64], want[32];
  snprintf(sql, sizeof sql, "SELECT semlite_cache_clock(%d)", t);
  snprintf(want, sizeof want, "%d.0", t);
  CHECK_QUERY(db, sql, NULL, NULL, want);
}

/* "hits,misses,l1_hits,entries,evictions,expired,write_failures" of op. */
#define STATS "SELECT hits||','||misses||','||l1_hits||','||entries||','||evictions||','||expired||','||write_failures " \
              "FROM semlite_cache_stats WHERE op = ?1"

/* A scratch folder for database files, removed with its files by rm_dir. */
static void make_dir(char *dir, size_t cap) {
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, cap, "%s/semlite_cache_XXXXXX", tmp && *tmp ? tmp : "/tmp");
  CHECK(mkdtemp(dir) != NULL);
}

static void rm_dir(const char *dir) {
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CHECK_INT(system(cmd), 0);
}

/* The L1 itself, linked into this binary (its own process-wide instance, not the .so's):
** bounded bytes, least recently used out first, expiry, exact lengths. */
static void test_l1(void) {
  sl_cache_key k[4];
  char v[4][100], out[100];
  size_t entries, bytes, one;
  for (int i = 0; i < 4; i++) {
    memset(&k[i], 0, sizeof k[i]);
    k[i].b[0] = (unsigned char)(i + 1);
    k[i].b[15] = 0xee;
    memset(v[i], 'a' + i, sizeof v[i]);
  }
  sl_l1_set_capacity(0);                         /* empties whatever was there */
  CHECK(!sl_l1_get(&k[0], 0, out, 100, 1e30));
  sl_l1_put(&k[0], v[0], 100, 0, -1);               /* capacity 0: not kept */
  sl_l1_usage(&entries, &bytes);
  CHECK_INT(entries, 0);
  sl_l1_set_capacity(1 << 20);
  sl_l1_put(&k[0], v[0], 100, 0, -1);
  sl_l1_usage(&entries, &one);
  CHECK_INT(entries, 1);
  CHECK(one > 100 && one < 200);
  /* Room for exactly three entries. */
  sl_l1_set_capacity(3 * one);
  sl_l1_put(&k[1], v[1], 100, 0, -1);
  sl_l1_put(&k[2], v[2], 100, 0, -1);
  CHECK(sl_l1_get(&k[0], 0, out, 100, 1e30) && memcmp(out, v[0], 100) == 0);   /* 0 is now the newest */
  sl_l1_put(&k[3], v[3], 100, 0, -1);                                       /* evicts 1 */
  CHECK(!sl_l1_get(&k[1], 0, out, 100, 1e30));
  CHECK(sl_l1_get(&k[2], 0, out, 100, 1e30) && memcmp(out, v[2], 100) == 0);
  CHECK(sl_l1_get(&k[3], 0, out, 100, 1e30) && memcmp(out, v[3], 100) == 0);
  /* Another length is a miss; a put replaces. */
  CHECK(!sl_l1_get(&k[0], 0, out, 99, 1e30));
  sl_l1_put(&k[0], v[1], 100, 0, -1);
  CHECK(sl_l1_get(&k[0], 0, out, 100, 1e30) && memcmp(out, v[1], 100) == 0);
  sl_l1_usage(&entries, &bytes);
  CHECK_INT(entries, 3);
  CHECK_INT(bytes, 3 * one);
  /* Expiry: served before, dropped at the time. */
  sl_l1_put(&k[1], v[1], 100, 0, 1000);
  CHECK(sl_l1_get(&k[1], 999.5, out, 100, 1e30));
  CHECK(!sl_l1_get(&k[1], 1000, out, 100, 1e30));
  sl_l1_usage(&entries, &bytes);
  CHECK_INT(entries, 2);
  /* A value larger than the capacity is not kept and evicts nothing. */
  {
    static char big[4096];
    sl_l1_put(&k[1], big, sizeof big, 0, -1);
    CHECK(!sl_l1_get(&k[1], 0, big, sizeof big, 1e30));
    sl_l1_usage(&entries, &bytes);
    CHECK_INT(entries, 2);
  }
  /* Reports to the L2: one caller per touch_every seconds gets 2. */
  sl_l1_put(&k[2], v[2], 100, 1000, -1);
  CHECK_INT(sl_l1_get(&k[2], 1030, out, 100, 60), 1);
  CHECK_INT(sl_l1_get(&k[2], 1060, out, 100, 60), 2);
  CHECK_INT(sl_l1_get(&k[2], 1061, out, 100, 60), 1);
  CHECK_INT(sl_l1_get(&k[2], 1120, out, 100, 60), 2);
  sl_l1_set_capacity(SL_L1_DEFAULT_BYTES);
}

static void test_sql_surface(void) {
  sqlite3 *db = open_mem();
  CHECK_QUERY(db, "SELECT group_concat(name, ',') FROM pragma_table_info('semlite_cache_stats')", NULL, NULL,
              "op,entries,bytes,hits,misses,hit_rate,evictions,expired,l1_hits,write_failures");
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_cache_stats", NULL, NULL, "0");
  CHECK_QUERY(db, "INSERT INTO semlite_cache_stats(op) VALUES ('embed')", NULL, NULL,
              "ERROR: semlite_cache_stats: read-only: it counts the cache's entries and this connection's hits; to "
              "empty the cache DELETE FROM semlite_cache, to drop expired entries call semlite_cache_clear_expired(), "
              "to stop it call semlite_cache_disable()");
  CHECK_QUERY(db, "SELECT semlite_cache_enable()", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name)",
              NULL, NULL, "semlite_cache,semlite_cache_config,semlite_cache_counters,semlite_cache_meta,semlite_cache_victims");
  CHECK_QUERY(db, "SELECT group_concat(op||':'||ttl_seconds||':'||policy, ',') FROM "
                  "(SELECT * FROM semlite_cache_config ORDER BY op)", NULL, NULL,
              "embed:2592000.0:lru,embed_each:2592000.0:lru,rerank:86400.0:lru,rerank_each:86400.0:lru,synergy:2592000.0:lru");
  CHECK_QUERY(db, "SELECT group_concat(op, ',') FROM semlite_cache_stats", NULL, NULL,
              "embed,embed_each,rerank,rerank_each,synergy");
  /* Enabling again keeps everything. */
  CHECK_QUERY(db, "SELECT length(embed('minilm', 'kept'))", NULL, NULL, "1536");
  CHECK_QUERY(db, "SELECT semlite_cache_enable('main')", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_cache", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT semlite_cache_enable('nope')", NULL, NULL,
              "ERROR: semlite_cache_enable: no database named 'nope'");
  CHECK_QUERY(db, "SELECT semlite_cache_enable(3)", NULL, NULL,
              "ERROR: semlite_cache_enable: the schema must be TEXT, got INTEGER");
  CHECK_QUERY(db, "SELECT semlite_cache_enable(NULL)", NULL, NULL,
              "ERROR: semlite_cache_enable: the schema must be TEXT, got NULL");
  CHECK_QUERY(db, "SELECT semlite_cache_clock('soon')", NULL, NULL,
              "ERROR: semlite_cache_clock: the time must be unix seconds (a number) or NULL, got TEXT");
  CHECK_QUERY(db, "SELECT semlite_cache_clock(NULL) > 1700000000", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT semlite_cache_disable()", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT semlite_cache_clear_expired()", NULL, NULL,
              "ERROR: semlite_cache_clear_expired: the cache is not enabled (call semlite_cache_enable first)");
  /* A typo in the policy is refused by the table itself. */
  CHECK_QUERY(db, "UPDATE semlite_cache_config SET policy = 'lifo' WHERE op = 'embed'", NULL, NULL,
              "ERROR: CHECK constraint failed: policy IN ('lru', 'lfu')");
  close_db(db);
}

static void test_hit_miss(void) {
  sqlite3 *db = open_mem();
  char *plain, *miss, *l1hit, *l2hit, *stored;
  plain = t_query(db, "SELECT hex(embed('minilm', 'turn on the porch light'))", NULL, NULL);
  t_exec(db, "DELETE FROM semlite_metrics WHERE op = 'embed'");
  CHECK_QUERY(db, "SELECT semlite_cache_enable()", NULL, NULL, "1");
  miss = t_query(db, "SELECT hex(embed('minilm', 'turn on the porch light'))", NULL, NULL);
  CHECK_QUERY(db, STATS, "embed", NULL, "0,1,0,1,0,0,0");
  l1hit = t_query(db, "SELECT hex(embed('minilm', 'turn on the porch light'))", NULL, NULL);
  CHECK_QUERY(db, STATS, "embed", NULL, "1,1,1,1,0,0,0");
  l1("0");
  l2hit = t_query(db, "SELECT hex(embed('minilm', 'turn on the porch light'))", NULL, NULL);
  CHECK_QUERY(db, STATS, "embed", NULL, "2,1,1,1,0,0,0");
  stored = t_query(db, "SELECT hex(value) FROM semlite_cache", NULL, NULL);
  /* Bit-identical to the uncached result, from every level. */
  CHECK_STR(miss, plain);
  CHECK_STR(l1hit, plain);
  CHECK_STR(l2hit, plain);
  CHECK_STR(stored, plain);
  CHECK_QUERY(db, "SELECT hits||','||size||','||length(key) FROM semlite_cache", NULL, NULL, "1,1536,16");
  /* The subtype survives a hit: vec_to_json reads it as float32. */
  CHECK_QUERY(db, "SELECT vec_length(embed('minilm', 'turn on the porch light'))", NULL, NULL, "384");
  CHECK_QUERY(db, "SELECT hit_rate FROM semlite_cache_stats WHERE op = 'embed'", NULL, NULL, "0.75");
  /* the same lookups in the process-wide metrics */
  CHECK_QUERY(db, "SELECT cache_hits||','||cache_misses||','||hit_rate FROM semlite_metrics WHERE op = 'embed'",
              NULL, NULL, "3,1,0.75");
  /* The 1-argument form is the same model, but its own call: same address. */
  CHECK_QUERY(db, "SELECT embed('turn on the porch light') = embed('minilm', 'turn on the porch light')", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_cache", NULL, NULL, "1");
  /* NULL in, NULL out, no lookup. */
  CHECK_QUERY(db, "SELECT embed('minilm', NULL)", NULL, NULL, "NULL");
  CHECK_QUERY(db, STATS, "embed", NULL, "5,1,1,1,0,0,0");
  /* rerank: the score as float32 bytes. */
  CHECK_QUERY(db, "SELECT rerank('ce', 'dim the lamp', 'the lamp dims') = rerank('ce', 'dim the lamp', 'the lamp dims')",
              NULL, NULL, "1");
  CHECK_QUERY(db, STATS, "rerank", NULL, "1,1,0,1,0,0,0");
  CHECK_QUERY(db, "SELECT size FROM semlite_cache WHERE op = 'rerank'", NULL, NULL, "4");
  l1(L1_DEFAULT);
  sqlite3_free(plain);
  sqlite3_free(miss);
  sqlite3_free(l1hit);
  sqlite3_free(l2hit);
  sqlite3_free(stored);
  close_db(db);
}

/* No model, dtype, operation or input reaches another's entry. */
static void test_addresses(void) {
  sqlite3 *db = open_mem();
  CHECK_QUERY(db, "SELECT semlite_model_load('m8', ?1, '{\"dtype\":\"int8\"}')", minilm_path, NULL, "m8");
  CHECK_QUERY(db, "SELECT semlite_model_load('mb', ?1, '{\"dtype\":\"bf16\"}')", minilm_path, NULL, "mb");
  CHECK_QUERY(db, "SELECT semlite_model_load('again', ?1)", minilm_path, NULL, "again");
  CHECK_QUERY(db, "SELECT semlite_cache_enable()", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT embed('minilm', 'x') != embed('m8', 'x') AND embed('m8', 'x') != embed('mb', 'x')", NULL, NULL, "1");
  CHECK_QUERY(db, STATS, "embed", NULL, "1,3,1,3,0,0,0");
  /* Another name for the same folder and dtype is the same model: a hit. */
  CHECK_QUERY(db, "SELECT embed('again', 'x') = embed('minilm', 'x')", NULL, NULL, "1");
  CHECK_QUERY(db, STATS, "embed", NULL, "3,3,3,3,0,0,0");
  /* Inputs are exact bytes. */
  /* (both values used: SQLite >= 3.45 skips the unused columns of a subquery) */
  CHECK_QUERY(db, "SELECT embed('minilm', 'x ') IS NOT NULL AND embed('minilm', 'X') IS NOT NULL", NULL, NULL, "1");
  CHECK_QUERY(db, STATS, "embed", NULL, "3,5,3,5,0,0,0");
  /* (query, doc) pairs are not concatenations, and order matters. */
  /* (no `OR 1`: SQLite >= 3.45 evaluates the constant first and skips the rest) */
  CHECK_QUERY(db, "SELECT (rerank('ce', 'ab', 'c') != rerank('ce', 'a', 'bc')) IS NOT NULL", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT typeof(rerank('ce', 'c', 'ab'))", NULL, NULL, "real");
  CHECK_QUERY(db, STATS, "rerank", NULL, "0,3,0,3,0,0,0");
  /* The same text through embed and embed_each: two operations, two entries. */
  CHECK_QUERY(db, "SELECT count(*) FROM embed_each('minilm', '[\"x\"]')", NULL, NULL, "1");
  CHECK_QUERY(db, STATS, "embed_each", NULL, "0,1,0,1,0,0,0");
  CHECK_QUERY(db, "SELECT count(DISTINCT key) FROM semlite_cache", NULL, NULL, "9");
  CHECK_QUERY(db, "SELECT semlite_model_unload(column1) FROM (VALUES ('m8'), ('mb'), ('again'))", NULL, NULL, "1");
  close_db(db);
}

/* Embeds a text named by a letter at clock t. */
static void embed_at(sqlite3 *db, int t, const char *text) {
  set_clock(db, t);
  CHECK_QUERY(db, "SELECT length(embed('minilm', ?1))", text, NULL, "1536");
}

/* An entry served from the L1 reports its use to the L2 row at most once a minute, so
** the L2's policies see entries that stay hot in memory. */
static void test_l1_reports(void) {
  sqlite3 *db = open_mem();
  CHECK_QUERY(db, "SELECT semlite_cache_enable()", NULL, NULL, "1");
  embed_at(db, 1000, "hot");
  embed_at(db, 1030, "hot");
  CHECK_QUERY(db, "SELECT hits||','||last_used FROM semlite_cache", NULL, NULL, "0,1000.0");
  embed_at(db, 1060, "hot");
  CHECK_QUERY(db, "SELECT hits||','||last_used FROM semlite_cache", NULL, NULL, "1,1060.0");
  embed_at(db, 1100, "hot");
  CHECK_QUERY(db, "SELECT hits||','||last_used FROM semlite_cache", NULL, NULL, "1,1060.0");
  CHECK_QUERY(db, STATS, "embed", NULL, "3,1,3,1,0,0,0");
  close_db(db);
}

static void test_lru(void) {
  sqlite3 *db = open_mem();
  l1("0");
  CHECK_QUERY(db, "SELECT semlite_cache_enable()", NULL, NULL, "1");
  t_exec(db, "UPDATE semlite_cache_config SET max_entries = 3 WHERE op = 'embed'");
  embed_at(db, 1, "a");
  embed_at(db, 2, "b");
  embed_at(db, 3, "c");
  embed_at(db, 4, "a");            /* a hit: a is now the most recent */
  embed_at(db, 5, "d");            /* evicts b */
  CHECK_QUERY(db, STATS, "embed", NULL, "1,4,0,3,1,0,0");
  embed_at(db, 6, "a");
  embed_at(db, 7, "c");
  embed_at(db, 8, "d");
  CHECK_QUERY(db, STATS, "embed", NULL, "4,4,0,3,1,0,0");
  embed_at(db, 9, "b");            /* a miss; evicts a (used at 6) */
  CHECK_QUERY(db, STATS, "embed", NULL, "4,5,0,3,2,0,0");
  embed_at(db, 10, "a");
  CHECK_QUERY(db, STATS, "embed", NULL, "4,6,0,3,3,0,0");
  /* A byte limit: two 1536-byte vectors fit in 3100 bytes. Lowering it evicts now. */
  t_exec(db, "UPDATE semlite_cache_config SET max_entries = NULL, max_bytes = 3100 WHERE op = 'embed'");
  CHECK_QUERY(db, "SELECT entries||','||bytes||','||evictions FROM semlite_cache_counters WHERE op = 'embed'", NULL, NULL,
              "2,3072,4");
  CHECK_QUERY(db, "SELECT group_concat(last_used, ',') FROM (SELECT last_used FROM semlite_cache ORDER BY last_used)",
              NULL, NULL, "9.0,10.0");
  /* The counters the triggers keep equal the table. */
  CHECK_QUERY(db, "SELECT (SELECT count(*) FROM semlite_cache) || ',' || (SELECT total(size) FROM semlite_cache)", NULL,
              NULL, "2,3072.0");
  /* max_entries 0: nothing is kept, the result is still returned. */
  t_exec(db, "UPDATE semlite_cache_config SET max_entries = 0 WHERE op = 'embed'");
  embed_at(db, 11, "e");
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_cache", NULL, NULL, "0");
  l1(L1_DEFAULT);
  close_db(db);
}

/* LFU-DA: a once-popular entry holds its place against newcomers until the age L has
** risen to its rank; plain LFU would keep it for ever. */
static void test_lfu_aging(void) {
  static const char *newcomers[] = {"b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m"};
  sqlite3 *db = open_mem();
  int t = 1;
  l1("0");
  CHECK_QUERY(db, "SELECT semlite_cache_enable()", NULL, NULL, "1");
  t_exec(db, "UPDATE semlite_cache_config SET max_entries = 2, policy = 'lfu' WHERE op = 'embed'");
  embed_at(db, t++, "a");
  for (int i = 0; i < 5; i++) embed_at(db, t++, "a");
  CHECK_QUERY(db, "SELECT hits||','||evict_rank FROM semlite_cache", NULL, NULL, "5,6");
  /* Each newcomer enters at L + 1 and evicts the previous one; L rises by one every
  ** second eviction. After 11 newcomers L is 5 and a (rank 6) is still there. */
  for (int i = 0; i < 11; i++) embed_at(db, t++, newcomers[i]);
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_cache WHERE hits = 5", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT lfu_age||','||evictions FROM semlite_cache_counters WHERE op = 'embed'", NULL, NULL, "5,10");
  /* The 12th enters at rank 6 and the 11th, also rank 6, is more recent than a: a goes. */
  embed_at(db, t++, newcomers[11]);
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_cache WHERE hits = 5", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT lfu_age||','||evictions FROM semlite_cache_counters WHERE op = 'embed'", NULL, NULL, "6,11");
  CHECK_QUERY(db, STATS, "embed", NULL, "5,13,0,2,11,0,0");
  /* Back to LRU: ranks drop to 0, L stays. */
  t_exec(db, "UPDATE semlite_cache_config SET policy = 'lru' WHERE op = 'embed'");
  CHECK_QUERY(db, "SELECT group_concat(evict_rank) FROM semlite_cache", NULL, NULL, "0,0");
  l1(L1_DEFAULT);
  close_db(db);
}

static void test_ttl(void) {
  sqlite3 *db = open_mem();
  CHECK_QUERY(db, "SELECT semlite_cache_enable()", NULL, NULL, "1");
  t_exec(db, "UPDATE semlite_cache_config SET ttl_seconds = 100 WHERE op = 'embed'");
  embed_at(db, 1000, "a");
  CHECK_QUERY(db, "SELECT created_at||','||expires_at||','||last_used FROM semlite_cache", NULL, NULL, "1000.0,1100.0,1000.0");
  embed_at(db, 1099, "a");                     /* L1 hit, the L1 knows the expiry */
  CHECK_QUERY(db, STATS, "embed", NULL, "1,1,1,1,0,0,0");
  l1("0");
  embed_at(db, 1099, "a");                     /* L2 hit */
  CHECK_QUERY(db, STATS, "embed", NULL, "2,1,1,1,0,0,0");
  l1(L1_DEFAULT);
  embed_at(db, 1100, "b");
  embed_at(db, 1100, "a");                     /* expired: a miss; the insert replaces it */
  CHECK_QUERY(db, STATS, "embed", NULL, "2,3,1,2,0,1,0");
  CHECK_QUERY(db, "SELECT group_concat(expires_at) FROM semlite_cache", NULL, NULL, "1200.0,1200.0");
  /* A new TTL applies to the entries already there: both expire at 1150. The miss's
  ** insert clears every expired row first. */
  t_exec(db, "UPDATE semlite_cache_config SET ttl_seconds = 50 WHERE op = 'embed'");
  CHECK_QUERY(db, "SELECT group_concat(expires_at) FROM semlite_cache", NULL, NULL, "1150.0,1150.0");
  l1("0");
  embed_at(db, 1150, "b");
  CHECK_QUERY(db, STATS, "embed", NULL, "2,4,1,1,0,3,0");
  set_clock(db, 1199);
  CHECK_QUERY(db, "SELECT semlite_cache_clear_expired()", NULL, NULL, "0");
  set_clock(db, 1200);
  CHECK_QUERY(db, "SELECT semlite_cache_clear_expired()", NULL, NULL, "1");
  CHECK_QUERY(db, STATS, "embed", NULL, "2,4,1,0,0,4,0");
  /* No TTL: never expires. */
  t_exec(db, "UPDATE semlite_cache_config SET ttl_seconds = NULL WHERE op = 'embed'");
  embed_at(db, 1300, "c");
  set_clock(db, 2000000000);
  CHECK_QUERY(db, "SELECT semlite_cache_clear_expired()", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_cache WHERE expires_at IS NULL", NULL, NULL, "1");
  l1(L1_DEFAULT);
  CHECK_QUERY(db, "SELECT semlite_cache_clock(NULL) > 1700000000", NULL, NULL, "1");
  close_db(db);
}

/* The cache lives in the file, but a connection uses it only once it enabled it itself:
** a file's own "enabled" row is not trusted (docs/security.md). A disable is for every
** connection. An attached database holds its own. */
static void test_persistence(void) {
  char dir[512], path[600], aux[600];
  sqlite3 *db;
  make_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/home.db", dir);
  snprintf(aux, sizeof aux, "%s/aux.db", dir);
  db = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  CHECK_QUERY(db, "SELECT semlite_cache_enable()", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT length(embed('minilm', 'garage door open'))", NULL, NULL, "1536");
  close_db(db);

  db = open_db(path, SQLITE_OPEN_READWRITE);
  l1("0");
  CHECK_QUERY(db, "SELECT length(embed('minilm', 'garage door open'))", NULL, NULL, "1536");
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_cache_stats", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT semlite_cache_enable()", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT length(embed('minilm', 'garage door open'))", NULL, NULL, "1536");
  CHECK_QUERY(db, STATS, "embed", NULL, "1,0,0,1,0,0,0");
  CHECK_QUERY(db, "SELECT semlite_cache_disable()", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT length(embed('minilm', 'garage door open'))", NULL, NULL, "1536");
  close_db(db);

  db = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  CHECK_QUERY(db, "SELECT length(embed('minilm', 'garage door closed'))", NULL, NULL, "1536");
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_cache_stats", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_cache", NULL, NULL, "1");
  /* Re-enabling finds the entry again. */
  CHECK_QUERY(db, "SELECT semlite_cache_enable()", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT length(embed('minilm', 'garage door open'))", NULL, NULL, "1536");
  CHECK_QUERY(db, STATS, "embed", NULL, "1,0,0,1,0,0,0");

  /* An attached database. */
  CHECK_QUERY(db, "ATTACH ?1 AS side", aux, NULL, "NO ROW");
  CHECK_QUERY(db, "SELECT semlite_cache_enable('side')", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT length(embed('minilm', 'only in side'))", NULL, NULL, "1536");
  CHECK_QUERY(db, "SELECT (SELECT count(*) FROM side.semlite_cache) || ',' || (SELECT count(*) FROM main.semlite_cache)",
              NULL, NULL, "1,1");
  l1(L1_DEFAULT);
  close_db(db);
  rm_dir(dir);
}

/* A read-only database serves its entries; a miss is computed and the failed write
** counted. */
static void test_read_only(void) {
  char dir[512], path[600];
  sqlite3 *db;
  char *fresh;
  make_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/ro.db", dir);
  db = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  CHECK_QUERY(db, "SELECT semlite_cache_enable()", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT length(embed('minilm', 'stored'))", NULL, NULL, "1536");
  fresh = t_query(db, "SELECT hex(embed('minilm', 'not stored'))", NULL, NULL);
  t_exec(db, "DELETE FROM semlite_cache WHERE hits = 0 AND last_used = (SELECT max(last_used) FROM semlite_cache)");
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_cache", NULL, NULL, "1");
  close_db(db);

  db = open_db(path, SQLITE_OPEN_READONLY);
  l1("0");
  CHECK_QUERY(db, "SELECT semlite_cache_enable()", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT length(embed('minilm', 'stored'))", NULL, NULL, "1536");
  CHECK_QUERY(db, "SELECT hex(embed('minilm', 'not stored'))", NULL, NULL, fresh);
  CHECK_QUERY(db, STATS, "embed", NULL, "1,1,0,1,0,0,1");
  l1(L1_DEFAULT);
  close_db(db);

  /* Attached read-only: enabling serves the entries; a fresh file cannot get a cache. */
  db = open_db(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI);
  {
    char uri[700];
    snprintf(uri, sizeof uri, "file:%s?mode=ro", path);
    CHECK_QUERY(db, "ATTACH ?1 AS ro", uri, NULL, "NO ROW");
    t_exec(db, "ATTACH ':memory:' AS scratch");
  }
  CHECK_QUERY(db, "SELECT semlite_cache_enable('ro')", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT hex(embed('minilm', 'not stored'))", NULL, NULL, fresh);
  CHECK_QUERY(db, STATS, "embed", NULL, "0,1,0,1,0,0,1");
  t_exec(db, "PRAGMA query_only = 1");
  CHECK_QUERY(db, "SELECT semlite_cache_enable('scratch')", NULL, NULL,
              "ERROR: semlite_cache_enable: attempt to write a readonly database");
  t_exec(db, "PRAGMA query_only = 0");
  close_db(db);
  sqlite3_free(fresh);
  rm_dir(dir);
}

/* Another connection holds the write lock: the query returns, the write failure is
** counted, in rollback-journal and WAL mode; the next miss stores. */
static void test_busy(void) {
  static const char *modes[] = {"DELETE", "WAL"};
  for (int k = 0; k < 2; k++) {
    char dir[512], path[600], sql[64];
    sqlite3 *a, *b;
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/busy.db", dir);
    a = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    snprintf(sql, sizeof sql, "PRAGMA journal_mode = %s", modes[k]);
    t_exec(a, sql);
    l1("0");
    CHECK_QUERY(a, "SELECT semlite_cache_enable()", NULL, NULL, "1");
    b = open_db(path, SQLITE_OPEN_READWRITE);
    t_exec(b, "CREATE TABLE notes(body TEXT)");
    t_exec(b, "BEGIN IMMEDIATE");
    t_exec(b, "INSERT INTO notes VALUES ('b writes')");
    CHECK_QUERY(a, "SELECT length(embed('minilm', 'while b writes'))", NULL, NULL, "1536");
    CHECK_QUERY(a, STATS, "embed", NULL, "0,1,0,0,0,0,1");
    t_exec(b, "COMMIT");
    CHECK_QUERY(a, "SELECT length(embed('minilm', 'while b writes'))", NULL, NULL, "1536");
    CHECK_QUERY(a, STATS, "embed", NULL, "0,2,0,1,0,0,1");
    CHECK_QUERY(a, "SELECT count(*) FROM notes", NULL, NULL, "1");
    l1(L1_DEFAULT);
    close_db(a);
    close_db(b);
    rm_dir(dir);
  }
}

/* Inside the user's transaction the cache writes are part of it; a full disk fails the
** cache write only, not the user's statement or transaction. */
static void test_transactions(void) {
  char dir[512], path[600];
  sqlite3 *db;
  make_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/tx.db", dir);
  db = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  l1("0");
  CHECK_QUERY(db, "SELECT semlite_cache_enable()", NULL, NULL, "1");
  t_exec(db, "CREATE TABLE notes(body TEXT, e BLOB)");
  t_exec(db, "BEGIN");
  t_exec(db, "INSERT INTO notes VALUES ('rolled back', embed('minilm', 'rolled back'))");
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_cache", NULL, NULL, "1");
  t_exec(db, "ROLLBACK");
  CHECK_QUERY(db, "SELECT (SELECT count(*) FROM semlite_cache) || ',' || (SELECT count(*) FROM notes)", NULL, NULL, "0,0");
  CHECK_QUERY(db, "SELECT entries FROM semlite_cache_counters WHERE op = 'embed'", NULL, NULL, "0");
  t_exec(db, "BEGIN");
  t_exec(db, "INSERT INTO notes VALUES ('kept', embed('minilm', 'kept'))");
  /* Enabling again inside the user's transaction is a savepoint of it. */
  CHECK_QUERY(db, "SELECT semlite_cache_enable()", NULL, NULL, "1");
  CHECK_INT(sqlite3_get_autocommit(db), 0);
  t_exec(db, "COMMIT");
  CHECK_QUERY(db, "SELECT (SELECT count(*) FROM semlite_cache) || ',' || (SELECT count(*) FROM notes)", NULL, NULL, "1,1");
  /* A hit inside a transaction, and an UPDATE of the user's rows that fills the cache. */
  t_exec(db, "INSERT INTO notes(body) VALUES ('one'), ('two'), ('kept')");
  t_exec(db, "UPDATE notes SET e = embed('minilm', body)");
  CHECK_QUERY(db, "SELECT count(*) FROM notes WHERE length(e) = 1536", NULL, NULL, "4");
  CHECK_QUERY(db, STATS, "embed", NULL, "2,4,0,3,0,0,0");

  /* The disk is full (max_page_count) after the user's insert. */
  t_exec(db, "BEGIN");
  t_exec(db, "INSERT INTO notes(body) VALUES ('before the disk filled')");
  {
    char *pages = t_query(db, "PRAGMA page_count", NULL, NULL);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count = %s", pages);
    t_exec(db, sql);
    sqlite3_free(pages);
  }
  CHECK_QUERY(db, "SELECT length(embed('minilm', 'no room for this one'))", NULL, NULL, "1536");
  CHECK_QUERY(db, "UPDATE notes SET e = embed('minilm', 'nor this') WHERE body = 'before the disk filled' RETURNING length(e)",
              NULL, NULL, "1536");
  t_exec(db, "COMMIT");
  CHECK_QUERY(db, STATS, "embed", NULL, "2,6,0,3,0,0,2");
  CHECK_QUERY(db, "SELECT count(*) FROM notes", NULL, NULL, "5");
  CHECK_QUERY(db, "SELECT length(e) FROM notes WHERE body = 'before the disk filled'", NULL, NULL, "1536");
  CHECK_QUERY(db, "PRAGMA integrity_check", NULL, NULL, "ok");
  l1(L1_DEFAULT);
  close_db(db);
  rm_dir(dir);
}

/* Two connections on one file stepping their scans in turn: every result is right, no
** statement fails, the file is sound. */
static void test_two_connections(void) {
  char dir[512], path[600];
  sqlite3 *c[2];
  sqlite3_stmt *st[2];
  char *expect[24];
  int rows[2] = {0, 0};
  make_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/two.db", dir);
  for (int k = 0; k < 2; k++) {
    c[k] = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    sqlite3_busy_timeout(c[k], 50);
  }
  l1("0");
  t_exec(c[0], "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT)");
  t_exec(c[0], "WITH RECURSIVE s(value) AS (SELECT 0 UNION ALL SELECT value + 1 FROM s WHERE value < 23) "
                "INSERT INTO notes(body) SELECT 'note ' || (value % 12) FROM s");
  for (int i = 0; i < 24; i++) {
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT hex(embed('minilm', 'note %d'))", i % 12);
    expect[i] = t_query(c[0], sql, NULL, NULL);
  }
  for (int k = 0; k < 2; k++) {
    CHECK_QUERY(c[k], "SELECT semlite_cache_enable()", NULL, NULL, "1");
    CHECK_INT(sqlite3_prepare_v2(c[k], "SELECT id, hex(embed('minilm', body)) FROM notes ORDER BY id", -1, &st[k], NULL),
              SQLITE_OK);
  }
  for (int step = 0; step < 24; step++) {
    for (int k = 0; k < 2; k++) {
      int rc = sqlite3_step(st[k]);
      CHECK_INT(rc, SQLITE_ROW);
      if (rc != SQLITE_ROW) continue;
      CHECK_STR((const char *)sqlite3_column_text(st[k], 1), expect[sqlite3_column_int(st[k], 0) - 1]);
      rows[k]++;
    }
  }
  for (int k = 0; k < 2; k++) {
    CHECK_INT(sqlite3_step(st[k]), SQLITE_DONE);
    sqlite3_finalize(st[k]);
  }
  CHECK_INT(rows[0] + rows[1], 48);
  CHECK_QUERY(c[1], "PRAGMA integrity_check", NULL, NULL, "ok");
  /* Whatever each wrote or failed to write, the counters equal the table. */
  CHECK_QUERY(c[1], "SELECT (SELECT count(*) FROM semlite_cache) = entries FROM semlite_cache_counters WHERE op = 'embed'",
              NULL, NULL, "1");
  CHECK_QUERY(c[1], "SELECT count(*) <= 12 FROM semlite_cache", NULL, NULL, "1");
  for (int i = 0; i < 24; i++) sqlite3_free(expect[i]);
  l1(L1_DEFAULT);
  close_db(c[0]);
  close_db(c[1]);
  rm_dir(dir);
}

/* A sqlite3 shell filling the cache is killed with SIGKILL mid-write: the file passes
** integrity_check, the user's table is intact, the counters equal the table. */
static void test_killed_writer(void) {
  char dir[512], path[600], script[700];
  sqlite3 *db;
  FILE *f;
  pid_t pid;
  int status, entries = 0;
  make_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/kill.db", dir);
  snprintf(script, sizeof script, "%s/fill.sql", dir);
  db = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  t_exec(db, "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT)");
  t_exec(db, "WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < 100) "
                "INSERT INTO notes(body) SELECT 'note ' || value FROM s");
  CHECK_QUERY(db, "SELECT semlite_cache_enable()", NULL, NULL, "1");
  close_db(db);
  f = fopen(script, "w");
  CHECK(f != NULL);
  if (!f) return;
  fprintf(f, ".load %s\nSELECT semlite_model_load('minilm', '%s');\nSELECT semlite_cache_enable();\n"
             "WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < 100000) "
             "SELECT count(embed('minilm', 'text ' || value)) FROM s;\n",
          sl_test_so_path(), minilm_path);
  fclose(f);
  pid = fork();
  if (pid == 0) {
    int fd = open("/dev/null", O_WRONLY);
    dup2(fd, 1);
    dup2(fd, 2);
    execlp("sqlite3", "sqlite3", "-init", script, path, ".quit", (char *)NULL);
    _exit(127);
  }
  CHECK(pid > 0);
  /* Until the shell has committed a few entries (at most 60 s), unless it ended. */
  for (int i = 0, exited = 0; i < 600 && entries < 20 && !exited; i++) {
    sqlite3 *r;
    sqlite3_stmt *st;
    usleep(100000);
    if (sqlite3_open_v2(path, &r, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
      sqlite3_busy_timeout(r, 1000);
      if (sqlite3_prepare_v2(r, "SELECT count(*) FROM semlite_cache", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) entries = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
      }
    }
    sqlite3_close(r);
    exited = waitpid(pid, &status, WNOHANG) == pid;
  }
  CHECK_MSG(entries >= 20, "the shell stored %d entries", entries);
  if (kill(pid, SIGKILL) == 0) waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  db = open_db(path, SQLITE_OPEN_READWRITE);
  CHECK_QUERY(db, "PRAGMA integrity_check", NULL, NULL, "ok");
  CHECK_QUERY(db, "SELECT count(*) || ',' || sum(body = 'note ' || id) FROM notes", NULL, NULL, "100,100");
  CHECK_QUERY(db, "SELECT (SELECT count(*) FROM semlite_cache) = entries FROM semlite_cache_counters WHERE op = 'embed'",
              NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_cache_victims", NULL, NULL, "0");
  close_db(db);
  rm_dir(dir);
}

/* embed_each and rerank_each look every text up once, run only the misses, and keep
** rows in order across windows of SL_BATCH_MAX_SEQS texts. Results of one text in
** batches of different composition agree to float32 rounding, not to the bit (as
** embed_each and embed do), so the first run is compared within 1e-5 and the cached
** runs bit for bit with each other. */
static void test_each(void) {
  sqlite3 *db = open_mem();
#define SERIES "(WITH RECURSIVE s(value) AS (SELECT 0 UNION ALL SELECT value + 1 FROM s WHERE value < 699) SELECT value FROM s)"
#define TEXTS "(SELECT json_group_array(CASE WHEN value = 5 THEN NULL ELSE 'item ' || value END) FROM " SERIES ")"
  /* 700 texts (two windows), a JSON null at 5: the uncached results first. */
  t_exec(db, "CREATE TABLE plain AS SELECT i, embedding AS e FROM embed_each('minilm', " TEXTS ")");
  CHECK_QUERY(db, "SELECT count(*) || ',' || count(e) FROM plain", NULL, NULL, "700,699");
  CHECK_QUERY(db, "SELECT semlite_cache_enable()", NULL, NULL, "1");
  l1("0");
  /* Every third text stored first, through embed_each of just those. */
  CHECK_QUERY(db, "SELECT count(*) FROM embed_each('minilm', (SELECT json_group_array('item ' || value) "
                  "FROM " SERIES " WHERE value % 3 = 0 AND value != 5))", NULL, NULL, "234");
  CHECK_QUERY(db, STATS, "embed_each", NULL, "0,234,0,234,0,0,0");
  t_exec(db, "CREATE TABLE run2 AS SELECT i, embedding AS e FROM embed_each('minilm', " TEXTS ")");
  CHECK_QUERY(db, STATS, "embed_each", NULL, "234,699,0,699,0,0,0");
  CHECK_QUERY(db, "SELECT count(*) FROM plain JOIN run2 USING (i) WHERE (plain.e IS NULL AND run2.e IS NULL) "
                  "OR vec_distance_l2(plain.e, run2.e) < 1e-5", NULL, NULL, "700");
  t_exec(db, "CREATE TABLE run3 AS SELECT i, embedding AS e FROM embed_each('minilm', " TEXTS ")");
  CHECK_QUERY(db, STATS, "embed_each", NULL, "933,699,0,699,0,0,0");
  CHECK_QUERY(db, "SELECT count(*) FROM run2 JOIN run3 USING (i) WHERE run2.e IS run3.e", NULL, NULL, "700");
  /* LIMIT: looked up one window ahead, computed one batch ahead. */
  CHECK_QUERY(db, "SELECT count(*) FROM (SELECT * FROM embed_each('minilm', '[\"new 1\", \"new 2\", \"item 3\"]') LIMIT 1)",
              NULL, NULL, "1");
  CHECK_QUERY(db, STATS, "embed_each", NULL, "934,701,0,701,0,0,0");
  /* A hit equals the stored row bit for bit (the join may scan embed_each once per row). */
  CHECK_QUERY(db, "SELECT count(*) FROM embed_each('minilm', '[\"item 3\", \"item 4\"]') e "
                  "JOIN semlite_cache c ON c.value = e.embedding", NULL, NULL, "2");
  /* rerank_each */
  CHECK_QUERY(db, "SELECT group_concat(i || ':' || typeof(score)) FROM rerank_each('ce', 'q', '[\"a\", null, \"b\"]')",
              NULL, NULL, "0:real,1:null,2:real");
  CHECK_QUERY(db, "SELECT group_concat(i || ':' || typeof(score)) FROM rerank_each('ce', 'q', '[\"b\", \"c\"]')",
              NULL, NULL, "0:real,1:real");
  CHECK_QUERY(db, STATS, "rerank_each", NULL, "1,3,0,3,0,0,0");
  CHECK_QUERY(db, "SELECT (SELECT score FROM rerank_each('ce', 'q', '[\"b\"]')) = "
                  "(SELECT score FROM rerank_each('ce', 'q', '[\"x\", \"b\"]') WHERE i = 1)", NULL, NULL, "1");
  l1(L1_DEFAULT);
  close_db(db);
}

/* Threads, each with its own connection to one WAL file, embed the same texts through
** the cache (process-wide L1 shared, one L2) while another thread resizes the L1:
** every result equals the uncached one. For ThreadSanitizer. */
#define N_THREAD_TEXTS 12
#define N_CACHE_THREADS 4
static char *thread_expected[N_THREAD_TEXTS];

typedef struct cache_thread {
  const char *path;
  int id, failures;
} cache_thread;

static void *cache_worker(void *p) {
  cache_thread *a = p;
  sqlite3 *db = NULL;
  char *err = NULL;
  sqlite3_open(a->path, &db);
  sqlite3_busy_timeout(db, 2000);
  sqlite3_enable_load_extension(db, 1);
  if (sqlite3_load_extension(db, sl_test_so_path(), NULL, &err) != SQLITE_OK ||
      sqlite3_exec(db, "SELECT semlite_cache_enable()", NULL, NULL, NULL) != SQLITE_OK) {
    a->failures = 1000;
  }
  sqlite3_free(err);
  for (int round = 0; round < 3 && !a->failures; round++) {
    for (int i = 0; i < N_THREAD_TEXTS; i++) {
      int k = (i + a->id) % N_THREAD_TEXTS;
      char text[32];
      sqlite3_stmt *st;
      snprintf(text, sizeof text, "thread text %d", k);
      sqlite3_prepare_v2(db, "SELECT hex(embed('minilm', ?1))", -1, &st, NULL);
      sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
      if (sqlite3_step(st) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(st, 0), thread_expected[k]) != 0)
        a->failures++;
      sqlite3_finalize(st);
    }
  }
  if (sqlite3_close(db) != SQLITE_OK) a->failures++;
  return NULL;
}

static void *l1_resizer(void *p) {
  sqlite3 *db = t_open();
  for (int i = 0; i < 200 && !*(volatile int *)p; i++)
    sqlite3_exec(db, i % 2 ? "UPDATE semlite_limits SET value = 64 WHERE name = 'l1_cache_mb'"
                           : "UPDATE semlite_limits SET value = 1 WHERE name = 'l1_cache_mb'", NULL, NULL, NULL);
  sqlite3_close(db);
  return NULL;
}

static void test_threads(void) {
  char dir[512], path[600];
  pthread_t th[N_CACHE_THREADS], resizer;
  cache_thread args[N_CACHE_THREADS];
  volatile int stop = 0;
  sqlite3 *db;
  make_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/threads.db", dir);
  db = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  t_exec(db, "PRAGMA journal_mode = WAL");
  for (int i = 0; i < N_THREAD_TEXTS; i++) {
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT hex(embed('minilm', 'thread text %d'))", i);
    thread_expected[i] = t_query(db, sql, NULL, NULL);
  }
  CHECK_QUERY(db, "SELECT semlite_cache_enable()", NULL, NULL, "1");
  pthread_create(&resizer, NULL, l1_resizer, (void *)&stop);
  for (int i = 0; i < N_CACHE_THREADS; i++) {
    args[i] = (cache_thread){path, i, 0};
    pthread_create(&th[i], NULL, cache_worker, &args[i]);
  }
  for (int i = 0; i < N_CACHE_THREADS; i++) {
    pthread_join(th[i], NULL);
    CHECK_MSG(args[i].failures == 0, "thread %d: %d failures", i, args[i].failures);
  }
  stop = 1;
  pthread_join(resizer, NULL);
  /* A write that met the busy timeout is only a counted failure: at most 12 rows. */
  CHECK_QUERY(db, "SELECT count(*) BETWEEN 1 AND 12 FROM semlite_cache", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT (SELECT count(*) FROM semlite_cache) = entries FROM semlite_cache_counters WHERE op = 'embed'",
              NULL, NULL, "1");
  CHECK_QUERY(db, "PRAGMA integrity_check", NULL, NULL, "ok");
  l1(L1_DEFAULT);
  for (int i = 0; i < N_THREAD_TEXTS; i++) sqlite3_free(thread_expected[i]);
  close_db(db);
  rm_dir(dir);
}

/* A database file cannot change what semlite computes (docs/security.md): a file's
** semlite_cache rows serve only a connection that enabled the cache itself, and a value
** read from a file never reaches the process-wide L1, so the application's other
** connections cannot get it. */
static void test_poisoned_file(void) {
  char dir[512], path[600];
  sqlite3 *db, *app;
  char *truth, *forged;
  make_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/forged.db", dir);
  db = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  CHECK_QUERY(db, "SELECT semlite_cache_enable()", NULL, NULL, "1");
  truth = t_query(db, "SELECT hex(embed('minilm', 'heating on'))", NULL, NULL);
  /* The attacker's edit: another vector of the right length under the same key. */
  t_exec(db, "UPDATE semlite_cache SET value = zeroblob(1536)");
  forged = t_query(db, "SELECT hex(zeroblob(1536))", NULL, NULL);
  close_db(db);
  l1("0");
  l1(L1_DEFAULT);

  /* Opened without enabling: the file's cache is not used, or even counted. */
  db = open_db(path, SQLITE_OPEN_READWRITE);
  CHECK_QUERY(db, "SELECT hex(embed('minilm', 'heating on'))", NULL, NULL, truth);
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_cache_stats", NULL, NULL, "0");
  /* The value computed just now is the process's; forget it, then trust the file. */
  l1("0");
  l1(L1_DEFAULT);
  CHECK_QUERY(db, "SELECT semlite_cache_enable()", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT hex(embed('minilm', 'heating on'))", NULL, NULL, forged);
  /* The application's own connection computes the truth: the L1 never saw the file. */
  app = open_mem();
  CHECK_QUERY(app, "SELECT semlite_cache_enable()", NULL, NULL, "1");
  CHECK_QUERY(app, "SELECT hex(embed('minilm', 'heating on'))", NULL, NULL, truth);
  CHECK_QUERY(app, STATS, "embed", NULL, "0,1,0,1,0,0,0");
  close_db(app);
  close_db(db);
  sqlite3_free(truth);
  sqlite3_free(forged);
  rm_dir(dir);
}

/* A cache write never ends the caller's transaction: a trigger a hostile file ships on
** semlite_cache that aborts only loses the write; one that rolls the transaction back
** makes the call fail with the reason, so no half of the transaction is kept unnoticed. */
static void test_hostile_trigger(void) {
  char dir[512], path[600];
  sqlite3 *db;
  make_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/hostile.db", dir);
  db = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  l1("0");
  CHECK_QUERY(db, "SELECT semlite_cache_enable()", NULL, NULL, "1");
  t_exec(db, "CREATE TABLE notes(body TEXT)");
  t_exec(db, "CREATE TRIGGER refuse BEFORE INSERT ON semlite_cache WHEN NEW.op = 'embed' "
             "BEGIN SELECT RAISE(ABORT, 'refused'); END");
  t_exec(db, "BEGIN");
  t_exec(db, "INSERT INTO notes VALUES ('first half')");
  CHECK_QUERY(db, "SELECT length(embed('minilm', 'refused write'))", NULL, NULL, "1536");
  CHECK_INT(sqlite3_get_autocommit(db), 0);
  t_exec(db, "INSERT INTO notes VALUES ('second half')");
  t_exec(db, "COMMIT");
  CHECK_QUERY(db, "SELECT group_concat(body, '+') FROM notes", NULL, NULL, "first half+second half");
  CHECK_QUERY(db, STATS, "embed", NULL, "0,1,0,0,0,0,1");

  t_exec(db, "DROP TRIGGER refuse");
  t_exec(db, "CREATE TRIGGER rollback BEFORE INSERT ON semlite_cache "
             "BEGIN SELECT RAISE(ROLLBACK, 'rolled back by the file'); END");
  t_exec(db, "BEGIN");
  t_exec(db, "INSERT INTO notes VALUES ('lost half')");
  CHECK_QUERY(db, "SELECT length(embed('minilm', 'rolling write'))", NULL, NULL,
              "ERROR: embed: a cache statement failed and SQLite rolled back the transaction: rolled back by the file");
  CHECK_INT(sqlite3_get_autocommit(db), 1);
  t_exec(db, "BEGIN");
  CHECK_QUERY(db, "SELECT rerank('ce', 'q', 'rolling write')", NULL, NULL,
              "ERROR: rerank: a cache statement failed and SQLite rolled back the transaction: rolled back by the file");
  t_exec(db, "BEGIN");
  CHECK_QUERY(db, "SELECT count(*) FROM embed_each('minilm', '[\"rolling write\"]')", NULL, NULL,
              "ERROR: embed_each: a cache statement failed and SQLite rolled back the transaction: rolled back by the file");
  CHECK_QUERY(db, "SELECT count(*) FROM notes WHERE body = 'lost half'", NULL, NULL, "0");
  /* Outside a transaction there is nothing to lose: the write fails alone. */
  CHECK_QUERY(db, "SELECT length(embed('minilm', 'rolling write'))", NULL, NULL, "1536");
  CHECK_QUERY(db, "PRAGMA integrity_check", NULL, NULL, "ok");
  l1(L1_DEFAULT);
  close_db(db);
  rm_dir(dir);
}

/* Embed-on-insert of semlite_vec takes the same route as embed(): it hits what embed()
** stored, stores what embed() then hits, and its vectors are embed()'s bits. Rows
** embedded while SQLite commits (here, each autocommit INSERT's) use the L1 only: no
** nested statement runs inside a commit. */
static void test_embed_on_insert(void) {
  sqlite3 *db = open_mem();
  l1("0");
  l1(L1_DEFAULT);
  CHECK_QUERY(db, "SELECT semlite_cache_enable()", NULL, NULL, "1");
  t_exec(db, "CREATE VIRTUAL TABLE notes USING semlite_vec(e float[384], +body text, model=minilm, embed_from=body)");
  CHECK_QUERY(db, "SELECT length(embed('minilm', 'lights off at midnight'))", NULL, NULL, "1536");
  t_exec(db, "INSERT INTO notes(rowid, body) VALUES (1, 'lights off at midnight'), (2, 'open the blinds at dawn')");
  CHECK_QUERY(db, STATS, "embed", NULL, "1,2,1,1,0,0,0");
  CHECK_QUERY(db, "SELECT count(*) FROM notes WHERE e = embed('minilm', body)", NULL, NULL, "2");
  CHECK_QUERY(db, STATS, "embed", NULL, "3,2,3,1,0,0,0");
  /* In a transaction, a cache write's savepoint flushes the waiting rows (uncached, from
  ** xSavepoint) without re-entering the flush that caused it. */
  t_exec(db, "BEGIN");
  t_exec(db, "INSERT INTO notes(rowid, body) VALUES (3, 'garage closed'), (4, 'porch light on')");
  CHECK_QUERY(db, "SELECT length(embed('minilm', 'a text only embed() sees'))", NULL, NULL, "1536");
  CHECK_QUERY(db, "SELECT group_concat(rowid) FROM notes WHERE e MATCH embed('minilm', 'garage closed') AND k = 1",
              NULL, NULL, "3");
  t_exec(db, "INSERT INTO notes(rowid, body) VALUES (5, 'lights off at midnight')");
  t_exec(db, "COMMIT");
  CHECK_QUERY(db, "SELECT count(*) FROM notes WHERE e = embed('minilm', body)", NULL, NULL, "5");
  CHECK_QUERY(db, "SELECT semlite_vec_check('notes')", NULL, NULL, "ok");
  close_db(db);
}

/* Functions that may write the cache are DIRECTONLY: not from views or triggers. */
static void test_flags(void) {
  sqlite3 *db = open_mem();
  t_exec(db, "CREATE VIEW v1 AS SELECT embed('minilm', 'x') AS e");
  CHECK_QUERY(db, "SELECT length(e) FROM v1", NULL, NULL, "ERROR: unsafe use of embed()");
  t_exec(db, "CREATE VIEW v2 AS SELECT rerank('ce', 'q', 'd') AS s");
  CHECK_QUERY(db, "SELECT s FROM v2", NULL, NULL, "ERROR: unsafe use of rerank()");
  t_exec(db, "CREATE VIEW v3 AS SELECT i FROM embed_each('minilm', '[\"a\"]')");
  CHECK_QUERY(db, "SELECT count(*) FROM v3", NULL, NULL, "ERROR: unsafe use of virtual table \"embed_each\"");
  /* The connection's own counters are not for a view (or a trigger) to show either. */
  t_exec(db, "CREATE VIEW v4 AS SELECT op FROM semlite_cache_stats");
  CHECK_QUERY(db, "SELECT count(*) FROM v4", NULL, NULL, "ERROR: unsafe use of virtual table \"semlite_cache_stats\"");
  t_exec(db, "CREATE TABLE notes(body TEXT, e BLOB)");
  t_exec(db, "CREATE TRIGGER t AFTER INSERT ON notes BEGIN UPDATE notes SET e = embed('minilm', NEW.body); END");
  CHECK_QUERY(db, "INSERT INTO notes(body) VALUES ('x')", NULL, NULL, "ERROR: unsafe use of embed()");
  /* Deterministic still: the planner may evaluate a repeated call once. */
  CHECK_QUERY(db, "SELECT embed('minilm', 'x') = embed('minilm', 'x')", NULL, NULL, "1");
  close_db(db);
}

const sl_test cache_tests[] = {
  {"l1", test_l1},
  {"sql_surface", test_sql_surface},
  {"hit_miss", test_hit_miss},
  {"addresses", test_addresses},
  {"l1_reports", test_l1_reports},
  {"lru", test_lru},
  {"lfu_aging", test_lfu_aging},
  {"ttl", test_ttl},
  {"persistence", test_persistence},
  {"read_only", test_read_only},
  {"busy", test_busy},
  {"transactions", test_transactions},
  {"two_connections", test_two_connections},
  {"killed_writer", test_killed_writer},
  {"each", test_each},
  {"threads", test_threads},
  {"flags", test_flags},
  {"embed_on_insert", test_embed_on_insert},
  {"poisoned_file", test_poisoned_file},
  {"hostile_trigger", test_hostile_trigger},
  {NULL, NULL},
};
