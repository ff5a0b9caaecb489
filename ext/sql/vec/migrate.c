/*
** migrate.c: semlite_vec_migrate(table): converts, in place and in one savepoint, a vec0
** table whose shadow tables sqlite-vec's own vec0.so wrote (T_info holds CREATE_VERSION)
** into semlite's storage, so a database made with sqlite-vec keeps working without
** re-embedding. It reads vec0.so's format directly (sqlite-vec 0.1.x):
**   T_chunks(chunk_id, size, validity, rowids[, partitionNN...])   per chunk of `size` slots
**   T_vector_chunksNN(rowid = chunk_id, vectors)                     NN: the vector column
**   T_metadatachunksNN(rowid = chunk_id, data)  per slot: integer int64, float double,
**       boolean one bit, text 4-byte length + 12-byte prefix (longer texts whole in
**       T_metadatatextNN(rowid = row, data))
**   T_auxiliary(rowid, value00...)
** stages every row in a TEMP table, drops vec0.so's shadow tables, makes semlite's
** (store.h) and inserts the rows through the table itself, so every check of an INSERT
** applies. semlite does it by itself for the main schema when it is loaded on a writable
** connection (sl_vec_migrate_on_load, with a one-line SQLITE_NOTICE in sqlite3_log); the
** connect of a table left as it was (read-only, replicated read, ATTACHed) fails with a
** message naming semlite_vec_migrate.
*/
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "store.h"

#define MG_MAX_ARGS 256

typedef struct migration {
  sqlite3 *db;
  const char *name;
  vv_config cfg;
  sl_chunk_layout lay, xlay[VV_MAX_VECTORS];
  sl_err err;
} migration;

/* The module arguments of CREATE VIRTUAL TABLE ... USING vec0(...), split at top-level
** commas as SQLite splits them; *buf holds them (sqlite3_free it). */
static int split_args(const char *sql, char **buf, char *argv[], int *argc, sl_err *err) {
  const char *p = strchr(sql, '(');
  char *out, quote = 0;
  int depth = 0, n = 0;
  size_t len;
  if (!p) return sl_fail(err, "cannot read the table's declaration");
  len = strlen(++p);
  if (!(out = *buf = sqlite3_malloc64(len + 1))) return sl_oom(err);
  argv[n++] = out;
  for (; *p; p++) {
    if (quote) {
      if (*p == quote) quote = 0;
    } else if (*p == '"' || *p == '\'' || *p == '`') {
      quote = *p;
    } else if (*p == '(') {
      depth++;
    } else if (*p == ')' && depth-- == 0) {
      break;
    } else if (*p == ',' && depth == 0) {
      *out++ = 0;
      if (n == MG_MAX_ARGS) return sl_fail(err, "too many arguments");
      argv[n++] = out;
      continue;
    }
    *out++ = *p;
  }
  *out = 0;
  for (int i = 0; i < n; i++) {  /* trim */
    char *s = argv[i], *e = s + strlen(s);
    while (isspace((unsigned char)*s)) s++;
    while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
    argv[i] = s;
  }
  *argc = n;
  return SL_OK;
}

static int db_fail(migration *m, const char *what) {
  return sl_fail(&m->err, "%s: %s", what, sqlite3_errmsg(m->db));
}

/* The first column of sql_fmt (formatted with the table name and nn, "%w" then "%02d"
** if it has one) for rowid = ?1, as a new value (NULL when there is no row). */
static int lookup(migration *m, const char *sql_fmt, int nn, sqlite3_int64 rowid, sqlite3_value **out) {
  char *sql = sqlite3_mprintf(sql_fmt, m->name, nn);
  sqlite3_stmt *st = NULL;
  int rc;
  *out = NULL;
  if (!sql) return sl_fail(&m->err, "out of memory");
  rc = sqlite3_prepare_v2(m->db, sql, -1, &st, NULL);
  sqlite3_free(sql);
  if (rc != SQLITE_OK) return db_fail(m, "reading sqlite-vec's shadow tables");
  sqlite3_bind_int64(st, 1, rowid);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW && !(*out = sqlite3_value_dup(sqlite3_column_value(st, 0)))) rc = SQLITE_NOMEM;
  sqlite3_finalize(st);
  if (rc == SQLITE_NOMEM) return sl_fail(&m->err, "out of memory");
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? SL_OK : db_fail(m, "reading sqlite-vec's shadow tables");
}

static sqlite3_int64 le64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return (sqlite3_int64)v;
}

/* Stages the rows of one chunk into ins (the TEMP table's INSERT). */
static int stage_chunk(migration *m, sqlite3_stmt *chunk, sqlite3_stmt *ins) {
  const vv_config *cfg = &m->cfg;
  const sqlite3_int64 chunk_id = sqlite3_column_int64(chunk, 0);
  const sqlite3_int64 size = sqlite3_column_int64(chunk, 1);
  const unsigned char *valid, *rowids;
  sqlite3_value *vectors[VV_MAX_VECTORS] = {0}, **meta = NULL;
  int rc = SL_OK;
  if (size <= 0 || sqlite3_column_bytes(chunk, 2) * 8 < size || sqlite3_column_bytes(chunk, 3) < size * 8)
    return sl_fail(&m->err, "chunk %lld of %s_chunks is damaged", (long long)chunk_id, m->name);
  if (!(meta = sqlite3_malloc64(((size_t)cfg->n_cols + 1) * sizeof *meta))) return sl_fail(&m->err, "out of memory");
  memset(meta, 0, ((size_t)cfg->n_cols + 1) * sizeof *meta);
  for (int j = 0; rc == SL_OK && j < cfg->n_vecs; j++) {
    const size_t vec_bytes = j ? m->xlay[j].vec_bytes : m->lay.vec_bytes;
    rc = lookup(m, "SELECT vectors FROM \"%w_vector_chunks%02d\" WHERE rowid = ?1", j, chunk_id, &vectors[j]);
    if (rc == SL_OK && (!vectors[j] || (sqlite3_int64)sqlite3_value_bytes(vectors[j]) < size * (sqlite3_int64)vec_bytes))
      rc = sl_fail(&m->err, "chunk %lld has no vectors of the declared size in %s_vector_chunks%02d",
                   (long long)chunk_id, m->name, j);
  }
  for (int i = 0, nn = 0; rc == SL_OK && i < cfg->n_cols; i++) {
    if (cfg->cols[i].kind != VV_META || cfg->cols[i].partition || cfg->cols[i].text_key) continue;
    rc = lookup(m, "SELECT data FROM \"%w_metadatachunks%02d\" WHERE rowid = ?1", nn++, chunk_id, &meta[i]);
    if (rc == SL_OK && !meta[i])
      rc = sl_fail(&m->err, "chunk %lld has no %s_metadatachunks%02d row", (long long)chunk_id, m->name, nn - 1);
  }
  /* column_blob pointers are read after the lookups: the chunk statement is not stepped */
  valid = sqlite3_column_blob(chunk, 2);
  rowids = sqlite3_column_blob(chunk, 3);
  for (sqlite3_int64 s = 0; rc == SL_OK && s < size; s++) {
    if (!(valid[s / 8] >> (s % 8) & 1)) continue;
    const sqlite3_int64 rowid = le64(rowids + 8 * s);
    sqlite3_reset(ins);
    sqlite3_clear_bindings(ins);
    for (int i = 0, part = 0, aux = 0; rc == SL_OK && i < cfg->n_cols; i++) {
      const vv_column *c = &cfg->cols[i];
      const unsigned char *d = meta[i] ? sqlite3_value_blob(meta[i]) : NULL;
      const sqlite3_int64 dn = meta[i] ? sqlite3_value_bytes(meta[i]) : 0;
      sqlite3_value *v = NULL;
      int nn_meta = 0;
      for (int j = 0; j < i; j++)
        nn_meta += cfg->cols[j].kind == VV_META && !cfg->cols[j].partition && !cfg->cols[j].text_key;
      switch (c->kind) {
        case VV_KEY:
          sqlite3_bind_int64(ins, i + 1, rowid);
          break;
        case VV_VECTOR: {
          const size_t vec_bytes = c->vec ? m->xlay[c->vec].vec_bytes : m->lay.vec_bytes;
          sqlite3_bind_blob64(ins, i + 1, (const unsigned char *)sqlite3_value_blob(vectors[c->vec]) + s * vec_bytes,
                              vec_bytes, SQLITE_TRANSIENT);
          break;
        }
        case VV_AUX: {
          char sql[64];
          snprintf(sql, sizeof sql, "SELECT value%02d FROM \"%%w_auxiliary\" WHERE rowid = ?1", aux++);
          if ((rc = lookup(m, sql, 0, rowid, &v)) == SL_OK && v) sqlite3_bind_value(ins, i + 1, v);
          break;
        }
        case VV_META:
          if (c->text_key) {  /* vec0.so keeps a text primary key in T_rowids.id */
            if ((rc = lookup(m, "SELECT id FROM \"%w_rowids\" WHERE rowid = ?1", 0, rowid, &v)) == SL_OK) {
              if (v) sqlite3_bind_value(ins, i + 1, v);
              else rc = sl_fail(&m->err, "row %lld is not in %s_rowids", (long long)rowid, m->name);
            }
          } else if (c->partition) {
            sqlite3_bind_value(ins, i + 1, sqlite3_column_value(chunk, 4 + part++));
          } else if (c->type == VV_BOOLEAN) {
            if (dn * 8 < size) rc = sl_fail(&m->err, "a metadata chunk is damaged");
            else sqlite3_bind_int(ins, i + 1, d[s / 8] >> (s % 8) & 1);
          } else if (c->type == VV_INTEGER || c->type == VV_FLOAT) {
            if (dn < size * 8) rc = sl_fail(&m->err, "a metadata chunk is damaged");
            else if (c->type == VV_INTEGER) sqlite3_bind_int64(ins, i + 1, le64(d + 8 * s));
            else {
              double x;
              sqlite3_int64 bits = le64(d + 8 * s);
              memcpy(&x, &bits, sizeof x);
              sqlite3_bind_double(ins, i + 1, x);
            }
          } else {
            sqlite3_int64 len;
            if (dn < size * 16) {
              rc = sl_fail(&m->err, "a metadata chunk is damaged");
              break;
            }
            len = (sqlite3_int64)((uint32_t)d[16 * s] | (uint32_t)d[16 * s + 1] << 8 | (uint32_t)d[16 * s + 2] << 16 |
                                  (uint32_t)d[16 * s + 3] << 24);
            if (len <= 12) {
              sqlite3_bind_text(ins, i + 1, (const char *)d + 16 * s + 4, (int)len, SQLITE_TRANSIENT);
            } else if ((rc = lookup(m, "SELECT data FROM \"%w_metadatatext%02d\" WHERE rowid = ?1", nn_meta, rowid, &v)) ==
                       SL_OK) {
              if (v) sqlite3_bind_value(ins, i + 1, v);
              else rc = sl_fail(&m->err, "row %lld has no %s_metadatatext%02d row", (long long)rowid, m->name, nn_meta);
            }
          }
          break;
      }
      sqlite3_value_free(v);
    }
    if (rc == SL_OK && sqlite3_step(ins) != SQLITE_DONE) rc = db_fail(m, "staging the rows");
  }
  for (int j = 0; j < VV_MAX_VECTORS; j++) sqlite3_value_free(vectors[j]);
  for (int i = 0; i < cfg->n_cols; i++) sqlite3_value_free(meta[i]);
  sqlite3_free(meta);
  return rc;
}

/* Everything after the checks, inside the savepoint. */
static int migrate(migration *m, sqlite3_int64 *n_rows) {
  const vv_config *cfg = &m->cfg;
  sqlite3_str *s = sqlite3_str_new(m->db);
  sqlite3_stmt *chunk = NULL, *ins = NULL;
  char *sql;
  int rc = SL_OK, n_part = 0;
  /* the staging table: one column per declared column */
  sqlite3_str_appendall(s, "CREATE TEMP TABLE semlite_migrate_rows(");
  for (int i = 0; i < cfg->n_cols; i++) sqlite3_str_appendf(s, "%sc%d", i ? ", " : "", i);
  sqlite3_str_appendall(s, ")");
  sql = sqlite3_str_finish(s);
  if (!sql || sqlite3_exec(m->db, sql, NULL, NULL, NULL) != SQLITE_OK) rc = db_fail(m, "staging the rows");
  sqlite3_free(sql);
  if (rc) return rc;
  s = sqlite3_str_new(m->db);
  sqlite3_str_appendall(s, "INSERT INTO temp.semlite_migrate_rows VALUES (");
  for (int i = 0; i < cfg->n_cols; i++) sqlite3_str_appendf(s, "%s?%d", i ? ", " : "", i + 1);
  sqlite3_str_appendall(s, ")");
  sql = sqlite3_str_finish(s);
  if (!sql || sqlite3_prepare_v2(m->db, sql, -1, &ins, NULL) != SQLITE_OK) rc = db_fail(m, "staging the rows");
  sqlite3_free(sql);
  for (int i = 0; i < cfg->n_cols; i++) n_part += cfg->cols[i].partition;
  s = sqlite3_str_new(m->db);
  sqlite3_str_appendall(s, "SELECT chunk_id, size, validity, rowids");
  for (int i = 0; i < n_part; i++) sqlite3_str_appendf(s, ", partition%02d", i);
  sqlite3_str_appendf(s, " FROM \"%w_chunks\" ORDER BY chunk_id", m->name);
  sql = sqlite3_str_finish(s);
  if (rc == SL_OK && (!sql || sqlite3_prepare_v2(m->db, sql, -1, &chunk, NULL) != SQLITE_OK))
    rc = db_fail(m, "reading sqlite-vec's shadow tables");
  sqlite3_free(sql);
  while (rc == SL_OK) {
    int step = sqlite3_step(chunk);
    if (step == SQLITE_DONE) break;
    if (step != SQLITE_ROW) rc = db_fail(m, "reading sqlite-vec's shadow tables");
    else rc = stage_chunk(m, chunk, ins);
  }
  sqlite3_finalize(chunk);
  sqlite3_finalize(ins);
  /* vec0.so's shadow tables go, semlite's come, and the rows go in through the table */
  if (rc == SL_OK) {
    sqlite3_stmt *names = NULL;
    sql = sqlite3_mprintf("SELECT name FROM sqlite_schema WHERE type = 'table' AND (name IN ('%q_info', '%q_chunks', "
                          "'%q_rowids', '%q_auxiliary') OR name GLOB '%q_vector_chunks[0-9][0-9]' OR name GLOB "
                          "'%q_metadatachunks[0-9][0-9]' OR name GLOB '%q_metadatatext[0-9][0-9]')",
                          m->name, m->name, m->name, m->name, m->name, m->name, m->name);
    s = sqlite3_str_new(m->db);
    if (!sql || sqlite3_prepare_v2(m->db, sql, -1, &names, NULL) != SQLITE_OK) rc = db_fail(m, "listing the shadow tables");
    while (rc == SL_OK && sqlite3_step(names) == SQLITE_ROW)
      sqlite3_str_appendf(s, "DROP TABLE main.\"%w\";", (const char *)sqlite3_column_text(names, 0));
    sqlite3_finalize(names);
    sqlite3_free(sql);
    sql = sqlite3_str_finish(s);
    if (rc == SL_OK && (!sql || sqlite3_exec(m->db, sql, NULL, NULL, NULL) != SQLITE_OK))
      rc = db_fail(m, "dropping sqlite-vec's shadow tables");
    sqlite3_free(sql);
  }
  if (rc == SL_OK && vv_shadow_create(m->db, &m->cfg, "main", m->name, &m->err)) rc = SL_ERROR;
  if (rc == SL_OK) {
    s = sqlite3_str_new(m->db);
    sqlite3_str_appendf(s, "INSERT INTO main.\"%w\" SELECT ", m->name);
    for (int i = 0; i < cfg->n_cols; i++) sqlite3_str_appendf(s, "%sc%d", i ? ", " : "", i);
    sqlite3_str_appendall(s, " FROM temp.semlite_migrate_rows");
    sql = sqlite3_str_finish(s);
    if (!sql || sqlite3_exec(m->db, sql, NULL, NULL, NULL) != SQLITE_OK) rc = db_fail(m, "inserting the rows");
    sqlite3_free(sql);
    *n_rows = sqlite3_changes64(m->db);
  }
  sqlite3_exec(m->db, "DROP TABLE IF EXISTS temp.semlite_migrate_rows", NULL, NULL, NULL);
  return rc;
}

/* Converts the vec0 table name of the main schema written by vec0.so; *version: the
** sqlite-vec release that wrote it (sqlite3_free it), *n_rows: the rows moved. */
static int migrate_table(sqlite3 *db, const char *name, sqlite3_int64 *n_rows, char **version, sl_err *err) {
  migration m;
  sqlite3_stmt *st = NULL;
  char *buf = NULL, *args[MG_MAX_ARGS];
  int n_args = 0, rc = SL_OK, bare;

  memset(&m, 0, sizeof m);
  m.db = db;
  m.name = name;
  *version = NULL;
  *n_rows = 0;
  if (sl_sql_write_allowed(db, "main", err)) return SL_ERROR;
  if (sqlite3_db_readonly(db, "main") == 1)
    return sl_fail(err, "the main schema is read-only here (a read-only connection or file)");
  if (sqlite3_prepare_v2(db, "SELECT sql FROM main.sqlite_schema WHERE type = 'table' AND name = ?1 AND "
                             "sql LIKE 'CREATE VIRTUAL TABLE%USING vec0%'", -1, &st, NULL) != SQLITE_OK)
    return sl_fail(err, "%s", sqlite3_errmsg(db));
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_ROW) {
    sqlite3_finalize(st);
    return sl_fail(err, "no vec0 table named '%s' in the main schema", name);
  }
  rc = split_args((const char *)sqlite3_column_text(st, 0), &buf, args, &n_args, &m.err);
  sqlite3_finalize(st);
  if (rc == SL_OK) {  /* vec0.so's T_info says which release wrote it; semlite's has no such key */
    char *sql = sqlite3_mprintf("SELECT value FROM main.\"%w_info\" WHERE key = 'CREATE_VERSION'", name);
    if (sql && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
      if (sqlite3_step(st) == SQLITE_ROW) *version = sqlite3_mprintf("%s", (const char *)sqlite3_column_text(st, 0));
      sqlite3_finalize(st);
    }
    sqlite3_free(sql);
    if (!*version) rc = sl_fail(&m.err, "%s is not a table written by sqlite-vec's vec0.so (nothing to migrate)", name);
  }
  if (rc == SL_OK && vv_config_parse(n_args, (const char *const *)args, 1, &m.cfg, &m.err)) rc = SL_ERROR;
  sqlite3_free(buf);
  if (rc == SL_OK) {
    sl_chunk_layout_init(&m.lay, m.cfg.type, m.cfg.dims, m.cfg.metric, m.cfg.quant, (size_t)m.cfg.chunk_size);
    for (int j = 1; j < m.cfg.n_vecs; j++)
      sl_chunk_layout_init(&m.xlay[j], m.cfg.vecs[j].type, m.cfg.vecs[j].dims, m.cfg.vecs[j].metric, SL_QUANT_NONE,
                           (size_t)m.cfg.chunk_size);
    if (sl_sql_block_begin(db, "semlite_vec_migrate", &bare) != SQLITE_OK) {
      rc = db_fail(&m, "savepoint");
    } else {
      rc = migrate(&m, n_rows);
      sl_sql_block_end(db, "semlite_vec_migrate", bare, rc == SL_OK);
    }
    vv_config_free(&m.cfg);
  }
  if (rc != SL_OK) {
    *err = m.err;
    sqlite3_free(*version);
    *version = NULL;
  }
  return rc;
}

void sl_sql_vec_migrate(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char fn[] = "semlite_vec_migrate";
  sl_err err;
  sqlite3_int64 n_rows = 0;
  char *version = NULL;
  int is_null;
  const char *name = sl_sql_text_arg(ctx, fn, "table name", argv[0], &is_null);
  if (is_null) {
    sl_sql_errorf(ctx, fn, "the table name must be TEXT, got NULL");
    return;
  }
  if (!name) return;
  if (migrate_table(sqlite3_context_db_handle(ctx), name, &n_rows, &version, &err) == SL_OK) {
    char *msg = sqlite3_mprintf("%s: %lld rows moved from sqlite-vec %s storage to semlite's", name,
                                (long long)n_rows, version);
    if (msg) sqlite3_result_text(ctx, msg, -1, sqlite3_free);
    else sqlite3_result_error_nomem(ctx);
  } else {
    sl_sql_error(ctx, fn, &err);
  }
  sqlite3_free(version);
}

/* At load, no statement of the connection runs yet: the one point where dropping
** vec0.so's shadow tables cannot meet SQLITE_LOCKED and no prepare is under way (an
** xConnect runs inside another statement's prepare, an xFilter inside its step). */
void sl_vec_migrate_on_load(sqlite3 *db) {
  sqlite3_stmt *st;
  char *names[64];
  int n = 0;
  /* vec0 tables of the main schema whose T_info vec0.so wrote (it holds CREATE_VERSION) */
  if (sqlite3_db_readonly(db, "main") != 0 ||
      sqlite3_prepare_v2(db, "SELECT name FROM main.sqlite_schema s WHERE type = 'table' AND "
                             "sql LIKE 'CREATE VIRTUAL TABLE%USING vec0%' AND EXISTS (SELECT 1 FROM main.sqlite_schema "
                             "WHERE type = 'table' AND name = s.name || '_vector_chunks00') ORDER BY name",
                         -1, &st, NULL) != SQLITE_OK)
    return;
  while (n < (int)(sizeof names / sizeof names[0]) && sqlite3_step(st) == SQLITE_ROW)
    if ((names[n] = sqlite3_mprintf("%s", (const char *)sqlite3_column_text(st, 0))) != NULL) n++;
  sqlite3_finalize(st);
  for (int i = 0; i < n; i++) {
    sl_err err;
    sqlite3_int64 n_rows;
    char *version;
    if (migrate_table(db, names[i], &n_rows, &version, &err) == SL_OK)
      sqlite3_log(SQLITE_NOTICE, "semlite: vec0 table %s: %lld rows converted from sqlite-vec %s storage to semlite's "
                  "(once, at load)", names[i], (long long)n_rows, version);
    else
      sqlite3_log(SQLITE_NOTICE, "semlite: vec0 table %s, written by sqlite-vec's vec0.so, stays unconverted: %s",
                  names[i], err.msg);
    sqlite3_free(version);
    sqlite3_free(names[i]);
  }
}
