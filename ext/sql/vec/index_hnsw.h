/*
** index_hnsw.h: the HNSW index of a semlite_vec table declared with `indexed by
** hnsw(...)` (index_hnsw.c): its shadow tables, the image of the graph a connection
** searches and changes (index_graph.h) and how that image follows transactions, the
** process-wide cache of images (vector/ann_cache.h), and the approximate search.
**
** Shadow tables of a table T:
**   T_hnsw_info   key/value: m, ef_construction, ef_search, entry, max_level, and
**                 version: 8 random bytes replaced by every write of the index, the key
**                 of its image in the ANN cache
**   T_hnsw_nodes  node INTEGER PRIMARY KEY, rowid (NULL: a tombstone), level, code (the
**                 int8 code, vector/quant.h), links (per level: u32 count, u32 ids)
**
** Transactions: a connection's first change to the index in a transaction takes the
** committed image out of the cache (or copies it when others are reading it, or loads
** it from the shadow tables) and changes it in memory; the changed nodes are written to
** T_hnsw_nodes before anything could roll back to a point after them (xSavepoint, so
** every savepoint and statement journal starts with the index written out) and at
** xSync. COMMIT publishes the image to the cache under its new version; ROLLBACK and
** ROLLBACK TO drop it (the next use reads the rolled-back shadow tables).
*/
#ifndef SEMLITE_SQL_VEC_INDEX_HNSW_H
#define SEMLITE_SQL_VEC_INDEX_HNSW_H

#include "../../vector/topk.h"
#include "index_graph.h"
#include "vec.h"

/* Below this share of the indexed rows, a filtered query scans the rows the filter lets
** through exactly; above it, it searches the graph and skips the other rows there
** (docs/vector-search.md; bench/ann --filters measures it). In percent; a table changes
** it with the command 'filter_exact_pct=N' (0: always the graph, 100: always exact). */
#define VV_HNSW_FILTER_EXACT_PCT 10
/* Of the graph's ef candidates, the k * VV_HNSW_RESCORE best by their int8 estimates are
** rescored on their float vectors (bench/ann measures the recall this keeps). */
#define VV_HNSW_RESCORE 3
/* Tombstones are purged when they are this share of the nodes, in percent. */
#define VV_HNSW_PURGE_PCT 12

/* The shadow tables and their first rows (xCreate, through vv_shadow_create). */
int vv_hnsw_create(sqlite3 *db, const vv_config *cfg, const char *schema, const char *name, sl_err *err);
/* The connection's index state, at xConnect/xCreate: checks T_hnsw_info against the
** declaration. */
int vv_hnsw_open(vv_table *t);
void vv_hnsw_close(vv_table *t);

/* Row changes. insert: a new row (or a row's new vector) at chunk/slot; delete: a row
** goes (its node becomes a tombstone); rename: a row keeps its vector under a new rowid. */
int vv_hnsw_insert(vv_table *t, sqlite3_int64 rowid, sqlite3_int64 chunk, size_t slot, const float *vec);
int vv_hnsw_delete(vv_table *t, sqlite3_int64 rowid);
int vv_hnsw_rename(vv_table *t, sqlite3_int64 old_rowid, sqlite3_int64 rowid);

/* Transactions (see above). */
int vv_hnsw_flush(vv_table *t);
void vv_hnsw_commit(vv_table *t);
void vv_hnsw_rollback(vv_table *t, int end_of_transaction);
/* The table was renamed or dropped: forget the image and its cache entry. */
void vv_hnsw_forget(vv_table *t);

/* `INSERT INTO t(t) VALUES ('...')`: ef_search=N, filter_exact_pct=N, hnsw-rebuild,
** hnsw-purge. */
int vv_hnsw_command(vv_table *t, const char *cmd);

/* The candidates of a k-NN query: the max(ef_search, k) nearest live rows by their int8
** codes, as hits (distance: the estimate), best first. allowed, when not NULL, lists
** the only rows that may be returned (sorted by rowid or not). */
int vv_hnsw_candidates(vv_table *t, const float *q, size_t k, const sl_chunk_pos *allowed, size_t n_allowed,
                       sl_knn_hit **hits, size_t *n_hits);
/* Whether a filter that lets n_allowed rows through is answered by an exact scan of them
** (see VV_HNSW_FILTER_EXACT_PCT). */
int vv_hnsw_filter_exact(vv_table *t, size_t n_allowed, int *exact);

/* The image of a table's index read from its shadow tables (semlite_vec_check too):
** dims and metric of the first vector column. */
int vv_hnsw_load(sqlite3 *db, const char *schema, const char *name, size_t dims, sl_metric metric, vv_graph **out,
                 sl_err *err);

#endif
