/*
** test_ann.c: seeded clustered vectors and k-NN recall through SQL (test_ann.h).
*/
#include "test_ann.h"

#include <math.h>

#include "test.h"

void t_ann_seed(t_ann_data *d, uint64_t seed) { d->rng = seed * 0x9E3779B97F4A7C15ull + 1; }

static double unit(t_ann_data *d) { return ((t_splitmix(&d->rng) >> 11) + 0.5) / 9007199254740992.0; }

float t_ann_gauss(t_ann_data *d) {
  return (float)(sqrt(-2.0 * log(unit(d))) * cos(6.283185307179586 * unit(d)));
}

void t_ann_init(t_ann_data *d, int dims, int n_centers, float noise, uint64_t center_seed) {
  d->dims = dims, d->n_centers = n_centers, d->noise = noise;
  t_ann_seed(d, center_seed);
  for (int c = 0; c < n_centers; c++)
    for (int i = 0; i < dims; i++) d->centers[c][i] = t_ann_gauss(d);
}

void t_ann_point(t_ann_data *d, float *v) {
  int c = (int)(t_splitmix(&d->rng) % (uint64_t)d->n_centers);
  for (int i = 0; i < d->dims; i++) v[i] = d->centers[c][i] + d->noise * t_ann_gauss(d);
}

void t_ann_insert(sqlite3 *db, t_ann_data *d, const char *table, const char *twin, int first, int n) {
  sqlite3_stmt *st[2] = {NULL, NULL};
  const char *names[2] = {table, twin};
  float v[T_ANN_MAX_DIMS];
  t_exec(db, "BEGIN");
  for (int j = 0; j < 2 && names[j]; j++) {
    char *sql = sqlite3_mprintf("INSERT INTO \"%w\"(rowid, e, cat) VALUES (?1, ?2, ?3)", names[j]);
    CHECK(sqlite3_prepare_v2(db, sql, -1, &st[j], NULL) == SQLITE_OK);
    sqlite3_free(sql);
  }
  for (int i = 0; i < n; i++) {
    t_ann_point(d, v);
    for (int j = 0; j < 2 && st[j]; j++) {
      sqlite3_bind_int64(st[j], 1, first + i);
      sqlite3_bind_blob(st[j], 2, v, d->dims * (int)sizeof *v, SQLITE_TRANSIENT);
      sqlite3_bind_int(st[j], 3, (first + i) % 10);
      CHECK_MSG(sqlite3_step(st[j]) == SQLITE_DONE, "insert %d: %s", first + i, sqlite3_errmsg(db));
      sqlite3_reset(st[j]);
    }
  }
  for (int j = 0; j < 2; j++) sqlite3_finalize(st[j]);
  t_exec(db, "COMMIT");
}

int t_ann_knn(sqlite3 *db, const char *table, const float *q, int dims, int k, const char *and, sqlite3_int64 *out) {
  char *sql = sqlite3_mprintf("SELECT rowid FROM \"%w\" WHERE e MATCH ?1 AND k = %d %s", table, k, and ? and : "");
  sqlite3_stmt *st;
  int n = 0, rc;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
    sl_test_fail(__FILE__, __LINE__, "%s: %s", sql, sqlite3_errmsg(db));
    sqlite3_free(sql);
    return 0;
  }
  sqlite3_bind_blob(st, 1, q, dims * (int)sizeof *q, SQLITE_STATIC);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < k) out[n++] = sqlite3_column_int64(st, 0);
  CHECK_MSG(rc == SQLITE_DONE || rc == SQLITE_ROW, "%s: %s", sql, sqlite3_errmsg(db));
  sqlite3_finalize(st);
  sqlite3_free(sql);
  return n;
}

double t_ann_recall(sqlite3 *db, t_ann_data *d, const char *table, const char *twin, int n, uint64_t seed,
                    const char *and) {
  sqlite3_int64 a[10], b[10];
  float q[T_ANN_MAX_DIMS];
  int hit = 0, total = 0;
  t_ann_seed(d, seed);
  for (int i = 0; i < n; i++) {
    t_ann_point(d, q);
    int na = t_ann_knn(db, table, q, d->dims, 10, and, a), nb = t_ann_knn(db, twin, q, d->dims, 10, and, b);
    for (int u = 0; u < na; u++)
      for (int v = 0; v < nb; v++)
        if (a[u] == b[v]) {
          hit++;
          break;
        }
    total += nb;
  }
  return total ? (double)hit / total : 0;
}

char *t_ann_snapshot(sqlite3 *db, t_ann_data *d, const char *table, const char *and) {
  sqlite3_str *s = sqlite3_str_new(db);
  sqlite3_int64 r[10];
  float q[T_ANN_MAX_DIMS];
  t_ann_seed(d, 4242);
  for (int i = 0; i < 20; i++) {
    t_ann_point(d, q);
    int n = t_ann_knn(db, table, q, d->dims, 10, and, r);
    for (int j = 0; j < n; j++) sqlite3_str_appendf(s, "%lld ", (long long)r[j]);
    sqlite3_str_appendall(s, "| ");
  }
  return sqlite3_str_finish(s);
}
