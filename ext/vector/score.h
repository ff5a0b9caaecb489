/*
** score.h: exact distances of a chunk's vectors to a query, and many chunks scored at
** once on the worker pool (exact, or quantized estimates from quant.h). Callers hand
** in plain memory laid out as layout.h says; nothing here allocates.
*/
#ifndef SEMLITE_VECTOR_SCORE_H
#define SEMLITE_VECTOR_SCORE_H

#include "layout.h"

/* Distances of slots [first, first + count) of a chunk's vectors (or a buffer of the
** same layout where those slots are filled in) to q, of the column's type, into
** out[0..count). */
int sl_knn_distances(const sl_chunk_layout *lay, const void *q, const void *vectors,
                     size_t first, size_t count, float *out, sl_err *err);

/* One chunk's share of sl_knn_score_chunks: its first count slots of data (a whole
** vectors BLOB, or qvectors) scored into out[0..count). */
typedef struct sl_knn_job {
  const unsigned char *data;
  size_t count;
  float *out;
} sl_knn_job;

/* Many chunks at once on the worker pool (base/pool.h), against q (the quantized query
** when quant). Same results as one sl_knn_distances / sl_quant_distances per chunk. */
int sl_knn_score_chunks(const sl_chunk_layout *lay, const void *q, int quant, size_t n,
                        const sl_knn_job *jobs, sl_err *err);

#endif
