/*
** test_progress.c: semlite_progress and semlite_progress_report through SQL on the real
** semlite.so. A second connection of the process (`watch`) reads the table while the
** first runs a long statement; the statement itself calls peek(), a function of this
** test, so each observation lands at a known point of the work: exact done/total values
** for embed_each (one per row returned) and for embed-on-insert (batches of 64 rows,
** VV_EMBED_BATCH), and no row once the statement or transaction is over. progress.threads
** runs jobs on four threads while a fifth polls (in make tsan-test's list).
*/
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"

static sqlite3 *watch;
static char seen[8192];   /* peek()'s observations, "done/total;" each */

/* peek(op, target [, ...]): appends "done/total;" of the matching semlite_progress row as
** the watching connection sees it ("-;" when there is none), returns ''. */
static void peek(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  char *got = t_query(watch, "SELECT coalesce(group_concat(done || '/' || coalesce(total, 'NULL'), ','), '-') "
                             "FROM semlite_progress WHERE op = ?1 AND target = ?2",
                      (const char *)sqlite3_value_text(argv[0]), (const char *)sqlite3_value_text(argv[1]));
  size_t len = strlen(seen);
  snprintf(seen + len, sizeof seen - len, "%s;", got ? got : "?");
  sqlite3_free(got);
  sqlite3_result_text(ctx, "", 0, SQLITE_STATIC);
}

static sqlite3 *open_pair(void) {
  char path[1024];
  sqlite3 *db = t_open();
  watch = t_open();
  sqlite3_create_function(db, "peek", -1, SQLITE_UTF8, NULL, peek, NULL, NULL);
  CHECK_QUERY(db, "SELECT semlite_model_load('minilm', ?1)", t_model_path(path, sizeof path, "minilm-l6-embed"), NULL,
              "minilm");
  seen[0] = 0;
  return db;
}

static void close_pair(sqlite3 *db) {
  sqlite3_close(db);
  sqlite3_close(watch);
  watch = NULL;
}

/* A JSON array of n texts. */
static char *texts_json(int n) {
  char *s = sqlite3_mprintf("[");
  for (int i = 0; i < n; i++) s = sqlite3_mprintf("%z%s\"note number %d about the hallway\"", s, i ? "," : "", i);
  return sqlite3_mprintf("%z]", s);
}

static void test_table(void) {
  sqlite3 *db = t_open();
  CHECK_QUERY(db, "SELECT group_concat(name, ',') FROM pragma_table_info('semlite_progress')", NULL, NULL,
              "id,op,target,done,total,elapsed_ms,rate,eta_ms");
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_progress", NULL, NULL, "0");
  CHECK_QUERY(db, "INSERT INTO semlite_progress(op) VALUES ('x')", NULL, NULL,
              "ERROR: semlite_progress: read-only: it lists long work in flight; rows go when the work ends "
              "(semlite_progress_report(ms) prints them to stderr)");
  sqlite3_close(db);
}

static void test_embed_each(void) {
  sqlite3 *db = open_pair();
  char *json = texts_json(5);
  char *got = t_query(db, "SELECT group_concat(i || peek('embed_each', 'minilm'), ',') FROM embed_each('minilm', ?1)",
                      json, NULL);
  CHECK_STR(got, "0,1,2,3,4");
  CHECK_STR(seen, "0/5;1/5;2/5;3/5;4/5;");
  sqlite3_free(got);
  /* Over once the statement is. */
  CHECK_QUERY(watch, "SELECT count(*) FROM semlite_progress WHERE op = 'embed_each'", NULL, NULL, "0");
  /* rate, elapsed and eta while it runs: one row, with a total and a finite eta. */
  seen[0] = 0;
  got = t_query(db, "SELECT count(*) FROM embed_each('minilm', ?1) WHERE i = 3 AND "
                    "peek('embed_each', 'minilm') = '' AND "
                    "(SELECT elapsed_ms > 0 AND rate > 0 AND eta_ms >= 0 AND id > 0 FROM semlite_progress "
                    " WHERE op = 'embed_each' AND target = 'minilm') = 1",
                json, NULL);
  CHECK_STR(got, "1");
  sqlite3_free(got);
  /* rerank_each is watched the same way. */
  {
    char path[1024];
    CHECK_QUERY(db, "SELECT semlite_model_load('ce', ?1)", t_model_path(path, sizeof path, "minilm-l6-rerank"), NULL, "ce");
    seen[0] = 0;
    got = t_query(db, "SELECT group_concat(peek('rerank_each', 'ce'), '') FROM rerank_each('ce', 'q', '[\"a\",null,\"b\"]')",
                  NULL, NULL);
    CHECK_STR(seen, "0/3;1/3;2/3;");
    sqlite3_free(got);
  }
  sqlite3_free(json);
  close_pair(db);
}

static void test_embed_on_insert(void) {
  sqlite3 *db = open_pair();
  t_exec(db, "CREATE VIRTUAL TABLE progress_notes USING semlite_vec(embedding float[384], +body text, "
             "model=minilm, embed_from=body)");
  t_exec(db, "CREATE TABLE src(id INTEGER PRIMARY KEY, body TEXT)");
  t_exec(db, "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 150) "
             "INSERT INTO src SELECT x, 'note number ' || x FROM s");
  /* Each source row is read after the rows before it were handed in: done moves by
  ** batches of 64, total by rows. */
  t_exec(db, "INSERT INTO progress_notes(rowid, body) "
             "SELECT id, body || peek('embed-on-insert', 'progress_notes') FROM src WHERE id IN (1, 2, 64, 65, 66, 129, 150) OR 1 "
             "ORDER BY id");
  {
    /* keep only the observations at rows 1, 2, 64, 65, 66, 129, 150 */
    static const int at[] = {1, 2, 64, 65, 66, 129, 150};
    char picked[512] = "", *p = seen;
    for (int row = 1, k = 0; row <= 150 && *p; row++) {
      char *end = strchr(p, ';');
      if (!end) break;
      if (k < 7 && row == at[k]) {
        size_t len = strlen(picked);
        snprintf(picked + len, sizeof picked - len, "%.*s;", (int)(end - p), p);
        k++;
      }
      p = end + 1;
    }
    CHECK_STR(picked, "-;0/1;0/63;64/64;64/65;128/128;128/149;");
  }
  CHECK_QUERY(watch, "SELECT count(*) FROM semlite_progress WHERE target = 'progress_notes'", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT count(*) FROM progress_notes WHERE embedding IS NOT NULL", NULL, NULL, "150");

  /* One job per transaction: statements add to it; rows wait for their batch, a read of
  ** the table, the savepoint a multi-row statement opens (a one-row INSERT opens none)
  ** or COMMIT; COMMIT and ROLLBACK end the job. */
  t_exec(db, "BEGIN");
  t_exec(db, "INSERT INTO progress_notes(rowid, body) VALUES (1001, 'a'), (1002, 'b')");
  CHECK_QUERY(watch, "SELECT done || '/' || total FROM semlite_progress WHERE target = 'progress_notes'", NULL, NULL, "0/2");
  t_exec(db, "INSERT INTO progress_notes(rowid, body) VALUES (1003, 'c')");
  CHECK_QUERY(watch, "SELECT done || '/' || total FROM semlite_progress WHERE target = 'progress_notes'", NULL, NULL, "0/3");
  t_exec(db, "INSERT INTO progress_notes(rowid, body) VALUES (1004, 'd'), (1005, 'e')");
  CHECK_QUERY(watch, "SELECT done || '/' || total FROM semlite_progress WHERE target = 'progress_notes'", NULL, NULL, "3/5");
  CHECK_QUERY(db, "SELECT count(*) FROM progress_notes WHERE rowid > 1000", NULL, NULL, "5");
  CHECK_QUERY(watch, "SELECT done || '/' || total FROM semlite_progress WHERE target = 'progress_notes'", NULL, NULL, "5/5");
  t_exec(db, "ROLLBACK");
  CHECK_QUERY(watch, "SELECT count(*) FROM semlite_progress WHERE target = 'progress_notes'", NULL, NULL, "0");
  t_exec(db, "BEGIN");
  t_exec(db, "INSERT INTO progress_notes(rowid, body) VALUES (1001, 'a')");
  t_exec(db, "COMMIT");
  CHECK_QUERY(watch, "SELECT count(*) FROM semlite_progress WHERE target = 'progress_notes'", NULL, NULL, "0");
  /* A connection closed with rows pending ends its job too. */
  t_exec(db, "BEGIN");
  t_exec(db, "INSERT INTO progress_notes(rowid, body) VALUES (1002, 'b')");
  CHECK_QUERY(watch, "SELECT count(*) FROM semlite_progress WHERE target = 'progress_notes'", NULL, NULL, "1");
  sqlite3_close(db);
  CHECK_QUERY(watch, "SELECT count(*) FROM semlite_progress WHERE target = 'progress_notes'", NULL, NULL, "0");
  sqlite3_close(watch);
  watch = NULL;
}

/* semlite_progress_report prints to stderr: captured through a temporary file. */
/* stderr into a temporary file while a test runs statements that report. */
typedef struct capture {
  char path[40];
  int fd, saved;
} capture;

static void capture_begin(capture *c) {
  snprintf(c->path, sizeof c->path, "/tmp/semlite_progress_XXXXXX");
  c->fd = mkstemp(c->path);
  c->saved = dup(2);
  CHECK(c->fd >= 0 && c->saved >= 0);
  fflush(stderr);
  dup2(c->fd, 2);
}

/* Puts stderr back and reads what was written into buf. */
static void capture_end(capture *c, char *buf, size_t cap) {
  ssize_t n;
  fflush(stderr);
  dup2(c->saved, 2);
  close(c->saved);
  lseek(c->fd, 0, SEEK_SET);
  n = read(c->fd, buf, cap - 1);
  buf[n > 0 ? n : 0] = 0;
  close(c->fd);
  unlink(c->path);
}

/* The last line of the captured text (which must end in a newline). */
static const char *last_line(const char *buf) {
  const char *last = buf;
  size_t len = strlen(buf);
  CHECK(len > 0 && buf[len - 1] == '\n');
  for (const char *p = buf; len && p < buf + len - 1; p++)
    if (*p == '\n') last = p + 1;
  return last;
}

static void test_report(void) {
  sqlite3 *db = open_pair();
  char buf[4096] = "", *json = texts_json(40);
  const char *last;
  capture c;
  CHECK_QUERY(db, "SELECT semlite_progress_report(-1)", NULL, NULL,
              "ERROR: semlite_progress_report: the interval must be >= 0 (0 turns reporting off)");
  CHECK_QUERY(db, "SELECT semlite_progress_report('x')", NULL, NULL,
              "ERROR: semlite_progress_report: the interval must be an INTEGER of milliseconds, got TEXT");
  capture_begin(&c);
  CHECK_QUERY(db, "SELECT semlite_progress_report(0)", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT count(*) FROM embed_each('minilm', ?1)", json, NULL, "40");
  CHECK_QUERY(db, "SELECT semlite_progress_report(1)", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT count(*) FROM embed_each('minilm', ?1)", json, NULL, "40");
  CHECK_QUERY(db, "SELECT semlite_progress_report(0)", NULL, NULL, "0");
  capture_end(&c, buf, sizeof buf);
  /* Lines only while reporting was on; the last says done. */
  CHECK_MSG(strncmp(buf, "semlite: embed_each minilm: ", 28) == 0, "stderr: %s", buf);
  last = last_line(buf);
  CHECK_MSG(strncmp(last, "semlite: embed_each minilm: 40/40 (", 35) == 0 && strstr(last, "/s) done\n"),
            "last line: %s", last);
  sqlite3_free(json);
  close_pair(db);
}

/* A synergy run is a job too: "synergy" on its schema, the descriptors then the hops the
** cross-encoder scores (salamandar: 33 nodes embedded, then 25 hops reranked). */
static void test_synergy(void) {
  sqlite3 *db = open_pair();
  char path[1024], model[1024], buf[4096] = "", *home;
  capture c;
  snprintf(path, sizeof path, "%s/data/homes/salamandar-fr-small.json", sl_test_shared_dir());
  home = t_read_file(path);
  CHECK_QUERY(db, "SELECT semlite_model_load('ms-marco', ?1)", t_model_path(model, sizeof model, "minilm-l6-rerank"),
              NULL, "ms-marco");
  CHECK_QUERY(db, "SELECT json_extract(semlite_ha_import(?1), '$.entities')", home, NULL, "38");
  capture_begin(&c);
  CHECK_QUERY(db, "SELECT semlite_progress_report(1)", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_links WHERE min_score = 1", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT semlite_progress_report(0)", NULL, NULL, "0");
  capture_end(&c, buf, sizeof buf);
  CHECK_MSG(strncmp(last_line(buf), "semlite: synergy main: 58/58 (", 30) == 0 && strstr(last_line(buf), "/s) done\n"),
            "stderr: %s", buf);
  free(home);
  close_pair(db);
}

/* Four connections on four threads run embed_each while a fifth polls semlite_progress
** (for ThreadSanitizer: the table of jobs under concurrent begin/set/end/snapshot). */
typedef struct runner {
  char *json;
  int rows;
} runner;

static void *run_each(void *arg) {
  runner *r = arg;
  sqlite3 *db = t_open();
  char *sql = sqlite3_mprintf("SELECT count(*) FROM embed_each('minilm', '%q')", r->json);
  for (int k = 0; k < 2; k++) r->rows += (int)t_query_int(db, sql);
  sqlite3_free(sql);
  sqlite3_close(db);
  return NULL;
}

static void test_threads(void) {
  sqlite3 *db = open_pair();
  pthread_t th[4];
  runner r[4];
  long long max_seen = 0;
  for (int i = 0; i < 4; i++) {
    r[i].json = texts_json(8);
    r[i].rows = 0;
    pthread_create(&th[i], NULL, run_each, &r[i]);
  }
  for (int k = 0; k < 200; k++) {
    long long n = t_query_int(watch, "SELECT count(*) FROM semlite_progress WHERE op = 'embed_each' AND done <= total");
    if (n > max_seen) max_seen = n;
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    CHECK_INT(r[i].rows, 16);
    sqlite3_free(r[i].json);
  }
  CHECK(max_seen <= 4);
  CHECK_QUERY(watch, "SELECT count(*) FROM semlite_progress WHERE op = 'embed_each'", NULL, NULL, "0");
  close_pair(db);
}

const sl_test progress_tests[] = {
  {"table", test_table},
  {"embed_each", test_embed_each},
  {"embed_on_insert", test_embed_on_insert},
  {"report", test_report},
  {"synergy", test_synergy},
  {"threads", test_threads},
  {NULL, NULL},
};
