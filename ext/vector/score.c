/*
** score.c: exact distances of one chunk's slots, and many chunks scored on the worker
** pool (score.h); the distance kernels do the arithmetic.
*/
#include "score.h"

#include <stdatomic.h>

#include "../base/pool.h"
#include "quant.h"

int sl_knn_distances(const sl_chunk_layout *lay, const void *q, const void *vectors,
                     size_t first, size_t count, float *out, sl_err *err) {
  if (count == 0) return SL_OK;
  if (sl_distance_many(lay->type, lay->metric, q, (const unsigned char *)vectors + first * lay->vec_bytes,
                       count, lay->dims, out))
    return sl_fail(err, "no %s distance kernel for this vector type", sl_knn_metric_name(lay->metric));
  return SL_OK;
}

typedef struct score_task {
  const sl_chunk_layout *lay;
  const void *q;
  int quant;
  const sl_knn_job *jobs;
  atomic_int failed;
} score_task;

static void score_range(void *ctx, size_t begin, size_t end) {
  score_task *t = ctx;
  sl_err err;
  for (const sl_knn_job *j = t->jobs + begin; j < t->jobs + end; j++) {
    int rc = t->quant ? sl_quant_distances(t->lay, t->q, j->data, 0, j->count, j->out, &err)
                      : sl_knn_distances(t->lay, t->q, j->data, 0, j->count, j->out, &err);
    if (rc) atomic_store(&t->failed, 1);
  }
}

int sl_knn_score_chunks(const sl_chunk_layout *lay, const void *q, int quant, size_t n,
                        const sl_knn_job *jobs, sl_err *err) {
  score_task t = {lay, q, quant, jobs, 0};
  sl_parallel_for(n, 1, score_range, &t);
  if (atomic_load(&t.failed)) return sl_fail(err, "no distance kernel for this vector type and metric");
  return SL_OK;
}
