/*
** metrics.c: per-operation counters and log-linear latency histograms (see metrics.h).
**
** Bucket b < 16 holds exactly b nanoseconds. Above, a value v with highest set bit e
** (v in [2^e, 2^(e+1))) goes to one of 16 equal sub-buckets of that octave, chosen by
** the 4 bits after the top one: each bucket is at most 1/16 of its lower bound wide,
** so its midpoint is within 1/32 (3.1%) of anything in it. 976 buckets cover all of
** uint64 nanoseconds.
*/
#include "metrics.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#define SUB_BITS 4
#define SUB (1u << SUB_BITS)
#define N_BUCKETS (SUB + (64 - SUB_BITS) * SUB)

typedef struct op_stats {
  alignas(64) atomic_uint_least64_t calls;
  atomic_uint_least64_t errors, tokens, hits, misses, max_ns;
  atomic_uint_least64_t hist[N_BUCKETS];
} op_stats;

static op_stats stats[SL_OP_COUNT];

static const char *const names[SL_OP_COUNT] = {
  [SL_OP_EMBED] = "embed",
  [SL_OP_EMBED_EACH] = "embed_each",
  [SL_OP_RERANK] = "rerank",
  [SL_OP_RERANK_EACH] = "rerank_each",
  [SL_OP_KNN] = "knn",
  [SL_OP_SYNERGY_EMBED] = "synergy_embed",
  [SL_OP_SYNERGY_RERANK] = "synergy_rerank",
  [SL_OP_SYNERGY_SEARCH] = "synergy_search",
};

const char *sl_metrics_op_name(sl_op op) { return names[op]; }

sl_op sl_metrics_op_named(const char *name) {
  for (int op = 0; op < SL_OP_COUNT; op++)
    if (strcmp(names[op], name) == 0) return (sl_op)op;
  return SL_OP_COUNT;
}

uint64_t sl_metrics_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned bucket_of(uint64_t v) {
  unsigned e;
  if (v < SUB) return (unsigned)v;
  e = 63u - (unsigned)__builtin_clzll(v);
  return SUB + (e - SUB_BITS) * SUB + (unsigned)((v >> (e - SUB_BITS)) & (SUB - 1));
}

/* The midpoint of bucket b, in nanoseconds. */
static double bucket_mid(unsigned b) {
  unsigned e, sub;
  double width;
  if (b < SUB) return b;
  e = (b - SUB) / SUB + SUB_BITS;
  sub = (b - SUB) % SUB;
  width = (double)(1ull << (e - SUB_BITS));
  return (SUB + sub) * width + width / 2;
}

double sl_metrics_bucket_ms(uint64_t ns) { return bucket_mid(bucket_of(ns)) / 1e6; }

#define ADD(counter, n) atomic_fetch_add_explicit(&(counter), (n), memory_order_relaxed)
#define LOAD(counter) atomic_load_explicit(&(counter), memory_order_relaxed)

void sl_metrics_record(sl_op op, uint64_t t0, uint64_t tokens, int failed) {
  op_stats *s = &stats[op];
  uint64_t ns = sl_metrics_now() - t0, max = LOAD(s->max_ns);
  ADD(s->calls, 1);
  if (failed) ADD(s->errors, 1);
  if (tokens) ADD(s->tokens, tokens);
  ADD(s->hist[bucket_of(ns)], 1);
  while (ns > max && !atomic_compare_exchange_weak_explicit(&s->max_ns, &max, ns, memory_order_relaxed,
                                                            memory_order_relaxed)) {}
}

void sl_metrics_cache(sl_op op, int hit) {
  if (op >= SL_OP_COUNT) return;
  if (hit) ADD(stats[op].hits, 1);
  else ADD(stats[op].misses, 1);
}

/* The nearest-rank q-quantile of a histogram snapshot holding total values, in ms,
** never above the largest value seen. */
static double quantile(const uint64_t *hist, uint64_t total, double q, uint64_t max_ns) {
  uint64_t rank = (uint64_t)(q * (double)total), seen = 0;
  double v = 0;
  if (total == 0) return 0;
  if ((double)rank < q * (double)total || rank == 0) rank++;   /* ceil, at least 1 */
  for (unsigned b = 0; b < N_BUCKETS; b++) {
    seen += hist[b];
    if (seen >= rank) {
      v = bucket_mid(b);
      break;
    }
  }
  return (v > (double)max_ns ? (double)max_ns : v) / 1e6;
}

void sl_metrics_snapshot(sl_op op, sl_metrics_row *out) {
  op_stats *s = &stats[op];
  uint64_t hist[N_BUCKETS], total = 0, max_ns = LOAD(s->max_ns);
  for (unsigned b = 0; b < N_BUCKETS; b++) total += hist[b] = LOAD(s->hist[b]);
  out->calls = LOAD(s->calls);
  out->errors = LOAD(s->errors);
  out->tokens = LOAD(s->tokens);
  out->cache_hits = LOAD(s->hits);
  out->cache_misses = LOAD(s->misses);
  out->p50_ms = quantile(hist, total, 0.50, max_ns);
  out->p95_ms = quantile(hist, total, 0.95, max_ns);
  out->p99_ms = quantile(hist, total, 0.99, max_ns);
  out->max_ms = (double)max_ns / 1e6;
}

void sl_metrics_reset(sl_op op) {
  op_stats *s = &stats[op];
  atomic_store_explicit(&s->calls, 0, memory_order_relaxed);
  atomic_store_explicit(&s->errors, 0, memory_order_relaxed);
  atomic_store_explicit(&s->tokens, 0, memory_order_relaxed);
  atomic_store_explicit(&s->hits, 0, memory_order_relaxed);
  atomic_store_explicit(&s->misses, 0, memory_order_relaxed);
  atomic_store_explicit(&s->max_ns, 0, memory_order_relaxed);
  for (unsigned b = 0; b < N_BUCKETS; b++) atomic_store_explicit(&s->hist[b], 0, memory_order_relaxed);
}
