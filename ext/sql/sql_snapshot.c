/*
** sql_snapshot.c: the snapshot virtual table every state table of semlite is (see
** sql_snapshot.h).
*/
#include "../base/alloc.h"
#include "sql_snapshot.h"

#include <stdlib.h>
#include <string.h>

typedef struct table {
  sqlite3_vtab base;
  const sl_snapshot_def *def;
  void *aux;
} table;

typedef struct cursor {
  sqlite3_vtab_cursor base;
  void *rows;
  size_t n, i;
} cursor;

int sl_snapshot_connect(sqlite3 *db, const sl_snapshot_def *def, void *aux, sqlite3_vtab **out) {
  table *t;
  int rc = sqlite3_declare_vtab(db, def->schema);
  if (rc != SQLITE_OK) return rc;
  if (!(t = sqlite3_malloc(sizeof *t))) return SQLITE_NOMEM;
  memset(t, 0, sizeof *t);
  t->def = def;
  t->aux = aux;
  *out = &t->base;
  sqlite3_vtab_config(db, def->vtab_flag);
  if (def->connected) def->connected(aux, 1);
  return SQLITE_OK;
}

void *sl_snapshot_aux(sqlite3_vtab *vtab) { return ((table *)vtab)->aux; }

int sl_snapshot_disconnect(sqlite3_vtab *vtab) {
  table *t = (table *)vtab;
  if (t->def->connected) t->def->connected(t->aux, 0);
  sqlite3_free(t);
  return SQLITE_OK;
}

int sl_snapshot_best_index(sqlite3_vtab *vtab, sqlite3_index_info *info) {
  info->estimatedCost = 10;
  info->estimatedRows = 10;
  return SQLITE_OK;
}

int sl_snapshot_open(sqlite3_vtab *vtab, sqlite3_vtab_cursor **out) {
  cursor *c = sqlite3_malloc(sizeof *c);
  if (!c) return SQLITE_NOMEM;
  memset(c, 0, sizeof *c);
  *out = &c->base;
  return SQLITE_OK;
}

int sl_snapshot_close(sqlite3_vtab_cursor *cur) {
  sl_free(((cursor *)cur)->rows);
  sqlite3_free(cur);
  return SQLITE_OK;
}

int sl_snapshot_fail(sqlite3_vtab *vtab, const sl_err *err) {
  return sl_vtab_fail(vtab, ((table *)vtab)->def->name, err);
}

int sl_snapshot_read_only(sqlite3_vtab *vtab, int argc, sqlite3_value **argv, sqlite3_int64 *rowid) {
  const sl_snapshot_def *def = ((table *)vtab)->def;
  sl_err err;
  (void)argc, (void)argv, (void)rowid;
  sl_fail(&err, "read-only: %s", def->read_only ? def->read_only : "it reports state");
  return sl_snapshot_fail(vtab, &err);
}

int sl_snapshot_filter(sqlite3_vtab_cursor *cur, int idx, const char *idx_str, int argc,
                       sqlite3_value **argv) {
  cursor *c = (cursor *)cur;
  table *t = (table *)cur->pVtab;
  sl_err err;
  sl_free(c->rows);
  c->rows = NULL;
  c->i = c->n = 0;
  if (t->def->snapshot(t->aux, &c->rows, &c->n, &err)) return sl_snapshot_fail(cur->pVtab, &err);
  return SQLITE_OK;
}

int sl_snapshot_next(sqlite3_vtab_cursor *cur) {
  ((cursor *)cur)->i++;
  return SQLITE_OK;
}

int sl_snapshot_eof(sqlite3_vtab_cursor *cur) {
  return ((cursor *)cur)->i >= ((cursor *)cur)->n;
}

int sl_snapshot_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col) {
  cursor *c = (cursor *)cur;
  ((table *)cur->pVtab)->def->column(c->rows, c->i, ctx, col);
  return SQLITE_OK;
}

const void *sl_snapshot_rows(sqlite3_vtab_cursor *cur, size_t *i) {
  *i = ((cursor *)cur)->i;
  return ((cursor *)cur)->rows;
}

int sl_snapshot_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid) {
  *rowid = (sqlite3_int64)((cursor *)cur)->i + 1;
  return SQLITE_OK;
}
