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

static uint64_t rng_next(void) { return t_splitmix(&rng_state); }

static float rng_float(void) { return (float)((rng_next() >> 40) / (double)(1 << 24)) * 2.0f - 1.0f; }

static void temp_db_path(char *path, size_t cap, const char *tag) {
  const char *dir = getenv("TMPDIR");
  snprintf(path, cap, "%s/semlite-vtab-%s-%d.db", dir && *dir ? dir : "/tmp", tag, (int)getpid());
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
    {"category text", "ERROR: v: At least one vector column is required (e.g. 'embedding float[384]')"},
    {"a float[8], b float[8] indexed by rescore(quantizer=bit)",
     "ERROR: v: 'indexed by rescore(...)' applies to the first vector column only"},
    {"a float[4], b bit[12]", "ERROR: v: bit vectors need a multiple of 8 dimensions, got 12"},
    {"a float[0]", "ERROR: v: could not parse vector column 'a float[0]': the dimension count in 'float[0]' must be an integer from 1 to 65536"},
    {"a float[x]", "ERROR: v: could not parse vector column 'a float[x]': the dimension count in 'float[x]' must be an integer from 1 to 65536"},
    {"a vector[4]", "ERROR: v: column 'a' has an unknown type 'vector[4]' (float[N], int8[N], bit[N], text, integer, "
                    "float, boolean)"},
    {"a float[4], b", "ERROR: v: Could not parse 'b': a column needs a name and a type (float[N], int8[N], bit[N], text, integer, float, boolean)"},
    {"a float[4], b date", "ERROR: v: column 'b' has an unknown type 'date' (float[N], int8[N], bit[N], text, integer, "
                           "float, boolean)"},
    {"a float[4], +b date", "ERROR: v: auxiliary column 'b' has an unknown type 'date' (text, integer, float, boolean, blob)"},
    {"a float[4], b text, b integer", "ERROR: v: could not declare virtual table, 'duplicate column name: b'"},
    {"a float[4], distance float", "ERROR: v: 'distance' is a reserved column name"},
    {"k float[4]", "ERROR: v: 'k' is a reserved column name"},
    {"a float[4] distance_metric=hamming", "ERROR: v: distance_metric=hamming is not defined for float vectors"},
    {"a bit[16] distance_metric=l2", "ERROR: v: distance_metric=l2 is not defined for bit vectors"},
    {"a bit[12]", "ERROR: v: bit vectors need a multiple of 8 dimensions, got 12"},
    {"a float[4] distance_metric=euclid", "ERROR: v: unknown distance_metric 'euclid' (l2, cosine, dot, l1, hamming)"},
    {"a float[4] metric=l2", "ERROR: v: unknown vector column option 'metric' (distance_metric)"},
    {"a float[4], distance_metric=l2",
     "ERROR: v: distance_metric belongs to the vector column: 'embedding float[384] distance_metric=l2'"},
    {"a float[4], colour=blue", "ERROR: v: Unknown table option: colour (model, embed_from, chunk_size, quantizer, oversample)"},
    {"a float[4], chunk_size=12", "ERROR: v: chunk_size must be divisible by 8: a multiple of 8 from 8 to 65536, got '12'"},
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
    /* issue 20: an option given twice was taken with the last value winning */
    {"a float[4], chunk_size=8, chunk_size=16", "ERROR: v: chunk_size is given twice"},
    {"a float[4], quantizer=int8, QUANTIZER=binary", "ERROR: v: quantizer is given twice"},
    {"a float[4] distance_metric=l2 distance_metric=cosine", "ERROR: v: distance_metric is given twice for column 'a'"},
    {"a float[8] indexed by rescore(quantizer=int8), quantizer=binary", "ERROR: v: quantizer is given twice"},
    /* issue 20: accepted, then every insert failed (a 1 GiB chunk BLOB) */
    {"a float[4096], chunk_size=65536",
     "ERROR: v: chunk_size=65536 of float[4096] vectors makes 1073741824-byte chunks, over SQLite's 1000000000-byte "
     "limit on a BLOB (SQLITE_LIMIT_LENGTH): use chunk_size=61032 or less"},
    /* sqlite-vec's rescore spelling is read under both names */
    {"a float[8] indexed by rescore(quantizer=pq)", "ERROR: v: unknown rescore quantizer 'pq' (int8, bit)"},
    {"a float[8] indexed by rescore(oversample=2)", "ERROR: v: rescore(...) needs quantizer=int8 or quantizer=bit"},
    {"a float[8] indexed by diskann(r=8)", "ERROR: v: unknown index 'diskann(r=8)' (rescore(quantizer=int8|bit, oversample=N), hnsw(m=N, ef_construction=N, ef_search=N), ivf(nlist=N, nprobe=N))"},
    {"a float[8], b text indexed by rescore(quantizer=bit)",
     "ERROR: v: 'indexed by' belongs to a vector column: 'embedding float[384] indexed by rescore(...)'"},
  };
  char path[1024];
  sqlite3 *db = t_open();
  CHECK_QUERY(db, "SELECT semlite_model_load('minilm', ?1)", t_model_path(path, sizeof path, "minilm-l6-embed"), NULL,
              "minilm");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char sql[512];
    snprintf(sql, sizeof sql, "CREATE VIRTUAL TABLE v USING semlite_vec(%s)", cases[i].args);
    CHECK_QUERY(db, sql, NULL, NULL, cases[i].error);
    char vec0_error[512];
    snprintf(sql, sizeof sql, "CREATE VIRTUAL TABLE v USING vec0(%s)", cases[i].args);
    /* vec0 reports declaration errors under sqlite-vec's prefix; what is checked after
    ** parsing (the model, the chunk's BLOB size) keeps the table's name in both dialects */
    if (strstr(cases[i].error, "no model named") || strstr(cases[i].error, "-dimensional vectors but") ||
        strstr(cases[i].error, "-byte chunks"))
      snprintf(vec0_error, sizeof vec0_error, "%s", cases[i].error);
    else
      snprintf(vec0_error, sizeof vec0_error, "ERROR: vec0 constructor error: %s", cases[i].error + strlen("ERROR: v: "));
    CHECK_QUERY(db, sql, NULL, NULL, vec0_error);
  }
  /* vec0's own grammar */
  CHECK_QUERY(db, "CREATE VIRTUAL TABLE v USING vec0(id float primary key, a float[4])", NULL, NULL,
              "ERROR: vec0 constructor error: primary key 'id' must be integer or text, not float");
  CHECK_QUERY(db, "CREATE VIRTUAL TABLE v USING vec0(id text primary key, n integer primary key, a float[4])", NULL,
              NULL, "ERROR: vec0 constructor error: More than one primary key definition was provided, vec0 only suports a single primary key column ('id' and 'n')");
  CHECK_QUERY(db, "CREATE VIRTUAL TABLE v USING vec0(id integer primary key, n integer primary key, a float[4])", NULL,
              NULL, "ERROR: vec0 constructor error: More than one primary key definition was provided, vec0 only suports a single primary key column ('id' and 'n')");
  CHECK_QUERY(db, "CREATE VIRTUAL TABLE v USING vec0(a float[4], p float partition key)", NULL, NULL,
              "ERROR: vec0 constructor error: partition key 'p' must be integer or text, not float");
  CHECK_QUERY(db, "CREATE VIRTUAL TABLE v USING vec0(rowid integer, a float[4])", NULL, NULL,
              "ERROR: vec0 constructor error: 'rowid' is a reserved column name");
  /* the largest chunk that fits is accepted */
  t_exec(db, "CREATE VIRTUAL TABLE big USING vec0(a float[4096], chunk_size=61032)");
  t_exec(db, "DROP TABLE big");
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
    {"INSERT INTO t(rowid, embedding) VALUES (9, '[1,2]')", "ERROR: t: embedding: Dimension mismatch. Expected 3 dimensions but received 2 (the column is float[3])"},
    {"INSERT INTO t(rowid, embedding) VALUES (9, x'0000803f')", "ERROR: t: embedding: Dimension mismatch. Expected 3 dimensions but received 1 (the column is float[3])"},
    {"INSERT INTO t(rowid, embedding) VALUES (9, x'00')",
     "ERROR: t: embedding: invalid float32 vector BLOB length. Must be divisible by 4, found 1"},
    {"INSERT INTO t(rowid, embedding) VALUES (9, 42)",
     "ERROR: t: embedding: Input must have type BLOB (compact format) or TEXT (JSON), found INTEGER"},
    {"INSERT INTO t(rowid, embedding) VALUES (9, '[1,2,\"x\"]')",
     "ERROR: t: embedding: element 2 of the JSON vector is not a finite float32 number"},
    {"INSERT INTO t(rowid, embedding) VALUES (9, vec_int8('[1,2,3]'))",
     "ERROR: t: embedding: expected to be of type float32, but a int8 vector was provided (the column is float[3])"},
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
    {"UPDATE t SET embedding = '[1]' WHERE rowid = 1", "ERROR: t: embedding: Dimension mismatch. Expected 3 dimensions but received 1 (the column is float[3])"},
    {"UPDATE t SET rowid = 2 WHERE rowid = 1", "ERROR: t: UNIQUE constraint failed: t.rowid (2)"},
    {"UPDATE t SET tag = 3 WHERE rowid = 1", "ERROR: t: tag is a text column, got INTEGER"},
    {"SELECT rowid FROM t WHERE k = 3", "ERROR: t: k = N only applies to a k-NN query (embedding MATCH <vector> AND k = N)"},
    {"SELECT rowid FROM t WHERE embedding MATCH '[1,2,3]' AND k = -1", "ERROR: t: k must be from 0 to 100000, got -1"},
    {"SELECT rowid FROM t WHERE embedding MATCH '[1,2,3]' AND k = 100001", "ERROR: t: k must be from 0 to 100000, got 100001"},
    {"SELECT rowid FROM t WHERE embedding MATCH '[1,2,3]' AND k = 'ten'", "ERROR: t: k must be an INTEGER, got TEXT"},
    {"SELECT rowid FROM t WHERE embedding MATCH '[1,2]' AND k = 1",
     "ERROR: t: the MATCH vector: Dimension mismatch. Expected 3 dimensions but received 2 (the column is float[3])"},
    {"SELECT rowid FROM t WHERE embedding MATCH 7 AND k = 1",
     "ERROR: t: the MATCH vector: Input must have type BLOB (compact format) or TEXT (JSON), found INTEGER"},
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
              "ERROR: t: embedding: Dimension mismatch. Expected 2 dimensions but received 1 (the column is float[2])");
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
  t_remove_db(path);
  db = t_open_path(path);
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
  db = t_open_path(path);
  CHECK_QUERY(db, "SELECT rowid || note FROM t WHERE embedding MATCH '[5,1,2,3]' AND k = 1", NULL, NULL, "5n");
  CHECK_OK(db);
  /* A layout that disagrees with the declaration is refused at connect. */
  t_exec(db, "UPDATE t_info SET value = 16 WHERE key = 'chunk_size'");
  sqlite3_close(db);
  db = t_open_path(path);
  CHECK_QUERY(db, "SELECT count(*) FROM t", NULL, NULL,
              "ERROR: t: shadow table t_info has chunk_size=16 but the declaration means chunk_size=8");
  sqlite3_close(db);
  t_remove_db(path);
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
  t_remove_db(path);
  db = t_open_path(path);
  CHECK_QUERY(db, "PRAGMA journal_mode = WAL", NULL, NULL, "wal");
  t_exec(db, "CREATE VIRTUAL TABLE t USING semlite_vec(embedding float[32], tag text, chunk_size=64, quantizer=int8)");
  sqlite3_close(db);
  for (int round = 0; round < 4; round++) {
    char buf[256];
    int killed;
    long long commits = t_kill_writer(path, crash_child, 3, 30 + 25 * round, &killed);
    CHECK_MSG(killed, "round %d: the child was not killed", round);
    CHECK_MSG(commits >= 3, "round %d: the child committed only %lld transactions", round, commits);
    committed += commits;

    db = t_open_path(path);
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
  t_remove_db(path);
}

/* The process-wide chunk cache never serves stale vectors: two connections on one WAL
** file share it (one .so), and every way a chunk can change is seen by the next search,
** in the writer's own open transaction too. Row 5 is moved onto the query vector or
** away from it; the nearest row says which content the search used. */
static void test_chunk_cache(void) {
  char path[512];
  temp_db_path(path, sizeof path, "cache");
  t_remove_db(path);
  sqlite3 *a = t_open_path(path), *b = t_open_path(path);
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
  t_remove_db(path);
}

/* issue 20: a chunk whose rowids BLOB names a row T_rowids does not have (or places
** elsewhere) made k-NN return that phantom rowid; reads now check each hit. */
static void craft_rowid(sqlite3 *db, sqlite3_int64 rowid) {
  sqlite3_blob *b = NULL;
  unsigned char le[8];
  for (int i = 0; i < 8; i++) le[i] = (unsigned char)((uint64_t)rowid >> (8 * i));
  t_exec(db, "UPDATE t_chunks SET version = randomblob(8)");
  CHECK_INT(sqlite3_blob_open(db, "main", "t_chunks", "rowids", 1, 1, &b), SQLITE_OK);
  CHECK_INT(sqlite3_blob_write(b, le, 8, 8), SQLITE_OK);
  sqlite3_blob_close(b);
}

static void test_phantom_rowids(void) {
  sqlite3 *db = t_open();
  t_exec(db, "CREATE VIRTUAL TABLE t USING semlite_vec(embedding float[2], chunk_size=8)");
  t_exec(db, "INSERT INTO t(rowid, embedding) VALUES (1, '[1,1]'), (2, '[2,2]'), (3, '[3,3]')");
  /* slot 1 now claims row 99; a new version keeps the chunk cache out of it */
  craft_rowid(db, 99);
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM t WHERE embedding MATCH '[2,2]' AND k = 3", NULL, NULL,
              "ERROR: t: row 99 is in a chunk but not in t_rowids (run semlite_vec_check)");
  CHECK_QUERY(db, "SELECT rowid FROM t WHERE embedding MATCH '[1,1]' AND k = 1", NULL, NULL, "1");
  /* slot 1 claims row 3, which T_rowids places in slot 2 */
  craft_rowid(db, 3);
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM t WHERE embedding MATCH '[2,2]' AND k = 3", NULL, NULL,
              "ERROR: t: chunk 1 slot 1 holds row 3 but t_rowids places it at chunk 1 slot 2 (run semlite_vec_check)");
  sqlite3_close(db);
}

/* sqlite-vec's dialect under its module name vec0 (issue 14): the rowid column first,
** positional inserts, id integer primary key, partition keys, LIMIT as k, rescore. */
/* sqlite-vec's messages where its users match on them, in semlite's "fn: problem" shape. */
static void vec0_messages(sqlite3 *db) {
  static const struct { const char *sql, *error; } cases[] = {
    {"CREATE VIRTUAL TABLE ax USING vec0(e float[1], +i integer, +f float, +t text, +bl blob, +any, +ok boolean)", NULL},
    {"INSERT INTO ax(rowid, e, i) VALUES (1, '[1]', 'one')",
     "ERROR: Auxiliary column type mismatch: The auxiliary column i has type INTEGER, but TEXT was provided."},
    {"INSERT INTO ax(rowid, e, i) VALUES (1, '[1]', 1.5)",
     "ERROR: Auxiliary column type mismatch: The auxiliary column i has type INTEGER, but FLOAT was provided."},
    {"INSERT INTO ax(rowid, e, f) VALUES (1, '[1]', 1)",
     "ERROR: Auxiliary column type mismatch: The auxiliary column f has type FLOAT, but INTEGER was provided."},
    {"INSERT INTO ax(rowid, e, t) VALUES (1, '[1]', 1)",
     "ERROR: Auxiliary column type mismatch: The auxiliary column t has type TEXT, but INTEGER was provided."},
    {"INSERT INTO ax(rowid, e, bl) VALUES (1, '[1]', 'b')",
     "ERROR: Auxiliary column type mismatch: The auxiliary column bl has type BLOB, but TEXT was provided."},
    {"UPDATE ax SET i = 'x'", NULL},  /* no rows yet */
    {"INSERT INTO ax VALUES (1, '[1]', 1, 1.5, 't', x'00', 'anything', 1), (2, '[2]', NULL, NULL, NULL, NULL, 2.5, NULL)",
     NULL},
    {"UPDATE ax SET t = 7 WHERE rowid = 1",
     "ERROR: Auxiliary column type mismatch: The auxiliary column t has type TEXT, but INTEGER was provided."},
    {"SELECT group_concat(typeof(i) || typeof(f) || typeof(t) || typeof(bl) || typeof(\"any\"), ' ') FROM ax",
     "integerrealtextblobtext nullnullnullnullreal"},
    {"CREATE VIRTUAL TABLE p USING vec0(e float[1], p integer partition key, m int64)", NULL},
    {"INSERT INTO p(rowid, e, p) VALUES (1, '[1]', 'x')",
     "ERROR: p: Partition key type mismatch: The partition key column p has type INTEGER, but TEXT was provided."},
    {"INSERT INTO p(rowid, e, m) VALUES (1, '[1]', 'x')", "ERROR: p: m is a integer column, got TEXT"},
    {"CREATE VIRTUAL TABLE lim USING vec0(+a0 int, +a1 int, +a2 int, +a3 int, +a4 int, +a5 int, +a6 int, +a7 int, "
     "+a8 int, +a9 int, +a10 int, +a11 int, +a12 int, +a13 int, +a14 int, +a15 int, +a16 int e float[1])",
     "ERROR: vec0 constructor error: More than 16 auxiliary columns were provided"},
    {"CREATE VIRTUAL TABLE lim USING vec0(m0 int, m1 int, m2 int, m3 int, m4 int, m5 int, m6 int, m7 int, m8 int, "
     "m9 int, m10 int, m11 int, m12 int, m13 int, m14 int, m15 int, m16 int e float[1])",
     "ERROR: vec0 constructor error: More than 16 metadata columns were provided"},
    {"CREATE VIRTUAL TABLE lim USING vec0(p0 int partition key, p1 int partition key, p2 int partition key, "
     "p3 int partition key, p4 int partition key, e float[1])",
     "ERROR: vec0 constructor error: More than 4 partition key columns were provided"},
    /* semlite_vec keeps no such limits and takes an auxiliary type as an affinity */
    {"CREATE VIRTUAL TABLE lim USING semlite_vec(e float[1], p0 int, p1 int, p2 int, p3 int, p4 int, p5 int, p6 int, "
     "p7 int, p8 int, p9 int, p10 int, p11 int, p12 int, p13 int, p14 int, p15 int, p16 int, +i integer)", NULL},
    {"INSERT INTO lim(rowid, e, i) VALUES (1, '[1]', '12')", NULL},
    {"SELECT typeof(i) FROM lim", "integer"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (cases[i].error) CHECK_QUERY(db, cases[i].sql, NULL, NULL, cases[i].error);
    else t_exec(db, cases[i].sql);
  }
}

/* SQLite names a loadable extension's entry point after the file (vec0.so:
** sqlite3_vec_init): semlite.so answers to it, so it can replace vec0.so as is. */
static void vec0_entry_point(void) {
  const char *so = getenv("SEMLITE_SO");
  sqlite3 *db;
  char *err = NULL;
  if (!so || !*so) {
    sl_test_skip("SEMLITE_SO is not set");
    return;
  }
  sqlite3_open(":memory:", &db);
  sqlite3_enable_load_extension(db, 1);
  if (sqlite3_load_extension(db, so, "sqlite3_vec_init", &err) != SQLITE_OK) {
    sl_test_fail(__FILE__, __LINE__, "cannot load %s as sqlite3_vec_init: %s", so, err ? err : "?");
    sqlite3_free(err);
  } else {
    CHECK_QUERY(db, "SELECT vec_version() || ' ' || (SELECT count(*) FROM pragma_module_list WHERE name = 'vec0')",
                NULL, NULL, "v0.1.9 1");
  }
  sqlite3_close(db);
}

static void test_vec0_dialect(void) {
  sqlite3 *db = t_open();
  vec0_messages(db);
  sqlite3_close(db);
  vec0_entry_point();
  db = t_open();
  t_exec(db, "CREATE VIRTUAL TABLE v USING vec0(embedding float[2], tag text, +note text, chunk_size=8)");
  CHECK_QUERY(db, "SELECT group_concat(name || ':' || hidden, ',') FROM pragma_table_xinfo('v')", NULL, NULL,
              "rowid:0,embedding:0,tag:0,note:0,distance:1,k:1");
  t_exec(db, "INSERT INTO v VALUES (1, '[1,1]', 'a', 'n1'), (2, '[2,2]', 'b', 'n2')");
  t_exec(db, "INSERT INTO v(rowid, embedding, tag) VALUES (3, '[3,3]', 'a')");
  t_exec(db, "INSERT INTO v(embedding, tag) VALUES ('[4,4]', 'b')");
  t_exec(db, "CREATE TABLE src(id INTEGER PRIMARY KEY, vec)");
  t_exec(db, "INSERT INTO src VALUES (10, '[10,10]'), (11, '[11,11]')");
  t_exec(db, "INSERT INTO v(rowid, embedding) SELECT id, vec FROM src");
  CHECK_QUERY(db, "SELECT group_concat(r, ' ') FROM (SELECT rowid || ':' || coalesce(tag, '-') || ':' || "
                  "vec_to_json(embedding) AS r FROM (SELECT * FROM v))", NULL, NULL,
              "1:a:[1.000000,1.000000] 2:b:[2.000000,2.000000] 3:a:[3.000000,3.000000] 4:b:[4.000000,4.000000] "
              "10:-:[10.000000,10.000000] 11:-:[11.000000,11.000000]");
  CHECK_QUERY(db, "SELECT typeof(rowid) || rowid || note FROM v WHERE rowid = 2", NULL, NULL, "integer2n2");
  /* the k-NN forms: k = n, LIMIT n, ORDER BY distance LIMIT n, with rowid IN (...) */
  CHECK_QUERY(db, "SELECT group_concat(rowid || ':' || round(distance, 4), ' ') FROM "
                  "(SELECT rowid, distance FROM v WHERE embedding MATCH '[1,1]' AND k = 2)", NULL, NULL,
              "1:0.0 2:1.4142");
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM (SELECT rowid FROM v WHERE embedding MATCH '[3.9,3.9]' LIMIT 3)",
              NULL, NULL, "4 3 2");
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM (SELECT rowid FROM v WHERE embedding MATCH '[3.9,3.9]' "
                  "ORDER BY distance LIMIT 2 OFFSET 1)", NULL, NULL, "3 2");
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM (SELECT rowid FROM v WHERE embedding MATCH '[1,1]' "
                  "AND rowid IN (2, 11, 4) ORDER BY distance LIMIT 2)", NULL, NULL, "2 4");
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM (SELECT rowid FROM v WHERE embedding MATCH '[1,1]' "
                  "AND tag = 'b' AND k = 5)", NULL, NULL, "2 4");
  CHECK_QUERY(db, "SELECT count(*) FROM v WHERE embedding MATCH '[1,1]'", NULL, NULL, "6");
  /* SQLite >= 3.41 passes LIMIT (and OFFSET) beside MATCH: k is their sum; 3.40 keeps it,
  ** and the table ranks every row for SQLite's LIMIT to stop */
  if (sqlite3_libversion_number() >= 3041000) {
    CHECK_STR_FREE(plan_of(db, "SELECT rowid FROM v WHERE embedding MATCH '[1,1]' LIMIT 2"),
                   "SCAN v VIRTUAL TABLE INDEX 1:m,l");
  } else {
    CHECK_STR_FREE(plan_of(db, "SELECT rowid FROM v WHERE embedding MATCH '[1,1]' LIMIT 2"),
                   "SCAN v VIRTUAL TABLE INDEX 1:m");
  }
  CHECK_QUERY(db, "SELECT group_concat(rowid || ':' || coalesce(k, 'NULL'), ' ') FROM (SELECT rowid, k FROM v WHERE "
                  "embedding MATCH '[1,1]' LIMIT 2)", NULL, NULL, "1:NULL 2:NULL");
  /* writes through the rowid column */
  t_exec(db, "UPDATE v SET rowid = 20 WHERE rowid = 11");
  t_exec(db, "DELETE FROM v WHERE rowid = 10");
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM v", NULL, NULL, "1 2 3 4 20");
  CHECK_QUERY(db, "INSERT INTO v VALUES (1, '[0,0]', 'x', NULL)", NULL, NULL, "ERROR: v: UNIQUE constraint failed: v.rowid (1)");
  CHECK_QUERY(db, "SELECT semlite_vec_check('v')", NULL, NULL, "ok");

  /* id integer primary key: the rowid under the name id; partition keys: indexed metadata */
  t_exec(db, "CREATE VIRTUAL TABLE p USING vec0(id integer primary key, user_id integer partition key, "
             "embedding float[2] distance_metric=cosine)");
  CHECK_QUERY(db, "SELECT group_concat(name, ',') FROM pragma_table_info('p')", NULL, NULL, "id,user_id,embedding");
  t_exec(db, "INSERT INTO p VALUES (5, 1, '[1,0]'), (6, 2, '[1,0.1]'), (7, 1, '[0,1]'), (8, 1, '[1,0.5]')");
  CHECK_QUERY(db, "SELECT group_concat(id, ' ') FROM (SELECT id FROM p WHERE embedding MATCH '[1,0]' AND user_id = 1 "
                  "AND k = 2)", NULL, NULL, "5 8");
  CHECK_STR_FREE(plan_of(db, "SELECT id FROM p WHERE embedding MATCH '[1,0]' AND user_id = 1 AND k = 2"),
                 "SCAN p VIRTUAL TABLE INDEX 1:m,k,f2:1");
  CHECK_QUERY(db, "SELECT group_concat(name) FROM sqlite_schema WHERE tbl_name = 'p_rowids' AND type = 'index'", NULL, NULL,
              "sqlite_autoindex_p_rowids_1");
  CHECK_QUERY(db, "SELECT group_concat(name || ':' || seqno, ' ') FROM pragma_index_info('sqlite_autoindex_p_rowids_1')",
              NULL, NULL, "m0:0 rowid:1");
  t_exec(db, "UPDATE p SET id = 9 WHERE id = 8");
  t_exec(db, "DELETE FROM p WHERE id = 5");
  CHECK_QUERY(db, "SELECT group_concat(id || ':' || user_id, ' ') FROM p", NULL, NULL, "6:2 7:1 9:1");
  CHECK_QUERY(db, "SELECT group_concat(id, ' ') FROM p WHERE id > 6", NULL, NULL, "7 9");
  t_exec(db, "ALTER TABLE p RENAME TO q");
  CHECK_QUERY(db, "SELECT group_concat(name, ' ') FROM sqlite_schema WHERE tbl_name = 'q_rowids' AND type = 'index'", NULL, NULL,
              "sqlite_autoindex_q_rowids_1");
  t_exec(db, "CREATE VIRTUAL TABLE p USING vec0(user_id integer partition key, embedding float[2])");
  CHECK_QUERY(db, "SELECT semlite_vec_check('q')", NULL, NULL, "ok");

  /* id text primary key: unique, never NULL, beside an internal rowid */
  t_exec(db, "CREATE VIRTUAL TABLE tq USING vec0(id text primary key, e float[2], +body text)");
  t_exec(db, "INSERT INTO tq VALUES ('a', '[1,1]', 'x'), ('b', '[2,2]', 'y')");
  CHECK_QUERY(db, "SELECT group_concat(name, ',') FROM pragma_table_info('tq')", NULL, NULL, "id,e,body");
  CHECK_QUERY(db, "INSERT INTO tq VALUES ('a', '[3,3]', 'z')", NULL, NULL, "ERROR: tq: UNIQUE constraint failed: tq.id ('a')");
  CHECK_QUERY(db, "INSERT INTO tq(e) VALUES ('[3,3]')", NULL, NULL,
              "ERROR: tq: id must not be NULL (it is the text primary key)");
  CHECK_QUERY(db, "INSERT INTO tq VALUES (7, '[3,3]', 'z')", NULL, NULL, "ERROR: tq: id is a text column, got INTEGER");
  t_exec(db, "INSERT OR REPLACE INTO tq VALUES ('a', '[3,3]', 'z')");
  CHECK_QUERY(db, "UPDATE tq SET id = 'b' WHERE id = 'a'", NULL, NULL, "ERROR: tq: UNIQUE constraint failed: tq.id ('b')");
  CHECK_QUERY(db, "SELECT group_concat(id || ':' || body, ' ') FROM (SELECT id, body FROM tq WHERE e MATCH '[3,3]' "
                  "AND k = 5)", NULL, NULL, "a:z b:y");
  t_exec(db, "UPDATE OR REPLACE tq SET id = 'b' WHERE id = 'a'");
  t_exec(db, "UPDATE tq SET id = 'c' WHERE id = 'b'");
  CHECK_QUERY(db, "SELECT group_concat(id || ':' || body || ':' || vec_to_json(e), ' ') FROM tq WHERE id = 'c'", NULL, NULL,
              "c:z:[3.000000,3.000000]");
  CHECK_QUERY(db, "SELECT count(*) || semlite_vec_check('tq') FROM tq", NULL, NULL, "1ok");

  /* several vector columns, each with its own MATCH, metric and type */
  t_exec(db, "CREATE VIRTUAL TABLE mv USING vec0(a float[2], b bit[8], c int8[2] distance_metric=l1, tag text)");
  t_exec(db, "INSERT INTO mv VALUES (1, '[1,0]', vec_bit(x'0f'), vec_int8('[1,2]'), 'x'), "
             "(2, '[0,1]', vec_bit(x'ff'), vec_int8('[5,5]'), 'y'), (3, '[1,1]', vec_bit(x'00'), vec_int8('[-1,0]'), 'x')");
  CHECK_QUERY(db, "SELECT group_concat(rowid || ':' || round(distance, 4), ' ') FROM (SELECT rowid, distance FROM mv "
                  "WHERE a MATCH '[1,0]' AND k = 3)", NULL, NULL, "1:0.0 3:1.0 2:1.4142");
  CHECK_QUERY(db, "SELECT group_concat(rowid || ':' || distance, ' ') FROM (SELECT rowid, distance FROM mv "
                  "WHERE b MATCH vec_bit(x'0e') AND k = 3)", NULL, NULL, "1:1.0 3:3.0 2:5.0");
  CHECK_QUERY(db, "SELECT group_concat(rowid || ':' || distance, ' ') FROM (SELECT rowid, distance FROM mv "
                  "WHERE c MATCH vec_int8('[0,0]') AND k = 2 AND tag = 'x')", NULL, NULL, "3:1.0 1:3.0");
  t_exec(db, "UPDATE mv SET b = vec_bit(x'f0') WHERE rowid = 3");
  CHECK_QUERY(db, "SELECT group_concat(rowid || vec_to_json(b) || vec_to_json(c), ' ') FROM mv WHERE rowid > 1", NULL, NULL,
              "2[1,1,1,1,1,1,1,1][5,5] 3[0,0,0,0,1,1,1,1][-1,0]");
  CHECK_QUERY(db, "SELECT value FROM mv_info WHERE key = 'vectors'", NULL, NULL, "bit:8:hamming,int8:2:l1");
  CHECK_QUERY(db, "INSERT INTO mv VALUES (4, '[1,0]', NULL, vec_int8('[1,2]'), 'x')", NULL, NULL,
              "ERROR: mv: b must not be NULL (give a bit[8] vector)");
  CHECK_QUERY(db, "INSERT INTO mv VALUES (4, '[1,0]', vec_bit(x'0f'), vec_int8('[1,2,3]'), 'x')", NULL, NULL,
              "ERROR: mv: c: Dimension mismatch. Expected 2 dimensions but received 3 (the column is int8[2])");
  CHECK_QUERY(db, "SELECT rowid FROM mv WHERE a MATCH '[1,0]' AND b MATCH vec_bit(x'0f') AND k = 1", NULL, NULL,
              "ERROR: mv: only one MATCH constraint per query");
  CHECK_QUERY(db, "SELECT count(*) || semlite_vec_check('mv') FROM mv", NULL, NULL, "3ok");

  /* ties: a vec0 table gives them in sqlite-vec's order (chunk, then slot descending),
  ** semlite_vec in rowid order */
  t_exec(db, "CREATE VIRTUAL TABLE ties USING vec0(e float[2])");
  t_exec(db, "CREATE VIRTUAL TABLE ties2 USING semlite_vec(e float[2])");
  t_exec(db, "INSERT INTO ties VALUES (5, '[1, 0]'), (2, '[0, 1]'), (9, '[-1, 0]'), (1, '[0, -1]'), (7, '[2, 2]')");
  t_exec(db, "INSERT INTO ties2(rowid, e) SELECT rowid, e FROM ties");
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM (SELECT rowid FROM ties WHERE e MATCH '[0, 0]' AND k = 5)", NULL,
              NULL, "1 9 2 5 7");
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM (SELECT rowid FROM ties WHERE e MATCH '[0, 0]' AND k = 2)", NULL,
              NULL, "1 9");
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM (SELECT rowid FROM ties2 WHERE e MATCH '[0, 0]' AND k = 5)", NULL,
              NULL, "1 2 5 9 7");

  /* indexed by rescore(...): semlite's quantizer and oversample */
  t_exec(db, "CREATE VIRTUAL TABLE r USING vec0(embedding float[8] indexed by rescore(quantizer=bit))");
  CHECK_QUERY(db, "SELECT group_concat(key || '=' || value, ' ') FROM (SELECT * FROM r_info WHERE key IN ('quantizer', "
                  "'type') ORDER BY key)", NULL, NULL, "quantizer=binary type=float");
  t_exec(db, "CREATE VIRTUAL TABLE r8 USING semlite_vec(e float[8] indexed by rescore(quantizer=int8, oversample=3))");
  CHECK_QUERY(db, "SELECT value FROM r8_info WHERE key = 'quantizer'", NULL, NULL, "int8");
  t_exec(db, "INSERT INTO r VALUES (1, '[1,1,1,1,1,1,1,1]'), (2, '[-1,1,1,1,1,1,1,1]'), (3, '[-1,-1,-1,-1,1,1,1,1]')");
  CHECK_QUERY(db, "SELECT group_concat(rowid, ' ') FROM (SELECT rowid FROM r WHERE embedding MATCH "
                  "'[-1,-1,-1,-1,1,1,1,0.5]' AND k = 2)", NULL, NULL, "3 2");
  sqlite3_close(db);
}

/* ---- the same tables through sqlite-vec's own vec0.so (SEMLITE_VEC0) ---- */

/* sqlite-vec 0.1.9's xUpdate leaks a sqlite3_str for every row it inserts into a table
** with a text metadata column (an allocation of its own, not semlite's). What runs on
** vec0.so's connection goes through vec0_exec or vec0_compare, which tell LeakSanitizer
** (in the ASan build; the functions are weak, absent elsewhere) to ignore it. */
void __lsan_disable(void) __attribute__((weak));
void __lsan_enable(void) __attribute__((weak));

static void vec0_exec(sqlite3 *vdb, const char *sql) {
  if (__lsan_disable) __lsan_disable();
  t_exec(vdb, sql);
  if (__lsan_enable) __lsan_enable();
}

/* Runs sql on both connections and compares every row and column: text as text, REAL
** within float32 rounding of the summation order, BLOBs byte for byte. fails: both must
** fail. Returns the number of rows compared. */
static int vec0_compare(sqlite3 *sdb, sqlite3 *vdb, const char *sql, int fails) {
  sqlite3_stmt *s = NULL, *v = NULL;
  int rows = 0;
  int ps = sqlite3_prepare_v2(sdb, sql, -1, &s, NULL), pv = sqlite3_prepare_v2(vdb, sql, -1, &v, NULL);
  for (;;) {
    int rs = ps == SQLITE_OK ? sqlite3_step(s) : ps, rv;
    if (__lsan_disable) __lsan_disable();  /* vec0.so's own allocations (see vec0_exec) */
    rv = pv == SQLITE_OK ? sqlite3_step(v) : pv;
    if (__lsan_enable) __lsan_enable();
    if (fails) {
      CHECK_MSG(rs != SQLITE_ROW && rs != SQLITE_DONE && rv != SQLITE_ROW && rv != SQLITE_DONE,
                "%s: expected an error from both, got %d (%s) and %d (%s)", sql, rs, sqlite3_errmsg(sdb), rv,
                sqlite3_errmsg(vdb));
      break;
    }
    if (rs != rv || (rs != SQLITE_ROW && rs != SQLITE_DONE)) {
      sl_test_fail(__FILE__, __LINE__, "%s: row %d: semlite %d (%s), sqlite-vec %d (%s)", sql, rows, rs,
                   sqlite3_errmsg(sdb), rv, sqlite3_errmsg(vdb));
      break;
    }
    if (rs == SQLITE_DONE) break;
    CHECK_INT(sqlite3_column_count(s), sqlite3_column_count(v));
    for (int c = 0; c < sqlite3_column_count(v) && c < sqlite3_column_count(s); c++) {
      int ts = sqlite3_column_type(s, c), tv = sqlite3_column_type(v, c), same;
      if (ts == SQLITE_FLOAT && tv == SQLITE_FLOAT) {
        double a = sqlite3_column_double(s, c), b = sqlite3_column_double(v, c);
        same = fabs(a - b) <= 1e-6 * (fabs(b) > 1 ? fabs(b) : 1);
      } else if (ts == SQLITE_BLOB && tv == SQLITE_BLOB) {
        same = sqlite3_column_bytes(s, c) == sqlite3_column_bytes(v, c) &&
               memcmp(sqlite3_column_blob(s, c), sqlite3_column_blob(v, c), (size_t)sqlite3_column_bytes(v, c)) == 0;
      } else {
        const char *a = (const char *)sqlite3_column_text(s, c), *b = (const char *)sqlite3_column_text(v, c);
        same = ts == tv && (a == b || (a && b && strcmp(a, b) == 0));
      }
      if (!same) {
        const char *a = (const char *)sqlite3_column_text(s, c), *b = (const char *)sqlite3_column_text(v, c);
        sl_test_fail(__FILE__, __LINE__, "%s: row %d column %d: semlite \"%.60s\" (%d), sqlite-vec \"%.60s\" (%d)", sql,
                     rows, c, a ? a : "NULL", ts, b ? b : "NULL", tv);
        goto done;
      }
    }
    rows++;
  }
done:
  sqlite3_finalize(s);
  sqlite3_finalize(v);
  return rows;
}

static void test_vec0_compat(void) {
  /* Run on both, in order: statements (ROWS: compared, FAIL: both fail, EXEC: run). */
  enum { EXEC, ROWS, FAIL, LIMITS };  /* LIMITS: ROWS where SQLite passes LIMIT (>= 3.41) */
  static const struct { int kind; const char *sql; } steps[] = {
    {EXEC, "CREATE TABLE src(id INTEGER PRIMARY KEY, e, tag, n, score, ok, body)"},
    {EXEC, "INSERT INTO src SELECT value, json_array(value % 7, value % 5 - 2.5, (value * 37) % 11, 1), "
           "CASE value % 3 WHEN 0 THEN 'red' WHEN 1 THEN 'green' ELSE 'blue' END, value % 4, value / 8.0, value % 2, "
           "'body ' || value FROM " SERIES(1, 60)},
    /* rowid first, metadata of each type, an auxiliary column, a small chunk */
    {EXEC, "CREATE VIRTUAL TABLE v USING vec0(e float[4], tag text, n integer, score float, ok boolean, +body text, "
           "chunk_size=8)"},
    {EXEC, "INSERT INTO v SELECT id, e, tag, n, score, ok, body FROM src"},
    {ROWS, "SELECT * FROM v ORDER BY rowid"},
    {ROWS, "SELECT name, hidden FROM pragma_table_xinfo('v')"},
    {ROWS, "SELECT rowid, distance, tag, body FROM v WHERE e MATCH '[1, -1, 3, 1]' AND k = 10"},
    {ROWS, "SELECT rowid, distance FROM v WHERE e MATCH '[1, -1, 3, 1]' AND k = 10 ORDER BY distance"},
    {ROWS, "SELECT rowid, distance FROM v WHERE e MATCH vec_f32('[0, 0, 0, 1]') AND k = 60"},
    {ROWS, "SELECT rowid, distance FROM v WHERE e MATCH '[1, -1, 3, 1]' AND k = 5 AND tag = 'red'"},
    {ROWS, "SELECT rowid, distance FROM v WHERE e MATCH '[1, -1, 3, 1]' AND k = 5 AND n >= 2 AND ok = 1"},
    {ROWS, "SELECT rowid, distance FROM v WHERE e MATCH '[1, -1, 3, 1]' AND k = 5 AND score < 3.5 AND tag != 'blue'"},
    {ROWS, "SELECT rowid, distance FROM v WHERE e MATCH '[1, -1, 3, 1]' AND k = 4 AND rowid IN (3, 9, 17, 30, 41, 58)"},
    {ROWS, "SELECT rowid, distance FROM v WHERE e MATCH '[1, -1, 3, 1]' AND k = 0"},
    {LIMITS, "SELECT rowid, distance, k FROM v WHERE e MATCH '[1, -1, 3, 1]' LIMIT 5"},
    {LIMITS, "SELECT rowid, distance FROM v WHERE e MATCH '[1, -1, 3, 1]' ORDER BY distance LIMIT 4"},
    {LIMITS, "SELECT rowid, distance FROM v WHERE e MATCH '[1, -1, 3, 1]' AND tag = 'red' LIMIT 3"},
    {LIMITS, "SELECT rowid, distance FROM v WHERE e MATCH '[1, -1, 3, 1]' AND rowid IN (3, 9, 17, 30) LIMIT 2"},
    {ROWS, "SELECT rowid, tag FROM v WHERE rowid = 12"},
    {ROWS, "SELECT rowid, vec_to_json(e) FROM v WHERE rowid IN (1, 2, 59)"},
    {EXEC, "UPDATE v SET tag = 'violet' WHERE rowid = 5"},
    {EXEC, "UPDATE v SET e = '[9, 9, 9, 9]' WHERE rowid = 6"},
    {EXEC, "DELETE FROM v WHERE rowid IN (7, 8, 9)"},
    {EXEC, "INSERT INTO v(rowid, e, tag, n, score, ok) VALUES (100, '[.5, -.5, 1., 2,]', 'new', 1, 0.5, 0)"},
    {ROWS, "SELECT rowid, distance, tag FROM v WHERE e MATCH '[9, 9, 9, 9]' AND k = 3"},
    {ROWS, "SELECT rowid, tag, vec_to_json(e) FROM v WHERE rowid IN (5, 6, 7, 100)"},
    {ROWS, "SELECT count(*) FROM v"},
    {FAIL, "INSERT INTO v(rowid, e) VALUES (1, '[1, 2, 3, 4]')"},
    {FAIL, "INSERT INTO v(rowid, e) VALUES (200, '[1, 2, 3]')"},
    {FAIL, "INSERT INTO v(rowid, e, tag) VALUES (200, '[1, 2, 3, 4]', 5)"},
    {FAIL, "SELECT rowid FROM v WHERE e MATCH '[1, 2, 3]' AND k = 3"},
    /* ties: equal distances come in rowid order in both */
    {EXEC, "CREATE VIRTUAL TABLE ties USING vec0(e float[2])"},
    {EXEC, "INSERT INTO ties VALUES (5, '[1, 0]'), (2, '[0, 1]'), (9, '[-1, 0]'), (1, '[0, -1]'), (7, '[2, 2]')"},
    {ROWS, "SELECT rowid, distance FROM ties WHERE e MATCH '[0, 0]' AND k = 5"},
    /* id integer primary key, partition keys, cosine and l1 */
    {EXEC, "CREATE VIRTUAL TABLE p USING vec0(id integer primary key, user_id integer partition key, "
           "e float[4] distance_metric=cosine, +body text)"},
    {EXEC, "INSERT INTO p(id, user_id, e, body) SELECT id, id % 3, e, body FROM src"},
    {ROWS, "SELECT * FROM p ORDER BY id LIMIT 5"},
    {ROWS, "SELECT id, distance, body FROM p WHERE e MATCH '[1, -1, 3, 1]' AND k = 6 AND user_id = 2"},
    {ROWS, "SELECT id, distance FROM p WHERE e MATCH '[1, 1, 1, 1]' AND k = 6"},
    {EXEC, "DELETE FROM p WHERE id = 2"},
    {ROWS, "SELECT id, distance FROM p WHERE e MATCH '[1, -1, 3, 1]' AND k = 3 AND user_id = 2"},
    /* text primary key */
    {EXEC, "CREATE VIRTUAL TABLE tk USING vec0(id text primary key, e float[4], tag text)"},
    {EXEC, "INSERT INTO tk SELECT 'doc-' || id, e, tag FROM src"},
    {ROWS, "SELECT id, distance, tag FROM tk WHERE e MATCH '[1, -1, 3, 1]' AND k = 5"},
    {ROWS, "SELECT id, tag, hex(e) FROM tk WHERE id = 'doc-7'"},
    {FAIL, "INSERT INTO tk VALUES ('doc-7', '[1, 2, 3, 4]', 'x')"},
    {FAIL, "INSERT INTO tk VALUES (8, '[1, 2, 3, 4]', 'x')"},
    {EXEC, "DELETE FROM tk WHERE id IN ('doc-1', 'doc-2')"},
    {ROWS, "SELECT id, distance FROM tk WHERE e MATCH '[1, -1, 3, 1]' AND k = 3 AND tag = 'red'"},
    /* several vector columns */
    {EXEC, "CREATE VIRTUAL TABLE mv USING vec0(a float[4] distance_metric=cosine, b int8[4], c bit[16], tag text)"},
    {EXEC, "INSERT INTO mv SELECT id, e, vec_int8(json_array(id % 7, -(id % 5), id % 3, 1)), "
           "vec_bit(substr(vec_f32(json_array(id * 1.37, 0)), 2, 2)), tag FROM src"},
    {ROWS, "SELECT rowid, distance FROM mv WHERE a MATCH '[1, -1, 3, 1]' AND k = 5"},
    {ROWS, "SELECT rowid, distance FROM mv WHERE b MATCH vec_int8('[1, -2, 0, 1]') AND k = 6 AND tag = 'red'"},
    {ROWS, "SELECT rowid, distance FROM mv WHERE c MATCH vec_bit(x'0f0f') AND k = 7"},
    {ROWS, "SELECT rowid, hex(a), hex(b), hex(c) FROM mv WHERE rowid IN (1, 30)"},
    /* (vec0.so 0.1.9 cannot UPDATE a bit or int8 column: it reads the new value as float32) */
    {EXEC, "UPDATE mv SET a = '[1, -1, 3, 1]' WHERE rowid = 30"},
    {ROWS, "SELECT rowid, distance FROM mv WHERE a MATCH '[1, -1, 3, 1]' AND k = 2"},
    {ROWS, "SELECT rowid, distance FROM mv WHERE c MATCH vec_bit(x'0f0f') AND k = 3"},
    {EXEC, "CREATE VIRTUAL TABLE l1 USING vec0(e float[4] distance_metric=l1)"},
    {EXEC, "INSERT INTO l1 SELECT id, e FROM src"},
    {ROWS, "SELECT rowid, distance FROM l1 WHERE e MATCH '[1, -1, 3, 1]' AND k = 7"},
    /* int8 and bit columns */
    {EXEC, "CREATE VIRTUAL TABLE i8 USING vec0(e int8[4])"},
    {EXEC, "INSERT INTO i8 SELECT id, vec_int8(json_array(id % 7, -(id % 5), id % 3, 1)) FROM src"},
    {ROWS, "SELECT rowid, distance FROM i8 WHERE e MATCH vec_int8('[1, -2, 0, 1]') AND k = 8"},
    {ROWS, "SELECT rowid, hex(e) FROM i8 WHERE rowid < 4"},
    {EXEC, "CREATE VIRTUAL TABLE b USING vec0(e bit[16])"},
    {EXEC, "INSERT INTO b SELECT id, vec_bit(substr(vec_f32(json_array(id * 1.37, 0)), 2, 2)) FROM src"},
    {ROWS, "SELECT rowid, distance FROM b WHERE e MATCH vec_bit(x'0f0f') AND k = 8"},
    /* typed auxiliary columns take their storage class or NULL; int64 metadata */
    {EXEC, "CREATE VIRTUAL TABLE ax USING vec0(e float[1], +i integer, +f float, +t text, +bl blob, m int64)"},
    {EXEC, "INSERT INTO ax VALUES (1, '[1]', 1, 1.5, 'one', x'01', 10), (2, '[2]', NULL, NULL, NULL, NULL, 20)"},
    {ROWS, "SELECT rowid, i, f, t, hex(bl), m, typeof(m) FROM ax ORDER BY rowid"},
    {ROWS, "SELECT rowid, distance FROM ax WHERE e MATCH '[1.5]' AND k = 2 AND m = 10"},
    {FAIL, "INSERT INTO ax(rowid, e, i) VALUES (3, '[3]', 'three')"},
    {FAIL, "INSERT INTO ax(rowid, e, i) VALUES (3, '[3]', 3.5)"},
    {FAIL, "INSERT INTO ax(rowid, e, f) VALUES (3, '[3]', 3)"},
    {FAIL, "INSERT INTO ax(rowid, e, t) VALUES (3, '[3]', 3)"},
    {FAIL, "INSERT INTO ax(rowid, e, bl) VALUES (3, '[3]', 'x')"},
    {ROWS, "SELECT count(*) FROM ax"},
    /* sqlite-vec's column limits: 16 auxiliary, 16 metadata, 4 partition keys */
    {FAIL, "CREATE VIRTUAL TABLE lim USING vec0(e float[1], +a0 int, +a1 int, +a2 int, +a3 int, +a4 int, +a5 int, "
           "+a6 int, +a7 int, +a8 int, +a9 int, +a10 int, +a11 int, +a12 int, +a13 int, +a14 int, +a15 int, +a16 int)"},
    {FAIL, "CREATE VIRTUAL TABLE lim USING vec0(e float[1], m0 int, m1 int, m2 int, m3 int, m4 int, m5 int, m6 int, "
           "m7 int, m8 int, m9 int, m10 int, m11 int, m12 int, m13 int, m14 int, m15 int, m16 int)"},
    {FAIL, "CREATE VIRTUAL TABLE lim USING vec0(e float[1], p0 int partition key, p1 int partition key, "
           "p2 int partition key, p3 int partition key, p4 int partition key)"},
    {EXEC, "CREATE VIRTUAL TABLE lim USING vec0(e float[1], p0 int partition key, p1 int partition key, "
           "p2 int partition key, p3 int partition key)"},
    /* sqlite-vec's JSON: '[' alone is an empty vector */
    {FAIL, "SELECT vec_f32('[')"},
  };
  const char *path = getenv("SEMLITE_VEC0");
  sqlite3 *sdb, *vdb = NULL;
  char *err = NULL;
  int rows = 0;
  if (!path || !*path) {
    sl_test_skip("SEMLITE_VEC0 is not set (make vec0 fetches sqlite-vec's vec0.so)");
    return;
  }
  if (access(path, R_OK) != 0) {
    sl_test_fail(__FILE__, __LINE__, "SEMLITE_VEC0=%s: no such file (make vec0)", path);
    return;
  }
  sqlite3_open(":memory:", &vdb);
  sqlite3_enable_load_extension(vdb, 1);
  if (sqlite3_load_extension(vdb, path, NULL, &err) != SQLITE_OK) {
    sl_test_fail(__FILE__, __LINE__, "cannot load %s: %s", path, err ? err : "?");
    sqlite3_free(err);
    sqlite3_close(vdb);
    return;
  }
  sdb = t_open();
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    if (steps[i].kind == EXEC) {
      t_exec(sdb, steps[i].sql);
      vec0_exec(vdb, steps[i].sql);
    } else if (steps[i].kind != LIMITS || sqlite3_libversion_number() >= 3041000) {
      rows += vec0_compare(sdb, vdb, steps[i].sql, steps[i].kind == FAIL);
    }
  }
  printf("  %zu statements, %d rows compared with sqlite-vec's vec0\n", sizeof steps / sizeof steps[0], rows);
  sqlite3_close(sdb);
  sqlite3_close(vdb);
}

/* A database file written by the real vec0.so, opened with semlite only: the connect
** names semlite_vec_migrate, which converts it in place; queries then give what vec0.so
** gave, and the table takes writes. */
static void test_vec0_migrate(void) {
  static const char *const setup[] = {
    "CREATE VIRTUAL TABLE v USING vec0(e float[3] distance_metric=cosine, tag text, n integer, s float, ok boolean, "
    "+body text, +x blob)",
    "INSERT INTO v VALUES (1, '[1,2,3]', 'short', 7, 1.5, 1, 'b1', x'01'), "
    "(2, '[4,5,6]', 'a much longer text value', -3, -0.25, 0, 'b2', x'0203'), (5, '[7,8,-9]', 'mid', 0, 0.0, 1, NULL, x'')",
    "INSERT INTO v SELECT value + 10, json_array(value, 1, -value), 'row ' || value, value, value / 3.0, value % 2, "
    "'body ' || value, NULL FROM " SERIES(1, 40),
    "DELETE FROM v WHERE rowid IN (12, 13)",
    "CREATE VIRTUAL TABLE p USING vec0(id integer primary key, user_id integer partition key, e int8[2])",
    "INSERT INTO p VALUES (10, 1, vec_int8('[1,-2]')), (11, 2, vec_int8('[3,4]')), (12, 1, vec_int8('[-5,6]'))",
    "CREATE VIRTUAL TABLE tk USING vec0(id text primary key, e float[2], +note text)",
    "INSERT INTO tk VALUES ('alpha', '[1, 0]', 'n1'), ('a rather long key over twelve', '[0, 1]', NULL)",
    "CREATE VIRTUAL TABLE mv USING vec0(a float[2], b bit[8], c int8[2] distance_metric=l1)",
    "INSERT INTO mv VALUES (1, '[1,0]', vec_bit(x'0f'), vec_int8('[1,2]')), (2, '[0,1]', vec_bit(x'ff'), vec_int8('[5,5]'))",
    "CREATE VIRTUAL TABLE b USING vec0(e bit[16])",
    "INSERT INTO b VALUES (1, vec_bit(x'0ff0')), (2, vec_bit(x'ffff')), (3, vec_bit(x'0000'))",
  };
  static const char *const queries[] = {
    "SELECT group_concat(rowid || ':' || tag || ':' || n || ':' || s || ':' || ok || ':' || coalesce(body, '-') || ':' || "
    "coalesce(hex(x), '-') || ':' || vec_to_json(e), ' ') FROM v",
    "SELECT group_concat(rowid || ':' || round(distance, 5), ' ') FROM (SELECT rowid, distance FROM v WHERE e MATCH "
    "'[1, 1, -1]' AND k = 6)",
    "SELECT group_concat(rowid, ' ') FROM (SELECT rowid FROM v WHERE e MATCH '[1, 1, -1]' AND k = 3 AND tag = 'mid')",
    "SELECT group_concat(id || ':' || user_id || ':' || vec_to_json(vec_int8(e)), ' ') FROM (SELECT * FROM p ORDER BY id)",
    "SELECT group_concat(id || ':' || distance, ' ') FROM (SELECT id, distance FROM p WHERE e MATCH vec_int8('[1,1]') "
    "AND k = 5 AND user_id = 1)",
    "SELECT group_concat(rowid || ':' || distance, ' ') FROM (SELECT rowid, distance FROM b WHERE e MATCH "
    "vec_bit(x'0f00') AND k = 3)",
    "SELECT group_concat(id || ':' || coalesce(note, '-') || ':' || round(distance, 4), ' ') FROM (SELECT id, note, "
    "distance FROM tk WHERE e MATCH '[1, 1]' AND k = 2)",
    "SELECT group_concat(rowid || ':' || distance, ' ') FROM (SELECT rowid, distance FROM mv WHERE b MATCH "
    "vec_bit(x'0e') AND k = 2)",
    "SELECT group_concat(rowid || ':' || distance, ' ') FROM (SELECT rowid, distance FROM mv WHERE c MATCH "
    "vec_int8('[0,0]') AND k = 2)",
    "SELECT group_concat(rowid || vec_to_json(a) || vec_to_json(vec_bit(b)) || vec_to_json(vec_int8(c)), ' ') FROM mv",
  };
  const char *vec0 = getenv("SEMLITE_VEC0");
  char path[512], *expected[sizeof queries / sizeof queries[0]] = {0}, *err = NULL;
  sqlite3 *db = NULL;
  if (!vec0 || !*vec0) {
    sl_test_skip("SEMLITE_VEC0 is not set (make vec0 fetches sqlite-vec's vec0.so)");
    return;
  }
  temp_db_path(path, sizeof path, "vec0so");
  t_remove_db(path);
  /* written by vec0.so */
  sqlite3_open(path, &db);
  sqlite3_enable_load_extension(db, 1);
  if (sqlite3_load_extension(db, vec0, NULL, &err) != SQLITE_OK) {
    sl_test_fail(__FILE__, __LINE__, "cannot load %s: %s", vec0, err ? err : "?");
    sqlite3_free(err);
    sqlite3_close(db);
    return;
  }
  for (size_t i = 0; i < sizeof setup / sizeof setup[0]; i++) vec0_exec(db, setup[i]);
  for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) expected[i] = t_query(db, queries[i], NULL, NULL);
  sqlite3_close(db);
  /* vec0.so loaded before semlite keeps the name vec0: its tables keep working */
  sqlite3_open(path, &db);
  sqlite3_enable_load_extension(db, 1);
  CHECK_INT(sqlite3_load_extension(db, vec0, NULL, NULL), SQLITE_OK);
  CHECK_INT(sqlite3_load_extension(db, sl_test_so_path(), NULL, NULL), SQLITE_OK);
  if (__lsan_disable) __lsan_disable();  /* vec0.so's xConnect leaks too (see vec0_exec) */
  CHECK_QUERY(db, "SELECT count(*) || ' ' || vec_type(vec_int8('[1]')) FROM v", NULL, NULL, "41 int8");
  if (__lsan_enable) __lsan_enable();
  sqlite3_close(db);
  /* opened read-only with semlite: left as it was, the manual step named */
  db = t_open_v2(path, SQLITE_OPEN_READONLY, NULL);
  CHECK_QUERY(db, "SELECT count(*) FROM v", NULL, NULL,
              "ERROR: v: written by sqlite-vec's vec0.so, whose storage semlite does not read, and left as it was "
              "(semlite converts the main schema's such tables when it is loaded on a writable connection): run "
              "SELECT semlite_vec_migrate('v') once to convert it in place");
  CHECK_QUERY(db, "SELECT semlite_vec_migrate('v')", NULL, NULL,
              "ERROR: semlite_vec_migrate: the main schema is read-only here (a read-only connection or file)");
  sqlite3_close(db);
  /* opened writable with semlite: every such table is converted at load, no manual step */
  db = t_open_path(path);
  CHECK_QUERY(db, "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_schema WHERE name GLOB '*_vector_chunks*' "
                  "OR name GLOB '*_metadata*' OR name GLOB '*_auxiliary' ORDER BY name)", NULL, NULL, "NULL");
  CHECK_QUERY(db, "SELECT (SELECT count(*) FROM v) || ' ' || (SELECT count(*) FROM p) || ' ' || (SELECT count(*) FROM b) "
                  "|| ' ' || (SELECT count(*) FROM tk) || ' ' || (SELECT count(*) FROM mv)", NULL, NULL, "41 3 3 2 2");
  CHECK_QUERY(db, "SELECT semlite_vec_migrate('v')", NULL, NULL,
              "ERROR: semlite_vec_migrate: v is not a table written by sqlite-vec's vec0.so (nothing to migrate)");
  CHECK_QUERY(db, "SELECT semlite_vec_migrate('nope')", NULL, NULL,
              "ERROR: semlite_vec_migrate: no vec0 table named 'nope' in the main schema");
  for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
    char *got = t_query(db, queries[i], NULL, NULL);
    CHECK_MSG(got && expected[i] && strcmp(got, expected[i]) == 0, "%s: semlite \"%.200s\", vec0.so \"%.200s\"",
              queries[i], got ? got : "(null)", expected[i] ? expected[i] : "(null)");
    sqlite3_free(got);
  }
  CHECK_QUERY(db, "SELECT semlite_vec_check('v') || semlite_vec_check('p') || semlite_vec_check('b') || "
                  "semlite_vec_check('tk') || semlite_vec_check('mv')", NULL, NULL, "okokokokok");
  CHECK_QUERY(db, "SELECT count(*) FROM sqlite_schema WHERE name GLOB 'v_vector_chunks*' OR name GLOB 'v_metadata*' "
                  "OR name = 'v_auxiliary'", NULL, NULL, "0");
  /* it keeps taking writes */
  t_exec(db, "INSERT INTO v VALUES (100, '[1, 1, -1]', 'new', 1, 1.0, 0, 'b', x'00')");
  t_exec(db, "UPDATE p SET user_id = 2 WHERE id = 10");
  CHECK_QUERY(db, "SELECT rowid FROM v WHERE e MATCH '[1, 1, -1]' AND k = 1", NULL, NULL, "100");
  CHECK_QUERY(db, "SELECT group_concat(id, ' ') FROM p WHERE user_id = 2", NULL, NULL, "10 11");
  CHECK_QUERY(db, "SELECT semlite_vec_check('v') || semlite_vec_check('p')", NULL, NULL, "okok");
  for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) sqlite3_free(expected[i]);
  sqlite3_close(db);
  t_remove_db(path);
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
  {"phantom_rowids", test_phantom_rowids},
  {"vec0_dialect", test_vec0_dialect},
  {"vec0_compat", test_vec0_compat},
  {"vec0_migrate", test_vec0_migrate},
  {0, 0},
};
