/*
** test_vtab_vec.c: the semlite_vec virtual table through SQL on the real semlite.so:
** exact k-NN against a brute-force computation here, filters applied before the top-k,
** every error message, upsert/update/delete, transactions and savepoints, the
** self-check, embed-on-insert with the twin model, quantized recall, and a process
** killed in the middle of bulk inserts.
*/
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

/* ---- helpers ---- */

static uint64_t rng_state;

static void rng_seed(uint64_t s) { rng_state = s * 0x9E3779B97F4A7C15ull + 1; }

static uint64_t rng_next(void) {  /* splitmix64 */
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static float rng_float(void) { return (float)((rng_next() >> 40) / (double)(1 << 24)) * 2.0f - 1.0f; }

/* A file database with semlite loaded (t_open gives in-memory ones). */
static sqlite3 *open_path(const char *path) {
  sqlite3 *db = NULL;
  char *err = NULL;
  if (sqlite3_open(path, &db) != SQLITE_OK) {
    sl_test_fail(__FILE__, __LINE__, "cannot open %s", path);
    return db;
  }
  sqlite3_enable_load_extension(db, 1);
  if (sqlite3_load_extension(db, sl_test_so_path(), NULL, &err) != SQLITE_OK) {
    sl_test_fail(__FILE__, __LINE__, "cannot load %s: %s", sl_test_so_path(), err ? err : "?");
    sqlite3_free(err);
  }
  return db;
}

static void temp_db_path(char *path, size_t cap, const char *tag) {
  const char *dir = getenv("TMPDIR");
  snprintf(path, cap, "%s/semlite-vtab-%s-%d.db", dir && *dir ? dir : "/tmp", tag, (int)getpid());
}

static void remove_db(const char *path) {
  char p[600];
  unlink(path);
  snprintf(p, sizeof p, "%s-wal", path);
  unlink(p);
  snprintf(p, sizeof p, "%s-shm", path);
  unlink(p);
  snprintf(p, sizeof p, "%s-journal", path);
  unlink(p);
}


/* The rows value = a..b (this SQLite has no generate_series). */
#define SERIES(a, b) "(WITH RECURSIVE s(value) AS (SELECT " #a " UNION ALL SELECT value + 1 FROM s WHERE value < " #b ") " \
                     "SELECT value FROM s)"

/* The details of EXPLAIN QUERY PLAN, joined with "; "; sqlite3_free it. */
static char *plan_of(sqlite3 *db, const char *sql) {
  char *eqp = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql);
  sqlite3_str *out = sqlite3_str_new(db);
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, eqp, -1, &st, NULL) != SQLITE_OK) {
    sqlite3_str_appendf(out, "ERROR: %s", sqlite3_errmsg(db));
  } else {
    for (int i = 0; sqlite3_step(st) == SQLITE_ROW; i++)
      sqlite3_str_appendf(out, "%s%s", i ? "; " : "", (const char *)sqlite3_column_text(st, 3));
    sqlite3_finalize(st);
  }
  sqlite3_free(eqp);
  return sqlite3_str_finish(out);
}

#define CHECK_STR_FREE(got, expect) \
  do { char *g_ = (got); CHECK_STR(g_, expect); sqlite3_free(g_); } while (0)

#define CHECK_OK(db) CHECK_QUERY(db, "SELECT semlite_vec_check('t')", NULL, NULL, "ok")

/* ---- a data set: vectors with typed metadata ---- */

enum { ELEM_F32, ELEM_I8, ELEM_BIT };
enum { M_L2, M_L1, M_COS, M_DOT, M_HAM };

typedef struct row {
  long long rowid;
  unsigned char vec[4 * 64];
  const char *category;   /* NULL for SQL NULL */
  int n;
  double score;
  int flag;
} row;

typedef struct dataset {
  int elem, dims, count;
  size_t vbytes;
  row *rows;
} dataset;

static const char *categories[] = {"alpha", "beta", "gamma", "delta"};

static void make_dataset(dataset *d, int elem, int dims, int count, uint64_t seed) {
  rng_seed(seed);
  d->elem = elem;
  d->dims = dims;
  d->count = count;
  d->vbytes = elem == ELEM_F32 ? 4 * (size_t)dims : elem == ELEM_I8 ? (size_t)dims : (size_t)dims / 8;
  d->rows = calloc((size_t)count, sizeof *d->rows);
  for (int i = 0; i < count; i++) {
    row *r = &d->rows[i];
    r->rowid = 1 + 3 * i;  /* gaps, so rowid filters mean something */
    for (size_t b = 0; b < d->vbytes; b++) {
      if (elem == ELEM_F32 && b % 4 == 0) {
        float f = rng_float();
        memcpy(r->vec + b, &f, 4);
      } else if (elem != ELEM_F32) {
        r->vec[b] = (unsigned char)(rng_next() & 0xff);
      }
    }
    r->category = i % 50 == 7 ? NULL : i % 25 == 3 ? "rare" : categories[rng_next() % 4];
    r->n = (int)(rng_next() % 100);
    r->score = (double)(rng_next() % 1000) / 1000.0;
    r->flag = (int)(rng_next() & 1);
  }
}

static void insert_dataset(sqlite3 *db, const dataset *d) {
  sqlite3_stmt *st;
  t_exec(db, "BEGIN");
  CHECK(sqlite3_prepare_v2(db, "INSERT INTO t(rowid, embedding, category, n, score, flag, body) "
                               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'body ' || ?1)", -1, &st, NULL) == SQLITE_OK);
  for (int i = 0; i < d->count; i++) {
    const row *r = &d->rows[i];
    sqlite3_bind_int64(st, 1, r->rowid);
    sqlite3_bind_blob(st, 2, r->vec, (int)d->vbytes, SQLITE_STATIC);
    if (r->category) sqlite3_bind_text(st, 3, r->category, -1, SQLITE_STATIC);
    else sqlite3_bind_null(st, 3);
    sqlite3_bind_int(st, 4, r->n);
    sqlite3_bind_double(st, 5, r->score);
    sqlite3_bind_int(st, 6, r->flag);
    if (sqlite3_step(st) != SQLITE_DONE) sl_test_fail(__FILE__, __LINE__, "insert %d: %s", i, sqlite3_errmsg(db));
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  t_exec(db, "COMMIT");
}

static double distance(const dataset *d, int metric, const unsigned char *a, const unsigned char *b) {
  double s = 0, xx = 0, yy = 0;
  if (metric == M_HAM) {
    for (size_t i = 0; i < d->vbytes; i++) s += __builtin_popcount((unsigned)(a[i] ^ b[i]));
    return s;
  }
  for (int i = 0; i < d->dims; i++) {
    double x, y;
    if (d->elem == ELEM_F32) {
      float fx, fy;
      memcpy(&fx, a + 4 * i, 4);
      memcpy(&fy, b + 4 * i, 4);
      x = fx;
      y = fy;
    } else {
      x = (signed char)a[i];
      y = (signed char)b[i];
    }
    switch (metric) {
      case M_L2: s += (x - y) * (x - y); break;
      case M_L1: s += fabs(x - y); break;
      default: s += x * y; xx += x * x; yy += y * y; break;
    }
  }
  switch (metric) {
    case M_L2: return sqrt(s);
    case M_COS: return 1 - s / sqrt(xx * yy);
    case M_DOT: return -s;
    default: return s;
  }
}

typedef struct ranked {
  double d;
  long long rowid;
} ranked;

static int by_rank(const void *a, const void *b) {
  const ranked *x = a, *y = b;
  if (x->d != y->d) return x->d < y->d ? -1 : 1;
  return x->rowid < y->rowid ? -1 : x->rowid > y->rowid;
}

typedef int (*row_pred)(const row *r);

/* The k nearest rows that pass pred (NULL: all), best first; returns how many. */
static int brute_force(const dataset *d, int metric, const unsigned char *q, row_pred pred, int k, double max_d,
                       ranked *out) {
  ranked *all = malloc((size_t)d->count * sizeof *all);
  int n = 0;
  for (int i = 0; i < d->count; i++) {
    if (pred && !pred(&d->rows[i])) continue;
    all[n].d = distance(d, metric, q, d->rows[i].vec);
    all[n].rowid = d->rows[i].rowid;
    if (all[n].d < max_d) n++;
  }
  qsort(all, (size_t)n, sizeof *all, by_rank);
  if (n > k) n = k;
  memcpy(out, all, (size_t)n * sizeof *out);
  free(all);
  return n;
}

/* Runs a k-NN query (the MATCH vector is ?1, k is ?2) and compares it with the brute
** force: same rows in the same order, distances within float32 error. Rows whose
** expected distances tie (within that error) may come in either order. */
static void check_knn(sqlite3 *db, const dataset *d, int metric, const char *where, row_pred pred, int k,
                      double max_d, const unsigned char *q) {
  ranked expect[64], got[64];
  int n_expect = brute_force(d, metric, q, pred, k, max_d, expect), n_got = 0;
  char sql[512], bound[64] = "";
  sqlite3_stmt *st;
  if (max_d < INFINITY) snprintf(bound, sizeof bound, " AND distance < %.17g", max_d);
  snprintf(sql, sizeof sql, "SELECT rowid, distance FROM t WHERE embedding MATCH ?1 AND k = ?2%s%s%s",
           where ? " AND " : "", where ? where : "", bound);
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
    sl_test_fail(__FILE__, __LINE__, "%s: %s", sql, sqlite3_errmsg(db));
    return;
  }
  sqlite3_bind_blob(st, 1, q, (int)d->vbytes, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, k);
  while (sqlite3_step(st) == SQLITE_ROW && n_got < 64) {
    got[n_got].rowid = sqlite3_column_int64(st, 0);
    got[n_got].d = sqlite3_column_double(st, 1);
    n_got++;
  }
  if (sqlite3_errcode(db) != SQLITE_DONE && sqlite3_errcode(db) != SQLITE_OK)
    sl_test_fail(__FILE__, __LINE__, "%s: %s", sql, sqlite3_errmsg(db));
  sqlite3_finalize(st);
  CHECK_MSG(n_got == n_expect, "%s (metric %d): %d rows, expected %d", sql, metric, n_got, n_expect);
  for (int i = 0; i < n_got && i < n_expect; i++) {
    double tol = 1e-4 * fmax(1.0, fabs(expect[i].d));
    int tie = (i > 0 && fabs(expect[i].d - expect[i - 1].d) <= tol) ||
              (i + 1 < n_expect && fabs(expect[i].d - expect[i + 1].d) <= tol);
    CHECK_MSG(fabs(got[i].d - expect[i].d) <= tol, "%s (metric %d) row %d: distance %.9g, expected %.9g", sql, metric, i,
              got[i].d, expect[i].d);
    CHECK_MSG(tie || got[i].rowid == expect[i].rowid, "%s (metric %d) row %d: rowid %lld, expected %lld", sql, metric, i,
              got[i].rowid, expect[i].rowid);
  }
}

static void create_table(sqlite3 *db, const char *vec_decl, const char *options) {
  char sql[512];
  snprintf(sql, sizeof sql,
           "CREATE VIRTUAL TABLE t USING semlite_vec(embedding %s, category text, n integer, score float, "
           "flag boolean, +body text%s%s)", vec_decl, options ? ", " : "", options ? options : "");
  t_exec(db, sql);
}

/* ---- exact k-NN ---- */

static void test_exact(void) {
  static const struct { int elem; const char *decl; int metric; } cases[] = {
    {ELEM_F32, "float[24] distance_metric=l2", M_L2},
    {ELEM_F32, "float[24] distance_metric=cosine", M_COS},
    {ELEM_F32, "float[24] distance_metric=dot", M_DOT},
    {ELEM_F32, "float[24] distance_metric=l1", M_L1},
    {ELEM_F32, "float[24]", M_L2},
    {ELEM_I8, "int8[24] distance_metric=l2", M_L2},
    {ELEM_I8, "int8[24] distance_metric=cosine", M_COS},
    {ELEM_I8, "int8[24] distance_metric=dot", M_DOT},
    {ELEM_I8, "int8[24] distance_metric=l1", M_L1},
    {ELEM_BIT, "bit[64]", M_HAM},
    {ELEM_BIT, "bit[64] distance_metric=hamming", M_HAM},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    sqlite3 *db = t_open();
    dataset d;
    make_dataset(&d, cases[c].elem, cases[c].elem == ELEM_BIT ? 64 : 24, 400, 42 + c);
    create_table(db, cases[c].decl, "chunk_size=64");
    insert_dataset(db, &d);
    CHECK_INT(t_query_int(db, "SELECT count(*) FROM t"), 400);
    CHECK_INT(t_query_int(db, "SELECT count(*) FROM t_chunks"), 7);
    for (int qi = 0; qi < 5; qi++) {
      const unsigned char *q = d.rows[qi * 37].vec;
      check_knn(db, &d, cases[c].metric, NULL, NULL, 10, INFINITY, q);
      check_knn(db, &d, cases[c].metric, NULL, NULL, 1, INFINITY, q);
    }
    /* k larger than the table returns every row; k = 0 none. */
    check_knn(db, &d, cases[c].metric, NULL, NULL, 64, INFINITY, d.rows[5].vec);
    CHECK_INT(t_query_int(db, "SELECT count(*) FROM t WHERE embedding MATCH (SELECT embedding FROM t WHERE rowid = 1) "
                            "AND k = 1000"), 400);
    CHECK_INT(t_query_int(db, "SELECT count(*) FROM t WHERE embedding MATCH (SELECT embedding FROM t WHERE rowid = 1) "
                            "AND k = 0"), 0);
    CHECK_OK(db);
    free(d.rows);
    sqlite3_close(db);
  }
}

/* The query forms: JSON text, ORDER BY distance (consumed), joins, distance bounds. */
static void test_query_forms(void) {
  sqlite3 *db = t_open();
  t_exec(db, "CREATE VIRTUAL TABLE t USING semlite_vec(embedding float[3], label text, chunk_size=8)");
  t_exec(db, "INSERT INTO t(rowid, embedding, label) VALUES (1, '[1,0,0]', 'x'), (2, '[0,1,0]', 'y'), "
             "(3, '[0,0,1]', 'z'), (4, '[1,1,0]', 'xy')");
  CHECK_QUERY(db, "SELECT group_concat(rowid || ':' || round(distance, 4), ' ') FROM "
                  "(SELECT rowid, distance FROM t WHERE embedding MATCH '[1,0,0]' AND k = 3)",
              NULL, NULL, "1:0.0 4:1.0 2:1.4142");
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM (SELECT rowid FROM t WHERE embedding MATCH vec_f32('[0,0,1]') "
                  "AND k = 2 ORDER BY distance)", NULL, NULL, "3 1");
  /* ORDER BY distance (and then rowid) is the table's own order: no sort step. */
  CHECK_STR_FREE(plan_of(db, "SELECT rowid FROM t WHERE embedding MATCH '[1,0,0]' AND k = 2 ORDER BY distance"),
                 "SCAN t VIRTUAL TABLE INDEX 1:m,k");
  CHECK_STR_FREE(plan_of(db, "SELECT rowid FROM t WHERE embedding MATCH '[1,0,0]' AND k = 2 AND label = 'x' "
                             "ORDER BY distance, rowid"), "SCAN t VIRTUAL TABLE INDEX 1:m,k,f2:1");
  CHECK_STR_FREE(plan_of(db, "SELECT rowid FROM t WHERE embedding MATCH '[1,0,0]' AND k = 2 ORDER BY distance DESC"),
                 "SCAN t VIRTUAL TABLE INDEX 1:m,k; USE TEMP B-TREE FOR ORDER BY");
  CHECK_STR_FREE(plan_of(db, "SELECT rowid FROM t WHERE rowid = 3"), "SCAN t VIRTUAL TABLE INDEX 0:f2:-1");
  /* distance bounds, alone and together */
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM t WHERE embedding MATCH '[1,0,0]' AND k = 10 AND distance < 1",
              NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM t WHERE embedding MATCH '[1,0,0]' AND k = 10 AND distance <= 1",
              NULL, NULL, "1 4");
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM t WHERE embedding MATCH '[1,0,0]' AND k = 10 "
                  "AND distance > 0 AND distance < 1.5", NULL, NULL, "4 2 3");
  CHECK_QUERY(db, "SELECT count(*) FROM t WHERE embedding MATCH '[1,0,0]' AND k = 10 AND distance < NULL", NULL, NULL, "0");
  /* k from a parameter, MATCH from a subquery, hidden columns visible when named */
  CHECK_QUERY(db, "SELECT k || ' ' || label FROM t WHERE embedding MATCH (SELECT embedding FROM t WHERE rowid = 2) "
                  "AND k = 1", NULL, NULL, "1 y");
  CHECK_QUERY(db, "SELECT count(*) FROM pragma_table_info('t')", NULL, NULL, "2");
  /* a join: one k-NN query per outer row */
  t_exec(db, "CREATE TABLE q(id INTEGER PRIMARY KEY, v TEXT)");
  t_exec(db, "INSERT INTO q VALUES (1, '[1,0,0]'), (2, '[0,0,1]')");
  CHECK_QUERY(db, "SELECT group_concat(q.id || '>' || t.rowid, ' ') FROM q JOIN t ON t.embedding MATCH q.v AND t.k = 1",
              NULL, NULL, "1>1 2>3");
  /* A zero vector has no cosine distance: never returned. */
  t_exec(db, "CREATE VIRTUAL TABLE c USING semlite_vec(e float[2] distance_metric=cosine)");
  t_exec(db, "INSERT INTO c(rowid, e) VALUES (1, '[0,0]'), (2, '[1,0]'), (3, '[0,1]')");
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM c WHERE e MATCH '[1,1]' AND k = 3", NULL, NULL, "2 3");
  CHECK_QUERY(db, "SELECT count(*) FROM c WHERE e MATCH '[0,0]' AND k = 3", NULL, NULL, "0");
  /* MATCH NULL matches nothing, as NULL comparisons do */
  CHECK_QUERY(db, "SELECT count(*) FROM t WHERE embedding MATCH NULL AND k = 3", NULL, NULL, "0");
  /* a plain scan: every row in rowid order, the vector column readable */
  CHECK_QUERY(db, "SELECT group_concat(rowid || '=' || vec_to_json(embedding), ' ') FROM t", NULL, NULL,
              "1=[1.000000,0.000000,0.000000] 2=[0.000000,1.000000,0.000000] 3=[0.000000,0.000000,1.000000] "
              "4=[1.000000,1.000000,0.000000]");
  CHECK_QUERY(db, "SELECT distance IS NULL AND k IS NULL FROM t WHERE rowid = 2", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT label FROM t WHERE rowid = 3", NULL, NULL, "z");
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM t WHERE rowid > 1 AND label <> 'z'", NULL, NULL, "2 4");
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM t WHERE label IN ('x', 'z')", NULL, NULL, "1 3");
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM (SELECT rowid FROM t ORDER BY rowid DESC)", NULL, NULL, "4 3 2 1");
  sqlite3_close(db);
}

/* ---- filters before the top-k ---- */

static int p_beta(const row *r) { return r->category && !strcmp(r->category, "beta"); }
static int p_not_alpha(const row *r) { return r->category && strcmp(r->category, "alpha") != 0; }
static int p_lt30(const row *r) { return r->n < 30; }
static int p_le30(const row *r) { return r->n <= 30; }
static int p_gt70(const row *r) { return r->n > 70; }
static int p_ge70(const row *r) { return r->n >= 70; }
static int p_between(const row *r) { return r->n >= 20 && r->n <= 40; }
static int p_in(const row *r) { return r->category && (!strcmp(r->category, "gamma") || !strcmp(r->category, "rare")); }
static int p_rare(const row *r) { return r->category && !strcmp(r->category, "rare"); }
static int p_null(const row *r) { return !r->category; }
static int p_score_flag(const row *r) { return r->score > 0.5 && r->flag == 1; }
static int p_like(const row *r) { return r->category && r->category[0] == 'r'; }
static int p_glob(const row *r) { return r->category && r->category[0] == 'd'; }
static int p_rowid(const row *r) { return r->rowid == 4 || r->rowid == 301 || r->rowid == 901 || r->rowid == 1000; }
static int p_rowid_gt(const row *r) { return r->rowid > 900; }
static int p_n_in(const row *r) { return r->n == 1 || r->n == 2 || r->n == 3 || r->n == 50; }
static int p_combo(const row *r) { return p_in(r) && r->n >= 10 && r->flag == 0; }
static int p_not_null(const row *r) { return r->category != NULL; }
static int p_is_not_alpha(const row *r) { return !r->category || strcmp(r->category, "alpha") != 0; }

static const struct { const char *where; row_pred pred; } filters[] = {
  {"category = 'beta'", p_beta},
  {"category != 'alpha'", p_not_alpha},
  {"n < 30", p_lt30},
  {"n <= 30", p_le30},
  {"n > 70", p_gt70},
  {"n >= 70", p_ge70},
  {"n BETWEEN 20 AND 40", p_between},
  {"category IN ('gamma', 'rare')", p_in},
  {"category = 'rare'", p_rare},
  {"category = 'RARE' COLLATE NOCASE", p_rare},
  {"category IS NULL", p_null},
  {"category IS NOT NULL", p_not_null},
  {"category IS 'beta'", p_beta},
  {"category IS NOT 'alpha'", p_is_not_alpha},
  {"score > 0.5 AND flag = 1", p_score_flag},
  {"category LIKE 'R%'", p_like},
  {"category GLOB 'd*'", p_glob},
  {"(category = 'gamma' OR category = 'rare')", p_in},
  {"rowid IN (4, 301, 901, 1000)", p_rowid},
  {"rowid > 900", p_rowid_gt},
  {"n IN (SELECT value FROM json_each('[1,2,3,50]'))", p_n_in},
  {"category IN ('gamma', 'rare') AND n >= 10 AND flag = 0", p_combo},
};

static void test_filters(void) {
  sqlite3 *db = t_open();
  dataset d;
  make_dataset(&d, ELEM_F32, 16, 600, 7);
  create_table(db, "float[16] distance_metric=cosine", "chunk_size=32");
  insert_dataset(db, &d);
  for (size_t f = 0; f < sizeof filters / sizeof filters[0]; f++) {
    char sql[256];
    int expect = 0;
    for (int i = 0; i < d.count; i++) expect += filters[f].pred(&d.rows[i]);
    /* A filtered k-NN query returns k rows whenever k rows match. */
    for (int qi = 0; qi < 3; qi++) {
      check_knn(db, &d, M_COS, filters[f].where, filters[f].pred, 10, INFINITY, d.rows[qi * 101].vec);
      check_knn(db, &d, M_COS, filters[f].where, filters[f].pred, 3, 0.9, d.rows[qi * 101 + 1].vec);
    }
    /* The same filters on a plain scan. */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM t WHERE %s", filters[f].where);
    CHECK_MSG(t_query_int(db, sql) == expect, "%s: expected %d", sql, expect);
  }
  /* The rare category has 24 rows, far fewer than k = 10 of the whole table would find. */
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM t WHERE category = 'rare'"), 24);
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM t WHERE embedding MATCH (SELECT embedding FROM t WHERE rowid = 1) "
                          "AND k = 10 AND category = 'rare'"), 10);
  /* Auxiliary columns are returned; a condition on one is SQLite's, after the top-k. */
  CHECK_QUERY(db, "SELECT body FROM t WHERE embedding MATCH (SELECT embedding FROM t WHERE rowid = 4) AND k = 1",
              NULL, NULL, "body 4");
  CHECK_QUERY(db, "SELECT count(*) FROM t WHERE embedding MATCH (SELECT embedding FROM t WHERE rowid = 4) AND k = 5 "
                  "AND body = 'body 4'", NULL, NULL, "1");
  free(d.rows);
  sqlite3_close(db);
}

/* ---- errors ---- */

static void test_create_errors(void) {
  static const struct { const char *args, *error; } cases[] = {
    {"category text", "ERROR: v: no vector column (e.g. 'embedding float[384]')"},
    {"a float[4], b float[4]", "ERROR: v: only one vector column is supported ('a' and 'b')"},
    {"a float[0]", "ERROR: v: the dimension count in 'float[0]' must be an integer from 1 to 65536"},
    {"a float[x]", "ERROR: v: the dimension count in 'float[x]' must be an integer from 1 to 65536"},
    {"a vector[4]", "ERROR: v: column 'a' has an unknown type 'vector[4]' (float[N], int8[N], bit[N], text, integer, "
                    "float, boolean)"},
    {"a float[4], b", "ERROR: v: column 'b' needs a type (float[N], int8[N], bit[N], text, integer, float, boolean)"},
    {"a float[4], b date", "ERROR: v: column 'b' has an unknown type 'date' (float[N], int8[N], bit[N], text, integer, "
                           "float, boolean)"},
    {"a float[4], +b date", "ERROR: v: auxiliary column 'b' has an unknown type 'date' (text, integer, float, boolean, blob)"},
    {"a float[4], b text, b integer", "ERROR: v: duplicate column 'b'"},
    {"a float[4], distance float", "ERROR: v: 'distance' is a reserved column name"},
    {"k float[4]", "ERROR: v: 'k' is a reserved column name"},
    {"a float[4] distance_metric=hamming", "ERROR: v: distance_metric=hamming is not defined for float vectors"},
    {"a bit[16] distance_metric=l2", "ERROR: v: distance_metric=l2 is not defined for bit vectors"},
    {"a bit[12]", "ERROR: v: bit vectors need a multiple of 8 dimensions, got 12"},
    {"a float[4] distance_metric=euclid", "ERROR: v: unknown distance_metric 'euclid' (l2, cosine, dot, l1, hamming)"},
    {"a float[4] metric=l2", "ERROR: v: unknown vector column option 'metric' (distance_metric)"},
    {"a float[4], distance_metric=l2",
     "ERROR: v: distance_metric belongs to the vector column: 'embedding float[384] distance_metric=l2'"},
    {"a float[4], colour=blue", "ERROR: v: unknown option 'colour' (model, embed_from, chunk_size, quantizer, oversample)"},
    {"a float[4], chunk_size=12", "ERROR: v: chunk_size must be a multiple of 8 from 8 to 65536, got '12'"},
    {"a float[4], quantizer=pq", "ERROR: v: unknown quantizer 'pq' (none, int8, binary)"},
    {"a int8[4], quantizer=int8", "ERROR: v: a quantizer needs a float vector column, not int8"},
    {"a float[4] distance_metric=l1, quantizer=int8",
     "ERROR: v: quantizer=int8 supports distance_metric l2, cosine and dot, not l1"},
    {"a float[12], quantizer=binary", "ERROR: v: quantizer=binary needs a multiple of 8 dimensions, got 12"},
    {"a float[4], oversample=4", "ERROR: v: oversample needs a quantizer (quantizer=int8 or quantizer=binary)"},
    {"a float[4], quantizer=int8, oversample=0", "ERROR: v: oversample must be an integer from 1 to 100, got '0'"},
    {"a float[4], model=minilm", "ERROR: v: model= needs embed_from=<text column>"},
    {"a float[4], b text, embed_from=b", "ERROR: v: embed_from= needs model=<model name>"},
    {"a float[384], b text, model=minilm, embed_from=c", "ERROR: v: embed_from names no column: 'c'"},
    {"a float[384], b integer, model=minilm, embed_from=b", "ERROR: v: embed_from column 'b' is integer, not text"},
    {"a float[384], b text, model=nope, embed_from=b",
     "ERROR: v: model: no model named 'nope' (load one with semlite_model_load)"},
    {"a float[4], b text, model=minilm, embed_from=b", "ERROR: v: model 'minilm' makes 384-dimensional vectors but a is float[4]"},
    {"a float[4], +", "ERROR: v: '+' must be followed by a column name"},
  };
  char path[1024];
  sqlite3 *db = t_open();
  CHECK_QUERY(db, "SELECT semlite_model_load('minilm', ?1)", t_model_path(path, sizeof path, "minilm-l6-embed"), NULL,
              "minilm");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char sql[512];
    snprintf(sql, sizeof sql, "CREATE VIRTUAL TABLE v USING semlite_vec(%s)", cases[i].args);
    CHECK_QUERY(db, sql, NULL, NULL, cases[i].error);
  }
  /* Quoted names, any case of keywords; the declared table has the columns in order. */
  t_exec(db, "CREATE VIRTUAL TABLE v USING semlite_vec(\"my vec\" FLOAT[4] DISTANCE_METRIC=COSINE, \"the tag\" TEXT, "
             "+\"a b\", Chunk_Size=16)");
  CHECK_QUERY(db, "SELECT group_concat(name || ':' || type, ',') FROM pragma_table_info('v')", NULL, NULL,
              "my vec:BLOB,the tag:TEXT,a b:");
  t_exec(db, "INSERT INTO v(\"my vec\", \"the tag\", \"a b\") VALUES ('[1,2,3,4]', 'x', 42)");
  CHECK_QUERY(db, "SELECT \"a b\" FROM v WHERE \"my vec\" MATCH '[1,2,3,4]' AND k = 1 AND \"the tag\" = 'x'", NULL, NULL,
              "42");
  CHECK_QUERY(db, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'v\\_%' ESCAPE '\\'", NULL, NULL, "4");
  t_exec(db, "DROP TABLE v");
  CHECK_QUERY(db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, "0");
  sqlite3_close(db);
}

static void test_errors(void) {
  static const struct { const char *sql, *error; } cases[] = {
    {"INSERT INTO t(rowid, embedding) VALUES (9, '[1,2]')", "ERROR: t: embedding: expected float[3], got float[2]"},
    {"INSERT INTO t(rowid, embedding) VALUES (9, x'0000803f')", "ERROR: t: embedding: expected float[3], got float[1]"},
    {"INSERT INTO t(rowid, embedding) VALUES (9, x'00')",
     "ERROR: t: embedding: a float32 vector BLOB must have a length divisible by 4, got 1 bytes"},
    {"INSERT INTO t(rowid, embedding) VALUES (9, 42)",
     "ERROR: t: embedding: a vector must be a BLOB or JSON TEXT, got INTEGER"},
    {"INSERT INTO t(rowid, embedding) VALUES (9, '[1,2,\"x\"]')",
     "ERROR: t: embedding: element 2 of the JSON vector is not a finite float32 number"},
    {"INSERT INTO t(rowid, embedding) VALUES (9, vec_int8('[1,2,3]'))",
     "ERROR: t: embedding: expected float[3], got a int8 vector"},
    {"INSERT INTO t(rowid, embedding) VALUES (9, NULL)", "ERROR: t: embedding must not be NULL (give a float[3] vector)"},
    {"INSERT INTO t(rowid, embedding, tag) VALUES (9, '[1,2,3]', 5)", "ERROR: t: tag is a text column, got INTEGER"},
    {"INSERT INTO t(rowid, embedding, n) VALUES (9, '[1,2,3]', 1.5)", "ERROR: t: n is a integer column, got REAL"},
    {"INSERT INTO t(rowid, embedding, n) VALUES (9, '[1,2,3]', '7')", "ERROR: t: n is a integer column, got TEXT"},
    {"INSERT INTO t(rowid, embedding, ok) VALUES (9, '[1,2,3]', 2)", "ERROR: t: ok is a boolean column (0 or 1), got 2"},
    {"INSERT INTO t(rowid, embedding, x) VALUES (9, '[1,2,3]', 'a')", "ERROR: t: x is a float column, got TEXT"},
    {"INSERT INTO t(rowid, embedding) VALUES ('nine', '[1,2,3]')", "ERROR: datatype mismatch"},
    {"INSERT INTO t(rowid, embedding) VALUES (1, '[1,2,3]')", "ERROR: t: UNIQUE constraint failed: t.rowid (1)"},
    {"INSERT INTO t(rowid, embedding, distance) VALUES (9, '[1,2,3]', 1)",
     "ERROR: t: distance is computed by k-NN queries and cannot be inserted"},
    {"UPDATE t SET embedding = '[1]' WHERE rowid = 1", "ERROR: t: embedding: expected float[3], got float[1]"},
    {"UPDATE t SET rowid = 2 WHERE rowid = 1", "ERROR: t: UNIQUE constraint failed: t.rowid (2)"},
    {"UPDATE t SET tag = 3 WHERE rowid = 1", "ERROR: t: tag is a text column, got INTEGER"},
    {"SELECT rowid FROM t WHERE embedding MATCH '[1,2,3]'",
     "ERROR: t: a MATCH query needs a k constraint, e.g. AND k = 10 (SQLite 3.40.1 does not pass LIMIT to virtual tables)"},
    {"SELECT rowid FROM t WHERE embedding MATCH '[1,2,3]' LIMIT 5",
     "ERROR: t: a MATCH query needs a k constraint, e.g. AND k = 10 (SQLite 3.40.1 does not pass LIMIT to virtual tables)"},
    {"SELECT rowid FROM t WHERE k = 3", "ERROR: t: k = N only applies to a k-NN query (embedding MATCH <vector> AND k = N)"},
    {"SELECT rowid FROM t WHERE embedding MATCH '[1,2,3]' AND k = -1", "ERROR: t: k must be from 0 to 100000, got -1"},
    {"SELECT rowid FROM t WHERE embedding MATCH '[1,2,3]' AND k = 100001", "ERROR: t: k must be from 0 to 100000, got 100001"},
    {"SELECT rowid FROM t WHERE embedding MATCH '[1,2,3]' AND k = 'ten'", "ERROR: t: k must be an INTEGER, got TEXT"},
    {"SELECT rowid FROM t WHERE embedding MATCH '[1,2]' AND k = 1",
     "ERROR: t: the MATCH vector: expected float[3], got float[2]"},
    {"SELECT rowid FROM t WHERE embedding MATCH 7 AND k = 1",
     "ERROR: t: the MATCH vector: a vector must be a BLOB or JSON TEXT, got INTEGER"},
    {"SELECT rowid FROM t WHERE embedding MATCH '[1,2,3]' AND k = 1 AND distance < 'near'",
     "ERROR: t: distance can only be compared with a number, got TEXT"},
    {"SELECT semlite_vec_check('nope')", "ERROR: semlite_vec_check: no semlite_vec table named 'nope' in the main schema"},
    {"SELECT semlite_vec_check(NULL)", "ERROR: semlite_vec_check: the table name must be TEXT, got NULL"},
  };
  sqlite3 *db = t_open();
  t_exec(db, "CREATE VIRTUAL TABLE t USING semlite_vec(embedding float[3], tag text, n integer, ok boolean, x float)");
  t_exec(db, "INSERT INTO t(rowid, embedding, tag) VALUES (1, '[1,2,3]', 'a'), (2, '[3,2,1]', 'b')");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) CHECK_QUERY(db, cases[i].sql, NULL, NULL, cases[i].error);
  /* The refused statements left nothing behind. */
  CHECK_QUERY(db, "SELECT group_concat(rowid || tag, ' ') FROM t", NULL, NULL, "1a 2b");
  CHECK_OK(db);
  /* REAL accepts INTEGER; NULL metadata is fine. */
  t_exec(db, "INSERT INTO t(rowid, embedding, x, ok, n) VALUES (3, '[0,0,1]', 2, 1, NULL)");
  CHECK_QUERY(db, "SELECT typeof(x) || typeof(n) || ok FROM t WHERE rowid = 3", NULL, NULL, "realnull1");
  sqlite3_close(db);
}

/* ---- writes ---- */

static void test_writes(void) {
  sqlite3 *db = t_open();
  t_exec(db, "CREATE VIRTUAL TABLE t USING semlite_vec(embedding float[2], tag text, +note text, chunk_size=8)");
  /* rowids chosen by the table, like a rowid table: max + 1 */
  t_exec(db, "INSERT INTO t(embedding, tag, note) VALUES ('[1,0]', 'a', 'first')");
  CHECK_INT(sqlite3_last_insert_rowid(db), 1);
  t_exec(db, "INSERT INTO t(rowid, embedding, tag) VALUES (10, '[0,1]', 'b')");
  t_exec(db, "INSERT INTO t(embedding, tag) VALUES ('[1,1]', 'c')");
  CHECK_INT(sqlite3_last_insert_rowid(db), 11);
  CHECK_QUERY(db, "SELECT group_concat(rowid || tag || ifnull(note, '-'), ' ') FROM t", NULL, NULL, "1afirst 10b- 11c-");
  /* upsert: REPLACE swaps the whole row, IGNORE keeps the old one */
  t_exec(db, "INSERT OR REPLACE INTO t(rowid, embedding, tag, note) VALUES (10, '[5,5]', 'B', 'replaced')");
  t_exec(db, "INSERT OR IGNORE INTO t(rowid, embedding, tag) VALUES (1, '[9,9]', 'ignored')");
  t_exec(db, "REPLACE INTO t(rowid, embedding, tag) VALUES (12, '[2,2]', 'new')");
  CHECK_QUERY(db, "SELECT group_concat(rowid || tag || ifnull(note, '-') || vec_to_json(embedding), ' ') FROM t", NULL,
              NULL, "1afirst[1.000000,0.000000] 10Breplaced[5.000000,5.000000] 11c-[1.000000,1.000000] "
                    "12new-[2.000000,2.000000]");
  /* UPDATE of metadata, auxiliary, vector, rowid; each leaves the rest alone */
  t_exec(db, "UPDATE t SET tag = 'A' WHERE rowid = 1");
  t_exec(db, "UPDATE t SET note = 'noted' WHERE tag = 'c'");
  t_exec(db, "UPDATE t SET embedding = '[3,4]' WHERE rowid = 12");
  t_exec(db, "UPDATE t SET rowid = 20 WHERE rowid = 11");
  CHECK_QUERY(db, "SELECT group_concat(rowid || tag || ifnull(note, '-') || vec_to_json(embedding), ' ') FROM t", NULL,
              NULL, "1Afirst[1.000000,0.000000] 10Breplaced[5.000000,5.000000] 12new-[3.000000,4.000000] "
                    "20cnoted[1.000000,1.000000]");
  CHECK_QUERY(db, "SELECT rowid || ' ' || distance FROM t WHERE embedding MATCH '[3,4]' AND k = 1", NULL, NULL, "12 0.0");
  CHECK_QUERY(db, "SELECT rowid FROM t WHERE embedding MATCH '[1,1]' AND k = 1", NULL, NULL, "20");
  /* UPDATE OR REPLACE onto a taken rowid */
  t_exec(db, "UPDATE OR REPLACE t SET rowid = 1 WHERE rowid = 20");
  CHECK_QUERY(db, "SELECT group_concat(rowid || tag, ' ') FROM t", NULL, NULL, "1c 10B 12new");
  CHECK_OK(db);
  /* UPDATE of rows found by a k-NN query */
  t_exec(db, "UPDATE t SET tag = 'near' WHERE embedding MATCH '[5,5]' AND k = 2");
  CHECK_QUERY(db, "SELECT group_concat(rowid || tag, ' ') FROM t", NULL, NULL, "1c 10near 12near");
  /* DELETE; a chunk whose last row goes is dropped */
  t_exec(db, "DELETE FROM t WHERE rowid = 10");
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM t", NULL, NULL, "1 12");
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM t WHERE embedding MATCH '[5,5]' AND k = 5", NULL, NULL, "12 1");
  t_exec(db, "DELETE FROM t");
  CHECK_QUERY(db, "SELECT count(*) || ' ' || (SELECT count(*) FROM t_chunks) FROM t", NULL, NULL, "0 0");
  CHECK_OK(db);
  /* Many rows over many chunks, deletes in the middle, slots reused in the last chunk. */
  t_exec(db, "INSERT INTO t(rowid, embedding, tag) SELECT value, json_array(value, -value), 'x' FROM "
             SERIES(1, 100));
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM t_chunks"), 13);
  t_exec(db, "DELETE FROM t WHERE rowid % 3 = 0 OR rowid BETWEEN 9 AND 24");
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM t"), 57);
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM t_chunks"), 11);
  CHECK_OK(db);
  t_exec(db, "INSERT INTO t(rowid, embedding, tag) SELECT value, json_array(value, -value), 'y' FROM "
             SERIES(101, 103));
  /* The freed slots of the last chunk took them: no new chunk. */
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM t_chunks"), 11);
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM t WHERE embedding MATCH '[50,-50]' AND k = 3", NULL, NULL,
              "50 49 52");
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM t WHERE embedding MATCH '[102,-102]' AND k = 3", NULL, NULL,
              "102 101 103");
  CHECK_OK(db);
  sqlite3_close(db);
}

static void test_transactions(void) {
  sqlite3 *db = t_open();
  t_exec(db, "CREATE VIRTUAL TABLE t USING semlite_vec(embedding float[2], tag text, +note text, chunk_size=8)");
  t_exec(db, "INSERT INTO t(rowid, embedding, tag, note) VALUES (1, '[1,0]', 'a', 'one'), (2, '[0,1]', 'b', 'two')");
  /* ROLLBACK undoes inserts, updates and deletes, vectors and metadata together */
  t_exec(db, "BEGIN");
  t_exec(db, "INSERT INTO t(embedding, tag) SELECT json_array(value, value), 'bulk' FROM " SERIES(1, 30));
  t_exec(db, "UPDATE t SET embedding = '[7,7]', tag = 'changed', note = 'x' WHERE rowid = 1");
  t_exec(db, "DELETE FROM t WHERE rowid = 2");
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM t"), 31);
  t_exec(db, "ROLLBACK");
  CHECK_QUERY(db, "SELECT group_concat(rowid || tag || note || vec_to_json(embedding), ' ') FROM t", NULL, NULL,
              "1aone[1.000000,0.000000] 2btwo[0.000000,1.000000]");
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM t_chunks"), 1);
  CHECK_OK(db);
  /* SAVEPOINT / ROLLBACK TO / RELEASE */
  t_exec(db, "BEGIN");
  t_exec(db, "INSERT INTO t(rowid, embedding, tag) VALUES (3, '[1,1]', 'c')");
  t_exec(db, "SAVEPOINT s1");
  t_exec(db, "INSERT INTO t(rowid, embedding, tag) SELECT value, json_array(value, 0), 'gone' FROM " SERIES(10, 40));
  t_exec(db, "DELETE FROM t WHERE rowid = 1");
  t_exec(db, "SAVEPOINT s2");
  t_exec(db, "UPDATE t SET tag = 'inner' WHERE rowid = 3");
  t_exec(db, "RELEASE s2");
  t_exec(db, "ROLLBACK TO s1");
  t_exec(db, "UPDATE t SET tag = 'kept' WHERE rowid = 3");
  t_exec(db, "RELEASE s1");
  t_exec(db, "COMMIT");
  CHECK_QUERY(db, "SELECT group_concat(rowid || tag, ' ') FROM t", NULL, NULL, "1a 2b 3kept");
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM t WHERE embedding MATCH '[20,0]' AND k = 10", NULL, NULL, "1 3 2");
  CHECK_OK(db);
  /* A statement that fails half way is undone alone; the transaction goes on. */
  t_exec(db, "BEGIN");
  t_exec(db, "INSERT INTO t(rowid, embedding, tag) VALUES (4, '[4,4]', 'd')");
  CHECK_QUERY(db, "INSERT INTO t(rowid, embedding, tag) SELECT value, CASE WHEN value < 60 THEN json_array(value, 1) "
                  "ELSE '[1]' END, 'half' FROM " SERIES(50, 70), NULL, NULL,
              "ERROR: t: embedding: expected float[2], got float[1]");
  CHECK_QUERY(db, "INSERT INTO t(rowid, embedding, tag) VALUES (5, '[5,5]', 'e'), (3, '[0,0]', 'dup')", NULL, NULL,
              "ERROR: t: UNIQUE constraint failed: t.rowid (3)");
  t_exec(db, "COMMIT");
  CHECK_QUERY(db, "SELECT group_concat(rowid || tag, ' ') FROM t", NULL, NULL, "1a 2b 3kept 4d");
  CHECK_OK(db);
  sqlite3_close(db);
}

/* ---- the self-check, shadow tables, persistence ---- */

static void test_check_and_shadow(void) {
  char path[512];
  sqlite3 *db;
  temp_db_path(path, sizeof path, "check");
  remove_db(path);
  db = open_path(path);
  t_exec(db, "CREATE VIRTUAL TABLE t USING semlite_vec(embedding float[4], tag text, +note text, chunk_size=8, "
             "quantizer=int8)");
  t_exec(db, "INSERT INTO t(rowid, embedding, tag, note) SELECT value, json_array(value, 1, 2, 3), 'x', 'n' "
             "FROM " SERIES(1, 20));
  CHECK_OK(db);
  /* Shadow tables are read-only to SQL when the connection is defensive. */
  sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
  CHECK_QUERY(db, "DELETE FROM t_rowids WHERE rowid = 3", NULL, NULL, "ERROR: table t_rowids may not be modified");
  CHECK_QUERY(db, "UPDATE t_chunks SET validity = x'00'", NULL, NULL, "ERROR: table t_chunks may not be modified");
  sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 0, NULL);
  /* Damage of every kind the check knows, one at a time. */
  t_exec(db, "SAVEPOINT damage");
  t_exec(db, "DELETE FROM t_rowids WHERE rowid = 3");
  CHECK_QUERY(db, "SELECT semlite_vec_check('t')", NULL, NULL,
              "chunk 1 slot 2 holds row 3, which t_rowids does not place there\n"
              "auxiliary values of row 3 belong to no row");
  t_exec(db, "ROLLBACK TO damage");
  t_exec(db, "UPDATE t_rowids SET chunk_offset = 5 WHERE rowid = 2");
  CHECK_QUERY(db, "SELECT semlite_vec_check('t')", NULL, NULL,
              "chunk 1 slot 1 holds row 2, which t_rowids does not place there\n"
              "chunk 1 slot 5 holds row 6 but t_rowids places row 2 there\n"
              "rows 2 and 6 both claim chunk 1 slot 5");
  t_exec(db, "ROLLBACK TO damage");
  t_exec(db, "UPDATE t_chunks SET vectors = zeroblob(10) WHERE chunk_id = 2");
  CHECK_QUERY(db, "SELECT semlite_vec_check('t')", NULL, NULL,
              "chunk 2: vectors is 10 bytes, expected 128\n"
              "row 9: chunk 2 slot 0 is not a valid slot\n"
              "row 10: chunk 2 slot 1 is not a valid slot\n"
              "row 11: chunk 2 slot 2 is not a valid slot\n"
              "row 12: chunk 2 slot 3 is not a valid slot\n"
              "row 13: chunk 2 slot 4 is not a valid slot\n"
              "row 14: chunk 2 slot 5 is not a valid slot\n"
              "row 15: chunk 2 slot 6 is not a valid slot\n"
              "row 16: chunk 2 slot 7 is not a valid slot");
  CHECK_QUERY(db, "SELECT count(*) FROM t WHERE embedding MATCH '[1,1,2,3]' AND k = 3", NULL, NULL,
              "ERROR: t: chunk 2 has a 10-byte vectors BLOB, expected 128 (run semlite_vec_check)");
  t_exec(db, "ROLLBACK TO damage");
  t_exec(db, "UPDATE t_chunks SET qvectors = zeroblob(length(qvectors)) WHERE chunk_id = 3");
  CHECK_QUERY(db, "SELECT substr(semlite_vec_check('t'), 1, 66)", NULL, NULL,
              "chunk 3 slot 0: the quantized copy does not match the vector\nchunk");
  t_exec(db, "ROLLBACK TO damage");
  t_exec(db, "DELETE FROM t_aux WHERE rowid = 7");
  CHECK_QUERY(db, "SELECT semlite_vec_check('t')", NULL, NULL, "row 7 has no auxiliary values");
  CHECK_QUERY(db, "SELECT note FROM t WHERE rowid = 7", NULL, NULL, "ERROR: t: row 7 has no t_aux row (run semlite_vec_check)");
  t_exec(db, "ROLLBACK TO damage");
  t_exec(db, "RELEASE damage");
  CHECK_OK(db);
  /* ALTER TABLE RENAME takes the shadow tables along. */
  t_exec(db, "ALTER TABLE t RENAME TO u");
  CHECK_QUERY(db, "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_schema WHERE name LIKE 'u%' ORDER BY name)",
              NULL, NULL, "u,u_aux,u_chunks,u_info,u_rowids");
  CHECK_QUERY(db, "SELECT semlite_vec_check('u')", NULL, NULL, "ok");
  CHECK_QUERY(db, "SELECT rowid FROM u WHERE embedding MATCH '[5,1,2,3]' AND k = 1", NULL, NULL, "5");
  t_exec(db, "ALTER TABLE u RENAME TO t");
  sqlite3_close(db);

  /* Reopened: the table connects from its shadow tables and answers the same. */
  db = open_path(path);
  CHECK_QUERY(db, "SELECT rowid || note FROM t WHERE embedding MATCH '[5,1,2,3]' AND k = 1", NULL, NULL, "5n");
  CHECK_OK(db);
  /* A layout that disagrees with the declaration is refused at connect. */
  t_exec(db, "UPDATE t_info SET value = 16 WHERE key = 'chunk_size'");
  sqlite3_close(db);
  db = open_path(path);
  CHECK_QUERY(db, "SELECT count(*) FROM t", NULL, NULL,
              "ERROR: t: shadow table t_info has chunk_size=16 but the declaration means chunk_size=8");
  sqlite3_close(db);
  remove_db(path);
}

/* ---- embed on insert ---- */

/* The error of an embed-on-insert into table (made with model=minilm) once minilm is
** unloaded: the table recorded the folder (ext/sql/vec/identity.c). Free with sqlite3_free. */
static char *missing_minilm(const char *table) {
  char path[1024], real[PATH_MAX];
  if (!realpath(t_model_path(path, sizeof path, "minilm-l6-embed"), real)) real[0] = 0;
  return sqlite3_mprintf("ERROR: %s: model: no model named 'minilm'; this table's vectors come from the folder '%s' "
                         "(fp32): load it with semlite_model_load('minilm', '%s')", table, real, real);
}

static sqlite3 *open_with_minilm(void) {
  char path[1024];
  sqlite3 *db = t_open();
  CHECK_QUERY(db, "SELECT semlite_model_load('minilm', ?1)", t_model_path(path, sizeof path, "minilm-l6-embed"), NULL,
              "minilm");
  return db;
}

static void test_embed_on_insert(void) {
  sqlite3 *db = open_with_minilm();
  t_exec(db, "CREATE VIRTUAL TABLE t USING semlite_vec(embedding float[384] distance_metric=cosine, category text, "
             "+body text, model=minilm, embed_from=body, chunk_size=8)");
  t_exec(db, "CREATE TABLE notes(id INTEGER PRIMARY KEY, cat TEXT, body TEXT)");
  t_exec(db, "INSERT INTO notes VALUES (1, 'climate', 'turn off the heating in the living room'), "
             "(2, 'light', 'switch on the kitchen lights'), (3, 'climate', 'set the thermostat to 20 degrees'), "
             "(4, 'security', 'lock the front door at night'), (5, 'light', 'dim the bedroom lamp'), "
             "(6, 'climate', 'open the window when it is hot'), (7, 'media', 'play some jazz in the lounge'), "
             "(8, 'security', 'motion sensor in the hallway'), (9, 'light', 'turn off every light downstairs'), "
             "(10, 'climate', 'heating schedule for the weekend')");
  /* Rows are embedded in batches (vectors equal embed()'s within the engine's float32
  ** error: a packed batch rounds differently from a single text). */
  t_exec(db, "INSERT INTO t(rowid, category, body) SELECT id, cat, body FROM notes");
  CHECK_QUERY(db, "SELECT count(*) FROM t JOIN notes ON notes.id = t.rowid WHERE vec_distance_l2(t.embedding, embed('minilm', notes.body)) < 1e-5",
              NULL, NULL, "10");
  /* The query from the issue: k-NN with a metadata filter, against vec_distance_cosine. */
  {
    char *expect = t_query(db, "SELECT group_concat(rowid, ' ') FROM (SELECT rowid FROM t WHERE category = 'climate' "
                               "ORDER BY vec_distance_cosine(embedding, embed('minilm', 'turn off heating')) LIMIT 3)",
                           NULL, NULL);
    CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM (SELECT rowid FROM t WHERE embedding MATCH "
                    "embed('minilm', 'turn off heating') AND k = 3 AND category = 'climate')", NULL, NULL, expect);
    sqlite3_free(expect);
  }
  CHECK_QUERY(db, "SELECT round(distance, 6) FROM t WHERE embedding MATCH embed('minilm', 'dim the bedroom lamp') AND k = 1",
              NULL, NULL, "0.0");
  /* Upsert with new text re-embeds; UPDATE of the text re-embeds, of other columns not. */
  t_exec(db, "INSERT OR REPLACE INTO t(rowid, category, body) VALUES (7, 'light', 'new text')");
  CHECK_QUERY(db, "SELECT vec_distance_l2(embedding, embed('minilm', 'new text')) < 1e-5 FROM t WHERE rowid = 7", NULL, NULL, "1");
  t_exec(db, "UPDATE t SET body = 'water the plants' WHERE rowid = 2");
  CHECK_QUERY(db, "SELECT vec_distance_l2(embedding, embed('minilm', 'water the plants')) < 1e-5 FROM t WHERE rowid = 2", NULL, NULL, "1");
  t_exec(db, "UPDATE t SET category = 'garden' WHERE rowid = 2");
  CHECK_QUERY(db, "SELECT (vec_distance_l2(embedding, embed('minilm', 'water the plants')) < 1e-5) || category FROM t WHERE rowid = 2", NULL,
              NULL, "1garden");
  /* A vector given explicitly wins over the text. */
  t_exec(db, "INSERT INTO t(rowid, embedding, body) VALUES (11, embed('minilm', 'other'), 'ignored for embedding')");
  CHECK_QUERY(db, "SELECT vec_distance_l2(embedding, embed('minilm', 'other')) < 1e-5 FROM t WHERE rowid = 11", NULL, NULL, "1");
  /* Setting the vector to NULL re-embeds the stored text. */
  t_exec(db, "UPDATE t SET embedding = NULL WHERE rowid = 11");
  CHECK_QUERY(db, "SELECT vec_distance_l2(embedding, embed('minilm', 'ignored for embedding')) < 1e-5 FROM t WHERE rowid = 11", NULL, NULL, "1");
  /* Errors: a NULL or non-text body, and a model unloaded since CREATE. */
  CHECK_QUERY(db, "INSERT INTO t(rowid, category, body) VALUES (12, 'x', NULL)", NULL, NULL,
              "ERROR: t: cannot embed a NULL body (embed_from=body): give it a text or give embedding a vector");
  CHECK_QUERY(db, "INSERT INTO t(rowid, category, body) VALUES (12, 'x', 42)", NULL, NULL,
              "ERROR: t: cannot embed body (embed_from=body): it must be TEXT, got INTEGER");
  CHECK_QUERY(db, "UPDATE t SET body = NULL WHERE rowid = 1", NULL, NULL,
              "ERROR: t: cannot embed a NULL body (embed_from=body): give it a text or give embedding a vector");
  CHECK_QUERY(db, "SELECT semlite_model_unload('minilm')", NULL, NULL, "1");
  {
    char *want = missing_minilm("t");
    CHECK_QUERY(db, "INSERT INTO t(rowid, category, body) VALUES (12, 'x', 'y')", NULL, NULL, want);
    sqlite3_free(want);
  }
  /* Without the model the table still reads, and takes rows that bring their vector. */
  CHECK_QUERY(db, "SELECT count(*) FROM t", NULL, NULL, "11");
  t_exec(db, "DELETE FROM t WHERE rowid = 11");
  CHECK_OK(db);
  sqlite3_close(db);
}

/* Rows wait in a queue for their vectors; nothing may ever see a row without one. */
static void test_embed_batches(void) {
  sqlite3 *db = open_with_minilm();
  const char *same = "SELECT count(*) FROM t WHERE vec_distance_l2(embedding, embed('minilm', body)) < 1e-5";
  t_exec(db, "CREATE VIRTUAL TABLE t USING semlite_vec(embedding float[384], +body text, model=minilm, "
             "embed_from=body, chunk_size=16, quantizer=int8)");
  /* More rows than one batch (64) in one statement. */
  t_exec(db, "INSERT INTO t(rowid, body) SELECT value, 'note ' || value || ' on room ' || (value % 7) FROM "
             SERIES(1, 70));
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM t"), 70);
  CHECK_OK(db);
  /* Inside a transaction a query sees the queued rows with their vectors. */
  t_exec(db, "BEGIN");
  t_exec(db, "INSERT INTO t(rowid, body) VALUES (100, 'garage door'), (101, 'garden hose')");
  CHECK_QUERY(db, "SELECT rowid FROM t WHERE embedding MATCH embed('minilm', 'garden hose') AND k = 1", NULL, NULL, "101");
  t_exec(db, "INSERT INTO t(rowid, body) VALUES (102, 'front porch light')");
  t_exec(db, "ROLLBACK");
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM t"), 70);
  CHECK_OK(db);
  /* ROLLBACK TO drops the rows queued after the savepoint, keeps the ones before. */
  t_exec(db, "BEGIN");
  t_exec(db, "INSERT INTO t(rowid, body) VALUES (110, 'kept one')");
  t_exec(db, "SAVEPOINT s");
  t_exec(db, "INSERT INTO t(rowid, body) VALUES (111, 'dropped one')");
  t_exec(db, "ROLLBACK TO s");
  t_exec(db, "INSERT INTO t(rowid, body) VALUES (112, 'kept two')");
  t_exec(db, "COMMIT");
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM t WHERE rowid > 100", NULL, NULL, "110 112");
  CHECK_OK(db);
  /* A statement that fails part way drops its queued rows only. */
  t_exec(db, "BEGIN");
  t_exec(db, "INSERT INTO t(rowid, body) VALUES (120, 'before')");
  CHECK_QUERY(db, "INSERT INTO t(rowid, body) SELECT value, CASE WHEN value < 125 THEN 'row ' || value END FROM "
                  SERIES(121, 130), NULL, NULL,
              "ERROR: t: cannot embed a NULL body (embed_from=body): give it a text or give embedding a vector");
  t_exec(db, "COMMIT");
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM t WHERE rowid >= 120", NULL, NULL, "120");
  CHECK_OK(db);
  /* A queued row replaced or deleted before its batch ran. */
  t_exec(db, "INSERT OR REPLACE INTO t(rowid, body) VALUES (130, 'first'), (130, 'second')");
  CHECK_QUERY(db, "SELECT body FROM t WHERE rowid = 130", NULL, NULL, "second");
  t_exec(db, "BEGIN");
  t_exec(db, "INSERT INTO t(rowid, body) VALUES (131, 'short lived'), (132, 'stays')");
  t_exec(db, "DELETE FROM t WHERE rowid = 131");
  t_exec(db, "COMMIT");
  /* Every vector, from batches of 64, 6, 2, 1...: the texts' own embeddings. */
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM t"), 75);
  CHECK_INT(t_query_int(db, same), 75);
  CHECK_OK(db);
  /* The model unloaded while rows wait: COMMIT cannot embed them and fails. */
  t_exec(db, "BEGIN");
  t_exec(db, "INSERT INTO t(rowid, body) VALUES (140, 'orphan')");
  CHECK_QUERY(db, "SELECT semlite_model_unload('minilm')", NULL, NULL, "1");
  {
    char *want = missing_minilm("t");
    CHECK_QUERY(db, "COMMIT", NULL, NULL, want);
    sqlite3_free(want);
  }
  if (!sqlite3_get_autocommit(db)) t_exec(db, "ROLLBACK");
  CHECK_QUERY(db, "SELECT count(*) FROM t WHERE rowid = 140", NULL, NULL, "0");
  CHECK_OK(db);
  sqlite3_close(db);
}

/* ---- quantized search ---- */

static double recall_at_10(sqlite3 *db, const dataset *d, int n_queries) {
  int hits = 0, total = 0;
  sqlite3_stmt *st;
  CHECK(sqlite3_prepare_v2(db, "SELECT rowid FROM t WHERE embedding MATCH ?1 AND k = 10", -1, &st, NULL) == SQLITE_OK);
  for (int qi = 0; qi < n_queries; qi++) {
    unsigned char q[4 * 64];
    ranked expect[10];
    for (int i = 0; i < d->dims; i++) {
      float f = rng_float();
      memcpy(q + 4 * i, &f, 4);
    }
    int n = brute_force(d, M_COS, q, NULL, 10, INFINITY, expect);
    sqlite3_bind_blob(st, 1, q, (int)d->vbytes, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
      long long r = sqlite3_column_int64(st, 0);
      for (int i = 0; i < n; i++) hits += expect[i].rowid == r;
    }
    sqlite3_reset(st);
    total += n;
  }
  sqlite3_finalize(st);
  return total ? (double)hits / total : 0;
}

/* A quantized query: rows pass the filter, come sorted, carry their exact distance,
** and there are k of them when k rows match. */
static void check_rescored(sqlite3 *db, const dataset *d, const char *where, row_pred pred, int k,
                           const unsigned char *q) {
  char sql[256];
  sqlite3_stmt *st;
  int n = 0, matching = 0;
  double prev = -INFINITY;
  for (int i = 0; i < d->count; i++) matching += !pred || pred(&d->rows[i]);
  snprintf(sql, sizeof sql, "SELECT rowid, distance FROM t WHERE embedding MATCH ?1 AND k = ?2 AND %s", where);
  CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
  sqlite3_bind_blob(st, 1, q, (int)d->vbytes, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, k);
  while (sqlite3_step(st) == SQLITE_ROW) {
    long long rowid = sqlite3_column_int64(st, 0);
    double got = sqlite3_column_double(st, 1);
    const row *r = &d->rows[(rowid - 1) / 3];
    double expect = distance(d, M_COS, q, r->vec);
    CHECK_MSG(!pred || pred(r), "%s: row %lld does not pass the filter", sql, rowid);
    CHECK_MSG(fabs(got - expect) <= 1e-4, "%s: row %lld at %.7f, exactly %.7f", sql, rowid, got, expect);
    CHECK_MSG(got >= prev, "%s: not sorted by distance", sql);
    prev = got;
    n++;
  }
  sqlite3_finalize(st);
  if (pred) CHECK_MSG(n == (matching < k ? matching : k), "%s: %d rows", sql, n);
  else CHECK_MSG(n > 0 && n <= k, "%s: %d rows", sql, n);
}

static void test_quantized(void) {
  static const char *const quantizers[] = {"quantizer=int8, oversample=4", "quantizer=binary, oversample=4",
                                           "quantizer=binary, oversample=16"};
  double recall[3];
  dataset d;
  make_dataset(&d, ELEM_F32, 64, 3000, 2024);
  for (int i = 0; i < 3; i++) {
    char opts[128];
    sqlite3 *db = t_open();
    snprintf(opts, sizeof opts, "chunk_size=256, %s", quantizers[i]);
    create_table(db, "float[64] distance_metric=cosine", opts);
    insert_dataset(db, &d);
    rng_seed(99);
    recall[i] = recall_at_10(db, &d, 30);
    /* Rescored distances are exact; filters still come before the top-k. */
    check_rescored(db, &d, "category = 'rare'", p_rare, 10, d.rows[10].vec);
    check_rescored(db, &d, "distance < 0.9", NULL, 10, d.rows[11].vec);
    /* A row queried with its own vector is found first, at distance 0. */
    CHECK_QUERY(db, "SELECT rowid || ' ' || (abs(distance) < 1e-6) FROM t WHERE embedding MATCH (SELECT embedding "
                    "FROM t WHERE rowid = 301) AND k = 1", NULL, NULL, "301 1");
    CHECK_OK(db);
    sqlite3_close(db);
  }
  /* Large, nearly equal vectors: the int8 l2 estimate must keep the small differences
  ** (computed in double; in float they tied and lower rowids won the candidate slots). */
  {
    sqlite3 *db = t_open();
    t_exec(db, "CREATE VIRTUAL TABLE t USING semlite_vec(embedding float[8], quantizer=int8)");
    t_exec(db, "INSERT INTO t(rowid, embedding) SELECT value, json_array(12000 + value, 0.5, 0.25, 0.75, 0.1, 0.2, 0.3, "
               "value % 7 / 7.0) FROM " SERIES(1, 300));
    CHECK_QUERY(db, "SELECT count(*) FROM t AS a WHERE (SELECT b.rowid FROM t AS b WHERE b.embedding MATCH a.embedding "
                    "AND b.k = 1) = a.rowid", NULL, NULL, "300");
    sqlite3_close(db);
  }
  printf("  recall@10 vs exact, 3000 x 64 random, cosine: int8 x4 %.3f, binary x4 %.3f, binary x16 %.3f\n", recall[0],
         recall[1], recall[2]);
  CHECK_MSG(recall[0] >= 0.9, "int8 oversample 4 recall@10 %.3f < 0.9", recall[0]);
  CHECK_MSG(recall[2] > recall[1], "binary: oversample 16 should beat 4 (%.3f vs %.3f)", recall[2], recall[1]);
  free(d.rows);
}

/* ---- crash safety ---- */

/* The child: transactions of 50 rows until killed. Reports each commit on fd. */
static void crash_child(const char *path, int fd) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st;
  char *err = NULL;
  float v[32];
  long long next = 1;
  if (sqlite3_open(path, &db) != SQLITE_OK) _exit(2);
  sqlite3_enable_load_extension(db, 1);
  if (sqlite3_load_extension(db, sl_test_so_path(), NULL, &err) != SQLITE_OK) _exit(3);
  sqlite3_busy_timeout(db, 5000);
  if (sqlite3_prepare_v2(db, "INSERT INTO t(rowid, embedding, tag) VALUES (?1, ?2, 'c')", -1, &st, NULL) != SQLITE_OK)
    _exit(4);
  sqlite3_stmt *mx;
  if (sqlite3_prepare_v2(db, "SELECT ifnull(max(rowid), 0) + 1 FROM t", -1, &mx, NULL) != SQLITE_OK) _exit(5);
  if (sqlite3_step(mx) == SQLITE_ROW) next = sqlite3_column_int64(mx, 0);
  sqlite3_finalize(mx);
  for (;;) {
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) _exit(6);
    for (int i = 0; i < 50; i++, next++) {
      v[0] = (float)next;  /* unique, so each row is its own nearest neighbour */
      for (int j = 1; j < 32; j++) v[j] = (float)((next * 31 + j) % 97) / 97.0f;
      sqlite3_bind_int64(st, 1, next);
      sqlite3_bind_blob(st, 2, v, sizeof v, SQLITE_STATIC);
      if (sqlite3_step(st) != SQLITE_DONE) _exit(7);
      sqlite3_reset(st);
      /* Delete now and then, so chunks also shrink and vanish under the kill. */
      if (next % 7 == 0) {
        char sql[64];
        snprintf(sql, sizeof sql, "DELETE FROM t WHERE rowid = %lld", next - 3);
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) _exit(8);
      }
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) _exit(9);
    if (write(fd, "c", 1) != 1) _exit(10);
  }
}

static void test_crash(void) {
  char path[512];
  sqlite3 *db;
  long long committed = 0;
  temp_db_path(path, sizeof path, "crash");
  remove_db(path);
  db = open_path(path);
  CHECK_QUERY(db, "PRAGMA journal_mode = WAL", NULL, NULL, "wal");
  t_exec(db, "CREATE VIRTUAL TABLE t USING semlite_vec(embedding float[32], tag text, chunk_size=64, quantizer=int8)");
  sqlite3_close(db);
  for (int round = 0; round < 4; round++) {
    int fds[2], status;
    pid_t pid;
    char buf[256];
    long long commits = 0;
    struct timespec delay = {0, (30 + 25 * round) * 1000000L};
    CHECK(pipe(fds) == 0);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
      close(fds[0]);
      crash_child(path, fds[1]);
      _exit(0);
    }
    close(fds[1]);
    /* Let it commit a few transactions, then kill it wherever it is. */
    while (commits < 3) {
      ssize_t n = read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      commits += n;
    }
    nanosleep(&delay, NULL);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) commits += n;
    close(fds[0]);
    CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "round %d: child ended with status %d", round, status);
    CHECK_MSG(commits >= 3, "round %d: the child committed only %lld transactions", round, commits);
    committed += commits;

    db = open_path(path);
    CHECK_QUERY(db, "PRAGMA integrity_check", NULL, NULL, "ok");
    CHECK_OK(db);
    /* Whole transactions only: every committed one, none half done. 50 inserts and
    ** 7 deletes in each (rowid r deleted when r + 3 is a multiple of 7). */
    long long max_rowid = t_query_int(db, "SELECT ifnull(max(rowid), 0) FROM t");
    long long count = t_query_int(db, "SELECT count(*) FROM t");
    long long deleted = t_query_int(db, "WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s "
                                      "WHERE value < (SELECT max(rowid) FROM t)) SELECT count(*) FROM s "
                                      "WHERE (value + 3) % 7 = 0 AND value + 3 <= (SELECT max(rowid) FROM t)");
    CHECK_MSG(max_rowid % 50 == 0, "round %d: max rowid %lld is not a whole number of transactions", round, max_rowid);
    CHECK_MSG(max_rowid >= committed * 50 && max_rowid <= (committed + 1) * 50,
              "round %d: %lld rows inserted, %lld transactions reported committed", round, max_rowid, committed);
    CHECK_MSG(count == max_rowid - deleted, "round %d: %lld rows, expected %lld", round, count, max_rowid - deleted);
    committed = max_rowid / 50;
    snprintf(buf, sizeof buf, "SELECT rowid FROM t WHERE embedding MATCH (SELECT embedding FROM t WHERE rowid = %lld) "
                              "AND k = 1", max_rowid);
    CHECK_INT(t_query_int(db, buf), max_rowid);
    sqlite3_close(db);
  }
  remove_db(path);
}

/* The process-wide chunk cache never serves stale vectors: two connections on one WAL
** file share it (one .so), and every way a chunk can change is seen by the next search,
** in the writer's own open transaction too. Row 5 is moved onto the query vector or
** away from it; the nearest row says which content the search used. */
static void test_chunk_cache(void) {
  char path[512];
  temp_db_path(path, sizeof path, "cache");
  remove_db(path);
  sqlite3 *a = open_path(path), *b = open_path(path);
  const char *nearest = "SELECT rowid FROM t WHERE embedding MATCH '[1,0,0,0]' AND k = 1";
  t_exec(a, "PRAGMA journal_mode = WAL");
  t_exec(a, "CREATE VIRTUAL TABLE t USING semlite_vec(embedding float[4], chunk_size=8)");
  t_exec(a, "INSERT INTO t(rowid, embedding) SELECT value, json_array(0, value, 1, 0) FROM " SERIES(1, 40));
  CHECK_QUERY(a, nearest, NULL, NULL, "1");
  CHECK_QUERY(b, nearest, NULL, NULL, "1");          /* both have read (and cached) every chunk */

  t_exec(b, "UPDATE t SET embedding = '[1,0,0,0]' WHERE rowid = 5");       /* another connection commits */
  CHECK_QUERY(a, nearest, NULL, NULL, "5");

  t_exec(a, "BEGIN");
  t_exec(a, "UPDATE t SET embedding = '[0,9,9,9]' WHERE rowid = 5");       /* the writer's own transaction */
  CHECK_QUERY(a, nearest, NULL, NULL, "1");
  CHECK_QUERY(b, nearest, NULL, NULL, "5");          /* the other still reads the committed chunk */
  t_exec(a, "UPDATE t SET embedding = '[1,0,0,0]' WHERE rowid = 5");       /* same chunk, same transaction */
  CHECK_QUERY(a, nearest, NULL, NULL, "5");
  t_exec(a, "ROLLBACK");
  CHECK_QUERY(a, nearest, NULL, NULL, "5");

  /* ROLLBACK TO undoes the chunk's new version; the change after it must make another */
  t_exec(a, "BEGIN");
  t_exec(a, "SAVEPOINT s");
  t_exec(a, "DELETE FROM t WHERE rowid = 5");
  CHECK_QUERY(a, nearest, NULL, NULL, "1");
  t_exec(a, "ROLLBACK TO s");
  CHECK_QUERY(a, nearest, NULL, NULL, "5");
  t_exec(a, "UPDATE t SET embedding = '[0,9,9,9]' WHERE rowid = 5");
  t_exec(a, "COMMIT");
  CHECK_QUERY(b, nearest, NULL, NULL, "1");
  CHECK_QUERY(a, nearest, NULL, NULL, "1");

  /* a row added to the last chunk and a chunk emptied and deleted */
  t_exec(b, "INSERT INTO t(rowid, embedding) VALUES (41, '[1,0,0,0]')");
  CHECK_QUERY(a, nearest, NULL, NULL, "41");
  t_exec(b, "DELETE FROM t WHERE rowid >= 33");
  CHECK_QUERY(a, nearest, NULL, NULL, "1");
  CHECK_QUERY(a, "SELECT count(*) FROM t WHERE embedding MATCH '[1,0,0,0]' AND k = 100", NULL, NULL, "32");
  CHECK_QUERY(a, "SELECT semlite_vec_check('t')", NULL, NULL, "ok");
  sqlite3_close(a);
  sqlite3_close(b);
  remove_db(path);
}

const sl_test vtab_vec_tests[] = {
  {"exact", test_exact},
  {"query_forms", test_query_forms},
  {"filters", test_filters},
  {"create_errors", test_create_errors},
  {"errors", test_errors},
  {"writes", test_writes},
  {"transactions", test_transactions},
  {"check", test_check_and_shadow},
  {"embed_on_insert", test_embed_on_insert},
  {"embed_batches", test_embed_batches},
  {"quantized", test_quantized},
  {"crash", test_crash},
  {"chunk_cache", test_chunk_cache},
  {0, 0},
};
