/*
** test_ha_history.c: semlite_ha_history on a recorder file built here with Home
** Assistant's own SQLite schema (as its recorder creates it, schema 48) and synthetic
** state changes whose answer is known: a motion sensor that a light follows 5 s later 20
** times (lift computed exactly), switches and a door changing at unrelated times (every
** pair checked against a brute-force count), a restart's unavailable states and attribute
** updates that are no changes. Also the safety rules of both functions: the recorder only
** read-only, the synergy tables never in HA's database unless asked, the schema option.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

/* Home Assistant's recorder tables and indexes, as SQLAlchemy creates them in
** home-assistant_v2.db (homeassistant/components/recorder/db_schema.py). */
static const char *const recorder_ddl =
  "CREATE TABLE event_data (data_id INTEGER NOT NULL, hash BIGINT, shared_data TEXT, PRIMARY KEY (data_id));\n"
  "CREATE INDEX ix_event_data_hash ON event_data (hash);\n"
  "CREATE TABLE event_types (event_type_id INTEGER NOT NULL, event_type VARCHAR(64), PRIMARY KEY (event_type_id));\n"
  "CREATE UNIQUE INDEX ix_event_types_event_type ON event_types (event_type);\n"
  "CREATE TABLE state_attributes (attributes_id INTEGER NOT NULL, hash BIGINT, shared_attrs TEXT, "
  "PRIMARY KEY (attributes_id));\n"
  "CREATE INDEX ix_state_attributes_hash ON state_attributes (hash);\n"
  "CREATE TABLE states_meta (metadata_id INTEGER NOT NULL, entity_id VARCHAR(255), PRIMARY KEY (metadata_id));\n"
  "CREATE UNIQUE INDEX ix_states_meta_entity_id ON states_meta (entity_id);\n"
  "CREATE TABLE statistics_meta (id INTEGER NOT NULL, statistic_id VARCHAR(255), source VARCHAR(32), "
  "unit_of_measurement VARCHAR(255), unit_class VARCHAR(255), has_mean BOOLEAN, has_sum BOOLEAN, name VARCHAR(255), "
  "mean_type SMALLINT NOT NULL, PRIMARY KEY (id));\n"
  "CREATE UNIQUE INDEX ix_statistics_meta_statistic_id ON statistics_meta (statistic_id);\n"
  "CREATE TABLE recorder_runs (run_id INTEGER NOT NULL, start DATETIME NOT NULL, \"end\" DATETIME, "
  "closed_incorrect BOOLEAN NOT NULL, created DATETIME NOT NULL, PRIMARY KEY (run_id));\n"
  "CREATE INDEX ix_recorder_runs_start_end ON recorder_runs (start, \"end\");\n"
  "CREATE TABLE migration_changes (migration_id VARCHAR(255) NOT NULL, version SMALLINT NOT NULL, "
  "PRIMARY KEY (migration_id));\n"
  "CREATE TABLE schema_changes (change_id INTEGER NOT NULL, schema_version INTEGER, changed DATETIME NOT NULL, "
  "PRIMARY KEY (change_id));\n"
  "CREATE TABLE statistics_runs (run_id INTEGER NOT NULL, start DATETIME NOT NULL, PRIMARY KEY (run_id));\n"
  "CREATE INDEX ix_statistics_runs_start ON statistics_runs (start);\n"
  "CREATE TABLE events (event_id INTEGER NOT NULL, event_type CHAR(0), event_data CHAR(0), origin CHAR(0), "
  "origin_idx SMALLINT, time_fired CHAR(0), time_fired_ts FLOAT, context_id CHAR(0), context_user_id CHAR(0), "
  "context_parent_id CHAR(0), data_id INTEGER, context_id_bin BLOB, context_user_id_bin BLOB, "
  "context_parent_id_bin BLOB, event_type_id INTEGER, PRIMARY KEY (event_id), "
  "FOREIGN KEY(data_id) REFERENCES event_data (data_id), FOREIGN KEY(event_type_id) REFERENCES event_types "
  "(event_type_id));\n"
  "CREATE INDEX ix_events_event_type_id_time_fired_ts ON events (event_type_id, time_fired_ts);\n"
  "CREATE INDEX ix_events_context_id_bin ON events (context_id_bin);\n"
  "CREATE INDEX ix_events_time_fired_ts ON events (time_fired_ts);\n"
  "CREATE INDEX ix_events_data_id ON events (data_id);\n"
  "CREATE TABLE states (state_id INTEGER NOT NULL, entity_id CHAR(0), state VARCHAR(255), attributes CHAR(0), "
  "event_id SMALLINT, last_changed CHAR(0), last_changed_ts FLOAT, last_reported_ts FLOAT, last_updated CHAR(0), "
  "last_updated_ts FLOAT, old_state_id INTEGER, attributes_id INTEGER, context_id CHAR(0), context_user_id CHAR(0), "
  "context_parent_id CHAR(0), origin_idx SMALLINT, context_id_bin BLOB, context_user_id_bin BLOB, "
  "context_parent_id_bin BLOB, metadata_id INTEGER, PRIMARY KEY (state_id), "
  "FOREIGN KEY(old_state_id) REFERENCES states (state_id), "
  "FOREIGN KEY(attributes_id) REFERENCES state_attributes (attributes_id), "
  "FOREIGN KEY(metadata_id) REFERENCES states_meta (metadata_id));\n"
  "CREATE INDEX ix_states_metadata_id_last_updated_ts ON states (metadata_id, last_updated_ts);\n"
  "CREATE INDEX ix_states_last_updated_ts ON states (last_updated_ts);\n"
  "CREATE INDEX ix_states_old_state_id ON states (old_state_id);\n"
  "CREATE INDEX ix_states_attributes_id ON states (attributes_id);\n"
  "CREATE INDEX ix_states_context_id_bin ON states (context_id_bin);\n"
  "INSERT INTO schema_changes(schema_version, changed) VALUES (48, '2025-01-01 00:00:00');\n"
  "INSERT INTO recorder_runs(start, closed_incorrect, created) VALUES ('2025-01-01 00:00:00', 0, "
  "'2025-01-01 00:00:00');\n";

static const char *const home_json =
  "{\"areas\":[{\"area_id\":\"hall\",\"name\":\"Hall\"}],\"devices\":[],\"entities\":["
  "{\"entity_id\":\"binary_sensor.hall_motion\",\"domain\":\"binary_sensor\",\"name\":\"Hall motion\","
  "\"area_id\":\"hall\",\"device_class\":\"motion\"},"
  "{\"entity_id\":\"binary_sensor.door\",\"domain\":\"binary_sensor\",\"name\":\"Front door\",\"device_class\":\"door\"},"
  "{\"entity_id\":\"light.hall\",\"domain\":\"light\",\"name\":\"Hall light\",\"area_id\":\"hall\"},"
  "{\"entity_id\":\"switch.fan\",\"domain\":\"switch\",\"name\":\"Fan\"},"
  "{\"entity_id\":\"switch.unrecorded\",\"domain\":\"switch\",\"name\":\"Not in the recorder\"},"
  "{\"entity_id\":\"sensor.hall_battery\",\"domain\":\"sensor\",\"name\":\"Battery\",\"device_class\":\"battery\","
  "\"entity_category\":\"diagnostic\"}]}";

#define T0 1700000000.0
#define HOUR 3600.0
#define RESTART (T0 + 20 * HOUR + 1000)

enum { MOTION, DOOR, LIGHT, FAN, BATTERY, N_ENTITIES };
static const char *const ids[N_ENTITIES] = {"binary_sensor.hall_motion", "binary_sensor.door", "light.hall",
                                            "switch.fan", "sensor.hall_battery"};

/* The changes each entity makes (times), as the test knows them. */
static double changes[N_ENTITIES][400];
static int n_changes[N_ENTITIES];

typedef struct writer {
  sqlite3 *db;
  sqlite3_stmt *st;
  long long last_id[N_ENTITIES];
  char last_state[N_ENTITIES][16];
  double last_changed[N_ENTITIES];
} writer;

/* One row as the recorder writes it: last_changed_ts NULL when equal to last_updated_ts
** (HA leaves it out then), the previous row as old_state_id. */
static void row(writer *w, int e, const char *state, double t) {
  int changed = strcmp(w->last_state[e], state) != 0;
  if (changed) w->last_changed[e] = t;
  sqlite3_bind_int(w->st, 1, e + 1);
  sqlite3_bind_text(w->st, 2, state, -1, SQLITE_STATIC);
  if (changed) sqlite3_bind_null(w->st, 3);
  else sqlite3_bind_double(w->st, 3, w->last_changed[e]);
  sqlite3_bind_double(w->st, 4, t);
  if (w->last_id[e]) sqlite3_bind_int64(w->st, 5, w->last_id[e]);
  else sqlite3_bind_null(w->st, 5);
  CHECK_INT(sqlite3_step(w->st), SQLITE_DONE);
  sqlite3_reset(w->st);
  w->last_id[e] = sqlite3_last_insert_rowid(w->db);
  snprintf(w->last_state[e], sizeof w->last_state[e], "%s", state);
}

/* A state the test counts as a change (from a valid state to another). */
static void change(writer *w, int e, const char *state, double t) {
  row(w, e, state, t);
  changes[e][n_changes[e]++] = t;
}

static unsigned lcg = 12345;
static double uniform(void) {
  lcg = lcg * 1103515245u + 12345u;
  return (double)((lcg >> 8) & 0xFFFFF) / (double)0x100000;
}

static void build_recorder(const char *path) {
  sqlite3 *db;
  writer w;
  double t;
  unlink(path);
  CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
  t_exec(db, recorder_ddl);
  t_exec(db, "BEGIN");
  for (int e = 0; e < N_ENTITIES; e++) {
    char sql[128];
    snprintf(sql, sizeof sql, "INSERT INTO states_meta(metadata_id, entity_id) VALUES (%d, '%s')", e + 1, ids[e]);
    t_exec(db, sql);
  }
  memset(&w, 0, sizeof w);
  memset(n_changes, 0, sizeof n_changes);
  w.db = db;
  CHECK_INT(sqlite3_prepare_v2(db,
                               "INSERT INTO states(metadata_id, state, last_changed_ts, last_updated_ts, old_state_id, "
                               "origin_idx) VALUES (?1, ?2, ?3, ?4, ?5, 0)",
                               -1, &w.st, NULL),
            SQLITE_OK);
  /* The first rows: the state at the start, no change. */
  row(&w, MOTION, "off", T0 - 100);
  row(&w, LIGHT, "off", T0 - 100);
  row(&w, DOOR, "off", T0 - 100);
  row(&w, FAN, "off", T0 - 100);
  row(&w, BATTERY, "90", T0 - 100);
  for (int k = 0; k < 20; k++) {
    double h = T0 + k * HOUR;
    change(&w, MOTION, "on", h);
    change(&w, LIGHT, "on", h + 5);
    row(&w, LIGHT, "on", h + 10);              /* brightness changed: an attribute update */
    change(&w, MOTION, "off", h + 30);
    change(&w, LIGHT, "off", h + 600);
  }
  /* The fan and the door at times that have nothing to do with anything. */
  for (t = T0 + 50 * uniform(); t < T0 + 20 * HOUR; t += 50 + 400 * uniform())
    change(&w, FAN, n_changes[FAN] % 2 ? "off" : "on", t);
  for (t = T0 + 900 * uniform(); t < T0 + 20 * HOUR; t += 900 + 3000 * uniform())
    change(&w, DOOR, n_changes[DOOR] % 2 ? "off" : "on", t);
  /* A restart: unavailable, then the same states again: no changes. */
  row(&w, MOTION, "unavailable", RESTART);
  row(&w, LIGHT, "unavailable", RESTART + 1);
  row(&w, MOTION, "off", RESTART + 20);
  row(&w, LIGHT, "off", RESTART + 21);
  sqlite3_finalize(w.st);
  t_exec(db, "COMMIT");
  sqlite3_close(db);
}

/* A connection that reads URIs (ATTACH 'file:...?mode=ro'), semlite loaded. */
static sqlite3 *open_uri(const char *main_path) {
  sqlite3 *db = NULL;
  char *err = NULL;
  CHECK_INT(sqlite3_open_v2(main_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, NULL),
            SQLITE_OK);
  sqlite3_enable_load_extension(db, 1);
  if (sqlite3_load_extension(db, sl_test_so_path(), NULL, &err) != SQLITE_OK) {
    sl_test_fail(__FILE__, __LINE__, "cannot load %s: %s", sl_test_so_path(), err ? err : "?");
    sqlite3_free(err);
  }
  return db;
}

static void attach_ro(sqlite3 *db, const char *path) {
  char sql[512];
  snprintf(sql, sizeof sql, "ATTACH 'file:%s?mode=ro' AS rec", path);
  t_exec(db, sql);
}

/* The lift of (t, a) counted the slow way. *support and *observed as the function
** defines them. */
static double brute_lift(int t, int a, double window, double span, long long *observed) {
  long long hits = 0;
  for (int i = 0; i < n_changes[t]; i++) {
    int hit = 0;
    for (int j = 0; j < n_changes[a] && !hit; j++)
      hit = changes[a][j] > changes[t][i] && changes[a][j] <= changes[t][i] + window;
    hits += hit;
  }
  *observed = hits;
  return hits / (n_changes[t] * -expm1(-n_changes[a] * window / span));
}

static void test_lift(void) {
  char path[64], sql[256];
  sqlite3 *db;
  /* Triggers: binary sensors, the light, the fan (a switch drives lights); actions: the
  ** light and the fan. */
  static const int pairs[][2] = {{MOTION, LIGHT}, {MOTION, FAN}, {DOOR, LIGHT}, {DOOR, FAN}, {LIGHT, FAN}, {FAN, LIGHT}};
  const double span = (RESTART + 21) - (T0 - 100);
  int expected_pairs = 0;
  snprintf(path, sizeof path, "/tmp/semlite-recorder-%d.db", (int)getpid());
  build_recorder(path);
  CHECK_INT(n_changes[MOTION], 40);
  db = open_uri(":memory:");
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1)", home_json, NULL,
              "{\"areas\":1,\"devices\":0,\"entities\":6,\"automations\":0}");
  attach_ro(db, path);
  for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
    long long observed;
    brute_lift(pairs[i][0], pairs[i][1], 60, span, &observed);
    expected_pairs += observed > 0;
  }
  snprintf(sql, sizeof sql, "{\"entities\":4,\"changes\":%d,\"span_s\":%.17g,\"pairs\":%d}",
           n_changes[MOTION] + n_changes[DOOR] + n_changes[LIGHT] + n_changes[FAN], span, expected_pairs);
  CHECK_QUERY(db, "SELECT semlite_ha_history('rec')", NULL, NULL, sql);
  /* Motion -> light: every "on" is followed 5 s later, every "off" is not: 20 of 40. */
  snprintf(sql, sizeof sql, "%.12g|40", 20 / (40 * -expm1(-40 * 60 / span)));
  CHECK_QUERY(db, "SELECT printf('%.12g', lift) || '|' || support FROM synergy_history WHERE trigger_entity = "
                  "'binary_sensor.hall_motion' AND action_entity = 'light.hall'", NULL, NULL, sql);
  CHECK(20 / (40 * -expm1(-40 * 60 / span)) > 10);
  /* Every pair against the slow count. */
  for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
    long long observed;
    double lift = brute_lift(pairs[i][0], pairs[i][1], 60, span, &observed);
    char want[64];
    if (observed == 0) snprintf(want, sizeof want, "NO ROW");
    else snprintf(want, sizeof want, "%.12g|%d", lift, n_changes[pairs[i][0]]);
    snprintf(sql, sizeof sql, "SELECT printf('%%.12g', lift) || '|' || support FROM synergy_history WHERE "
                              "trigger_entity = '%s' AND action_entity = '%s'", ids[pairs[i][0]], ids[pairs[i][1]]);
    CHECK_QUERY(db, sql, NULL, NULL, want);
    /* The unrelated pairs are near chance. */
    if (observed > 0 && !(pairs[i][0] == MOTION && pairs[i][1] == LIGHT))
      CHECK_MSG(lift > 0.2 && lift < 3, "%s -> %s lift %g", ids[pairs[i][0]], ids[pairs[i][1]], lift);
  }
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM synergy_history"), expected_pairs);
  /* Options: a longer window, support at least 35 (the door changed fewer times). */
  CHECK(n_changes[DOOR] < 35);
  t_query_int(db, "SELECT length(semlite_ha_history('rec', '{\"window_s\":120,\"min_support\":35}'))");
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM synergy_history WHERE trigger_entity = 'binary_sensor.door'"), 0);
  snprintf(sql, sizeof sql, "%.12g", 20 / (40 * -expm1(-40 * 120 / span)));
  CHECK_QUERY(db, "SELECT printf('%.12g', lift) FROM synergy_history WHERE trigger_entity = "
                  "'binary_sensor.hall_motion' AND action_entity = 'light.hall'", NULL, NULL, sql);
  /* days: the last 864 s before the newest row (the restart's) hold nothing but the
  ** restart's four rows, which are no changes. */
  CHECK_QUERY(db, "SELECT semlite_ha_history('rec', '{\"days\":0.01}')", NULL, NULL,
              "{\"entities\":0,\"changes\":0,\"span_s\":21,\"pairs\":0}");
  sqlite3_close(db);
  unlink(path);
}

static int stop_after(void *count) { return ++*(int *)count > 5; }

static void test_errors(void) {
  char path[64], sql[256], other[64];
  sqlite3 *db;
  long long n_pairs;
  snprintf(path, sizeof path, "/tmp/semlite-recorder-e%d.db", (int)getpid());
  snprintf(other, sizeof other, "/tmp/semlite-notrec-%d.db", (int)getpid());
  build_recorder(path);
  db = open_uri(":memory:");
  CHECK_QUERY(db, "SELECT semlite_ha_history('rec')", NULL, NULL,
              "ERROR: semlite_ha_history: no schema named 'rec' (ATTACH the recorder first: ATTACH "
              "'file:home-assistant_v2.db?mode=ro' AS rec)");
  /* Attached writable: refused before anything is read. */
  snprintf(sql, sizeof sql, "ATTACH '%s' AS rec", path);
  t_exec(db, sql);
  CHECK_QUERY(db, "SELECT semlite_ha_history('rec')", NULL, NULL,
              "ERROR: semlite_ha_history: 'rec' is writable: attach HA's recorder read-only (ATTACH "
              "'file:home-assistant_v2.db?mode=ro' AS rec), so that nothing can write it");
  t_exec(db, "DETACH rec");
  attach_ro(db, path);
  CHECK_QUERY(db, "SELECT semlite_ha_history('rec')", NULL, NULL,
              "ERROR: semlite_ha_history: no synergy tables in 'main' (create them with semlite_ha_import)");
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1)", home_json, NULL,
              "{\"areas\":1,\"devices\":0,\"entities\":6,\"automations\":0}");
  CHECK_QUERY(db, "SELECT semlite_ha_history('rec', '{\"window\":60}')", NULL, NULL,
              "ERROR: semlite_ha_history: unknown option 'window' (known: schema, window_s, min_support, days, "
              "max_rows, max_work)");
  CHECK_QUERY(db, "SELECT semlite_ha_history('rec', '{\"window_s\":0}')", NULL, NULL,
              "ERROR: semlite_ha_history: option window_s must be a number from 0.001 to 86400");
  CHECK_QUERY(db, "SELECT semlite_ha_history('rec', '{\"min_support\":2.5}')", NULL, NULL,
              "ERROR: semlite_ha_history: option min_support must be an integer from 1 to 1e+09");
  CHECK_QUERY(db, "SELECT semlite_ha_history('rec', '[1]')", NULL, NULL,
              "ERROR: semlite_ha_history: options must be a JSON object");
  CHECK_QUERY(db, "SELECT semlite_ha_history(3)", NULL, NULL,
              "ERROR: semlite_ha_history: the recorder's schema must be TEXT (a name given to ATTACH), got INTEGER");
  CHECK_QUERY(db, "SELECT semlite_ha_history(NULL)", NULL, NULL, "NULL");
  /* Limits: a clear error, and the table as it was. */
  t_query_int(db, "SELECT length(semlite_ha_history('rec'))");
  n_pairs = t_query_int(db, "SELECT count(*) FROM synergy_history");
  CHECK(n_pairs >= 3);
  CHECK_QUERY(db, "SELECT semlite_ha_history('rec', '{\"max_rows\":100}')", NULL, NULL,
              "ERROR: semlite_ha_history: the recorder holds more than 100 state rows for the home's entities "
              "(max_rows): pass a shorter \"days\" or a larger \"max_rows\"");
  CHECK_QUERY(db, "SELECT semlite_ha_history('rec', '{\"max_work\":10}')", NULL, NULL,
              "ERROR: semlite_ha_history: more than 10 action changes in the windows (max_work): the recorder holds "
              "too much for one call; shorten the span with \"days\" or raise \"max_work\"");
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM synergy_history"), n_pairs);
  /* sqlite3_interrupt (here from a progress handler) stops it, the table as it was. */
  {
    int count = 0;
    char *got;
    sqlite3_progress_handler(db, 10, stop_after, &count);
    got = t_query(db, "SELECT semlite_ha_history('rec')", NULL, NULL);
    sqlite3_progress_handler(db, 0, NULL, NULL);
    CHECK_STR(got, "ERROR: semlite_ha_history: reading the entities: interrupted");
    sqlite3_free(got);
  }
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM synergy_history"), n_pairs);
  /* A database that is not a recorder. */
  unlink(other);
  {
    sqlite3 *o;
    CHECK_INT(sqlite3_open(other, &o), SQLITE_OK);
    t_exec(o, "CREATE TABLE states(entity_id TEXT, state TEXT)");
    sqlite3_close(o);
  }
  snprintf(sql, sizeof sql, "ATTACH 'file:%s?mode=ro' AS old", other);
  t_exec(db, sql);
  CHECK_QUERY(db, "SELECT semlite_ha_history('old')", NULL, NULL,
              "ERROR: semlite_ha_history: 'old' is not a Home Assistant recorder of 2023 or later (it needs "
              "states_meta.entity_id, states.metadata_id and states.last_updated_ts)");
  sqlite3_close(db);
  unlink(path);
  unlink(other);
}

/* The synergy tables never go into HA's database unless asked; they go where named. */
static void test_safety(void) {
  char path[64];
  sqlite3 *db;
  snprintf(path, sizeof path, "/tmp/semlite-recorder-s%d.db", (int)getpid());
  build_recorder(path);
  db = open_uri(path);
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1)", home_json, NULL,
              "ERROR: semlite_ha_import: 'main' holds Home Assistant's recorder tables (events, recorder_runs, "
              "schema_changes, states, states_meta, statistics_meta): refusing to create the synergy tables in HA's database; ATTACH "
              "another file and name it, e.g. '{\"schema\":\"home\"}', or pass '{\"allow_recorder\":true}' to write "
              "there anyway");
  CHECK_QUERY(db, "SELECT semlite_ha_import()", NULL, NULL,
              "ERROR: semlite_ha_import: 'main' holds Home Assistant's recorder tables (events, recorder_runs, "
              "schema_changes, states, states_meta, statistics_meta): refusing to create the synergy tables in HA's database; ATTACH "
              "another file and name it, e.g. '{\"schema\":\"home\"}', or pass '{\"allow_recorder\":true}' to write "
              "there anyway");
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'synergy%'"), 0);
  /* Into another schema, by name. */
  t_exec(db, "ATTACH ':memory:' AS home");
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1, '{\"schema\":\"home\"}')", home_json, NULL,
              "{\"areas\":1,\"devices\":0,\"entities\":6,\"automations\":0}");
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM home.synergy_entities"), 6);
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM home.synergy_capabilities") > 100, 1);
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'synergy%'"), 0);
  CHECK_QUERY(db, "SELECT semlite_ha_import('- alias: a\n  trigger: {platform: state, entity_id: light.hall}\n"
                  "  action: {service: light.turn_on, target: {area_id: hall}}\n', '{\"schema\":\"home\"}')",
              NULL, NULL, "{\"areas\":1,\"devices\":0,\"entities\":6,\"automations\":1}");
  CHECK_QUERY(db, "SELECT group_concat(role || ':' || entity_id, ' ') FROM home.synergy_automation_members", NULL, NULL,
              "trigger:light.hall action:light.hall");
  /* Options: errors. */
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1, '{\"schema\":\"nope\"}')", home_json, NULL,
              "ERROR: semlite_ha_import: no schema named 'nope' (ATTACH a database under that name first)");
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1, '{\"schema\":\"home\",\"x\":1}')", home_json, NULL,
              "ERROR: semlite_ha_import: unknown option 'x' (known: schema, allow_recorder)");
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1, '{\"schema\":7}')", home_json, NULL,
              "ERROR: semlite_ha_import: option schema must be a string");
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1, '{\"allow_recorder\":1}')", home_json, NULL,
              "ERROR: semlite_ha_import: option allow_recorder must be true or false");
  /* History from the recorder (main, here, read-write: refused) ... */
  CHECK_QUERY(db, "SELECT semlite_ha_history('main', '{\"schema\":\"home\"}')", NULL, NULL,
              "ERROR: semlite_ha_history: 'main' is writable: attach HA's recorder read-only (ATTACH "
              "'file:home-assistant_v2.db?mode=ro' AS main), so that nothing can write it");
  /* ... and when asked, the tables do go into the recorder's file. */
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1, '{\"allow_recorder\":true}')", home_json, NULL,
              "{\"areas\":1,\"devices\":0,\"entities\":6,\"automations\":0}");
  sqlite3_close(db);
  /* The recorder read-only beside a home in main. */
  db = open_uri(":memory:");
  attach_ro(db, path);
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1, '{\"schema\":\"rec\"}')", home_json, NULL,
              "ERROR: semlite_ha_import: the schema 'rec' is read-only");
  sqlite3_close(db);
  unlink(path);
}

const sl_test ha_history_tests[] = {
  {"lift", test_lift},
  {"errors", test_errors},
  {"safety", test_safety},
  {NULL, NULL},
};
