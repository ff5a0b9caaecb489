/*
** sql_synergy_import.c: semlite_ha_import, the SQLite side of importing a smart home:
** the arguments, one savepoint, the synergy tables (sql/synergy.sql) in the schema the
** user names, and the rows that ext/synergy/ha_import.c and ha_config.c read from each
** document, written into them.
**
**   semlite_ha_import()                          creates the tables (empty) in main
**   semlite_ha_import(doc, ... [, options])      imports each document, all in one savepoint
**
** A document is a home in the format of ../shared/data/homes (it replaces all five groups
** of tables), one of Home Assistant's registry files (each replaces its own table;
** entities are completed from the devices already in synergy_devices, so the device
** registry goes with or before them), or HA's configuration (automations.yaml,
** scripts.yaml, scenes.yaml, groups, core.config_entries: read together after the
** registries, replacing the automations when there are some, the groups when there are
** some). options, the last argument, is a JSON object with "schema" or "allow_recorder":
** the tables go into that attached schema (default main), and never into a schema holding
** HA's recorder tables unless allow_recorder is true. Anything malformed or refused by a
** constraint is an error naming the element, and nothing is imported. Returns a JSON
** summary of the rows now in the tables.
**
** DIRECTONLY: it writes tables.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../base/alloc.h"
#include "../../base/json.h"
#include "../../synergy/ha_config.h"
#include "../../synergy/ha_import.h"
#include "../sql.h"
#include "../sql_scripts.h"

#define FN "semlite_ha_import"
/* Documents one call takes: three registries, core.config_entries, automations, scripts,
** scenes, groups and the files they !include. */
#define MAX_DOCS 16

typedef struct importer {
  sqlite3 *db;
  sl_err *err;
  const char *schema;
  sqlite3_stmt *area, *device, *entity, *automation, *member, *area_members, *group, *device_by_id;
} importer;

static int db_fail(importer *im, const char *where) {
  return sl_fail_code(im->err, sqlite3_extended_errcode(im->db), "%s: %s", where, sqlite3_errmsg(im->db));
}

/* Prepares sql, where every %w is the schema's name. */
static int prepare(importer *im, sqlite3_stmt **st, const char *sql) {
  char *q = sqlite3_mprintf(sql, im->schema, im->schema);
  int rc;
  if (!q) return sl_oom(im->err);
  rc = sqlite3_prepare_v2(im->db, q, -1, st, NULL);
  sqlite3_free(q);
  return rc == SQLITE_OK ? SL_OK : db_fail(im, "prepare");
}

/* Runs sql (%w: the schema) with no result. */
static int exec(importer *im, const char *sql, const char *what) {
  char *q = sqlite3_mprintf(sql, im->schema, im->schema, im->schema, im->schema, im->schema);
  int rc;
  if (!q) return sl_oom(im->err);
  rc = sqlite3_exec(im->db, q, NULL, NULL, NULL);
  sqlite3_free(q);
  return rc == SQLITE_OK ? SL_OK : db_fail(im, what);
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
    {SL_HA_AREAS, "DELETE FROM \"%w\".synergy_areas", "clearing areas"},
    {SL_HA_DEVICES, "DELETE FROM \"%w\".synergy_devices", "clearing devices"},
    {SL_HA_ENTITIES, "DELETE FROM \"%w\".synergy_entities", "clearing entities"},
    {SL_HA_AUTOMATIONS, "DELETE FROM \"%w\".synergy_automation_members; DELETE FROM \"%w\".synergy_automations",
     "clearing automations"},
    {SL_HA_GROUPS, "DELETE FROM \"%w\".synergy_groups", "clearing groups"},
  };
  for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
    if ((d->replaces & tables[t].group) && exec(im, tables[t].sql, tables[t].what)) return SL_ERROR;
  return SL_OK;
}

static int write_members(importer *im, const sl_ha_doc *d, size_t i, sqlite3_int64 id) {
  const sl_ha_automation *a = &d->automations[i];
  char where[96];
  for (size_t k = a->first; k < a->first + a->n; k++) {
    const sl_ha_member *m = &d->members[k];
    if (m->area_id) {
      /* An area: its entities (of the called service's domain) as the tables hold them. */
      const char *s[] = {m->role, m->area_id, m->area_domain};
      snprintf(where, sizeof where, "automations[%zu] area '%.40s'", i, m->area_id);
      sqlite3_bind_int64(im->area_members, 4, id);
      if (insert(im, im->area_members, where, 3, s, 0, NULL)) return SL_ERROR;
    } else {
      const char *s[] = {m->role, m->entity_id, m->device_id};
      if (m->entity_id) snprintf(where, sizeof where, "automations[%zu].%s_entities", i, m->role);
      else snprintf(where, sizeof where, "automations[%zu]", i);
      sqlite3_bind_int64(im->member, 4, id);
      if (insert(im, im->member, where, 3, s, 0, NULL)) return SL_ERROR;
    }
  }
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
    snprintf(where, sizeof where, "automations[%zu]", i);
    if (insert(im, im->automation, where, 1, &d->automations[i].alias, 0, NULL) ||
        write_members(im, d, i, sqlite3_last_insert_rowid(im->db)))
      return SL_ERROR;
  }
  for (size_t i = 0; i < d->n_groups; i++) {
    const char *s[] = {d->groups[i].group, d->groups[i].member};
    snprintf(where, sizeof where, "groups[%zu]", i);
    if (insert(im, im->group, where, 2, s, 0, NULL)) return SL_ERROR;
  }
  return SL_OK;
}

/* synergy.sql with every table, index and row it names in the schema: its statements
** are CREATE ... IF NOT EXISTS and INSERT OR IGNORE INTO, each of which gets "schema".
** in front of the name. NULL when out of memory. */
static char *schema_script(const char *script, const char *schema) {
  static const char *const marks[] = {"IF NOT EXISTS ", "INSERT OR IGNORE INTO "};
  char *q = sqlite3_mprintf("\"%w\".", schema), *out;
  size_t n = 0, qn, cap;
  if (!q) return NULL;
  qn = strlen(q);
  cap = strlen(script) * 2 + 1;
  for (const char *s = script; (s = strstr(s, "IF NOT EXISTS ")); s++) cap += qn;
  for (const char *s = script; (s = strstr(s, "INSERT OR IGNORE INTO ")); s++) cap += qn;
  if (!(out = sl_malloc(cap))) {
    sqlite3_free(q);
    return NULL;
  }
  for (const char *s = script; *s;) {
    size_t m = 0;
    for (size_t k = 0; k < 2 && !m; k++)
      if (strncmp(s, marks[k], strlen(marks[k])) == 0) m = strlen(marks[k]);
    if (m) {
      memcpy(out + n, s, m);
      memcpy(out + n + m, q, qn);
      n += m + qn;
      s += m;
    } else {
      out[n++] = *s++;
    }
  }
  out[n] = 0;
  sqlite3_free(q);
  return out;
}

/* HA's recorder (home-assistant_v2.db): tables no other database is likely to hold
** together. */
static int is_recorder(importer *im, char *found, size_t cap) {
  sqlite3_stmt *st;
  int special = 0, states = 0, events = 0;
  char *q = sqlite3_mprintf("SELECT name FROM \"%w\".sqlite_schema WHERE type = 'table' AND name IN "
                            "('recorder_runs', 'schema_changes', 'states_meta', 'statistics_meta', 'states', 'events') "
                            "ORDER BY name",
                            im->schema);
  found[0] = 0;
  if (!q || sqlite3_prepare_v2(im->db, q, -1, &st, NULL) != SQLITE_OK) {
    sqlite3_free(q);
    return 0;
  }
  sqlite3_free(q);
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(st, 0);
    size_t n = strlen(found);
    if (strcmp(name, "states") == 0) states = 1;
    else if (strcmp(name, "events") == 0) events = 1;
    else special = 1;
    snprintf(found + n, cap - n, "%s%s", n ? ", " : "", name);
  }
  sqlite3_finalize(st);
  return special || (states && events);
}

static int import_all(importer *im, int argc, sl_ha_text *docs) {
  const char *script = sl_sql_script("synergy.sql");
  char *qualified = NULL;
  sl_ha_config config;
  int rc = SL_OK, any_config = 0;
  if (!script) return sl_fail(im->err, "synergy.sql is not compiled in");
  /* The step tables of the layout before content addresses (a 64-bit hash per row) are
  ** only caches: dropped, for synergy.sql to create them anew. */
  if (sqlite3_table_column_metadata(im->db, im->schema, "synergy_hop_scores", "hash", NULL, NULL, NULL, NULL, NULL) ==
          SQLITE_OK &&
      exec(im, "DROP TABLE \"%w\".synergy_hop_scores; DROP TABLE IF EXISTS \"%w\".synergy_descriptors",
           "dropping the old step tables"))
    return SL_ERROR;
  if (strcmp(im->schema, "main") != 0 && !(script = qualified = schema_script(script, im->schema)))
    return sl_oom(im->err);
  rc = sqlite3_exec(im->db, script, NULL, NULL, NULL);
  sl_free(qualified);
  if (rc != SQLITE_OK) return db_fail(im, "creating the tables");
  if (prepare(im, &im->area, "INSERT INTO \"%w\".synergy_areas(area_id, name) VALUES (?1, ?2)") ||
      prepare(im, &im->device,
              "INSERT INTO \"%w\".synergy_devices(device_id, name, manufacturer, model, area_id, disabled) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6)") ||
      prepare(im, &im->entity,
              "INSERT INTO \"%w\".synergy_entities(entity_id, domain, name, area_id, device_id, device_class, "
              "unit, platform, entity_category, disabled, hidden) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)") ||
      prepare(im, &im->automation, "INSERT INTO \"%w\".synergy_automations(alias) VALUES (?1)") ||
      prepare(im, &im->member,
              "INSERT INTO \"%w\".synergy_automation_members(role, entity_id, device_id, automation_id) "
              "VALUES (?1, ?2, ?3, ?4)") ||
      prepare(im, &im->area_members,
              "INSERT INTO \"%w\".synergy_automation_members(role, entity_id, automation_id) "
              "SELECT ?1, entity_id, ?4 FROM \"%w\".synergy_entities"
              " WHERE area_id = ?2 AND (?3 IS NULL OR domain = ?3) ORDER BY entity_id") ||
      prepare(im, &im->group,
              "INSERT OR IGNORE INTO \"%w\".synergy_groups(group_entity_id, member_entity_id) VALUES (?1, ?2)") ||
      prepare(im, &im->device_by_id, "SELECT name, area_id FROM \"%w\".synergy_devices WHERE device_id = ?1"))
    return SL_ERROR;
  memset(&config, 0, sizeof config);
  for (int rank = 0; rank <= SL_HA_RANK_CONFIG && rc == SL_OK; rank++)
    for (int a = 0; a < argc && rc == SL_OK; a++) {
      sl_ha_doc doc;
      if (sl_ha_doc_rank(&docs[a]) != rank) continue;
      if (rank == SL_HA_RANK_CONFIG) {
        /* HA's configuration: read now, written once all of it is read. */
        any_config = 1;
        rc = sl_ha_config_read(&config, docs[a].root, im->err);
      } else {
        rc = sl_ha_read(docs[a].root, find_device, im, &doc, im->err);
        sqlite3_reset(im->device_by_id);
        if (rc == SL_OK) rc = write_doc(im, &doc);
        sl_ha_doc_free(&doc);
      }
      if (rc && argc > 1) {
        char pre[32];
        snprintf(pre, sizeof pre, "argument %d", a + 1);
        sl_err_prefix(im->err, pre);
      }
    }
  if (rc == SL_OK && any_config && (rc = sl_ha_config_finish(&config, im->err)) == SL_OK)
    rc = write_doc(im, &config.rows);
  sl_ha_config_free(&config);
  return rc;
}

/* The last argument is the options when it is a JSON object with an option's key. */
static int read_options(sqlite3_context *ctx, sqlite3_value *v, importer *im, int *allow_recorder, int *is_options) {
  const char *text = sqlite3_value_type(v) == SQLITE_TEXT ? (const char *)sqlite3_value_text(v) : NULL;
  sl_json_doc *doc = NULL;
  const sl_json *root;
  sl_err err;
  *is_options = 0;
  while (text && (*text == ' ' || *text == '\n' || *text == '\t' || *text == '\r')) text++;
  if (!text || *text != '{' || sl_json_parse(text, strlen(text), &doc, &err) != SL_OK) {
    sl_json_free(doc);
    return SL_OK;
  }
  root = sl_json_root(doc);
  if (!sl_json_get(root, "schema") && !sl_json_get(root, "allow_recorder")) {
    sl_json_free(doc);
    return SL_OK;
  }
  *is_options = 1;
  for (const sl_json *o = root->child; o; o = o->next) {
    if (strcmp(o->key, "schema") == 0 && o->type == SL_JSON_STRING) {
      im->schema = sqlite3_mprintf("%s", o->str);
    } else if (strcmp(o->key, "allow_recorder") == 0 && o->type == SL_JSON_BOOL) {
      *allow_recorder = o->boolean;
    } else {
      const char *msg = strcmp(o->key, "schema") == 0           ? "option schema must be a string"
                        : strcmp(o->key, "allow_recorder") == 0 ? "option allow_recorder must be true or false"
                                                                : "unknown option '%s' (known: schema, allow_recorder)";
      sl_sql_errorf(ctx, FN, msg, o->key);
      sl_json_free(doc);
      return SL_ERROR;
    }
  }
  sl_json_free(doc);
  return SL_OK;
}

/* The target schema: attached, writable, not HA's recorder (unless allowed). */
static int check_schema(sqlite3_context *ctx, importer *im, int allow_recorder) {
  char found[160];
  int ro = sqlite3_db_readonly(im->db, im->schema);
  if (ro < 0) {
    sl_sql_errorf(ctx, FN, "no schema named '%s' (ATTACH a database under that name first)", im->schema);
    return SL_ERROR;
  }
  if (ro > 0) {
    sl_sql_errorf(ctx, FN, "the schema '%s' is read-only", im->schema);
    return SL_ERROR;
  }
  if (!allow_recorder && is_recorder(im, found, sizeof found)) {
    sl_sql_errorf(ctx, FN,
                  "'%s' holds Home Assistant's recorder tables (%s): refusing to create the synergy tables in "
                  "HA's database; ATTACH another file and name it, e.g. '{\"schema\":\"home\"}', or pass "
                  "'{\"allow_recorder\":true}' to write there anyway",
                  im->schema, found);
    return SL_ERROR;
  }
  return SL_OK;
}

static void summary(sqlite3_context *ctx, importer *im) {
  sqlite3_stmt *st = NULL;
  char *q = sqlite3_mprintf("SELECT json_object('areas', (SELECT count(*) FROM \"%w\".synergy_areas),"
                            " 'devices', (SELECT count(*) FROM \"%w\".synergy_devices),"
                            " 'entities', (SELECT count(*) FROM \"%w\".synergy_entities),"
                            " 'automations', (SELECT count(*) FROM \"%w\".synergy_automations))",
                            im->schema, im->schema, im->schema, im->schema);
  if (q && sqlite3_prepare_v2(im->db, q, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    sqlite3_result_text(ctx, (const char *)sqlite3_column_text(st, 0), -1, SQLITE_TRANSIENT);
  else if (!q)
    sqlite3_result_error_nomem(ctx);
  else
    sl_sql_errorf(ctx, FN, "%s", sqlite3_errmsg(im->db));
  sqlite3_finalize(st);
  sqlite3_free(q);
}

void sl_sql_ha_import(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  sl_ha_text docs[MAX_DOCS];
  importer im = {db, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
  sl_err err;
  int rc = SL_ERROR, allow_recorder = 0, is_options = 0, n_docs, bare;

  im.err = &err;
  memset(docs, 0, sizeof docs);
  if (argc > 0 && read_options(ctx, argv[argc - 1], &im, &allow_recorder, &is_options)) goto done;
  n_docs = argc - is_options;
  if (n_docs > MAX_DOCS) {
    sl_sql_errorf(ctx, FN, "takes at most %d documents, got %d", MAX_DOCS, n_docs);
    goto done;
  }
  if (!im.schema && !(im.schema = sqlite3_mprintf("main"))) {
    sqlite3_result_error_nomem(ctx);
    goto done;
  }
  for (int a = 0; a < n_docs; a++) {
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
      if (n_docs > 1) sl_sql_errorf(ctx, FN, "argument %d: %s", a + 1, err.msg);
      else sl_sql_error(ctx, FN, &err);
      goto done;
    }
  }
  if (check_schema(ctx, &im, allow_recorder)) goto done;
  if (sl_sql_write_allowed(db, im.schema, &err)) {
    sl_sql_error(ctx, FN, &err);
    goto done;
  }
  if (sl_sql_block_begin(db, "semlite_ha_import", &bare) != SQLITE_OK) {
    sl_sql_errorf(ctx, FN, "%s", sqlite3_errmsg(db));
    goto done;
  }
  rc = import_all(&im, n_docs, docs);
  sl_sql_block_end(db, "semlite_ha_import", bare, rc == SL_OK);
  if (rc) sl_sql_error(ctx, FN, &err);
  else summary(ctx, &im);
done:
  sqlite3_finalize(im.area);
  sqlite3_finalize(im.device);
  sqlite3_finalize(im.entity);
  sqlite3_finalize(im.automation);
  sqlite3_finalize(im.member);
  sqlite3_finalize(im.area_members);
  sqlite3_finalize(im.group);
  sqlite3_finalize(im.device_by_id);
  sqlite3_free((char *)im.schema);
  for (int a = 0; a < MAX_DOCS; a++) sl_ha_text_free(&docs[a]);
}
