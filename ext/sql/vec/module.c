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
**   d<op>        a distance constraint (op is SQLITE_INDEX_CONSTRAINT_*)
**   f<op>:<col>[:<collation>]   a filter on rowid (col -1) or a metadata column
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

/* ---- create, connect, destroy ---- */

static const char *const shadow_names[] = {"info", "chunks", "rowids", "aux"};

static void table_free(vv_table *t) {
  if (!t) return;
  vv_discard(t);
  vv_progress_end(t);
  sqlite3_free(t->pending);
  sqlite3_free(t->dirty);
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
  int rc, seen = 0;
  if (!sql) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(t->db, sql, -1, &st, NULL);
  sqlite3_free(sql);
  if (rc != SQLITE_OK)
    return sl_vtab_error(&t->base, t->name, "cannot read shadow table %s_info: %s", t->name, sqlite3_errmsg(t->db));
  vv_config_facts(&t->cfg, facts);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *key = (const char *)sqlite3_column_text(st, 0);
    const char *value = (const char *)sqlite3_column_text(st, 1);
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
  for (int i = 0; i < VV_N_FACTS; i++)
    if (!(seen & (1 << i)))
      return sl_vtab_error(&t->base, t->name, "shadow table %s_info lacks '%s'", t->name, facts[i].key);
  return SQLITE_OK;
}

/* The shadow tables of a new table, and its facts. */
static int create_shadow(vv_table *t) {
  char *sql = vv_config_shadow_sql(&t->cfg, t->schema, t->name);
  sqlite3_stmt *st = NULL;
  vv_fact facts[VV_N_FACTS];
  int rc = sql ? sqlite3_exec(t->db, sql, NULL, NULL, NULL) : SQLITE_NOMEM;
  sqlite3_free(sql);
  if (rc == SQLITE_OK) {
    sql = sqlite3_mprintf("INSERT INTO \"%w\".\"%w_info\"(key, value) VALUES (?1, ?2)", t->schema, t->name);
    rc = sql ? sqlite3_prepare_v2(t->db, sql, -1, &st, NULL) : SQLITE_NOMEM;
    sqlite3_free(sql);
  }
  vv_config_facts(&t->cfg, facts);
  for (int i = 0; i < VV_N_FACTS && rc == SQLITE_OK; i++) {
    sqlite3_bind_text(st, 1, facts[i].key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, facts[i].value, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_OK)
    return sl_vtab_error(&t->base, t->name, "cannot create the shadow tables: %s", sqlite3_errmsg(t->db));
  return SQLITE_OK;
}

static int vv_init(sqlite3 *db, sl_cache *cache, int argc, const char *const *argv, sqlite3_vtab **out,
                   char **errmsg, int create) {
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
  if (vv_config_parse(argc - 3, argv + 3, &t->cfg, &err)) {
    *errmsg = sqlite3_mprintf("%s: %s", t->name, err.msg);
    table_free(t);
    return SQLITE_ERROR;
  }
  sl_chunk_layout_init(&t->lay, t->cfg.type, t->cfg.dims, t->cfg.metric, t->cfg.quant, (size_t)t->cfg.chunk_size);
  /* model= must name a loaded embedding model of the column's size when the table is
  ** created. An existing table connects without it: models are loaded per process,
  ** and a database must open before anyone had the chance to load one. */
  if (create && t->cfg.model) rc = vv_model_check(t);
  if (rc == SQLITE_OK) {
    sql = vv_config_declaration(&t->cfg);
    rc = sql ? sqlite3_declare_vtab(db, sql) : SQLITE_NOMEM;
    sqlite3_free(sql);
    if (rc != SQLITE_OK && rc != SQLITE_NOMEM)
      sl_vtab_error(&t->base, t->name, "cannot declare the table: %s", sqlite3_errmsg(db));
  }
  if (rc == SQLITE_OK) rc = create ? create_shadow(t) : check_info(t);
  if (rc == SQLITE_OK && create && t->cfg.model) rc = vv_identity_record(t);
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
  return vv_init(db, aux, argc, argv, out, errmsg, 1);
}

static int vv_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
                      char **errmsg) {
  return vv_init(db, aux, argc, argv, out, errmsg, 0);
}

static int vv_disconnect(sqlite3_vtab *vtab) {
  table_free((vv_table *)vtab);
  return SQLITE_OK;
}

static int vv_destroy(sqlite3_vtab *vtab) {
  vv_table *t = (vv_table *)vtab;
  int rc = SQLITE_OK;
  vv_stmts_finalize(t);
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
  if (rc != SQLITE_OK) return rc;
  vv_stmts_finalize(t);
  for (size_t i = 0; i < sizeof shadow_names / sizeof shadow_names[0] && rc == SQLITE_OK; i++) {
    if (i == 3 && t->cfg.n_aux == 0) continue;
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
static int vv_sync(sqlite3_vtab *vtab) { return vv_flush((vv_table *)vtab); }
static int vv_savepoint(sqlite3_vtab *vtab, int n) { return vv_flush((vv_table *)vtab); }
static int vv_release(sqlite3_vtab *vtab, int n) { return SQLITE_OK; }

/* The queue only holds rows inserted since the last savepoint (vv_savepoint flushed
** the older ones), so rolling back to any savepoint drops all of it. */
static int vv_rollback_to(sqlite3_vtab *vtab, int n) {
  vv_discard((vv_table *)vtab);
  vv_chunks_clean((vv_table *)vtab);
  return SQLITE_OK;
}

static int vv_end(sqlite3_vtab *vtab) {
  vv_discard((vv_table *)vtab);
  vv_progress_end((vv_table *)vtab);
  vv_chunks_clean((vv_table *)vtab);
  return SQLITE_OK;
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

static int vv_best_index(sqlite3_vtab *vtab, sqlite3_index_info *info) {
  vv_table *t = (vv_table *)vtab;
  const vv_config *cfg = &t->cfg;
  int match = -1, match_unusable = 0, kc = -1, k_unusable = 0, n_argv = 0, knn, n_filters = 0;
  /* sqlite3_vtab_in needs 3.38; without it an IN looks like one = per value. */
  int have_in = sqlite3_libversion_number() >= 3038000;
  sqlite3_str *s;

  for (int i = 0; i < info->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &info->aConstraint[i];
    if (c->iColumn == cfg->vec_col && c->op == SQLITE_INDEX_CONSTRAINT_MATCH) {
      if (!c->usable) match_unusable = 1;
      else if (match >= 0) return sl_vtab_error(&t->base, t->name, "only one MATCH constraint per query");
      else match = i;
    } else if (c->iColumn == VV_COL_K(cfg) && c->op == SQLITE_INDEX_CONSTRAINT_EQ) {
      if (!c->usable) k_unusable = 1;
      else if (kc >= 0) return sl_vtab_error(&t->base, t->name, "only one k constraint per query");
      else kc = i;
    }
  }
  if (match < 0 && match_unusable) return SQLITE_CONSTRAINT;  /* another join order will do */
  knn = match >= 0;
  if (knn && kc < 0) {
    if (k_unusable) return SQLITE_CONSTRAINT;
    return sl_vtab_error(&t->base, t->name,
                         "a MATCH query needs a k constraint, e.g. AND k = 10 (SQLite %s does not pass LIMIT "
                         "to virtual tables)", sqlite3_libversion());
  }
  if (!knn && (kc >= 0 || k_unusable))
    return sl_vtab_error(&t->base, t->name, "k = N only applies to a k-NN query (%s MATCH <vector> AND k = N)",
                         cfg->cols[cfg->vec_col].name);

  s = sqlite3_str_new(NULL);
  if (knn) {
    info->aConstraintUsage[match].argvIndex = ++n_argv;
    info->aConstraintUsage[match].omit = 1;
    info->aConstraintUsage[kc].argvIndex = ++n_argv;
    info->aConstraintUsage[kc].omit = 1;
    sqlite3_str_appendall(s, "m,k");
  }
  for (int i = 0; i < info->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &info->aConstraint[i];
    char coll[64];
    int is_in = 0, col = c->iColumn;
    if (!c->usable) continue;
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
  info->idxNum = knn;

  /* k-NN rows come by distance then rowid; plain scans by rowid. */
  if (knn) {
    const struct sqlite3_index_orderby *o = info->aOrderBy;
    if ((info->nOrderBy == 1 || info->nOrderBy == 2) && o[0].iColumn == VV_COL_DISTANCE(cfg) && !o[0].desc &&
        (info->nOrderBy == 1 || (o[1].iColumn == -1 && !o[1].desc)))
      info->orderByConsumed = 1;
    info->estimatedCost = 10.0;
    info->estimatedRows = 10;
  } else {
    int rowid_eq = 0;
    for (int i = 0; i < info->nConstraint; i++)
      if (info->aConstraintUsage[i].argvIndex && info->aConstraint[i].iColumn == -1 &&
          info->aConstraint[i].op == SQLITE_INDEX_CONSTRAINT_EQ)
        rowid_eq = 1;
    if (info->nOrderBy == 1 && info->aOrderBy[0].iColumn == -1 && !info->aOrderBy[0].desc) info->orderByConsumed = 1;
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
                      sqlite3_value **match, sqlite3_value **k, vv_filter *filters, int *n_filters) {
  const char *p = idx_str ? idx_str : "";
  int a = 0;
  *n_filters = 0;
  *match = *k = NULL;
  sl_knn_range_init(&q->range);
  while (*p && a < argc) {
    char kind = *p++;
    if (kind == 'm') { *match = argv[a++]; }
    else if (kind == 'k') { *k = argv[a++]; }
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

static int start_knn(vv_cursor *c, vv_table *t, vv_query *q, sqlite3_value *match, sqlite3_value *kv) {
  sl_err err;
  sqlite3_int64 k;
  void *qbuf;
  int rc;
  if (sqlite3_value_type(kv) != SQLITE_INTEGER || (k = sqlite3_value_int64(kv)) < 0 || k > VV_MAX_K) {
    if (sqlite3_value_type(kv) == SQLITE_INTEGER)
      return sl_vtab_error(&t->base, t->name, "k must be from 0 to %d, got %lld", VV_MAX_K,
                           (long long)sqlite3_value_int64(kv));
    return sl_vtab_error(&t->base, t->name, "k must be an INTEGER, got %s", sl_sql_type_name(kv));
  }
  c->k = k;
  if (sqlite3_value_type(match) == SQLITE_NULL) return SQLITE_OK;  /* MATCH NULL: no row, as NULL = x */
  if (!(qbuf = sqlite3_malloc64(t->lay.vec_bytes))) return SQLITE_NOMEM;
  if (sl_sql_vec_read_exact(match, t->cfg.type, t->cfg.dims, "the MATCH vector", qbuf, &err)) {
    sqlite3_free(qbuf);
    return sl_vtab_error(&t->base, t->name, "%s", err.msg);
  }
  q->q = qbuf;
  q->k = (size_t)k;
  rc = vv_search(t, q, &c->hits, &c->n_hits);
  sqlite3_free(qbuf);
  if (rc != SQLITE_OK) return rc;
  c->eof = c->n_hits == 0;
  return SQLITE_OK;
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
  sqlite3_value *match, *kv;
  vv_query q;
  int n_filters, rc;

  cursor_reset(c);
  c->knn = idx_num == 1;
  if ((rc = vv_flush(t)) != SQLITE_OK) return rc;
  if (!(filters = sqlite3_malloc64(((size_t)argc + 1) * sizeof *filters))) return SQLITE_NOMEM;
  memset(&q, 0, sizeof q);
  rc = parse_plan(t, idx_str, argc, argv, &q, &match, &kv, filters, &n_filters);
  q.filters = filters;
  q.n_filters = n_filters;
  if (rc == SQLITE_DONE) rc = SQLITE_OK;  /* nothing can match */
  else if (rc == SQLITE_OK && c->knn) rc = start_knn(c, t, &q, match, kv);
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
    return SQLITE_OK;
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

static int column_vector(vv_cursor *c, vv_table *t, sqlite3_context *ctx) {
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
  if ((rc = vv_blob_seek(t, &c->blob, "vectors", chunk, 0)) != SQLITE_OK) return rc;
  if (!(buf = sqlite3_malloc64(t->lay.vec_bytes))) return SQLITE_NOMEM;
  rc = sqlite3_blob_read(c->blob, buf, (int)t->lay.vec_bytes, (int)((size_t)offset * t->lay.vec_bytes));
  if (rc != SQLITE_OK) {
    sqlite3_free(buf);
    return vv_db_error(t, rc);
  }
  sqlite3_result_blob64(ctx, buf, t->lay.vec_bytes, sqlite3_free);
  if (t->cfg.type == SL_VEC_F32) sqlite3_result_subtype(ctx, SL_SUBTYPE_F32);
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
    if (c->knn) sqlite3_result_int64(ctx, c->k);
    return SQLITE_OK;
  }
  if (col < 0 || col >= cfg->n_cols) return SQLITE_OK;
  /* An UPDATE that leaves a column alone need not read it (see vv_update). */
  if (cfg->cols[col].kind != VV_META && sqlite3_vtab_nochange(ctx)) return SQLITE_OK;
  switch (cfg->cols[col].kind) {
    case VV_VECTOR:
      return column_vector(c, t, ctx);
    case VV_META:
      if ((rc = cursor_lookup(c, t, VV_ROW_GET, &c->lookup, &c->row_ready)) != SQLITE_OK) return rc;
      sqlite3_result_value(ctx, sqlite3_column_value(c->knn ? c->lookup : c->scan, 3 + cfg->cols[col].slot));
      return SQLITE_OK;
    case VV_AUX:
      if ((rc = cursor_lookup(c, t, VV_AUX_GET, &c->aux, &c->aux_ready)) != SQLITE_OK) return rc;
      sqlite3_result_value(ctx, sqlite3_column_value(c->aux, 1 + cfg->cols[col].slot));
      return SQLITE_OK;
  }
  return SQLITE_OK;
}

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
  .xCommit = vv_end,
  .xRollback = vv_end,
  .xRename = vv_rename,
  .xSavepoint = vv_savepoint,
  .xRelease = vv_release,
  .xRollbackTo = vv_rollback_to,
  .xShadowName = vv_shadow_name,
};
