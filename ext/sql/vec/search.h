/*
** search.h: the k-NN search of a semlite_vec table (search.c), run by xFilter.
*/
#ifndef SEMLITE_SQL_VEC_SEARCH_H
#define SEMLITE_SQL_VEC_SEARCH_H

#include "../../vector/topk.h"
#include "store.h"

typedef struct vv_query {
  int vec;                     /* which vector column: 0 the first, j cfg.vecs[j] */
  const void *q;               /* query vector, of that column's layout */
  size_t k;
  sl_knn_range range;
  const vv_filter *filters;
  int n_filters;
} vv_query;

/* Runs the k-NN search; *hits (sqlite3_malloc'd, best first) receives up to k rows. */
int vv_search(vv_table *t, const vv_query *q, sl_knn_hit **hits, size_t *n_hits);

#endif
