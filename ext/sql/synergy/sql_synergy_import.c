/*
** sql_synergy_import.c: semlite_ha_import, the SQLite side of importing a smart home:
** the arguments, one savepoint, the synergy tables (sql/synergy.sql) and the rows that
** ext/synergy/ha_import.c reads from each document, written into them.
**
**   semlite_ha_import()                  creates the tables (empty), for users who fill them
**   semlite_ha_import(doc [, doc, doc])  imports each document, all in one savepoint
**
** A document is a home in the format of ../shared/data/homes (it replaces all four groups
** of tables) or one of Home Assistant's registry files (each replaces its own table;
** entities are completed from the devices already in synergy_devices, so the device
** registry goes with or before them). Anything malformed or refused by a constraint is
** an error naming the element, and nothing is imported. Returns a JSON summary of the
** rows now in the tables.
**
** DIRECTONLY: it writes tables. The tables live in 'main'.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../base/json.h"
#include "../../synergy/ha_import.h"
#include "../sql.h"
#include "../sql_scripts.h"

#define FN "semlite_ha_import"

typedef struct importer {
  sqlite3 *db;
  sl_err *err;
  sqlite3_stmt *area, *device, *entity, *automation, *member, *device_by_id;
} importer;

static int db_fail(importer *im, const char *where) {
  return sl_fail_code(im->err, sqlite3_extended_errcode(im->db), "%s: %s", where, sqlite3_errmsg(im->db));
}

static int prepare(importer *im, sqlite3_stmt **st, const char *sql) {
  if (sqlite3_prepare_v2(im->db, sql, -1, st, NULL) != SQLITE_OK) return db_fail(im, "prepare");
  return SL_OK;
}

static void bind_opt(sqlite3_stmt *st, int i, const char *s) {
  if (s) sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
  else sqlite3_bind_null(st, i);
}

/* Binds the strings as parameters 1..n, then ints after them, and runs the insert. */
static int insert(importer *im, sqlite3_stmt *st, const char *where, int n, const char *const *s, int n_ints,
                  const int *ints) {
  int rc;
  for (int i = 0; i < n; i++) bind_opt(st, i + 1, s[i]);
  for (int i = 0; i < n_ints; i++) sqlite3_bind_int(st, n + i + 1, ints[i]);
  rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc == SQLITE_DONE ? SL_OK : db_fail(im, where);
}

/* The entity registry's view of the devices imported so far (sl_ha_device_fn). */
static int find_device(void *ctx, const char *id, const char **name, const char **area) {
  importer *im = ctx;
  sqlite3_reset(im->device_by_id);
  sqlite3_bind_text(im->device_by_id, 1, id, -1, SQLITE_TRANSIENT);
  if (sqlite3_step(im->device_by_id) != SQLITE_ROW) return 0;
  *name = (const char *)sqlite3_column_text(im->device_by_id, 0);
  *area = (const char *)sqlite3_column_text(im->device_by_id, 1);
  return 1;
}

static int clear(importer *im, const sl_ha_doc *d) {
  static const struct { unsigned group; const char *sql, *what; } tables[] = {
    {SL_HA_AREAS, "DELETE FROM synergy_areas", "clearing areas"},
    {SL_HA_DEVICES, "DELETE FROM synergy_devices", "clearing devices"},
    {SL_HA_ENTITIES, "DELETE FROM synergy_entities", "clearing entities"},
  };
  if (d->replaces == SL_HA_HOME)
    return sqlite3_exec(im->db,
                        "DELETE FROM synergy_automation_members; DELETE FROM synergy_automations;"
                        "DELETE FROM synergy_entities; DELETE FROM synergy_devices; DELETE FROM synergy_areas;",
                        NULL, NULL, NULL) == SQLITE_OK ? SL_OK : db_fail(im, "clearing the home");
  for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
    if ((d->replaces & tables[t].group) && sqlite3_exec(im->db, tables[t].sql, NULL, NULL, NULL) != SQLITE_OK)
      return db_fail(im, tables[t].what);
  return SL_OK;
}

/* The rows of one document, in its tables (which it replaces). */
static int write_doc(importer *im, const sl_ha_doc *d) {
  char where[96];
  if (clear(im, d)) return SL_ERROR;
  for (size_t i = 0; i < d->n_areas; i++) {
    const char *s[] = {d->areas[i].id, d->areas[i].name};
    snprintf(where, sizeof where, "areas[%zu]", i);
    if (insert(im, im->area, where, 2, s, 0, NULL)) return SL_ERROR;
  }
  for (size_t i = 0; i < d->n_devices; i++) {
    const sl_ha_device *v = &d->devices[i];
    const char *s[] = {v->id, v->name, v->manufacturer, v->model, v->area};
    snprintf(where, sizeof where, "devices[%zu]", i);
    if (insert(im, im->device, where, 5, s, 1, &v->disabled)) return SL_ERROR;
  }
  for (size_t i = 0; i < d->n_entities; i++) {
    const sl_ha_entity *v = &d->entities[i];
    const char *s[] = {v->id, v->domain, v->name, v->area, v->device, v->device_class, v->unit, v->platform,
                       v->category};
    int flags[] = {v->disabled, v->hidden};
    snprintf(where, sizeof where, "entities[%zu]", i);
    if (insert(im, im->entity, where, 9, s, 2, flags)) return SL_ERROR;
  }
  for (size_t i = 0; i < d->n_automations; i++) {
    const sl_ha_automation *a = &d->automations[i];
    sqlite3_int64 id;
    snprintf(where, sizeof where, "automations[%zu]", i);
    if (insert(im, im->automation, where, 1, &a->alias, 0, NULL)) return SL_ERROR;
    id = sqlite3_last_insert_rowid(im->db);
    for (size_t k = a->first; k < a->first + a->n; k++) {
      const sl_ha_member *m = &d->members[k];
      const char *s[] = {m->role, m->entity_id, m->device_id};
      if (m->entity_id) snprintf(where, sizeof where, "automations[%zu].%s_entities", i, m->role);
      else snprintf(where, sizeof where, "automations[%zu]", i);
      sqlite3_bind_int64(im->member, 4, id);
      if (insert(im, im->member, where, 3, s, 0, NULL)) return SL_ERROR;
    }
  }
  return SL_OK;
}

static int import_all(importer *im, int argc, sl_json_doc **docs) {
  const char *schema = sl_sql_script("synergy.sql");
  if (!schema) return sl_fail(im->err, "synergy.sql is not compiled in");
  /* The step tables of the layout before content addresses (a 64-bit hash per row) are
  ** only caches: dropped, for synergy.sql to create them anew. */
  if (sqlite3_table_column_metadata(im->db, "main", "synergy_hop_scores", "hash", NULL, NULL, NULL, NULL, NULL) ==
          SQLITE_OK &&
      sqlite3_exec(im->db, "DROP TABLE main.synergy_hop_scores; DROP TABLE IF EXISTS main.synergy_descriptors", NULL,
                   NULL, NULL) != SQLITE_OK)
    return db_fail(im, "dropping the old step tables");
  if (sqlite3_exec(im->db, schema, NULL, NULL, NULL) != SQLITE_OK) return db_fail(im, "creating the tables");
  if (prepare(im, &im->area, "INSERT INTO synergy_areas(area_id, name) VALUES (?1, ?2)") ||
      prepare(im, &im->device,
              "INSERT INTO synergy_devices(device_id, name, manufacturer, model, area_id, disabled) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6)") ||
      prepare(im, &im->entity,
              "INSERT INTO synergy_entities(entity_id, domain, name, area_id, device_id, device_class, "
              "unit, platform, entity_category, disabled, hidden) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)") ||
      prepare(im, &im->automation, "INSERT INTO synergy_automations(alias) VALUES (?1)") ||
      prepare(im, &im->member,
              "INSERT INTO synergy_automation_members(role, entity_id, device_id, automation_id) "
              "VALUES (?1, ?2, ?3, ?4)") ||
      prepare(im, &im->device_by_id, "SELECT name, area_id FROM synergy_devices WHERE device_id = ?1"))
    return SL_ERROR;
  for (int rank = 0; rank <= 3; rank++)
    for (int a = 0; a < argc; a++) {
      const sl_json *root = sl_json_root(docs[a]);
      sl_ha_doc doc;
      int rc;
      if (sl_ha_doc_rank(root) != rank) continue;
      rc = sl_ha_read(root, find_device, im, &doc, im->err);
      sqlite3_reset(im->device_by_id);
      if (rc == SL_OK) rc = write_doc(im, &doc);
      sl_ha_doc_free(&doc);
      if (rc) {
        if (argc > 1) {
          char pre[32];
          snprintf(pre, sizeof pre, "argument %d", a + 1);
          sl_err_prefix(im->err, pre);
        }
        return SL_ERROR;
      }
    }
  return SL_OK;
}

void sl_sql_ha_import(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  sl_json_doc *docs[3] = {NULL, NULL, NULL};
  importer im = {db, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
  sl_err err;
  int rc = SL_ERROR, bare;

  im.err = &err;
  if (argc > 3) {
    sl_sql_errorf(ctx, FN, "takes at most 3 documents, got %d", argc);
    return;
  }
  for (int a = 0; a < argc; a++) {
    /* TEXT, or a BLOB as readfile() gives; NULL in, NULL out. */
    int type = sqlite3_value_type(argv[a]);
    const char *text;
    if (type == SQLITE_NULL) {
      sqlite3_result_null(ctx);
      goto done;
    }
    if (type != SQLITE_TEXT && type != SQLITE_BLOB) {
      sl_sql_errorf(ctx, FN, "the document must be TEXT or a BLOB of JSON, got %s", sl_sql_type_name(argv[a]));
      goto done;
    }
    text = type == SQLITE_TEXT ? (const char *)sqlite3_value_text(argv[a]) : (const char *)sqlite3_value_blob(argv[a]);
    if (!text && sqlite3_value_bytes(argv[a]) > 0) {
      sqlite3_result_error_nomem(ctx);
      goto done;
    }
    if (!text) text = "";
    if (sl_ha_parse(text, (size_t)sqlite3_value_bytes(argv[a]), &docs[a], &err)) {
      if (argc > 1) sl_sql_errorf(ctx, FN, "argument %d: %s", a + 1, err.msg);
      else sl_sql_error(ctx, FN, &err);
      goto done;
    }
  }
  if (sl_sql_write_allowed(db, "main", &err)) {
    sl_sql_error(ctx, FN, &err);
    goto done;
  }
  if (sl_sql_block_begin(db, "semlite_ha_import", &bare) != SQLITE_OK) {
    sl_sql_errorf(ctx, FN, "%s", sqlite3_errmsg(db));
    goto done;
  }
  rc = import_all(&im, argc, docs);
  sl_sql_block_end(db, "semlite_ha_import", bare, rc == SL_OK);
  if (rc) {
    sl_sql_error(ctx, FN, &err);
  } else {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT json_object('areas', (SELECT count(*) FROM synergy_areas),"
                           " 'devices', (SELECT count(*) FROM synergy_devices),"
                           " 'entities', (SELECT count(*) FROM synergy_entities),"
                           " 'automations', (SELECT count(*) FROM synergy_automations))",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      sqlite3_result_text(ctx, (const char *)sqlite3_column_text(st, 0), -1, SQLITE_TRANSIENT);
    else
      sl_sql_errorf(ctx, FN, "%s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
  }
done:
  sqlite3_finalize(im.area);
  sqlite3_finalize(im.device);
  sqlite3_finalize(im.entity);
  sqlite3_finalize(im.automation);
  sqlite3_finalize(im.member);
  sqlite3_finalize(im.device_by_id);
  for (int a = 0; a < argc; a++) sl_json_free(docs[a]);
}
