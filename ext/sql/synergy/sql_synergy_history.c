/*
** sql_synergy_history.c: semlite_ha_history, the SQLite side of the history signal: HA's
** recorder (home-assistant_v2.db, schema of 2023 on: states.metadata_id -> states_meta,
** last_updated_ts in epoch seconds), attached read-only by the user, read into one series
** of state changes per synergy entity; ext/synergy/ha_history.c counts which changes
** follow which, and the pairs replace synergy_history in the synergy schema.
**
**   semlite_ha_history(recorder_schema [, options])
**
** options, a JSON object: schema (the synergy tables', default main), window_s (60),
** min_support (5), days (0 = all the recorder holds; else the last N days up to its
** newest row), max_rows (5,000,000 state rows read), max_work (100,000,000 action changes
** met in windows). The recorder schema must be read-only (ATTACH 'file:...?mode=ro'):
** this function never writes it, and refuses to run where it could. A change is a row
** whose state differs from the entity's previous row, neither being unavailable or
** unknown (a restart's unavailable -> on is no change). One savepoint; returns
** {"entities":n,"changes":n,"span_s":x,"pairs":n}.
**
** DIRECTONLY: it writes a table.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../base/alloc.h"
#include "../../base/json.h"
#include "../../synergy/ha_history.h"
#include "../sql.h"

#define FN "semlite_ha_history"

typedef struct options {
  char *schema;
  double window_s, days;
  long long min_support, max_rows, max_work;
} options;

typedef struct entity {
  char *id;
  int trigger, action;
  sqlite3_int64 metadata_id;
  double *times;
  size_t n, cap;
} entity;

typedef struct history {
  sqlite3 *db;
  const char *rec;
  options o;
  entity *e;
  size_t n, cap;
  long long rows, changes;
  double first, last;           /* of every row read */
  sl_err *err;
} history;

static int db_fail(history *h, const char *what) {
  return sl_fail_code(h->err, sqlite3_extended_errcode(h->db), "%s: %s", what, sqlite3_errmsg(h->db));
}

/* Whether sqlite3_interrupt was called on db (sqlite3_is_interrupted is SQLite 3.41's). */
static int interrupted(void *ctx) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(ctx, "SELECT 1", -1, &st, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_INTERRUPT;
}

/* ---- options ---- */

static int number_option(const sl_json *v, double lo, double hi, double *out) {
  if (v->type != SL_JSON_NUMBER || !(v->number >= lo && v->number <= hi)) return SL_ERROR;
  *out = v->number;
  return SL_OK;
}

static int read_options(sqlite3_value *arg, options *o, sl_err *err) {
  static const struct { const char *key; double lo, hi; int integer; } known[] = {
    {"window_s", 0.001, 86400, 0}, {"min_support", 1, 1e9, 1}, {"days", 0, 36500, 0},
    {"max_rows", 1, 1e12, 1},      {"max_work", 1, 1e15, 1},
  };
  double *slots[] = {&o->window_s, NULL, &o->days, NULL, NULL};
  long long *ints[] = {NULL, &o->min_support, NULL, &o->max_rows, &o->max_work};
  const char *text = (const char *)sqlite3_value_text(arg);
  sl_json_doc *doc = NULL;
  const sl_json *root;
  int rc = SL_OK;
  if (sqlite3_value_type(arg) != SQLITE_TEXT || !text) return sl_fail(err, "options must be a JSON object (TEXT)");
  if (sl_json_parse(text, strlen(text), &doc, err)) {
    sl_err_prefix(err, "options");
    return SL_ERROR;
  }
  root = sl_json_root(doc);
  if (root->type != SL_JSON_OBJECT) rc = sl_fail(err, "options must be a JSON object");
  for (const sl_json *v = root->child; v && rc == SL_OK; v = v->next) {
    size_t k = 0;
    double x;
    if (strcmp(v->key, "schema") == 0) {
      if (v->type != SL_JSON_STRING) rc = sl_fail(err, "option schema must be a string");
      else if (!(o->schema = sqlite3_mprintf("%s", v->str))) rc = sl_oom(err);
      continue;
    }
    while (k < sizeof known / sizeof known[0] && strcmp(v->key, known[k].key) != 0) k++;
    if (k == sizeof known / sizeof known[0]) {
      rc = sl_fail(err, "unknown option '%s' (known: schema, window_s, min_support, days, max_rows, max_work)", v->key);
    } else if (number_option(v, known[k].lo, known[k].hi, &x) || (known[k].integer && x != (double)(long long)x)) {
      rc = sl_fail(err, "option %s must be %s from %g to %g", v->key, known[k].integer ? "an integer" : "a number",
                   known[k].lo, known[k].hi);
    } else if (slots[k]) {
      *slots[k] = x;
    } else {
      *ints[k] = (long long)x;
    }
  }
  sl_json_free(doc);
  return rc;
}

/* ---- the recorder ---- */

/* Prepares the SQL that fmt and its arguments make (sqlite3_mprintf: %w for a name). */
static int prepare(history *h, sqlite3_stmt **st, const char *fmt, ...) {
  va_list ap;
  char *q;
  int rc;
  va_start(ap, fmt);
  q = sqlite3_vmprintf(fmt, ap);
  va_end(ap);
  if (!q) return sl_oom(h->err);
  rc = sqlite3_prepare_v2(h->db, q, -1, st, NULL);
  sqlite3_free(q);
  return rc == SQLITE_OK ? SL_OK : db_fail(h, "prepare");
}

static int check_schemas(history *h) {
  int ro = sqlite3_db_readonly(h->db, h->rec);
  if (ro < 0)
    return sl_fail(h->err, "no schema named '%s' (ATTACH the recorder first: ATTACH "
                           "'file:home-assistant_v2.db?mode=ro' AS %s)", h->rec, h->rec);
  if (ro == 0)
    return sl_fail(h->err, "'%s' is writable: attach HA's recorder read-only (ATTACH "
                           "'file:home-assistant_v2.db?mode=ro' AS %s), so that nothing can write it", h->rec, h->rec);
  if (sqlite3_table_column_metadata(h->db, h->rec, "states_meta", "entity_id", NULL, NULL, NULL, NULL, NULL) ||
      sqlite3_table_column_metadata(h->db, h->rec, "states", "metadata_id", NULL, NULL, NULL, NULL, NULL) ||
      sqlite3_table_column_metadata(h->db, h->rec, "states", "last_updated_ts", NULL, NULL, NULL, NULL, NULL))
    return sl_fail(h->err, "'%s' is not a Home Assistant recorder of 2023 or later (it needs states_meta.entity_id, "
                           "states.metadata_id and states.last_updated_ts)", h->rec);
  ro = sqlite3_db_readonly(h->db, h->o.schema);
  if (ro < 0) return sl_fail(h->err, "no schema named '%s' for the synergy tables", h->o.schema);
  if (sqlite3_table_column_metadata(h->db, h->o.schema, "synergy_history", "lift", NULL, NULL, NULL, NULL, NULL) ||
      sqlite3_table_column_metadata(h->db, h->o.schema, "synergy_entities", "entity_id", NULL, NULL, NULL, NULL, NULL))
    return sl_fail(h->err, "no synergy tables in '%s' (create them with semlite_ha_import)", h->o.schema);
  if (ro > 0) return sl_fail(h->err, "the schema '%s' is read-only", h->o.schema);
  return SL_OK;
}

static int add_time(history *h, entity *e, double t) {
  if (e->n == e->cap) {
    size_t want = e->cap ? e->cap * 2 : 64;
    double *grown = sl_realloc(e->times, want * sizeof *grown);
    if (!grown) return sl_oom(h->err);
    e->times = grown;
    e->cap = want;
  }
  e->times[e->n++] = t;
  h->changes++;
  return SL_OK;
}

static int valid_state(const char *s) { return s && strcmp(s, "unavailable") != 0 && strcmp(s, "unknown") != 0; }

/* The synergy entities the recorder knows, each a trigger or an action domain of some
** capability row. */
static int read_entities(history *h) {
  sqlite3_stmt *st;
  int rc;
  if (prepare(h, &st,
              "SELECT e.entity_id,"
              " EXISTS (SELECT 1 FROM \"%w\".synergy_capabilities c"
              "         WHERE c.trigger_domain = e.domain AND c.weight > 0),"
              " EXISTS (SELECT 1 FROM \"%w\".synergy_capabilities c"
              "         WHERE c.action_domain = e.domain AND c.weight > 0),"
              " m.metadata_id"
              " FROM \"%w\".synergy_entities e JOIN \"%w\".states_meta m ON m.entity_id = e.entity_id"
              " WHERE NOT e.disabled AND NOT e.hidden"
              "   AND coalesce(e.entity_category, '') NOT IN ('config', 'diagnostic')"
              " ORDER BY e.entity_id",
              h->o.schema, h->o.schema, h->o.schema, h->rec))
    return SL_ERROR;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    entity *e;
    if (!sqlite3_column_int(st, 1) && !sqlite3_column_int(st, 2)) continue;
    if (h->n == h->cap) {
      size_t want = h->cap ? h->cap * 2 : 64;
      entity *grown = sl_realloc(h->e, want * sizeof *grown);
      if (!grown) {
        sqlite3_finalize(st);
        return sl_oom(h->err);
      }
      h->e = grown;
      h->cap = want;
    }
    e = &h->e[h->n];
    memset(e, 0, sizeof *e);
    if (!(e->id = sqlite3_mprintf("%s", (const char *)sqlite3_column_text(st, 0)))) {
      sqlite3_finalize(st);
      return sl_oom(h->err);
    }
    h->n++;
    e->trigger = sqlite3_column_int(st, 1);
    e->action = sqlite3_column_int(st, 2);
    e->metadata_id = sqlite3_column_int64(st, 3);
  }
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? SL_OK : db_fail(h, "reading the entities");
}

/* Each entity's changes since `since`, in time order (the recorder's index
** ix_states_metadata_id_last_updated_ts serves the query). */
static int read_changes(history *h) {
  sqlite3_stmt *st;
  double since = -1e300;
  int rc = SQLITE_DONE;
  if (h->o.days > 0) {
    if (prepare(h, &st, "SELECT max(last_updated_ts) FROM \"%w\".states", h->rec)) return SL_ERROR;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
      since = sqlite3_column_double(st, 0) - h->o.days * 86400.0;
    sqlite3_finalize(st);
  }
  if (prepare(h, &st,
              "SELECT state, last_updated_ts FROM \"%w\".states WHERE metadata_id = ?1 AND last_updated_ts >= ?2"
              " ORDER BY last_updated_ts",
              h->rec))
    return SL_ERROR;
  for (size_t i = 0; i < h->n && rc == SQLITE_DONE; i++) {
    entity *e = &h->e[i];
    char prev[256] = "";
    int have_prev = 0;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, e->metadata_id);
    sqlite3_bind_double(st, 2, since);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      const char *state = (const char *)sqlite3_column_text(st, 0);
      double t = sqlite3_column_double(st, 1);
      if (++h->rows > h->o.max_rows) {
        sqlite3_finalize(st);
        return sl_fail(h->err, "the recorder holds more than %lld state rows for the home's entities (max_rows): "
                               "pass a shorter \"days\" or a larger \"max_rows\"", h->o.max_rows);
      }
      if (h->rows == 1 || t < h->first) h->first = t;
      if (h->rows == 1 || t > h->last) h->last = t;
      if (!valid_state(state)) {
        have_prev = 0;
        continue;
      }
      if (have_prev && strncmp(prev, state, sizeof prev - 1) != 0 && add_time(h, e, t)) {
        sqlite3_finalize(st);
        return SL_ERROR;
      }
      snprintf(prev, sizeof prev, "%s", state);
      have_prev = 1;
    }
  }
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? SL_OK : db_fail(h, "reading the recorder's states");
}

static int write_pairs(history *h, const sl_ha_pair *p, size_t n) {
  sqlite3_stmt *st;
  char *q = sqlite3_mprintf("DELETE FROM \"%w\".synergy_history", h->o.schema);
  int rc = q ? sqlite3_exec(h->db, q, NULL, NULL, NULL) : SQLITE_NOMEM;
  sqlite3_free(q);
  if (rc != SQLITE_OK) return db_fail(h, "clearing synergy_history");
  if (prepare(h, &st, "INSERT INTO \"%w\".synergy_history(trigger_entity, action_entity, lift, support) "
                      "VALUES (?1, ?2, ?3, ?4)",
              h->o.schema))
    return SL_ERROR;
  for (size_t i = 0; i < n; i++) {
    sqlite3_bind_text(st, 1, h->e[p[i].trigger].id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, h->e[p[i].action].id, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 3, p[i].lift);
    sqlite3_bind_int64(st, 4, p[i].support);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
      sqlite3_finalize(st);
      return db_fail(h, "writing synergy_history");
    }
  }
  sqlite3_finalize(st);
  return SL_OK;
}

static int run(history *h, sl_ha_pair **pairs, size_t *n_pairs) {
  sl_ha_series *s;
  sl_ha_history_opts o = {h->o.window_s, h->o.min_support, h->o.max_work, h->last - h->first, interrupted, h->db};
  int rc;
  if (check_schemas(h) || read_entities(h) || read_changes(h)) return SL_ERROR;
  o.span_s = h->last - h->first;
  if (o.span_s <= 0) return SL_OK; /* nothing recorded, or a single instant */
  if (!(s = sl_calloc(h->n + 1, sizeof *s))) return sl_oom(h->err);
  for (size_t i = 0; i < h->n; i++)
    s[i] = (sl_ha_series){h->e[i].id, h->e[i].trigger, h->e[i].action, h->e[i].times, h->e[i].n};
  rc = sl_ha_history_pairs(s, h->n, &o, pairs, n_pairs, h->err);
  sl_free(s);
  return rc;
}

void sl_sql_ha_history(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  history h;
  sl_err err;
  sl_ha_pair *pairs = NULL;
  size_t n_pairs = 0;
  int rc, bare;
  memset(&h, 0, sizeof h);
  h.db = db;
  h.err = &err;
  h.o = (options){NULL, 60, 0, 5, 5000000, 100000000};
  if (argc < 1 || argc > 2) {
    sl_sql_errorf(ctx, FN, "takes the recorder's schema and optional options, got %d arguments", argc);
    return;
  }
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
    sl_sql_errorf(ctx, FN, "the recorder's schema must be TEXT (a name given to ATTACH), got %s",
                  sl_sql_type_name(argv[0]));
    return;
  }
  h.rec = (const char *)sqlite3_value_text(argv[0]);
  if (argc == 2 && read_options(argv[1], &h.o, &err)) {
    sl_sql_error(ctx, FN, &err);
    goto done;
  }
  if (!h.o.schema && !(h.o.schema = sqlite3_mprintf("main"))) {
    sqlite3_result_error_nomem(ctx);
    goto done;
  }
  if (sl_sql_write_allowed(db, h.o.schema, &err)) {
    sl_sql_error(ctx, FN, &err);
    goto done;
  }
  if (sl_sql_block_begin(db, "semlite_ha_history", &bare) != SQLITE_OK) {
    sl_sql_errorf(ctx, FN, "%s", sqlite3_errmsg(db));
    goto done;
  }
  rc = run(&h, &pairs, &n_pairs);
  if (rc == SL_OK) rc = write_pairs(&h, pairs, n_pairs);
  sl_sql_block_end(db, "semlite_ha_history", bare, rc == SL_OK);
  if (rc) {
    sl_sql_error(ctx, FN, &err);
  } else {
    size_t with_changes = 0;
    char out[160];
    for (size_t i = 0; i < h.n; i++) with_changes += h.e[i].n > 0;
    snprintf(out, sizeof out, "{\"entities\":%zu,\"changes\":%lld,\"span_s\":%.17g,\"pairs\":%zu}", with_changes,
             h.changes, h.rows ? h.last - h.first : 0.0, n_pairs);
    sqlite3_result_text(ctx, out, -1, SQLITE_TRANSIENT);
  }
done:
  for (size_t i = 0; i < h.n; i++) {
    sqlite3_free(h.e[i].id);
    sl_free(h.e[i].times);
  }
  sl_free(h.e);
  sl_free(pairs);
  sqlite3_free(h.o.schema);
}
