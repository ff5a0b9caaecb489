/*
** test_vtab_ivf.c: semlite_vec's `indexed by ivf(...)` through SQL on the real
** semlite.so, against an unindexed twin table on seeded clustered data: exact answers
** before any centroid, recall@10 after 'compute-centroids' (and the probe knob), deleted
** rows never returned, ROLLBACK and ROLLBACK TO, reopening a file database, updates,
** filters (index and exact paths), set-centroid / assign-vectors / clear-centroids,
** every error message, semlite_vec_check finding damaged lists, and the vec0 spelling.
*/
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"
#include "test_ann.h"

#define DIMS 32
#define CLUSTERS 24

static t_ann_data data;  /* DIMS x CLUSTERS, noise 0.5 */

/* n clustered rows (cat = rowid % 10) into t and its twin x, from rowid 1. */
static void fill(sqlite3 *db, int n) {
  t_ann_init(&data, DIMS, CLUSTERS, 0.5f, 17);
  t_ann_seed(&data, 99);
  t_ann_insert(db, &data, "t", "x", 1, n);
}

#define CREATE_T "CREATE VIRTUAL TABLE t USING semlite_vec(e float[32] distance_metric=cosine indexed by ivf(nlist=32, nprobe=4), cat integer)"
#define CREATE_X "CREATE VIRTUAL TABLE x USING semlite_vec(e float[32] distance_metric=cosine, cat integer)"
#define CHECK_OK(db) CHECK_QUERY(db, "SELECT semlite_vec_check('t')", NULL, NULL, "ok")

static sqlite3 *build(const char *path, int n) {
  sqlite3 *db = path ? t_open_path(path) : t_open();
  t_exec(db, CREATE_T);
  t_exec(db, CREATE_X);
  fill(db, n);
  return db;
}

#define SAME_AS_TWIN(db, and)                                  \
  do {                                                         \
    char *sa_ = t_ann_snapshot(db, &data, "t", and), *sb_ = t_ann_snapshot(db, &data, "x", and); \
    CHECK_STR(sa_, sb_);                                       \
    sqlite3_free(sa_), sqlite3_free(sb_);                      \
  } while (0)

/* ---- tests ---- */

static void test_exact_before_centroids(void) {
  sqlite3 *db = build(NULL, 3000);
  CHECK_QUERY(db, "SELECT count(*) || ' ' || min(list) || ' ' || max(list) FROM t_ivf_lists", NULL, NULL, "3000 -1 -1");
  SAME_AS_TWIN(db, NULL);
  SAME_AS_TWIN(db, "AND cat = 3");
  CHECK_OK(db);
  sqlite3_close(db);
}

static void test_recall(void) {
  sqlite3 *db = build(NULL, 6000);
  double r1, r4, r32;
  t_exec(db, "INSERT INTO t(t) VALUES ('compute-centroids')");
  CHECK_QUERY(db, "SELECT count(*) FROM t_ivf_centroids", NULL, NULL, "32");
  CHECK_QUERY(db, "SELECT count(*) FROM t_ivf_lists WHERE list = -1", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT count(DISTINCT list) > 16 FROM t_ivf_lists", NULL, NULL, "1");
  CHECK_OK(db);
  r4 = t_ann_recall(db, &data, "t", "x", 100, 7, NULL);
  t_exec(db, "INSERT INTO t(t) VALUES ('nprobe=1')");
  r1 = t_ann_recall(db, &data, "t", "x", 100, 7, NULL);
  t_exec(db, "INSERT INTO t(t) VALUES ('nprobe=32')");
  r32 = t_ann_recall(db, &data, "t", "x", 100, 7, NULL);
  printf("  recall@10 vs exact, 6000 x 32 clustered, cosine, nlist=32: nprobe=1 %.3f, 4 %.3f, 32 %.3f\n", r1, r4, r32);
  CHECK_MSG(r4 >= 0.95, "recall@10 at nprobe=4 %.3f < 0.95", r4);
  CHECK_MSG(r1 < r4 + 1e-9, "nprobe=1 %.3f above nprobe=4 %.3f", r1, r4);
  CHECK_MSG(r32 >= 0.99, "recall@10 at nprobe=32 %.3f < 0.99", r32);
  /* a stored vector finds itself first, at distance 0 */
  t_exec(db, "INSERT INTO t(t) VALUES ('nprobe=2')");
  CHECK_QUERY(db, "SELECT rowid || ' ' || (distance < 1e-6) FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 1234) "
                  "AND k = 1", NULL, NULL, "1234 1");
  /* training is deterministic: the same seed gives the same centroids */
  {
    char *a = t_query(db, "SELECT hex(vector) FROM t_ivf_centroids WHERE centroid = 7", NULL, NULL), *b;
    t_exec(db, "INSERT INTO t(t) VALUES ('compute-centroids')");
    b = t_query(db, "SELECT hex(vector) FROM t_ivf_centroids WHERE centroid = 7", NULL, NULL);
    CHECK_STR(a, b);
    sqlite3_free(a), sqlite3_free(b);
    /* options in sqlite-vec's spelling: fewer lists, another seed */
    t_exec(db, "INSERT INTO t(t) VALUES ('compute-centroids:{\"nlist\":8,\"max_iterations\":5,\"seed\":3}')");
    CHECK_QUERY(db, "SELECT count(*) || ' ' || max(centroid) FROM t_ivf_centroids", NULL, NULL, "8 7");
    CHECK_QUERY(db, "SELECT max(list) FROM t_ivf_lists", NULL, NULL, "7");
    CHECK_OK(db);
  }
  sqlite3_close(db);
}

static void test_writes(void) {
  sqlite3 *db = build(NULL, 2000);
  double r;
  t_exec(db, "INSERT INTO t(t) VALUES ('compute-centroids')");
  /* rows after training go to their nearest list */
  t_exec(db, "INSERT INTO t(rowid, e, cat) SELECT rowid + 10000, e, cat FROM x WHERE rowid <= 300");
  t_exec(db, "INSERT INTO x(rowid, e, cat) SELECT rowid + 10000, e, cat FROM x WHERE rowid <= 300");
  CHECK_QUERY(db, "SELECT count(*) FROM t_ivf_lists WHERE list = -1", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT count(*) FROM t_ivf_lists a JOIN t_ivf_lists b ON b.rowid = a.rowid + 10000 "
                  "WHERE a.list <> b.list", NULL, NULL, "0");
  CHECK_OK(db);
  /* deletes: never returned, even for their own vector */
  t_exec(db, "DELETE FROM t WHERE rowid % 3 = 0");
  t_exec(db, "DELETE FROM x WHERE rowid % 3 = 0");
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM (SELECT rowid FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 4) "
                            "AND k = 50) WHERE rowid % 3 = 0"), 0);
  CHECK_QUERY(db, "SELECT count(*) FROM t_ivf_lists", NULL, NULL, "1534");
  /* updates: a new vector moves the row, a new rowid keeps it */
  t_exec(db, "UPDATE t SET e = (SELECT e FROM x WHERE rowid = 2) WHERE rowid = 5");
  t_exec(db, "UPDATE x SET e = (SELECT e FROM x WHERE rowid = 2) WHERE rowid = 5");
  CHECK_QUERY(db, "SELECT (SELECT list FROM t_ivf_lists WHERE rowid = 5) = (SELECT list FROM t_ivf_lists WHERE rowid = 2)",
              NULL, NULL, "1");
  t_exec(db, "UPDATE t SET rowid = 50000 WHERE rowid = 7");
  t_exec(db, "UPDATE x SET rowid = 50000 WHERE rowid = 7");
  /* (row 10007 is a copy of row 7) */
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM (SELECT rowid FROM t WHERE e MATCH (SELECT e FROM x WHERE "
                  "rowid = 50000) AND k = 2 ORDER BY rowid)", NULL, NULL, "10007 50000");
  CHECK_OK(db);
  r = t_ann_recall(db, &data, "t", "x", 50, 7, NULL);
  CHECK_MSG(r >= 0.95, "recall@10 after writes %.3f < 0.95", r);
  /* every row deleted, then rows again */
  t_exec(db, "DELETE FROM t");
  CHECK_QUERY(db, "SELECT count(*) FROM t_ivf_lists", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT count(*) FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 1) AND k = 5", NULL, NULL, "0");
  t_exec(db, "INSERT INTO t(rowid, e, cat) SELECT rowid, e, cat FROM x WHERE rowid < 100");
  CHECK_QUERY(db, "SELECT rowid FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 50) AND k = 1", NULL, NULL, "50");
  CHECK_OK(db);
  sqlite3_close(db);
}

static void test_rollback(void) {
  sqlite3 *db = build(NULL, 1500);
  char *before, *after, *lists;
  t_exec(db, "INSERT INTO t(t) VALUES ('compute-centroids')");
  before = t_ann_snapshot(db, &data, "t", NULL);
  lists = t_query(db, "SELECT count(*) || ':' || sum(list * rowid) FROM t_ivf_lists", NULL, NULL);
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
  CHECK_QUERY(db, "SELECT count(*) || ':' || sum(list * rowid) FROM t_ivf_lists", NULL, NULL, lists);
  CHECK_OK(db);
  /* training rolled back: no centroids again, exact answers */
  t_exec(db, "BEGIN");
  t_exec(db, "INSERT INTO t(t) VALUES ('clear-centroids')");
  SAME_AS_TWIN(db, NULL);
  t_exec(db, "ROLLBACK");
  CHECK_QUERY(db, "SELECT count(*) FROM t_ivf_centroids", NULL, NULL, "32");
  after = t_ann_snapshot(db, &data, "t", NULL);
  CHECK_STR(after, before);
  sqlite3_free(after);
  /* ROLLBACK TO a savepoint keeps what came before it */
  t_exec(db, "BEGIN");
  t_exec(db, "INSERT INTO t(rowid, e, cat) SELECT rowid + 20000, e, cat FROM x WHERE rowid <= 10");
  t_exec(db, "SAVEPOINT s");
  t_exec(db, "DELETE FROM t WHERE rowid < 1000");
  t_exec(db, "ROLLBACK TO s");
  t_exec(db, "RELEASE s");
  t_exec(db, "COMMIT");
  CHECK_QUERY(db, "SELECT count(*) FROM t_ivf_lists", NULL, NULL, "1510");
  CHECK_QUERY(db, "SELECT rowid FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 3) AND k = 2 AND rowid > 20000",
              NULL, NULL, "20003");
  /* a failed statement (a rowid conflict half way) leaves the lists as they were */
  CHECK_QUERY(db, "INSERT INTO t(rowid, e, cat) SELECT rowid + 30000, e, cat FROM x WHERE rowid <= 10 "
                  "UNION ALL SELECT 1, e, cat FROM x WHERE rowid = 2", NULL, NULL,
              "ERROR: t: UNIQUE constraint failed: t.rowid (1)");
  CHECK_QUERY(db, "SELECT count(*) FROM t_ivf_lists", NULL, NULL, "1510");
  CHECK_OK(db);
  sqlite3_free(before), sqlite3_free(lists);
  sqlite3_close(db);
}

static void test_reopen(void) {
  char path[256];
  const char *dir = getenv("TMPDIR");
  sqlite3 *db, *db2;
  char *before, *after;
  snprintf(path, sizeof path, "%s/semlite-ivf-%d.db", dir && *dir ? dir : "/tmp", (int)getpid());
  t_remove_db(path);
  db = build(path, 1500);
  t_exec(db, "INSERT INTO t(t) VALUES ('compute-centroids')");
  t_exec(db, "INSERT INTO t(t) VALUES ('nprobe=3')");
  before = t_ann_snapshot(db, &data, "t", NULL);
  sqlite3_close(db);
  db = t_open_path(path);
  after = t_ann_snapshot(db, &data, "t", NULL);
  CHECK_STR(after, before);
  sqlite3_free(after);
  CHECK_QUERY(db, "SELECT value FROM t_ivf_info WHERE key = 'nprobe'", NULL, NULL, "3");
  CHECK_OK(db);
  /* a second connection sees the first one's commits */
  db2 = t_open_path(path);
  after = t_ann_snapshot(db2, &data, "t", NULL);
  CHECK_STR(after, before);
  sqlite3_free(after);
  t_exec(db, "DELETE FROM t WHERE rowid <= 500");
  CHECK_INT(t_query_int(db2, "SELECT count(*) FROM (SELECT rowid FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 2) "
                             "AND k = 20) WHERE rowid <= 500"), 0);
  CHECK_QUERY(db2, "SELECT rowid FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 900) AND k = 1", NULL, NULL, "900");
  sqlite3_close(db2);
  sqlite3_free(before);
  sqlite3_close(db);
  t_remove_db(path);
}

static void test_filters(void) {
  sqlite3 *db = build(NULL, 4000);
  double r;
  t_exec(db, "INSERT INTO t(t) VALUES ('compute-centroids')");
  /* a loose filter (half the rows) goes through the lists */
  r = t_ann_recall(db, &data, "t", "x", 50, 7, "AND cat < 5");
  printf("  filtered recall@10 (cat < 5, through the lists): %.3f\n", r);
  CHECK_MSG(r >= 0.9, "filtered recall %.3f < 0.9", r);
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM (SELECT rowid, cat FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 9) "
                            "AND k = 10 AND cat < 5) WHERE cat >= 5"), 0);
  /* a selective one (1% of the rows) is scanned exactly */
  SAME_AS_TWIN(db, "AND cat = 3 AND rowid < 400");
  /* on rowid alone, exact too */
  SAME_AS_TWIN(db, "AND rowid IN (5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60)");
  /* with every query exact by the knob, answers are the twin's */
  t_exec(db, "INSERT INTO t(t) VALUES ('filter_exact_pct=100')");
  SAME_AS_TWIN(db, "AND cat = 3");
  /* a filter whose rows the probed lists miss still gives k rows (exact fallback) */
  t_exec(db, "INSERT INTO t(t) VALUES ('filter_exact_pct=0')");
  t_exec(db, "INSERT INTO t(t) VALUES ('nprobe=1')");
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 9) AND k = 10 "
                            "AND rowid IN (1, 2, 3, 4, 5, 6, 7, 8, 100, 200, 300, 400)"), 10);
  sqlite3_close(db);
}

static void test_centroid_commands(void) {
  sqlite3 *db = build(NULL, 1000);
  float c[DIMS];
  sqlite3_stmt *st;
  double r;
  /* user-given centroids: rows stay unassigned (always scanned) until assign-vectors */
  for (int i = 0; i < 8; i++) {
    t_ann_seed(&data, 500 + (uint64_t)i);
    t_ann_point(&data, c);
    CHECK(sqlite3_prepare_v2(db, "INSERT INTO t(t, e) VALUES (?1, ?2)", -1, &st, NULL) == SQLITE_OK);
    char cmd[32];
    snprintf(cmd, sizeof cmd, "set-centroid:%d", i * 4);
    sqlite3_bind_text(st, 1, cmd, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, c, sizeof c, SQLITE_STATIC);
    CHECK_MSG(sqlite3_step(st) == SQLITE_DONE, "%s: %s", cmd, sqlite3_errmsg(db));
    sqlite3_finalize(st);
  }
  CHECK_QUERY(db, "SELECT count(*) || ' ' || max(centroid) FROM t_ivf_centroids", NULL, NULL, "8 28");
  CHECK_QUERY(db, "SELECT count(*) FROM t_ivf_lists WHERE list = -1", NULL, NULL, "1000");
  r = t_ann_recall(db, &data, "t", "x", 30, 7, NULL);
  CHECK_MSG(r >= 0.95, "recall with unassigned rows %.3f < 0.95", r);
  t_exec(db, "INSERT INTO t(t) VALUES ('assign-vectors')");
  CHECK_QUERY(db, "SELECT count(*) FROM t_ivf_lists WHERE list = -1", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT count(*) FROM t_ivf_lists WHERE list % 4 <> 0", NULL, NULL, "0");
  CHECK_OK(db);
  /* a row inserted now goes to a list at once */
  t_exec(db, "INSERT INTO t(rowid, e, cat) SELECT 5000, e, cat FROM x WHERE rowid = 1");
  CHECK_QUERY(db, "SELECT list % 4 FROM t_ivf_lists WHERE rowid = 5000", NULL, NULL, "0");
  t_exec(db, "DELETE FROM t WHERE rowid = 5000");
  /* cleared: exact again */
  t_exec(db, "INSERT INTO t(t) VALUES ('clear-centroids')");
  CHECK_QUERY(db, "SELECT count(*) FROM t_ivf_centroids", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT count(*) FROM t_ivf_lists WHERE list = -1", NULL, NULL, "1000");
  SAME_AS_TWIN(db, NULL);
  CHECK_OK(db);
  sqlite3_close(db);
}

static void test_errors(void) {
  static const struct { const char *args, *expect; } cases[] = {
    {"e float[8] indexed by ivf(nlist=0)", "ERROR: v: column e: ivf option nlist must be an integer from 1 to 65536, got '0'"},
    {"e float[8] indexed by ivf(nlist=65537)",
     "ERROR: v: column e: ivf option nlist must be an integer from 1 to 65536, got '65537'"},
    {"e float[8] indexed by ivf(nprobe=x)", "ERROR: v: column e: ivf option nprobe must be an integer from 1 to 65536, got 'x'"},
    {"e float[8] indexed by ivf(nlist=4, nprobe=5)", "ERROR: v: column e: ivf option nprobe=5 exceeds nlist=4"},
    {"e float[8] indexed by ivf(nlist=4, nlist=5)", "ERROR: v: column e: ivf option nlist is given twice"},
    {"e float[8] indexed by ivf(lists=4)", "ERROR: v: column e: unknown ivf option 'lists' (nlist, nprobe)"},
    {"e int8[8] indexed by ivf()",
     "ERROR: v: column e: indexed by ivf(...) needs a float vector column with distance_metric l2, cosine or dot, "
     "not int8 with l2"},
    {"e float[8] distance_metric=l1 indexed by ivf()",
     "ERROR: v: column e: indexed by ivf(...) needs a float vector column with distance_metric l2, cosine or dot, "
     "not float with l1"},
    {"a float[8], b float[8] indexed by ivf()", "ERROR: v: 'indexed by ivf(...)' applies to the first vector column only"},
    {"e float[8] indexed by ivfx()",
     "ERROR: v: expected '(' after 'indexed by ivf' in 'e float[8] indexed by ivfx()'"},
  };
  sqlite3 *db = t_open();
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *sql = sqlite3_mprintf("CREATE VIRTUAL TABLE v USING semlite_vec(%s)", cases[i].args);
    CHECK_QUERY(db, sql, NULL, NULL, cases[i].expect);
    sqlite3_free(sql);
  }
  /* defaults: sqlite-vec's nlist=128, nprobe=10; a default nprobe above nlist is lowered */
  t_exec(db, "CREATE VIRTUAL TABLE d USING semlite_vec(e float[4] indexed by ivf())");
  CHECK_QUERY(db, "SELECT group_concat(key || '=' || value, ',') FROM (SELECT * FROM d_ivf_info WHERE key IN ('nlist', "
                  "'nprobe') ORDER BY key)", NULL, NULL, "nlist=128,nprobe=10");
  t_exec(db, "CREATE VIRTUAL TABLE d4 USING semlite_vec(e float[4] indexed by ivf(nlist=4))");
  CHECK_QUERY(db, "SELECT value FROM d4_ivf_info WHERE key = 'nprobe'", NULL, NULL, "4");
  /* commands */
  t_exec(db, "CREATE VIRTUAL TABLE t USING semlite_vec(e float[4] indexed by ivf(nlist=4, nprobe=2))");
  CHECK_QUERY(db, "INSERT INTO t(t) VALUES ('compute-centroids')", NULL, NULL,
              "ERROR: t: compute-centroids: the table has no rows");
  CHECK_QUERY(db, "INSERT INTO t(t) VALUES ('assign-vectors')", NULL, NULL,
              "ERROR: t: assign-vectors: the table has no centroids (run 'compute-centroids' or 'set-centroid:N' first)");
  CHECK_QUERY(db, "INSERT INTO t(t) VALUES ('nprobe=5')", NULL, NULL,
              "ERROR: t: ivf option nprobe must be an integer from 1 to 4, got '5'");
  CHECK_QUERY(db, "INSERT INTO t(t) VALUES ('nprobe=')", NULL, NULL,
              "ERROR: t: ivf option nprobe must be an integer from 1 to 4, got ''");
  CHECK_QUERY(db, "INSERT INTO t(t) VALUES ('filter_exact_pct=101')", NULL, NULL,
              "ERROR: t: ivf option filter_exact_pct must be an integer from 0 to 100, got '101'");
  CHECK_QUERY(db, "INSERT INTO t(t) VALUES ('ef_search=10')", NULL, NULL,
              "ERROR: t: unknown command 'ef_search=10' (nprobe=N, filter_exact_pct=N, compute-centroids, "
              "set-centroid:N, assign-vectors, clear-centroids)");
  CHECK_QUERY(db, "INSERT INTO t(t) VALUES (7)", NULL, NULL, "ERROR: t: a command must be TEXT, got INTEGER");
  CHECK_QUERY(db, "INSERT INTO t(t) VALUES ('set-centroid:4')", NULL, NULL,
              "ERROR: t: set-centroid: the centroid id must be an integer from 0 to 3, got '4'");
  CHECK_QUERY(db, "INSERT INTO t(t) VALUES ('set-centroid:x')", NULL, NULL,
              "ERROR: t: set-centroid: the centroid id must be an integer from 0 to 3, got 'x'");
  CHECK_QUERY(db, "INSERT INTO t(t) VALUES ('set-centroid:1')", NULL, NULL,
              "ERROR: t: set-centroid:1 needs the centroid in column e");
  CHECK_QUERY(db, "INSERT INTO t(t, e) VALUES ('set-centroid:1', '[1, 2]')", NULL, NULL,
              "ERROR: t: e: Dimension mismatch. Expected 4 dimensions but received 2 (the column is float[4])");
  t_exec(db, "INSERT INTO t(rowid, e) VALUES (1, '[1, 0, 0, 0]'), (2, '[0, 1, 0, 0]'), (3, '[0, 0, 1, 0]')");
  CHECK_QUERY(db, "INSERT INTO t(t) VALUES ('compute-centroids:{\"nlist\":0}')", NULL, NULL,
              "ERROR: t: compute-centroids: option 'nlist' must be nlist (1 to 4), max_iterations (1 to 1000) or seed, "
              "each an integer");
  CHECK_QUERY(db, "INSERT INTO t(t) VALUES ('compute-centroids:{\"depth\":2}')", NULL, NULL,
              "ERROR: t: compute-centroids: option 'depth' must be nlist (1 to 4), max_iterations (1 to 1000) or seed, "
              "each an integer");
  CHECK_QUERY(db, "INSERT INTO t(t) VALUES ('compute-centroids:nlist=2')", NULL, NULL,
              "ERROR: t: compute-centroids: options must be a JSON object, got 'nlist=2'");
  /* fewer rows than lists: one centroid per row */
  t_exec(db, "INSERT INTO t(t) VALUES ('compute-centroids')");
  CHECK_QUERY(db, "SELECT count(*) FROM t_ivf_centroids", NULL, NULL, "3");
  CHECK_QUERY(db, "SELECT rowid FROM t WHERE e MATCH '[0, 0.9, 0.1, 0]' AND k = 1", NULL, NULL, "2");
  CHECK_QUERY(db, "SELECT semlite_vec_check('t')", NULL, NULL, "ok");
  /* the ivf commands on other tables */
  t_exec(db, "CREATE VIRTUAL TABLE h USING semlite_vec(e float[4] indexed by hnsw())");
  CHECK_QUERY(db, "INSERT INTO h(h) VALUES ('compute-centroids')", NULL, NULL,
              "ERROR: h: unknown command 'compute-centroids' (ef_search=N, filter_exact_pct=N, hnsw-rebuild, hnsw-purge)");
  t_exec(db, "CREATE VIRTUAL TABLE p USING semlite_vec(e float[4])");
  CHECK_QUERY(db, "INSERT INTO p(p) VALUES ('compute-centroids')", NULL, NULL, "ERROR: table p has no column named p");
  sqlite3_close(db);
}

static void test_check(void) {
  sqlite3 *db = build(NULL, 800);
  char *report;
  t_exec(db, "INSERT INTO t(t) VALUES ('compute-centroids')");
  CHECK_OK(db);
  t_exec(db, "UPDATE t_ivf_lists SET list = (list + 1) % 32 WHERE rowid = 5");
  t_exec(db, "DELETE FROM t_ivf_lists WHERE rowid = 7");
  t_exec(db, "INSERT INTO t_ivf_lists(rowid, list, code) VALUES (9999, 0, zeroblob(40))");
  t_exec(db, "UPDATE t_ivf_lists SET code = x'00' WHERE rowid = 11");
  report = t_query(db, "SELECT semlite_vec_check('t')", NULL, NULL);
  CHECK_MSG(report && strstr(report, "ivf index: row 7 is in no list") &&
            strstr(report, "ivf index: list 0 holds row 9999, which does not exist") &&
            strstr(report, "ivf index: row 11 has a 1-byte code, expected 40") && strstr(report, "ivf index: row 5 is in list "),
            "check: %s", report ? report : "NULL");
  sqlite3_free(report);
  /* a query refuses damaged lists rather than answer wrong */
  t_exec(db, "DELETE FROM t_ivf_lists WHERE rowid = 9999");
  t_exec(db, "UPDATE t_ivf_info SET value = randomblob(8) WHERE key = 'version'");
  CHECK_QUERY(db, "SELECT count(*) FROM t WHERE e MATCH (SELECT e FROM x WHERE rowid = 1) AND k = 3", NULL, NULL,
              "ERROR: t: t_ivf_lists: row 11 has a bad list, code or no row (run semlite_vec_check)");
  sqlite3_close(db);
}

typedef struct later {
  int left, calls;
  sqlite3 *db;
} later;

/* Calls sqlite3_interrupt once `left` progress callbacks have passed. */
static int interrupt_later(void *arg) {
  later *l = arg;
  l->calls++;
  if (l->left > 0 && --l->left == 0) sqlite3_interrupt(l->db);
  return 0;
}

static void test_interrupt(void) {
  sqlite3 *db = build(NULL, 3000);
  later ctx = {0, 0, db};
  char *before = t_ann_snapshot(db, &data, "t", NULL), *after, *err;
  /* interrupted at several points of the training and assignment: the command fails and
  ** leaves nothing behind */
  /* (a whole run takes about 650 callbacks of 100 instructions here) */
  for (int at = 2; at <= 512; at *= 4) {
    ctx.left = at;
    sqlite3_progress_handler(db, 100, interrupt_later, &ctx);
    err = t_query(db, "INSERT INTO t(t) VALUES ('compute-centroids')", NULL, NULL);
    sqlite3_progress_handler(db, 0, NULL, NULL);
    CHECK_MSG(err && !strncmp(err, "ERROR: ", 7) && strstr(err, "interrupt"), "after %d: %s", at, err ? err : "NULL");
    sqlite3_free(err);
    CHECK_QUERY(db, "SELECT count(*) FROM t_ivf_centroids", NULL, NULL, "0");
    CHECK_QUERY(db, "SELECT count(*) FROM t_ivf_lists WHERE list = -1", NULL, NULL, "3000");
  }
  after = t_ann_snapshot(db, &data, "t", NULL);
  CHECK_STR(after, before);
  CHECK_OK(db);
  /* and runs to the end when left alone */
  ctx.left = ctx.calls = 0;
  sqlite3_progress_handler(db, 100, interrupt_later, &ctx);
  t_exec(db, "INSERT INTO t(t) VALUES ('compute-centroids')");
  sqlite3_progress_handler(db, 0, NULL, NULL);
  printf("  compute-centroids of 3000 rows: %d progress callbacks of 100 instructions\n", ctx.calls);
  CHECK_QUERY(db, "SELECT count(*) FROM t_ivf_lists WHERE list = -1", NULL, NULL, "0");
  sqlite3_free(before), sqlite3_free(after);
  sqlite3_close(db);
}

static void test_vec0(void) {
  sqlite3 *db = t_open();
  t_exec(db, "CREATE VIRTUAL TABLE v USING vec0(e float[4] indexed by ivf(nlist=2, nprobe=1))");
  t_exec(db, "INSERT INTO v(rowid, e) VALUES (1, '[1, 0, 0, 0]'), (2, '[0.9, 0.1, 0, 0]'), (3, '[0, 0, 1, 0]'), "
             "(4, '[0, 0, 0.9, 0.1]')");
  /* sqlite-vec's spelling through the rowid */
  t_exec(db, "INSERT INTO v(rowid) VALUES ('compute-centroids')");
  CHECK_QUERY(db, "SELECT count(DISTINCT list) FROM v_ivf_lists", NULL, NULL, "2");
  CHECK_QUERY(db, "INSERT INTO v(rowid) VALUES ('nprobe=3')", NULL, NULL,
              "ERROR: v: ivf option nprobe must be an integer from 1 to 2, got '3'");
  t_exec(db, "INSERT INTO v(v) VALUES ('compute-centroids')");
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM (SELECT rowid FROM v WHERE e MATCH '[1, 0, 0, 0]' AND k = 4)",
              NULL, NULL, "1 2");
  CHECK_QUERY(db, "SELECT semlite_vec_check('v')", NULL, NULL, "ok");
  t_exec(db, "DROP TABLE v");
  CHECK_QUERY(db, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'v_ivf%'", NULL, NULL, "0");
  sqlite3_close(db);
}

const sl_test vtab_ivf_tests[] = {
  {"exact_before_centroids", test_exact_before_centroids},
  {"recall", test_recall},
  {"writes", test_writes},
  {"rollback", test_rollback},
  {"reopen", test_reopen},
  {"filters", test_filters},
  {"centroid_commands", test_centroid_commands},
  {"errors", test_errors},
  {"check", test_check},
  {"interrupt", test_interrupt},
  {"vec0", test_vec0},
  {NULL, NULL},
};
