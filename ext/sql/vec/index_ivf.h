/*
** index_ivf.h: the IVF index of a semlite_vec table declared with `indexed by
** ivf(nlist=N, nprobe=N)` (index_ivf.c), sqlite-vec's options and commands: shadow
** tables, the row changes that keep the lists right, the image of the lists a query
** probes (vector/ivf.h) in the process-wide ANN cache, commands and the search.
**
** Shadow tables of a table T:
**   T_ivf_info       key/value: nlist, nprobe, filter_exact_pct, version (8 random
**                    bytes replaced by every change of the lists, the key of the image
**                    in the ANN cache), centroids (8 random bytes replaced by every
**                    change of the centroids)
**   T_ivf_centroids  centroid INTEGER PRIMARY KEY (0..nlist-1), vector (float32 BLOB)
**   T_ivf_lists      rowid INTEGER PRIMARY KEY, list (a centroid id; -1: unassigned),
**                    code (the row's int8 code, vector/quant.h)
** Every row of the table has one T_ivf_lists row. Before any centroid exists every row
** is unassigned and a query is the exact scan; once one exists, a row inserted is put in
** its nearest centroid's list, and a k-NN query scores the codes of the nprobe lists
** nearest the query plus the unassigned rows, then rescores the best exactly. Changing
** the centroids ('set-centroid', 'clear-centroids') unassigns every row;
** 'compute-centroids' and 'assign-vectors' assign them: so an assigned row is always in
** the list of its nearest centroid (semlite_vec_check verifies it).
**
** Transactions: every change is written to the shadow tables at once, in the caller's
** transaction, together with a new version; ROLLBACK and ROLLBACK TO bring back the
** old rows and their version, so an image keyed by version is always right. Images of
** data this connection changed and has not committed are never published.
*/
#ifndef SEMLITE_SQL_VEC_INDEX_IVF_H
#define SEMLITE_SQL_VEC_INDEX_IVF_H

#include "../../vector/ivf.h"
#include "../../vector/topk.h"
#include "vec.h"

/* Of the rows scored by their codes, the k * VV_IVF_RESCORE best are rescored on their
** float vectors. */
#define VV_IVF_RESCORE 4
/* Below this share of the rows (percent), a filtered query scans the rows the filter
** lets through exactly (the 'filter_exact_pct=N' command changes it). */
#define VV_IVF_FILTER_EXACT_PCT 10
/* compute-centroids trains on at most this many rows per list (a seeded sample). */
#define VV_IVF_TRAIN_PER_LIST 64
#define VV_IVF_SEED 0x1f5eedull

int vv_ivf_create(sqlite3 *db, const vv_config *cfg, const char *schema, const char *name, sl_err *err);
/* xConnect/xCreate: checks T_ivf_info against the declaration. */
int vv_ivf_open(vv_table *t);
void vv_ivf_close(vv_table *t);
/* The table was renamed or dropped: forget its image in the cache. */
void vv_ivf_forget(vv_table *t);
/* COMMIT (images may be published again), ROLLBACK. */
void vv_ivf_end(vv_table *t);

/* Row changes: a row's (new) vector at chunk/slot; a row goes; a row keeps its vector
** under a new rowid. */
int vv_ivf_insert(vv_table *t, sqlite3_int64 rowid, const float *vec);
int vv_ivf_delete(vv_table *t, sqlite3_int64 rowid);
int vv_ivf_rename(vv_table *t, sqlite3_int64 old_rowid, sqlite3_int64 rowid);

/* `INSERT INTO t(t, <vector column>) VALUES ('...', ...)`: nprobe=N, filter_exact_pct=N,
** compute-centroids, compute-centroids:{"nlist":N,"max_iterations":N,"seed":N},
** set-centroid:N (the vector in vec), assign-vectors, clear-centroids. */
int vv_ivf_command(vv_table *t, const char *cmd, sqlite3_value *vec);
/* Whether a text names one of those commands (sqlite-vec also takes them as the rowid:
** INSERT INTO t(rowid) VALUES ('compute-centroids')). */
int vv_ivf_is_command(const char *s);

/* Whether a k-NN query on the first vector column goes through the index (it has
** centroids). */
int vv_ivf_usable(vv_table *t, int *usable);
/* The candidates of a k-NN query, best first by their code estimates (at most
** k * VV_IVF_RESCORE); allowed, when not NULL, lists the only rows that may be returned. */
int vv_ivf_candidates(vv_table *t, const float *q, size_t k, const sl_chunk_pos *allowed, size_t n_allowed,
                      sl_knn_hit **hits, size_t *n_hits);
int vv_ivf_filter_exact(vv_table *t, size_t n_allowed, int *exact);

/* semlite_vec_check: calls problem(arg, message) once per problem of the index of table
** `name` (main schema): a row in no list or in a list without centroid, a list entry
** without row, a bad code, an assigned row nearer another centroid. Returns SQLite's
** code when the check itself fails. */
int vv_ivf_check(sqlite3 *db, const char *name, size_t dims, sl_metric metric, void (*problem)(void *, const char *),
                 void *arg);

#endif
