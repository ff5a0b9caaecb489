/*
** store.h: the shadow tables of a semlite_vec table (store.c): every statement on
** them, the chunk BLOBs (read, and written with a new version), slots and row
** positions, and the pushed-down filters of a query over T_rowids. Failures set the
** table's error and return an SQLite code.
*/
#ifndef SEMLITE_SQL_VEC_STORE_H
#define SEMLITE_SQL_VEC_STORE_H

#include "vec.h"

/* The error of the last SQLite call on t->db, as the table's error; returns rc
** (SQLITE_ERROR for a success code), or SQLITE_NOMEM when the message cannot be set. */
int vv_db_error(vv_table *t, int rc);

/* ---- statements ---- */

/* An index's own statement on its shadow tables, prepared once into *st from fmt
** (%1$w: schema, %2$w: table name; sqlite3_mprintf) and kept (persistent); later calls
** reset it and clear its bindings. */
int vv_stmt_fmt(vv_table *t, sqlite3_stmt **st, const char *fmt);
/* Runs SQL made from fmt as above, once (DDL, bulk deletes). */
int vv_exec_fmt(vv_table *t, const char *fmt);

/* The table's cached statement `which` (VV_ROW_GET...), reset and with bindings
** cleared. */
int vv_stmt(vv_table *t, int which, sqlite3_stmt **st);
/* A statement of the caller's own (a cursor's, stepped beside the cached ones). */
int vv_stmt_prepare(vv_table *t, int which, sqlite3_stmt **st);
void vv_stmts_finalize(vv_table *t);
/* Steps a statement that returns no row, and resets it. */
int vv_step_done(vv_table *t, sqlite3_stmt *st);

/* ---- chunks ---- */

/* Positions *blob on column col of chunk chunk_id, opening or reopening it; a BLOB of
** another size than the layout's is a damaged chunk (SQLITE_CORRUPT_VTAB). */
int vv_blob_seek(vv_table *t, sqlite3_blob **blob, const char *col, sqlite3_int64 chunk_id,
                 int writable);
/* n bytes at offset of column col of a chunk. */
int vv_chunk_read(vv_table *t, const char *col, sqlite3_int64 chunk, void *data, size_t n, size_t offset);
/* Every change to a chunk's content goes through here: the first in a transaction
** gives the chunk a new version and counts it dirty (vec.h). */
int vv_chunk_write(vv_table *t, const char *col, sqlite3_int64 chunk, const void *data, size_t n,
                   size_t offset);
/* A slot's vector, and its quantized copy (qvec: qvec_bytes + qparam_bytes) unless
** qvec is NULL (no quantizer). */
int vv_chunk_write_vector(vv_table *t, sqlite3_int64 chunk, size_t slot, const void *vec,
                          const unsigned char *qvec);
int vv_chunk_write_rowid(vv_table *t, sqlite3_int64 chunk, size_t slot, sqlite3_int64 rowid);

/* Whether this connection changed the chunk in its open transaction. */
int vv_chunk_dirty(const vv_table *t, sqlite3_int64 chunk_id);
/* The transaction ended or rolled back to a savepoint: no chunk counts as dirty. */
void vv_chunks_clean(vv_table *t);

/* ---- slots and rows ---- */

/* A free slot: the first clear bit of the last chunk, or slot 0 of a new chunk. *byte
** is the validity byte that holds it, as it is now. */
int vv_slot_alloc(vv_table *t, sqlite3_int64 *chunk, size_t *slot, unsigned char *byte);
/* Sets the slot's validity bit in byte (from vv_slot_alloc) and writes it. */
int vv_slot_take(vv_table *t, sqlite3_int64 chunk, size_t slot, unsigned char byte);
/* Clears a slot's validity bit; a chunk left empty is deleted. */
int vv_slot_free(vv_table *t, sqlite3_int64 chunk, size_t slot);

/* Where a row is: its chunk and slot. SQLITE_DONE when there is no such row. */
int vv_row_locate(vv_table *t, sqlite3_int64 rowid, sqlite3_int64 *chunk, size_t *slot);
/* The stored value of column col of a row (metadata or auxiliary), as a new value. */
int vv_row_value(vv_table *t, sqlite3_int64 rowid, int col, sqlite3_value **out);

/* ---- filtered scans of T_rowids ---- */

/* A pushed-down filter on rowid or a metadata column. */
typedef struct vv_filter {
  int col;            /* -1 rowid, else a VV_META column index */
  int op;             /* SQLITE_INDEX_CONSTRAINT_* */
  int in;             /* handled all at once as IN (sqlite3_vtab_in) */
  char coll[64];      /* collation other than BINARY, or "" */
  sqlite3_value *arg; /* right-hand side (an IN list for in), NULL for IS [NOT] NULL */
} vv_filter;

/* "SELECT rowid, chunk_id, chunk_offset[, m0..mN] FROM T_rowids WHERE <filters><tail>",
** prepared (the caller's to finalize) and bound. */
int vv_rowids_query(vv_table *t, int with_meta, const vv_filter *f, int n, const char *tail,
                    sqlite3_stmt **st);

/* ---- a new table ---- */

/* Creates the shadow tables of a table declared as cfg, and records its facts in T_info
** (xCreate, and semlite_vec_migrate). */
int vv_shadow_create(sqlite3 *db, const vv_config *cfg, const char *schema, const char *name, sl_err *err);

#endif
