/*
** test_vtab_hnsw.c: semlite_vec's `indexed by hnsw(...)` through SQL on the real
** semlite.so: recall@10 against the exact search of an unindexed twin table on seeded
** clustered data, deleted rows never returned, ROLLBACK and ROLLBACK TO restoring the
** graph, reopening a file database, upserts and updates, filters (graph and exact
** paths), the knob command, the CREATE option messages, semlite_vec_check finding
** a damaged links BLOB, the process-wide cache, a writer killed mid-transaction, and the
** bulk build (INSERT ... SELECT and hnsw-rebuild give the same graph on 1 and 2 threads,
** its hnsw-build progress job).
*/
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "test_ann.h"

#define DIMS 64
#define CLUSTERS 16

static t_ann_data data;  /* DIMS x CLUSTERS, noise 0.45 */

#define CREATE_T "CREATE VIRTUAL TABLE t USING semlite_vec(e float[64] distance_metric=cosine indexed by hnsw(m=16, ef_construction=200), cat integer)"
#define CREATE_X "CREATE VIRTUAL TABLE x USING semlite_vec(e float[64] distance_metric=cosine, cat integer)"
#define CHECK_OK(db) CHECK_QUERY(db, "SELECT semlite_vec_check('t')", NULL, NULL, "ok")

/* A table t and its exact twin x with the same n clustered rows. */
static sqlite3 *build(const char *path, int n) {
  sqlite3 *db = path ? t_open_path(path) : t_open();
  t_exec(db, CREATE_T);
  t_exec(db, CREATE_X);
  t_ann_init(&data, DIMS, CLUSTERS, 0.45f, 17);
  t_ann_seed(&data, 99);
  t_ann_insert(db, &data, "t", "x", 1, n);
  return db;
}

/* ---- tests ---- */

static void test_recall(void) {
  sqlite3 *db = build(NULL, 5000);
  double r = t_ann_recall(db, &data, "t", "x", 100, 7, NULL);
  printf("  recall@10 vs exact, 5000 x 64 clustered, cosine, m=16 ef_construction=200 ef_search=64: %.3f\n", r);
  CHECK_MSG(r >= 0.95, "recall@10 %.3f < 0.95", r);
  CHECK_OK(db);
  CHECK_QUERY(db, "SELECT count(*) FROM t_hnsw_nodes WHERE rowid IS NOT NULL", NULL, NULL, "5000");
  /* the nearest row to a stored vector is itself, at distance 0 */
  CHECK_QUERY(db, "SELECT rowid FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 1234) AND k = 1", NULL, NULL, "1234");
  /* LIMIT as k, and ORDER BY distance */
  CHECK_QUERY(db, "SELECT count(*) FROM (SELECT rowid FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 5) "
                  "ORDER BY distance LIMIT 7)", NULL, NULL, "7");
  /* results come ordered by distance */
  CHECK_QUERY(db, "WITH r AS (SELECT rowid, distance FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 77) AND k = 10) "
                  "SELECT count(*) FROM r a JOIN r b ON b.rowid != a.rowid AND b.distance < a.distance AND b.rowid IN "
                  "(SELECT rowid FROM r) WHERE a.rowid = (SELECT rowid FROM r ORDER BY distance LIMIT 1)", NULL, NULL, "0");
  sqlite3_close(db);
}

static void test_deletes(void) {
  sqlite3 *db = build(NULL, 2000);
  double r;
  t_exec(db, "DELETE FROM t WHERE rowid % 3 = 0");
  t_exec(db, "DELETE FROM x WHERE rowid % 3 = 0");
  CHECK_OK(db);
  /* a purge ran (tombstones over 12% of the nodes): fewer nodes than ever inserted */
  CHECK(t_query_int(db, "SELECT count(*) FROM t_hnsw_nodes") < 2000);
  CHECK_QUERY(db, "SELECT count(*) FROM t_hnsw_nodes WHERE rowid IS NOT NULL", NULL, NULL, "1334");
  r = t_ann_recall(db, &data, "t", "x", 50, 8, NULL);
  CHECK_MSG(r >= 0.95, "recall@10 after deletes %.3f < 0.95", r);
  /* a deleted row is never returned, even when its vector is the query */
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM (SELECT rowid FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 4) "
                            "AND k = 100) WHERE rowid % 3 = 0"), 0);
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM (SELECT rowid FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 4) "
                            "AND k = 100)"), 100);
  /* every row deleted: an empty graph, then rows again */
  t_exec(db, "DELETE FROM t");
  CHECK_QUERY(db, "SELECT count(*) FROM t_hnsw_nodes", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT count(*) FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 1) AND k = 5", NULL, NULL, "0");
  CHECK_OK(db);
  t_exec(db, "INSERT INTO t(rowid, e, cat) SELECT rowid, e, cat FROM x WHERE rowid < 100");
  CHECK_QUERY(db, "SELECT rowid FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 50) AND k = 1", NULL, NULL, "50");
  CHECK_OK(db);
  sqlite3_close(db);
}

static void test_rollback(void) {
  sqlite3 *db = build(NULL, 1500);
  char *before = t_ann_snapshot(db, &data, "t", NULL), *after;
  char *nodes = t_query(db, "SELECT sum(length(links)) || ':' || count(*) FROM t_hnsw_nodes", NULL, NULL);
  t_exec(db, "BEGIN");
  t_exec(db, "INSERT INTO t(rowid, e, cat) SELECT rowid + 10000, e, cat FROM x WHERE rowid <= 300");
  t_exec(db, "DELETE FROM t WHERE rowid BETWEEN 100 AND 600");
  t_exec(db, "UPDATE t SET e = (SELECT e FROM x WHERE x.rowid = t.rowid + 1) WHERE rowid BETWEEN 700 AND 760");
  after = t_ann_snapshot(db, &data, "t", NULL);
  CHECK(strcmp(before, after) != 0);
  sqlite3_free(after);
  t_exec(db, "ROLLBACK");
  after = t_ann_snapshot(db, &data, "t", NULL);
  CHECK_STR(after, before);
  sqlite3_free(after);
  CHECK_QUERY(db, "SELECT sum(length(links)) || ':' || count(*) FROM t_hnsw_nodes", NULL, NULL, nodes);
  CHECK_OK(db);
  /* ROLLBACK TO a savepoint keeps what came before it */
  t_exec(db, "BEGIN");
  t_exec(db, "INSERT INTO t(rowid, e, cat) SELECT rowid + 20000, e, cat FROM x WHERE rowid <= 10");
  t_exec(db, "SAVEPOINT s");
  t_exec(db, "DELETE FROM t WHERE rowid < 1000");
  t_exec(db, "ROLLBACK TO s");
  t_exec(db, "RELEASE s");
  t_exec(db, "COMMIT");
  CHECK_QUERY(db, "SELECT count(*) FROM t_hnsw_nodes WHERE rowid IS NOT NULL", NULL, NULL, "1510");
  CHECK_QUERY(db, "SELECT rowid FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 3) AND k = 2 AND rowid > 20000",
              NULL, NULL, "20003");
  CHECK_OK(db);
  /* a failed statement (a rowid conflict half way) leaves the index as it was */
  CHECK_QUERY(db, "INSERT INTO t(rowid, e, cat) SELECT rowid + 30000, e, cat FROM x WHERE rowid <= 10 "
                  "UNION ALL SELECT 1, e, cat FROM x WHERE rowid = 2", NULL, NULL,
              "ERROR: t: UNIQUE constraint failed: t.rowid (1)");
  CHECK_QUERY(db, "SELECT count(*) FROM t_hnsw_nodes WHERE rowid IS NOT NULL", NULL, NULL, "1510");
  CHECK_OK(db);
  sqlite3_free(before);
  sqlite3_free(nodes);
  sqlite3_close(db);
}

static void test_reopen(void) {
  char path[256];
  const char *dir = getenv("TMPDIR");
  sqlite3 *db;
  char *before, *after;
  snprintf(path, sizeof path, "%s/semlite-hnsw-%d.db", dir && *dir ? dir : "/tmp", (int)getpid());
  t_remove_db(path);
  db = build(path, 1000);
  t_exec(db, "INSERT INTO t(t) VALUES ('ef_search=120')");
  before = t_ann_snapshot(db, &data, "t", NULL);
  sqlite3_close(db);
  db = t_open_path(path);
  after = t_ann_snapshot(db, &data, "t", NULL);
  CHECK_STR(after, before);
  CHECK_QUERY(db, "SELECT value FROM t_hnsw_info WHERE key = 'ef_search'", NULL, NULL, "120");
  CHECK_OK(db);
  /* a second connection sees the first one's commits */
  {
    sqlite3 *db2 = t_open_path(path);
    char *s2 = t_ann_snapshot(db2, &data, "t", NULL);
    CHECK_STR(s2, before);
    sqlite3_free(s2);
    t_exec(db, "DELETE FROM t WHERE rowid <= 500");
    CHECK_INT(t_query_int(db2, "SELECT count(*) FROM (SELECT rowid FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 2) "
                               "AND k = 20) WHERE rowid <= 500"), 0);
    /* a new vector in the other connection: new chunk and index versions, seen at once
    ** (the chunk versions this connection remembered are dropped with the data version) */
    CHECK_QUERY(db2, "SELECT rowid FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 900) AND k = 1", NULL, NULL,
                "900");
    t_exec(db, "UPDATE t SET e = (SELECT e FROM x WHERE rowid = 900) WHERE rowid = 600");
    CHECK_QUERY(db2, "SELECT group_concat(rowid) FROM (SELECT rowid FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = "
                     "900) AND k = 2)", NULL, NULL, "600,900");
    sqlite3_close(db2);
  }
  sqlite3_free(before);
  sqlite3_free(after);
  sqlite3_close(db);
  t_remove_db(path);
}

static void test_upsert_update(void) {
  sqlite3 *db = build(NULL, 1000);
  /* REPLACE gives row 10 the vector of x's row 900: its own neighbourhood now */
  t_exec(db, "INSERT OR REPLACE INTO t(rowid, e, cat) SELECT 10, e, cat FROM x WHERE rowid = 900");
  CHECK_QUERY(db, "SELECT group_concat(rowid) FROM (SELECT rowid FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 900) "
                  "AND k = 2)", NULL, NULL, "10,900");
  CHECK_QUERY(db, "SELECT distance > 0.01 FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 10) AND k = 1 AND "
                  "rowid = 10", NULL, NULL, "1");
  /* UPDATE of the vector */
  t_exec(db, "UPDATE t SET e = (SELECT e FROM x WHERE rowid = 901) WHERE rowid = 11");
  CHECK_QUERY(db, "SELECT group_concat(rowid) FROM (SELECT rowid FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 901) "
                  "AND k = 2)", NULL, NULL, "11,901");
  /* UPDATE of the rowid alone: the node follows */
  t_exec(db, "UPDATE t SET rowid = 5000 WHERE rowid = 12");
  CHECK_QUERY(db, "SELECT rowid FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 12) AND k = 1", NULL, NULL, "5000");
  /* UPDATE of metadata only leaves the graph alone */
  t_exec(db, "UPDATE t SET cat = 99 WHERE rowid = 13");
  CHECK_QUERY(db, "SELECT rowid FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 13) AND k = 1 AND cat = 99", NULL,
              NULL, "13");
  CHECK_OK(db);
  sqlite3_close(db);
}

static void test_filters(void) {
  sqlite3 *db = build(NULL, 3000);
  double loose = t_ann_recall(db, &data, "t", "x", 40, 9, "AND cat IN (1, 2, 3, 4, 5)");
  double selective = t_ann_recall(db, &data, "t", "x", 40, 10, "AND cat = 7 AND rowid < 2000");
  printf("  filtered recall@10: 50%% of rows (graph) %.3f, 6.7%% of rows (exact) %.3f\n", loose, selective);
  CHECK_MSG(loose >= 0.95, "loose filter recall %.3f", loose);
  CHECK_MSG(selective == 1.0, "selective filter (exact scan) recall %.3f", selective);
  /* the switch forced either way: the graph under a selective filter still finds most,
  ** the exact scan under a loose one finds all */
  t_exec(db, "INSERT INTO t(t) VALUES ('filter_exact_pct=0')");
  selective = t_ann_recall(db, &data, "t", "x", 40, 10, "AND cat = 7 AND cat IS NOT NULL");
  t_exec(db, "INSERT INTO t(t) VALUES ('filter_exact_pct=100')");
  loose = t_ann_recall(db, &data, "t", "x", 40, 9, "AND cat IN (1, 2, 3, 4, 5)");
  printf("  forced: 10%% of rows through the graph %.3f, 50%% of rows exact %.3f\n", selective, loose);
  CHECK_MSG(selective >= 0.9, "selective filter through the graph: recall %.3f", selective);
  CHECK_MSG(loose == 1.0, "loose filter scanned exactly: recall %.3f", loose);
  t_exec(db, "INSERT INTO t(t) VALUES ('filter_exact_pct=10')");
  /* every row returned passes the filter, and k rows come back */
  CHECK_QUERY(db, "SELECT count(*) || ':' || sum(cat IN (1, 2, 3, 4, 5)) FROM t WHERE e MATCH (SELECT e FROM x WHERE "
                  "rowid = 9) AND k = 25 AND cat IN (1, 2, 3, 4, 5)", NULL, NULL, "25:25");
  CHECK_QUERY(db, "SELECT count(*) FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 9) AND k = 25 AND cat = 4",
              NULL, NULL, "25");
  /* rowid IN (...): exact over those rows */
  char *exact = t_query(db, "SELECT group_concat(rowid) FROM (SELECT rowid FROM x WHERE e MATCH (SELECT e FROM x WHERE "
                            "rowid = 40) AND k = 3 AND rowid IN (40, 41, 2999))", NULL, NULL);
  CHECK_QUERY(db, "SELECT group_concat(rowid) FROM (SELECT rowid FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 40) "
                  "AND k = 3 AND rowid IN (40, 41, 2999))", NULL, NULL, exact);
  sqlite3_free(exact);
  sqlite3_close(db);
}

static void test_knob(void) {
  sqlite3 *db = build(NULL, 500);
  t_exec(db, "INSERT INTO t(t) VALUES ('ef_search=10')");
  CHECK_QUERY(db, "SELECT value FROM t_hnsw_info WHERE key = 'ef_search'", NULL, NULL, "10");
  /* k above ef_search: ef becomes k */
  CHECK_QUERY(db, "SELECT count(*) FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 1) AND k = 40", NULL, NULL, "40");
  CHECK_QUERY(db, "INSERT INTO t(t) VALUES ('ef_search=0')", NULL, NULL,
              "ERROR: t: hnsw option ef_search must be an integer from 1 to 10000, got '0'");
  CHECK_QUERY(db, "INSERT INTO t(t) VALUES ('ef_search=abc')", NULL, NULL,
              "ERROR: t: hnsw option ef_search must be an integer from 1 to 10000, got 'abc'");
  CHECK_QUERY(db, "INSERT INTO t(t) VALUES ('compute-centroids')", NULL, NULL,
              "ERROR: t: unknown command 'compute-centroids' (ef_search=N, filter_exact_pct=N, hnsw-rebuild, "
              "hnsw-purge)");
  CHECK_QUERY(db, "INSERT INTO t(t) VALUES ('filter_exact_pct=101')", NULL, NULL,
              "ERROR: t: hnsw option filter_exact_pct must be an integer from 0 to 100, got '101'");
  CHECK_QUERY(db, "INSERT INTO t(t) VALUES (42)", NULL, NULL, "ERROR: t: a command must be TEXT, got INTEGER");
  /* rebuild and purge keep the table whole */
  t_exec(db, "DELETE FROM t WHERE rowid <= 20");
  t_exec(db, "INSERT INTO t(t) VALUES ('hnsw-purge')");
  CHECK_QUERY(db, "SELECT count(*) FROM t_hnsw_nodes", NULL, NULL, "480");
  t_exec(db, "INSERT INTO t(t) VALUES ('hnsw-rebuild')");
  CHECK_QUERY(db, "SELECT count(*) FROM t_hnsw_nodes", NULL, NULL, "480");
  CHECK_QUERY(db, "SELECT rowid FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 321) AND k = 1", NULL, NULL, "321");
  CHECK_OK(db);
  sqlite3_close(db);
}

/* The process-wide cache: semlite_memory reports it; with ann_cache_mb = 0 each connection
** keeps its own image and answers the same. */
static void test_cache(void) {
  sqlite3 *db = build(NULL, 800);
  char *before = t_ann_snapshot(db, &data, "t", NULL), *after;
  CHECK(t_query_int(db, "SELECT bytes FROM semlite_memory WHERE kind = 'ann_cache'") > 800 * 400);
  CHECK_QUERY(db, "SELECT detail LIKE 'semlite_vec hnsw indexes held: %, % vectors, % bytes/vector' FROM "
                  "semlite_memory WHERE kind = 'ann_cache'", NULL, NULL, "1");
  t_exec(db, "UPDATE semlite_limits SET value = 0 WHERE name = 'ann_cache_mb'");
  CHECK_QUERY(db, "SELECT bytes FROM semlite_memory WHERE kind = 'ann_cache'", NULL, NULL, "0");
  after = t_ann_snapshot(db, &data, "t", NULL);
  CHECK_STR(after, before);
  sqlite3_free(after);
  t_exec(db, "DELETE FROM t WHERE rowid <= 100");
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM (SELECT rowid FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 5) "
                            "AND k = 30) WHERE rowid <= 100"), 0);
  CHECK_OK(db);
  t_exec(db, "UPDATE semlite_limits SET value = 512 WHERE name = 'ann_cache_mb'");
  sqlite3_free(before);
  sqlite3_close(db);
}

/* The child of test_crash: transactions of 50 inserts (from x) and 5 deletes until
** killed, one byte down the pipe per commit. */
static void crash_child(const char *path, int fd) {
  sqlite3 *db = t_open_path(path);
  for (long long base = t_query_int(db, "SELECT ifnull(max(rowid), 0) FROM t");; base += 50) {
    char sql[300];
    t_exec(db, "BEGIN");
    snprintf(sql, sizeof sql, "INSERT INTO t(rowid, e, cat) SELECT rowid + %lld, e, cat FROM x WHERE rowid <= 50", base);
    t_exec(db, sql);
    snprintf(sql, sizeof sql, "DELETE FROM t WHERE rowid > %lld AND rowid %% 10 = 3", base);
    t_exec(db, sql);
    t_exec(db, "COMMIT");
    if (write(fd, "c", 1) != 1) _exit(1);
  }
}

/* A writer killed (SIGKILL) anywhere: the index is whole after every reopen. */
static void test_crash(void) {
  char path[256];
  const char *dir = getenv("TMPDIR");
  sqlite3 *db;
  snprintf(path, sizeof path, "%s/semlite-hnsw-crash-%d.db", dir && *dir ? dir : "/tmp", (int)getpid());
  t_remove_db(path);
  db = t_open_path(path);
  CHECK_QUERY(db, "PRAGMA journal_mode = WAL", NULL, NULL, "wal");
  sqlite3_close(db);
  sqlite3_close(build(path, 100));
  for (int round = 0; round < 3; round++) {
    char buf[300];
    int killed;
    long long commits = t_kill_writer(path, crash_child, 3, 20 + 30 * round, &killed);
    CHECK_MSG(killed && commits >= 3, "round %d: %lld commits, killed %d", round, commits, killed);
    db = t_open_path(path);
    CHECK_QUERY(db, "PRAGMA integrity_check", NULL, NULL, "ok");
    CHECK_OK(db);
    {
      long long max = t_query_int(db, "SELECT max(rowid) FROM t");
      /* (rows 50, 150, ... share x's row 50: ties come by rowid) */
      snprintf(buf, sizeof buf, "SELECT count(*) FROM (SELECT rowid FROM t WHERE e MATCH (SELECT e FROM t WHERE "
                                "rowid = %lld) AND k = 300) WHERE rowid = %lld", max, max);
      CHECK_MSG(max % 50 == 0, "round %d: max rowid %lld is not a whole transaction", round, max);
      CHECK_INT(t_query_int(db, buf), 1);
    }
    sqlite3_close(db);
  }
  t_remove_db(path);
}

static void test_create_errors(void) {
  static const struct { const char *args, *expect; } cases[] = {
    {"e float[8] indexed by hnsw(m=1)", "ERROR: v: column e: hnsw option m must be an integer from 2 to 128, got '1'"},
    {"e float[8] indexed by hnsw(mm=4)", "ERROR: v: column e: unknown hnsw option 'mm' (m, ef_construction, ef_search)"},
    {"e float[8] indexed by hnsw(m=4, m=5)", "ERROR: v: column e: hnsw option m is given twice"},
    {"e float[8] indexed by hnsw(ef_construction=0)",
     "ERROR: v: column e: hnsw option ef_construction must be an integer from 1 to 10000, got '0'"},
    {"e float[8] indexed by hnsw(ef_search=x)",
     "ERROR: v: column e: hnsw option ef_search must be an integer from 1 to 10000, got 'x'"},
    {"e int8[8] indexed by hnsw()",
     "ERROR: v: column e: indexed by hnsw(...) needs a float vector column with distance_metric l2, cosine or dot, "
     "not int8 with l2"},
    {"e float[8] distance_metric=l1 indexed by hnsw()",
     "ERROR: v: column e: indexed by hnsw(...) needs a float vector column with distance_metric l2, cosine or dot, "
     "not float with l1"},
    {"a float[8], b float[8] indexed by hnsw()", "ERROR: v: 'indexed by hnsw(...)' applies to the first vector column only"},
    {"e float[8] indexed by hnsw(m=4 ef_search=5)",
     "ERROR: v: expected ',' or ')' in hnsw(...) of 'e float[8] indexed by hnsw(m=4 ef_search=5)'"},
  };
  sqlite3 *db = t_open();
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *sql = sqlite3_mprintf("CREATE VIRTUAL TABLE v USING semlite_vec(%s)", cases[i].args);
    CHECK_QUERY(db, sql, NULL, NULL, cases[i].expect);
    sqlite3_free(sql);
  }
  /* the defaults, and the vec0 spelling */
  t_exec(db, "CREATE VIRTUAL TABLE v USING vec0(e float[8] indexed by hnsw())");
  CHECK_QUERY(db, "SELECT group_concat(key || '=' || value) FROM (SELECT * FROM v_hnsw_info WHERE key IN ('m', "
                  "'ef_construction', 'ef_search') ORDER BY key)", NULL, NULL, "ef_construction=200,ef_search=64,m=16");
  t_exec(db, "INSERT INTO v(rowid, e) VALUES (1, '[1,2,3,4,5,6,7,8]'), (2, '[8,7,6,5,4,3,2,1]')");
  CHECK_QUERY(db, "SELECT rowid FROM v WHERE e MATCH '[1,2,3,4,5,6,7,7]' AND k = 1", NULL, NULL, "1");
  t_exec(db, "ALTER TABLE v RENAME TO w");
  CHECK_QUERY(db, "SELECT rowid FROM w WHERE e MATCH '[8,7,6,5,4,3,2,2]' AND k = 1", NULL, NULL, "2");
  CHECK_QUERY(db, "SELECT semlite_vec_check('w')", NULL, NULL, "ok");
  t_exec(db, "DROP TABLE w");
  CHECK_QUERY(db, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'w%'", NULL, NULL, "0");
  sqlite3_close(db);
}

static void test_check(void) {
  sqlite3 *db = build(NULL, 300);
  /* a links BLOB whose level-0 count runs past its end */
  t_exec(db, "UPDATE t_hnsw_nodes SET links = x'ff000000' WHERE node = 5");
  CHECK_QUERY(db, "SELECT semlite_vec_check('t')", NULL, NULL,
              "hnsw index: t_hnsw_nodes: node 5 has 255 links on level 0, over 32");
  /* a link to a node that does not exist */
  t_exec(db, "UPDATE t_hnsw_nodes SET links = x'0100000039300000' WHERE node = 5");
  CHECK_QUERY(db, "SELECT semlite_vec_check('t')", NULL, NULL,
              "hnsw index: t_hnsw_nodes: node 5 links to node 12345 on level 0, which has no such node");
  /* a node that links to itself */
  t_exec(db, "UPDATE t_hnsw_nodes SET links = x'0100000005000000' WHERE node = 5 AND level = 0");
  if (t_query_int(db, "SELECT level FROM t_hnsw_nodes WHERE node = 5") == 0)
    CHECK_QUERY(db, "SELECT semlite_vec_check('t')", NULL, NULL, "hnsw index: node 5 links to itself on level 0");
  /* a row without a live node */
  t_exec(db, "UPDATE t_hnsw_nodes SET links = (SELECT links FROM t_hnsw_nodes WHERE node = 7) WHERE node = 5");
  t_exec(db, "UPDATE t_hnsw_nodes SET level = (SELECT level FROM t_hnsw_nodes WHERE node = 7), rowid = NULL "
             "WHERE node = 5");
  CHECK_QUERY(db, "SELECT semlite_vec_check('t')", NULL, NULL,
              "hnsw index: row 6 has no node\nhnsw index: 299 live nodes for 300 rows");
  /* a node of a missing node */
  t_exec(db, "DELETE FROM t_hnsw_nodes WHERE node = 5");
  {
    char *report = t_query(db, "SELECT semlite_vec_check('t')", NULL, NULL);
    CHECK_MSG(report && strstr(report, "links to node 5 on level 0, which has no such node"), "check: %s",
              report ? report : "NULL");
    sqlite3_free(report);
  }
  /* queries refuse a damaged graph rather than answer wrong */
  t_exec(db, "UPDATE t_hnsw_nodes SET links = x'ff000000' WHERE node = 6");
  t_exec(db, "UPDATE t_hnsw_info SET value = randomblob(8) WHERE key = 'version'");
  CHECK_QUERY(db, "SELECT count(*) FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 1) AND k = 3", NULL, NULL,
              "ERROR: t: t_hnsw_nodes: node 6 has 255 links on level 0, over 32 (run semlite_vec_check)");
  sqlite3_close(db);
}

/* The graph of table, node by node, as one string. */
static char *graph_text(sqlite3 *db, const char *table) {
  char *sql = sqlite3_mprintf("SELECT group_concat(node || ':' || ifnull(rowid, '-') || ':' || level || ':' || hex(links), "
                              "' ') || ' entry ' || (SELECT value FROM \"%w_hnsw_info\" WHERE key = 'entry') FROM "
                              "(SELECT * FROM \"%w_hnsw_nodes\" ORDER BY node)", table, table);
  sqlite3_stmt *st;
  char *out = NULL;
  CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
  if (sqlite3_step(st) == SQLITE_ROW) out = sqlite3_mprintf("%s", (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_free(sql);
  return out;
}

/* Bulk build: one INSERT ... SELECT of 2000 rows links them in parallel batches at the
** commit. The graph does not depend on the thread count (1 or every core), and
** hnsw-rebuild (rowid order) makes the same graph again; recall as for row-by-row. */
static void test_bulk(void) {
  sqlite3 *db = t_open();
  char *g[2];
  t_exec(db, CREATE_X);
  t_ann_init(&data, DIMS, CLUSTERS, 0.45f, 17);
  t_ann_seed(&data, 99);
  t_ann_insert(db, &data, "x", NULL, 1, 2000);
  for (int i = 0; i < 2; i++) {
    char *sql = sqlite3_mprintf("UPDATE semlite_limits SET value = %d WHERE name = 'threads'", i ? 64 : 1);
    FILE *log = i ? tmpfile() : NULL;
    int saved = -1;
    t_exec(db, sql);
    sqlite3_free(sql);
    sql = sqlite3_mprintf("CREATE VIRTUAL TABLE t%d USING semlite_vec(e float[64] distance_metric=cosine indexed by "
                          "hnsw(m=16, ef_construction=200), cat integer);"
                          "INSERT INTO t%d(rowid, e, cat) SELECT rowid, e, cat FROM x ORDER BY rowid", i, i);
    /* the second build's progress, as semlite_progress_report prints it to stderr */
    if (log) {
      fflush(stderr);
      saved = dup(2);
      CHECK(saved >= 0 && dup2(fileno(log), 2) == 2);
      t_exec(db, "SELECT semlite_progress_report(1)");
    }
    t_exec(db, sql);
    sqlite3_free(sql);
    if (log) {
      char text[4096];
      size_t n;
      t_exec(db, "SELECT semlite_progress_report(0)");
      fflush(stderr);
      dup2(saved, 2);
      close(saved);
      rewind(log);
      n = fread(text, 1, sizeof text - 1, log);
      text[n] = 0;
      fclose(log);
      CHECK_MSG(strstr(text, "semlite: hnsw-build t1: 2000/2000 (") && strstr(text, " done\n"),
                "progress printed: %s", text);
    }
  }
  t_exec(db, "UPDATE semlite_limits SET value = 64 WHERE name = 'threads'");
  g[0] = graph_text(db, "t0");
  g[1] = graph_text(db, "t1");
  CHECK(g[0] && g[1] && strlen(g[0]) > 2000 * 10);
  CHECK_MSG(g[0] && g[1] && strcmp(g[0], g[1]) == 0, "the graphs built on 1 and 2 threads differ");
  CHECK_QUERY(db, "SELECT semlite_vec_check('t0') || semlite_vec_check('t1')", NULL, NULL, "okok");
  {
    double r = t_ann_recall(db, &data, "t1", "x", 100, 7, NULL);
    printf("  recall@10 after INSERT ... SELECT of 2000 rows (batches of 256): %.3f\n", r);
    CHECK_MSG(r >= 0.95, "recall@10 %.3f < 0.95", r);
  }
  t_exec(db, "INSERT INTO t1(t1) VALUES ('hnsw-rebuild')");
  sqlite3_free(g[1]);
  g[1] = graph_text(db, "t1");
  CHECK_MSG(g[0] && g[1] && strcmp(g[0], g[1]) == 0, "hnsw-rebuild made another graph");
  /* a search inside the transaction sees rows not linked yet */
  t_exec(db, "BEGIN; INSERT INTO t1(rowid, e, cat) SELECT rowid + 5000, e, cat FROM x WHERE rowid <= 300");
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM (SELECT rowid FROM t1 WHERE e MATCH (SELECT e FROM x WHERE "
                  "rowid = 123) AND k = 2 ORDER BY rowid)", NULL, NULL, "123 5123");
  t_exec(db, "ROLLBACK");
  CHECK_QUERY(db, "SELECT count(*) FROM t1_hnsw_nodes", NULL, NULL, "2000");
  CHECK_QUERY(db, "SELECT semlite_vec_check('t1')", NULL, NULL, "ok");
  /* a savepoint links and writes out what came before it; ROLLBACK TO drops what came after */
  t_exec(db, "BEGIN; INSERT INTO t1(rowid, e, cat) SELECT rowid + 5000, e, cat FROM x WHERE rowid <= 300; SAVEPOINT s;"
             "INSERT INTO t1(rowid, e, cat) SELECT rowid + 9000, e, cat FROM x WHERE rowid <= 200; ROLLBACK TO s; COMMIT");
  CHECK_QUERY(db, "SELECT count(*) || ' ' || max(rowid) FROM t1_hnsw_nodes", NULL, NULL, "2300 5300");
  CHECK_QUERY(db, "SELECT semlite_vec_check('t1')", NULL, NULL, "ok");
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM (SELECT rowid FROM t1 WHERE e MATCH (SELECT e FROM x WHERE "
                  "rowid = 7) AND k = 2 ORDER BY rowid)", NULL, NULL, "7 5007");
  sqlite3_free(g[0]);
  sqlite3_free(g[1]);
  sqlite3_close(db);
}

const sl_test vtab_hnsw_tests[] = {
  {"bulk", test_bulk},
  {"recall", test_recall},
  {"deletes", test_deletes},
  {"rollback", test_rollback},
  {"reopen", test_reopen},
  {"upsert_update", test_upsert_update},
  {"filters", test_filters},
  {"knob", test_knob},
  {"cache", test_cache},
  {"crash", test_crash},
  {"create_errors", test_create_errors},
  {"check", test_check},
  {NULL, NULL},
};
