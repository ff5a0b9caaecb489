/*
** test_ann.h: seeded clustered vectors and k-NN recall through SQL, for the tests of
** semlite_vec's approximate indexes (test_vtab_hnsw.c, test_vtab_ivf.c): a table under
** test and its exact twin get the same rows, and recall@10 compares their answers.
*/
#ifndef SEMLITE_TEST_ANN_H
#define SEMLITE_TEST_ANN_H

#include <sqlite3.h>
#include <stdint.h>

#define T_ANN_MAX_DIMS 64
#define T_ANN_MAX_CENTERS 32

/* Points around n_centers Gaussian centers, each coordinate + noise * N(0, 1). */
typedef struct t_ann_data {
  int dims, n_centers;
  float noise;
  uint64_t rng;
  float centers[T_ANN_MAX_CENTERS][T_ANN_MAX_DIMS];
} t_ann_data;

/* Draws the centers from center_seed. */
void t_ann_init(t_ann_data *d, int dims, int n_centers, float noise, uint64_t center_seed);
/* Restarts the stream of points (and of t_ann_gauss) at seed. */
void t_ann_seed(t_ann_data *d, uint64_t seed);
float t_ann_gauss(t_ann_data *d);
/* The next point: a random center plus noise. */
void t_ann_point(t_ann_data *d, float *v);
/* Inserts rows first..first+n-1 (e = the next points, cat = rowid % 10) into table and,
** when not NULL, the same rows into twin, in one transaction. */
void t_ann_insert(sqlite3 *db, t_ann_data *d, const char *table, const char *twin, int first, int n);
/* The rowids of `SELECT rowid FROM table WHERE e MATCH q AND k = k <and>`, into out. */
int t_ann_knn(sqlite3 *db, const char *table, const float *q, int dims, int k, const char *and, sqlite3_int64 *out);
/* recall@10 of table against twin over n queries drawn from seed. */
double t_ann_recall(sqlite3 *db, t_ann_data *d, const char *table, const char *twin, int n, uint64_t seed,
                    const char *and);
/* The rowids of 20 queries drawn from seed 4242, as one string (sqlite3_free it): to
** compare a table before and after a change, or with its twin. */
char *t_ann_snapshot(sqlite3 *db, t_ann_data *d, const char *table, const char *and);

#endif
