/*
** sql_synergy_import.c: semlite_ha_import, which loads a smart home into the synergy
** tables (sql/synergy.sql) that synergy_paths and synergy_links read.
**
**   semlite_ha_import()                  creates the tables (empty), for users who fill them
**   semlite_ha_import(doc [, doc, doc])  imports each document, all in one savepoint
**
** A document is either a home in the format of ../shared/data/homes (SOURCES.md: areas,
** devices, entities, automations; it replaces all four) or one of Home Assistant's own
** registry files, recognised by their "key": core.area_registry, core.device_registry,
** core.entity_registry (each replaces its own table; entity names and areas are completed
** from the devices as the HA UI does, so pass the device registry with or before them).
** Anything malformed is an error naming the element, and nothing is imported. Returns a
** JSON summary of the rows now in the tables.
**
** DIRECTONLY: it writes tables. The tables live in 'main'.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../base/json.h"
#include "../sql.h"
#include "../sql_scripts.h"

#define FN "semlite_ha_import"

typedef struct importer {
  sqlite3 *db;
  sl_err *err;
  sqlite3_stmt *area, *device, *entity, *automation, *member, *device_by_name, *device_by_id;
} importer;

static int db_fail(importer *im, const char *where) {
  return sl_fail(im->err, "%s: %s", where, sqlite3_errmsg(im->db));
}

static int prepare(importer *im, sqlite3_stmt **st, const char *sql) {
  if (sqlite3_prepare_v2(im->db, sql, -1, st, NULL) != SQLITE_OK) return db_fail(im, "prepare");
  return SL_OK;
}

/* ---- reading fields: strings, optional strings, booleans ---- */

/* A member that must be a string, or (optional) may be missing or null: *out NULL. */
static int get_str(importer *im, const sl_json *obj, const char *key, int optional,
                   const char *where, const char **out) {
  const sl_json *v = sl_json_get(obj, key);
  *out = NULL;
  if ((!v || v->type == SL_JSON_NULL) && optional) return SL_OK;
  if (!v) return sl_fail(im->err, "%s has no \"%s\"", where, key);
  if (v->type != SL_JSON_STRING) return sl_fail(im->err, "%s.%s is not a string", where, key);
  *out = v->str;
  return SL_OK;
}

/* true, or a non-null HA "…_by" reason, counts as set. */
static int get_flag(const sl_json *obj, const char *key) {
  const sl_json *v = sl_json_get(obj, key);
  return v && ((v->type == SL_JSON_BOOL && v->boolean) || v->type == SL_JSON_STRING);
}

static const sl_json *get_array(importer *im, const sl_json *obj, const char *key, int optional,
                                const char *where) {
  const sl_json *v = sl_json_get(obj, key);
  if (!v && optional) return NULL;
  if (!v || v->type != SL_JSON_ARRAY) {
    sl_fail(im->err, "%s.%s is %s", where, key, v ? "not an array" : "missing");
    return NULL;
  }
  return v;
}

static void bind_opt(sqlite3_stmt *st, int i, const char *s) {
  if (s) sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
  else sqlite3_bind_null(st, i);
}

static int step_done(importer *im, sqlite3_stmt *st, const char *where) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc == SQLITE_DONE ? SL_OK : db_fail(im, where);
}

/* ---- rows ---- */

static int put_area(importer *im, const char *id, const char *name, const char *where) {
  bind_opt(im->area, 1, id);
  bind_opt(im->area, 2, name);
  return step_done(im, im->area, where);
}

static int put_device(importer *im, const char *id, const char *name, const char *manufacturer,
                      const char *model, const char *area, int disabled, const char *where) {
  bind_opt(im->device, 1, id);
  bind_opt(im->device, 2, name);
  bind_opt(im->device, 3, manufacturer);
  bind_opt(im->device, 4, model);
  bind_opt(im->device, 5, area);
  sqlite3_bind_int(im->device, 6, disabled);
  return step_done(im, im->device, where);
}

typedef struct entity_row {
  const char *id, *domain, *name, *area, *device, *device_class, *unit, *platform, *category;
  int disabled, hidden;
} entity_row;

static int put_entity(importer *im, const entity_row *e, const char *where) {
  bind_opt(im->entity, 1, e->id);
  bind_opt(im->entity, 2, e->domain);
  bind_opt(im->entity, 3, e->name);
  bind_opt(im->entity, 4, e->area);
  bind_opt(im->entity, 5, e->device);
  bind_opt(im->entity, 6, e->device_class);
  bind_opt(im->entity, 7, e->unit);
  bind_opt(im->entity, 8, e->platform);
  bind_opt(im->entity, 9, e->category);
  sqlite3_bind_int(im->entity, 10, e->disabled);
  sqlite3_bind_int(im->entity, 11, e->hidden);
  return step_done(im, im->entity, where);
}

/* "light.kid1s_room" -> its object id with spaces, "kid1s room", when nothing names it. */
static void name_from_id(const char *id, char *buf, size_t cap) {
  const char *dot = strchr(id, '.');
  size_t i = 0;
  for (const char *s = dot ? dot + 1 : id; *s && i + 1 < cap; s++) buf[i++] = *s == '_' ? ' ' : *s;
  buf[i] = 0;
}

/* ---- the home format (../shared/data/SOURCES.md) ---- */

static int import_members(importer *im, sqlite3_int64 auto_id, const sl_json *a, const char *role,
                          const char *where) {
  char key[32], path[128];
  const sl_json *list;
  snprintf(key, sizeof key, "%s_entities", role);
  if (!(list = get_array(im, a, key, 0, where))) return SL_ERROR;
  for (const sl_json *e = list->child; e; e = e->next) {
    if (e->type != SL_JSON_STRING) return sl_fail(im->err, "%s.%s has a non-string element", where, key);
    sqlite3_bind_int64(im->member, 1, auto_id);
    sqlite3_bind_text(im->member, 2, role, -1, SQLITE_STATIC);
    sqlite3_bind_text(im->member, 3, e->str, -1, SQLITE_STATIC);
    sqlite3_bind_null(im->member, 4);
    snprintf(path, sizeof path, "%s.%s", where, key);
    if (step_done(im, im->member, path)) return SL_ERROR;
  }
  /* Device triggers and actions are given by device name. */
  snprintf(key, sizeof key, "%s_devices", role);
  if (!(list = get_array(im, a, key, 1, where))) return sl_json_get(a, key) ? SL_ERROR : SL_OK;
  for (const sl_json *e = list->child; e; e = e->next) {
    int rc;
    if (e->type != SL_JSON_STRING) return sl_fail(im->err, "%s.%s has a non-string element", where, key);
    sqlite3_bind_text(im->device_by_name, 1, e->str, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(im->device_by_name)) == SQLITE_ROW) {
      sqlite3_bind_int64(im->member, 1, auto_id);
      sqlite3_bind_text(im->member, 2, role, -1, SQLITE_STATIC);
      sqlite3_bind_null(im->member, 3);
      sqlite3_bind_text(im->member, 4, (const char *)sqlite3_column_text(im->device_by_name, 0), -1,
                        SQLITE_TRANSIENT);
      if (step_done(im, im->member, where)) {
        sqlite3_reset(im->device_by_name);
        return SL_ERROR;
      }
    }
    sqlite3_reset(im->device_by_name);
    if (rc != SQLITE_DONE) return db_fail(im, where);
  }
  return SL_OK;
}

static int import_home(importer *im, const sl_json *root) {
  const sl_json *list;
  char where[96];
  size_t i;

  if (sqlite3_exec(im->db,
                   "DELETE FROM synergy_automation_members; DELETE FROM synergy_automations;"
                   "DELETE FROM synergy_entities; DELETE FROM synergy_devices; DELETE FROM synergy_areas;",
                   NULL, NULL, NULL) != SQLITE_OK)
    return db_fail(im, "clearing the home");

  if (!(list = get_array(im, root, "areas", 0, "the home"))) return SL_ERROR;
  i = 0;
  for (const sl_json *a = list->child; a; a = a->next, i++) {
    const char *id, *name;
    snprintf(where, sizeof where, "areas[%zu]", i);
    if (a->type != SL_JSON_OBJECT) return sl_fail(im->err, "%s is not an object", where);
    if (get_str(im, a, "area_id", 0, where, &id) || get_str(im, a, "name", 0, where, &name) ||
        put_area(im, id, name, where))
      return SL_ERROR;
  }

  if (!(list = get_array(im, root, "devices", 0, "the home"))) return SL_ERROR;
  i = 0;
  for (const sl_json *d = list->child; d; d = d->next, i++) {
    const char *id, *name, *manufacturer, *model, *area;
    snprintf(where, sizeof where, "devices[%zu]", i);
    if (d->type != SL_JSON_OBJECT) return sl_fail(im->err, "%s is not an object", where);
    if (get_str(im, d, "device_id", 0, where, &id) || get_str(im, d, "name", 0, where, &name) ||
        get_str(im, d, "manufacturer", 1, where, &manufacturer) ||
        get_str(im, d, "model", 1, where, &model) || get_str(im, d, "area_id", 1, where, &area) ||
        put_device(im, id, name, manufacturer, model, area, get_flag(d, "disabled"), where))
      return SL_ERROR;
  }

  if (!(list = get_array(im, root, "entities", 0, "the home"))) return SL_ERROR;
  i = 0;
  for (const sl_json *e = list->child; e; e = e->next, i++) {
    entity_row r = {0};
    snprintf(where, sizeof where, "entities[%zu]", i);
    if (e->type != SL_JSON_OBJECT) return sl_fail(im->err, "%s is not an object", where);
    if (get_str(im, e, "entity_id", 0, where, &r.id) || get_str(im, e, "domain", 0, where, &r.domain) ||
        get_str(im, e, "name", 0, where, &r.name) || get_str(im, e, "area_id", 1, where, &r.area) ||
        get_str(im, e, "device_id", 1, where, &r.device) ||
        get_str(im, e, "device_class", 1, where, &r.device_class) ||
        get_str(im, e, "unit", 1, where, &r.unit) || get_str(im, e, "platform", 1, where, &r.platform) ||
        get_str(im, e, "entity_category", 1, where, &r.category))
      return SL_ERROR;
    r.disabled = get_flag(e, "disabled");
    r.hidden = get_flag(e, "hidden");
    if (put_entity(im, &r, where)) return SL_ERROR;
  }

  if (!(list = get_array(im, root, "automations", 1, "the home"))) return sl_json_get(root, "automations") ? SL_ERROR : SL_OK;
  i = 0;
  for (const sl_json *a = list->child; a; a = a->next, i++) {
    const char *alias;
    snprintf(where, sizeof where, "automations[%zu]", i);
    if (a->type != SL_JSON_OBJECT) return sl_fail(im->err, "%s is not an object", where);
    if (get_str(im, a, "alias", 1, where, &alias)) return SL_ERROR;
    bind_opt(im->automation, 1, alias);
    if (step_done(im, im->automation, where)) return SL_ERROR;
    sqlite3_int64 id = sqlite3_last_insert_rowid(im->db);
    if (import_members(im, id, a, "trigger", where) || import_members(im, id, a, "action", where))
      return SL_ERROR;
  }
  return SL_OK;
}

/* ---- Home Assistant's registry files (.storage/core.*_registry) ---- */

static int import_ha_areas(importer *im, const sl_json *data) {
  const sl_json *list = get_array(im, data, "areas", 0, "core.area_registry data");
  char where[64];
  size_t i = 0;
  if (!list) return SL_ERROR;
  if (sqlite3_exec(im->db, "DELETE FROM synergy_areas", NULL, NULL, NULL) != SQLITE_OK)
    return db_fail(im, "clearing areas");
  for (const sl_json *a = list->child; a; a = a->next, i++) {
    const char *id, *name;
    snprintf(where, sizeof where, "areas[%zu]", i);
    if (a->type != SL_JSON_OBJECT) return sl_fail(im->err, "%s is not an object", where);
    if (get_str(im, a, "id", 0, where, &id) || get_str(im, a, "name", 0, where, &name) ||
        put_area(im, id, name, where))
      return SL_ERROR;
  }
  return SL_OK;
}

static int import_ha_devices(importer *im, const sl_json *data) {
  const sl_json *list = get_array(im, data, "devices", 0, "core.device_registry data");
  char where[64];
  size_t i = 0;
  if (!list) return SL_ERROR;
  if (sqlite3_exec(im->db, "DELETE FROM synergy_devices", NULL, NULL, NULL) != SQLITE_OK)
    return db_fail(im, "clearing devices");
  for (const sl_json *d = list->child; d; d = d->next, i++) {
    const char *id, *name, *by_user, *manufacturer, *model, *area;
    snprintf(where, sizeof where, "devices[%zu]", i);
    if (d->type != SL_JSON_OBJECT) return sl_fail(im->err, "%s is not an object", where);
    if (get_str(im, d, "id", 0, where, &id) || get_str(im, d, "name", 1, where, &name) ||
        get_str(im, d, "name_by_user", 1, where, &by_user) ||
        get_str(im, d, "manufacturer", 1, where, &manufacturer) ||
        get_str(im, d, "model", 1, where, &model) || get_str(im, d, "area_id", 1, where, &area))
      return SL_ERROR;
    if (put_device(im, id, by_user ? by_user : name ? name : id, manufacturer, model, area,
                   get_flag(d, "disabled_by"), where))
      return SL_ERROR;
  }
  return SL_OK;
}

static int import_ha_entities(importer *im, const sl_json *data) {
  const sl_json *list = get_array(im, data, "entities", 0, "core.entity_registry data");
  char where[64];
  size_t i = 0;
  if (!list) return SL_ERROR;
  if (sqlite3_exec(im->db, "DELETE FROM synergy_entities", NULL, NULL, NULL) != SQLITE_OK)
    return db_fail(im, "clearing entities");
  for (const sl_json *e = list->child; e; e = e->next, i++) {
    entity_row r = {0};
    const char *name, *original, *klass, *original_class, *dev_name = NULL, *dev_area = NULL;
    char derived[256], *joined = NULL;
    int rc;
    snprintf(where, sizeof where, "entities[%zu]", i);
    if (e->type != SL_JSON_OBJECT) return sl_fail(im->err, "%s is not an object", where);
    if (get_str(im, e, "entity_id", 0, where, &r.id) || get_str(im, e, "name", 1, where, &name) ||
        get_str(im, e, "original_name", 1, where, &original) ||
        get_str(im, e, "area_id", 1, where, &r.area) || get_str(im, e, "device_id", 1, where, &r.device) ||
        get_str(im, e, "device_class", 1, where, &klass) ||
        get_str(im, e, "original_device_class", 1, where, &original_class) ||
        get_str(im, e, "unit_of_measurement", 1, where, &r.unit) ||
        get_str(im, e, "platform", 1, where, &r.platform) ||
        get_str(im, e, "entity_category", 1, where, &r.category))
      return SL_ERROR;
    if (!strchr(r.id, '.')) return sl_fail(im->err, "%s.entity_id '%s' has no domain", where, r.id);
    if (r.device) {
      sqlite3_bind_text(im->device_by_id, 1, r.device, -1, SQLITE_STATIC);
      if (sqlite3_step(im->device_by_id) == SQLITE_ROW) {
        dev_name = (const char *)sqlite3_column_text(im->device_by_id, 0);
        dev_area = (const char *)sqlite3_column_text(im->device_by_id, 1);
      }
    }
    /* The name the HA UI shows (SOURCES.md): name, else original_name after the device
    ** name when has_entity_name, else the device name, else the object id. */
    name_from_id(r.id, derived, sizeof derived);
    if (!name && get_flag(e, "has_entity_name") && dev_name)
      joined = original ? sqlite3_mprintf("%s %s", dev_name, original) : sqlite3_mprintf("%s", dev_name);
    r.name = name ? name : joined ? joined : original ? original : dev_name ? dev_name : derived;
    r.domain = NULL;
    r.device_class = klass ? klass : original_class;
    if (!r.area) r.area = dev_area;
    r.disabled = get_flag(e, "disabled_by");
    r.hidden = get_flag(e, "hidden_by");
    {
      /* domain: the part of the id before the dot, as its own string. */
      char domain[64];
      size_t n = (size_t)(strchr(r.id, '.') - r.id);
      snprintf(domain, sizeof domain, "%.*s", (int)(n < sizeof domain ? n : sizeof domain - 1), r.id);
      r.domain = domain;
      rc = put_entity(im, &r, where);
    }
    sqlite3_free(joined);
    sqlite3_reset(im->device_by_id);
    if (rc) return SL_ERROR;
  }
  return SL_OK;
}

static int import_doc(importer *im, const sl_json *root) {
  const sl_json *key = sl_json_get(root, "key"), *data = sl_json_get(root, "data");
  if (root->type != SL_JSON_OBJECT) return sl_fail(im->err, "the document is not a JSON object");
  if (!key) return import_home(im, root);
  if (key->type != SL_JSON_STRING || !data || data->type != SL_JSON_OBJECT)
    return sl_fail(im->err, "a registry file needs a string \"key\" and an object \"data\"");
  if (strcmp(key->str, "core.area_registry") == 0) return import_ha_areas(im, data);
  if (strcmp(key->str, "core.device_registry") == 0) return import_ha_devices(im, data);
  if (strcmp(key->str, "core.entity_registry") == 0) return import_ha_entities(im, data);
  return sl_fail(im->err, "unknown registry file '%s' (expected core.area_registry, "
                          "core.device_registry or core.entity_registry)", key->str);
}

/* Registry files go areas, devices, entities whatever the argument order, so that
** entities can be completed from their devices. */
static int doc_rank(const sl_json *root) {
  const sl_json *key = sl_json_get(root, "key");
  if (!key || key->type != SL_JSON_STRING) return 0;
  if (strcmp(key->str, "core.area_registry") == 0) return 1;
  if (strcmp(key->str, "core.device_registry") == 0) return 2;
  return 3;
}

static int import_all(importer *im, int argc, sl_json_doc **docs) {
  const char *schema = sl_sql_script("synergy.sql");
  if (!schema) return sl_fail(im->err, "synergy.sql is not compiled in");
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
              "INSERT INTO synergy_automation_members(automation_id, role, entity_id, device_id) "
              "VALUES (?1, ?2, ?3, ?4)") ||
      prepare(im, &im->device_by_name, "SELECT device_id FROM synergy_devices WHERE name = ?1 ORDER BY device_id") ||
      prepare(im, &im->device_by_id, "SELECT name, area_id FROM synergy_devices WHERE device_id = ?1"))
    return SL_ERROR;
  for (int rank = 0; rank <= 3; rank++)
    for (int a = 0; a < argc; a++) {
      const sl_json *root = sl_json_root(docs[a]);
      if (doc_rank(root) != rank) continue;
      if (import_doc(im, root)) {
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
  importer im = {db, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
  sl_err err;
  int rc = SL_ERROR;

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
    if (sl_json_parse(text, (size_t)sqlite3_value_bytes(argv[a]), &docs[a], &err)) {
      if (argc > 1) sl_sql_errorf(ctx, FN, "argument %d: %s", a + 1, err.msg);
      else sl_sql_error(ctx, FN, &err);
      goto done;
    }
  }
  if (sqlite3_exec(db, "SAVEPOINT semlite_ha_import", NULL, NULL, NULL) != SQLITE_OK) {
    sl_sql_errorf(ctx, FN, "%s", sqlite3_errmsg(db));
    goto done;
  }
  rc = import_all(&im, argc, docs);
  if (rc) sqlite3_exec(db, "ROLLBACK TO semlite_ha_import", NULL, NULL, NULL);
  sqlite3_exec(db, "RELEASE semlite_ha_import", NULL, NULL, NULL);
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
  sqlite3_finalize(im.device_by_name);
  sqlite3_finalize(im.device_by_id);
  for (int a = 0; a < argc; a++) sl_json_free(docs[a]);
}
