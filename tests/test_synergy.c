/*
** test_synergy.c: semlite_ha_import, synergy_links and synergy_paths through SQL on the
** real semlite.so:
**   - a hand-made home whose scores follow from the formula of docs/synergy.md by hand
**     (exact rows and order, with and without min_hop pruning), cycles, depth limits,
**     min_score edges, empty homes and homes with nothing to act on, determinism;
**   - import: the home format, Home Assistant's registry files, every error leaving the
**     tables as they were;
**   - models: the signals they add, the step caches embedding only texts they have not
**     seen, never serving a model re-saved with other weights from the old rows, and
**     never ending the caller's transaction with their writes;
**   - a real home from ../shared/data/homes end to end.
*/
#include <stdlib.h>

#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include "test.h"

/* Five live entities on five devices in two areas, plus entities that must not count:
** a diagnostic battery sensor, a disabled light, a hidden light, a config button.
** Scores by hand, weights 0.40/0.30/0.15 (0.85 in all, no models), area_unknown unused:
**   hall_motion  -> hall_light   rule 0.8, same area, names {hall,motion}/{hall}: Dice 2/3
**                                (0.32 + 0.30 + 0.10) / 0.85 = 0.847059
**   kitchen_flood -> water_valve rule 1.0, same area, no shared word: 0.70 / 0.85 = 0.823529
**   kitchen_flood -> led_strip   rule 0.5 (binary_sensor * light), same area: 0.50/0.85 = 0.588235
**   hall_motion  -> led_strip    rule 0.8, other area: 0.32 / 0.85 = 0.376471
**   the three light-to-light and flood-to-hall hops: rule 0.5, other area: 0.20/0.85 = 0.235294 */
static const char home_json[] =
  "{\"areas\":[{\"area_id\":\"hall\",\"name\":\"Hall\"},{\"area_id\":\"kitchen\",\"name\":\"Kitchen\"}],"
  "\"devices\":["
  "{\"device_id\":\"d1\",\"name\":\"Hall motion\",\"manufacturer\":\"X\",\"model\":\"M\",\"area_id\":\"hall\"},"
  "{\"device_id\":\"d2\",\"name\":\"Hall light\",\"manufacturer\":null,\"model\":null,\"area_id\":\"hall\"},"
  "{\"device_id\":\"d3\",\"name\":\"Kitchen flood\",\"manufacturer\":\"X\",\"model\":\"F\",\"area_id\":\"kitchen\"},"
  "{\"device_id\":\"d4\",\"name\":\"Water valve\",\"manufacturer\":\"X\",\"model\":\"V\",\"area_id\":\"kitchen\"},"
  "{\"device_id\":\"d5\",\"name\":\"LED strip\",\"manufacturer\":\"X\",\"model\":\"S\",\"area_id\":\"kitchen\"},"
  "{\"device_id\":\"d6\",\"name\":\"Old lamp\",\"manufacturer\":\"X\",\"model\":\"S\",\"area_id\":\"kitchen\",\"disabled\":true}],"
  "\"entities\":["
  "{\"entity_id\":\"binary_sensor.hall_motion\",\"domain\":\"binary_sensor\",\"name\":\"Hall motion\",\"area_id\":\"hall\","
  " \"device_class\":\"motion\",\"platform\":\"zha\",\"device_id\":\"d1\"},"
  "{\"entity_id\":\"sensor.hall_motion_battery\",\"domain\":\"sensor\",\"name\":\"Hall motion battery\",\"area_id\":\"hall\","
  " \"device_class\":\"battery\",\"platform\":\"zha\",\"device_id\":\"d1\",\"unit\":\"%\",\"entity_category\":\"diagnostic\"},"
  "{\"entity_id\":\"light.hall_light\",\"domain\":\"light\",\"name\":\"Hall light\",\"area_id\":\"hall\","
  " \"device_class\":null,\"platform\":\"zha\",\"device_id\":\"d2\"},"
  "{\"entity_id\":\"binary_sensor.kitchen_flood\",\"domain\":\"binary_sensor\",\"name\":\"Kitchen flood\",\"area_id\":\"kitchen\","
  " \"device_class\":\"moisture\",\"platform\":\"zha\",\"device_id\":\"d3\"},"
  "{\"entity_id\":\"valve.water_valve\",\"domain\":\"valve\",\"name\":\"Water valve\",\"area_id\":\"kitchen\","
  " \"device_class\":null,\"platform\":\"zha\",\"device_id\":\"d4\"},"
  "{\"entity_id\":\"light.led_strip\",\"domain\":\"light\",\"name\":\"LED strip\",\"area_id\":\"kitchen\","
  " \"device_class\":null,\"platform\":\"zha\",\"device_id\":\"d5\"},"
  "{\"entity_id\":\"light.old_lamp\",\"domain\":\"light\",\"name\":\"Old lamp\",\"area_id\":\"kitchen\","
  " \"device_class\":null,\"platform\":\"zha\",\"device_id\":\"d6\"},"
  "{\"entity_id\":\"light.disabled\",\"domain\":\"light\",\"name\":\"Disabled\",\"area_id\":\"hall\","
  " \"device_class\":null,\"platform\":\"zha\",\"disabled\":true},"
  "{\"entity_id\":\"light.hidden\",\"domain\":\"light\",\"name\":\"Hidden\",\"area_id\":\"hall\","
  " \"device_class\":null,\"platform\":\"zha\",\"hidden\":true},"
  "{\"entity_id\":\"switch.led_strip_config\",\"domain\":\"switch\",\"name\":\"LED strip config\",\"area_id\":\"kitchen\","
  " \"device_class\":null,\"platform\":\"zha\",\"device_id\":\"d5\",\"entity_category\":\"config\"}],"
  "\"automations\":[{\"alias\":\"Hall\",\"trigger_entities\":[\"binary_sensor.hall_motion\"],\"condition_entities\":[],"
  " \"action_entities\":[],\"action_devices\":[\"Hall light\"],\"trigger_platforms\":[\"state\"],\"file\":\"a.yaml\"}]}";

#define LINKS_SQL \
  "SELECT group_concat(trigger_entity || '>' || action_entity || ' ' || printf('%.6f', score) || ' ' || automated, '; ')" \
  " FROM synergy_links"
/* The links of home_json without models, as the comment above computes them. */
#define HAND_LINKS \
  "binary_sensor.hall_motion>light.hall_light 0.847059 1; binary_sensor.kitchen_flood>valve.water_valve 0.823529 0; " \
  "binary_sensor.kitchen_flood>light.led_strip 0.588235 0; binary_sensor.hall_motion>light.led_strip 0.376471 0; " \
  "binary_sensor.kitchen_flood>light.hall_light 0.235294 0; light.hall_light>light.led_strip 0.235294 0; " \
  "light.led_strip>light.hall_light 0.235294 0"
#define PATHS_SQL(where) \
  "SELECT group_concat(path || ' ' || printf('%.6f', score), '; ') FROM synergy_paths WHERE " where

/* Models are process-wide: other suites may have left some loaded, and synergy uses the
** first loaded ones by default. The exact-score tests switch both signals off; test_models
** switches them on. */
static void no_models(sqlite3 *db) {
  t_exec(db, "UPDATE synergy_config SET value = 0 WHERE key IN ('use_embedding', 'use_rerank')");
}

static sqlite3 *open_home(const char *json) {
  sqlite3 *db = t_open();
  char *got = t_query(db, "SELECT semlite_ha_import(?1)", json, NULL);
  CHECK_MSG(strncmp(got, "{\"areas\"", 8) == 0, "import: %s", got);
  sqlite3_free(got);
  no_models(db);
  return db;
}

static void test_import(void) {
  sqlite3 *db = t_open();
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1)", home_json, NULL,
              "{\"areas\":2,\"devices\":6,\"entities\":10,\"automations\":1}");
  CHECK_QUERY(db, "SELECT group_concat(role || ':' || coalesce(entity_id, 'device ' || device_id), ' ') FROM "
              "(SELECT * FROM synergy_automation_members ORDER BY role DESC)", NULL, NULL,
              "trigger:binary_sensor.hall_motion action:device d2");
  CHECK_QUERY(db, "SELECT disabled || hidden || entity_category FROM synergy_entities WHERE entity_id = 'sensor.hall_motion_battery'",
              NULL, NULL, "00diagnostic");
  /* Importing again replaces the home rather than adding to it. */
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1)", home_json, NULL,
              "{\"areas\":2,\"devices\":6,\"entities\":10,\"automations\":1}");
  CHECK_QUERY(db, "SELECT semlite_ha_import(NULL)", NULL, NULL, "NULL");
  /* A BLOB, as readfile() gives. */
  CHECK_QUERY(db, "SELECT semlite_ha_import(CAST(?1 AS BLOB))", home_json, NULL,
              "{\"areas\":2,\"devices\":6,\"entities\":10,\"automations\":1}");
  /* No argument: the empty tables, with the default rules and config. */
  sqlite3_close(db);
  db = t_open();
  CHECK_QUERY(db, "SELECT semlite_ha_import()", NULL, NULL, "{\"areas\":0,\"devices\":0,\"entities\":0,\"automations\":0}");
  CHECK_QUERY(db, "SELECT count(*) > 100 FROM synergy_capabilities", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT value FROM synergy_config WHERE key = 'beam'", NULL, NULL, "256");
  sqlite3_close(db);
}

static void test_import_errors(void) {
  sqlite3 *db = open_home(home_json);
  static const struct { const char *doc, *msg; } cases[] = {
    {"{\"areas\":[],\"devices\":[],\"entities\":[{\"entity_id\":\"light.x\",\"name\":\"X\"}]}",
     "ERROR: semlite_ha_import: entities[0] has no \"domain\""},
    {"{\"areas\":[],\"devices\":[]}", "ERROR: semlite_ha_import: the home.entities is missing"},
    {"{\"areas\":[{\"area_id\":\"a\",\"name\":\"A\"},{\"area_id\":\"a\",\"name\":\"B\"}],\"devices\":[],\"entities\":[]}",
     "ERROR: semlite_ha_import: areas[1]: UNIQUE constraint failed: synergy_areas.area_id"},
    {"{\"areas\":[3],\"devices\":[],\"entities\":[]}", "ERROR: semlite_ha_import: areas[0] is not an object"},
    {"{\"areas\":[],\"devices\":[{\"device_id\":\"d\",\"name\":7}],\"entities\":[]}",
     "ERROR: semlite_ha_import: devices[0].name is not a string"},
    {"[1, 2]", "ERROR: semlite_ha_import: the document is not a JSON object"},
    {"{\"key\":\"core.restore_state\",\"data\":{}}",
     "ERROR: semlite_ha_import: unknown registry file 'core.restore_state' (expected core.area_registry, "
     "core.device_registry, core.entity_registry or core.config_entries)"},
    {"{\"areas\":[],\"devices\":[],\"entities\":[],\"automations\":[{\"trigger_entities\":[1],\"action_entities\":[]}]}",
     "ERROR: semlite_ha_import: automations[0].trigger_entities has a non-string element"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    CHECK_QUERY(db, "SELECT semlite_ha_import(?1)", cases[i].doc, NULL, cases[i].msg);
  /* Truncated JSON: the reader's message, and nothing changed. */
  {
    char *got = t_query(db, "SELECT semlite_ha_import(substr(?1, 1, 500))", home_json, NULL);
    CHECK_MSG(strncmp(got, "ERROR: semlite_ha_import: ", 26) == 0, "truncated: %s", got);
    sqlite3_free(got);
  }
  CHECK_QUERY(db, "SELECT semlite_ha_import(42)", NULL, NULL,
              "ERROR: semlite_ha_import: the document must be TEXT or a BLOB of JSON, got INTEGER");
  CHECK_QUERY(db, "SELECT semlite_ha_import('{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', "
              "'{}', '{}', '{}', '{}', '{}')", NULL, NULL, "ERROR: semlite_ha_import: takes at most 16 documents, got 17");
  /* A document over max_document_mb is refused before it is parsed. */
  t_exec(db, "UPDATE semlite_limits SET value = 1 WHERE name = 'max_document_mb'");
  CHECK_QUERY(db, "SELECT semlite_ha_import(printf('{\"x\":\"%s\"}', hex(zeroblob(600000))))", NULL, NULL,
              "ERROR: semlite_ha_import: the document is 1200008 bytes, over the max_document_mb limit of 1 MB");
  CHECK_QUERY(db, "SELECT semlite_ha_import('{}', printf('{\"x\":\"%s\"}', hex(zeroblob(600000))))", NULL, NULL,
              "ERROR: semlite_ha_import: argument 2: the document is 1200008 bytes, over the max_document_mb limit "
              "of 1 MB");
  t_exec(db, "UPDATE semlite_limits SET value = 64 WHERE name = 'max_document_mb'");
  CHECK_QUERY(db, "SELECT (SELECT count(*) FROM synergy_entities) || ' ' || (SELECT count(*) FROM synergy_areas)"
              " || ' ' || (SELECT count(*) FROM synergy_automations)", NULL, NULL, "10 2 1");
  /* Inside a user's transaction, a failed import rolls back only itself. */
  t_exec(db, "BEGIN");
  t_exec(db, "DELETE FROM synergy_areas WHERE area_id = 'hall'");
  CHECK_QUERY(db, "SELECT semlite_ha_import('{\"areas\":[3],\"devices\":[],\"entities\":[]}')", NULL, NULL,
              "ERROR: semlite_ha_import: areas[0] is not an object");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_areas", NULL, NULL, "1");
  t_exec(db, "ROLLBACK");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_areas", NULL, NULL, "2");
  /* DIRECTONLY: not from a view. */
  t_exec(db, "CREATE VIEW v AS SELECT semlite_ha_import('{}') AS x");
  CHECK_QUERY(db, "SELECT x FROM v", NULL, NULL, "ERROR: unsafe use of semlite_ha_import()");
  sqlite3_close(db);
}

/* Home Assistant's own .storage files, in any argument order. */
static void test_ha_storage(void) {
  sqlite3 *db = t_open();
  static const char areas[] =
    "{\"version\":1,\"key\":\"core.area_registry\",\"data\":{\"areas\":[{\"id\":\"living\",\"name\":\"Living room\"}]}}";
  static const char devices[] =
    "{\"version\":1,\"key\":\"core.device_registry\",\"data\":{\"devices\":["
    "{\"id\":\"dev1\",\"name\":\"TRADFRI bulb\",\"name_by_user\":\"Sofa lamp\",\"manufacturer\":\"IKEA\","
    " \"model\":\"E27\",\"area_id\":\"living\",\"disabled_by\":null},"
    "{\"id\":\"dev2\",\"name\":\"Motion\",\"name_by_user\":null,\"area_id\":\"living\",\"disabled_by\":\"user\"}]}}";
  static const char entities[] =
    "{\"version\":1,\"key\":\"core.entity_registry\",\"data\":{\"entities\":["
    "{\"entity_id\":\"light.sofa\",\"name\":null,\"original_name\":\"Light\",\"has_entity_name\":true,"
    " \"device_id\":\"dev1\",\"area_id\":null,\"platform\":\"zha\",\"disabled_by\":null,\"hidden_by\":null},"
    "{\"entity_id\":\"binary_sensor.motion_occupancy\",\"name\":null,\"original_name\":null,"
    " \"original_device_class\":\"occupancy\",\"device_id\":\"dev2\",\"platform\":\"zha\","
    " \"disabled_by\":null,\"hidden_by\":\"integration\",\"entity_category\":null},"
    "{\"entity_id\":\"sensor.outside_temp\",\"platform\":\"met\",\"unit_of_measurement\":\"°C\"}]}}";
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1, ?2, '" "{\"key\":\"core.area_registry\",\"data\":{\"areas\":"
              "[{\"id\":\"living\",\"name\":\"Living room\"}]}}" "')", entities, devices,
              "{\"areas\":1,\"devices\":2,\"entities\":3,\"automations\":0}");
  CHECK_QUERY(db, "SELECT group_concat(entity_id || '|' || domain || '|' || name || '|' || coalesce(area_id, '-') || '|'"
              " || coalesce(device_class, '-') || '|' || coalesce(unit, '-') || '|' || hidden, ' ; ')"
              " FROM (SELECT * FROM synergy_entities ORDER BY entity_id)", NULL, NULL,
              "binary_sensor.motion_occupancy|binary_sensor|Motion|living|occupancy|-|1 ; "
              "light.sofa|light|Sofa lamp Light|living|-|-|0 ; "
              "sensor.outside_temp|sensor|outside temp|-|-|°C|0");
  CHECK_QUERY(db, "SELECT group_concat(name || disabled, ',') FROM (SELECT * FROM synergy_devices ORDER BY device_id)",
              NULL, NULL, "Sofa lamp0,Motion1");
  /* One at a time replaces only its own table. */
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1)", areas, NULL, "{\"areas\":1,\"devices\":2,\"entities\":3,\"automations\":0}");
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1, '{\"key\":\"core.device_registry\",\"data\":{}}')", areas, NULL,
              "ERROR: semlite_ha_import: argument 2: core.device_registry data.devices is missing");
  CHECK_QUERY(db, "SELECT semlite_ha_import('{\"key\":\"core.entity_registry\",\"data\":{\"entities\":[{\"entity_id\":\"nodot\"}]}}')",
              NULL, NULL, "ERROR: semlite_ha_import: entities[0].entity_id 'nodot' has no domain");
  sqlite3_close(db);
}

static void test_links_exact(void) {
  sqlite3 *db = open_home(home_json);
  CHECK_QUERY(db, LINKS_SQL, NULL, NULL, HAND_LINKS);
  CHECK_QUERY(db, "SELECT printf('%.4f %.4f %.4f', capability, area, name) || ' ' || quote(embedding) || ' ' || quote(rerank)"
              " || ' ' || signals || ' | ' || statement FROM synergy_links LIMIT 1", NULL, NULL,
              "0.8000 1.0000 0.6667 NULL NULL capability+area+name | When Hall motion detects motion, turn on Hall light."
              " Both are in the Hall; a motion sensor usually drives a light; their names share \"hall\". Already"
              " automated.");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_links WHERE min_score = 0.5", NULL, NULL, "3");
  /* The default rules and weights are data: a change shows at once. */
  t_exec(db, "UPDATE synergy_config SET value = 0 WHERE key = 'w_name'");
  CHECK_QUERY(db, "SELECT printf('%.6f', score) FROM synergy_links LIMIT 1", NULL, NULL, "1.000000");
  t_exec(db, "UPDATE synergy_capabilities SET weight = 0 WHERE trigger_domain = 'binary_sensor' AND trigger_class = 'moisture'"
             " AND action_domain = 'valve'");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_links WHERE action_entity = 'valve.water_valve'", NULL, NULL, "0");
  sqlite3_close(db);
}

static void test_paths_exact(void) {
  sqlite3 *db = open_home(home_json);
  t_exec(db, "DELETE FROM semlite_metrics WHERE op = 'synergy_search'");
  /* Defaults (min_hop 0.35): no second hop passes, so depth 3 adds nothing. */
  CHECK_QUERY(db, "SELECT count(*) || ' ' || max(depth) FROM synergy_paths WHERE max_depth = 3", NULL, NULL, "7 2");
  CHECK_QUERY(db, "SELECT calls || ' ' || errors FROM semlite_metrics WHERE op = 'synergy_search'", NULL, NULL, "1 0");
  t_exec(db, "UPDATE synergy_config SET value = 0.2 WHERE key = 'min_hop'");
  /* hall_motion>hall_light>led_strip: sqrt(0.847059 x 0.235294) x 0.9 = 0.401795;
  ** hall_motion>led_strip>hall_light: sqrt(0.376471 x 0.235294) x 0.9 = 0.267864;
  ** kitchen_flood>led_strip>hall_light: sqrt(0.588235 x 0.235294) x 0.9 = 0.334829;
  ** kitchen_flood>hall_light>led_strip: 0.235294 x 0.9 = 0.211765. No hall_light>led_strip>hall_light. */
  CHECK_QUERY(db, PATHS_SQL("max_depth = 3 AND min_score = 0.25"), NULL, NULL,
              "[\"binary_sensor.hall_motion\",\"light.hall_light\"] 0.847059; "
              "[\"binary_sensor.kitchen_flood\",\"valve.water_valve\"] 0.823529; "
              "[\"binary_sensor.kitchen_flood\",\"light.led_strip\"] 0.588235; "
              "[\"binary_sensor.hall_motion\",\"light.hall_light\",\"light.led_strip\"] 0.401795; "
              "[\"binary_sensor.hall_motion\",\"light.led_strip\"] 0.376471; "
              "[\"binary_sensor.kitchen_flood\",\"light.led_strip\",\"light.hall_light\"] 0.334829; "
              "[\"binary_sensor.hall_motion\",\"light.led_strip\",\"light.hall_light\"] 0.267864");
  CHECK_QUERY(db, "SELECT trigger_entity || ' ' || actions || ' ' || automated || ' | ' || explanation FROM synergy_paths"
              " WHERE max_depth = 3 AND depth = 3 LIMIT 1", NULL, NULL,
              "binary_sensor.hall_motion [\"light.hall_light\",\"light.led_strip\"] 1 | When Hall motion detects motion,"
              " turn on Hall light. Both are in the Hall; a motion sensor usually drives a light; their names share"
              " \"hall\". Already automated. Then: When Hall light is switched, follow with LED strip. Hall light is in"
              " the Hall, LED strip in the Kitchen; a light often drives a light.");
  /* synergy_links under a user's own recursive CTE (docs/synergy.md): the 7 links and the
  ** 4 two-hop chains without a repeated node, as synergy_paths finds them with min_hop 0. */
  CHECK_QUERY(db, "WITH RECURSIVE l AS MATERIALIZED (SELECT trigger_entity AS t, action_entity AS a FROM synergy_links),"
              " chain(path, last, n) AS (SELECT json_array(t, a), a, 2 FROM l UNION ALL"
              "  SELECT json_insert(path, '$[#]', l.a), l.a, n + 1 FROM chain JOIN l ON l.t = chain.last"
              "   WHERE n < 3 AND NOT EXISTS (SELECT 1 FROM json_each(chain.path) WHERE value = l.a))"
              " SELECT count(*) || ' ' || sum(n = 3) FROM chain", NULL, NULL, "11 4");
  CHECK_QUERY(db, "SELECT json_valid(path) AND json_array_length(path) = depth AND json_array_length(actions) = depth - 1"
              " FROM synergy_paths WHERE max_depth = 5 ORDER BY 1 LIMIT 1", NULL, NULL, "1");
  sqlite3_close(db);
}

/* A ring of lights in one area, every one able to drive every other: the search must
** not come back to a node, and with the beam it stays bounded. */
static void test_cycles(void) {
  char json[4096];
  int n = snprintf(json, sizeof json, "{\"areas\":[{\"area_id\":\"a\",\"name\":\"Room\"}],\"devices\":[],\"entities\":[");
  for (int i = 0; i < 6; i++)
    n += snprintf(json + n, sizeof json - (size_t)n,
                  "%s{\"entity_id\":\"light.l%d\",\"domain\":\"light\",\"name\":\"Lamp %d\",\"area_id\":\"a\"}",
                  i ? "," : "", i, i);
  snprintf(json + n, sizeof json - (size_t)n, "]}");
  sqlite3 *db = open_home(json);
  t_exec(db, "UPDATE synergy_config SET value = 0 WHERE key = 'min_hop'");
  t_exec(db, "UPDATE synergy_config SET value = 1000 WHERE key = 'per_trigger'");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_paths p WHERE max_depth = 5 AND"
              " (SELECT count(DISTINCT value) FROM json_each(p.path)) <> p.depth", NULL, NULL, "0");
  /* 30 links, then beam 256 each for depths 3 (6x5x4 = 120 exist), 4 (360 exist -> 256), 5 (-> 256). */
  CHECK_QUERY(db, "SELECT group_concat(n, ' ') FROM (SELECT depth, count(*) AS n FROM synergy_paths WHERE max_depth = 5"
              " GROUP BY depth ORDER BY depth)", NULL, NULL, "30 120 256 256");
  t_exec(db, "UPDATE synergy_config SET value = 10 WHERE key = 'beam'");
  CHECK_QUERY(db, "SELECT group_concat(n, ' ') FROM (SELECT depth, count(*) AS n FROM synergy_paths WHERE max_depth = 5"
              " GROUP BY depth ORDER BY depth)", NULL, NULL, "30 10 10 10");
  /* At most per_trigger rows per trigger device and depth: 6 triggers x 3; without the
  ** row (a database of an older version), the default 5. */
  t_exec(db, "UPDATE synergy_config SET value = 3 WHERE key = 'per_trigger'");
  CHECK_QUERY(db, "SELECT group_concat(n, ' ') FROM (SELECT depth, count(*) AS n FROM synergy_paths WHERE max_depth = 5"
              " GROUP BY depth ORDER BY depth)", NULL, NULL, "18 3 3 3");
  CHECK_QUERY(db, "SELECT max(n) FROM (SELECT count(*) AS n FROM synergy_links GROUP BY trigger_entity)", NULL, NULL, "3");
  t_exec(db, "DELETE FROM synergy_config WHERE key = 'per_trigger'");
  CHECK_QUERY(db, "SELECT group_concat(n, ' ') FROM (SELECT depth, count(*) AS n FROM synergy_paths WHERE max_depth = 5"
              " GROUP BY depth ORDER BY depth)", NULL, NULL, "30 5 5 5");
  sqlite3_close(db);
}

static void test_empty(void) {
  sqlite3 *db = t_open();
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_paths", NULL, NULL,
              "ERROR: synergy_paths: no synergy tables in 'main' (create them with semlite_ha_import)");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_links", NULL, NULL,
              "ERROR: synergy_links: no synergy tables in 'main' (create them with semlite_ha_import)");
  CHECK_QUERY(db, "SELECT semlite_ha_import('{\"areas\":[],\"devices\":[],\"entities\":[]}')", NULL, NULL,
              "{\"areas\":0,\"devices\":0,\"entities\":0,\"automations\":0}");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_paths WHERE max_depth = 5", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_links", NULL, NULL, "0");
  /* Sensors only: nothing to act on. */
  CHECK_QUERY(db, "SELECT semlite_ha_import('{\"areas\":[],\"devices\":[],\"entities\":["
              "{\"entity_id\":\"sensor.t\",\"domain\":\"sensor\",\"name\":\"T\",\"device_class\":\"temperature\"},"
              "{\"entity_id\":\"binary_sensor.m\",\"domain\":\"binary_sensor\",\"name\":\"M\",\"device_class\":\"motion\"}]}')",
              NULL, NULL, "{\"areas\":0,\"devices\":0,\"entities\":2,\"automations\":0}");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_paths WHERE max_depth = 4", NULL, NULL, "0");
  sqlite3_close(db);
}

static void test_depth_limits(void) {
  sqlite3 *db = open_home(home_json);
  t_exec(db, "UPDATE synergy_config SET value = 0 WHERE key = 'min_hop'");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_paths WHERE max_depth = 1", NULL, NULL,
              "ERROR: synergy_paths: max_depth must be an integer from 2 to 5");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_paths WHERE max_depth = 6", NULL, NULL,
              "ERROR: synergy_paths: max_depth must be an integer from 2 to 5");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_paths WHERE max_depth = 2.5", NULL, NULL,
              "ERROR: synergy_paths: max_depth must be an integer from 2 to 5");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_paths WHERE max_depth = NULL", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT count(*) || ' ' || max(depth) FROM synergy_paths WHERE max_depth = 2", NULL, NULL, "7 2");
  /* Default max_depth 3. Devices: 3 triggers, 3 actions, two hops at most without repeats
  ** since light.hall_light and light.led_strip are the only chaining pair. */
  CHECK_QUERY(db, "SELECT max(depth) FROM synergy_paths", NULL, NULL, "3");
  CHECK_QUERY(db, "SELECT max(depth) FROM synergy_paths WHERE max_depth = 5", NULL, NULL, "3");
  sqlite3_close(db);
}

static void test_min_score(void) {
  sqlite3 *db = open_home(home_json);
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_paths WHERE min_score = 0", NULL, NULL, "7");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_paths WHERE min_score = 1", NULL, NULL, "0");
  /* The bound is inclusive: exactly the best score keeps the best row. */
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_paths WHERE min_score = (SELECT max(score) FROM synergy_links)", NULL,
              NULL, "1");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_links WHERE min_score = 0.823529", NULL, NULL, "2");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_paths WHERE min_score = -0.1", NULL, NULL,
              "ERROR: synergy_paths: min_score must be a number from 0 to 1");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_links WHERE min_score = 1.5", NULL, NULL,
              "ERROR: synergy_links: min_score must be a number from 0 to 1");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_links WHERE min_score = 'high'", NULL, NULL,
              "ERROR: synergy_links: min_score must be a number from 0 to 1");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_links WHERE min_score = NULL", NULL, NULL, "0");
  sqlite3_close(db);
}

static void test_config_errors(void) {
  sqlite3 *db = open_home(home_json);
  t_exec(db, "UPDATE synergy_config SET value = 'x' WHERE key = 'w_area'");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_links", NULL, NULL,
              "ERROR: synergy_links: synergy_config 'w_area' must be a number >= 0");
  t_exec(db, "UPDATE synergy_config SET value = 0.3 WHERE key = 'w_area'");
  t_exec(db, "UPDATE synergy_config SET value = 0 WHERE key = 'beam'");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_paths", NULL, NULL,
              "ERROR: synergy_paths: synergy_config 'beam' must be an integer from 1 to 1000000");
  t_exec(db, "UPDATE synergy_config SET value = 256 WHERE key = 'beam'");
  t_exec(db, "UPDATE synergy_config SET value = 1.5 WHERE key = 'depth_penalty'");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_paths", NULL, NULL,
              "ERROR: synergy_paths: synergy_config 'depth_penalty' must be a number in (0, 1]");
  t_exec(db, "UPDATE synergy_config SET value = 0.9 WHERE key = 'depth_penalty'");
  t_exec(db, "INSERT INTO synergy_config VALUES ('colour', 1)");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_paths", NULL, NULL,
              "ERROR: synergy_paths: synergy_config has an unknown key 'colour'");
  t_exec(db, "DELETE FROM synergy_config WHERE key IN ('colour', 'candidates')");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_paths", NULL, NULL,
              "ERROR: synergy_paths: synergy_config has no 'candidates'");
  t_exec(db, "INSERT INTO synergy_config VALUES ('candidates', 1)");
  t_exec(db, "UPDATE synergy_config SET value = 'nope' WHERE key = 'embed_model'");
  t_exec(db, "UPDATE synergy_config SET value = 1 WHERE key = 'use_embedding'");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_paths", NULL, NULL,
              "ERROR: synergy_paths: no model named 'nope' (load one with semlite_model_load)");
  no_models(db);
  /* candidates 1: one link per trigger. */
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_links", NULL, NULL, "4");
  /* DIRECTONLY: a scan writes caches, so not from a view or trigger. */
  t_exec(db, "CREATE VIEW v AS SELECT * FROM synergy_links");
  CHECK_QUERY(db, "SELECT count(*) FROM v", NULL, NULL, "ERROR: unsafe use of virtual table \"synergy_links\"");
  sqlite3_close(db);
}

/* Same tables in another insertion order, same rows; a second run the same as the first. */
static void test_determinism(void) {
  sqlite3 *a = open_home(home_json), *b = open_home(home_json);
  char *x, *y, *z;
  t_exec(b, "CREATE TABLE e2 AS SELECT * FROM synergy_entities ORDER BY entity_id DESC");
  t_exec(b, "DELETE FROM synergy_entities");
  t_exec(b, "INSERT INTO synergy_entities SELECT * FROM e2");
  for (int k = 0; k < 2; k++) {
    sqlite3 *db = k ? b : a;
    t_exec(db, "UPDATE synergy_config SET value = 0 WHERE key = 'min_hop'");
  }
  x = t_query(a, "SELECT group_concat(path || score || explanation, '|') FROM synergy_paths WHERE max_depth = 5", NULL, NULL);
  y = t_query(a, "SELECT group_concat(path || score || explanation, '|') FROM synergy_paths WHERE max_depth = 5", NULL, NULL);
  z = t_query(b, "SELECT group_concat(path || score || explanation, '|') FROM synergy_paths WHERE max_depth = 5", NULL, NULL);
  CHECK(strlen(x) > 100);
  CHECK_STR(x, y);
  CHECK_STR(x, z);
  sqlite3_free(x);
  sqlite3_free(y);
  sqlite3_free(z);
  sqlite3_close(a);
  sqlite3_close(b);
}

/* Tables filled by hand, with no import at all. */
static void test_user_filled(void) {
  sqlite3 *db = t_open();
  CHECK_QUERY(db, "SELECT semlite_ha_import()", NULL, NULL, "{\"areas\":0,\"devices\":0,\"entities\":0,\"automations\":0}");
  no_models(db);
  t_exec(db, "INSERT INTO synergy_entities(entity_id, domain, name, area_id) VALUES"
             " ('binary_sensor.door', 'binary_sensor', 'Front door', NULL),"
             " ('light.porch', 'light', 'Porch', NULL)");
  t_exec(db, "UPDATE synergy_entities SET device_class = 'door' WHERE entity_id = 'binary_sensor.door'");
  /* door -> light 0.8, both areas unknown 0.25, no shared word: (0.32 + 0.075) / 0.85 = 0.464706 */
  CHECK_QUERY(db, LINKS_SQL, NULL, NULL, "binary_sensor.door>light.porch 0.464706 0");
  sqlite3_close(db);
}

/* A home too large for synergy_max_nodes is refused with the limit's name; a large one
** within it stops on sqlite3_interrupt long before it would finish (40,000 entities take
** tens of seconds; the interrupt comes at 0.5 s, inside the links' quadratic loop, and
** must be heard well before 2 s). */
typedef struct interrupter { sqlite3 *db; } interrupter;

static void *interrupt_soon(void *arg) {
  usleep(500000);
  sqlite3_interrupt(((interrupter *)arg)->db);
  return NULL;
}

static void test_large_home(void) {
  sqlite3 *db = t_open();
  pthread_t th;
  interrupter it = {db};
  struct timespec t0, t1;
  double s;
  int rc;
  sqlite3_stmt *st;
  CHECK_QUERY(db, "SELECT semlite_ha_import()", NULL, NULL, "{\"areas\":0,\"devices\":0,\"entities\":0,\"automations\":0}");
  no_models(db);
  t_exec(db, "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 39999) "
             "INSERT INTO synergy_entities(entity_id, domain, name, device_class) SELECT "
             "CASE WHEN i % 2 THEN 'light.l' || i ELSE 'binary_sensor.m' || i END, "
             "CASE WHEN i % 2 THEN 'light' ELSE 'binary_sensor' END, 'thing ' || i, "
             "CASE WHEN i % 2 THEN NULL ELSE 'motion' END FROM s");
  t_exec(db, "UPDATE semlite_limits SET value = 30000 WHERE name = 'synergy_max_nodes'");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_links", NULL, NULL,
              "ERROR: synergy_links: the home has 40000 entities and devices, over the synergy_max_nodes limit of "
              "30000 (semlite_limits)");
  t_exec(db, "UPDATE semlite_limits SET value = 50000 WHERE name = 'synergy_max_nodes'");
  CHECK(sqlite3_prepare_v2(db, "SELECT count(*) FROM synergy_links", -1, &st, NULL) == SQLITE_OK);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pthread_create(&th, NULL, interrupt_soon, &it);
  rc = sqlite3_step(st);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  pthread_join(th, NULL);
  s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  CHECK_INT(rc, SQLITE_INTERRUPT);
  CHECK_INT(sqlite3_extended_errcode(db), SQLITE_INTERRUPT);
  CHECK_STR(sqlite3_errmsg(db), "synergy_links: interrupted");
  CHECK_MSG(s < 2.0, "the interrupt took effect after %.2f s", s);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

/* The twins: the embedding and cross-encoder signals join, and the descriptor cache
** (content-addressed: model identity and text) embeds only texts it has not seen. */
static void test_models(void) {
  char path[1024];
  sqlite3 *db = open_home(home_json);
  CHECK_QUERY(db, "SELECT semlite_model_load('e', ?1)", t_model_path(path, sizeof path, "minilm-l6-embed"), NULL, "e");
  CHECK_QUERY(db, "SELECT semlite_model_load('ce', ?1)", t_model_path(path, sizeof path, "minilm-l6-rerank"), NULL, "ce");
  /* By name: other suites' models may be loaded earlier in this process. */
  t_exec(db, "UPDATE synergy_config SET value = 1 WHERE key IN ('use_embedding', 'use_rerank')");
  t_exec(db, "UPDATE synergy_config SET value = 'e' WHERE key = 'embed_model'");
  t_exec(db, "UPDATE synergy_config SET value = 'ce' WHERE key = 'rerank_model'");
  t_exec(db, "CREATE TABLE embeds(n INTEGER); INSERT INTO embeds VALUES (0);"
             "CREATE TRIGGER count_embeds AFTER INSERT ON synergy_descriptors BEGIN UPDATE embeds SET n = n + 1; END");
  /* The twins' signals hardly vary over the pairs (random weights): they earn no weight,
  ** and the rows and scores are those without models. */
  CHECK_QUERY(db, "SELECT DISTINCT signals FROM synergy_links", NULL, NULL,
              "capability+area+name+embedding(0.00)+cross-encoder(0.00)");
  CHECK_QUERY(db, LINKS_SQL, NULL, NULL, HAND_LINKS);
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_links WHERE embedding BETWEEN 0 AND 1 AND rerank IS NOT NULL", NULL, NULL, "7");
  /* A spread the twins do reach earns them their whole weight. */
  t_exec(db, "INSERT OR REPLACE INTO synergy_config VALUES ('embedding_spread', 0.001), ('rerank_spread', 0.001)");
  CHECK_QUERY(db, "SELECT DISTINCT signals FROM synergy_links", NULL, NULL,
              "capability+area+name+embedding(0.15)+cross-encoder(0.20)");
  t_exec(db, "DELETE FROM synergy_config WHERE key IN ('embedding_spread', 'rerank_spread')");
  CHECK_QUERY(db, "SELECT n FROM embeds", NULL, NULL, "5");
  CHECK_QUERY(db, "SELECT text FROM synergy_descriptors WHERE entity_id = 'binary_sensor.hall_motion'", NULL, NULL,
              "Hall motion: motion binary sensor in Hall");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_hop_scores", NULL, NULL, "7");
  /* Warm: nothing embedded again. */
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_paths", NULL, NULL, "7");
  CHECK_QUERY(db, "SELECT n FROM embeds", NULL, NULL, "5");
  t_exec(db, "UPDATE synergy_entities SET name = 'Hall lamp' WHERE entity_id = 'light.hall_light'");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_paths", NULL, NULL, "7");
  CHECK_QUERY(db, "SELECT n FROM embeds", NULL, NULL, "6");
  /* Renamed back, its first embedding is still stored: nothing is embedded. A removed
  ** entity's row goes; the light keeps both its texts' rows. */
  t_exec(db, "DELETE FROM synergy_entities WHERE entity_id = 'valve.water_valve'");
  t_exec(db, "UPDATE synergy_entities SET name = 'Hall light' WHERE entity_id = 'light.hall_light'");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_paths", NULL, NULL, "6");
  CHECK_QUERY(db, "SELECT n || ' ' || (SELECT count(*) FROM synergy_descriptors) FROM embeds", NULL, NULL, "6 5");
  CHECK_QUERY(db, "SELECT group_concat(text, '; ') FROM (SELECT text FROM synergy_descriptors"
              " WHERE entity_id = 'light.hall_light' ORDER BY text)", NULL, NULL,
              "Hall lamp: light in Hall (device Hall light); Hall light: light in Hall");
  /* The same folder in int8 is another model: every descriptor is embedded again. */
  CHECK_QUERY(db, "SELECT semlite_model_load('e8', ?1, '{\"dtype\":\"int8\"}')",
              t_model_path(path, sizeof path, "minilm-l6-embed"), NULL, "e8");
  t_exec(db, "UPDATE synergy_config SET value = 'e8' WHERE key = 'embed_model'");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_paths", NULL, NULL, "6");
  CHECK_QUERY(db, "SELECT n FROM embeds", NULL, NULL, "10");
  CHECK_QUERY(db, "SELECT semlite_model_unload('e8')", NULL, NULL, "1");
  /* Back to fp32: its rows are still there, nothing is embedded. */
  t_exec(db, "UPDATE synergy_config SET value = 'e' WHERE key = 'embed_model'");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_paths", NULL, NULL, "6");
  CHECK_QUERY(db, "SELECT n FROM embeds", NULL, NULL, "10");
  /* A read-only database loses only the caches: same rows, nothing written. */
  t_exec(db, "UPDATE synergy_entities SET name = 'Porch light' WHERE entity_id = 'light.hall_light'");
  t_exec(db, "DELETE FROM synergy_hop_scores");
  t_exec(db, "PRAGMA query_only = 1");
  CHECK_QUERY(db, "SELECT count(*) || ' ' || count(rerank) FROM synergy_links", NULL, NULL, "6 6");
  t_exec(db, "PRAGMA query_only = 0");
  CHECK_QUERY(db, "SELECT n || ' ' || (SELECT count(*) FROM synergy_hop_scores) FROM embeds", NULL, NULL, "10 0");
  t_exec(db, "UPDATE synergy_entities SET name = 'Hall light' WHERE entity_id = 'light.hall_light'");
  /* rerank_top bounds the cross-encoder; use_rerank = 0 leaves it out. */
  t_exec(db, "UPDATE synergy_config SET value = 2 WHERE key = 'rerank_top'");
  CHECK_QUERY(db, "SELECT count(rerank) FROM synergy_links", NULL, NULL, "2");
  t_exec(db, "UPDATE synergy_config SET value = 0 WHERE key = 'use_rerank'");
  t_exec(db, "UPDATE synergy_config SET value = 0 WHERE key = 'use_embedding'");
  CHECK_QUERY(db, "SELECT DISTINCT signals || ' ' || count(rerank) || ' ' || count(embedding) FROM synergy_links", NULL,
              NULL, "capability+area+name 0 0");
  CHECK_QUERY(db, "SELECT printf('%.6f', score) FROM synergy_links LIMIT 1", NULL, NULL, "0.847059");
  CHECK_QUERY(db, "SELECT semlite_model_unload('e') || semlite_model_unload('ce')", NULL, NULL, "11");
  sqlite3_close(db);
}

/* Writes the embedding twin's weights into dir/model.safetensors as a download would
** (a new file renamed over the old), with one bit of float number `which` from the end
** flipped: the same architecture and files, other weights. */
static void write_weights(const char *dir, int which) {
  char src[1024], tmp[1200], dst[1200];
  FILE *f = fopen(t_model_path(src, sizeof src, "minilm-l6-embed/model.safetensors"), "rb");
  unsigned char *buf = NULL;
  long n = -1;
  if (f && fseek(f, 0, SEEK_END) == 0) n = ftell(f);
  CHECK(f && n > 64);
  if (!f || n <= 64) {
    if (f) fclose(f);
    return;
  }
  rewind(f);
  buf = malloc((size_t)n);
  CHECK(buf && fread(buf, 1, (size_t)n, f) == (size_t)n);
  fclose(f);
  buf[n - 4 * which] ^= 1;                   /* the lowest mantissa bit: still a finite float */
  snprintf(tmp, sizeof tmp, "%s/model.safetensors.part", dir);
  snprintf(dst, sizeof dst, "%s/model.safetensors", dir);
  f = fopen(tmp, "wb");
  CHECK(f && fwrite(buf, 1, (size_t)n, f) == (size_t)n);
  if (f) fclose(f);
  CHECK(rename(tmp, dst) == 0);
  free(buf);
}

/* A model re-saved into the same folder with other weights is another model (its
** identity covers the weights): nothing it computes is served from the old weights' rows. */
static void test_resaved_model(void) {
  char dir[1024];
  sqlite3 *db = open_home(home_json);
  t_model_alias(dir, sizeof dir, "minilm-l6-embed", "resaved");
  write_weights(dir, 1);
  CHECK_QUERY(db, "SELECT semlite_model_load('resaved', ?1)", dir, NULL, "resaved");
  t_exec(db, "UPDATE synergy_config SET value = 'resaved' WHERE key = 'embed_model'");
  t_exec(db, "UPDATE synergy_config SET value = 1 WHERE key = 'use_embedding'");
  t_exec(db, "UPDATE synergy_config SET value = 0 WHERE key = 'use_rerank'");
  t_exec(db, "CREATE TABLE embeds(n INTEGER); INSERT INTO embeds VALUES (0);"
             "CREATE TRIGGER count_embeds AFTER INSERT ON synergy_descriptors BEGIN UPDATE embeds SET n = n + 1; END");
  CHECK_QUERY(db, "SELECT count(embedding) FROM synergy_links", NULL, NULL, "7");
  CHECK_QUERY(db, "SELECT count(embedding) FROM synergy_links", NULL, NULL, "7");
  CHECK_QUERY(db, "SELECT n FROM embeds", NULL, NULL, "5");
  t_exec(db, "CREATE TABLE old AS SELECT key, embedding FROM synergy_descriptors");
  CHECK_QUERY(db, "SELECT semlite_model_unload('resaved')", NULL, NULL, "1");
  write_weights(dir, 2);
  CHECK_QUERY(db, "SELECT semlite_model_load('resaved', ?1)", dir, NULL, "resaved");
  CHECK_QUERY(db, "SELECT count(embedding) FROM synergy_links", NULL, NULL, "7");
  /* Every descriptor embedded again, under other addresses. */
  CHECK_QUERY(db, "SELECT n || ' ' || (SELECT count(*) FROM synergy_descriptors) || ' ' ||"
              " (SELECT count(*) FROM synergy_descriptors WHERE key IN (SELECT key FROM old)) FROM embeds", NULL, NULL,
              "10 10 5");
  CHECK_QUERY(db, "SELECT semlite_model_unload('resaved')", NULL, NULL, "1");
  t_model_alias_remove(dir);
  sqlite3_close(db);
}

/* A step-table write never ends the caller's transaction: a trigger that aborts it only
** loses the write (same rows, the transaction goes on); one that rolls the transaction
** back makes the scan fail with the reason, so no half of it is kept unnoticed. */
static void test_hostile_trigger(void) {
  char path[1024];
  sqlite3 *db = open_home(home_json);
  CHECK_QUERY(db, "SELECT semlite_model_load('e', ?1)", t_model_path(path, sizeof path, "minilm-l6-embed"), NULL, "e");
  t_exec(db, "UPDATE synergy_config SET value = 'e' WHERE key = 'embed_model'");
  t_exec(db, "UPDATE synergy_config SET value = 1 WHERE key = 'use_embedding'");
  t_exec(db, "UPDATE synergy_config SET value = 0 WHERE key = 'use_rerank'");
  t_exec(db, "CREATE TABLE notes(body TEXT)");
  t_exec(db, "CREATE TRIGGER refuse BEFORE INSERT ON synergy_descriptors BEGIN SELECT RAISE(ABORT, 'refused'); END");
  /* Names no other test embeds, so every descriptor is computed and written. */
  t_exec(db, "UPDATE synergy_entities SET name = name || ' (refused)'");
  t_exec(db, "BEGIN");
  t_exec(db, "INSERT INTO notes VALUES ('first half')");
  CHECK_QUERY(db, "SELECT count(embedding) FROM synergy_links", NULL, NULL, "7");
  CHECK_INT(sqlite3_get_autocommit(db), 0);
  t_exec(db, "INSERT INTO notes VALUES ('second half')");
  t_exec(db, "COMMIT");
  CHECK_QUERY(db, "SELECT group_concat(body, '+') || ' ' || (SELECT count(*) FROM synergy_descriptors) FROM notes",
              NULL, NULL, "first half+second half 0");

  t_exec(db, "DROP TRIGGER refuse");
  t_exec(db, "CREATE TRIGGER rollback BEFORE INSERT ON synergy_descriptors "
             "BEGIN SELECT RAISE(ROLLBACK, 'rolled back by a trigger'); END");
  t_exec(db, "UPDATE synergy_entities SET name = name || ' (rolled back)'");
  t_exec(db, "BEGIN");
  t_exec(db, "INSERT INTO notes VALUES ('lost half')");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_links", NULL, NULL,
              "ERROR: synergy_links: a cache statement failed and SQLite rolled back the transaction: "
              "rolled back by a trigger");
  CHECK_INT(sqlite3_get_autocommit(db), 1);
  CHECK_QUERY(db, "SELECT count(*) FROM notes WHERE body = 'lost half'", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT semlite_model_unload('e')", NULL, NULL, "1");
  sqlite3_close(db);
}

/* A real home: the motion sensor and light of the basement stairs come out on top, and
** that pair is marked as already automated. */
static void test_real_home(void) {
  char path[1024];
  sqlite3 *db = t_open();
  char *home;
  snprintf(path, sizeof path, "%s/data/homes/giom-fr-large.json", sl_test_shared_dir());
  home = t_read_file(path);
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1)", home, NULL,
              "{\"areas\":17,\"devices\":208,\"entities\":1745,\"automations\":85}");
  free(home);
  no_models(db);
  CHECK_QUERY(db, "SELECT path || ' ' || automated FROM synergy_paths WHERE max_depth = 4 LIMIT 1", NULL, NULL,
              "[\"device:40e2c9d25a557a13b74303960127118d\",\"light.kid1s_light_bulb\"] 1");
  /* No excluded entity anywhere in a suggestion. */
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_paths p, json_each(p.path) j JOIN synergy_entities e ON e.entity_id = j.value"
              " WHERE p.max_depth = 4 AND (e.entity_category IS NOT NULL OR e.disabled OR e.hidden)", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT count(*) > 1000 FROM synergy_paths p, json_each(p.path) j JOIN synergy_entities e ON e.entity_id = j.value"
              " WHERE p.max_depth = 4", NULL, NULL, "1");
  /* The yaml column parses back (libyaml, through the importer of automations.yaml): every
  ** row's automation, all rows as one file, gives back its trigger and its action. */
  t_exec(db, "ATTACH ':memory:' AS back");
  t_exec(db, "CREATE TEMP TABLE l AS SELECT trigger_entity AS t, action_entity AS a, yaml FROM synergy_links");
  CHECK_QUERY(db, "SELECT count(*) FROM l", NULL, NULL, "770");
  CHECK_QUERY(db, "SELECT semlite_ha_import((SELECT group_concat(yaml, '') FROM l), '{\"schema\":\"back\"}')", NULL,
              NULL, "{\"areas\":0,\"devices\":0,\"entities\":0,\"automations\":770}");
  CHECK_QUERY(db, "SELECT count(*) FROM l WHERE EXISTS (SELECT 1 FROM back.synergy_automation_members mt"
                  " JOIN back.synergy_automation_members ma ON ma.automation_id = mt.automation_id AND ma.role = 'action'"
                  " WHERE mt.role = 'trigger' AND coalesce(mt.entity_id, 'device:' || mt.device_id) = l.t"
                  " AND ma.entity_id = l.a)", NULL, NULL, "770");
  CHECK_QUERY(db, "SELECT count(*) FROM back.synergy_automation_members", NULL, NULL, "1540");
  sqlite3_close(db);
}


/* Rows as a user reads them (docs/synergy.md, "Rows"): a multisensor's two entities and a
** group helper with its members are one row per device pair, the rest its alternatives;
** a group never drives its own member; a device whose area is NULL gets the area in its
** name, said in the explanation; names lose a repeated word; the yaml column; the
** recorder's history; an attached schema; a database without the newer tables and rows. */
static const char rows_home[] =
  "{\"areas\":[{\"area_id\":\"hall\",\"name\":\"Hall\"},{\"area_id\":\"kitchen\",\"name\":\"Kitchen\"}],"
  "\"devices\":[{\"device_id\":\"d1\",\"name\":\"Hall sensor\",\"area_id\":\"hall\"},"
  "{\"device_id\":\"d2\",\"name\":\"Hall ceiling\",\"area_id\":\"hall\"},"
  "{\"device_id\":\"d3\",\"name\":\"Kitchen spots\",\"area_id\":null},"
  "{\"device_id\":\"d4\",\"name\":\"Kitchen remote\",\"area_id\":\"kitchen\"}],"
  "\"entities\":["
  "{\"entity_id\":\"binary_sensor.hall_motion\",\"domain\":\"binary_sensor\",\"name\":\"Hall motion\","
  " \"area_id\":\"hall\",\"device_class\":\"motion\",\"device_id\":\"d1\"},"
  "{\"entity_id\":\"binary_sensor.hall_occupancy\",\"domain\":\"binary_sensor\",\"name\":\"Hall occupancy\","
  " \"area_id\":\"hall\",\"device_class\":\"occupancy\",\"device_id\":\"d1\"},"
  "{\"entity_id\":\"light.hall_ceiling\",\"domain\":\"light\",\"name\":\"Hall ceiling Light Light\","
  " \"area_id\":\"hall\",\"device_id\":\"d2\"},"
  "{\"entity_id\":\"light.kitchen_spots\",\"domain\":\"light\",\"name\":\"Kitchen spots\",\"area_id\":null,"
  " \"device_id\":\"d3\"},"
  "{\"entity_id\":\"sensor.kitchen_remote_battery\",\"domain\":\"sensor\",\"name\":\"Kitchen remote battery\","
  " \"area_id\":\"kitchen\",\"device_class\":\"battery\",\"device_id\":\"d4\"},"
  "{\"entity_id\":\"light.all_lights\",\"domain\":\"light\",\"name\":\"All lights\",\"area_id\":null}]}";

#define ROWS_SQL(where) \
  "SELECT group_concat(trigger_entity || '>' || action_entity || ' ' || printf('%.6f', score), '; ') FROM synergy_links" where

static void test_rows(void) {
  sqlite3 *db = open_home(rows_home);
  t_exec(db, "INSERT INTO synergy_groups VALUES ('light.all_lights', 'light.hall_ceiling'),"
             " ('light.all_lights', 'light.kitchen_spots')");
  /* The remote -> spots: rule 1.0, Kitchen read from "Kitchen spots", names share
  ** "kitchen" of 2 + 2 words, Dice 0.5: (0.40 + 0.30 + 0.075) / 0.85 = 0.911765.
  ** motion -> ceiling: rule 0.8, same area, Dice 0.5: 0.695 / 0.85 = 0.817647. */
  CHECK_QUERY(db, ROWS_SQL(""), NULL, NULL,
              "device:d4>light.kitchen_spots 0.911765; binary_sensor.hall_motion>light.hall_ceiling 0.817647");
  CHECK_QUERY(db, "SELECT alternatives FROM synergy_links WHERE trigger_entity = 'binary_sensor.hall_motion'", NULL, NULL,
              "[{\"trigger_entity\":\"binary_sensor.hall_occupancy\",\"action_entity\":\"light.hall_ceiling\",\"score\":0.8176},"
              "{\"trigger_entity\":\"binary_sensor.hall_motion\",\"action_entity\":\"light.all_lights\",\"score\":0.4647},"
              "{\"trigger_entity\":\"binary_sensor.hall_occupancy\",\"action_entity\":\"light.all_lights\",\"score\":0.4647},"
              "{\"trigger_entity\":\"binary_sensor.hall_motion\",\"action_entity\":\"light.kitchen_spots\",\"score\":0.3765},"
              "{\"trigger_entity\":\"binary_sensor.hall_occupancy\",\"action_entity\":\"light.kitchen_spots\",\"score\":0.3765}]");
  CHECK_QUERY(db, "SELECT group_concat(statement, ' | ') FROM synergy_links", NULL, NULL,
              "When Kitchen remote is pressed, toggle Kitchen spots. Both are in the Kitchen (read from the names); a"
              " remote usually drives a light; their names share \"kitchen\". | When Hall motion detects motion, turn on"
              " Hall ceiling Light. Both are in the Hall; a motion sensor usually drives a light; their names share"
              " \"hall\".");
  CHECK_QUERY(db, "SELECT yaml FROM synergy_links WHERE trigger_entity = 'binary_sensor.hall_motion'", NULL, NULL,
              "- alias: \"When Hall motion detects motion, turn on Hall ceiling Light\"\n"
              "  triggers:\n"
              "    - trigger: \"state\"\n"
              "      entity_id: \"binary_sensor.hall_motion\"\n"
              "      to: \"on\"\n"
              "  actions:\n"
              "    - action: \"light.turn_on\"\n"
              "      target:\n"
              "        entity_id: \"light.hall_ceiling\"\n"
              "  mode: \"single\"\n");
  CHECK_QUERY(db, "SELECT yaml FROM synergy_links LIMIT 1", NULL, NULL,
              "- alias: \"When Kitchen remote is pressed, toggle Kitchen spots\"\n"
              "  triggers:\n"
              "    - trigger: \"device\"\n"
              "      device_id: \"d4\"\n"
              "      # domain, type, subtype: the button, as HA's automation editor lists them for this device\n"
              "  actions:\n"
              "    - action: \"light.toggle\"\n"
              "      target:\n"
              "        entity_id: \"light.kitchen_spots\"\n"
              "  mode: \"single\"\n");
  /* A name that needs quoting stays one valid scalar. */
  t_exec(db, "UPDATE synergy_entities SET name = 'Hall \"big\" \\ ceiling: #1' WHERE entity_id = 'light.hall_ceiling'");
  CHECK_QUERY(db, "SELECT substr(yaml, 1, instr(yaml, char(10))) FROM synergy_links WHERE trigger_entity LIKE 'binary%'",
              NULL, NULL, "- alias: \"When Hall motion detects motion, turn on Hall \\\"big\\\" \\\\ ceiling: #1\"\n");
  t_exec(db, "UPDATE synergy_entities SET name = 'Hall ceiling' WHERE entity_id = 'light.hall_ceiling'");
  /* History: 1 - 1/4 = 0.75 (support 20 >= 10); w_history 0.20 joins the weights (1.05):
  ** (0.695 + 0.20 x 0.75) / 1.05 = 0.804762; other pairs have 0. Without rows: NULL. */
  CHECK_QUERY(db, "SELECT count(history) FROM synergy_links", NULL, NULL, "0");
  t_exec(db, "INSERT INTO synergy_history VALUES ('binary_sensor.hall_motion', 'light.hall_ceiling', 4.0, 20)");
  CHECK_QUERY(db, "SELECT group_concat(printf('%.6f %.2f ', score, history) || signals, '; ') FROM synergy_links", NULL, NULL,
              "0.804762 0.75 capability+area+name+history; 0.738095 0.00 capability+area+name+history");
  CHECK_QUERY(db, "SELECT statement FROM synergy_links LIMIT 1", NULL, NULL,
              "When Hall motion detects motion, turn on Hall ceiling. Both are in the Hall; a motion sensor usually drives a"
              " light; their names share \"hall\"; the recorder saw them change together.");
  /* An automation on the group covers its members. */
  t_exec(db, "INSERT INTO synergy_automations VALUES (1, 'g');"
             "INSERT INTO synergy_automation_members VALUES (1, 'trigger', 'binary_sensor.hall_motion', NULL),"
             " (1, 'action', 'light.all_lights', NULL)");
  CHECK_QUERY(db, "SELECT group_concat(automated, ' ') FROM synergy_links", NULL, NULL, "1 0");
  /* The tables in an attached schema the user names. */
  t_exec(db, "ATTACH ':memory:' AS home");
  t_exec(db, "CREATE TABLE home.synergy_entities AS SELECT * FROM main.synergy_entities;"
             "CREATE TABLE home.synergy_devices AS SELECT * FROM main.synergy_devices;"
             "CREATE TABLE home.synergy_areas AS SELECT * FROM main.synergy_areas;"
             "CREATE TABLE home.synergy_capabilities AS SELECT * FROM main.synergy_capabilities;"
             "CREATE TABLE home.synergy_config AS SELECT * FROM main.synergy_config;"
             "CREATE TABLE home.synergy_automations AS SELECT * FROM main.synergy_automations WHERE 0;"
             "CREATE TABLE home.synergy_automation_members AS SELECT * FROM main.synergy_automation_members WHERE 0;"
             "CREATE TABLE home.synergy_descriptors AS SELECT * FROM main.synergy_descriptors;"
             "CREATE TABLE home.synergy_hop_scores AS SELECT * FROM main.synergy_hop_scores");
  t_exec(db, "DELETE FROM main.synergy_entities");
  /* No synergy_groups, no synergy_history, no per_trigger row there (an older version's
  ** database): no group, NULL history, the default cap. */
  t_exec(db, "DELETE FROM home.synergy_config WHERE key = 'per_trigger'");
  CHECK_QUERY(db, ROWS_SQL(" WHERE schema = 'home'"), NULL, NULL,
              "device:d4>light.kitchen_spots 0.911765; binary_sensor.hall_motion>light.hall_ceiling 0.817647; "
              "device:d4>light.all_lights 0.558824; device:d4>light.hall_ceiling 0.470588; "
              "binary_sensor.hall_motion>light.all_lights 0.464706; binary_sensor.hall_motion>light.kitchen_spots 0.376471; "
              "light.all_lights>light.hall_ceiling 0.323529; light.all_lights>light.kitchen_spots 0.323529; "
              "light.hall_ceiling>light.all_lights 0.323529; light.kitchen_spots>light.all_lights 0.323529; "
              "light.hall_ceiling>light.kitchen_spots 0.235294; light.kitchen_spots>light.hall_ceiling 0.235294");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_links WHERE schema = 'home' AND history IS NOT NULL", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_paths WHERE schema = 'home' AND max_depth = 2", NULL, NULL, "12");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_links", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_links WHERE schema = 'nope'", NULL, NULL,
              "ERROR: synergy_links: schema must name an attached database, got 'nope'");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_paths WHERE schema = 'temp'", NULL, NULL,
              "ERROR: synergy_paths: no synergy tables in 'temp' (create them with semlite_ha_import)");
  sqlite3_close(db);
}

const sl_test synergy_tests[] = {
  {"import", test_import},
  {"import_errors", test_import_errors},
  {"ha_storage", test_ha_storage},
  {"links_exact", test_links_exact},
  {"paths_exact", test_paths_exact},
  {"rows", test_rows},
  {"cycles", test_cycles},
  {"empty", test_empty},
  {"depth_limits", test_depth_limits},
  {"min_score", test_min_score},
  {"config_errors", test_config_errors},
  {"determinism", test_determinism},
  {"user_filled", test_user_filled},
  {"large_home", test_large_home},
  {"models", test_models},
  {"resaved_model", test_resaved_model},
  {"hostile_trigger", test_hostile_trigger},
  {"real_home", test_real_home},
  {NULL, NULL},
};
