/*
** vec.h: the types the files of the semlite_vec virtual table share: its limits, the
** parsed declaration (vv_config) and the table object (vv_table). Types only; each
** function is declared in the header of the file that owns it. The files, each using
** only those listed after it (no file calls one above it). The module is registered
** twice: as semlite_vec, and as vec0 in sqlite-vec's dialect (vv_config.vec0: a rowid or
** integer primary key column first, text primary keys, partition keys, ties in vec0's
** order).
**
**   module.c   the sqlite3_module: create/connect/destroy, planning, cursors
**   write.c    write.h   xUpdate: insert, upsert, update, delete; embed-on-insert
**   identity.c identity.h the model= a table recorded at CREATE, checked before embedding
**   search.c   search.h  the k-NN search run in xFilter
**   check.c              semlite_vec_check() (declared in ../sql.h)
**   migrate.c            semlite_vec_migrate(): vec0.so's storage into this one (../sql.h)
**   index_hnsw.c index_hnsw.h  `indexed by hnsw(...)`: its shadow tables, transactions, search
**   index_graph.c index_graph.h the in-memory image of that graph (a node store of vector/hnsw.h)
**   index_ivf.c index_ivf.h    `indexed by ivf(...)`: shadow tables, commands, search (vector/ivf.h)
**   store.c    store.h   the shadow tables: statements, chunk BLOBs, slots, rows
**   config.c   config.h  CREATE arguments, the SQL they declare, metadata checks
**
** All of a table's state lives in its shadow tables and is written through SQL (or
** incremental BLOB I/O) in the caller's transaction, so ROLLBACK, savepoints and crash
** recovery are SQLite's own. For a table T in schema S:
**   S.T_info    key/value: format version and the layout (type, dims, chunk_size, ...)
**   S.T_chunks  chunk_id INTEGER PRIMARY KEY, version, validity, rowids, qvectors, vectors
**               (vector/layout.h); version: 8 random bytes replaced by every change to
**               the chunk, the key of its copy in the process-wide chunk cache
**               (vector/chunk_cache.h); vectors1.. hold the other vector columns
**   S.T_rowids  rowid INTEGER PRIMARY KEY, chunk_id, chunk_offset, m0..mN (metadata)
**   S.T_aux     rowid INTEGER PRIMARY KEY, a0..aN (auxiliary columns; only if any)
**   S.T_hnsw_info, S.T_hnsw_nodes   the HNSW index (only if declared; index_hnsw.h)
**   S.T_ivf_info, S.T_ivf_centroids, S.T_ivf_lists   the IVF index (only if declared; index_ivf.h)
** Metadata lives beside the row's position so one SQL query over T_rowids evaluates the
** pushed-down filters with SQLite's own comparison, affinity and collation rules.
**
** The chunk cache and transactions: a connection replaces a chunk's version at its first
** change in a transaction and counts the chunk as dirty until the transaction ends (or
** rolls back to a savepoint, which may undo that replacement: the next change replaces
** it again). A dirty chunk's content may change again under the same version, so its own
** connection reads it from SQLite, never from the cache; every other connection sees
** either the committed old version or, after the commit, the new one.
*/
#ifndef SEMLITE_SQL_VEC_VEC_H
#define SEMLITE_SQL_VEC_VEC_H

#include "../../vector/layout.h"
#include "../sql.h"
#include "../sql_cache.h"

#define VV_FORMAT_VERSION 2
#define VV_VERSION_BYTES 8
#define VV_DEFAULT_CHUNK 1024
#define VV_MAX_CHUNK 65536
#define VV_MAX_DIMS 65536
#define VV_MAX_K 100000
#define VV_MAX_VECTORS 16         /* vector columns per table */
#define VV_VEC0_MAX_AUX 16        /* sqlite-vec's limits, in tables made as vec0 */
#define VV_VEC0_MAX_META 16
#define VV_VEC0_MAX_PARTITION 4
#define VV_DEFAULT_OVERSAMPLE 4
#define VV_RESCORE_OVERSAMPLE 8   /* sqlite-vec's default for `indexed by rescore(...)` */
#define VV_MAX_OVERSAMPLE 100     /* k * oversample candidates are held in memory */

/* VV_KEY: vec0's first column, `rowid` or an `id integer primary key`: the rowid itself
** under a column name (only in tables made with the module name vec0). */
typedef enum vv_kind { VV_VECTOR, VV_META, VV_AUX, VV_KEY } vv_kind;
/* Metadata types; VV_ANY is an auxiliary column declared without a type. */
typedef enum vv_type { VV_TEXT, VV_INTEGER, VV_FLOAT, VV_BOOLEAN, VV_BLOB, VV_ANY } vv_type;

typedef struct vv_column {
  char *name;        /* sqlite3_malloc'd */
  vv_kind kind;
  vv_type type;      /* VV_META, VV_AUX */
  int slot;          /* VV_META: n in mN; VV_AUX: n in aN */
  int partition;     /* VV_META declared `partition key`: T_rowids has an index on it */
  int text_key;      /* VV_META: vec0's `id text primary key` (unique, not NULL) */
  int vec;           /* VV_VECTOR: 0 for the first vector column, j for cfg->vecs[j] */
} vv_column;

/* A vector column after the first: stored in T_chunks.vectors<j>, searched exactly (the
** quantizer, embed_from and the facts in T_info's own keys belong to the first). */
typedef struct vv_vector {
  int col;                     /* index in cols */
  sl_vec_type type;
  size_t dims;
  sl_metric metric;
} vv_vector;

/* A parsed CREATE VIRTUAL TABLE ... USING semlite_vec(...). The table's columns are
** cols[0..n_cols) in declaration order, then the hidden distance and k. */
typedef struct vv_config {
  vv_column *cols;
  int n_cols, n_meta, n_aux;
  int vec_col;                 /* index of the first vector column */
  int n_vecs;                  /* vector columns; vecs[1..n_vecs) are the others */
  vv_vector vecs[VV_MAX_VECTORS];
  sl_vec_type type;
  size_t dims;
  sl_metric metric;
  sl_quant quant;
  int oversample;
  int chunk_size;
  char *model;                 /* model=, or NULL */
  int embed_from;              /* column index of embed_from=, or -1 */
  int vec0;                    /* made with the module name vec0: sqlite-vec's dialect */
  int key_col;                 /* vec0: index of the VV_KEY column (0), else -1 */
  int text_key;                /* vec0: index of the `text primary key` column, else -1 */
  int hnsw;                    /* `indexed by hnsw(...)` on the first vector column */
  int hnsw_m, hnsw_ef_construction, hnsw_ef_search;
  int ivf;                     /* `indexed by ivf(...)` on the first vector column */
  int ivf_nlist, ivf_nprobe;
} vv_config;

#define VV_COL_DISTANCE(cfg) ((cfg)->n_cols)
#define VV_COL_K(cfg) ((cfg)->n_cols + 1)
/* The hidden column named after the table that takes commands, as in sqlite-vec:
** INSERT INTO t(t) VALUES ('ef_search=64'); declared by hnsw and ivf tables only. */
#define VV_COL_CMD(cfg) ((cfg)->n_cols + 2)

/* Cached statements of a table, prepared on first use (store.h, vv_stmt). The VV_ROW_*
** and VV_AUX_* groups are in the same order. */
enum {
  VV_ROW_GET, VV_ROW_INSERT, VV_ROW_UPDATE, VV_ROW_DELETE,
  VV_AUX_GET, VV_AUX_INSERT, VV_AUX_UPDATE, VV_AUX_DELETE,
  VV_CHUNK_LAST, VV_CHUNK_INSERT, VV_CHUNK_DELETE, VV_CHUNK_SCAN, VV_CHUNK_VERSION,
  VV_TEXT_KEY_GET,             /* the rowid of a vec0 text primary key */
  VV_STMT_COUNT
};

/* An inserted row whose vector waits for its text to be embedded (write.c). */
typedef struct vv_pending {
  sqlite3_int64 rowid, chunk;
  size_t slot;
  char *text;                  /* sqlite3_malloc'd copy */
  size_t len;
} vv_pending;

#define VV_EMBED_BATCH 64

typedef struct vv_table {
  sqlite3_vtab base;
  sqlite3 *db;
  sl_cache *cache;             /* the connection's inference cache (embed-on-insert) */
  char *schema, *name;         /* sqlite3_malloc'd */
  vv_config cfg;
  sl_chunk_layout lay;         /* of the first vector column */
  sl_chunk_layout xlay[VV_MAX_VECTORS];  /* xlay[j]: of cfg.vecs[j], j >= 1 */
  sqlite3_stmt *stmt[VV_STMT_COUNT];
  vv_pending *pending;         /* VV_EMBED_BATCH entries once the table embeds */
  int n_pending;
  int flushing;                /* in vv_flush: 1 cached, 2 uncached (write.c) */
  int progress;                /* embed-on-insert's semlite_progress job in this transaction (write.c) */
  long long statement_rows;    /* rows queued for embedding since the last savepoint or commit (write.c) */
  sqlite3_int64 *dirty;        /* chunks changed in the open transaction (see above) */
  size_t n_dirty, cap_dirty;
  struct vv_hnsw *hnsw;        /* the index's state (index_hnsw.h), or NULL */
  struct vv_ivf *ivf;          /* the IVF index's state (index_ivf.h), or NULL */
  /* Chunk versions already read (search.c), valid while the database's data version
  ** (SQLITE_FCNTL_DATA_VERSION: any commit, this connection's too) is vmemo_data; never
  ** of a dirty chunk; forgotten when a transaction ends or rolls back (vv_chunks_clean). */
  unsigned char *vmemo;        /* VV_VERSION_BYTES per chunk id below n_vmemo */
  unsigned char *vmemo_known;
  size_t n_vmemo;
  unsigned int vmemo_data;
} vv_table;

#endif
