/*
** index_hnsw.c: the HNSW index of a semlite_vec table (index_hnsw.h): shadow tables,
** loading and writing out the graph image, its life across transactions and in the
** process-wide ANN cache, knob commands, and the candidate search. The algorithm is
** vector/hnsw.c; the image and its node store index_graph.c.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../base/alloc.h"
#include "../../ops/progress.h"
#include "../../vector/ann_cache.h"
#include "../../vector/quant.h"
#include "index_hnsw.h"
#include "store.h"

#define SEED 0x5e3117e5eedull   /* levels are drawn from rowid and this */

typedef struct vv_hnsw {
  vv_graph *g;                 /* the connection's own image, or NULL */
  unsigned char version[SL_ANN_VERSION_BYTES];  /* of g */
  int writing;                 /* g was changed in this transaction and is not in the cache */
  int txn_wrote;               /* the index changed in this transaction (not published yet) */
  int failed;                  /* a change failed half way: the image no longer matches the rows */
  uint32_t *pend;              /* nodes added to g but not linked yet (link_pending), in order */
  size_t n_pend, cap_pend;
  int ef_search, filter_pct;
  sl_hnsw_scratch sc;
  uint8_t *allow;              /* per node: may be returned (filtered search) */
  size_t cap_allow;
  sl_hnsw_cand *cand;
  size_t cap_cand;
  unsigned char *qcode;
  sqlite3_stmt *info_get, *info_put, *node_put, *node_del;
} vv_hnsw;

/* ---- SQL ---- */

static void finalize_all(vv_hnsw *h) {
  sqlite3_finalize(h->info_get), sqlite3_finalize(h->info_put), sqlite3_finalize(h->node_put);
  sqlite3_finalize(h->node_del);
  h->info_get = h->info_put = h->node_put = h->node_del = NULL;
}

static int info_put_int(vv_table *t, const char *key, sqlite3_int64 v) {
  vv_hnsw *h = t->hnsw;
  int rc = vv_stmt_fmt(t, &h->info_put, "INSERT OR REPLACE INTO \"%w\".\"%w_hnsw_info\"(key, value) VALUES (?1, ?2)");
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_text(h->info_put, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_int64(h->info_put, 2, v);
  return vv_step_done(t, h->info_put);
}

/* The version and ef_search the shadow tables hold now. */
static int read_state(vv_table *t, unsigned char version[SL_ANN_VERSION_BYTES]) {
  vv_hnsw *h = t->hnsw;
  int rc = vv_stmt_fmt(t, &h->info_get,
                "SELECT key, value FROM \"%w\".\"%w_hnsw_info\" WHERE key IN ('version', 'ef_search', "
                "'filter_exact_pct')"), have = 0;
  if (rc != SQLITE_OK) return rc;
  while ((rc = sqlite3_step(h->info_get)) == SQLITE_ROW) {
    const char *k = (const char *)sqlite3_column_text(h->info_get, 0);
    if (!k) continue;
    if (!strcmp(k, "version") && sqlite3_column_bytes(h->info_get, 1) == SL_ANN_VERSION_BYTES) {
      memcpy(version, sqlite3_column_blob(h->info_get, 1), SL_ANN_VERSION_BYTES);
      have = 1;
    } else if (!strcmp(k, "ef_search")) {
      h->ef_search = sqlite3_column_int(h->info_get, 1);
    } else if (!strcmp(k, "filter_exact_pct")) {
      h->filter_pct = sqlite3_column_int(h->info_get, 1);
    }
  }
  sqlite3_reset(h->info_get);
  if (rc != SQLITE_DONE) return vv_db_error(t, rc);
  if (!have) return sl_vtab_error(&t->base, t->name, "%s_hnsw_info lacks its 8-byte version (run semlite_vec_check)", t->name);
  if (h->ef_search < 1 || h->ef_search > SL_HNSW_MAX_EF) h->ef_search = SL_HNSW_DEFAULT_EF_SEARCH;
  if (h->filter_pct < 0 || h->filter_pct > 100) h->filter_pct = VV_HNSW_FILTER_EXACT_PCT;
  return SQLITE_OK;
}

int vv_hnsw_create(sqlite3 *db, const vv_config *cfg, const char *schema, const char *name, sl_err *err) {
  char *sql = sqlite3_mprintf(
      "CREATE TABLE \"%w\".\"%w_hnsw_info\"(key TEXT PRIMARY KEY, value);"
      "CREATE TABLE \"%w\".\"%w_hnsw_nodes\"(node INTEGER PRIMARY KEY, rowid INTEGER, level INTEGER NOT NULL, "
      "code BLOB NOT NULL, links BLOB NOT NULL);"
      "INSERT INTO \"%w\".\"%w_hnsw_info\"(key, value) VALUES ('m', %d), ('ef_construction', %d), "
      "('ef_search', %d), ('entry', -1), ('max_level', -1), ('version', randomblob(%d));",
      schema, name, schema, name, schema, name, cfg->hnsw_m, cfg->hnsw_ef_construction, cfg->hnsw_ef_search,
      SL_ANN_VERSION_BYTES);
  int rc = sql ? sqlite3_exec(db, sql, NULL, NULL, NULL) : SQLITE_NOMEM;
  sqlite3_free(sql);
  if (rc != SQLITE_OK) return sl_fail(err, "cannot create the hnsw shadow tables: %s", sqlite3_errmsg(db));
  return SL_OK;
}

/* The stored m and ef_construction (load, open). */
static int read_params(sqlite3 *db, const char *schema, const char *name, sl_hnsw_params *p, sl_hnsw_top *top,
                       sl_err *err) {
  char *sql = sqlite3_mprintf("SELECT key, value FROM \"%w\".\"%w_hnsw_info\"", schema, name);
  sqlite3_stmt *st = NULL;
  int rc = sql ? sqlite3_prepare_v2(db, sql, -1, &st, NULL) : SQLITE_NOMEM;
  long long entry = -2, max_level = -2;
  sqlite3_free(sql);
  p->m = p->ef_construction = 0;
  while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *k = (const char *)sqlite3_column_text(st, 0);
    rc = SQLITE_OK;
    if (!k) continue;
    if (!strcmp(k, "m")) p->m = sqlite3_column_int(st, 1);
    else if (!strcmp(k, "ef_construction")) p->ef_construction = sqlite3_column_int(st, 1);
    else if (!strcmp(k, "entry")) entry = sqlite3_column_int64(st, 1);
    else if (!strcmp(k, "max_level")) max_level = sqlite3_column_int64(st, 1);
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  if (rc != SQLITE_OK) sl_fail(err, "cannot read %s_hnsw_info: %s", name, sqlite3_errmsg(db));
  sqlite3_finalize(st);
  if (rc != SQLITE_OK) return SL_ERROR;
  if (p->m < 2 || p->m > SL_HNSW_MAX_M || p->ef_construction < 1 || p->ef_construction > SL_HNSW_MAX_EF)
    return sl_fail(err, "%s_hnsw_info has m=%d, ef_construction=%d", name, p->m, p->ef_construction);
  if (entry < -1 || entry >= (long long)SL_HNSW_NONE || max_level < -1 || max_level > SL_HNSW_MAX_LEVEL ||
      (entry < 0) != (max_level < 0))
    return sl_fail(err, "%s_hnsw_info has entry=%lld, max_level=%lld", name, entry, max_level);
  top->entry = entry < 0 ? SL_HNSW_NONE : (uint32_t)entry;
  top->max_level = (int)max_level;
  return SL_OK;
}

int vv_hnsw_load(sqlite3 *db, const char *schema, const char *name, size_t dims, sl_metric metric, vv_graph **out,
                 sl_err *err) {
  sl_hnsw_params p;
  sl_hnsw_top top;
  vv_graph *g;
  sqlite3_stmt *st = NULL;
  char *sql;
  int rc;
  *out = NULL;
  if (read_params(db, schema, name, &p, &top, err)) return SL_ERROR;
  if (!(g = vv_graph_new(dims, metric, &p))) return sl_oom(err);
  sql = sqlite3_mprintf("SELECT n.node, n.rowid, n.level, n.code, n.links, r.chunk_id, r.chunk_offset "
                        "FROM \"%w\".\"%w_hnsw_nodes\" n LEFT JOIN \"%w\".\"%w_rowids\" r ON r.rowid = n.rowid",
                        schema, name, schema, name);
  rc = sql ? sqlite3_prepare_v2(db, sql, -1, &st, NULL) : SQLITE_NOMEM;
  sqlite3_free(sql);
  if (rc != SQLITE_OK) {
    sl_fail(err, "cannot read %s_hnsw_nodes: %s", name, sqlite3_errmsg(db));
    goto fail;
  }
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    sqlite3_int64 node = sqlite3_column_int64(st, 0);
    int dead = sqlite3_column_type(st, 1) == SQLITE_NULL;
    if (node < 0 || node >= (sqlite3_int64)SL_HNSW_NONE) {
      sl_fail(err, "%s_hnsw_nodes has node %lld", name, (long long)node);
      goto fail;
    }
    if ((size_t)sqlite3_column_bytes(st, 3) != g->code_bytes) {
      sl_fail(err, "%s_hnsw_nodes: node %lld has a %d-byte code, expected %zu", name, (long long)node,
              sqlite3_column_bytes(st, 3), g->code_bytes);
      goto fail;
    }
    if (vv_graph_put_node(g, (uint32_t)node, sqlite3_column_int64(st, 1), dead, sqlite3_column_int(st, 2),
                          sqlite3_column_blob(st, 3), sqlite3_column_blob(st, 4),
                          (size_t)sqlite3_column_bytes(st, 4), err)) {
      char msg[SL_ERR_MAX];
      snprintf(msg, sizeof msg, "%s", err->msg);
      sl_fail(err, "%s_hnsw_nodes: %s", name, msg);
      goto fail;
    }
    if (!dead && sqlite3_column_type(st, 5) == SQLITE_NULL) {
      sl_fail(err, "%s_hnsw_nodes: node %lld names row %lld, which %s_rowids lacks", name, (long long)node,
              (long long)sqlite3_column_int64(st, 1), name);
      goto fail;
    }
    vv_graph_set_pos(g, (uint32_t)node, sqlite3_column_int64(st, 5), sqlite3_column_int(st, 6));
  }
  if (rc != SQLITE_DONE) {
    sl_fail(err, "cannot read %s_hnsw_nodes: %s", name, sqlite3_errmsg(db));
    goto fail;
  }
  sqlite3_finalize(st);
  st = NULL;
  /* every link must name a node of at least that level */
  for (uint32_t id = 0; id < g->cap; id++) {
    for (int l = 0; l <= g->level[id]; l++) {
      const uint32_t *ln = l ? g->upper[id] + (size_t)(l - 1) * (1 + (size_t)p.m) : g->l0 + (size_t)id * (1 + 2 * (size_t)p.m);
      for (uint32_t i = 1; i <= ln[0]; i++)
        if (ln[i] >= g->cap || g->level[ln[i]] < l) {
          sl_fail(err, "%s_hnsw_nodes: node %u links to node %u on level %d, which has no such node", name, id, ln[i], l);
          goto fail;
        }
    }
  }
  if (top.entry != SL_HNSW_NONE && (top.entry >= g->cap || g->level[top.entry] != top.max_level)) {
    sl_fail(err, "%s_hnsw_info: entry node %u is not a node of level %d", name, top.entry, top.max_level);
    goto fail;
  }
  if (top.entry == SL_HNSW_NONE && g->n_nodes) {
    sl_fail(err, "%s_hnsw_info has no entry node but %s_hnsw_nodes has %u nodes", name, name, g->n_nodes);
    goto fail;
  }
  g->top = top;
  if (vv_graph_loaded(g, err)) goto fail;
  *out = g;
  return SL_OK;
fail:
  sqlite3_finalize(st);
  vv_graph_free(g);
  return SL_ERROR;
}

/* ---- the connection's state ---- */

int vv_hnsw_open(vv_table *t) {
  vv_hnsw *h;
  sl_hnsw_params p;
  sl_hnsw_top top;
  sl_err err;
  if (!t->cfg.hnsw) return SQLITE_OK;
  if (read_params(t->db, t->schema, t->name, &p, &top, &err))
    return sl_vtab_fail(&t->base, t->name, &err);
  if (p.m != t->cfg.hnsw_m || p.ef_construction != t->cfg.hnsw_ef_construction)
    return sl_vtab_error(&t->base, t->name, "%s_hnsw_info has m=%d, ef_construction=%d but the declaration means "
                         "m=%d, ef_construction=%d", t->name, p.m, p.ef_construction, t->cfg.hnsw_m,
                         t->cfg.hnsw_ef_construction);
  if (!(h = sl_calloc(1, sizeof *h))) return SQLITE_NOMEM;
  h->ef_search = t->cfg.hnsw_ef_search;
  h->filter_pct = VV_HNSW_FILTER_EXACT_PCT;
  t->hnsw = h;
  return SQLITE_OK;
}

static void drop_image(vv_hnsw *h) {
  vv_graph_free(h->g);
  h->g = NULL;
  h->writing = 0;
  h->n_pend = 0;
}

void vv_hnsw_close(vv_table *t) {
  vv_hnsw *h = t->hnsw;
  const char *file = sqlite3_db_filename(t->db, t->schema);
  if (!h) return;
  /* an in-memory database's image can never be used again */
  if (!file || !*file) vv_hnsw_forget(t);
  drop_image(h);
  finalize_all(h);
  sl_hnsw_scratch_free(&h->sc);
  sl_free(h->allow), sl_free(h->cand), sl_free(h->qcode), sl_free(h->pend);
  sl_free(h);
  t->hnsw = NULL;
}

/* The image's name in the ANN cache: database file (or this connection, for in-memory
** and temporary databases), schema, table. sqlite3_free it. */
static char *cache_name(vv_table *t) {
  const char *file = sqlite3_db_filename(t->db, t->schema);
  if (!file || !*file) return sqlite3_mprintf("%p\x1f%s\x1f%s", (void *)t->db, t->schema, t->name);
  return sqlite3_mprintf("%s\x1f%s\x1f%s", file, t->schema, t->name);
}

static void graph_free_fn(void *g) { vv_graph_free(g); }

static char *cache_name(vv_table *t);

void vv_hnsw_forget(vv_table *t) {
  char *name;
  if (!t->hnsw) return;
  drop_image(t->hnsw);
  finalize_all(t->hnsw);
  if ((name = cache_name(t))) sl_ann_cache_forget(name);
  sqlite3_free(name);
}

static int load(vv_table *t, vv_graph **g) {
  sl_err err;
  if (vv_hnsw_load(t->db, t->schema, t->name, t->cfg.dims, t->cfg.metric, g, &err))
    return sl_vtab_error(&t->base, t->name, "%s (run semlite_vec_check)", err.msg);
  return SQLITE_OK;
}

/* The image to change: the connection's own, taken out of the cache, a copy of the
** cached one, or loaded. */
static int graph_for_write(vv_table *t, vv_graph **out) {
  vv_hnsw *h = t->hnsw;
  unsigned char version[SL_ANN_VERSION_BYTES];
  char *name;
  vv_graph *g = NULL;
  int rc;
  if (h->writing) {
    *out = h->g;
    return SQLITE_OK;
  }
  if ((rc = read_state(t, version)) != SQLITE_OK) return rc;
  if (!h->g || memcmp(version, h->version, sizeof version) != 0) {
    drop_image(h);
    if (!(name = cache_name(t))) return SQLITE_NOMEM;
    if (!h->txn_wrote && (g = sl_ann_cache_take(name, version)) == NULL && (g = sl_ann_cache_get(name, version))) {
      vv_graph *c = vv_graph_clone(g);
      sl_ann_cache_release(g);
      g = c;
      if (!g) rc = SQLITE_NOMEM;
    }
    sqlite3_free(name);
    if (rc == SQLITE_OK && !g) rc = load(t, &g);
    if (rc != SQLITE_OK) return rc;
    h->g = g;
    memcpy(h->version, version, sizeof version);
  }
  h->writing = h->txn_wrote = 1;
  *out = h->g;
  return SQLITE_OK;
}

static int link_pending(vv_table *t);

/* The image to search: the connection's own if current, else the cache's (pinned: release
** with sl_ann_cache_release), else loaded (and published when it may be). */
static int graph_for_read(vv_table *t, vv_graph **out, int *pinned) {
  vv_hnsw *h = t->hnsw;
  unsigned char version[SL_ANN_VERSION_BYTES];
  char *name;
  vv_graph *g;
  int rc;
  *pinned = 0;
  if (h->writing) {
    *out = h->g;
    return link_pending(t);
  }
  if ((rc = read_state(t, version)) != SQLITE_OK) return rc;
  if (h->g && memcmp(version, h->version, sizeof version) == 0) {
    *out = h->g;
    return SQLITE_OK;
  }
  drop_image(h);
  if (!(name = cache_name(t))) return SQLITE_NOMEM;
  if (!h->txn_wrote && (g = sl_ann_cache_get(name, version))) {
    sqlite3_free(name);
    *out = g;
    *pinned = 1;
    return SQLITE_OK;
  }
  if ((rc = load(t, &g)) != SQLITE_OK) {
    sqlite3_free(name);
    return rc;
  }
  if (!h->txn_wrote && sl_ann_cache_put(name, version, g, vv_graph_bytes(g), g->n_nodes, graph_free_fn)) {
    *pinned = 1;
  } else {
    h->g = g;  /* kept by the connection: the cache is off, full, or the data uncommitted */
    memcpy(h->version, version, sizeof version);
  }
  sqlite3_free(name);
  *out = g;
  return SQLITE_OK;
}

/* ---- linking ---- */

static int engine_error(vv_table *t, const sl_err *err);

/* Bulk builds of at least this many nodes are a semlite_progress job "hnsw-build". */
#define PROGRESS_MIN 1024

static void progress_done(void *arg, size_t linked) { sl_progress_set(*(int *)arg, (int64_t)linked); }

/* Links the nodes inserts added since the last call (vv_hnsw_insert only adds them), in
** batches on the worker pool (sl_hnsw_insert_batch). Called before anything reads or
** changes the graph otherwise: a search by this connection, a delete, a write-out. */
static int link_pending(vv_table *t) {
  vv_hnsw *h = t->hnsw;
  vv_graph *g = h->g;
  sl_hnsw_store s;
  sl_hnsw_top before;
  sl_err err;
  int job = 0, rc;
  if (!h->n_pend || !g) return SQLITE_OK;
  if (h->n_pend >= PROGRESS_MIN) job = sl_progress_begin("hnsw-build", t->name, (int64_t)h->n_pend);
  vv_graph_store(g, &s);
  before = g->top;
  rc = sl_hnsw_insert_batch(&s, &g->p, &h->sc, h->pend, h->n_pend, job ? progress_done : NULL, &job, &err);
  sl_progress_end(job);
  h->n_pend = 0;
  if (rc) return engine_error(t, &err);
  if (before.entry != g->top.entry || before.max_level != g->top.max_level) g->top_dirty |= 1;
  return SQLITE_OK;
}

/* ---- writing out ---- */

static int write_node(vv_table *t, vv_graph *g, uint32_t id, unsigned char *buf) {
  vv_hnsw *h = t->hnsw;
  int rc;
  if (g->level[id] < 0) {
    if ((rc = vv_stmt_fmt(t, &h->node_del, "DELETE FROM \"%w\".\"%w_hnsw_nodes\" WHERE node = ?1")) != SQLITE_OK) return rc;
    sqlite3_bind_int64(h->node_del, 1, id);
    return vv_step_done(t, h->node_del);
  }
  if ((rc = vv_stmt_fmt(t, &h->node_put, "INSERT OR REPLACE INTO \"%w\".\"%w_hnsw_nodes\"(node, rowid, level, code, links) "
                                  "VALUES (?1, ?2, ?3, ?4, ?5)")) != SQLITE_OK)
    return rc;
  sqlite3_bind_int64(h->node_put, 1, id);
  if (!g->dead[id]) sqlite3_bind_int64(h->node_put, 2, g->rowid[id]);
  sqlite3_bind_int(h->node_put, 3, g->level[id]);
  sqlite3_bind_blob(h->node_put, 4, g->codes + (size_t)id * g->code_bytes, (int)g->code_bytes, SQLITE_STATIC);
  sqlite3_bind_blob(h->node_put, 5, buf, (int)vv_graph_links_encode(g, id, buf), SQLITE_STATIC);
  return vv_step_done(t, h->node_put);
}

int vv_hnsw_flush(vv_table *t) {
  vv_hnsw *h = t->hnsw;
  vv_graph *g = h ? h->g : NULL;
  unsigned char *buf, version[SL_ANN_VERSION_BYTES];
  sqlite3_stmt *st;
  int rc = SQLITE_OK;
  if (h && h->failed)
    return sl_vtab_error(&t->base, t->name, "hnsw index: a change in this transaction failed half way (out of memory); "
                         "roll it back");
  if (!g || !h->writing) return SQLITE_OK;
  if ((rc = link_pending(t)) != SQLITE_OK) return rc;
  if (!g->n_dirty && !g->top_dirty) return SQLITE_OK;
  if (!(buf = sl_malloc(vv_graph_links_max(g)))) return SQLITE_NOMEM;
  if (g->top_dirty & 2) {  /* lost track of what changed: write every node */
    rc = vv_exec_fmt(t, "DELETE FROM \"%w\".\"%w_hnsw_nodes\"");
    for (uint32_t id = 0; id < g->cap && rc == SQLITE_OK; id++)
      if (g->level[id] >= 0) rc = write_node(t, g, id, buf);
  } else {
    for (size_t i = 0; i < g->n_dirty && rc == SQLITE_OK; i++) rc = write_node(t, g, g->dirty_list[i], buf);
  }
  sl_free(buf);
  if (rc == SQLITE_OK) rc = info_put_int(t, "entry", g->top.entry == SL_HNSW_NONE ? -1 : (sqlite3_int64)g->top.entry);
  if (rc == SQLITE_OK) rc = info_put_int(t, "max_level", g->top.max_level);
  if (rc == SQLITE_OK) {
    sqlite3_randomness(sizeof version, version);
    if ((rc = vv_stmt_fmt(t, &h->info_put, "INSERT OR REPLACE INTO \"%w\".\"%w_hnsw_info\"(key, value) VALUES (?1, ?2)")) ==
        SQLITE_OK) {
      st = h->info_put;
      sqlite3_bind_text(st, 1, "version", -1, SQLITE_STATIC);
      sqlite3_bind_blob(st, 2, version, sizeof version, SQLITE_STATIC);
      rc = vv_step_done(t, st);
    }
  }
  if (rc == SQLITE_OK) {
    memcpy(h->version, version, sizeof version);
    vv_graph_clean(g);
  }
  return rc;
}

void vv_hnsw_commit(vv_table *t) {
  vv_hnsw *h = t->hnsw;
  char *name;
  if (!h) return;
  if (h->writing && h->g && !h->g->n_dirty && !h->g->top_dirty && (name = cache_name(t))) {
    if (sl_ann_cache_put(name, h->version, h->g, vv_graph_bytes(h->g), h->g->n_nodes, graph_free_fn)) {
      sl_ann_cache_release(h->g);
      h->g = NULL;
    }
    sqlite3_free(name);
  } else if (h->writing) {
    drop_image(h);
  }
  h->writing = h->txn_wrote = 0;
}

void vv_hnsw_rollback(vv_table *t, int end_of_transaction) {
  vv_hnsw *h = t->hnsw;
  if (!h) return;
  if (h->writing || h->txn_wrote) drop_image(h);
  h->failed = 0;  /* the shadow tables are the truth again */
  if (end_of_transaction) h->txn_wrote = 0;
}

/* ---- row changes ---- */

/* A change of the image failed after it began: the transaction may not commit it (see
** vv_hnsw_flush) and must roll back. */
static int engine_error(vv_table *t, const sl_err *err) {
  t->hnsw->failed = 1;
  return sl_vtab_error(&t->base, t->name, "hnsw index: %s", err->msg);
}

static int purge_if_due(vv_table *t, vv_graph *g) {
  sl_hnsw_store s;
  sl_err err;
  /* (a graph of tombstones only goes at once) */
  if (g->n_dead < g->n_nodes && (g->n_dead < 16 || (size_t)g->n_dead * 100 < (size_t)g->n_nodes * VV_HNSW_PURGE_PCT))
    return SQLITE_OK;
  vv_graph_store(g, &s);
  if (sl_hnsw_purge(&s, &g->p, &t->hnsw->sc, &err)) return engine_error(t, &err);
  g->top_dirty |= 1;
  return SQLITE_OK;
}

/* The node is added now and linked later with the others of its transaction
** (link_pending), so a bulk insert links in parallel batches. */
int vv_hnsw_insert(vv_table *t, sqlite3_int64 rowid, sqlite3_int64 chunk, size_t slot, const float *vec) {
  vv_hnsw *h = t->hnsw;
  vv_graph *g;
  uint32_t node;
  sl_err err;
  int rc;
  if (!h) return SQLITE_OK;
  if ((rc = graph_for_write(t, &g)) != SQLITE_OK) return rc;
  if ((node = vv_graph_find(g, rowid)) != SL_HNSW_NONE) {  /* a new vector: the old node goes */
    if ((rc = link_pending(t)) != SQLITE_OK) return rc;
    vv_graph_kill(g, node);
  }
  if (h->n_pend == h->cap_pend) {
    size_t cap = h->cap_pend ? 2 * h->cap_pend : 256;
    uint32_t *p = sl_realloc(h->pend, cap * sizeof *p);
    if (!p) return SQLITE_NOMEM;
    h->pend = p, h->cap_pend = cap;
  }
  if (vv_graph_add(g, rowid, chunk, (int32_t)slot, vec, sl_hnsw_random_level((uint64_t)rowid, SEED, g->p.m), &node, &err))
    return engine_error(t, &err);
  h->pend[h->n_pend++] = node;
  return SQLITE_OK;
}

int vv_hnsw_delete(vv_table *t, sqlite3_int64 rowid) {
  vv_graph *g;
  uint32_t node;
  int rc;
  if (!t->hnsw) return SQLITE_OK;
  if ((rc = graph_for_write(t, &g)) != SQLITE_OK || (rc = link_pending(t)) != SQLITE_OK) return rc;
  if ((node = vv_graph_find(g, rowid)) == SL_HNSW_NONE) return SQLITE_OK;
  vv_graph_kill(g, node);
  return purge_if_due(t, g);
}

int vv_hnsw_rename(vv_table *t, sqlite3_int64 old_rowid, sqlite3_int64 rowid) {
  vv_graph *g;
  uint32_t node;
  sl_err err;
  int rc;
  if (!t->hnsw) return SQLITE_OK;
  if ((rc = graph_for_write(t, &g)) != SQLITE_OK || (rc = link_pending(t)) != SQLITE_OK) return rc;
  if ((node = vv_graph_find(g, old_rowid)) == SL_HNSW_NONE)
    return sl_vtab_error(&t->base, t->name, "row %lld has no node in the hnsw index (run semlite_vec_check)",
                         (long long)old_rowid);
  if (vv_graph_rename(g, node, rowid, &err)) return engine_error(t, &err);
  return SQLITE_OK;
}

/* ---- commands ---- */

/* Rebuilds the index from the rows' vectors, in rowid order. */
static int rebuild(vv_table *t) {
  vv_hnsw *h = t->hnsw;
  vv_graph *g;
  sqlite3_stmt *st = NULL;
  float *vec = sqlite3_malloc64(t->lay.vec_bytes);
  char *sql;
  int rc = vec ? SQLITE_OK : SQLITE_NOMEM;
  sl_hnsw_params p = {t->cfg.hnsw_m, t->cfg.hnsw_ef_construction};
  if (rc == SQLITE_OK && (rc = graph_for_write(t, &g)) == SQLITE_OK) {
    vv_graph *fresh = vv_graph_new(t->cfg.dims, t->cfg.metric, &p);
    if (!fresh) rc = SQLITE_NOMEM;
    else {
      vv_graph_free(h->g);
      h->g = fresh;
      h->n_pend = 0;  /* the old image's */
      fresh->top_dirty = 2;  /* everything is written anew */
    }
  }
  if (rc == SQLITE_OK) {
    sql = sqlite3_mprintf("SELECT rowid, chunk_id, chunk_offset FROM \"%w\".\"%w_rowids\" ORDER BY rowid", t->schema, t->name);
    rc = sql ? sqlite3_prepare_v2(t->db, sql, -1, &st, NULL) : SQLITE_NOMEM;
    sqlite3_free(sql);
    if (rc != SQLITE_OK && rc != SQLITE_NOMEM) rc = vv_db_error(t, rc);
  }
  while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    sqlite3_int64 chunk = sqlite3_column_int64(st, 1), slot = sqlite3_column_int64(st, 2);
    rc = vv_chunk_read(t, "vectors", chunk, vec, t->lay.vec_bytes, (size_t)slot * t->lay.vec_bytes);
    if (rc == SQLITE_OK) rc = vv_hnsw_insert(t, sqlite3_column_int64(st, 0), chunk, (size_t)slot, vec);
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  else if (rc != SQLITE_OK && rc != SQLITE_NOMEM && !t->base.zErrMsg) rc = vv_db_error(t, rc);
  sqlite3_finalize(st);
  sqlite3_free(vec);
  if (h->g) h->g->top_dirty = 2;
  return rc;
}

int vv_hnsw_command(vv_table *t, const char *cmd) {
  vv_hnsw *h = t->hnsw;
  vv_graph *g;
  sl_hnsw_store s;
  sl_err err;
  int rc;
  if (!h) return sl_vtab_error(&t->base, t->name, "unknown command '%s': %s has no index (declare "
                               "'indexed by hnsw(...)')", cmd, t->name);
  static const struct { const char *key; long lo, hi; } knobs[] = {
    {"ef_search", 1, SL_HNSW_MAX_EF}, {"filter_exact_pct", 0, 100}};
  for (size_t i = 0; i < sizeof knobs / sizeof knobs[0]; i++) {
    size_t n = strlen(knobs[i].key);
    char *end;
    long v;
    if (sqlite3_strnicmp(cmd, knobs[i].key, (int)n) != 0 || cmd[n] != '=') continue;
    v = strtol(cmd + n + 1, &end, 10);
    if (!cmd[n + 1] || *end || v < knobs[i].lo || v > knobs[i].hi)
      return sl_vtab_error(&t->base, t->name, "hnsw option %s must be an integer from %ld to %ld, got '%s'",
                           knobs[i].key, knobs[i].lo, knobs[i].hi, cmd + n + 1);
    if ((rc = info_put_int(t, knobs[i].key, v)) != SQLITE_OK) return rc;
    if (i == 0) h->ef_search = (int)v;
    else h->filter_pct = (int)v;
    return SQLITE_OK;
  }
  if (sqlite3_stricmp(cmd, "hnsw-rebuild") == 0) return rebuild(t);
  if (sqlite3_stricmp(cmd, "hnsw-purge") == 0) {
    if ((rc = graph_for_write(t, &g)) != SQLITE_OK || (rc = link_pending(t)) != SQLITE_OK) return rc;
    vv_graph_store(g, &s);
    if (sl_hnsw_purge(&s, &g->p, &h->sc, &err)) return engine_error(t, &err);
    g->top_dirty |= 1;
    return SQLITE_OK;
  }
  return sl_vtab_error(&t->base, t->name, "unknown command '%s' (ef_search=N, filter_exact_pct=N, hnsw-rebuild, "
                       "hnsw-purge)", cmd);
}

/* ---- searching ---- */

static int accept_allowed(void *arg, uint32_t node) { return ((const uint8_t *)arg)[node]; }

int vv_hnsw_filter_exact(vv_table *t, size_t n_allowed, int *exact) {
  vv_graph *g;
  int pinned, rc = graph_for_read(t, &g, &pinned);
  if (rc != SQLITE_OK) return rc;
  *exact = n_allowed * 100 < (size_t)(g->n_nodes - g->n_dead) * (size_t)t->hnsw->filter_pct;
  if (pinned) sl_ann_cache_release(g);
  return SQLITE_OK;
}

int vv_hnsw_candidates(vv_table *t, const float *q, size_t k, const sl_chunk_pos *allowed, size_t n_allowed,
                       sl_knn_hit **hits, size_t *n_hits) {
  vv_hnsw *h = t->hnsw;
  vv_graph *g;
  sl_hnsw_store s;
  sl_err err;
  size_t ef, n = 0;
  int pinned, rc;
  *hits = NULL;
  *n_hits = 0;
  if ((rc = graph_for_read(t, &g, &pinned)) != SQLITE_OK) return rc;
  ef = (size_t)h->ef_search > k ? (size_t)h->ef_search : k;
  if ((!h->qcode && !(h->qcode = sl_malloc(g->code_bytes))) ||
      (h->cap_cand < ef && (sl_free(h->cand), h->cap_cand = 0, !(h->cand = sl_malloc(ef * sizeof *h->cand)))) ||
      (allowed && h->cap_allow < g->cap && (sl_free(h->allow), h->cap_allow = 0, !(h->allow = sl_malloc(g->cap))))) {
    rc = SQLITE_NOMEM;
    goto done;
  }
  if (h->cap_cand < ef) h->cap_cand = ef;
  if (allowed) {
    if (h->cap_allow < g->cap) h->cap_allow = g->cap;
    memset(h->allow, 0, g->cap);
    for (size_t i = 0; i < n_allowed; i++) {
      uint32_t node = vv_graph_find(g, allowed[i].rowid);
      if (node != SL_HNSW_NONE) h->allow[node] = 1;
    }
  }
  sl_quantize(&g->code_lay, q, h->qcode);
  vv_graph_store(g, &s);
  if (sl_hnsw_search(&s, &h->sc, h->qcode, ef, allowed ? accept_allowed : NULL, h->allow, h->cand, &n, &err)) {
    rc = sl_vtab_error(&t->base, t->name, "hnsw index: %s", err.msg);
    goto done;
  }
  if (n && !(*hits = sqlite3_malloc64(n * sizeof **hits))) {
    rc = SQLITE_NOMEM;
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    uint32_t id = h->cand[i].id;
    (*hits)[i] = (sl_knn_hit){.distance = h->cand[i].d, .offset = g->slot[id], .rowid = g->rowid[id], .chunk_id = g->chunk[id]};
  }
  *n_hits = n;
done:
  if (pinned) sl_ann_cache_release(g);
  return rc;
}
