/*
** write.c: xUpdate of semlite_vec (write.h): INSERT (rowid given or chosen), INSERT OR
** REPLACE, UPDATE (values and rowid), DELETE, and embed-on-insert with its queue of
** rows waiting for their vectors. The shadow tables are written through store.h.
**
** Every change is SQL on the shadow tables plus incremental BLOB writes into a chunk's
** row, inside the statement's own transaction: a failed statement, ROLLBACK or
** ROLLBACK TO undoes vectors and metadata together. A row's slot is taken from the last
** chunk (its first free slot) or a new chunk; a chunk whose last row goes is deleted.
** Nothing that can fail for a user-visible reason (types, sizes, embedding, conflicts)
** happens after the first write, so a refused row leaves nothing behind.
**
** Embed-on-insert is batched: an INSERT whose vector comes from embed_from writes the
** row and reserves its slot at once, and queues the text (t->pending). The queue is
** embedded in one sl_model_embed call, and the vectors written, when it holds
** VV_EMBED_BATCH rows or before anything could see those slots: a scan of the table
** (xFilter), any other write to it, a savepoint (statements open one), and xSync before
** the commit. ROLLBACK and ROLLBACK TO drop the queue with the rows. A text that cannot
** be embedded at all (NULL, not TEXT, model not loaded) is refused by its INSERT; an
** engine failure in a batch fails the statement or COMMIT that flushes it.
** UPDATE re-embeds its one row at once.
*/
#include <stdio.h>
#include <string.h>

#include "../../ops/infer.h"
#include "../../ops/limits.h"
#include "../../ops/progress.h"
#include "../../vector/quant.h"
#include "config.h"
#include "identity.h"
#include "index_hnsw.h"
#include "index_ivf.h"
#include "store.h"
#include "write.h"

/* ---- arguments ---- */

/* A rowid from an xUpdate argument (SQLite has refused most non-integers already). */
static int rowid_arg(vv_table *t, sqlite3_value *v, sqlite3_int64 *out) {
  if (sqlite3_value_numeric_type(v) == SQLITE_INTEGER) {
    *out = sqlite3_value_int64(v);
    return SQLITE_OK;
  }
  return sl_vtab_error(&t->base, t->name, "rowid must be an INTEGER, got %s", sl_sql_type_name(v));
}

/* ---- embedding ---- */

/* Refuses a text embed_from cannot embed. */
static int check_text(vv_table *t, sqlite3_value *text) {
  const vv_config *cfg = &t->cfg;
  const char *col = cfg->cols[cfg->embed_from].name;
  if (sqlite3_value_type(text) == SQLITE_NULL)
    return sl_vtab_error(&t->base, t->name,
                         "cannot embed a NULL %s (embed_from=%s): give it a text or give %s a vector", col, col,
                         cfg->cols[cfg->vec_col].name);
  if (sqlite3_value_type(text) != SQLITE_TEXT)
    return sl_vtab_error(&t->base, t->name, "cannot embed %s (embed_from=%s): it must be TEXT, got %s", col, col,
                         sl_sql_type_name(text));
  return SQLITE_OK;
}

/* Checks model= is a loaded embedding model of the column's size, or sets the table's
** error. */
int vv_model_check(vv_table *t) {
  const vv_config *cfg = &t->cfg;
  size_t width;
  sl_err err;
  /* The model the table recorded at CREATE (identity.c): the folder to load, or a refusal
  ** of another model under that name. */
  int rc = vv_identity_check(t);
  if (rc != SQLITE_OK) return rc;
  if (sl_op_model_width(cfg->model, SL_KIND_EMBED, &width, &err))
    return sl_vtab_error(&t->base, t->name, "model: %s", err.msg);
  if (width != cfg->dims)
    return sl_vtab_error(&t->base, t->name, "model '%s' makes %zu-dimensional vectors but %s is float[%zu]",
                         cfg->model, width, cfg->cols[cfg->vec_col].name, cfg->dims);
  return SQLITE_OK;
}

/* Embeds n texts into out (n rows of dims floats): one request, cached as embed() when
** the connection's cache is on. An error that ended the transaction keeps its code. */
static int embed_texts(vv_table *t, size_t n, const char *const *texts, const size_t *lens, float *out) {
  sl_err err;
  int rc = vv_model_check(t);
  if (rc != SQLITE_OK) return rc;
  if (sl_op_embed_rows(t->flushing == 2 ? sl_cache_l2_memory_only(t->cache) : sl_cache_l2(t->cache), t->cfg.model, t->cfg.dims, n, texts, lens, out, &err)) {
    rc = sl_vtab_error(&t->base, t->name, "embedding %s: %s", t->cfg.cols[t->cfg.embed_from].name, err.msg);
    return err.code && rc != SQLITE_NOMEM ? err.code : rc;
  }
  return SQLITE_OK;
}

static int embed_text(vv_table *t, sqlite3_value *text, float *out) {
  const char *s;
  size_t len;
  int rc = check_text(t, text);
  if (rc != SQLITE_OK) return rc;
  if (!(s = (const char *)sqlite3_value_text(text))) return SQLITE_NOMEM;
  len = (size_t)sqlite3_value_bytes(text);
  return embed_texts(t, 1, &s, &len, out);
}

/* ---- the indexes (index_hnsw.h, index_ivf.h): each does nothing unless declared ---- */

static int index_insert(vv_table *t, sqlite3_int64 rowid, sqlite3_int64 chunk, size_t slot, const float *vec) {
  int rc = vv_hnsw_insert(t, rowid, chunk, slot, vec);
  return rc == SQLITE_OK ? vv_ivf_insert(t, rowid, vec) : rc;
}

static int index_delete(vv_table *t, sqlite3_int64 rowid) {
  int rc = vv_hnsw_delete(t, rowid);
  return rc == SQLITE_OK ? vv_ivf_delete(t, rowid) : rc;
}

static int index_rename(vv_table *t, sqlite3_int64 old_rowid, sqlite3_int64 rowid) {
  int rc = vv_hnsw_rename(t, old_rowid, rowid);
  return rc == SQLITE_OK ? vv_ivf_rename(t, old_rowid, rowid) : rc;
}

/* ---- the new vector of a row ---- */

typedef struct new_vector {
  unsigned char *vec;    /* lay.vec_bytes */
  unsigned char *qvec;   /* lay.qvec_bytes + qparam_bytes, or NULL without a quantizer */
} new_vector;

static int vector_alloc(vv_table *t, new_vector *nv) {
  nv->vec = sqlite3_malloc64(t->lay.vec_bytes);
  nv->qvec = t->cfg.quant != SL_QUANT_NONE ? sqlite3_malloc64(t->lay.qvec_bytes + t->lay.qparam_bytes) : NULL;
  return nv->vec && (nv->qvec || t->cfg.quant == SL_QUANT_NONE) ? SQLITE_OK : SQLITE_NOMEM;
}

static void vector_free(new_vector *nv) {
  sqlite3_free(nv->vec);
  sqlite3_free(nv->qvec);
}

/* Fills nv from the vector column's value, or from the embed_from text when the value
** is NULL (or v is NULL: no value given) and the table embeds. */
static int vector_from(vv_table *t, sqlite3_value *v, sqlite3_value *text, new_vector *nv) {
  const vv_config *cfg = &t->cfg;
  sl_err err;
  if (!v || sqlite3_value_type(v) == SQLITE_NULL) {
    int rc;
    if (cfg->embed_from < 0)
      return sl_vtab_error(&t->base, t->name, "%s must not be NULL (give a %s[%zu] vector)",
                           cfg->cols[cfg->vec_col].name, sl_knn_type_name(cfg->type), cfg->dims);
    if ((rc = embed_text(t, text, (float *)(void *)nv->vec)) != SQLITE_OK) return rc;
  } else if (sl_sql_vec_read_exact(v, cfg->type, cfg->dims, cfg->cols[cfg->vec_col].name, nv->vec, &err)) {
    return sl_vtab_fail(&t->base, t->name, &err);
  }
  if (nv->qvec) sl_quantize(&t->lay, (const float *)(void *)nv->vec, nv->qvec);
  return SQLITE_OK;
}

/* ---- the other vector columns ---- */

/* Reads the values of the vector columns after the first into bufs[j] (sqlite3_malloc'd;
** left NULL for a column an UPDATE does not change). Every vector is required. */
static int extras_read(vv_table *t, sqlite3_value **cols, unsigned char **bufs) {
  const vv_config *cfg = &t->cfg;
  sl_err err;
  for (int j = 1; j < cfg->n_vecs; j++) {
    const vv_vector *v = &cfg->vecs[j];
    sqlite3_value *val = cols[v->col];
    if (sqlite3_value_nochange(val)) continue;
    if (sqlite3_value_type(val) == SQLITE_NULL)
      return sl_vtab_error(&t->base, t->name, "%s must not be NULL (give a %s[%zu] vector)", cfg->cols[v->col].name,
                           sl_knn_type_name(v->type), v->dims);
    if (!(bufs[j] = sqlite3_malloc64(t->xlay[j].vec_bytes))) return SQLITE_NOMEM;
    if (sl_sql_vec_read_exact(val, v->type, v->dims, cfg->cols[v->col].name, bufs[j], &err))
      return sl_vtab_fail(&t->base, t->name, &err);
  }
  return SQLITE_OK;
}

static int extras_write(vv_table *t, sqlite3_int64 chunk, size_t slot, unsigned char **bufs) {
  int rc = SQLITE_OK;
  for (int j = 1; j < t->cfg.n_vecs && rc == SQLITE_OK; j++) {
    char col[24];
    if (!bufs[j]) continue;
    snprintf(col, sizeof col, "vectors%d", j);
    rc = vv_chunk_write(t, col, chunk, bufs[j], t->xlay[j].vec_bytes, slot * t->xlay[j].vec_bytes);
  }
  return rc;
}

static void extras_free(unsigned char **bufs) {
  for (int j = 0; j < VV_MAX_VECTORS; j++) sqlite3_free(bufs[j]);
}

/* ---- deferred embedding ---- */

static int vv_flush_now(vv_table *t);

void vv_progress_end(vv_table *t) {
  sl_progress_end(t->progress);
  t->progress = 0;
  t->statement_rows = 0;
}

void vv_discard(vv_table *t) {
  for (int i = 0; i < t->n_pending; i++) sqlite3_free(t->pending[i].text);
  t->n_pending = 0;
}

/* cached: the embedding may use the connection's inference cache in the database. Not
** while SQLite commits (xSync) or opens a savepoint (xSavepoint, which the cache's own
** nested writes can cause): a nested statement there can end the transaction under a
** COMMIT that then reports success (faults.oom found it), so those flushes use the
** process's memory only (sl_cache_l2_memory_only). A flush never re-enters itself. */
static int flush(vv_table *t, int cached) {
  int rc;
  if (t->flushing) return SQLITE_OK;
  t->flushing = cached ? 1 : 2;
  rc = vv_flush_now(t);
  t->flushing = 0;
  return rc;
}

int vv_flush(vv_table *t) { return flush(t, 1); }

/* Called at each savepoint (a statement's start inside a transaction) and commit: a new
** statement starts counting its rows (statement_rows) from 0. */
int vv_flush_uncached(vv_table *t) {
  t->statement_rows = 0;
  return flush(t, 0);
}

static int vv_flush_now(vv_table *t) {
  const size_t n = (size_t)t->n_pending, dims = t->cfg.dims;
  const char **texts;
  size_t *lens;
  float *out;
  new_vector nv = {0};
  int rc = SQLITE_OK;
  if (n == 0) return SQLITE_OK;
  texts = sqlite3_malloc64(n * sizeof *texts);
  lens = sqlite3_malloc64(n * sizeof *lens);
  out = sqlite3_malloc64(n * dims * sizeof *out);
  if (t->cfg.quant != SL_QUANT_NONE) nv.qvec = sqlite3_malloc64(t->lay.qvec_bytes + t->lay.qparam_bytes);
  if (!texts || !lens || !out || (t->cfg.quant != SL_QUANT_NONE && !nv.qvec)) rc = SQLITE_NOMEM;
  for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
    texts[i] = t->pending[i].text;
    lens[i] = t->pending[i].len;
  }
  if (rc == SQLITE_OK) rc = embed_texts(t, n, texts, lens, out);
  for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
    nv.vec = (unsigned char *)(out + i * dims);
    if (nv.qvec) sl_quantize(&t->lay, out + i * dims, nv.qvec);
    rc = vv_chunk_write_vector(t, t->pending[i].chunk, t->pending[i].slot, nv.vec, nv.qvec);
    if (rc == SQLITE_OK)
      rc = index_insert(t, t->pending[i].rowid, t->pending[i].chunk, t->pending[i].slot, out + i * dims);
  }
  if (rc == SQLITE_OK) {
    sl_progress_add(t->progress, (int64_t)n, 0);
    vv_discard(t);
  }
  sqlite3_free(texts);
  sqlite3_free(lens);
  sqlite3_free(out);
  sqlite3_free(nv.qvec);
  return rc;
}

/* On a replicated database a statement embeds at most replicated_max_rows rows: the
** leader runs it whole before it replicates, and one that outlives the election timeout
** loses leadership and is rolled back (docs/deployment.md). */
static int check_statement_rows(vv_table *t) {
  long long max = sl_limit_get(SL_LIMIT_REPLICATED_MAX_ROWS);
  const char *vfs;
  if (max == 0 || ++t->statement_rows <= max || !sl_sql_replicated(t->db, t->schema, &vfs)) return SQLITE_OK;
  return sl_vtab_error(&t->base, t->name,
                       "one statement embeds at most %lld rows on a replicated database (VFS '%s'): the "
                       "replicated_max_rows limit; insert in smaller statements or raise it in semlite_limits",
                       max, vfs);
}

/* Queues a row's text; a full queue is embedded at once. */
static int defer(vv_table *t, sqlite3_int64 rowid, sqlite3_int64 chunk, size_t slot, sqlite3_value *text) {
  vv_pending *p;
  if (!t->pending && !(t->pending = sqlite3_malloc64(VV_EMBED_BATCH * sizeof *t->pending))) return SQLITE_NOMEM;
  p = &t->pending[t->n_pending];
  p->len = (size_t)sqlite3_value_bytes(text);
  if (!(p->text = sqlite3_malloc64(p->len + 1))) return SQLITE_NOMEM;
  memcpy(p->text, sqlite3_value_text(text), p->len + 1);
  p->rowid = rowid;
  p->chunk = chunk;
  p->slot = slot;
  /* One semlite_progress job per transaction that embeds: done = rows embedded, total =
  ** rows handed in so far (ended by vv_progress_end at commit or rollback). */
  if (!t->progress) t->progress = sl_progress_begin("embed-on-insert", t->name, 0);
  sl_progress_add(t->progress, 0, 1);
  return ++t->n_pending == VV_EMBED_BATCH ? vv_flush(t) : SQLITE_OK;
}

/* ---- metadata and auxiliary values ---- */

static int check_values(vv_table *t, sqlite3_value **cols) {
  sl_err err;
  for (int i = 0; i < t->cfg.n_cols; i++)
    if (t->cfg.cols[i].kind == VV_META && vv_check_meta(&t->cfg.cols[i], cols[i], &err))
      return sl_vtab_fail(&t->base, t->name, &err);
    else if (t->cfg.vec0 && vv_check_aux(&t->cfg.cols[i], cols[i], &err)) {
      /* sqlite-vec's exact text and code, which its users compare with */
      sqlite3_free(t->base.zErrMsg);
      t->base.zErrMsg = sqlite3_mprintf("%s", err.msg);
      return t->base.zErrMsg ? SQLITE_CONSTRAINT : SQLITE_NOMEM;
    }
  return SQLITE_OK;
}

/* Binds the metadata values to ?first.. in slot order. */
static void bind_meta(vv_table *t, sqlite3_stmt *st, int first, sqlite3_value **cols) {
  for (int i = 0; i < t->cfg.n_cols; i++)
    if (t->cfg.cols[i].kind == VV_META) sqlite3_bind_value(st, first + t->cfg.cols[i].slot, cols[i]);
}

/* ---- the operations ---- */

static int delete_row(vv_table *t, sqlite3_int64 rowid) {
  sqlite3_int64 chunk = 0;
  size_t slot = 0;
  sqlite3_stmt *st;
  int rc = vv_row_locate(t, rowid, &chunk, &slot);
  if (rc == SQLITE_DONE) return SQLITE_OK;
  if (rc != SQLITE_OK) return rc;
  if ((rc = vv_slot_free(t, chunk, slot)) != SQLITE_OK || (rc = index_delete(t, rowid)) != SQLITE_OK ||
      (rc = vv_stmt(t, VV_ROW_DELETE, &st)) != SQLITE_OK)
    return rc;
  sqlite3_bind_int64(st, 1, rowid);
  if ((rc = vv_step_done(t, st)) != SQLITE_OK || t->cfg.n_aux == 0) return rc;
  if ((rc = vv_stmt(t, VV_AUX_DELETE, &st)) != SQLITE_OK) return rc;
  sqlite3_bind_int64(st, 1, rowid);
  return vv_step_done(t, st);
}

/* Whether a rowid is taken; if it is, only REPLACE may go on (it deletes the old row
** with delete_row once nothing else can fail); other modes get SQLITE_CONSTRAINT and
** SQLite applies ABORT, FAIL, ROLLBACK or IGNORE. */
static int check_conflict(vv_table *t, sqlite3_int64 rowid, int *taken) {
  sqlite3_int64 chunk = 0;
  size_t slot = 0;
  int rc = vv_row_locate(t, rowid, &chunk, &slot);
  *taken = rc == SQLITE_OK;
  if (rc == SQLITE_DONE) return SQLITE_OK;
  if (rc != SQLITE_OK || sqlite3_vtab_on_conflict(t->db) == SQLITE_REPLACE) return rc;
  sl_vtab_error(&t->base, t->name, "UNIQUE constraint failed: %s.rowid (%lld)", t->name, (long long)rowid);
  return SQLITE_CONSTRAINT;
}

/* vec0's text primary key of a new or updated row (self: the row's own rowid, or -1):
** it must be given, and a row that has it already is a conflict, or with REPLACE the row
** to delete (*other, else -1). */
static int check_text_key(vv_table *t, sqlite3_value *key, sqlite3_int64 self, sqlite3_int64 *other) {
  const char *name = t->cfg.cols[t->cfg.text_key].name;
  sqlite3_stmt *st;
  int rc;
  *other = -1;
  if (sqlite3_value_type(key) == SQLITE_NULL)
    return sl_vtab_error(&t->base, t->name, "%s must not be NULL (it is the text primary key)", name);
  if ((rc = vv_stmt(t, VV_TEXT_KEY_GET, &st)) != SQLITE_OK) return rc;
  sqlite3_bind_value(st, 1, key);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *other = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return vv_db_error(t, rc);
  if (*other == self) *other = -1;
  if (*other < 0 || sqlite3_vtab_on_conflict(t->db) == SQLITE_REPLACE) return SQLITE_OK;
  sl_vtab_error(&t->base, t->name, "UNIQUE constraint failed: %s.%s ('%s')", t->name, name,
                (const char *)sqlite3_value_text(key));
  return SQLITE_CONSTRAINT;
}

static int insert_row(vv_table *t, sqlite3_value *rowid_v, sqlite3_value **cols, sqlite3_int64 *out) {
  const vv_config *cfg = &t->cfg;
  new_vector nv = {0};
  sqlite3_int64 rowid = 0, chunk = 0, key_owner = -1;
  size_t slot = 0;
  unsigned char byte = 0, *extras[VV_MAX_VECTORS] = {0};
  sqlite3_stmt *st;
  int has_rowid = sqlite3_value_type(rowid_v) != SQLITE_NULL, taken = 0, rc;
  int deferred = cfg->embed_from >= 0 && sqlite3_value_type(cols[cfg->vec_col]) == SQLITE_NULL;

  for (int h = cfg->n_cols; h < cfg->n_cols + 2; h++)
    if (sqlite3_value_type(cols[h]) != SQLITE_NULL)
      return sl_vtab_error(&t->base, t->name, "%s is computed by k-NN queries and cannot be inserted",
                           h == cfg->n_cols ? "distance" : "k");
  if (has_rowid && (rc = rowid_arg(t, rowid_v, &rowid)) != SQLITE_OK) return rc;
  if ((rc = check_values(t, cols)) != SQLITE_OK) return rc;
  if (has_rowid && (rc = check_conflict(t, rowid, &taken)) != SQLITE_OK) return rc;
  if (cfg->text_key >= 0 && (rc = check_text_key(t, cols[cfg->text_key], -1, &key_owner)) != SQLITE_OK) return rc;
  if ((rc = extras_read(t, cols, extras)) != SQLITE_OK) goto done;
  if (deferred) {
    /* What would make the batch fail for this row is checked now. */
    if ((rc = check_text(t, cols[cfg->embed_from])) != SQLITE_OK || (rc = vv_model_check(t)) != SQLITE_OK ||
        (rc = check_statement_rows(t)) != SQLITE_OK)
      goto done;
  } else if ((rc = vector_alloc(t, &nv)) != SQLITE_OK || (rc = vector_from(t, cols[cfg->vec_col], NULL, &nv)) != SQLITE_OK) {
    goto done;
  }
  /* The row REPLACE removes may itself be waiting for its vector. */
  if (taken && ((rc = vv_flush(t)) != SQLITE_OK || (rc = delete_row(t, rowid)) != SQLITE_OK)) goto done;
  if (key_owner >= 0 && key_owner != rowid && ((rc = vv_flush(t)) != SQLITE_OK || (rc = delete_row(t, key_owner)) != SQLITE_OK))
    goto done;
  if ((rc = vv_slot_alloc(t, &chunk, &slot, &byte)) != SQLITE_OK) goto done;

  if ((rc = vv_stmt(t, VV_ROW_INSERT, &st)) != SQLITE_OK) goto done;
  if (has_rowid) sqlite3_bind_int64(st, 1, rowid);
  sqlite3_bind_int64(st, 2, chunk);
  sqlite3_bind_int64(st, 3, (sqlite3_int64)slot);
  bind_meta(t, st, 4, cols);
  if ((rc = vv_step_done(t, st)) != SQLITE_OK) goto done;
  if (!has_rowid) rowid = sqlite3_last_insert_rowid(t->db);
  if (cfg->n_aux) {
    if ((rc = vv_stmt(t, VV_AUX_INSERT, &st)) != SQLITE_OK) goto done;
    sqlite3_bind_int64(st, 1, rowid);
    for (int i = 0; i < cfg->n_cols; i++)
      if (cfg->cols[i].kind == VV_AUX) sqlite3_bind_value(st, 2 + cfg->cols[i].slot, cols[i]);
    if ((rc = vv_step_done(t, st)) != SQLITE_OK) goto done;
  }
  if ((deferred || (rc = vv_chunk_write_vector(t, chunk, slot, nv.vec, nv.qvec)) == SQLITE_OK) &&
      (rc = extras_write(t, chunk, slot, extras)) == SQLITE_OK &&
      (rc = vv_chunk_write_rowid(t, chunk, slot, rowid)) == SQLITE_OK &&
      (rc = vv_slot_take(t, chunk, slot, byte)) == SQLITE_OK)
    rc = deferred ? defer(t, rowid, chunk, slot, cols[cfg->embed_from])
                  : index_insert(t, rowid, chunk, slot, (const float *)(void *)nv.vec);
  *out = rowid;
done:
  vector_free(&nv);
  extras_free(extras);
  return rc;
}

/* Whether UPDATE gave the embed_from column a new text: re-embed then. */
static int text_changed(vv_table *t, sqlite3_int64 rowid, sqlite3_value *text, int *changed) {
  sqlite3_value *old;
  int rc;
  *changed = 0;
  if (sqlite3_value_nochange(text)) return SQLITE_OK;
  if ((rc = vv_row_value(t, rowid, t->cfg.embed_from, &old)) != SQLITE_OK) return rc;
  *changed = sqlite3_value_type(old) != sqlite3_value_type(text) ||
             sqlite3_value_bytes(old) != sqlite3_value_bytes(text) ||
             (sqlite3_value_type(text) == SQLITE_TEXT &&
              memcmp(sqlite3_value_text(old), sqlite3_value_text(text), (size_t)sqlite3_value_bytes(text)) != 0);
  sqlite3_value_free(old);
  return SQLITE_OK;
}

static int update_aux(vv_table *t, sqlite3_int64 old_rowid, sqlite3_int64 rowid, sqlite3_value **cols) {
  const vv_config *cfg = &t->cfg;
  sqlite3_value **vals = sqlite3_malloc64((size_t)cfg->n_cols * sizeof *vals);
  sqlite3_stmt *st;
  int rc = SQLITE_OK, any = old_rowid != rowid;
  if (!vals) return SQLITE_NOMEM;
  memset(vals, 0, (size_t)cfg->n_cols * sizeof *vals);
  for (int i = 0; i < cfg->n_cols; i++)
    if (cfg->cols[i].kind == VV_AUX && !sqlite3_value_nochange(cols[i])) any = 1;
  for (int i = 0; any && i < cfg->n_cols && rc == SQLITE_OK; i++)
    if (cfg->cols[i].kind == VV_AUX && sqlite3_value_nochange(cols[i])) rc = vv_row_value(t, old_rowid, i, &vals[i]);
  if (any && rc == SQLITE_OK) {
    if ((rc = vv_stmt(t, VV_AUX_UPDATE, &st)) == SQLITE_OK) {
      sqlite3_bind_int64(st, 1, old_rowid);
      sqlite3_bind_int64(st, 2, rowid);
      for (int i = 0; i < cfg->n_cols; i++)
        if (cfg->cols[i].kind == VV_AUX) sqlite3_bind_value(st, 3 + cfg->cols[i].slot, vals[i] ? vals[i] : cols[i]);
      rc = vv_step_done(t, st);
    }
  }
  for (int i = 0; i < cfg->n_cols; i++) sqlite3_value_free(vals[i]);
  sqlite3_free(vals);
  return rc;
}

static int update_row(vv_table *t, sqlite3_int64 old_rowid, sqlite3_value *rowid_v, sqlite3_value **cols) {
  const vv_config *cfg = &t->cfg;
  sqlite3_value *vec = cols[cfg->vec_col];
  new_vector nv = {0};
  sqlite3_int64 rowid = 0, chunk = 0, key_owner = -1;   /* rowid: as in vv_update */
  size_t slot = 0;
  sqlite3_stmt *st;
  unsigned char *extras[VV_MAX_VECTORS] = {0};
  int rc, new_vec = 0, taken = 0;

  if ((rc = rowid_arg(t, rowid_v, &rowid)) != SQLITE_OK || (rc = check_values(t, cols)) != SQLITE_OK) return rc;
  if ((rc = vv_row_locate(t, old_rowid, &chunk, &slot)) != SQLITE_OK)
    return rc == SQLITE_DONE ? sl_vtab_error(&t->base, t->name, "no row %lld to update", (long long)old_rowid) : rc;
  if (rowid != old_rowid && (rc = check_conflict(t, rowid, &taken)) != SQLITE_OK) return rc;
  if (cfg->text_key >= 0 && (rc = check_text_key(t, cols[cfg->text_key], old_rowid, &key_owner)) != SQLITE_OK)
    return rc;
  if (!sqlite3_value_nochange(vec)) {
    new_vec = 1;
  } else if (cfg->embed_from >= 0 &&
             (rc = text_changed(t, old_rowid, cols[cfg->embed_from], &new_vec)) != SQLITE_OK) {
    return rc;
  }
  if (new_vec) {
    sqlite3_value *text = NULL;
    /* A NULL vector re-embeds the text: the new one, or the stored one if unchanged. */
    if (cfg->embed_from >= 0 && sqlite3_value_nochange(cols[cfg->embed_from]) &&
        (rc = vv_row_value(t, old_rowid, cfg->embed_from, &text)) != SQLITE_OK)
      return rc;
    if ((rc = vector_alloc(t, &nv)) == SQLITE_OK)
      rc = vector_from(t, sqlite3_value_nochange(vec) ? NULL : vec,
                       cfg->embed_from >= 0 ? (text ? text : cols[cfg->embed_from]) : NULL, &nv);
    sqlite3_value_free(text);
    if (rc != SQLITE_OK) goto done;
  }
  if ((rc = extras_read(t, cols, extras)) != SQLITE_OK) goto done;
  if (taken && (rc = delete_row(t, rowid)) != SQLITE_OK) goto done;
  if (key_owner >= 0 && key_owner != rowid && (rc = delete_row(t, key_owner)) != SQLITE_OK) goto done;

  if ((rc = vv_stmt(t, VV_ROW_UPDATE, &st)) != SQLITE_OK) goto done;
  sqlite3_bind_int64(st, 1, old_rowid);
  sqlite3_bind_int64(st, 2, rowid);
  bind_meta(t, st, 3, cols);
  if ((rc = vv_step_done(t, st)) != SQLITE_OK) goto done;
  if (cfg->n_aux && (rc = update_aux(t, old_rowid, rowid, cols)) != SQLITE_OK) goto done;
  if (new_vec && (rc = vv_chunk_write_vector(t, chunk, slot, nv.vec, nv.qvec)) != SQLITE_OK) goto done;
  /* the index: a new vector is a new node; a new rowid alone renames the node */
  if (new_vec) {
    if ((rc = index_delete(t, old_rowid)) != SQLITE_OK ||
        (rc = index_insert(t, rowid, chunk, slot, (const float *)(void *)nv.vec)) != SQLITE_OK)
      goto done;
  } else if (rowid != old_rowid && (rc = index_rename(t, old_rowid, rowid)) != SQLITE_OK) {
    goto done;
  }
  if ((rc = extras_write(t, chunk, slot, extras)) != SQLITE_OK) goto done;
  if (rowid != old_rowid) rc = vv_chunk_write_rowid(t, chunk, slot, rowid);
done:
  vector_free(&nv);
  extras_free(extras);
  return rc;
}

/* The new rowid of an INSERT or UPDATE: vec0's key column (`rowid` or `id`) when it is
** given a value, else SQLite's rowid argument. */
static sqlite3_value *new_rowid(vv_table *t, sqlite3_value *rowid_v, sqlite3_value **cols) {
  sqlite3_value *key = t->cfg.key_col >= 0 ? cols[t->cfg.key_col] : NULL;
  if (key && !sqlite3_value_nochange(key) && sqlite3_value_type(key) != SQLITE_NULL) return key;
  return rowid_v;
}

int vv_update(sqlite3_vtab *vtab, int argc, sqlite3_value **argv, sqlite3_int64 *out_rowid) {
  vv_table *t = (vv_table *)vtab;
  sqlite3_int64 rowid = 0;   /* rowid_arg sets it; gcc -O2 cannot tell once SQLITE_CORE inlines more */
  int rc;
  /* INSERT INTO t(t) VALUES ('command'), as in sqlite-vec */
  if ((t->cfg.hnsw || t->cfg.ivf) && argc > 2 + VV_COL_CMD(&t->cfg) && sqlite3_value_type(argv[0]) == SQLITE_NULL &&
      sqlite3_value_type(argv[2 + VV_COL_CMD(&t->cfg)]) != SQLITE_NULL) {
    sqlite3_value *cmd = argv[2 + VV_COL_CMD(&t->cfg)];
    if (sqlite3_value_type(cmd) != SQLITE_TEXT)
      return sl_vtab_error(&t->base, t->name, "a command must be TEXT, got %s", sl_sql_type_name(cmd));
    if ((rc = vv_flush(t)) != SQLITE_OK) return rc;
    if (t->cfg.ivf) return vv_ivf_command(t, (const char *)sqlite3_value_text(cmd), argv[2 + t->cfg.vec_col]);
    return vv_hnsw_command(t, (const char *)sqlite3_value_text(cmd));
  }
  /* sqlite-vec's other spelling: INSERT INTO t(rowid) VALUES ('compute-centroids') */
  if (t->cfg.ivf && argc > 1 && sqlite3_value_type(argv[0]) == SQLITE_NULL && t->cfg.text_key < 0) {
    sqlite3_value *key = new_rowid(t, argv[1], argv + 2);
    if (sqlite3_value_type(key) == SQLITE_TEXT && vv_ivf_is_command((const char *)sqlite3_value_text(key)))
      return (rc = vv_flush(t)) != SQLITE_OK ? rc
                                             : vv_ivf_command(t, (const char *)sqlite3_value_text(key), argv[2 + t->cfg.vec_col]);
  }
  if (argc > 1 && sqlite3_value_type(argv[0]) == SQLITE_NULL)
    return insert_row(t, new_rowid(t, argv[1], argv + 2), argv + 2, out_rowid);
  /* UPDATE and DELETE read and move rows: pending vectors must be in place first. */
  if ((rc = vv_flush(t)) != SQLITE_OK || (rc = rowid_arg(t, argv[0], &rowid)) != SQLITE_OK) return rc;
  if (argc == 1) return delete_row(t, rowid);
  return update_row(t, rowid, new_rowid(t, argv[1], argv + 2), argv + 2);
}
