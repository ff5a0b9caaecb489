/*
** test_stress.c: 16 threads, each with its own connection to one WAL database, mixing
** every operation while another thread loads and unloads a model under them: embed,
** rerank, the batched forms, k-NN, writes, synergy_paths over an imported real home, all
** through the inference cache, enabled on that database (reads and writes). Every
** result is compared with the one computed single-threaded beforehand, and
** semlite_metrics must count exactly the calls and cache lookups the threads made.
**
** Bounded by rounds, not time (SEMLITE_STRESS_ROUNDS, default 3), so that it finishes
** in seconds in the release build and well under a minute under ThreadSanitizer on two
** cores. A new operation slots in as one more entry of `cases`.
*/
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"

#define N_THREADS 16
#define N_TEXTS 8
#define DIM 384
#define K 5
#define TOL 1e-5f

static const char *const texts[N_TEXTS] = {
  "the cat sat on the mat", "a quick brown fox jumps over the lazy dog",
  "semantic search on a home hub", "how do I reset the thermostat",
  "turn off the kitchen lights at midnight", "the garage door is open",
  "water leak detected under the sink", "play some quiet music in the bedroom",
};
static const char *const query = "is the door open";
static const char *const texts_json =
  "[\"the cat sat on the mat\",\"a quick brown fox jumps over the lazy dog\","
  "\"semantic search on a home hub\",\"how do I reset the thermostat\","
  "\"turn off the kitchen lights at midnight\",\"the garage door is open\","
  "\"water leak detected under the sink\",\"play some quiet music in the bedroom\"]";

/* What the single-threaded run gave. */
static struct {
  float embed[N_TEXTS][DIM];
  float rerank[N_TEXTS];
  float embed_each[N_TEXTS][DIM];
  float rerank_each[N_TEXTS];
  long long knn[N_TEXTS][K];         /* rowids nearest to embed(texts[i]) in docs */
  char *synergy;                     /* SYNERGY_SQL's result */
} expect;

#define SYNERGY_SQL "SELECT count(*) || ' ' || printf('%.6f', sum(score)) || ' ' || min(path) " \
                    "FROM synergy_paths WHERE max_depth = 3"
#define HOME "data/homes/salamandar-fr-small.json"

static char db_path[256], hot_dir[512];

/* Operations the metrics should have counted, and results that differed. */
typedef struct counts {
  int embed, embed_each, rerank, rerank_each, knn, writes, hot_ok, hot_missing, synergy, wrong;
} counts;

typedef struct worker {
  int id, rounds;
  sqlite3 *db;
  counts n;
  char first_error[256];
} worker;

static sqlite3 *open_db(void) {
  sqlite3 *db = NULL;
  char *err = NULL;
  if (sqlite3_open(db_path, &db) != SQLITE_OK) return db;
  sqlite3_busy_timeout(db, 30000);
  sqlite3_enable_load_extension(db, 1);
  if (sqlite3_load_extension(db, sl_test_so_path(), NULL, &err) != SQLITE_OK) {
    sl_test_fail(__FILE__, __LINE__, "cannot load %s: %s", sl_test_so_path(), err ? err : "?");
    sqlite3_free(err);
  }
  return db;
}

static void wrong(worker *w, const char *what) {
  if (!w->n.wrong++)
    snprintf(w->first_error, sizeof w->first_error, "%s: %s", what, w->db ? sqlite3_errmsg(w->db) : "");
}

static int same_floats(const float *a, const float *b, int n) {
  for (int i = 0; i < n; i++)
    if (!(fabsf(a[i] - b[i]) <= TOL)) return 0;
  return 1;
}

/* Runs sql with the text parameters and hands each row to fn; the number of rows, or
** -1 on error. */
static int each_row(sqlite3 *db, const char *sql, const char *p1, const char *p2,
                    void (*fn)(sqlite3_stmt *st, int row, void *arg), void *arg) {
  sqlite3_stmt *st;
  int rows = 0, rc;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
  if (p1) sqlite3_bind_text(st, 1, p1, -1, SQLITE_STATIC);
  if (p2) sqlite3_bind_text(st, 2, p2, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) fn(st, rows++, arg);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? rows : -1;
}

static void copy_vec(sqlite3_stmt *st, int row, void *arg) {
  if (sqlite3_column_bytes(st, 0) == DIM * 4) memcpy((float *)arg + (size_t)row * DIM, sqlite3_column_blob(st, 0), DIM * 4);
}
static void copy_real(sqlite3_stmt *st, int row, void *arg) { ((float *)arg)[row] = (float)sqlite3_column_double(st, 0); }
static void copy_rowid(sqlite3_stmt *st, int row, void *arg) {
  if (row < K) ((long long *)arg)[row] = sqlite3_column_int64(st, 0);
}

static int run_knn(sqlite3 *db, const float *q, long long *rowids) {
  sqlite3_stmt *st;
  int n = 0;
  if (sqlite3_prepare_v2(db, "SELECT rowid FROM docs WHERE embedding MATCH ?1 AND k = 5", -1, &st, NULL) != SQLITE_OK)
    return -1;
  sqlite3_bind_blob(st, 1, q, DIM * 4, SQLITE_STATIC);
  while (sqlite3_step(st) == SQLITE_ROW && n < K) rowids[n++] = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return n;
}

/* ---- the cases: each runs one operation in worker w for text k and checks it ---- */

static void case_embed(worker *w, int k) {
  float v[DIM];
  w->n.embed++;
  if (each_row(w->db, "SELECT embed('minilm', ?1)", texts[k], NULL, copy_vec, v) != 1 ||
      !same_floats(v, expect.embed[k], DIM))
    wrong(w, "embed");
}

static void case_rerank(worker *w, int k) {
  float s;
  w->n.rerank++;
  if (each_row(w->db, "SELECT rerank('ce', ?1, ?2)", query, texts[k], copy_real, &s) != 1 ||
      !same_floats(&s, &expect.rerank[k], 1))
    wrong(w, "rerank");
}

static void case_embed_each(worker *w, int k) {
  float v[N_TEXTS][DIM];
  (void)k;
  w->n.embed_each++;   /* 8 short texts: one batch */
  if (each_row(w->db, "SELECT embedding FROM embed_each('minilm', ?1)", texts_json, NULL, copy_vec, v) != N_TEXTS ||
      !same_floats(v[0], expect.embed_each[0], N_TEXTS * DIM))
    wrong(w, "embed_each");
}

static void case_rerank_each(worker *w, int k) {
  float s[N_TEXTS];
  (void)k;
  w->n.rerank_each++;
  if (each_row(w->db, "SELECT score FROM rerank_each('ce', ?1, ?2)", query, texts_json, copy_real, s) != N_TEXTS ||
      !same_floats(s, expect.rerank_each, N_TEXTS))
    wrong(w, "rerank_each");
}

static void case_knn(worker *w, int k) {
  long long got[K];
  w->n.knn++;
  if (run_knn(w->db, expect.embed[k], got) != K || memcmp(got, expect.knn[k], sizeof got) != 0) wrong(w, "knn");
}

/* A write on the shared WAL file: one row per call, read back. */
static void case_write(worker *w, int k) {
  sqlite3_stmt *st;
  long long rowid = (long long)w->id * 1000 + w->n.writes;
  int ok = 0;
  if (sqlite3_exec(w->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
    wrong(w, "write: begin");
    return;
  }
  if (sqlite3_prepare_v2(w->db, "INSERT INTO writes(rowid, embedding) VALUES (?1, ?2)", -1, &st, NULL) == SQLITE_OK) {
    sqlite3_bind_int64(st, 1, rowid);
    sqlite3_bind_blob(st, 2, expect.embed[k], DIM * 4, SQLITE_STATIC);
    ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
  }
  if (sqlite3_exec(w->db, ok ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK || !ok) {
    wrong(w, "write");
    return;
  }
  w->n.writes++;
}

/* The model another thread keeps loading and unloading: the right vector, or "no model". */
static void case_hot(worker *w, int k) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(w->db, "SELECT embed('hot', ?1)", -1, &st, NULL) != SQLITE_OK) {
    wrong(w, "hot: prepare");
    return;
  }
  sqlite3_bind_text(st, 1, texts[k], -1, SQLITE_STATIC);
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == DIM * 4) {
    if (same_floats(sqlite3_column_blob(st, 0), expect.embed[k], DIM)) w->n.hot_ok++;
    else wrong(w, "hot: result");
  } else if (strcmp(sqlite3_errmsg(w->db), "embed: no model named 'hot' (load one with semlite_model_load)") == 0) {
    w->n.hot_missing++;
  } else {
    wrong(w, "hot");
  }
  sqlite3_finalize(st);
}

/* The synergy suggestions of the imported home: the same rows as on one thread. */
static void case_synergy(worker *w, int k) {
  char *got = t_query(w->db, SYNERGY_SQL, NULL, NULL);
  (void)k;
  w->n.synergy++;
  if (!got || strcmp(got, expect.synergy) != 0) wrong(w, "synergy");
  sqlite3_free(got);
}

static void (*const cases[])(worker *, int) = {
  case_embed, case_rerank, case_embed_each, case_rerank_each, case_knn, case_write, case_hot, case_synergy,
};
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

static void *worker_main(void *arg) {
  worker *w = arg;
  w->db = open_db();
  /* Each connection opts in to the file's cache (a file's own flag is not trusted). */
  sqlite3_exec(w->db, "SELECT semlite_cache_enable()", NULL, NULL, NULL);
  /* Each thread walks the cases from its own offset, so all kinds overlap at any time. */
  for (int r = 0; r < w->rounds; r++)
    for (int c = 0; c < N_CASES; c++) cases[(c + w->id) % N_CASES](w, (w->id + r + c) % N_TEXTS);
  sqlite3_close(w->db);
  return NULL;
}

typedef struct unloader {
  atomic_int *stop;
  int cycles, failures;
} unloader;

/* Loads and unloads 'hot' (a folder of its own, so unloading frees the model) until the
** workers are done: unloading waits for in-flight calls, never deadlocks with them. */
static void *unloader_main(void *arg) {
  unloader *u = arg;
  sqlite3 *db = open_db();
  while (!atomic_load(u->stop)) {
    char *got = t_query(db, "SELECT semlite_model_load('hot', ?1)", hot_dir, NULL);
    u->failures += strcmp(got, "hot") != 0;
    sqlite3_free(got);
    usleep(3000);
    got = t_query(db, "SELECT semlite_model_unload('hot')", NULL, NULL);
    u->failures += strcmp(got, "1") != 0;
    sqlite3_free(got);
    u->cycles++;
    usleep(1000);
  }
  sqlite3_close(db);
  return NULL;
}

/* The database, the models and every expected result, on one thread. */
static void prepare(sqlite3 *db) {
  char path[1024];
  CHECK_QUERY(db, "PRAGMA journal_mode = WAL", NULL, NULL, "wal");
  CHECK_QUERY(db, "SELECT semlite_model_load('minilm', ?1)", t_model_path(path, sizeof path, "minilm-l6-embed"),
              NULL, "minilm");
  CHECK_QUERY(db, "SELECT semlite_model_load('ce', ?1)", t_model_path(path, sizeof path, "minilm-l6-rerank"),
              NULL, "ce");
  t_exec(db, "CREATE VIRTUAL TABLE docs USING semlite_vec(embedding float[384] distance_metric=cosine, chunk_size=8)");
  t_exec(db, "CREATE VIRTUAL TABLE writes USING semlite_vec(embedding float[384])");
  /* 40 documents: the texts and variations of them, so the k nearest are not trivial. */
  t_exec(db, "INSERT INTO docs(rowid, embedding) SELECT t.key * 5 + v.key + 1, embed('minilm', t.value || ' ' || v.value) "
             "FROM json_each((SELECT json_group_array(value) FROM json_each(" "'[\"the cat sat on the mat\","
             "\"a quick brown fox jumps over the lazy dog\",\"semantic search on a home hub\","
             "\"how do I reset the thermostat\",\"turn off the kitchen lights at midnight\","
             "\"the garage door is open\",\"water leak detected under the sink\","
             "\"play some quiet music in the bedroom\"]'))) t, "
             "json_each('[\"now\",\"today\",\"please\",\"again\",\"quickly\"]') v");
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM docs"), 40);
  {
    char home[512], *doc = NULL;
    FILE *f;
    long size;
    snprintf(home, sizeof home, "%s/" HOME, sl_test_shared_dir());
    if ((f = fopen(home, "rb")) && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (doc = calloc(1, (size_t)size + 1)) && fread(doc, 1, (size_t)size, f) == (size_t)size) {
      char *got = t_query(db, "SELECT json_extract(semlite_ha_import(?1), '$.entities') > 0", doc, NULL);
      CHECK_STR(got, "1");
      sqlite3_free(got);
    } else {
      sl_test_fail(__FILE__, __LINE__, "cannot read %s", home);
    }
    if (f) fclose(f);
    free(doc);
  }
  for (int k = 0; k < N_TEXTS; k++) {
    CHECK_INT(each_row(db, "SELECT embed('minilm', ?1)", texts[k], NULL, copy_vec, expect.embed[k]), 1);
    CHECK_INT(each_row(db, "SELECT rerank('ce', ?1, ?2)", query, texts[k], copy_real, &expect.rerank[k]), 1);
  }
  CHECK_INT(each_row(db, "SELECT embedding FROM embed_each('minilm', ?1)", texts_json, NULL, copy_vec, expect.embed_each),
            N_TEXTS);
  CHECK_INT(each_row(db, "SELECT score FROM rerank_each('ce', ?1, ?2)", query, texts_json, copy_real, expect.rerank_each),
            N_TEXTS);
  for (int k = 0; k < N_TEXTS; k++) {
    sqlite3_stmt *st;
    int n = 0;
    sqlite3_prepare_v2(db, "SELECT rowid FROM docs WHERE embedding MATCH ?1 AND k = 5", -1, &st, NULL);
    sqlite3_bind_blob(st, 1, expect.embed[k], DIM * 4, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW && n < K) copy_rowid(st, n++, expect.knn[k]);
    sqlite3_finalize(st);
    CHECK_INT(n, K);
  }
  expect.synergy = t_query(db, SYNERGY_SQL, NULL, NULL);
  /* On from here: the threads fill the cache concurrently, then hit it. */
  CHECK_QUERY(db, "SELECT semlite_cache_enable()", NULL, NULL, "1");
  CHECK_MSG(expect.synergy && strncmp(expect.synergy, "ERROR", 5) != 0 && strncmp(expect.synergy, "0 ", 2) != 0,
            "synergy: %s", expect.synergy ? expect.synergy : "(null)");
}

static void test_mixed_load(void) {
  pthread_t th[N_THREADS], unl;
  static worker w[N_THREADS];
  unloader u = {0};
  atomic_int stop = 0;
  counts total = {0};
  const char *env = getenv("SEMLITE_STRESS_ROUNDS");
  int rounds = env && atoi(env) > 0 ? atoi(env) : 3;
  char expect_metrics[512];
  sqlite3 *db;

  snprintf(db_path, sizeof db_path, "/tmp/semlite-stress-%d.db", (int)getpid());
  unlink(db_path);
  t_model_alias(hot_dir, sizeof hot_dir, "minilm-l6-embed", "stress");
  db = open_db();
  prepare(db);
  t_exec(db, "DELETE FROM semlite_metrics");

  u.stop = &stop;
  pthread_create(&unl, NULL, unloader_main, &u);
  for (int i = 0; i < N_THREADS; i++) {
    memset(&w[i], 0, sizeof w[i]);
    w[i].id = i;
    w[i].rounds = rounds;
    pthread_create(&th[i], NULL, worker_main, &w[i]);
  }
  for (int i = 0; i < N_THREADS; i++) {
    pthread_join(th[i], NULL);
    CHECK_MSG(w[i].n.wrong == 0, "thread %d: %d results differ from the single-threaded ones; first: %s", i,
              w[i].n.wrong, w[i].first_error);
    total.embed += w[i].n.embed;
    total.embed_each += w[i].n.embed_each;
    total.rerank += w[i].n.rerank;
    total.rerank_each += w[i].n.rerank_each;
    total.knn += w[i].n.knn;
    total.writes += w[i].n.writes;
    total.hot_ok += w[i].n.hot_ok;
    total.hot_missing += w[i].n.hot_missing;
    total.synergy += w[i].n.synergy;
  }
  atomic_store(&stop, 1);
  pthread_join(unl, NULL);

  CHECK_INT(total.embed, N_THREADS * rounds);
  CHECK_INT(total.writes, N_THREADS * rounds);
  CHECK_INT(total.hot_ok + total.hot_missing, N_THREADS * rounds);
  CHECK_MSG(u.cycles > 0 && u.failures == 0, "unloader: %d cycles, %d failures", u.cycles, u.failures);
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM writes"), N_THREADS * rounds);
  CHECK_QUERY(db, "SELECT semlite_vec_check('writes')", NULL, NULL, "ok");
  /* Exact counts. The cache was empty when the threads started: one lookup per embed()
  ** and rerank() call and per row of the batched forms (a call on 'hot' that found no
  ** model made none); a single call runs its model exactly on a miss, and two threads
  ** may both miss one text, so only those identities are exact. Synergy runs its phases
  ** every time (its descriptors and scores come from its own tables). */
  snprintf(expect_metrics, sizeof expect_metrics,
           "embed:%d:1:0 embed_each:%d:0 rerank:%d:1:0 rerank_each:%d:0 knn:%d:0 synergy_embed:%d:0 "
           "synergy_rerank:%d:0 synergy_search:%d:0", total.embed + total.hot_ok, total.embed_each * N_TEXTS,
           total.rerank, total.rerank_each * N_TEXTS, total.knn, total.synergy, total.synergy, total.synergy);
  CHECK_INT(total.synergy, N_THREADS * rounds);
  CHECK_QUERY(db, "SELECT group_concat(op || ':' || CASE WHEN op LIKE 'synergy%' OR op = 'knn' THEN calls "
              "ELSE cache_hits + cache_misses END || CASE WHEN op IN ('embed', 'rerank') THEN ':' || "
              "(calls = cache_misses) ELSE '' END || ':' || errors, ' ') FROM semlite_metrics", NULL, NULL,
              expect_metrics);
  CHECK_MSG(t_query_int(db, "SELECT count(*) FROM semlite_cache") > 0, "nothing was cached");
  sqlite3_free(expect.synergy);
  sqlite3_close(db);
  t_model_alias_remove(hot_dir);
  unlink(db_path);
  {
    char side[300];
    snprintf(side, sizeof side, "%s-wal", db_path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", db_path);
    unlink(side);
  }
}

const sl_test stress_tests[] = {
  {"mixed_load", test_mixed_load},
  {0, 0},
};
