/*
** topk.h: choosing the k nearest rows of a semlite_vec search: hits, the bounded
** heap that keeps the k best, and the distance range a query's constraints allow.
** No SQLite, no vectors: distances come from score.h or quant.h.
*/
#ifndef SEMLITE_VECTOR_TOPK_H
#define SEMLITE_VECTOR_TOPK_H

#include <stddef.h>
#include <stdint.h>

#include "../base/status.h"

typedef struct sl_knn_hit {
  float distance;
  int32_t offset;       /* slot in its chunk */
  int64_t rowid;
  int64_t chunk_id;
} sl_knn_hit;

/* The k best hits seen so far, ordered by (distance, rowid) so that ties resolve the
** same way every time; with by_slot, by (distance, chunk_id, offset descending), the
** order sqlite-vec 0.1.9's vec0 gives ties in. A max-heap: the worst kept hit is at the
** root. */
typedef struct sl_topk {
  size_t k, n;
  sl_knn_hit *h;
  int by_slot;           /* set after sl_topk_init, before the first push */
} sl_topk;

int sl_topk_init(sl_topk *t, size_t k, sl_err *err);
void sl_topk_free(sl_topk *t);
/* Whether this hit would be kept. */
int sl_topk_wants(const sl_topk *t, const sl_knn_hit *hit);
void sl_topk_push(sl_topk *t, const sl_knn_hit *hit);
/* Sorts the kept hits best first in place (t->h[0..t->n)); the heap is spent. */
void sl_topk_sort(sl_topk *t);

/* Which distances qualify (distance < x, <= x, > x, >= x constraints); NaN never does.
** Bounds are doubles and distances compare as doubles, as SQLite compares the REAL
** distance column: rounding a bound to float could let a row across it. */
typedef struct sl_knn_range {
  double lo, hi;
  int lo_strict, hi_strict;
} sl_knn_range;

void sl_knn_range_init(sl_knn_range *r);
int sl_knn_range_has(const sl_knn_range *r, float d);

#endif
