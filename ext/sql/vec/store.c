/*
** store.c: the shadow tables of a semlite_vec table (store.h): the SQL of its cached
** statements, incremental BLOB I/O on chunks (every write gives the chunk a new version
** first, for the chunk cache), which chunks this transaction changed, slot allocation,
** row lookups, and the pushed-down filters of queries over T_rowids. It knows the
** layout (vector/layout.h) but neither queries nor embeddings.
*/
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "index_hnsw.h"
#include "index_ivf.h"
#include "store.h"

int vv_db_error(vv_table *t, int rc) {
  if (sl_vtab_error(&t->base, t->name, "%s", sqlite3_errmsg(t->db)) == SQLITE_NOMEM) return SQLITE_NOMEM;
  return rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_ERROR : rc;
}

/* ---- statements ---- */

/* T_rowids and T_aux: rowid, then fixed columns (T_rowids: the row's position), then
** n value columns named <prefix>0.. (metadata m0.., auxiliary a0..). */
typedef struct row_table {
  const char *suffix;          /* T_<suffix> */
  const char *fixed;           /* ", chunk_id, chunk_offset" or "" */
  int n_fixed;
  char prefix;
  int n;
} row_table;

static row_table rowids_table(const vv_table *t) {
  return (row_table){"rowids", ", chunk_id, chunk_offset", 2, 'm', t->cfg.n_meta};
}

/* "SELECT rowid<fixed>[, <prefix>0..] FROM S.T_<suffix>" */
static void select_sql(sqlite3_str *q, const vv_table *t, const row_table *r, int with_values) {
  sqlite3_str_appendf(q, "SELECT rowid%s", r->fixed);
  for (int i = 0; with_values && i < r->n; i++) sqlite3_str_appendf(q, ", %c%d", r->prefix, i);
  sqlite3_str_appendf(q, " FROM \"%w\".\"%w_%s\"", t->schema, t->name, r->suffix);
}

/* The get, insert, update or delete by rowid (op: 0 to 3, the order of VV_ROW_* and
** VV_AUX_*). Insert binds ?1 rowid, then the fixed and value columns; update binds ?1
** the old rowid, ?2 the new, ?3.. the values. */
static void row_sql(sqlite3_str *q, const vv_table *t, const row_table *r, int op) {
  const char *s = t->schema, *n = t->name;
  int i;
  switch (op) {
    case 0:
      select_sql(q, t, r, 1);
      sqlite3_str_appendall(q, " WHERE rowid = ?1");
      break;
    case 1:
      sqlite3_str_appendf(q, "INSERT INTO \"%w\".\"%w_%s\"(rowid%s", s, n, r->suffix, r->fixed);
      for (i = 0; i < r->n; i++) sqlite3_str_appendf(q, ", %c%d", r->prefix, i);
      sqlite3_str_appendall(q, ") VALUES (?1");
      for (i = 0; i < r->n_fixed + r->n; i++) sqlite3_str_appendf(q, ", ?%d", i + 2);
      sqlite3_str_appendall(q, ")");
      break;
    case 2:
      sqlite3_str_appendf(q, "UPDATE \"%w\".\"%w_%s\" SET rowid = ?2", s, n, r->suffix);
      for (i = 0; i < r->n; i++) sqlite3_str_appendf(q, ", %c%d = ?%d", r->prefix, i, i + 3);
      sqlite3_str_appendall(q, " WHERE rowid = ?1");
      break;
    case 3:
      sqlite3_str_appendf(q, "DELETE FROM \"%w\".\"%w_%s\" WHERE rowid = ?1", s, n, r->suffix);
      break;
  }
}

static char *stmt_sql(const vv_table *t, int which) {
  const char *s = t->schema, *n = t->name;
  sqlite3_str *q = sqlite3_str_new(NULL);
  if (which <= VV_ROW_DELETE) {
    row_table r = rowids_table(t);
    row_sql(q, t, &r, which - VV_ROW_GET);
  } else if (which <= VV_AUX_DELETE) {
    row_table r = {"aux", "", 0, 'a', t->cfg.n_aux};
    row_sql(q, t, &r, which - VV_AUX_GET);
  }
  switch (which) {
    case VV_CHUNK_LAST:
      sqlite3_str_appendf(q, "SELECT chunk_id, validity FROM \"%w\".\"%w_chunks\" ORDER BY chunk_id DESC LIMIT 1", s, n);
      break;
    case VV_CHUNK_INSERT:
      sqlite3_str_appendf(q, "INSERT INTO \"%w\".\"%w_chunks\"(version, validity, rowids, qvectors, vectors", s, n);
      for (int j = 1; j < t->cfg.n_vecs; j++) sqlite3_str_appendf(q, ", vectors%d", j);
      sqlite3_str_appendf(q, ") VALUES (randomblob(%d), zeroblob(?1), zeroblob(?2), %s, zeroblob(?4)", VV_VERSION_BYTES,
                          t->cfg.quant != SL_QUANT_NONE ? "zeroblob(?3)" : "NULL");
      for (int j = 1; j < t->cfg.n_vecs; j++) sqlite3_str_appendf(q, ", zeroblob(?%d)", 4 + j);
      sqlite3_str_appendall(q, ")");
      break;
    case VV_CHUNK_DELETE:
      sqlite3_str_appendf(q, "DELETE FROM \"%w\".\"%w_chunks\" WHERE chunk_id = ?1", s, n);
      break;
    case VV_CHUNK_SCAN:
      /* the version sits on the row's first page; the BLOBs are read only on a cache miss */
      sqlite3_str_appendf(q, "SELECT chunk_id, version FROM \"%w\".\"%w_chunks\" ORDER BY chunk_id", s, n);
      break;
    case VV_CHUNK_VERSION:
      sqlite3_str_appendf(q, "SELECT version FROM \"%w\".\"%w_chunks\" WHERE chunk_id = ?1", s, n);
      break;
    case VV_TEXT_KEY_GET:
      sqlite3_str_appendf(q, "SELECT rowid FROM \"%w\".\"%w_rowids\" WHERE m%d = ?1", s, n,
                          t->cfg.text_key >= 0 ? t->cfg.cols[t->cfg.text_key].slot : 0);
      break;
  }
  return sqlite3_str_finish(q);
}

static int prepare(vv_table *t, const char *sql, unsigned flags, sqlite3_stmt **st) {
  int rc;
  *st = NULL;
  if (!sql) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v3(t->db, sql, -1, flags, st, NULL);
  return rc == SQLITE_OK ? rc : vv_db_error(t, rc);
}

int vv_stmt_fmt(vv_table *t, sqlite3_stmt **st, const char *fmt) {
  char *sql;
  int rc;
  if (*st) {
    sqlite3_reset(*st);
    sqlite3_clear_bindings(*st);
    return SQLITE_OK;
  }
  if (!(sql = sqlite3_mprintf(fmt, t->schema, t->name))) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v3(t->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
  sqlite3_free(sql);
  return rc == SQLITE_OK ? rc : vv_db_error(t, rc);
}

int vv_exec_fmt(vv_table *t, const char *fmt) {
  char *sql = sqlite3_mprintf(fmt, t->schema, t->name);
  int rc = sql ? sqlite3_exec(t->db, sql, NULL, NULL, NULL) : SQLITE_NOMEM;
  sqlite3_free(sql);
  return rc == SQLITE_OK || rc == SQLITE_NOMEM ? rc : vv_db_error(t, rc);
}

int vv_stmt(vv_table *t, int which, sqlite3_stmt **st) {
  char *sql;
  int rc;
  if ((*st = t->stmt[which])) {
    sqlite3_reset(*st);
    sqlite3_clear_bindings(*st);
    return SQLITE_OK;
  }
  sql = stmt_sql(t, which);
  rc = prepare(t, sql, SQLITE_PREPARE_PERSISTENT, st);
  sqlite3_free(sql);
  if (rc == SQLITE_OK) t->stmt[which] = *st;
  return rc;
}

int vv_stmt_prepare(vv_table *t, int which, sqlite3_stmt **st) {
  char *sql = stmt_sql(t, which);
  int rc = prepare(t, sql, 0, st);
  sqlite3_free(sql);
  return rc;
}

void vv_stmts_finalize(vv_table *t) {
  for (int i = 0; i < VV_STMT_COUNT; i++) {
    sqlite3_finalize(t->stmt[i]);
    t->stmt[i] = NULL;
  }
}

int vv_step_done(vv_table *t, sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? SQLITE_OK : vv_db_error(t, rc);
}

/* ---- chunks ---- */

static int open_blob(vv_table *t, sqlite3_blob **blob, const char *col, sqlite3_int64 chunk_id, int writable) {
  char *table;
  int rc;
  /* A handle expires when its row changes under it; then only a new one will do. */
  if (*blob) {
    if (sqlite3_blob_reopen(*blob, chunk_id) == SQLITE_OK) return SQLITE_OK;
    sqlite3_blob_close(*blob);
    *blob = NULL;
  }
  if (!(table = sqlite3_mprintf("%s_chunks", t->name))) return SQLITE_NOMEM;
  rc = sqlite3_blob_open(t->db, t->schema, table, col, chunk_id, writable, blob);
  sqlite3_free(table);
  if (rc != SQLITE_OK) {
    sl_vtab_error(&t->base, t->name, "cannot open %s of chunk %lld: %s", col, (long long)chunk_id,
                  sqlite3_errmsg(t->db));
    sqlite3_blob_close(*blob);
    *blob = NULL;
    return rc;
  }
  return SQLITE_OK;
}

/* The size a chunk's BLOB column must have. */
static size_t blob_size(const vv_table *t, const char *col) {
  const sl_chunk_layout *lay = &t->lay;
  if (!strcmp(col, "vectors")) return lay->vectors_bytes;
  if (!strncmp(col, "vectors", 7)) {  /* vectors<j>: another vector column */
    int j = atoi(col + 7);
    return j >= 1 && j < t->cfg.n_vecs ? t->xlay[j].vectors_bytes : 0;
  }
  if (!strcmp(col, "qvectors")) return lay->qvectors_bytes;
  if (!strcmp(col, "rowids")) return lay->rowids_bytes;
  if (!strcmp(col, "version")) return VV_VERSION_BYTES;
  return lay->validity_bytes;
}

int vv_blob_seek(vv_table *t, sqlite3_blob **blob, const char *col, sqlite3_int64 chunk_id,
                 int writable) {
  int rc = open_blob(t, blob, col, chunk_id, writable);
  /* Reads and writes go by offsets: a BLOB of another size is a damaged chunk. */
  if (rc == SQLITE_OK && (size_t)sqlite3_blob_bytes(*blob) != blob_size(t, col)) {
    sl_vtab_error(&t->base, t->name, "chunk %lld has a %d-byte %s BLOB, expected %zu (run semlite_vec_check)",
                  (long long)chunk_id, sqlite3_blob_bytes(*blob), col, blob_size(t, col));
    sqlite3_blob_close(*blob);
    *blob = NULL;
    return SQLITE_CORRUPT_VTAB;
  }
  return rc;
}

/* Reads (write 0) or writes n bytes at offset of column col of a chunk, through a
** handle of its own. */
static int blob_io(vv_table *t, const char *col, sqlite3_int64 chunk, void *data, size_t n, size_t offset,
                   int write) {
  sqlite3_blob *b = NULL;
  int rc = vv_blob_seek(t, &b, col, chunk, write);
  if (rc == SQLITE_OK && (rc = write ? sqlite3_blob_write(b, data, (int)n, (int)offset)
                                     : sqlite3_blob_read(b, data, (int)n, (int)offset)) != SQLITE_OK)
    vv_db_error(t, rc);
  sqlite3_blob_close(b);
  return rc;
}

int vv_chunk_read(vv_table *t, const char *col, sqlite3_int64 chunk, void *data, size_t n, size_t offset) {
  return blob_io(t, col, chunk, data, n, offset, 0);
}

/* Most writes go to the chunk changed last, so the search starts from the end. */
int vv_chunk_dirty(const vv_table *t, sqlite3_int64 chunk_id) {
  for (size_t i = t->n_dirty; i > 0; i--)
    if (t->dirty[i - 1] == chunk_id) return 1;
  return 0;
}

static int mark_dirty(vv_table *t, sqlite3_int64 chunk_id) {
  if (vv_chunk_dirty(t, chunk_id)) return SQLITE_OK;
  if (t->n_dirty == t->cap_dirty) {
    size_t cap = t->cap_dirty ? 2 * t->cap_dirty : 16;
    sqlite3_int64 *p = sqlite3_realloc64(t->dirty, cap * sizeof *p);
    if (!p) return SQLITE_NOMEM;
    t->dirty = p;
    t->cap_dirty = cap;
  }
  t->dirty[t->n_dirty++] = chunk_id;
  return SQLITE_OK;
}

void vv_chunks_clean(vv_table *t) {
  t->n_dirty = 0;
  if (t->vmemo_known) memset(t->vmemo_known, 0, t->n_vmemo);
}

int vv_chunk_write(vv_table *t, const char *col, sqlite3_int64 chunk, const void *data, size_t n,
                   size_t offset) {
  if (!vv_chunk_dirty(t, chunk)) {
    unsigned char version[VV_VERSION_BYTES];
    int rc;
    sqlite3_randomness(sizeof version, version);
    if ((rc = blob_io(t, "version", chunk, version, sizeof version, 0, 1)) != SQLITE_OK ||
        (rc = mark_dirty(t, chunk)) != SQLITE_OK)
      return rc;
  }
  return blob_io(t, col, chunk, (void *)data, n, offset, 1);
}

int vv_chunk_write_vector(vv_table *t, sqlite3_int64 chunk, size_t slot, const void *vec,
                          const unsigned char *qvec) {
  const sl_chunk_layout *lay = &t->lay;
  int rc = vv_chunk_write(t, "vectors", chunk, vec, lay->vec_bytes, slot * lay->vec_bytes);
  if (rc == SQLITE_OK && qvec)
    rc = vv_chunk_write(t, "qvectors", chunk, qvec, lay->qvec_bytes, sl_quant_vec_offset(lay, slot));
  if (rc == SQLITE_OK && qvec && lay->qparam_bytes)
    rc = vv_chunk_write(t, "qvectors", chunk, qvec + lay->qvec_bytes, lay->qparam_bytes,
                        sl_quant_param_offset(lay, slot));
  return rc;
}

int vv_chunk_write_rowid(vv_table *t, sqlite3_int64 chunk, size_t slot, sqlite3_int64 rowid) {
  unsigned char le[8];
  sl_rowid_put(le, rowid);
  return vv_chunk_write(t, "rowids", chunk, le, 8, slot * 8);
}

/* ---- slots and rows ---- */

int vv_slot_alloc(vv_table *t, sqlite3_int64 *chunk, size_t *slot, unsigned char *byte) {
  const sl_chunk_layout *lay = &t->lay;
  sqlite3_stmt *st;
  int rc;
  if ((rc = vv_stmt(t, VV_CHUNK_LAST, &st)) != SQLITE_OK) return rc;
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    const unsigned char *valid = sqlite3_column_blob(st, 1);
    if ((size_t)sqlite3_column_bytes(st, 1) != lay->validity_bytes) {
      rc = sl_vtab_error(&t->base, t->name,
                         "chunk %lld has a %d-byte validity BLOB, expected %zu (run semlite_vec_check)",
                         (long long)sqlite3_column_int64(st, 0), sqlite3_column_bytes(st, 1), lay->validity_bytes);
      sqlite3_reset(st);
      return rc;
    }
    *chunk = sqlite3_column_int64(st, 0);
    *slot = sl_bits_first_clear(valid, lay->cap);
    if (*slot < lay->cap) *byte = valid[*slot / 8];
    sqlite3_reset(st);
    if (*slot < lay->cap) return SQLITE_OK;
  } else {
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return vv_db_error(t, rc);
  }
  if ((rc = vv_stmt(t, VV_CHUNK_INSERT, &st)) != SQLITE_OK) return rc;
  sqlite3_bind_int64(st, 1, (sqlite3_int64)lay->validity_bytes);
  sqlite3_bind_int64(st, 2, (sqlite3_int64)lay->rowids_bytes);
  if (lay->quant != SL_QUANT_NONE) sqlite3_bind_int64(st, 3, (sqlite3_int64)lay->qvectors_bytes);
  sqlite3_bind_int64(st, 4, (sqlite3_int64)lay->vectors_bytes);
  for (int j = 1; j < t->cfg.n_vecs; j++) sqlite3_bind_int64(st, 4 + j, (sqlite3_int64)t->xlay[j].vectors_bytes);
  if ((rc = vv_step_done(t, st)) != SQLITE_OK) return rc;
  *chunk = sqlite3_last_insert_rowid(t->db);
  /* its random version is new; it stays this transaction's to change */
  if ((rc = mark_dirty(t, *chunk)) != SQLITE_OK) return rc;
  *slot = 0;
  *byte = 0;
  return SQLITE_OK;
}

int vv_slot_take(vv_table *t, sqlite3_int64 chunk, size_t slot, unsigned char byte) {
  byte |= (unsigned char)(1u << (slot & 7));
  return vv_chunk_write(t, "validity", chunk, &byte, 1, slot / 8);
}

int vv_slot_free(vv_table *t, sqlite3_int64 chunk, size_t slot) {
  const sl_chunk_layout *lay = &t->lay;
  unsigned char *valid = sqlite3_malloc64(lay->validity_bytes);
  int rc;
  if (!valid) return SQLITE_NOMEM;
  rc = vv_chunk_read(t, "validity", chunk, valid, lay->validity_bytes, 0);
  if (rc == SQLITE_OK) {
    sl_bit_set(valid, slot, 0);
    if (sl_bits_count(valid, lay->cap) == 0) {
      sqlite3_stmt *st;
      if ((rc = vv_stmt(t, VV_CHUNK_DELETE, &st)) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, chunk);
        rc = vv_step_done(t, st);
      }
    } else {
      rc = vv_chunk_write(t, "validity", chunk, valid + slot / 8, 1, slot / 8);
    }
  }
  sqlite3_free(valid);
  return rc;
}

int vv_row_locate(vv_table *t, sqlite3_int64 rowid, sqlite3_int64 *chunk, size_t *slot) {
  sqlite3_stmt *st;
  int rc;
  if ((rc = vv_stmt(t, VV_ROW_GET, &st)) != SQLITE_OK) return rc;
  sqlite3_bind_int64(st, 1, rowid);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    sqlite3_int64 off = sqlite3_column_int64(st, 2);
    *chunk = sqlite3_column_int64(st, 1);
    *slot = (size_t)off;
    sqlite3_reset(st);
    if (off < 0 || (size_t)off >= t->lay.cap)
      return sl_vtab_error(&t->base, t->name,
                           "row %lld has chunk_offset %lld, outside the chunk (run semlite_vec_check)",
                           (long long)rowid, (long long)off);
    return SQLITE_OK;
  }
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? SQLITE_DONE : vv_db_error(t, rc);
}

int vv_row_value(vv_table *t, sqlite3_int64 rowid, int col, sqlite3_value **out) {
  const vv_column *c = &t->cfg.cols[col];
  sqlite3_stmt *st;
  int rc;
  *out = NULL;
  if ((rc = vv_stmt(t, c->kind == VV_META ? VV_ROW_GET : VV_AUX_GET, &st)) != SQLITE_OK) return rc;
  sqlite3_bind_int64(st, 1, rowid);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *out = sqlite3_value_dup(sqlite3_column_value(st, c->kind == VV_META ? 3 + c->slot : 1 + c->slot));
  sqlite3_reset(st);
  if (rc == SQLITE_DONE)
    return sl_vtab_error(&t->base, t->name, "row %lld lacks its %s values (run semlite_vec_check)", (long long)rowid,
                         c->kind == VV_META ? "metadata" : "auxiliary");
  if (rc != SQLITE_ROW) return vv_db_error(t, rc);
  return *out ? SQLITE_OK : SQLITE_NOMEM;
}

/* ---- filtered scans of T_rowids ---- */

static const char *op_sql(int op) {
  switch (op) {
    case SQLITE_INDEX_CONSTRAINT_EQ: return "=";
    case SQLITE_INDEX_CONSTRAINT_GT: return ">";
    case SQLITE_INDEX_CONSTRAINT_LE: return "<=";
    case SQLITE_INDEX_CONSTRAINT_LT: return "<";
    case SQLITE_INDEX_CONSTRAINT_GE: return ">=";
    case SQLITE_INDEX_CONSTRAINT_NE: return "<>";
    case SQLITE_INDEX_CONSTRAINT_IS: return "IS";
    case SQLITE_INDEX_CONSTRAINT_ISNOT: return "IS NOT";
    case SQLITE_INDEX_CONSTRAINT_ISNULL: return "IS NULL";
    case SQLITE_INDEX_CONSTRAINT_ISNOTNULL: return "IS NOT NULL";
    case SQLITE_INDEX_CONSTRAINT_LIKE: return "LIKE";
    case SQLITE_INDEX_CONSTRAINT_GLOB: return "GLOB";
  }
  return "?";
}

/* Appends " WHERE ..." for the filters, with ? placeholders, to s. */
static void filters_sql(const vv_table *t, const vv_filter *f, int n, sqlite3_str *s) {
  for (int i = 0; i < n; i++, f++) {
    sqlite3_str_appendall(s, i ? " AND " : " WHERE ");
    if (f->col < 0) sqlite3_str_appendall(s, "rowid");
    else sqlite3_str_appendf(s, "m%d", t->cfg.cols[f->col].slot);
    /* On the column, the collation governs =, <, IN alike. */
    if (f->coll[0]) sqlite3_str_appendf(s, " COLLATE \"%w\"", f->coll);
    if (f->in) {
      sqlite3_value *v;
      int rc, k = 0;
      sqlite3_str_appendall(s, " IN (");
      for (rc = sqlite3_vtab_in_first(f->arg, &v); rc == SQLITE_OK && v; rc = sqlite3_vtab_in_next(f->arg, &v))
        sqlite3_str_appendall(s, k++ ? ", ?" : "?");
      sqlite3_str_appendall(s, ")");
    } else if (f->op == SQLITE_INDEX_CONSTRAINT_ISNULL || f->op == SQLITE_INDEX_CONSTRAINT_ISNOTNULL) {
      sqlite3_str_appendf(s, " %s", op_sql(f->op));
    } else {
      sqlite3_str_appendf(s, " %s ?", op_sql(f->op));
    }
  }
}

/* Binds what filters_sql placed. */
static int filters_bind(sqlite3_stmt *st, const vv_filter *f, int n) {
  int p = 1, rc = SQLITE_OK;
  for (int i = 0; i < n && rc == SQLITE_OK; i++, f++) {
    if (f->in) {
      sqlite3_value *v;
      int r;
      for (r = sqlite3_vtab_in_first(f->arg, &v); r == SQLITE_OK && v && rc == SQLITE_OK;
           r = sqlite3_vtab_in_next(f->arg, &v))
        rc = sqlite3_bind_value(st, p++, v);
      if (rc == SQLITE_OK && r != SQLITE_OK && r != SQLITE_DONE) rc = r;
    } else if (f->op != SQLITE_INDEX_CONSTRAINT_ISNULL && f->op != SQLITE_INDEX_CONSTRAINT_ISNOTNULL) {
      rc = sqlite3_bind_value(st, p++, f->arg);
    }
  }
  return rc;
}

int vv_rowids_query(vv_table *t, int with_meta, const vv_filter *f, int n, const char *tail,
                    sqlite3_stmt **st) {
  sqlite3_str *s = sqlite3_str_new(NULL);
  row_table r = rowids_table(t);
  char *sql;
  int rc;
  select_sql(s, t, &r, with_meta);
  filters_sql(t, f, n, s);
  sqlite3_str_appendall(s, tail);
  sql = sqlite3_str_finish(s);
  rc = prepare(t, sql, 0, st);
  sqlite3_free(sql);
  if (rc == SQLITE_OK && (rc = filters_bind(*st, f, n)) != SQLITE_OK) {
    rc = vv_db_error(t, rc);
    sqlite3_finalize(*st);
    *st = NULL;
  }
  return rc;
}

/* ---- a new table ---- */

int vv_shadow_create(sqlite3 *db, const vv_config *cfg, const char *schema, const char *name, sl_err *err) {
  char *sql = vv_config_shadow_sql(cfg, schema, name);
  sqlite3_stmt *st = NULL;
  vv_fact facts[VV_N_FACTS];
  int rc = sql ? sqlite3_exec(db, sql, NULL, NULL, NULL) : SQLITE_NOMEM;
  sqlite3_free(sql);
  if (rc == SQLITE_OK) {
    sql = sqlite3_mprintf("INSERT INTO \"%w\".\"%w_info\"(key, value) VALUES (?1, ?2)", schema, name);
    rc = sql ? sqlite3_prepare_v2(db, sql, -1, &st, NULL) : SQLITE_NOMEM;
    sqlite3_free(sql);
  }
  vv_config_facts(cfg, facts);
  for (int i = 0; i < VV_N_FACTS && rc == SQLITE_OK; i++) {
    sqlite3_bind_text(st, 1, facts[i].key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, facts[i].value, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    sqlite3_reset(st);
  }
  if (rc == SQLITE_OK && cfg->n_vecs > 1) {  /* the other vector columns */
    char *more = vv_config_vectors_fact(cfg);
    sqlite3_bind_text(st, 1, "vectors", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, more, -1, SQLITE_STATIC);
    rc = more && sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    sqlite3_free(more);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_OK) return sl_fail(err, "cannot create the shadow tables: %s", sqlite3_errmsg(db));
  if (cfg->ivf) return vv_ivf_create(db, cfg, schema, name, err);
  return cfg->hnsw ? vv_hnsw_create(db, cfg, schema, name, err) : SL_OK;
}
