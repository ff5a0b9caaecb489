/*
** vtab_vec.h: what the files of the semlite_vec virtual table share (not part of the
** SQL surface's public header; only vtab_vec*.c include it).
**
**   vtab_vec_config.c  parses CREATE VIRTUAL TABLE arguments, checks and converts values
**   vtab_vec.c         the module: create/connect/destroy, xBestIndex, xFilter, cursors
**   vtab_vec_search.c  the k-NN scan over the chunks (exact or quantized + rescoring)
**   vtab_vec_write.c   xUpdate: insert, upsert, update, delete; embed-on-insert batches
**   vtab_vec_check.c   semlite_vec_check()
**
** All of a table's state lives in its shadow tables and is written through SQL (or
** incremental BLOB I/O) in the caller's transaction, so ROLLBACK, savepoints and crash
** recovery are SQLite's own. For a table T in schema S:
**   S.T_info    key/value: format version and the layout (type, dims, chunk_size, ...)
**   S.T_chunks  chunk_id INTEGER PRIMARY KEY, version, validity, rowids, qvectors, vectors
**               (knn.h); version: 8 random bytes replaced by every change to the chunk,
**               the key of its copy in the process-wide chunk cache (ops/chunk_cache.h)
**   S.T_rowids  rowid INTEGER PRIMARY KEY, chunk_id, chunk_offset, m0..mN (metadata)
**   S.T_aux     rowid INTEGER PRIMARY KEY, a0..aN (auxiliary columns; only if any)
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
#ifndef SEMLITE_VTAB_VEC_H
#define SEMLITE_VTAB_VEC_H

#include "../../engine/registry.h"
#include "../../vector/layout.h"
#include "../../vector/quant.h"
#include "../../vector/score.h"
#include "../../vector/topk.h"
#include "../sql.h"

#define VV_FORMAT_VERSION 2
#define VV_VERSION_BYTES 8
#define VV_DEFAULT_CHUNK 1024
#define VV_MAX_CHUNK 65536
#define VV_MAX_DIMS 65536
#define VV_MAX_K 100000
#define VV_DEFAULT_OVERSAMPLE 4
#define VV_MAX_OVERSAMPLE 100     /* k * oversample candidates are held in memory */

typedef enum vv_kind { VV_VECTOR, VV_META, VV_AUX } vv_kind;
/* Metadata types; VV_ANY is an auxiliary column declared without a type. */
typedef enum vv_type { VV_TEXT, VV_INTEGER, VV_FLOAT, VV_BOOLEAN, VV_BLOB, VV_ANY } vv_type;

typedef struct vv_column {
  char *name;        /* sqlite3_malloc'd */
  vv_kind kind;
  vv_type type;      /* VV_META, VV_AUX */
  int slot;          /* VV_META: n in mN; VV_AUX: n in aN */
} vv_column;

/* A parsed CREATE VIRTUAL TABLE ... USING semlite_vec(...). The table's columns are
** cols[0..n_cols) in declaration order, then the hidden distance and k. */
typedef struct vv_config {
  vv_column *cols;
  int n_cols, n_meta, n_aux;
  int vec_col;                 /* index of the one vector column */
  sl_vec_type type;
  size_t dims;
  sl_metric metric;
  sl_quant quant;
  int oversample;
  int chunk_size;
  char *model;                 /* model=, or NULL */
  int embed_from;              /* column index of embed_from=, or -1 */
} vv_config;

#define VV_COL_DISTANCE(cfg) ((cfg)->n_cols)
#define VV_COL_K(cfg) ((cfg)->n_cols + 1)

/* Cached statements of a table, prepared on first use (vv_stmt). */
enum {
  VV_ROW_GET, VV_ROW_INSERT, VV_ROW_UPDATE, VV_ROW_DELETE,
  VV_AUX_GET, VV_AUX_INSERT, VV_AUX_UPDATE, VV_AUX_DELETE,
  VV_CHUNK_LAST, VV_CHUNK_INSERT, VV_CHUNK_DELETE, VV_CHUNK_SCAN, VV_CHUNK_VERSION,
  VV_STMT_COUNT
};

/* An inserted row whose vector waits for its text to be embedded (vtab_vec_write.c). */
typedef struct vv_pending {
  sqlite3_int64 chunk;
  size_t slot;
  char *text;                  /* sqlite3_malloc'd copy */
  size_t len;
} vv_pending;

#define VV_EMBED_BATCH 64

typedef struct vv_table {
  sqlite3_vtab base;
  sqlite3 *db;
  char *schema, *name;         /* sqlite3_malloc'd */
  vv_config cfg;
  sl_chunk_layout lay;
  sqlite3_stmt *stmt[VV_STMT_COUNT];
  vv_pending *pending;         /* VV_EMBED_BATCH entries once the table embeds */
  int n_pending;
  sqlite3_int64 *dirty;        /* chunks changed in the open transaction (see above) */
  size_t n_dirty, cap_dirty;
} vv_table;

/* ---- vtab_vec_config.c ---- */

/* Parses the module arguments (argv[3..] of xCreate). On error cfg is freed. */
int vv_config_parse(int argc, const char *const *argv, vv_config *cfg, sl_err *err);
void vv_config_free(vv_config *cfg);
/* "CREATE TABLE x(...)" for sqlite3_declare_vtab; sqlite3_free it. */
char *vv_config_declaration(const vv_config *cfg);
/* The shadow tables' CREATE statements, one string, sqlite3_free it. */
char *vv_config_shadow_sql(const vv_config *cfg, const char *schema, const char *name);
/* The layout facts T_info records (key, value as text), checked again at every
** connect and read back by semlite_vec_check. */
#define VV_N_FACTS 8
typedef struct vv_fact {
  const char *key;
  char value[32];
} vv_fact;
void vv_config_facts(const vv_config *cfg, vv_fact facts[VV_N_FACTS]);
/* Keywords to enums (sl_knn_type_name and friends go the other way). */
int vv_metric_parse(const char *s, sl_metric *out);
int vv_vec_type_parse(const char *s, sl_vec_type *out);
int vv_quant_parse(const char *s, sl_quant *out);
const char *vv_quant_name(sl_quant q);

/* Checks a metadata value against its column's type; REAL columns take INTEGER too. */
int vv_check_meta(const vv_column *col, sqlite3_value *v, sl_err *err);

/* ---- vtab_vec.c ---- */

/* The statement, reset and with bindings cleared, or NULL with the table's error set. */
sqlite3_stmt *vv_stmt(vv_table *t, int which);
/* The error of the last SQLite call on t->db, as the table's error; returns rc. */
int vv_db_error(vv_table *t, int rc);

/* Whether this connection changed the chunk in its open transaction; marking it. */
int vv_chunk_dirty(const vv_table *t, sqlite3_int64 chunk_id);
int vv_chunk_mark_dirty(vv_table *t, sqlite3_int64 chunk_id);

/* Positions *blob on column col of chunk chunk_id, opening or reopening it. */
int vv_blob_seek(vv_table *t, sqlite3_blob **blob, const char *col, sqlite3_int64 chunk_id,
                 int writable);

/* ---- vtab_vec_search.c ---- */

/* A pushed-down filter on rowid or a metadata column. */
typedef struct vv_filter {
  int col;            /* -1 rowid, else a VV_META column index */
  int op;             /* SQLITE_INDEX_CONSTRAINT_* */
  int in;             /* handled all at once as IN (sqlite3_vtab_in) */
  char coll[64];      /* collation other than BINARY, or "" */
  sqlite3_value *arg; /* right-hand side (an IN list for in), NULL for IS [NOT] NULL */
} vv_filter;

typedef struct vv_query {
  const void *q;               /* query vector, lay->vec_bytes */
  size_t k;
  sl_knn_range range;
  const vv_filter *filters;
  int n_filters;
} vv_query;

/* Appends " WHERE ..." for the filters, with ?1.. placeholders, to s. */
void vv_filters_sql(const vv_table *t, const vv_filter *f, int n, sqlite3_str *s);
/* Binds what vv_filters_sql placed. */
int vv_filters_bind(sqlite3_stmt *st, const vv_filter *f, int n);

/* Runs the k-NN search; *hits (sqlite3_malloc'd, best first) receives up to k rows. */
int vv_search(vv_table *t, const vv_query *q, sl_knn_hit **hits, size_t *n_hits);

/* ---- vtab_vec_write.c ---- */

int vv_update(sqlite3_vtab *vtab, int argc, sqlite3_value **argv, sqlite3_int64 *rowid);

/* Embeds the pending rows' texts and writes their vectors. Called before anything could
** see those slots: a scan, another write, a savepoint, xSync. On failure the rows stay
** pending, so the transaction cannot commit them without vectors. */
int vv_flush(vv_table *t);
/* Forgets the pending rows (ROLLBACK, ROLLBACK TO: their rows are gone). */
void vv_discard(vv_table *t);
/* Pins model= and checks it makes vectors of the column's size (release it with
** sl_registry_release), or sets the table's error. */
int vv_pin_model(vv_table *t, sl_model **m);

#endif
