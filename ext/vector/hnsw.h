/*
** hnsw.h: the HNSW approximate nearest-neighbour graph (Malkov & Yashunin, 2016; the
** variant hnswlib implements) over an abstract node store: insertion with the neighbour
** selection heuristic, k-NN search with an optional filter, and the removal of deleted
** nodes (tombstones) with repair of the links that pointed at them. Nothing here knows
** SQLite or how nodes are stored: the caller's store (sl_hnsw_store) hands out nodes'
** levels, links and codes, and takes new links. ext/sql/vec/index_graph.c implements it
** in memory and ext/sql/vec/index_hnsw.c writes what changed to shadow tables.
**
** Nodes are numbered 0..capacity-1 by the store. A node has a level L >= 0 and one list
** of links per level 0..L: at most 2m on level 0, m above. A tombstone (live() false) is
** still walked through so the graph stays connected, but never returned, and never
** given new links; sl_hnsw_purge removes tombstones and repairs the lists that named
** them. Distances are whatever the store computes between a prepared query code and a
** node (semlite: int8 codes, ext/vector/quant.h); smaller is closer.
*/
#ifndef SEMLITE_VECTOR_HNSW_H
#define SEMLITE_VECTOR_HNSW_H

#include <stddef.h>
#include <stdint.h>

#include "../base/status.h"

#define SL_HNSW_NONE UINT32_MAX
#define SL_HNSW_MAX_LEVEL 15
#define SL_HNSW_DEFAULT_M 16
#define SL_HNSW_DEFAULT_EF_CONSTRUCTION 200
#define SL_HNSW_DEFAULT_EF_SEARCH 64
#define SL_HNSW_MAX_M 128
#define SL_HNSW_MAX_EF 10000

typedef struct sl_hnsw_params {
  int m;                 /* links per node above level 0; 2m on level 0 */
  int ef_construction;   /* candidates kept while linking a new node */
} sl_hnsw_params;

/* The entry point: a node of the highest level, or SL_HNSW_NONE in an empty graph. */
typedef struct sl_hnsw_top {
  uint32_t entry;
  int max_level;
} sl_hnsw_top;

/* The caller's node store. Pointers it returns stay valid until its next set_links. */
typedef struct sl_hnsw_store {
  void *ctx;
  sl_hnsw_top *top;                               /* read and updated by the engine */
  uint32_t (*capacity)(void *ctx);               /* every node id is below it */
  int (*level)(void *ctx, uint32_t node);        /* -1: no node with this id */
  int (*live)(void *ctx, uint32_t node);         /* 0: a tombstone */
  const uint32_t *(*links)(void *ctx, uint32_t node, int level, uint32_t *n);
  int (*set_links)(void *ctx, uint32_t node, int level, const uint32_t *ids, uint32_t n, sl_err *err);
  const void *(*code)(void *ctx, uint32_t node);  /* a node's code, usable as a query */
  float (*distance)(void *ctx, const void *query, uint32_t node);
  int (*remove)(void *ctx, uint32_t node, sl_err *err);  /* drops a tombstone (purge) */
} sl_hnsw_store;

typedef struct sl_hnsw_cand {
  float d;
  uint32_t id;
} sl_hnsw_cand;

/* Per-caller working memory, reused across calls (one caller at a time); zero it
** before first use. */
typedef struct sl_hnsw_scratch {
  uint32_t *mark, n_mark, epoch;   /* visited: mark[id] == epoch */
  sl_hnsw_cand *cand, *res, *tmp;
  size_t cap_cand, cap_res, cap_tmp;
  uint32_t *ids;
  size_t cap_ids;
  size_t visits;                   /* distances computed by the last call */
  struct sl_hnsw_workers *workers; /* sl_hnsw_insert_batch's per-thread memory, kept for the next call */
} sl_hnsw_scratch;

void sl_hnsw_scratch_free(sl_hnsw_scratch *sc);

/* The level of a new node: -ln(U) / ln(m) for U uniform in (0,1], drawn from a hash of
** key and seed so a given row always gets the same level. */
int sl_hnsw_random_level(uint64_t key, uint64_t seed, int m);

/* Insertion: links nodes[0..n), which the store already holds (codes and levels set,
** lists empty, all live), in that order, on the worker pool (base/pool.h). It goes in batches of SL_HNSW_BATCH nodes: (1) in parallel, each
** node of a batch searches the graph as it stood before the batch (greedy descent, then
** a beam of ef_construction on each of its levels) and adds, by exact distance, the batch's earlier nodes, then chooses its links
** by the heuristic; (2) in order, each node's lists are set and the entry point moved;
** (3) in parallel over the nodes that get a link back, each such list takes its new
** links in batch order (shrunk by the heuristic when full). No step depends on which
** thread ran what, so the graph is the same for any thread count and timing; it is not
** the one-by-one graph of hnswlib (a node does not search through the links its batch's
** earlier nodes made, it compares itself with them directly), and it depends on where
** the batches start (on n: a one-row insert is a batch of one). Step (3) calls set_links from several threads at once,
** for distinct nodes only; each such node was given its current list by a set_links call
** in step (2) first (so a store that tracks changes tracks them before). done(arg, i) is
** called after each batch with the nodes linked so far (NULL: not called). sc keeps the
** threads' working memory (visited marks over every node) between calls, so a one-row
** insert does not allocate it again. */
#define SL_HNSW_BATCH 256
int sl_hnsw_insert_batch(const sl_hnsw_store *s, const sl_hnsw_params *p, sl_hnsw_scratch *sc, const uint32_t *nodes,
                         size_t n, void (*done)(void *arg, size_t linked), void *arg, sl_err *err);

/* Filter of a search: whether a live node may be returned. */
typedef int (*sl_hnsw_accept)(void *arg, uint32_t node);

/* The ef (>= 1) live nodes nearest query that accept() takes (NULL: all), best first, into
** out[0..*n_out) (room for ef). */
int sl_hnsw_search(const sl_hnsw_store *s, sl_hnsw_scratch *sc, const void *query, size_t ef,
                   sl_hnsw_accept accept, void *arg, sl_hnsw_cand *out, size_t *n_out, sl_err *err);

/* Removes every tombstone: each live node that links to one gets its list rebuilt by the
** heuristic from its live links and the live links of the tombstones it named, then
** the tombstones are removed and the entry point moved to a live node if needed. */
int sl_hnsw_purge(const sl_hnsw_store *s, const sl_hnsw_params *p, sl_hnsw_scratch *sc, sl_err *err);

#endif
