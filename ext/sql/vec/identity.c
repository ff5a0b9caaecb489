/*
** identity.c: the model a semlite_vec table remembers (identity.h).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../ops/fingerprint.h"
#include "identity.h"

static const char *const keys[] = {"model_folder", "model_kind", "model_dim", "model_dtype", "model_weights"};
enum { K_FOLDER, K_KIND, K_DIM, K_DTYPE, K_WEIGHTS, N_KEYS };

static void values_of(const sl_fingerprint *fp, char dim[16], const char *v[N_KEYS]) {
  snprintf(dim, 16, "%d", fp->dim);
  v[K_FOLDER] = fp->folder;
  v[K_KIND] = fp->kind;
  v[K_DIM] = dim;
  v[K_DTYPE] = fp->dtype;
  v[K_WEIGHTS] = fp->weights;
}

int vv_identity_record(vv_table *t) {
  sl_fingerprint fp;
  sl_err err;
  int found, rc;
  char dim[16], *sql;
  const char *v[N_KEYS];
  sqlite3_stmt *st = NULL;
  if (!t->cfg.model) return SQLITE_OK;
  if (sl_op_fingerprint(t->cfg.model, &found, &fp, &err))
    return sl_vtab_error(&t->base, t->name, "model: %s", err.msg);
  if (!found) return SQLITE_OK;   /* vv_model_check refused the table already */
  values_of(&fp, dim, v);
  sql = sqlite3_mprintf("INSERT OR REPLACE INTO \"%w\".\"%w_info\"(key, value) VALUES (?1, ?2)", t->schema, t->name);
  rc = sql ? sqlite3_prepare_v2(t->db, sql, -1, &st, NULL) : SQLITE_NOMEM;
  sqlite3_free(sql);
  for (int i = 0; i < N_KEYS && rc == SQLITE_OK; i++) {
    sqlite3_bind_text(st, 1, keys[i], -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, v[i], -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_OK)
    return sl_vtab_error(&t->base, t->name, "cannot record the model in %s_info: %s", t->name, sqlite3_errmsg(t->db));
  return SQLITE_OK;
}

/* The recorded values (sqlite3_malloc'd, NULL when absent); 0 when none is recorded or
** the table has no T_info yet (xCreate checks the model before making it). */
static int read_record(vv_table *t, char *rec[N_KEYS]) {
  char *sql = sqlite3_mprintf("SELECT key, value FROM \"%w\".\"%w_info\" WHERE key LIKE 'model\\_%%' ESCAPE '\\'",
                              t->schema, t->name);
  sqlite3_stmt *st = NULL;
  int any = 0;
  memset(rec, 0, N_KEYS * sizeof *rec);
  if (!sql) return 0;
  if (sqlite3_prepare_v2(t->db, sql, -1, &st, NULL) == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW) {
      const char *key = (const char *)sqlite3_column_text(st, 0);
      const char *value = (const char *)sqlite3_column_text(st, 1);
      for (int i = 0; key && value && i < N_KEYS; i++)
        if (strcmp(key, keys[i]) == 0 && !rec[i]) {
          rec[i] = sqlite3_mprintf("%s", value);
          any = 1;
        }
    }
  }
  sqlite3_finalize(st);
  sqlite3_free(sql);
  return any && rec[K_FOLDER] && rec[K_WEIGHTS];
}

int vv_identity_check(vv_table *t) {
  char *rec[N_KEYS], dim[16];
  const char *v[N_KEYS];
  sl_fingerprint fp;
  sl_err err;
  int found, rc = SQLITE_OK;
  if (!t->cfg.model || !read_record(t, rec)) {
    if (t->cfg.model) for (int i = 0; i < N_KEYS; i++) sqlite3_free(rec[i]);
    return SQLITE_OK;
  }
  if (sl_op_fingerprint(t->cfg.model, &found, &fp, &err)) {
    rc = sl_vtab_error(&t->base, t->name, "model: %s", err.msg);
  } else if (!found) {
    rc = sl_vtab_error(&t->base, t->name,
                       "model: no model named '%s'; this table's vectors come from the folder '%s' (%s): "
                       "load it with semlite_model_load('%s', '%s'%s)",
                       t->cfg.model, rec[K_FOLDER], rec[K_DTYPE] ? rec[K_DTYPE] : "?", t->cfg.model, rec[K_FOLDER],
                       rec[K_DTYPE] && strcmp(rec[K_DTYPE], "fp32") != 0
                           ? (strcmp(rec[K_DTYPE], "int8") == 0 ? ", '{\"dtype\":\"int8\"}'" : ", '{\"dtype\":\"bf16\"}'")
                           : "");
  } else {
    values_of(&fp, dim, v);
    for (int i = 0; i < N_KEYS; i++) {
      if (i == K_FOLDER || !rec[i] || strcmp(rec[i], v[i]) == 0) continue;
      rc = sl_vtab_error(&t->base, t->name,
                         "model '%s' is not the model this table's vectors come from: the table has '%s' (%s, %s "
                         "dims, weights %.12s), '%s' is now '%s' (%s, %s dims, weights %.12s); load the table's "
                         "model under that name, or give the rows their vectors",
                         t->cfg.model, rec[K_FOLDER], rec[K_DTYPE] ? rec[K_DTYPE] : "?", rec[K_DIM] ? rec[K_DIM] : "?",
                         rec[K_WEIGHTS], t->cfg.model, v[K_FOLDER], v[K_DTYPE], v[K_DIM], v[K_WEIGHTS]);
      break;
    }
  }
  for (int i = 0; i < N_KEYS; i++) sqlite3_free(rec[i]);
  return rc;
}
