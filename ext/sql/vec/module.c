/*
** module.c: the semlite_vec module (sqlite3_module sl_vec_module): create/connect/
** destroy/rename of a table and its shadow tables, transactions, query planning
** (xBestIndex) and cursors (xFilter...). The work is done below it: config.h parses
** the declaration, store.h reads the shadow tables, search.h runs the k-NN search,
** write.h does xUpdate. See vec.h for the files and docs/vector-search.md for the SQL.
**
** Two kinds of scan:
**   k-NN   `vec MATCH ? AND k = ?` (idxNum 1): vv_search() computes the k best rows in
**          xFilter, with the metadata filters applied before the top-k; the cursor
**          walks the hits and looks up their other columns lazily.
**   plain  no MATCH (idxNum 0): one SQL query over T_rowids with the pushed-down
**          filters, in rowid order, like a normal table.
** idxStr lists what each xFilter argument is, one token per argument, comma separated:
**   m            the MATCH vector
**   k            the k value
**   l, o         LIMIT and OFFSET (SQLite >= 3.38 passes them when it can): k is their sum
**                when the query has no k; a MATCH with neither ranks every row, and
**                SQLite's own LIMIT stops the walk (how `ORDER BY distance LIMIT n`
**                works on SQLite 3.40, which keeps LIMIT to itself beside MATCH)
**   d<op>        a distance constraint (op is SQLITE_INDEX_CONSTRAINT_*)
**   f<op>:<col>[:<collation>]   a filter on rowid (col -1; also vec0's key column) or a
**                               metadata column
**   i0:<col>[:<collation>]      an IN list on one, handled all at once
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "search.h"
#include "store.h"
#include "write.h"
#include "identity.h"
#include "index_hnsw.h"
#include "index_ivf.h"

/* ---- create, connect, destroy ---- */

static const char *const shadow_names[] = {"info", "chunks", "rowids", "aux", "hnsw_info", "hnsw_nodes",
                                           "ivf_info", "ivf_centroids", "ivf_lists"};

static void table_free(vv_table *t) {
  if (!t) return;
  vv_discard(t);
  vv_progress_end(t);
  vv_hnsw_close(t);
  vv_ivf_close(t);
  sqlite3_free(t->pending);
  sqlite3_free(t->dirty);
  sqlite3_free(t->vmemo);
  sqlite3_free(t->vmemo_known);
  vv_stmts_finalize(t);
  vv_config_free(&t->cfg);
  sqlite3_free(t->schema);
  sqlite3_free(t->name);
  sqlite3_free(t->base.zErrMsg);
  sqlite3_free(t);
}

/* The layout facts the shadow tables were written with must match the declaration
** (a hand-edited schema or a bug would otherwise misread every chunk). */
static int check_info(vv_table *t) {
  char *sql = sqlite3_mprintf("SELECT key, value FROM \"%w\".\"%w_info\"", t->schema, t->name);
  sqlite3_stmt *st;
  vv_fact facts[VV_N_FACTS];
  int rc, seen = 0, vec0_so = 0, seen_more = 0;
  if (!sql) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(t->db, sql, -1, &st, NULL);
  sqlite3_free(sql);
  if (rc != SQLITE_OK)
    return sl_vtab_error(&t->base, t->name, "cannot read shadow table %s_info: %s", t->name, sqlite3_errmsg(t->db));
  vv_config_facts(&t->cfg, facts);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *key = (const char *)sqlite3_column_text(st, 0);
    const char *value = (const char *)sqlite3_column_text(st, 1);
    if (key && strcmp(key, "CREATE_VERSION") == 0) vec0_so = 1;
    if (key && strcmp(key, "vectors") == 0) {  /* the other vector columns */
      char *more = vv_config_vectors_fact(&t->cfg);
      int same = more && value && strcmp(more, value) == 0;
      if (!same)
        rc = sl_vtab_error(&t->base, t->name, "shadow table %s_info has vectors=%s but the declaration means "
                           "vectors=%s", t->name, value ? value : "NULL", more ? more : "");
      sqlite3_free(more);
      if (!same) {
        sqlite3_finalize(st);
        return rc;
      }
      seen_more = 1;
    }
    for (int i = 0; key && i < VV_N_FACTS; i++) {
      if (strcmp(key, facts[i].key) != 0) continue;
      seen |= 1 << i;
      if (!value || strcmp(value, facts[i].value) != 0) {
        rc = sl_vtab_error(&t->base, t->name, "shadow table %s_info has %s=%s but the declaration means %s=%s",
                           t->name, key, value ? value : "NULL", key, facts[i].value);
        sqlite3_finalize(st);
        return rc;
      }
    }
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE)
    return sl_vtab_error(&t->base, t->name, "cannot read shadow table %s_info: %s", t->name, sqlite3_errmsg(t->db));
  if (!(seen & 1) && vec0_so)
    return sl_vtab_error(&t->base, t->name, "written by sqlite-vec's vec0.so, whose storage semlite does not "
                         "read, and left as it was (semlite converts the main schema's such tables when it is loaded on a "
                         "writable connection): run SELECT semlite_vec_migrate('%s') once to convert it in place", t->name);
  if (!seen_more && t->cfg.n_vecs > 1)
    return sl_vtab_error(&t->base, t->name, "shadow table %s_info lacks 'vectors'", t->name);
  for (int i = 0; i < VV_N_FACTS; i++)
    if (!(seen & (1 << i)))
      return sl_vtab_error(&t->base, t->name, "shadow table %s_info lacks '%s'", t->name, facts[i].key);
  return SQLITE_OK;
}

/* The shadow tables of a new table, and its facts. */
static int create_shadow(vv_table *t) {
  sl_err err;
  if (vv_shadow_create(t->db, &t->cfg, t->schema, t->name, &err))
    return sl_vtab_fail(&t->base, t->name, &err);
  return SQLITE_OK;
}

/* A chunk's vectors are one BLOB: refuse at CREATE a chunk_size whose BLOB SQLite could
** never store, rather than fail every insert. */
static int check_chunk_bytes(vv_table *t) {
  const sqlite3_int64 limit = sqlite3_limit(t->db, SQLITE_LIMIT_LENGTH, -1);
  for (int j = 0; j < t->cfg.n_vecs; j++) {
    const sl_chunk_layout *lay = j ? &t->xlay[j] : &t->lay;
    const sqlite3_int64 bytes = (sqlite3_int64)lay->vec_bytes * t->cfg.chunk_size;
    if (bytes <= limit) continue;
    return sl_vtab_error(&t->base, t->name,
                         "chunk_size=%d of %s[%zu] vectors makes %lld-byte chunks, over SQLite's %lld-byte limit on a "
                         "BLOB (SQLITE_LIMIT_LENGTH): use chunk_size=%lld or less",
                         t->cfg.chunk_size, sl_knn_type_name(lay->type), lay->dims, (long long)bytes,
                         (long long)limit, (long long)(limit / (sqlite3_int64)lay->vec_bytes) / 8 * 8);
  }
  return SQLITE_OK;
}

static int vv_init(sqlite3 *db, sl_cache *cache, int argc, const char *const *argv, sqlite3_vtab **out,
                   char **errmsg, int create, int vec0) {
  vv_table *t = sqlite3_malloc(sizeof *t);
  sl_err err;
  int rc = SQLITE_OK;
  char *sql;

  *out = NULL;
  if (!t) return SQLITE_NOMEM;
  memset(t, 0, sizeof *t);
  t->db = db;
  t->cache = cache;
  t->schema = sqlite3_mprintf("%s", argv[1]);
  t->name = sqlite3_mprintf("%s", argv[2]);
  if (!t->schema || !t->name) {
    table_free(t);
    return SQLITE_NOMEM;
  }
  if (vv_config_parse(argc - 3, argv + 3, vec0, &t->cfg, &err)) {
    /* in the vec0 dialect under sqlite-vec's prefix, which its users match on */
    *errmsg = sqlite3_mprintf("%s: %s", vec0 ? "vec0 constructor error" : t->name, err.msg);
    table_free(t);
    return SQLITE_ERROR;
  }
  sl_chunk_layout_init(&t->lay, t->cfg.type, t->cfg.dims, t->cfg.metric, t->cfg.quant, (size_t)t->cfg.chunk_size);
  for (int j = 1; j < t->cfg.n_vecs; j++)
    sl_chunk_layout_init(&t->xlay[j], t->cfg.vecs[j].type, t->cfg.vecs[j].dims, t->cfg.vecs[j].metric, SL_QUANT_NONE,
                         (size_t)t->cfg.chunk_size);
  /* model= must name a loaded embedding model of the column's size when the table is
  ** created. An existing table connects without it: models are loaded per process,
  ** and a database must open before anyone had the chance to load one. */
  if (create) rc = check_chunk_bytes(t);
  if (rc == SQLITE_OK && create && t->cfg.model) rc = vv_model_check(t);
  if (rc == SQLITE_OK) {
    sql = vv_config_declaration(&t->cfg, t->name);
    rc = sql ? sqlite3_declare_vtab(db, sql) : SQLITE_NOMEM;
    sqlite3_free(sql);
    if (rc != SQLITE_OK && rc != SQLITE_NOMEM)
      sl_vtab_error(&t->base, t->name, "cannot declare the table: %s", sqlite3_errmsg(db));
  }
  if (rc == SQLITE_OK) rc = create ? create_shadow(t) : check_info(t);
  if (rc == SQLITE_OK && create && t->cfg.model) rc = vv_identity_record(t);
  if (rc == SQLITE_OK) rc = vv_hnsw_open(t);
  if (rc == SQLITE_OK) rc = vv_ivf_open(t);
  if (rc != SQLITE_OK) {
    *errmsg = t->base.zErrMsg ? sqlite3_mprintf("%s", t->base.zErrMsg) : NULL;
    table_free(t);
    return rc;
  }
  /* xUpdate reports rowid conflicts as SQLITE_CONSTRAINT and implements REPLACE. */
  sqlite3_vtab_config(db, SQLITE_VTAB_CONSTRAINT_SUPPORT, 1);
  *out = &t->base;
  return SQLITE_OK;
}

static int vv_create(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
                     char **errmsg) {
  return vv_init(db, aux, argc, argv, out, errmsg, 1, 0);
}

static int vv_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
                      char **errmsg) {
  return vv_init(db, aux, argc, argv, out, errmsg, 0, 0);
}

/* The same module under sqlite-vec's name, in its dialect (config.h). */
static int vv_create0(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
                      char **errmsg) {
  return vv_init(db, aux, argc, argv, out, errmsg, 1, 1);
}

static int vv_connect0(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
                       char **errmsg) {
  return vv_init(db, aux, argc, argv, out, errmsg, 0, 1);
}

static int vv_disconnect(sqlite3_vtab *vtab) {
  table_free((vv_table *)vtab);
  return SQLITE_OK;
}

static int vv_destroy(sqlite3_vtab *vtab) {
  vv_table *t = (vv_table *)vtab;
  int rc = SQLITE_OK;
  vv_stmts_finalize(t);
  vv_hnsw_forget(t);
  vv_ivf_forget(t);
  for (size_t i = 0; i < sizeof shadow_names / sizeof shadow_names[0] && rc == SQLITE_OK; i++) {
    char *sql = sqlite3_mprintf("DROP TABLE IF EXISTS \"%w\".\"%w_%s\"", t->schema, t->name, shadow_names[i]);
    rc = sql ? sqlite3_exec(t->db, sql, NULL, NULL, NULL) : SQLITE_NOMEM;
    sqlite3_free(sql);
  }
  if (rc != SQLITE_OK) return vv_db_error(t, rc);
  table_free(t);
  return SQLITE_OK;
}

static int vv_rename(sqlite3_vtab *vtab, const char *new_name) {
  vv_table *t = (vv_table *)vtab;
  int rc = vv_flush(t);
  char *name;
  if (rc == SQLITE_OK) rc = vv_hnsw_flush(t);
  if (rc != SQLITE_OK) return rc;
  vv_stmts_finalize(t);
  vv_hnsw_forget(t);
  vv_ivf_forget(t);
  for (size_t i = 0; i < sizeof shadow_names / sizeof shadow_names[0] && rc == SQLITE_OK; i++) {
    if ((i == 3 && t->cfg.n_aux == 0) || (i >= 4 && i < 6 && !t->cfg.hnsw) || (i >= 6 && !t->cfg.ivf)) continue;
    char *sql = sqlite3_mprintf("ALTER TABLE \"%w\".\"%w_%s\" RENAME TO \"%w_%s\"", t->schema, t->name,
                                shadow_names[i], new_name, shadow_names[i]);
    rc = sql ? sqlite3_exec(t->db, sql, NULL, NULL, NULL) : SQLITE_NOMEM;
    sqlite3_free(sql);
  }
  if (rc != SQLITE_OK) return vv_db_error(t, rc);
  if (!(name = sqlite3_mprintf("%s", new_name))) return SQLITE_NOMEM;
  sqlite3_free(t->name);
  t->name = name;
  return SQLITE_OK;
}

/* ---- transactions ----
** The shadow tables carry all state, so SQLite's own journal undoes everything; the
** only thing held in memory is the queue of rows waiting for embedding (vv_flush). */

static int vv_begin(sqlite3_vtab *vtab) { return SQLITE_OK; }

/* Rows waiting for embedding, then the index's changed nodes (index_hnsw.h): written
** before SQLite commits, and before a savepoint or statement journal starts, so that
** rolling back to it never needs what was only in memory. */
static int write_out(vv_table *t) {
  int rc = vv_flush_uncached(t);
  return rc == SQLITE_OK ? vv_hnsw_flush(t) : rc;
}

static int vv_sync(sqlite3_vtab *vtab) { return write_out((vv_table *)vtab); }
static int vv_savepoint(sqlite3_vtab *vtab, int n) { return write_out((vv_table *)vtab); }
static int vv_release(sqlite3_vtab *vtab, int n) { return SQLITE_OK; }

/* The queue only holds rows inserted since the last savepoint (vv_savepoint flushed
** the older ones), so rolling back to any savepoint drops all of it. */
static int vv_rollback_to(sqlite3_vtab *vtab, int n) {
  vv_discard((vv_table *)vtab);
  vv_chunks_clean((vv_table *)vtab);
  vv_hnsw_rollback((vv_table *)vtab, 0);
  return SQLITE_OK;
}

static int vv_end(sqlite3_vtab *vtab) {
  vv_discard((vv_table *)vtab);
  vv_progress_end((vv_table *)vtab);
  vv_chunks_clean((vv_table *)vtab);
  return SQLITE_OK;
}

static int vv_commit(sqlite3_vtab *vtab) {
  vv_hnsw_commit((vv_table *)vtab);
  vv_ivf_end((vv_table *)vtab);
  return vv_end(vtab);
}

static int vv_rollback(sqlite3_vtab *vtab) {
  vv_hnsw_rollback((vv_table *)vtab, 1);
  vv_ivf_end((vv_table *)vtab);
  return vv_end(vtab);
}

static int vv_shadow_name(const char *suffix) {
  for (size_t i = 0; i < sizeof shadow_names / sizeof shadow_names[0]; i++)
    if (sqlite3_stricmp(suffix, shadow_names[i]) == 0) return 1;
  return 0;
}

/* ---- planning ---- */

/* Filter operators pushed down to the T_rowids query (SQLite's own semantics there). */
static int pushable_op(int op) {
  switch (op) {
    case SQLITE_INDEX_CONSTRAINT_EQ: case SQLITE_INDEX_CONSTRAINT_GT: case SQLITE_INDEX_CONSTRAINT_LE:
    case SQLITE_INDEX_CONSTRAINT_LT: case SQLITE_INDEX_CONSTRAINT_GE: case SQLITE_INDEX_CONSTRAINT_NE:
    case SQLITE_INDEX_CONSTRAINT_IS: case SQLITE_INDEX_CONSTRAINT_ISNOT:
    case SQLITE_INDEX_CONSTRAINT_ISNULL: case SQLITE_INDEX_CONSTRAINT_ISNOTNULL:
    case SQLITE_INDEX_CONSTRAINT_LIKE: case SQLITE_INDEX_CONSTRAINT_GLOB:
      return 1;
  }
  return 0;
}

static int is_distance_op(int op) {
  return op == SQLITE_INDEX_CONSTRAINT_LT || op == SQLITE_INDEX_CONSTRAINT_LE ||
         op == SQLITE_INDEX_CONSTRAINT_GT || op == SQLITE_INDEX_CONSTRAINT_GE;
}

/* A collation we can name in SQL: BINARY (returned as "") or a plain identifier. */
static int usable_collation(sqlite3_index_info *info, int i, char *out, size_t cap) {
  const char *c = sqlite3_vtab_collation(info, i);
  size_t n;
  out[0] = 0;
  if (!c || sqlite3_stricmp(c, "BINARY") == 0) return 1;
  n = strlen(c);
  if (n == 0 || n >= cap) return 0;
  for (size_t j = 0; j < n; j++)
    if (!(c[j] == '_' || (c[j] >= '0' && c[j] <= '9') || (c[j] >= 'a' && c[j] <= 'z') || (c[j] >= 'A' && c[j] <= 'Z')))
      return 0;
  memcpy(out, c, n + 1);
  return 1;
}

/* SQLite >= 3.38's LIMIT and OFFSET constraints (headers older than that lack them). */
#define VV_CONSTRAINT_LIMIT 73
#define VV_CONSTRAINT_OFFSET 74

static int is_rowid_col(const vv_config *cfg, int col) { return col == -1 || (col >= 0 && col == cfg->key_col); }

static int vv_best_index(sqlite3_vtab *vtab, sqlite3_index_info *info) {
  vv_table *t = (vv_table *)vtab;
  const vv_config *cfg = &t->cfg;
  int match = -1, match_unusable = 0, kc = -1, k_unusable = 0, n_argv = 0, knn, n_filters = 0;
  int limit = -1, offset = -1;
  /* sqlite3_vtab_in needs 3.38; without it an IN looks like one = per value. */
  int have_in = sqlite3_libversion_number() >= 3038000;
  sqlite3_str *s;

  for (int i = 0; i < info->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &info->aConstraint[i];
    if (c->iColumn >= 0 && c->iColumn < cfg->n_cols && cfg->cols[c->iColumn].kind == VV_VECTOR &&
        c->op == SQLITE_INDEX_CONSTRAINT_MATCH) {
      if (!c->usable) match_unusable = 1;
      else if (match >= 0) return sl_vtab_error(&t->base, t->name, "only one MATCH constraint per query");
      else match = i;
    } else if (c->iColumn == VV_COL_K(cfg) && c->op == SQLITE_INDEX_CONSTRAINT_EQ) {
      if (!c->usable) k_unusable = 1;
      else if (kc >= 0) return sl_vtab_error(&t->base, t->name, "only one k constraint per query");
      else kc = i;
    } else if (c->op == VV_CONSTRAINT_LIMIT && c->usable) {
      limit = i;
    } else if (c->op == VV_CONSTRAINT_OFFSET && c->usable) {
      offset = i;
    }
  }
  if (match < 0 && match_unusable) return SQLITE_CONSTRAINT;  /* another join order will do */
  knn = match >= 0;
  if (knn && kc < 0 && k_unusable) return SQLITE_CONSTRAINT;  /* k comes from a table joined first */
  if (!knn && (kc >= 0 || k_unusable))
    return sl_vtab_error(&t->base, t->name, "k = N only applies to a k-NN query (%s MATCH <vector> AND k = N)",
                         cfg->cols[cfg->vec_col].name);

  s = sqlite3_str_new(NULL);
  if (knn) {
    info->aConstraintUsage[match].argvIndex = ++n_argv;
    info->aConstraintUsage[match].omit = 1;
    sqlite3_str_appendall(s, "m");
    if (kc >= 0) {
      info->aConstraintUsage[kc].argvIndex = ++n_argv;
      info->aConstraintUsage[kc].omit = 1;
      sqlite3_str_appendall(s, ",k");
    } else if (limit >= 0) {
      info->aConstraintUsage[limit].argvIndex = ++n_argv;
      sqlite3_str_appendall(s, ",l");
      if (offset >= 0) {
        info->aConstraintUsage[offset].argvIndex = ++n_argv;
        sqlite3_str_appendall(s, ",o");
      }
    }
  }
  for (int i = 0; i < info->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &info->aConstraint[i];
    char coll[64];
    int is_in = 0, col = c->iColumn;
    if (!c->usable) continue;
    if (col >= 0 && col == cfg->key_col) col = -1;  /* vec0's rowid or id column is the rowid */
    if (knn && col == VV_COL_DISTANCE(cfg) && is_distance_op(c->op)) {
      info->aConstraintUsage[i].argvIndex = ++n_argv;
      info->aConstraintUsage[i].omit = 1;
      sqlite3_str_appendf(s, "%sd%d", n_argv > 1 ? "," : "", c->op);
      continue;
    }
    if (!(col == -1 || (col >= 0 && col < cfg->n_cols && cfg->cols[col].kind == VV_META)) || !pushable_op(c->op))
      continue;
    if (c->op == SQLITE_INDEX_CONSTRAINT_EQ && have_in && i < 32 && sqlite3_vtab_in(info, i, -1)) is_in = 1;
    /* In a k-NN plan, an IN that SQLite would feed one value at a time would give one
    ** top-k per value: only take = when it surely is one. */
    if (knn && c->op == SQLITE_INDEX_CONSTRAINT_EQ && !is_in && (!have_in || i >= 32)) continue;
    if (!usable_collation(info, i, coll, sizeof coll)) continue;
    if (is_in) sqlite3_vtab_in(info, i, 1);
    info->aConstraintUsage[i].argvIndex = ++n_argv;
    info->aConstraintUsage[i].omit = 1;
    sqlite3_str_appendf(s, "%s%c%d:%d%s%s", n_argv > 1 ? "," : "", is_in ? 'i' : 'f', is_in ? 0 : c->op, col,
                        coll[0] ? ":" : "", coll);
    n_filters++;
  }
  if (sqlite3_str_errcode(s)) {
    sqlite3_free(sqlite3_str_finish(s));
    return SQLITE_NOMEM;
  }
  info->idxStr = sqlite3_str_finish(s);
  info->needToFreeIdxStr = 1;
  /* idxNum: 0 plain, 1 + j a k-NN on vector column j (0: the first) */
  info->idxNum = knn ? 1 + cfg->cols[info->aConstraint[match].iColumn].vec : 0;

  /* k-NN rows come by distance then rowid; plain scans by rowid. */
  if (knn) {
    const struct sqlite3_index_orderby *o = info->aOrderBy;
    if ((info->nOrderBy == 1 || info->nOrderBy == 2) && o[0].iColumn == VV_COL_DISTANCE(cfg) && !o[0].desc &&
        (info->nOrderBy == 1 || (is_rowid_col(cfg, o[1].iColumn) && !o[1].desc)))
      info->orderByConsumed = 1;
    info->estimatedCost = 10.0;
    info->estimatedRows = 10;
  } else {
    int rowid_eq = 0;
    for (int i = 0; i < info->nConstraint; i++)
      if (info->aConstraintUsage[i].argvIndex && is_rowid_col(cfg, info->aConstraint[i].iColumn) &&
          info->aConstraint[i].op == SQLITE_INDEX_CONSTRAINT_EQ)
        rowid_eq = 1;
    if (info->nOrderBy == 1 && is_rowid_col(cfg, info->aOrderBy[0].iColumn) && !info->aOrderBy[0].desc)
      info->orderByConsumed = 1;
    info->estimatedCost = rowid_eq ? 5.0 : n_filters ? 100000.0 : 1000000.0;
    info->estimatedRows = rowid_eq ? 1 : n_filters ? 10000 : 100000;
  }
  return SQLITE_OK;
}

/* ---- cursors ---- */

typedef struct vv_cursor {
  sqlite3_vtab_cursor base;
  int knn;
  sl_knn_hit *hits;        /* k-NN: best first, sqlite3_malloc'd */
  size_t n_hits, i;
  sqlite3_int64 k;
  sqlite3_stmt *scan;      /* plain: the scan over T_rowids */
  sqlite3_stmt *lookup;    /* k-NN: the same columns for one rowid; kept across xFilter */
  int row_ready;           /* the current row is in scan or lookup */
  sqlite3_stmt *aux;       /* lookup of the auxiliary columns of one rowid */
  int aux_ready;
  sqlite3_blob *blob;      /* reads vectors */
  int eof;
} vv_cursor;

static int vv_open(sqlite3_vtab *vtab, sqlite3_vtab_cursor **out) {
  vv_cursor *c = sqlite3_malloc(sizeof *c);
  if (!c) return SQLITE_NOMEM;
  memset(c, 0, sizeof *c);
  *out = &c->base;
  return SQLITE_OK;
}

static void cursor_reset(vv_cursor *c) {
  sqlite3_free(c->hits);
  c->hits = NULL;
  c->n_hits = c->i = 0;
  sqlite3_finalize(c->scan);
  c->scan = NULL;
  c->row_ready = c->aux_ready = 0;
  c->eof = 1;
}

static int vv_close(sqlite3_vtab_cursor *cur) {
  vv_cursor *c = (vv_cursor *)cur;
  cursor_reset(c);
  sqlite3_finalize(c->lookup);
  sqlite3_finalize(c->aux);
  sqlite3_blob_close(c->blob);
  sqlite3_free(c);
  return SQLITE_OK;
}

/* Reads the arguments xBestIndex laid out (see the top of this file). */
static int parse_plan(vv_table *t, const char *idx_str, int argc, sqlite3_value **argv, vv_query *q,
                      sqlite3_value **match, sqlite3_value **k, sqlite3_value **limit, sqlite3_value **offset,
                      vv_filter *filters, int *n_filters) {
  const char *p = idx_str ? idx_str : "";
  int a = 0;
  *n_filters = 0;
  *match = *k = *limit = *offset = NULL;
  sl_knn_range_init(&q->range);
  while (*p && a < argc) {
    char kind = *p++;
    if (kind == 'm') { *match = argv[a++]; }
    else if (kind == 'k') { *k = argv[a++]; }
    else if (kind == 'l') { *limit = argv[a++]; }
    else if (kind == 'o') { *offset = argv[a++]; }
    else {
      char *end;
      int col = 0, op = (int)strtol(p, &end, 10);
      p = end;
      if (kind == 'd') {
        sqlite3_value *v = argv[a++];
        int type = sqlite3_value_numeric_type(v);
        double x;
        if (type == SQLITE_NULL) return SQLITE_DONE;  /* distance < NULL: no row qualifies */
        if (type != SQLITE_INTEGER && type != SQLITE_FLOAT)
          return sl_vtab_error(&t->base, t->name, "distance can only be compared with a number, got %s",
                               sl_sql_type_name(v));
        x = sqlite3_value_double(v);
        if (op == SQLITE_INDEX_CONSTRAINT_LT || op == SQLITE_INDEX_CONSTRAINT_LE) {
          if (x < q->range.hi || (x == q->range.hi && op == SQLITE_INDEX_CONSTRAINT_LT)) {
            q->range.hi = x;
            q->range.hi_strict = op == SQLITE_INDEX_CONSTRAINT_LT;
          }
        } else if (x > q->range.lo || (x == q->range.lo && op == SQLITE_INDEX_CONSTRAINT_GT)) {
          q->range.lo = x;
          q->range.lo_strict = op == SQLITE_INDEX_CONSTRAINT_GT;
        }
      } else if (kind == 'f' || kind == 'i') {
        vv_filter *f = &filters[(*n_filters)++];
        memset(f, 0, sizeof *f);
        if (*p == ':') col = (int)strtol(p + 1, &end, 10), p = end;
        if (*p == ':') {
          size_t n = strcspn(p + 1, ",");
          if (n >= sizeof f->coll) n = sizeof f->coll - 1;
          memcpy(f->coll, p + 1, n);
          f->coll[n] = 0;
          p += 1 + strcspn(p + 1, ",");
        }
        f->col = col;
        f->op = kind == 'i' ? SQLITE_INDEX_CONSTRAINT_EQ : op;
        f->in = kind == 'i';
        f->arg = argv[a++];
      } else {
        return sl_vtab_error(&t->base, t->name, "internal error: bad plan '%s'", idx_str);
      }
    }
    if (*p == ',') p++;
  }
  return SQLITE_OK;
}

static int cursor_lookup(vv_cursor *c, vv_table *t, int which, sqlite3_stmt **st, int *ready);

/* A k-NN hit comes from a chunk's rowids BLOB: before it is returned, T_rowids must place
** that very row in that very slot, or the shadow tables were damaged or crafted and the
** hit would be a row the table does not have. */
static int check_hit(vv_cursor *c, vv_table *t) {
  const sl_knn_hit *h = &c->hits[c->i];
  int rc = cursor_lookup(c, t, VV_ROW_GET, &c->lookup, &c->row_ready);
  if (rc != SQLITE_OK) return rc;
  if (sqlite3_column_int64(c->lookup, 1) != h->chunk_id || sqlite3_column_int64(c->lookup, 2) != h->offset)
    return sl_vtab_error(&t->base, t->name,
                         "chunk %lld slot %d holds row %lld but %s_rowids places it at chunk %lld slot %lld "
                         "(run semlite_vec_check)", (long long)h->chunk_id, (int)h->offset, (long long)h->rowid,
                         t->name, (long long)sqlite3_column_int64(c->lookup, 1),
                         (long long)sqlite3_column_int64(c->lookup, 2));
  return SQLITE_OK;
}

/* The number of rows a k-NN query ranks: k = N, else LIMIT (+ OFFSET), else all rows
** (SQLite's own LIMIT then ends the walk). *echo is what the k column shows: k = N, else
** -1 for NULL. */
static int knn_k(vv_table *t, sqlite3_value *kv, sqlite3_value *limit, sqlite3_value *offset, sqlite3_int64 *k,
                 sqlite3_int64 *echo) {
  sqlite3_stmt *st;
  char *sql;
  int rc;
  *echo = -1;
  if (kv) {
    if (sqlite3_value_type(kv) != SQLITE_INTEGER || (*k = sqlite3_value_int64(kv)) < 0 || *k > VV_MAX_K) {
      if (sqlite3_value_type(kv) == SQLITE_INTEGER)
        return sl_vtab_error(&t->base, t->name, "k must be from 0 to %d, got %lld", VV_MAX_K,
                             (long long)sqlite3_value_int64(kv));
      return sl_vtab_error(&t->base, t->name, "k must be an INTEGER, got %s", sl_sql_type_name(kv));
    }
    *echo = *k;
    return SQLITE_OK;
  }
  if (limit && sqlite3_value_type(limit) == SQLITE_INTEGER && sqlite3_value_int64(limit) >= 0) {
    sqlite3_int64 l = sqlite3_value_int64(limit), o = 0;
    if (offset && sqlite3_value_type(offset) == SQLITE_INTEGER && sqlite3_value_int64(offset) > 0)
      o = sqlite3_value_int64(offset);
    if (l <= VV_MAX_K && o <= VV_MAX_K) {  /* k shows NULL, as in sqlite-vec */
      *k = l + o;
      return SQLITE_OK;
    }
  }
  sql = sqlite3_mprintf("SELECT count(*) FROM \"%w\".\"%w_rowids\"", t->schema, t->name);
  if (!sql) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(t->db, sql, -1, &st, NULL);
  sqlite3_free(sql);
  if (rc != SQLITE_OK) return vv_db_error(t, rc);
  rc = sqlite3_step(st);
  *k = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  return rc == SQLITE_ROW ? SQLITE_OK : vv_db_error(t, rc);
}

static int start_knn(vv_cursor *c, vv_table *t, vv_query *q, sqlite3_value *match, sqlite3_int64 k) {
  sl_err err;
  void *qbuf;
  int rc;
  if (sqlite3_value_type(match) == SQLITE_NULL) return SQLITE_OK;  /* MATCH NULL: no row, as NULL = x */
  const sl_chunk_layout *lay = q->vec ? &t->xlay[q->vec] : &t->lay;
  if (!(qbuf = sqlite3_malloc64(lay->vec_bytes))) return SQLITE_NOMEM;
  if (sl_sql_vec_read_exact(match, lay->type, lay->dims, "the MATCH vector", qbuf, &err)) {
    sqlite3_free(qbuf);
    return sl_vtab_fail(&t->base, t->name, &err);
  }
  q->q = qbuf;
  q->k = (size_t)k;
  rc = vv_search(t, q, &c->hits, &c->n_hits);
  sqlite3_free(qbuf);
  if (rc != SQLITE_OK) return rc;
  c->eof = c->n_hits == 0;
  return c->eof ? SQLITE_OK : check_hit(c, t);
}

static int start_scan(vv_cursor *c, vv_table *t, const vv_filter *filters, int n_filters) {
  int rc = vv_rowids_query(t, 1, filters, n_filters, " ORDER BY rowid", &c->scan);
  if (rc != SQLITE_OK) return rc;
  rc = sqlite3_step(c->scan);
  if (rc == SQLITE_ROW) {
    c->eof = 0;
    c->row_ready = 1;
    return SQLITE_OK;
  }
  return rc == SQLITE_DONE ? SQLITE_OK : vv_db_error(t, rc);
}

static int vv_xfilter(sqlite3_vtab_cursor *cur, int idx_num, const char *idx_str, int argc,
                      sqlite3_value **argv) {
  vv_cursor *c = (vv_cursor *)cur;
  vv_table *t = (vv_table *)cur->pVtab;
  vv_filter *filters;
  sqlite3_value *match, *kv, *limit, *offset;
  sqlite3_int64 k = 0;
  vv_query q;
  int n_filters, rc;

  cursor_reset(c);
  c->knn = idx_num >= 1;
  if ((rc = vv_flush(t)) != SQLITE_OK) return rc;
  if (!(filters = sqlite3_malloc64(((size_t)argc + 1) * sizeof *filters))) return SQLITE_NOMEM;
  memset(&q, 0, sizeof q);
  q.vec = c->knn ? idx_num - 1 : 0;
  rc = parse_plan(t, idx_str, argc, argv, &q, &match, &kv, &limit, &offset, filters, &n_filters);
  q.filters = filters;
  q.n_filters = n_filters;
  if (rc == SQLITE_OK && c->knn) rc = knn_k(t, kv, limit, offset, &k, &c->k);
  if (rc == SQLITE_DONE) rc = SQLITE_OK;  /* nothing can match */
  else if (rc == SQLITE_OK && c->knn) rc = start_knn(c, t, &q, match, k);
  else if (rc == SQLITE_OK) rc = start_scan(c, t, filters, n_filters);
  sqlite3_free(filters);
  return rc;
}

static int vv_next(sqlite3_vtab_cursor *cur) {
  vv_cursor *c = (vv_cursor *)cur;
  c->aux_ready = 0;
  if (c->knn) {
    c->row_ready = 0;
    c->eof = ++c->i >= c->n_hits;
    return c->eof ? SQLITE_OK : check_hit(c, (vv_table *)cur->pVtab);
  }
  int rc = sqlite3_step(c->scan);
  if (rc == SQLITE_ROW) return SQLITE_OK;
  c->eof = 1;
  c->row_ready = 0;
  return rc == SQLITE_DONE ? SQLITE_OK : vv_db_error((vv_table *)cur->pVtab, rc);
}

static int vv_eof(sqlite3_vtab_cursor *cur) { return ((vv_cursor *)cur)->eof; }

static sqlite3_int64 cursor_rowid(vv_cursor *c) {
  return c->knn ? c->hits[c->i].rowid : sqlite3_column_int64(c->scan, 0);
}

static int vv_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid) {
  *rowid = cursor_rowid((vv_cursor *)cur);
  return SQLITE_OK;
}

/* Looks up the current row's columns of T_rowids (VV_ROW_GET: a k-NN hit's metadata)
** or T_aux (VV_AUX_GET) into the cursor's own statement *st, once per row (*ready). */
static int cursor_lookup(vv_cursor *c, vv_table *t, int which, sqlite3_stmt **st, int *ready) {
  sqlite3_int64 rowid = cursor_rowid(c);
  int rc;
  if (*ready) return SQLITE_OK;
  if (!*st && (rc = vv_stmt_prepare(t, which, st)) != SQLITE_OK) return rc;
  sqlite3_reset(*st);
  sqlite3_bind_int64(*st, 1, rowid);
  rc = sqlite3_step(*st);
  if (rc == SQLITE_DONE && which == VV_ROW_GET)
    return sl_vtab_error(&t->base, t->name, "row %lld is in a chunk but not in %s_rowids (run semlite_vec_check)",
                         (long long)rowid, t->name);
  if (rc == SQLITE_DONE)
    return sl_vtab_error(&t->base, t->name, "row %lld has no %s_aux row (run semlite_vec_check)", (long long)rowid,
                         t->name);
  if (rc != SQLITE_ROW) return vv_db_error(t, rc);
  *ready = 1;
  return SQLITE_OK;
}

static int column_vector(vv_cursor *c, vv_table *t, sqlite3_context *ctx, int j) {
  const sl_chunk_layout *lay = j ? &t->xlay[j] : &t->lay;
  sqlite3_int64 chunk;
  int offset, rc;
  void *buf;
  if (c->knn) {
    chunk = c->hits[c->i].chunk_id;
    offset = c->hits[c->i].offset;
  } else {
    chunk = sqlite3_column_int64(c->scan, 1);
    offset = sqlite3_column_int(c->scan, 2);
  }
  if (!(buf = sqlite3_malloc64(lay->vec_bytes))) return SQLITE_NOMEM;
  if (j) {  /* another vector column: a handle of its own for each read */
    char col[24];
    snprintf(col, sizeof col, "vectors%d", j);
    if ((rc = vv_chunk_read(t, col, chunk, buf, lay->vec_bytes, (size_t)offset * lay->vec_bytes)) != SQLITE_OK) {
      sqlite3_free(buf);
      return rc;
    }
  } else {
    if ((rc = vv_blob_seek(t, &c->blob, "vectors", chunk, 0)) != SQLITE_OK ||
        (rc = sqlite3_blob_read(c->blob, buf, (int)lay->vec_bytes, (int)((size_t)offset * lay->vec_bytes))) != SQLITE_OK) {
      sqlite3_free(buf);
      return rc == SQLITE_CORRUPT_VTAB ? rc : vv_db_error(t, rc);
    }
  }
  sqlite3_result_blob64(ctx, buf, lay->vec_bytes, sqlite3_free);
  /* the element type as a subtype, as sqlite-vec's functions and tables give it */
  sqlite3_result_subtype(ctx, lay->type == SL_VEC_I8 ? SL_SUBTYPE_I8 : lay->type == SL_VEC_BIT ? SL_SUBTYPE_BIT
                                                                                              : SL_SUBTYPE_F32);
  return SQLITE_OK;
}

static int vv_xcolumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col) {
  vv_cursor *c = (vv_cursor *)cur;
  vv_table *t = (vv_table *)cur->pVtab;
  const vv_config *cfg = &t->cfg;
  int rc;
  if (col == VV_COL_DISTANCE(cfg)) {
    if (c->knn) sqlite3_result_double(ctx, c->hits[c->i].distance);
    return SQLITE_OK;
  }
  if (col == VV_COL_K(cfg)) {
    if (c->knn && c->k >= 0) sqlite3_result_int64(ctx, c->k);
    return SQLITE_OK;
  }
  if (col >= 0 && col == cfg->key_col) {
    sqlite3_result_int64(ctx, cursor_rowid(c));
    return SQLITE_OK;
  }
  if (col < 0 || col >= cfg->n_cols) return SQLITE_OK;
  /* An UPDATE that leaves a column alone need not read it (see vv_update). */
  if (cfg->cols[col].kind != VV_META && sqlite3_vtab_nochange(ctx)) return SQLITE_OK;
  switch (cfg->cols[col].kind) {
    case VV_VECTOR:
      return column_vector(c, t, ctx, cfg->cols[col].vec);
    case VV_META:
      if ((rc = cursor_lookup(c, t, VV_ROW_GET, &c->lookup, &c->row_ready)) != SQLITE_OK) return rc;
      sqlite3_result_value(ctx, sqlite3_column_value(c->knn ? c->lookup : c->scan, 3 + cfg->cols[col].slot));
      return SQLITE_OK;
    case VV_AUX:
      if ((rc = cursor_lookup(c, t, VV_AUX_GET, &c->aux, &c->aux_ready)) != SQLITE_OK) return rc;
      sqlite3_result_value(ctx, sqlite3_column_value(c->aux, 1 + cfg->cols[col].slot));
      return SQLITE_OK;
    case VV_KEY:
      break;  /* answered above */
  }
  return SQLITE_OK;
}

#define VV_MODULE_METHODS \
  .iVersion = 3, .xBestIndex = vv_best_index, .xDisconnect = vv_disconnect, .xDestroy = vv_destroy, \
  .xOpen = vv_open, .xClose = vv_close, .xFilter = vv_xfilter, .xNext = vv_next, .xEof = vv_eof, \
  .xColumn = vv_xcolumn, .xRowid = vv_rowid, .xUpdate = vv_update, .xBegin = vv_begin, .xSync = vv_sync, \
  .xCommit = vv_commit, .xRollback = vv_rollback, .xRename = vv_rename, .xSavepoint = vv_savepoint, \
  .xRelease = vv_release, .xRollbackTo = vv_rollback_to, .xShadowName = vv_shadow_name

sqlite3_module sl_vec0_module = {.xCreate = vv_create0, .xConnect = vv_connect0, VV_MODULE_METHODS};

sqlite3_module sl_vec_module = {
  .iVersion = 3,
  .xCreate = vv_create,
  .xConnect = vv_connect,
  .xBestIndex = vv_best_index,
  .xDisconnect = vv_disconnect,
  .xDestroy = vv_destroy,
  .xOpen = vv_open,
  .xClose = vv_close,
  .xFilter = vv_xfilter,
  .xNext = vv_next,
  .xEof = vv_eof,
  .xColumn = vv_xcolumn,
  .xRowid = vv_rowid,
  .xUpdate = vv_update,
  .xBegin = vv_begin,
  .xSync = vv_sync,
  .xCommit = vv_commit,
  .xRollback = vv_rollback,
  .xRename = vv_rename,
  .xSavepoint = vv_savepoint,
  .xRelease = vv_release,
  .xRollbackTo = vv_rollback_to,
  .xShadowName = vv_shadow_name,
};
