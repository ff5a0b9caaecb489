/*
** metrics.h: process-wide counters and latency histograms per operation, read by the
** semlite_metrics table.
**
** Recording is on every call's path, so it takes no lock: each counter is a relaxed
** atomic add and the maximum a relaxed compare-and-swap, so concurrent callers never
** wait for each other and no count is lost. Latencies go into log-linear buckets (16
** per power of two of nanoseconds), so a percentile read back is within 3.2% of the
** true value at any scale, from microseconds to hours, in a fixed 8 KB per operation.
**
** A feature that adds an operation (the inference cache, synergy) adds one value to
** sl_op and its name to metrics.c's table, and calls sl_metrics_record once per call;
** a cache calls sl_metrics_cache on the operation it served.
*/
#ifndef SEMLITE_METRICS_H
#define SEMLITE_METRICS_H

#include <stdint.h>

/* Operations with a row in semlite_metrics, in row order. */
typedef enum sl_op {
  SL_OP_EMBED,          /* embed(), embed-on-insert of semlite_vec */
  SL_OP_EMBED_EACH,     /* one batch of embed_each */
  SL_OP_RERANK,         /* rerank() */
  SL_OP_RERANK_EACH,    /* one batch of rerank_each */
  SL_OP_KNN,            /* one k-NN search of semlite_vec */
  SL_OP_SYNERGY_EMBED,  /* synergy: embedding the descriptors that changed */
  SL_OP_SYNERGY_RERANK, /* synergy: cross-encoder scores of the best candidate hops */
  SL_OP_SYNERGY_SEARCH, /* synergy: one path search (synergy_paths) or ranking (synergy_links) */
  SL_OP_COUNT
} sl_op;

/* The operation's name as semlite_metrics shows it ("embed", "embed_each", ...). */
const char *sl_metrics_op_name(sl_op op);

/* The operation of that name, or SL_OP_COUNT. */
sl_op sl_metrics_op_named(const char *name);

/* A monotonic clock in nanoseconds, the start of a call to pass to sl_metrics_record. */
uint64_t sl_metrics_now(void);

/* One call of op that started at t0 (sl_metrics_now) and has just ended: tokens it ran
** through a model (0 when none), failed when it returned an error. */
void sl_metrics_record(sl_op op, uint64_t t0, uint64_t tokens, int failed);

/* A cache lookup made on behalf of op: hit or miss (SL_OP_COUNT: not counted). */
void sl_metrics_cache(sl_op op, int hit);

/* One row of semlite_metrics: a snapshot of op's counters. Percentiles are of the calls
** in the histogram (nearest rank), 0 when there were none. */
typedef struct sl_metrics_row {
  uint64_t calls, errors, tokens, cache_hits, cache_misses;
  double p50_ms, p95_ms, p99_ms, max_ms;
} sl_metrics_row;

void sl_metrics_snapshot(sl_op op, sl_metrics_row *out);

/* Zeroes op's counters. Calls that finish during a reset may be counted in one counter
** and not another (a snapshot is not a transaction). */
void sl_metrics_reset(sl_op op);

/* The value a latency of ns nanoseconds reads back as (its bucket's midpoint, which
** the percentiles report): for tests and the bench's comparison. */
double sl_metrics_bucket_ms(uint64_t ns);

#endif
