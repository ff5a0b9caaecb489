/*
** index_ivf.c: the IVF index of a semlite_vec table (index_ivf.h): shadow tables, the
** centroids a connection assigns rows with, the image of the lists in the ANN cache,
** sqlite-vec's commands (k-means training among them), the candidate search and the
** check. The algorithms are vector/ivf.c.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../base/alloc.h"
#include "../../vector/ann_cache.h"
#include "../../vector/quant.h"
#include "index_ivf.h"
#include "store.h"

typedef struct vv_ivf {
  sl_ivf *img;                 /* the connection's own image (not in the cache), or NULL */
  unsigned char version[SL_ANN_VERSION_BYTES];  /* of img */
  int txn_wrote;               /* the lists changed in this transaction: publish nothing */
  int nprobe, filter_pct;
  float *cents;                /* nlist * dims: the centroids as of cver */
  uint8_t *present;
  uint32_t n_present;
  unsigned char cver[SL_ANN_VERSION_BYTES];
  int have_cents;
  unsigned char *code;         /* one row's code */
  void *scratch;
  size_t cap_scratch;
  const sl_chunk_pos *allowed; /* of the running filtered search, sorted by rowid */
  size_t n_allowed;
  sqlite3_stmt *info_get, *info_put, *list_put, *list_del, *list_rename;
} vv_ivf;

/* ---- SQL ---- */

static void finalize_all(vv_ivf *h) {
  sqlite3_finalize(h->info_get), sqlite3_finalize(h->info_put), sqlite3_finalize(h->list_put);
  sqlite3_finalize(h->list_del), sqlite3_finalize(h->list_rename);
  h->info_get = h->info_put = h->list_put = h->list_del = h->list_rename = NULL;
}

static int info_put(vv_table *t, const char *key, sqlite3_int64 v, const unsigned char *blob) {
  vv_ivf *h = t->ivf;
  int rc = vv_stmt_fmt(t, &h->info_put, "INSERT OR REPLACE INTO \"%w\".\"%w_ivf_info\"(key, value) VALUES (?1, ?2)");
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_text(h->info_put, 1, key, -1, SQLITE_STATIC);
  if (blob) sqlite3_bind_blob(h->info_put, 2, blob, SL_ANN_VERSION_BYTES, SQLITE_STATIC);
  else sqlite3_bind_int64(h->info_put, 2, v);
  return vv_step_done(t, h->info_put);
}

/* A new version of the lists (every change), or of the centroids too. */
static int bump(vv_table *t, int centroids) {
  unsigned char v[SL_ANN_VERSION_BYTES];
  int rc;
  sqlite3_randomness(sizeof v, v);
  if ((rc = info_put(t, "version", 0, v)) != SQLITE_OK) return rc;
  t->ivf->txn_wrote = 1;
  if (!centroids) return SQLITE_OK;
  sqlite3_randomness(sizeof v, v);
  return info_put(t, "centroids", 0, v);
}

/* The versions and knobs the shadow tables hold now. */
static int read_state(vv_table *t, unsigned char version[SL_ANN_VERSION_BYTES], unsigned char cver[SL_ANN_VERSION_BYTES]) {
  vv_ivf *h = t->ivf;
  int rc = vv_stmt_fmt(t, &h->info_get, "SELECT key, value FROM \"%w\".\"%w_ivf_info\" WHERE key IN ('version', 'centroids', "
                                 "'nprobe', 'filter_exact_pct')"), have = 0;
  if (rc != SQLITE_OK) return rc;
  while ((rc = sqlite3_step(h->info_get)) == SQLITE_ROW) {
    const char *k = (const char *)sqlite3_column_text(h->info_get, 0);
    int blob = sqlite3_column_bytes(h->info_get, 1) == SL_ANN_VERSION_BYTES;
    if (!k) continue;
    if (!strcmp(k, "version") && blob) memcpy(version, sqlite3_column_blob(h->info_get, 1), SL_ANN_VERSION_BYTES), have |= 1;
    else if (!strcmp(k, "centroids") && blob) memcpy(cver, sqlite3_column_blob(h->info_get, 1), SL_ANN_VERSION_BYTES), have |= 2;
    else if (!strcmp(k, "nprobe")) h->nprobe = sqlite3_column_int(h->info_get, 1);
    else if (!strcmp(k, "filter_exact_pct")) h->filter_pct = sqlite3_column_int(h->info_get, 1);
  }
  sqlite3_reset(h->info_get);
  if (rc != SQLITE_DONE) return vv_db_error(t, rc);
  if (have != 3)
    return sl_vtab_error(&t->base, t->name, "%s_ivf_info lacks its 8-byte versions (run semlite_vec_check)", t->name);
  if (h->nprobe < 1 || h->nprobe > t->cfg.ivf_nlist) h->nprobe = t->cfg.ivf_nprobe;
  if (h->filter_pct < 0 || h->filter_pct > 100) h->filter_pct = VV_IVF_FILTER_EXACT_PCT;
  return SQLITE_OK;
}

int vv_ivf_create(sqlite3 *db, const vv_config *cfg, const char *schema, const char *name, sl_err *err) {
  char *sql = sqlite3_mprintf(
      "CREATE TABLE \"%w\".\"%w_ivf_info\"(key TEXT PRIMARY KEY, value);"
      "CREATE TABLE \"%w\".\"%w_ivf_centroids\"(centroid INTEGER PRIMARY KEY, vector BLOB NOT NULL);"
      "CREATE TABLE \"%w\".\"%w_ivf_lists\"(rowid INTEGER PRIMARY KEY, list INTEGER NOT NULL, code BLOB NOT NULL);"
      "INSERT INTO \"%w\".\"%w_ivf_info\"(key, value) VALUES ('nlist', %d), ('nprobe', %d), "
      "('version', randomblob(%d)), ('centroids', randomblob(%d));",
      schema, name, schema, name, schema, name, schema, name, cfg->ivf_nlist, cfg->ivf_nprobe, SL_ANN_VERSION_BYTES,
      SL_ANN_VERSION_BYTES);
  int rc = sql ? sqlite3_exec(db, sql, NULL, NULL, NULL) : SQLITE_NOMEM;
  sqlite3_free(sql);
  if (rc != SQLITE_OK) return sl_fail(err, "cannot create the ivf shadow tables: %s", sqlite3_errmsg(db));
  return SL_OK;
}

/* ---- the connection's state ---- */

int vv_ivf_open(vv_table *t) {
  vv_ivf *h;
  sqlite3_stmt *st = NULL;
  char *sql;
  int rc, nlist = -1;
  if (!t->cfg.ivf) return SQLITE_OK;
  sql = sqlite3_mprintf("SELECT value FROM \"%w\".\"%w_ivf_info\" WHERE key = 'nlist'", t->schema, t->name);
  rc = sql ? sqlite3_prepare_v2(t->db, sql, -1, &st, NULL) : SQLITE_NOMEM;
  sqlite3_free(sql);
  if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) nlist = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  if (rc == SQLITE_NOMEM) return rc;
  if (rc != SQLITE_OK) return sl_vtab_error(&t->base, t->name, "cannot read %s_ivf_info: %s", t->name, sqlite3_errmsg(t->db));
  if (nlist != t->cfg.ivf_nlist)
    return sl_vtab_error(&t->base, t->name, "%s_ivf_info has nlist=%d but the declaration means nlist=%d", t->name,
                         nlist, t->cfg.ivf_nlist);
  if (!(h = sl_calloc(1, sizeof *h))) return SQLITE_NOMEM;
  h->nprobe = t->cfg.ivf_nprobe;
  h->filter_pct = VV_IVF_FILTER_EXACT_PCT;
  t->ivf = h;
  if (!(h->cents = sl_calloc((size_t)nlist * t->cfg.dims, sizeof *h->cents)) || !(h->present = sl_calloc((size_t)nlist, 1)) ||
      !(h->code = sl_malloc(t->lay.dims + 8)))
    return SQLITE_NOMEM;
  return SQLITE_OK;
}

void vv_ivf_close(vv_table *t) {
  vv_ivf *h = t->ivf;
  const char *file = sqlite3_db_filename(t->db, t->schema);
  if (!h) return;
  if (!file || !*file) vv_ivf_forget(t);  /* an in-memory database's image is never used again */
  sl_ivf_free(h->img);
  finalize_all(h);
  sl_free(h->cents), sl_free(h->present), sl_free(h->code), sl_free(h->scratch);
  sl_free(h);
  t->ivf = NULL;
}

static char *cache_name(vv_table *t) {
  const char *file = sqlite3_db_filename(t->db, t->schema);
  if (!file || !*file) return sqlite3_mprintf("%p\x1f%s\x1f%s\x1fivf", (void *)t->db, t->schema, t->name);
  return sqlite3_mprintf("%s\x1f%s\x1f%s\x1fivf", file, t->schema, t->name);
}

void vv_ivf_forget(vv_table *t) {
  char *name;
  if (!t->ivf) return;
  sl_ivf_free(t->ivf->img);
  t->ivf->img = NULL;
  t->ivf->have_cents = 0;
  finalize_all(t->ivf);
  if ((name = cache_name(t))) sl_ann_cache_forget(name);
  sqlite3_free(name);
}

void vv_ivf_end(vv_table *t) {
  if (t->ivf) t->ivf->txn_wrote = 0;
}

/* The centroids as the shadow tables hold them now (read again when their version
** changed). */
static int centroids(vv_table *t, unsigned char version[SL_ANN_VERSION_BYTES]) {
  vv_ivf *h = t->ivf;
  unsigned char cver[SL_ANN_VERSION_BYTES];
  sqlite3_stmt *st = NULL;
  size_t bytes = t->cfg.dims * sizeof(float);
  char *sql;
  int rc = read_state(t, version, cver);
  if (rc != SQLITE_OK || (h->have_cents && !memcmp(cver, h->cver, sizeof cver))) return rc;
  h->have_cents = 0;
  h->n_present = 0;
  memset(h->present, 0, (size_t)t->cfg.ivf_nlist);
  sql = sqlite3_mprintf("SELECT centroid, vector FROM \"%w\".\"%w_ivf_centroids\"", t->schema, t->name);
  rc = sql ? sqlite3_prepare_v2(t->db, sql, -1, &st, NULL) : SQLITE_NOMEM;
  sqlite3_free(sql);
  while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    sqlite3_int64 c = sqlite3_column_int64(st, 0);
    rc = SQLITE_OK;
    if (c < 0 || c >= t->cfg.ivf_nlist || (size_t)sqlite3_column_bytes(st, 1) != bytes) {
      rc = sl_vtab_error(&t->base, t->name, "%s_ivf_centroids: centroid %lld is out of range or not a float[%zu] "
                         "(run semlite_vec_check)", t->name, (long long)c, t->cfg.dims);
      break;
    }
    memcpy(h->cents + (size_t)c * t->cfg.dims, sqlite3_column_blob(st, 1), bytes);
    h->present[c] = 1;
    h->n_present++;
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  else if (rc != SQLITE_OK && rc != SQLITE_NOMEM && !t->base.zErrMsg) rc = vv_db_error(t, rc);
  sqlite3_finalize(st);
  if (rc == SQLITE_OK) memcpy(h->cver, cver, sizeof cver), h->have_cents = 1;
  return rc;
}

/* ---- the image ---- */

static void image_free_fn(void *p) { sl_ivf_free(p); }

static int load(vv_table *t, sl_ivf **out) {
  vv_ivf *h = t->ivf;
  uint32_t nlist = (uint32_t)t->cfg.ivf_nlist, *fill = NULL;
  sl_ivf *ix = sl_ivf_new(t->cfg.dims, t->cfg.metric, nlist);
  sqlite3_stmt *st = NULL;
  sl_err err;
  char *sql;
  int rc = ix ? SQLITE_OK : SQLITE_NOMEM;
  *out = NULL;
  if (rc == SQLITE_OK) {
    memcpy(ix->centroids, h->cents, (size_t)nlist * t->cfg.dims * sizeof(float));
    memcpy(ix->present, h->present, nlist);
    ix->n_present = h->n_present;
    if (!(fill = sl_calloc((size_t)nlist + 1, sizeof *fill))) rc = SQLITE_NOMEM;
  }
  /* pass 1: the size of each list */
  if (rc == SQLITE_OK) {
    sql = sqlite3_mprintf("SELECT list, count(*) FROM \"%w\".\"%w_ivf_lists\" GROUP BY list", t->schema, t->name);
    rc = sql ? sqlite3_prepare_v2(t->db, sql, -1, &st, NULL) : SQLITE_NOMEM;
    sqlite3_free(sql);
  }
  while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    sqlite3_int64 l = sqlite3_column_int64(st, 0);
    rc = SQLITE_OK;
    if (l < -1 || l >= (sqlite3_int64)nlist || (l >= 0 && !h->present[l])) {
      rc = sl_vtab_error(&t->base, t->name, "%s_ivf_lists has rows in list %lld, which has no centroid (run "
                         "semlite_vec_check)", t->name, (long long)l);
      break;
    }
    if (sl_ivf_reserve(ix, l < 0 ? nlist : (uint32_t)l, (uint32_t)sqlite3_column_int64(st, 1), &err)) rc = SQLITE_NOMEM;
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  sqlite3_finalize(st);
  st = NULL;
  /* pass 2: the rows */
  if (rc == SQLITE_OK) {
    sql = sqlite3_mprintf("SELECT l.rowid, l.list, l.code, r.chunk_id, r.chunk_offset FROM \"%w\".\"%w_ivf_lists\" l "
                          "LEFT JOIN \"%w\".\"%w_rowids\" r ON r.rowid = l.rowid", t->schema, t->name, t->schema, t->name);
    rc = sql ? sqlite3_prepare_v2(t->db, sql, -1, &st, NULL) : SQLITE_NOMEM;
    sqlite3_free(sql);
  }
  while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    sqlite3_int64 l = sqlite3_column_int64(st, 1);
    uint32_t li = l < 0 ? nlist : (uint32_t)l;
    rc = SQLITE_OK;
    if (l < -1 || l >= (sqlite3_int64)nlist || fill[li] >= ix->lists[li].n ||
        (size_t)sqlite3_column_bytes(st, 2) != ix->code_bytes || sqlite3_column_type(st, 3) == SQLITE_NULL) {
      rc = sl_vtab_error(&t->base, t->name, "%s_ivf_lists: row %lld has a bad list, code or no row (run "
                         "semlite_vec_check)", t->name, (long long)sqlite3_column_int64(st, 0));
      break;
    }
    sl_ivf_put(ix, li, fill[li]++, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 3),
               sqlite3_column_int(st, 4), sqlite3_column_blob(st, 2));
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  else if (rc != SQLITE_OK && rc != SQLITE_NOMEM && !t->base.zErrMsg) rc = vv_db_error(t, rc);
  sqlite3_finalize(st);
  sl_free(fill);
  if (rc != SQLITE_OK) sl_ivf_free(ix);
  else *out = ix;
  return rc;
}

/* The image to search: the connection's own if current, else the cache's (pinned),
** else loaded (and published when the data is committed). */
static int image(vv_table *t, sl_ivf **out, int *pinned) {
  vv_ivf *h = t->ivf;
  unsigned char version[SL_ANN_VERSION_BYTES];
  char *name;
  sl_ivf *ix;
  int rc;
  *pinned = 0;
  if ((rc = centroids(t, version)) != SQLITE_OK) return rc;
  if (h->img && !memcmp(version, h->version, sizeof version)) {
    *out = h->img;
    return SQLITE_OK;
  }
  sl_ivf_free(h->img);
  h->img = NULL;
  if (!(name = cache_name(t))) return SQLITE_NOMEM;
  if (!h->txn_wrote && (ix = sl_ann_cache_get(name, version))) {
    sqlite3_free(name);
    *out = ix;
    *pinned = 1;
    return SQLITE_OK;
  }
  if ((rc = load(t, &ix)) != SQLITE_OK) {
    sqlite3_free(name);
    return rc;
  }
  if (!h->txn_wrote && sl_ann_cache_put(name, version, ix, sl_ivf_bytes(ix), ix->n_rows, image_free_fn)) {
    *pinned = 1;
  } else {
    h->img = ix;
    memcpy(h->version, version, sizeof version);
  }
  sqlite3_free(name);
  *out = ix;
  return SQLITE_OK;
}

/* ---- row changes ---- */

/* Writes a row's list and code. */
static int put_row(vv_table *t, sqlite3_int64 rowid, sqlite3_int64 list, const float *vec) {
  vv_ivf *h = t->ivf;
  int rc = vv_stmt_fmt(t, &h->list_put, "INSERT OR REPLACE INTO \"%w\".\"%w_ivf_lists\"(rowid, list, code) VALUES (?1, ?2, ?3)");
  sl_chunk_layout lay;
  if (rc != SQLITE_OK) return rc;
  sl_chunk_layout_init(&lay, SL_VEC_F32, t->cfg.dims, t->cfg.metric, SL_QUANT_INT8, 8);
  sl_quantize(&lay, vec, h->code);
  sqlite3_bind_int64(h->list_put, 1, rowid);
  sqlite3_bind_int64(h->list_put, 2, list);
  sqlite3_bind_blob(h->list_put, 3, h->code, (int)(lay.qvec_bytes + lay.qparam_bytes), SQLITE_STATIC);
  return vv_step_done(t, h->list_put);
}

static sqlite3_int64 nearest(vv_table *t, const float *vec) {
  vv_ivf *h = t->ivf;
  uint32_t c = sl_ivf_nearest(h->cents, h->present, (uint32_t)t->cfg.ivf_nlist, t->cfg.dims, t->cfg.metric, vec, NULL);
  return c == SL_IVF_NONE ? -1 : (sqlite3_int64)c;
}

int vv_ivf_insert(vv_table *t, sqlite3_int64 rowid, const float *vec) {
  unsigned char version[SL_ANN_VERSION_BYTES];
  int rc;
  if (!t->ivf) return SQLITE_OK;
  if ((rc = centroids(t, version)) != SQLITE_OK || (rc = put_row(t, rowid, nearest(t, vec), vec)) != SQLITE_OK)
    return rc;
  return bump(t, 0);
}

int vv_ivf_delete(vv_table *t, sqlite3_int64 rowid) {
  vv_ivf *h = t->ivf;
  int rc;
  if (!h) return SQLITE_OK;
  if ((rc = vv_stmt_fmt(t, &h->list_del, "DELETE FROM \"%w\".\"%w_ivf_lists\" WHERE rowid = ?1")) != SQLITE_OK) return rc;
  sqlite3_bind_int64(h->list_del, 1, rowid);
  if ((rc = vv_step_done(t, h->list_del)) != SQLITE_OK) return rc;
  return bump(t, 0);
}

int vv_ivf_rename(vv_table *t, sqlite3_int64 old_rowid, sqlite3_int64 rowid) {
  vv_ivf *h = t->ivf;
  int rc;
  if (!h) return SQLITE_OK;
  if ((rc = vv_stmt_fmt(t, &h->list_rename, "UPDATE \"%w\".\"%w_ivf_lists\" SET rowid = ?2 WHERE rowid = ?1")) != SQLITE_OK)
    return rc;
  sqlite3_bind_int64(h->list_rename, 1, old_rowid);
  sqlite3_bind_int64(h->list_rename, 2, rowid);
  if ((rc = vv_step_done(t, h->list_rename)) != SQLITE_OK) return rc;
  return bump(t, 0);
}

/* ---- commands ---- */

/* Whether sqlite3_interrupt was called on the connection (sqlite3_is_interrupted is
** SQLite 3.41's; a statement run now fails with SQLITE_INTERRUPT on every version). */
static int interrupted(void *db) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, "SELECT 1", -1, &st, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_INTERRUPT;
}

/* Every row's place (rowid order), for training and assignment. */
static int all_rows(vv_table *t, const char *where, sl_chunk_pos **out, size_t *n) {
  sqlite3_stmt *st = NULL;
  size_t cap = 0;
  char *sql = sqlite3_mprintf("SELECT r.rowid, r.chunk_id, r.chunk_offset FROM \"%w\".\"%w_rowids\" r%s ORDER BY r.rowid",
                              t->schema, t->name, where);
  int rc;
  rc = sql ? sqlite3_prepare_v2(t->db, sql, -1, &st, NULL) : SQLITE_NOMEM;
  sqlite3_free(sql);
  *out = NULL;
  *n = 0;
  while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    rc = SQLITE_OK;
    if (*n == cap) {
      sl_chunk_pos *p = sl_realloc(*out, (cap = cap ? 2 * cap : 1024) * sizeof *p);
      if (!p) {
        rc = SQLITE_NOMEM;
        break;
      }
      *out = p;
    }
    (*out)[(*n)++] = (sl_chunk_pos){.rowid = sqlite3_column_int64(st, 0), .chunk_id = sqlite3_column_int64(st, 1),
                                    .slot = sqlite3_column_int64(st, 2)};
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  else if (rc != SQLITE_OK && rc != SQLITE_NOMEM) rc = vv_db_error(t, rc);
  sqlite3_finalize(st);
  if (rc != SQLITE_OK) sl_free(*out), *out = NULL, *n = 0;
  return rc;
}

/* Reads the float vectors of rows pos[0..n) (sorted by chunk and slot) into x. */
static int read_vectors(vv_table *t, const sl_chunk_pos *pos, size_t n, float *x) {
  size_t vb = t->lay.vec_bytes;
  int rc = SQLITE_OK;
  for (size_t i = 0; i < n && rc == SQLITE_OK; i++)
    rc = vv_chunk_read(t, "vectors", pos[i].chunk_id, x + i * t->cfg.dims, vb, (size_t)pos[i].slot * vb);
  return rc;
}

/* Puts rows pos[0..n) (sorted by chunk and slot) into their nearest lists, in blocks. */
static int assign_rows(vv_table *t, const sl_chunk_pos *pos, size_t n) {
  vv_ivf *h = t->ivf;
  enum { B = 1024 };
  uint32_t nlist = (uint32_t)t->cfg.ivf_nlist, *ids = NULL, *list = sl_malloc(B * sizeof *list);
  float *x = sl_malloc(B * t->lay.vec_bytes), *c = NULL;
  size_t m = 0;
  sl_err err;
  int rc = x && list ? SQLITE_OK : SQLITE_NOMEM;
  /* the product needs the present centroids packed */
  if (rc == SQLITE_OK && (!(c = sl_malloc((size_t)h->n_present * t->lay.vec_bytes + 1)) ||
                          !(ids = sl_malloc((size_t)h->n_present * sizeof *ids + 1))))
    rc = SQLITE_NOMEM;
  for (uint32_t j = 0; rc == SQLITE_OK && j < nlist; j++)
    if (h->present[j]) {
      memcpy(c + (size_t)m * t->cfg.dims, h->cents + (size_t)j * t->cfg.dims, t->lay.vec_bytes);
      ids[m++] = j;
    }
  for (size_t i = 0; rc == SQLITE_OK && i < n; i += B) {
    size_t b = n - i < B ? n - i : B;
    if (interrupted(t->db)) {
      rc = SQLITE_INTERRUPT;
      break;
    }
    if ((rc = read_vectors(t, pos + i, b, x)) != SQLITE_OK) break;
    if (sl_ivf_assign(x, b, c, (uint32_t)m, t->cfg.dims, t->cfg.metric, list, &err)) {
      rc = SQLITE_NOMEM;
      break;
    }
    for (size_t r = 0; r < b && rc == SQLITE_OK; r++) rc = put_row(t, pos[i + r].rowid, ids[list[r]], x + r * t->cfg.dims);
  }
  sl_free(x), sl_free(list), sl_free(c), sl_free(ids);
  return rc;
}

/* k-means over a seeded sample of at most VV_IVF_TRAIN_PER_LIST * nlist rows, then
** every row assigned. */
static uint64_t next_random(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static int compute_centroids(vv_table *t, int nlist, int iterations, uint64_t seed) {
  unsigned char version[SL_ANN_VERSION_BYTES];
  sl_chunk_pos *pos = NULL, *sample = NULL;
  size_t n = 0, m;
  float *x = NULL, *cents = NULL;
  uint32_t made = 0;
  sqlite3_stmt *st = NULL;
  sl_err err;
  uint64_t s = seed;
  int rc = all_rows(t, "", &pos, &n);
  if (rc != SQLITE_OK) return rc;
  if (n == 0) {
    sl_free(pos);
    return sl_vtab_error(&t->base, t->name, "compute-centroids: the table has no rows");
  }
  m = n < (size_t)nlist * VV_IVF_TRAIN_PER_LIST ? n : (size_t)nlist * VV_IVF_TRAIN_PER_LIST;
  sample = sl_malloc(m * sizeof *sample);
  x = sl_malloc(m * t->lay.vec_bytes);
  cents = sl_malloc((size_t)nlist * t->lay.vec_bytes);
  if (!sample || !x || !cents) rc = SQLITE_NOMEM;
  if (rc == SQLITE_OK) {
    /* a seeded partial shuffle picks the sample; read back in chunk order */
    for (size_t i = 0; i < m; i++) {
      size_t j = i + (size_t)(next_random(&s) % (n - i));
      sl_chunk_pos tmp = pos[i];
      pos[i] = pos[j], pos[j] = tmp;
      sample[i] = pos[i];
    }
    if (m > 1) qsort(sample, m, sizeof *sample, sl_chunk_pos_cmp);
    rc = read_vectors(t, sample, m, x);
  }
  if (rc == SQLITE_OK && sl_ivf_kmeans(x, m, t->cfg.dims, t->cfg.metric, (uint32_t)nlist, iterations, seed, interrupted,
                                       t->db, cents, &made, &err))
    rc = strcmp(err.msg, "interrupted") ? SQLITE_NOMEM : SQLITE_INTERRUPT;
  sl_free(x), sl_free(sample);
  x = NULL;
  if (rc == SQLITE_OK) rc = vv_exec_fmt(t, "DELETE FROM \"%w\".\"%w_ivf_centroids\"");
  if (rc == SQLITE_OK) rc = vv_stmt_fmt(t, &st, "INSERT INTO \"%w\".\"%w_ivf_centroids\"(centroid, vector) VALUES (?1, ?2)");
  for (uint32_t c = 0; rc == SQLITE_OK && c < made; c++) {
    sqlite3_reset(st);
    sqlite3_bind_int(st, 1, (int)c);
    sqlite3_bind_blob(st, 2, cents + (size_t)c * t->cfg.dims, (int)t->lay.vec_bytes, SQLITE_STATIC);
    rc = vv_step_done(t, st);
  }
  sqlite3_finalize(st);
  sl_free(cents);
  if (rc == SQLITE_OK) rc = bump(t, 1);
  if (rc == SQLITE_OK) rc = centroids(t, version);
  if (rc == SQLITE_OK) {
    if (n > 1) qsort(pos, n, sizeof *pos, sl_chunk_pos_cmp);
    rc = assign_rows(t, pos, n);
  }
  sl_free(pos);
  if (rc == SQLITE_INTERRUPT) return sl_vtab_error(&t->base, t->name, "compute-centroids: interrupted");
  return rc;
}

/* Every row unassigned (the centroids changed). */
static int unassign_all(vv_table *t) {
  int rc = vv_exec_fmt(t, "UPDATE \"%w\".\"%w_ivf_lists\" SET list = -1 WHERE list <> -1");
  return rc == SQLITE_OK ? bump(t, 1) : rc;
}

static int assign_vectors(vv_table *t) {
  unsigned char version[SL_ANN_VERSION_BYTES];
  sl_chunk_pos *pos;
  size_t n;
  int rc = centroids(t, version);
  if (rc != SQLITE_OK) return rc;
  if (!t->ivf->n_present) return sl_vtab_error(&t->base, t->name, "assign-vectors: the table has no centroids (run "
                                               "'compute-centroids' or 'set-centroid:N' first)");
  char *where = sqlite3_mprintf(" JOIN \"%w\".\"%w_ivf_lists\" l ON l.rowid = r.rowid WHERE l.list = -1", t->schema,
                                t->name);
  if (!where) return SQLITE_NOMEM;
  rc = all_rows(t, where, &pos, &n);
  sqlite3_free(where);
  if (rc != SQLITE_OK) return rc;
  if (n > 1) qsort(pos, n, sizeof *pos, sl_chunk_pos_cmp);
  rc = assign_rows(t, pos, n);
  sl_free(pos);
  if (rc == SQLITE_INTERRUPT) return sl_vtab_error(&t->base, t->name, "assign-vectors: interrupted");
  return rc == SQLITE_OK ? bump(t, 0) : rc;
}

static int set_centroid(vv_table *t, const char *arg, sqlite3_value *vec) {
  const vv_column *col = &t->cfg.cols[t->cfg.vec_col];
  float *v;
  sqlite3_stmt *st = NULL;
  sl_err err;
  char *end;
  long id = strtol(arg, &end, 10);
  int rc;
  if (!*arg || *end || id < 0 || id >= t->cfg.ivf_nlist)
    return sl_vtab_error(&t->base, t->name, "set-centroid: the centroid id must be an integer from 0 to %d, got '%s'",
                         t->cfg.ivf_nlist - 1, arg);
  if (!vec || sqlite3_value_type(vec) == SQLITE_NULL)
    return sl_vtab_error(&t->base, t->name, "set-centroid:%ld needs the centroid in column %s", id, col->name);
  if (!(v = sl_malloc(t->lay.vec_bytes))) return SQLITE_NOMEM;
  if (sl_sql_vec_read_exact(vec, SL_VEC_F32, t->cfg.dims, col->name, v, &err)) {
    sl_free(v);
    return sl_vtab_fail(&t->base, t->name, &err);
  }
  rc = vv_stmt_fmt(t, &st, "INSERT OR REPLACE INTO \"%w\".\"%w_ivf_centroids\"(centroid, vector) VALUES (?1, ?2)");
  if (rc == SQLITE_OK) {
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_blob(st, 2, v, (int)t->lay.vec_bytes, SQLITE_STATIC);
    rc = vv_step_done(t, st);
  }
  sqlite3_finalize(st);
  sl_free(v);
  return rc == SQLITE_OK ? unassign_all(t) : rc;
}

/* 'compute-centroids:{"nlist":N,"max_iterations":N,"seed":N}' (sqlite-vec's options). */
static int compute_with_options(vv_table *t, const char *json) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(t->db, "SELECT key, value, type FROM json_each(?1)", -1, &st, NULL);
  long long nlist = t->cfg.ivf_nlist, iters = SL_IVF_DEFAULT_ITERATIONS, seed = VV_IVF_SEED;
  if (rc != SQLITE_OK) return vv_db_error(t, rc);
  sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *k = (const char *)sqlite3_column_text(st, 0), *type = (const char *)sqlite3_column_text(st, 2);
    long long v = sqlite3_column_int64(st, 1);
    int bad = !type || strcmp(type, "integer") != 0;
    if (k && !strcmp(k, "nlist") && !bad && v >= 1 && v <= t->cfg.ivf_nlist) nlist = v;
    else if (k && !strcmp(k, "max_iterations") && !bad && v >= 1 && v <= SL_IVF_MAX_ITERATIONS) iters = v;
    else if (k && !strcmp(k, "seed") && !bad) seed = v;
    else {
      rc = sl_vtab_error(&t->base, t->name, "compute-centroids: option '%s' must be nlist (1 to %d), max_iterations "
                         "(1 to %d) or seed, each an integer", k ? k : "", t->cfg.ivf_nlist, SL_IVF_MAX_ITERATIONS);
      break;
    }
  }
  if (rc == SQLITE_ERROR && !t->base.zErrMsg)
    rc = sl_vtab_error(&t->base, t->name, "compute-centroids: options must be a JSON object, got '%s'", json);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return rc;
  return compute_centroids(t, (int)nlist, (int)iters, (uint64_t)seed);
}

int vv_ivf_is_command(const char *s) {
  static const char *const prefixes[] = {"nprobe=", "filter_exact_pct=", "compute-centroids", "set-centroid:",
                                         "assign-vectors", "clear-centroids"};
  for (size_t i = 0; s && i < sizeof prefixes / sizeof prefixes[0]; i++)
    if (!strncmp(s, prefixes[i], strlen(prefixes[i]))) return 1;
  return 0;
}

int vv_ivf_command(vv_table *t, const char *cmd, sqlite3_value *vec) {
  vv_ivf *h = t->ivf;
  static const struct { const char *key; } knobs[] = {{"nprobe"}, {"filter_exact_pct"}};
  for (size_t i = 0; i < sizeof knobs / sizeof knobs[0]; i++) {
    size_t n = strlen(knobs[i].key);
    long lo = i == 0 ? 1 : 0, hi = i == 0 ? t->cfg.ivf_nlist : 100, v;
    char *end;
    int rc;
    if (sqlite3_strnicmp(cmd, knobs[i].key, (int)n) != 0 || cmd[n] != '=') continue;
    v = strtol(cmd + n + 1, &end, 10);
    if (!cmd[n + 1] || *end || v < lo || v > hi)
      return sl_vtab_error(&t->base, t->name, "ivf option %s must be an integer from %ld to %ld, got '%s'", knobs[i].key,
                           lo, hi, cmd + n + 1);
    if ((rc = info_put(t, knobs[i].key, v, NULL)) != SQLITE_OK) return rc;
    if (i == 0) h->nprobe = (int)v;
    else h->filter_pct = (int)v;
    return SQLITE_OK;
  }
  if (!strcmp(cmd, "compute-centroids")) return compute_centroids(t, t->cfg.ivf_nlist, SL_IVF_DEFAULT_ITERATIONS, VV_IVF_SEED);
  if (!strncmp(cmd, "compute-centroids:", 18)) return compute_with_options(t, cmd + 18);
  if (!strncmp(cmd, "set-centroid:", 13)) return set_centroid(t, cmd + 13, vec);
  if (!strcmp(cmd, "assign-vectors")) return assign_vectors(t);
  if (!strcmp(cmd, "clear-centroids")) {
    int rc = vv_exec_fmt(t, "DELETE FROM \"%w\".\"%w_ivf_centroids\"");
    return rc == SQLITE_OK ? unassign_all(t) : rc;
  }
  return sl_vtab_error(&t->base, t->name, "unknown command '%s' (nprobe=N, filter_exact_pct=N, compute-centroids, "
                       "set-centroid:N, assign-vectors, clear-centroids)", cmd);
}

/* ---- searching ---- */

int vv_ivf_usable(vv_table *t, int *usable) {
  unsigned char version[SL_ANN_VERSION_BYTES];
  int rc;
  *usable = 0;
  if (!t->ivf) return SQLITE_OK;
  if ((rc = centroids(t, version)) != SQLITE_OK) return rc;
  *usable = t->ivf->n_present > 0;
  return SQLITE_OK;
}

static int cmp_rowid(const void *a, const void *b) {
  int64_t x = ((const sl_chunk_pos *)a)->rowid, y = ((const sl_chunk_pos *)b)->rowid;
  return (x > y) - (x < y);
}

static int accept_allowed(void *arg, int64_t rowid) {
  vv_ivf *h = arg;
  sl_chunk_pos key = {.rowid = rowid};
  return bsearch(&key, h->allowed, h->n_allowed, sizeof key, cmp_rowid) != NULL;
}

int vv_ivf_filter_exact(vv_table *t, size_t n_allowed, int *exact) {
  sl_ivf *ix;
  int pinned, rc = image(t, &ix, &pinned);
  if (rc != SQLITE_OK) return rc;
  *exact = n_allowed * 100 < ix->n_rows * (size_t)t->ivf->filter_pct;
  if (pinned) sl_ann_cache_release(ix);
  return SQLITE_OK;
}

int vv_ivf_candidates(vv_table *t, const float *q, size_t k, const sl_chunk_pos *allowed, size_t n_allowed,
                      sl_knn_hit **hits, size_t *n_hits) {
  vv_ivf *h = t->ivf;
  sl_ivf *ix;
  sl_topk top = {0};
  sl_chunk_pos *sorted = NULL;
  sl_err err;
  size_t need;
  int pinned, rc;
  *hits = NULL;
  *n_hits = 0;
  if ((rc = image(t, &ix, &pinned)) != SQLITE_OK) return rc;
  need = sl_ivf_scratch_bytes(ix);
  if (h->cap_scratch < need) {
    sl_free(h->scratch);
    h->cap_scratch = 0;
    if (!(h->scratch = sl_malloc(need))) {
      rc = SQLITE_NOMEM;
      goto done;
    }
    h->cap_scratch = need;
  }
  if (allowed) {
    if (!(sorted = sl_malloc(n_allowed * sizeof *sorted + 1))) {
      rc = SQLITE_NOMEM;
      goto done;
    }
    memcpy(sorted, allowed, n_allowed * sizeof *sorted);
    qsort(sorted, n_allowed, sizeof *sorted, cmp_rowid);
    h->allowed = sorted;
    h->n_allowed = n_allowed;
  }
  if (sl_topk_init(&top, k * VV_IVF_RESCORE, &err)) {
    rc = sl_vtab_fail(&t->base, t->name, &err);
    goto done;
  }
  sl_ivf_code(ix, q, h->code);
  if (sl_ivf_search(ix, q, h->code, (uint32_t)h->nprobe, allowed ? accept_allowed : NULL, h, h->scratch, &top, &err)) {
    rc = sl_vtab_error(&t->base, t->name, "ivf index: %s", err.msg);
    goto done;
  }
  sl_topk_sort(&top);
  if (top.n && !(*hits = sqlite3_malloc64(top.n * sizeof **hits))) {
    rc = SQLITE_NOMEM;
    goto done;
  }
  if (top.n) memcpy(*hits, top.h, top.n * sizeof **hits);
  *n_hits = top.n;
done:
  h->allowed = NULL;
  h->n_allowed = 0;
  sl_free(sorted);
  sl_topk_free(&top);
  if (pinned) sl_ann_cache_release(ix);
  return rc;
}

/* ---- semlite_vec_check ---- */

int vv_ivf_check(sqlite3 *db, const char *name, size_t dims, sl_metric metric, void (*problem)(void *, const char *),
                 void *arg) {
  char msg[SL_ERR_MAX];
  sqlite3_stmt *st = NULL;
  char *sql;
  int rc, nlist = 0;
  float *cents = NULL, *v = NULL;
  uint8_t *present = NULL;
  size_t vb = dims * sizeof(float), code_bytes = dims + 8;
#define PROBLEM(...) (snprintf(msg, sizeof msg, __VA_ARGS__), problem(arg, msg))
  sql = sqlite3_mprintf("SELECT value FROM \"main\".\"%w_ivf_info\" WHERE key = 'nlist'", name);
  rc = sql ? sqlite3_prepare_v2(db, sql, -1, &st, NULL) : SQLITE_NOMEM;
  sqlite3_free(sql);
  if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) nlist = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  if (rc != SQLITE_OK) return rc;
  if (nlist < 1 || nlist > SL_IVF_MAX_NLIST) {
    PROBLEM("ivf index: %s_ivf_info has nlist=%d", name, nlist);
    return SQLITE_OK;
  }
  cents = sl_calloc((size_t)nlist * dims, sizeof *cents);
  present = sl_calloc((size_t)nlist, 1);
  v = sl_malloc(vb);
  if (!cents || !present || !v) {
    rc = SQLITE_NOMEM;
    goto done;
  }
  sql = sqlite3_mprintf("SELECT centroid, vector FROM \"main\".\"%w_ivf_centroids\"", name);
  rc = sql ? sqlite3_prepare_v2(db, sql, -1, &st, NULL) : SQLITE_NOMEM;
  sqlite3_free(sql);
  while (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
    sqlite3_int64 c = sqlite3_column_int64(st, 0);
    if (c < 0 || c >= nlist || (size_t)sqlite3_column_bytes(st, 1) != vb) {
      PROBLEM("ivf index: centroid %lld is out of range or not a float[%zu]", (long long)c, dims);
      continue;
    }
    memcpy(cents + (size_t)c * dims, sqlite3_column_blob(st, 1), vb);
    present[c] = 1;
  }
  if (rc == SQLITE_OK) rc = sqlite3_finalize(st);
  else sqlite3_finalize(st);
  st = NULL;
  if (rc != SQLITE_OK) goto done;
  /* every row in exactly one list (the primary key holds at most one), and back */
  sql = sqlite3_mprintf("SELECT 'ivf index: row ' || rowid || ' is in no list' FROM \"main\".\"%w_rowids\" "
                        "WHERE rowid NOT IN (SELECT rowid FROM \"main\".\"%w_ivf_lists\") "
                        "UNION ALL SELECT 'ivf index: list ' || list || ' holds row ' || rowid || ', which does not exist' "
                        "FROM \"main\".\"%w_ivf_lists\" WHERE rowid NOT IN (SELECT rowid FROM \"main\".\"%w_rowids\")",
                        name, name, name, name);
  rc = sql ? sqlite3_prepare_v2(db, sql, -1, &st, NULL) : SQLITE_NOMEM;
  sqlite3_free(sql);
  while (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) PROBLEM("%s", (const char *)sqlite3_column_text(st, 0));
  if (rc == SQLITE_OK) rc = sqlite3_finalize(st);
  else sqlite3_finalize(st);
  st = NULL;
  if (rc != SQLITE_OK) goto done;
  /* each assigned row in the list of its nearest centroid */
  sql = sqlite3_mprintf("SELECT l.rowid, l.list, length(l.code), substr(c.vectors, r.chunk_offset * %lld + 1, %lld) "
                        "FROM \"main\".\"%w_ivf_lists\" l JOIN \"main\".\"%w_rowids\" r ON r.rowid = l.rowid "
                        "JOIN \"main\".\"%w_chunks\" c ON c.chunk_id = r.chunk_id", (long long)vb, (long long)vb, name, name, name);
  rc = sql ? sqlite3_prepare_v2(db, sql, -1, &st, NULL) : SQLITE_NOMEM;
  sqlite3_free(sql);
  while (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
    sqlite3_int64 rowid = sqlite3_column_int64(st, 0), l = sqlite3_column_int64(st, 1);
    float best, mine;
    if ((size_t)sqlite3_column_int64(st, 2) != code_bytes)
      PROBLEM("ivf index: row %lld has a %lld-byte code, expected %zu", (long long)rowid,
              (long long)sqlite3_column_int64(st, 2), code_bytes);
    if (l == -1) continue;
    if (l < -1 || l >= nlist || !present[l]) {
      PROBLEM("ivf index: row %lld is in list %lld, which has no centroid", (long long)rowid, (long long)l);
      continue;
    }
    if ((size_t)sqlite3_column_bytes(st, 3) != vb) continue;  /* the chunk checks report it */
    memcpy(v, sqlite3_column_blob(st, 3), vb);
    sl_ivf_nearest(cents, present, (uint32_t)nlist, dims, metric, v, &best);
    mine = sl_distance_for(SL_VEC_F32, metric)(v, cents + (size_t)l * dims, dims);
    if (mine > best + 1e-4f * (1.0f + (best < 0 ? -best : best)))
      PROBLEM("ivf index: row %lld is in list %lld at distance %g, but centroid %u is nearer (%g)", (long long)rowid,
              (long long)l, mine, sl_ivf_nearest(cents, present, (uint32_t)nlist, dims, metric, v, NULL), best);
  }
  if (rc == SQLITE_OK) rc = sqlite3_finalize(st);
  else sqlite3_finalize(st);
done:
  sl_free(cents), sl_free(present), sl_free(v);
  return rc;
#undef PROBLEM
}
