/*
** sql_vec_compat.c: the rest of sqlite-vec's SQL API that a loadable extension has, for
** applications moving from sqlite-vec (docs/vector-search.md, "Moving from sqlite-vec"):
** vec_version(), vec_debug(), vec_type(v) and the table-valued vec_each(v). Vectors are
** read by sql_vec.c, as everywhere.
*/
#include <string.h>

#include "../base/version.h"
#include "sql.h"

/* The sqlite-vec release whose SQL semlite follows (and tests against, tests/vec0.mk). */
#define SL_VEC_COMPAT_VERSION "v0.1.9"

void sl_sql_vec_version(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sqlite3_result_text(ctx, SL_VEC_COMPAT_VERSION, -1, SQLITE_STATIC);
}

void sl_sql_vec_debug(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sqlite3_result_text(ctx, "Version: " SL_VEC_COMPAT_VERSION "\nImplementation: semlite " SEMLITE_VERSION
                      "\nBuild flags: see semlite_build_info()", -1, SQLITE_STATIC);
}

/* 'float32', 'int8' or 'bit', as the value's subtype says (NULL gives NULL). */
void sl_sql_vec_type(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sl_sql_vec v;
  if (!sl_sql_vec_args(ctx, "vec_type", argc, argv, 1, SL_SQL_VEC_ANY, &v)) return;
  sqlite3_result_text(ctx, sl_sql_vec_type_name(v.type), -1, SQLITE_STATIC);
  sl_sql_vec_free(&v);
}

/* ---- vec_each(vector): one row per element, rowid its index ---- */

typedef struct each_cursor {
  sqlite3_vtab_cursor base;
  sl_sql_vec v;
  int have;
  size_t i;
} each_cursor;

static int each_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
                        char **errmsg) {
  sqlite3_vtab *t;
  int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(value, vector HIDDEN)");
  if (rc != SQLITE_OK) return rc;
  if (!(t = sqlite3_malloc(sizeof *t))) return SQLITE_NOMEM;
  memset(t, 0, sizeof *t);
  sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
  *out = t;
  return SQLITE_OK;
}

static int each_disconnect(sqlite3_vtab *t) {
  sqlite3_free(t);
  return SQLITE_OK;
}

static int each_best_index(sqlite3_vtab *t, sqlite3_index_info *info) {
  for (int i = 0; i < info->nConstraint; i++) {
    if (info->aConstraint[i].iColumn != 1 || info->aConstraint[i].op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
    if (!info->aConstraint[i].usable) return SQLITE_CONSTRAINT;
    info->aConstraintUsage[i].argvIndex = 1;
    info->aConstraintUsage[i].omit = 1;
    info->estimatedCost = 10;
    info->idxNum = 1;
    return SQLITE_OK;
  }
  return sl_vtab_error(t, "vec_each", "needs a vector argument: vec_each(v)");
}

static int each_open(sqlite3_vtab *t, sqlite3_vtab_cursor **out) {
  each_cursor *c = sqlite3_malloc(sizeof *c);
  if (!c) return SQLITE_NOMEM;
  memset(c, 0, sizeof *c);
  *out = &c->base;
  return SQLITE_OK;
}

static int each_close(sqlite3_vtab_cursor *cur) {
  each_cursor *c = (each_cursor *)cur;
  if (c->have) sl_sql_vec_free(&c->v);
  sqlite3_free(c);
  return SQLITE_OK;
}

static int each_filter(sqlite3_vtab_cursor *cur, int idx_num, const char *idx_str, int argc, sqlite3_value **argv) {
  each_cursor *c = (each_cursor *)cur;
  sl_err err;
  if (c->have) sl_sql_vec_free(&c->v);
  c->have = 0;
  c->i = 0;
  if (argc < 1 || sqlite3_value_type(argv[0]) == SQLITE_NULL) return SQLITE_OK;  /* NULL: no rows */
  if (sl_sql_vec_read(argv[0], SL_SQL_VEC_ANY, &c->v, &err))
    return sl_vtab_error(cur->pVtab, "vec_each", "%s", err.msg);
  c->have = 1;
  return SQLITE_OK;
}

static int each_next(sqlite3_vtab_cursor *cur) {
  ((each_cursor *)cur)->i++;
  return SQLITE_OK;
}

static int each_eof(sqlite3_vtab_cursor *cur) {
  each_cursor *c = (each_cursor *)cur;
  return !c->have || c->i >= c->v.n;
}

static int each_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col) {
  each_cursor *c = (each_cursor *)cur;
  if (col != 0) return SQLITE_OK;
  switch (c->v.type) {
    case SL_VEC_F32: sqlite3_result_double(ctx, ((const float *)c->v.data)[c->i]); break;
    case SL_VEC_I8: sqlite3_result_int(ctx, ((const signed char *)c->v.data)[c->i]); break;
    /* sqlite-vec's vec_each walks a byte's bits from the most significant one (its
    ** vec_to_json from the least): its results are kept */
    case SL_VEC_BIT: sqlite3_result_int(ctx, (((const unsigned char *)c->v.data)[c->i / 8] >> (7 - c->i % 8)) & 1); break;
  }
  return SQLITE_OK;
}

static int each_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid) {
  *rowid = (sqlite3_int64)((each_cursor *)cur)->i;
  return SQLITE_OK;
}

sqlite3_module sl_vec_each_module = {
  .iVersion = 0,
  .xConnect = each_connect,
  .xBestIndex = each_best_index,
  .xDisconnect = each_disconnect,
  .xOpen = each_open,
  .xClose = each_close,
  .xFilter = each_filter,
  .xNext = each_next,
  .xEof = each_eof,
  .xColumn = each_column,
  .xRowid = each_rowid,
};
