/*
** sql_vec_compat.c: the rest of sqlite-vec's SQL API that a loadable extension has, for
** applications moving from sqlite-vec (docs/vector-search.md, "Moving from sqlite-vec"):
** vec_version(), vec_debug(), vec_type(v) and the table-valued vec_each(v) and
** vec_npy_each(array) (.npy parsing in ext/vector/npy.c). Vectors are read by sql_vec.c,
** as everywhere.
*/
#include <string.h>

#include "../base/version.h"
#include "../vector/npy.h"
#include "sql.h"

/* The sqlite-vec release whose SQL semlite follows (and tests against, tests/vec0.mk). */
#define SL_VEC_COMPAT_VERSION "v0.1.9"

void sl_sql_vec_version(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sqlite3_result_text(ctx, SL_VEC_COMPAT_VERSION, -1, SQLITE_STATIC);
}

void sl_sql_vec_debug(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sqlite3_result_text(ctx, "Version: " SL_VEC_COMPAT_VERSION "\nImplementation: semlite " SEMLITE_VERSION
                      "\nCommit: see semlite_build_info()\nBuild flags: see semlite_build_info()", -1, SQLITE_STATIC);
}

/* 'float32', 'int8' or 'bit', as the value's subtype says (NULL gives NULL). */
void sl_sql_vec_type(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sl_sql_vec v;
  if (!sl_sql_vec_args(ctx, "vec_type", argc, argv, 1, SL_SQL_VEC_ANY, &v)) return;
  sqlite3_result_text(ctx, sl_sql_vec_type_name(v.type), -1, SQLITE_STATIC);
  sl_sql_vec_free(&v);
}

/* ---- table functions of one argument: vec_each(vector), vec_npy_each(array) ----
** One table and cursor for both; each module differs in its schema (a column, then the
** HIDDEN argument as column 1), its xFilter, xEof and xColumn. */

typedef struct fn_table {
  sqlite3_vtab base;
  const char *name, *usage;          /* "vec_each", "needs a vector argument: vec_each(v)" */
} fn_table;

typedef struct fn_cursor {
  sqlite3_vtab_cursor base;
  size_t i;
  int have;                          /* vec_each: v holds the vector */
  sl_sql_vec v;
  sqlite3_value *array;              /* vec_npy_each: the argument, which npy points into */
  sl_npy npy;
} fn_cursor;

static int fn_connect(sqlite3 *db, const char *schema, const char *name, const char *usage,
                      sqlite3_vtab **out) {
  fn_table *t;
  int rc = sqlite3_declare_vtab(db, schema);
  if (rc != SQLITE_OK) return rc;
  if (!(t = sqlite3_malloc(sizeof *t))) return SQLITE_NOMEM;
  memset(t, 0, sizeof *t);
  t->name = name;
  t->usage = usage;
  sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
  *out = &t->base;
  return SQLITE_OK;
}

static int fn_disconnect(sqlite3_vtab *t) {
  sqlite3_free(t);
  return SQLITE_OK;
}

static int fn_best_index(sqlite3_vtab *vt, sqlite3_index_info *info) {
  const fn_table *t = (const fn_table *)vt;
  for (int i = 0; i < info->nConstraint; i++) {
    if (info->aConstraint[i].iColumn != 1 || info->aConstraint[i].op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
    if (!info->aConstraint[i].usable) return SQLITE_CONSTRAINT;
    info->aConstraintUsage[i].argvIndex = 1;
    info->aConstraintUsage[i].omit = 1;
    info->estimatedCost = 10;
    info->idxNum = 1;
    return SQLITE_OK;
  }
  return sl_vtab_error(vt, t->name, "%s", t->usage);
}

static int fn_open(sqlite3_vtab *t, sqlite3_vtab_cursor **out) {
  fn_cursor *c = sqlite3_malloc(sizeof *c);
  if (!c) return SQLITE_NOMEM;
  memset(c, 0, sizeof *c);
  *out = &c->base;
  return SQLITE_OK;
}

/* Back to no rows. */
static void fn_reset(fn_cursor *c) {
  if (c->have) sl_sql_vec_free(&c->v);
  sqlite3_value_free(c->array);
  c->have = 0;
  c->array = NULL;
  memset(&c->npy, 0, sizeof c->npy);
  c->i = 0;
}

static int fn_close(sqlite3_vtab_cursor *cur) {
  fn_reset((fn_cursor *)cur);
  sqlite3_free(cur);
  return SQLITE_OK;
}

static int fn_next(sqlite3_vtab_cursor *cur) {
  ((fn_cursor *)cur)->i++;
  return SQLITE_OK;
}

static int fn_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid) {
  *rowid = (sqlite3_int64)((fn_cursor *)cur)->i;
  return SQLITE_OK;
}

#define FN_MODULE(module, prefix)                                                                   \
  sqlite3_module module = {.iVersion = 0, .xConnect = prefix##_connect, .xBestIndex = fn_best_index, \
                           .xDisconnect = fn_disconnect, .xOpen = fn_open, .xClose = fn_close,       \
                           .xFilter = prefix##_filter, .xNext = fn_next, .xEof = prefix##_eof,       \
                           .xColumn = prefix##_column, .xRowid = fn_rowid}

/* vec_each(vector): one row per element, rowid its index. */
static int each_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
                        char **errmsg) {
  return fn_connect(db, "CREATE TABLE x(value, vector HIDDEN)", "vec_each", "needs a vector argument: vec_each(v)", out);
}

static int each_filter(sqlite3_vtab_cursor *cur, int idx_num, const char *idx_str, int argc, sqlite3_value **argv) {
  fn_cursor *c = (fn_cursor *)cur;
  sl_err err;
  fn_reset(c);
  if (argc < 1 || sqlite3_value_type(argv[0]) == SQLITE_NULL) return SQLITE_OK;  /* NULL: no rows */
  if (sl_sql_vec_read(argv[0], SL_SQL_VEC_ANY, &c->v, &err))
    return sl_vtab_fail(cur->pVtab, "vec_each", &err);
  c->have = 1;
  return SQLITE_OK;
}

static int each_eof(sqlite3_vtab_cursor *cur) {
  fn_cursor *c = (fn_cursor *)cur;
  return !c->have || c->i >= c->v.n;
}

static int each_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col) {
  fn_cursor *c = (fn_cursor *)cur;
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

FN_MODULE(sl_vec_each_module, each);

/* vec_npy_each(array): a .npy BLOB's rows as float32 vectors, rowid the row's index. */
static int npy_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
                       char **errmsg) {
  return fn_connect(db, "CREATE TABLE x(vector, array HIDDEN)", "vec_npy_each",
                    "needs a .npy BLOB argument: vec_npy_each(array)", out);
}

static int npy_filter(sqlite3_vtab_cursor *cur, int idx_num, const char *idx_str, int argc, sqlite3_value **argv) {
  fn_cursor *c = (fn_cursor *)cur;
  sl_err err;
  fn_reset(c);
  if (argc < 1 || sqlite3_value_type(argv[0]) == SQLITE_NULL) return SQLITE_OK;  /* NULL: no rows */
  if (sqlite3_value_type(argv[0]) != SQLITE_BLOB)
    return sl_vtab_error(cur->pVtab, "vec_npy_each", "the array must be a BLOB of a .npy file, got %s",
                         sl_sql_type_name(argv[0]));
  if (!(c->array = sqlite3_value_dup(argv[0]))) return SQLITE_NOMEM;
  if (sl_npy_parse(sqlite3_value_blob(c->array), (size_t)sqlite3_value_bytes(c->array), &c->npy, &err)) {
    fn_reset(c);
    return sl_vtab_fail(cur->pVtab, "vec_npy_each", &err);
  }
  return SQLITE_OK;
}

static int npy_eof(sqlite3_vtab_cursor *cur) {
  fn_cursor *c = (fn_cursor *)cur;
  return c->i >= c->npy.rows;
}

static int npy_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col) {
  fn_cursor *c = (fn_cursor *)cur;
  size_t bytes = c->npy.dims * sizeof(float);
  void *v;
  if (col != 0) return SQLITE_OK;
  if (!(v = sqlite3_malloc64(bytes))) return SQLITE_NOMEM;
  memcpy(v, c->npy.data + c->i * bytes, bytes);
  sl_sql_vec_result(ctx, SL_VEC_F32, v, c->npy.dims);
  return SQLITE_OK;
}

FN_MODULE(sl_vec_npy_each_module, npy);
