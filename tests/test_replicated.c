/*
** test_replicated.c: which statements may write a database (sl_sql_write_allowed,
** docs/deployment.md "EXEC versus QUERY"), without dqlite: a database whose file is on a
** VFS named "dqlite-test" (the default VFS under another name, registered here) is a
** replicated one, as dqlite's "dqlite-N" VFS makes it. On it a read statement writes
** nothing (another connection's PRAGMA data_version does not move, no transaction is
** left open): embed() with the cache enabled, a k-NN MATCH embed(), synergy_links with
** models; functions that must write refuse with the message; the same calls inside a
** write statement write; a local attached database takes the cache; a read-only
** connection writes nothing either; one statement embeds at most replicated_max_rows rows
** on insert. tests/dqlite/ runs the same on a real cluster (make test-dqlite).
*/
#include <unistd.h>

#include "test.h"

#define REPLICATED "dqlite-test"

static char path[256];

/* The default VFS under the name of a replicated one (registered once). */
static void register_vfs(void) {
  static sqlite3_vfs vfs;
  if (sqlite3_vfs_find(REPLICATED)) return;
  vfs = *sqlite3_vfs_find(NULL);
  vfs.zName = REPLICATED;
  vfs.pNext = NULL;
  sqlite3_vfs_register(&vfs, 0);
}

/* A connection to the file at `path` on the replicated VFS, semlite loaded, the twins named. */
static sqlite3 *open_replicated(int flags) {
  sqlite3 *db;
  char model[1024];
  register_vfs();
  db = t_open_v2(path, flags | SQLITE_OPEN_URI, REPLICATED);
  CHECK_QUERY(db, "SELECT semlite_model_load('minilm', ?1)", t_model_path(model, sizeof model, "minilm-l6-embed"),
              NULL, "minilm");
  CHECK_QUERY(db, "SELECT semlite_model_load('ce', ?1)", t_model_path(model, sizeof model, "minilm-l6-rerank"), NULL,
              "ce");
  return db;
}

/* A new replicated file with a table `log`, a connection to it, and *watcher: another
** connection (on the default VFS) that sees its commits. */
static sqlite3 *open_fresh(sqlite3 **watcher) {
  sqlite3 *db;
  char *sql;
  snprintf(path, sizeof path, "/tmp/semlite-replicated-%d.db", (int)getpid());
  t_remove_db(path);
  db = open_replicated(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  t_exec(db, "CREATE TABLE log(x)");
  *watcher = t_open();
  sql = sqlite3_mprintf("ATTACH %Q AS r", path);
  t_exec(*watcher, sql);
  sqlite3_free(sql);
  return db;
}

/* Closes both (nothing may keep them open), restores the L1 and removes the file. */
static void close_all(sqlite3 *db, sqlite3 *watcher) {
  t_exec(watcher, "UPDATE semlite_limits SET value = 64 WHERE name = 'l1_cache_mb'");
  CHECK_INT(sqlite3_close(db), SQLITE_OK);
  CHECK_INT(sqlite3_close(watcher), SQLITE_OK);
  t_remove_db(path);
}

/* Commits seen by another connection so far (PRAGMA data_version moves with each). */
static long long commits(sqlite3 *watcher) { return t_query_int(watcher, "PRAGMA data_version"); }

/* sql, run as a read, gives `expected` and leaves the database as it was: no commit
** another connection sees, no transaction open. */
#define CHECK_READ(db, watcher, sql, p1, expected) \
  do { long long before_ = commits(watcher); \
       CHECK_QUERY(db, sql, p1, NULL, expected); \
       CHECK_INT(commits(watcher), before_); \
       CHECK_INT(sqlite3_get_autocommit(db), 1); } while (0)

static const char refused[] =
  "database 'main' is replicated (VFS 'dqlite-test') and a read statement must not write it: "
  "run it inside a write statement sent as EXEC (INSERT INTO t SELECT ...)";

static void test_detection(void) {
  sqlite3 *watcher, *db = open_fresh(&watcher);
  char msg[1024];
  t_exec(db, "PRAGMA journal_mode = WAL");
  /* What the detection reads: the VFS of the schema's file; a memory database has none. */
  CHECK_QUERY(db, "SELECT count(*) FROM pragma_database_list WHERE name = 'main' AND file LIKE '%semlite-replicated%'",
              NULL, NULL, "1");
  /* Functions that must write refuse in a read, leaving nothing open. */
  snprintf(msg, sizeof msg, "ERROR: semlite_cache_enable: %s; or enable the cache in a local database: ATTACH one "
           "and call semlite_cache_enable('<its name>')", refused);
  CHECK_READ(db, watcher, "SELECT semlite_cache_enable()", NULL, msg);
  snprintf(msg, sizeof msg, "ERROR: semlite_ha_import: %s", refused);
  CHECK_READ(db, watcher, "SELECT semlite_ha_import('{\"areas\":[],\"devices\":[],\"entities\":[]}')", NULL, msg);
  snprintf(msg, sizeof msg, "ERROR: semlite_vec_migrate: %s", refused);
  CHECK_READ(db, watcher, "SELECT semlite_vec_migrate('t')", NULL, msg);
  snprintf(msg, sizeof msg, "ERROR: semlite_ha_history: %s", refused);
  CHECK_READ(db, watcher, "SELECT semlite_ha_history('main')", NULL, msg);
  CHECK_QUERY(db, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'semlite_cache%' OR name LIKE 'synergy%'", NULL,
              NULL, "0");
  /* Inside a write statement they write. */
  t_exec(db, "INSERT INTO log SELECT semlite_cache_enable()");
  CHECK_QUERY(db, "SELECT group_concat(x) FROM log", NULL, NULL, "1");
  /* Enabled, the cache serves reads and stores nothing from them: a counted lost write. */
  t_exec(db, "UPDATE semlite_limits SET value = 0 WHERE name = 'l1_cache_mb'");
  CHECK_READ(db, watcher, "SELECT length(embed('minilm', 'replicated read'))", NULL, "1536");
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_cache", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT misses || ' ' || write_failures FROM semlite_cache_stats WHERE op = 'embed'", NULL, NULL,
              "1 1");
  /* The same from a write statement is stored (and replicated with it), then served by reads. */
  t_exec(db, "INSERT INTO log SELECT length(embed('minilm', 'replicated read'))");
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_cache", NULL, NULL, "1");
  CHECK_READ(db, watcher, "SELECT length(embed('minilm', 'replicated read'))", NULL, "1536");
  CHECK_QUERY(db, "SELECT hits || ' ' || misses || ' ' || write_failures FROM semlite_cache_stats WHERE op = 'embed'",
              NULL, NULL, "1 2 1");
  /* A hit in a read records no use (hits, last_used): that would be a write. */
  CHECK_QUERY(db, "SELECT hits FROM semlite_cache", NULL, NULL, "0");
  /* Reading an enabled cache needs no write: a read enables it on another connection. */
  {
    sqlite3 *other = open_replicated(SQLITE_OPEN_READWRITE);
    CHECK_READ(other, watcher, "SELECT semlite_cache_enable()", NULL, "1");
    CHECK_READ(other, watcher, "SELECT length(embed('minilm', 'replicated read'))", NULL, "1536");
    CHECK_INT(sqlite3_close(other), SQLITE_OK);
  }
  /* A k-NN MATCH embed() is a read too. */
  t_exec(db, "CREATE VIRTUAL TABLE notes USING semlite_vec(body TEXT, v float[384], model=minilm, embed_from=body)");
  t_exec(db, "INSERT INTO notes(rowid, body) VALUES (1, 'turn off the heating'), (2, 'water the plants')");
  CHECK_READ(db, watcher, "SELECT group_concat(rowid) FROM notes WHERE v MATCH embed('minilm', 'heating off') AND k = 2",
             NULL, "1,2");
  /* Writers that change the database refuse in a read once there is something to change. */
  snprintf(msg, sizeof msg, "ERROR: semlite_cache_clear_expired: %s", refused);
  CHECK_READ(db, watcher, "SELECT semlite_cache_clear_expired()", NULL, msg);
  snprintf(msg, sizeof msg, "ERROR: semlite_cache_disable: %s", refused);
  CHECK_READ(db, watcher, "SELECT semlite_cache_disable()", NULL, msg);
  t_exec(db, "INSERT INTO log SELECT semlite_cache_clear_expired()");
  t_exec(db, "INSERT INTO log SELECT semlite_cache_disable()");
  CHECK_QUERY(db, "SELECT group_concat(x) FROM log", NULL, NULL, "1,1536,0,1");
  close_all(db, watcher);
}

/* The per-node cache: a local database attached beside the replicated one. */
static void test_local_cache(void) {
  sqlite3 *watcher, *db = open_fresh(&watcher);
  char local[300], *sql;
  snprintf(local, sizeof local, "%s-local", path);
  t_remove_db(local);
  /* A file on the default VFS (a URI names it), and a memory database. */
  sql = sqlite3_mprintf("ATTACH 'file:%q?vfs=unix' AS localcache", local);
  t_exec(db, sql);
  sqlite3_free(sql);
  t_exec(db, "ATTACH ':memory:' AS mem");
  t_exec(db, "UPDATE semlite_limits SET value = 0 WHERE name = 'l1_cache_mb'");
  CHECK_READ(db, watcher, "SELECT semlite_cache_enable('localcache')", NULL, "1");
  CHECK_READ(db, watcher, "SELECT length(embed('minilm', 'local'))", NULL, "1536");
  CHECK_QUERY(db, "SELECT count(*) FROM localcache.semlite_cache", NULL, NULL, "1");
  CHECK_READ(db, watcher, "SELECT length(embed('minilm', 'local'))", NULL, "1536");
  CHECK_QUERY(db, "SELECT hits || ' ' || misses || ' ' || write_failures FROM semlite_cache_stats WHERE op = 'embed'",
              NULL, NULL, "1 1 0");
  CHECK_READ(db, watcher, "SELECT semlite_cache_enable('mem')", NULL, "1");
  CHECK_READ(db, watcher, "SELECT length(embed('minilm', 'in memory'))", NULL, "1536");
  CHECK_QUERY(db, "SELECT count(*) FROM mem.semlite_cache", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'semlite_cache%'", NULL, NULL, "0");
  close_all(db, watcher);
  t_remove_db(local);
}

/* Hall motion -> Hall light, scored with both models. */
static const char home[] =
  "{\"areas\":[{\"area_id\":\"hall\",\"name\":\"Hall\"}],\"devices\":[],\"entities\":["
  "{\"entity_id\":\"binary_sensor.hall_motion\",\"domain\":\"binary_sensor\",\"name\":\"Hall motion\","
  "\"area_id\":\"hall\",\"device_class\":\"motion\",\"platform\":\"zha\"},"
  "{\"entity_id\":\"light.hall_light\",\"domain\":\"light\",\"name\":\"Hall light\",\"area_id\":\"hall\","
  "\"device_class\":null,\"platform\":\"zha\"}]}";

static void test_synergy(void) {
  sqlite3 *watcher, *db = open_fresh(&watcher);
  /* A failed import inside the write statement fails it, and its transaction takes every
  ** table the import had created. */
  CHECK_QUERY(db, "INSERT INTO log SELECT semlite_ha_import(?1) RETURNING x",
              "{\"areas\":[{\"area_id\":\"a\",\"name\":\"A\"},{\"area_id\":\"a\",\"name\":\"B\"}],"
              "\"devices\":[],\"entities\":[]}", NULL,
              "ERROR: semlite_ha_import: areas[1]: UNIQUE constraint failed: synergy_areas.area_id");
  CHECK_QUERY(db, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'synergy%'", NULL, NULL, "0");
  CHECK_INT(sqlite3_get_autocommit(db), 1);
  CHECK_QUERY(db, "INSERT INTO log SELECT semlite_ha_import(?1) RETURNING x", home, NULL,
              "{\"areas\":1,\"devices\":0,\"entities\":2,\"automations\":0}");
  t_exec(db, "UPDATE synergy_config SET value = 'minilm' WHERE key = 'embed_model'");
  t_exec(db, "UPDATE synergy_config SET value = 'ce' WHERE key = 'rerank_model'");
  /* No L1: the write statement below computes again, and stores what it computes. */
  t_exec(db, "UPDATE semlite_limits SET value = 0 WHERE name = 'l1_cache_mb'");
  /* A read scores with both models and stores none of its steps. */
  CHECK_READ(db, watcher, "SELECT trigger_entity || '>' || action_entity || ' ' || count(embedding) || count(rerank)"
             " FROM synergy_links", NULL, "binary_sensor.hall_motion>light.hall_light 11");
  CHECK_QUERY(db, "SELECT (SELECT count(*) FROM synergy_descriptors) || ' ' || (SELECT count(*) FROM synergy_hop_scores)",
              NULL, NULL, "0 0");
  /* A write statement stores them. */
  t_exec(db, "INSERT INTO log SELECT count(*) FROM synergy_links");
  CHECK_QUERY(db, "SELECT (SELECT count(*) FROM synergy_descriptors) || ' ' || (SELECT count(*) FROM synergy_hop_scores)",
              NULL, NULL, "2 1");
  CHECK_INT(sqlite3_close(db), SQLITE_OK);
  /* A read-only connection to it reads the stored steps and writes nothing. */
  db = open_replicated(SQLITE_OPEN_READONLY);
  CHECK_READ(db, watcher, "SELECT count(*) FROM synergy_links", NULL, "1");
  CHECK_READ(db, watcher, "SELECT semlite_cache_enable()", NULL,
             "ERROR: semlite_cache_enable: database 'main' is read-only and holds no enabled cache");
  close_all(db, watcher);
}

/* One statement embeds at most replicated_max_rows rows on a replicated database; the
** count starts again with each statement, inside a transaction too. */
static void test_statement_rows(void) {
  sqlite3 *watcher, *local, *db = open_fresh(&watcher);
  static const char refused_rows[] =
    "ERROR: notes: one statement embeds at most 3 rows on a replicated database (VFS 'dqlite-test'): the "
    "replicated_max_rows limit; insert in smaller statements or raise it in semlite_limits";
  CHECK_QUERY(db, "SELECT value FROM semlite_limits WHERE name = 'replicated_max_rows'", NULL, NULL, "64");
  t_exec(db, "UPDATE semlite_limits SET value = 3 WHERE name = 'replicated_max_rows'");
  t_exec(db, "CREATE VIRTUAL TABLE notes USING semlite_vec(body TEXT, v float[384], model=minilm, embed_from=body)");
  CHECK_QUERY(db, "INSERT INTO notes(body) VALUES ('a'), ('b'), ('c'), ('d') RETURNING rowid", NULL, NULL,
              refused_rows);
  CHECK_QUERY(db, "SELECT count(*) FROM notes", NULL, NULL, "0");
  t_exec(db, "INSERT INTO notes(body) VALUES ('a'), ('b'), ('c')");
  t_exec(db, "INSERT INTO notes(body) VALUES ('d'), ('e'), ('f')");
  /* A vector given is not embedded: not counted. */
  t_exec(db, "INSERT INTO notes(body, v) VALUES ('g1', embed('minilm', 'g')), ('g2', embed('minilm', 'g')), "
         "('g3', embed('minilm', 'g')), ('g4', embed('minilm', 'g')), ('g5', embed('minilm', 'g'))");
  t_exec(db, "BEGIN");
  t_exec(db, "INSERT INTO notes(body) VALUES ('h'), ('i'), ('j')");
  t_exec(db, "INSERT INTO notes(body) VALUES ('k'), ('l'), ('m')");
  CHECK_QUERY(db, "INSERT INTO notes(body) VALUES ('n'), ('o'), ('p'), ('q') RETURNING rowid", NULL, NULL,
              refused_rows);
  t_exec(db, "COMMIT");
  CHECK_QUERY(db, "SELECT count(*) || ' ' || count(v) FROM notes", NULL, NULL, "17 17");
  CHECK_QUERY(db, "SELECT semlite_vec_check('notes')", NULL, NULL, "ok");
  /* 0: no limit. A database on another VFS has none either. */
  t_exec(db, "UPDATE semlite_limits SET value = 0 WHERE name = 'replicated_max_rows'");
  t_exec(db, "INSERT INTO notes(body) VALUES ('r'), ('s'), ('t'), ('u')");
  t_exec(db, "UPDATE semlite_limits SET value = 3 WHERE name = 'replicated_max_rows'");
  local = t_open();
  t_exec(local, "SELECT semlite_model_load('minilm', (SELECT path FROM semlite_models WHERE name = 'minilm'))");
  t_exec(local, "CREATE VIRTUAL TABLE notes USING semlite_vec(body TEXT, v float[384], model=minilm, embed_from=body)");
  t_exec(local, "INSERT INTO notes(body) VALUES ('a'), ('b'), ('c'), ('d')");
  CHECK_QUERY(local, "SELECT count(v) FROM notes", NULL, NULL, "4");
  t_exec(db, "UPDATE semlite_limits SET value = 64 WHERE name = 'replicated_max_rows'");
  CHECK_INT(sqlite3_close(local), SQLITE_OK);
  close_all(db, watcher);
}

const sl_test replicated_tests[] = {
  {"statement_rows", test_statement_rows},
  {"detection", test_detection},
  {"local_cache", test_local_cache},
  {"synergy", test_synergy},
  {NULL, NULL},
};
