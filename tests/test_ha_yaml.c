/*
** test_ha_yaml.c: semlite_ha_import over Home Assistant's own YAML (automations.yaml,
** scripts.yaml, scenes.yaml, groups, includes) through SQL, as a user runs it: which
** members each automation gets, what `automated` then says, and the exact message of
** every refusal of hostile YAML (nothing imported after one).
*/
#include <stdlib.h>
#include <string.h>

#include "test.h"

/* A small home: a hall with a motion sensor and two lights, a kitchen with a light, a fan
** switch and a temperature sensor, a living room light, a TV. */
static const char *const home_json =
  "{\"areas\":[{\"area_id\":\"hall\",\"name\":\"Hall\"},{\"area_id\":\"kitchen\",\"name\":\"Kitchen\"}],"
  "\"devices\":[{\"device_id\":\"d_motion\",\"name\":\"Hall motion\",\"area_id\":\"hall\"},"
  "{\"device_id\":\"d_button\",\"name\":\"Kitchen button\",\"area_id\":\"kitchen\"}],"
  "\"entities\":["
  "{\"entity_id\":\"binary_sensor.hall_motion\",\"domain\":\"binary_sensor\",\"name\":\"Hall motion\","
  "\"area_id\":\"hall\",\"device_id\":\"d_motion\",\"device_class\":\"motion\"},"
  "{\"entity_id\":\"light.hall\",\"domain\":\"light\",\"name\":\"Hall light\",\"area_id\":\"hall\"},"
  "{\"entity_id\":\"light.hall_lamp\",\"domain\":\"light\",\"name\":\"Hall lamp\",\"area_id\":\"hall\"},"
  "{\"entity_id\":\"light.kitchen\",\"domain\":\"light\",\"name\":\"Kitchen light\",\"area_id\":\"kitchen\"},"
  "{\"entity_id\":\"switch.kitchen_fan\",\"domain\":\"switch\",\"name\":\"Kitchen fan\",\"area_id\":\"kitchen\"},"
  "{\"entity_id\":\"sensor.kitchen_temperature\",\"domain\":\"sensor\",\"name\":\"Kitchen temperature\","
  "\"area_id\":\"kitchen\",\"device_class\":\"temperature\"},"
  "{\"entity_id\":\"light.living\",\"domain\":\"light\",\"name\":\"Living light\"},"
  "{\"entity_id\":\"media_player.tv\",\"domain\":\"media_player\",\"name\":\"TV\"}]}";

/* automations.yaml as the UI editor writes it, in both spellings: before 2024.10
** (trigger/platform, action/service) and after (triggers/trigger, actions/action). */
static const char *const automations_yaml =
  "- id: '1700000000001'\n"
  "  alias: Hall light on motion\n"
  "  description: ''\n"
  "  trigger:\n"
  "  - platform: state\n"
  "    entity_id: binary_sensor.hall_motion\n"
  "    to: 'on'\n"
  "  condition:\n"
  "  - condition: state\n"
  "    entity_id: sun.sun\n"
  "    state: below_horizon\n"
  "  action:\n"
  "  - service: light.turn_on\n"
  "    target:\n"
  "      entity_id: light.hall, light.hall_lamp\n"
  "    data:\n"
  "      brightness_pct: 80\n"
  "  mode: single\n"
  "- id: '1700000000002'\n"
  "  alias: Kitchen button\n"
  "  description: ''\n"
  "  triggers:\n"
  "  - trigger: device\n"
  "    device_id: d_button\n"
  "    domain: zha\n"
  "    type: remote_button_short_press\n"
  "    subtype: turn_on\n"
  "  - trigger: event\n"
  "    event_type: zha_event\n"
  "    event_data:\n"
  "      device_ieee: 00:15:8d:00:02:b5:5e:2a\n"
  "      command: single\n"
  "  conditions: []\n"
  "  actions:\n"
  "  - choose:\n"
  "    - conditions:\n"
  "      - condition: template\n"
  "        value_template: \"{{ is_state('input_boolean.guest', 'on') }}\"\n"
  "      sequence:\n"
  "      - action: script.evening\n"
  "    default:\n"
  "    - action: light.toggle\n"
  "      target:\n"
  "        area_id: kitchen\n"
  "  - if:\n"
  "    - condition: state\n"
  "      entity_id: media_player.tv\n"
  "      state: playing\n"
  "    then:\n"
  "    - action: scene.turn_on\n"
  "      target: {entity_id: scene.movie}\n"
  "    else:\n"
  "    - service: script.turn_on\n"
  "      entity_id: script.night\n"
  "  mode: single\n"
  "- id: '1700000000003'\n"
  "  alias: Fan when hot\n"
  "  trigger:\n"
  "    platform: numeric_state\n"
  "    entity_id:\n"
  "    - sensor.kitchen_temperature\n"
  "    above: 26\n"
  "  action:\n"
  "    - repeat:\n"
  "        count: 2\n"
  "        sequence:\n"
  "        - parallel:\n"
  "          - service: switch.turn_on\n"
  "            data:\n"
  "              entity_id: switch.kitchen_fan\n"
  "          - service: homeassistant.turn_off\n"
  "            target:\n"
  "              device_id: [d_motion]\n"
  "- id: '1700000000004'\n"
  "  alias: Morning\n"
  "  triggers:\n"
  "  - trigger: time\n"
  "    at: input_datetime.wake_up\n"
  "  - trigger: sun\n"
  "    event: sunrise\n"
  "  - trigger: template\n"
  "    value_template: \"{{ states('sensor.kitchen_temperature') | float > 30 or states.light.hall.state == 'on' }}\"\n"
  "  actions:\n"
  "  - action: light.turn_on\n"
  "    target:\n"
  "      entity_id: \"{{ 'light.living' if is_state('sun.sun', 'below_horizon') else 'light.kitchen' }}\"\n"
  "  - delay: 00:05:00\n"
  "  - action: light.turn_off\n"
  "    target:\n"
  "      entity_id: all\n";

static const char *const scripts_yaml =
  "evening:\n"
  "  alias: Evening\n"
  "  sequence:\n"
  "  - service: light.turn_on\n"
  "    target: {entity_id: [light.living]}\n"
  "  - service: script.night\n"
  "night:\n"
  "  alias: Night\n"
  "  mode: single\n"
  "  sequence:\n"
  "  - service: media_player.turn_off\n"
  "    entity_id: media_player.tv\n"
  "  - service: script.evening\n";

static const char *const scenes_yaml =
  "- id: '1699999999999'\n"
  "  name: Movie\n"
  "  entities:\n"
  "    light.living:\n"
  "      state: 'off'\n"
  "    media_player.tv:\n"
  "      state: 'on'\n";

/* Every member as "automation alias|role|id", one per line, in a fixed order. */
#define MEMBERS_SQL                                                                                  \
  "SELECT group_concat(line, char(10)) FROM (SELECT coalesce(a.alias, '-') || '|' || m.role || '|' || " \
  "coalesce(m.entity_id, 'device ' || m.device_id) AS line FROM synergy_automations a "               \
  "JOIN synergy_automation_members m USING (automation_id) ORDER BY a.automation_id, m.rowid)"

static sqlite3 *open_home(void) {
  sqlite3 *db = t_open();
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1)", home_json, NULL,
              "{\"areas\":2,\"devices\":2,\"entities\":8,\"automations\":0}");
  t_exec(db, "UPDATE synergy_config SET value = 0 WHERE key IN ('use_embedding', 'use_rerank')");
  return db;
}

/* The three files in one call: every trigger kind, target form and branch, with the
** scripts and the scene each automation runs replaced by what they target. */
static void test_automations(void) {
  sqlite3 *db = open_home();
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1, ?2, '- id: \"1699999999999\"\n  name: Movie\n  entities:\n"
                  "    light.living: {state: \"off\"}\n    media_player.tv: {state: \"on\"}\n')",
              automations_yaml, scripts_yaml, "{\"areas\":2,\"devices\":2,\"entities\":8,\"automations\":4}");
  CHECK_QUERY(db, MEMBERS_SQL, NULL, NULL,
              "Hall light on motion|trigger|binary_sensor.hall_motion\n"
              "Hall light on motion|action|light.hall\n"
              "Hall light on motion|action|light.hall_lamp\n"
              "Kitchen button|trigger|device d_button\n"
              "Kitchen button|trigger|device 00:15:8d:00:02:b5:5e:2a\n"
              "Kitchen button|action|script.evening\n"
              "Kitchen button|action|light.living\n"
              "Kitchen button|action|script.night\n"
              "Kitchen button|action|media_player.tv\n"
              "Kitchen button|action|light.kitchen\n"
              "Kitchen button|action|scene.movie\n"
              "Fan when hot|trigger|sensor.kitchen_temperature\n"
              "Fan when hot|action|switch.kitchen_fan\n"
              "Fan when hot|action|device d_motion\n"
              "Morning|trigger|input_datetime.wake_up\n"
              "Morning|trigger|sun.sun\n"
              "Morning|trigger|sensor.kitchen_temperature\n"
              "Morning|trigger|light.hall\n"
              "Morning|action|light.living\n"
              "Morning|action|light.kitchen");
  /* What the ranking reads: the motion sensor -> hall light pair is already automated. */
  CHECK_QUERY(db, "SELECT automated FROM synergy_links WHERE trigger_entity = 'binary_sensor.hall_motion' "
                  "AND action_entity = 'light.hall'", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT automated FROM synergy_links WHERE trigger_entity = 'sensor.kitchen_temperature' "
                  "AND action_entity = 'switch.kitchen_fan'", NULL, NULL, "1");
  sqlite3_close(db);
}

/* scripts.yaml in another call: a script's entity is a target, its targets are not known. */
static void test_scripts_apart(void) {
  sqlite3 *db = open_home();
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1)",
              "- alias: Evening button\n  trigger: {platform: state, entity_id: binary_sensor.hall_motion}\n"
              "  action:\n  - service: script.evening\n  - scene: scene.movie\n",
              NULL, "{\"areas\":2,\"devices\":2,\"entities\":8,\"automations\":1}");
  CHECK_QUERY(db, MEMBERS_SQL, NULL, NULL,
              "Evening button|trigger|binary_sensor.hall_motion\n"
              "Evening button|action|script.evening\n"
              "Evening button|action|scene.movie");
  /* scripts.yaml and scenes.yaml alone replace no automation; the same call with them
  ** expands. */
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1, ?2)", scripts_yaml, scenes_yaml,
              "{\"areas\":2,\"devices\":2,\"entities\":8,\"automations\":1}");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_automation_members", NULL, NULL, "3");
  sqlite3_close(db);
}

/* Includes and secrets cannot be read inside SQL: tagged nodes are skipped, and the
** included files come as further documents whose automations add up. */
static void test_includes(void) {
  sqlite3 *db = open_home();
  const char *config =
    "homeassistant:\n  name: Home\n  latitude: !secret latitude\n"
    "automation: !include automations.yaml\n"
    "automation manual:\n"
    "  - alias: Manual\n"
    "    trigger: {platform: state, entity_id: binary_sensor.hall_motion}\n"
    "    action: {service: light.turn_on, entity_id: !secret hall_light}\n"
    "  - !include more.yaml\n"
    "script: !include_dir_named scripts\n"
    "group:\n  hall:\n    name: Hall\n    entities: light.hall, light.hall_lamp\n";
  const char *dir_file =
    "# automations/kitchen.yaml, one file of !include_dir_merge_list automations/\n"
    "- alias: From a folder\n"
    "  trigger: !include_dir_merge_list triggers/\n"
    "  action:\n"
    "  - service: light.turn_on\n"
    "    target: {entity_id: light.kitchen}\n";
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1, ?2)", config, dir_file,
              "{\"areas\":2,\"devices\":2,\"entities\":8,\"automations\":2}");
  CHECK_QUERY(db, MEMBERS_SQL, NULL, NULL,
              "Manual|trigger|binary_sensor.hall_motion\n"
              "From a folder|action|light.kitchen");
  CHECK_QUERY(db, "SELECT group_concat(group_entity_id || '>' || member_entity_id, ' ') FROM synergy_groups",
              NULL, NULL, "group.hall>light.hall group.hall>light.hall_lamp");
  /* One automation alone (an !include_dir_list file). */
  CHECK_QUERY(db, "SELECT semlite_ha_import('alias: Alone\ntriggers: [{trigger: state, entity_id: light.hall}]\n"
                  "actions: [{action: light.turn_on, target: {entity_id: light.living}}]\n')",
              NULL, NULL, "{\"areas\":2,\"devices\":2,\"entities\":8,\"automations\":1}");
  CHECK_QUERY(db, MEMBERS_SQL, NULL, NULL, "Alone|trigger|light.hall\nAlone|action|light.living");
  sqlite3_close(db);
}

/* Anchors, aliases and merge keys, as users write shared parts of automations. */
static void test_anchors(void) {
  sqlite3 *db = open_home();
  const char *doc =
    "- alias: Hall\n"
    "  trigger: &hall_motion\n"
    "  - platform: state\n"
    "    entity_id: binary_sensor.hall_motion\n"
    "  action:\n"
    "  - &light_on\n"
    "    service: light.turn_on\n"
    "    target: {area_id: hall}\n"
    "- &defaults\n"
    "  alias: Kitchen\n"
    "  mode: restart\n"
    "  trigger: *hall_motion\n"
    "  action:\n"
    "  - <<: *light_on\n"
    "    target: {area_id: kitchen}\n"
    "- <<: [*defaults, {alias: ignored, description: merged}]\n"
    "  alias: Third\n";
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1)", doc, NULL, "{\"areas\":2,\"devices\":2,\"entities\":8,\"automations\":3}");
  /* The area targets of light.turn_on: the area's lights only. */
  CHECK_QUERY(db, MEMBERS_SQL, NULL, NULL,
              "Hall|trigger|binary_sensor.hall_motion\n"
              "Hall|action|light.hall\n"
              "Hall|action|light.hall_lamp\n"
              "Kitchen|trigger|binary_sensor.hall_motion\n"
              "Kitchen|action|light.kitchen\n"
              "Third|trigger|binary_sensor.hall_motion\n"
              "Third|action|light.kitchen");
  CHECK_QUERY(db, "SELECT semlite_ha_import('a: {<<: 3}')", NULL, NULL,
              "ERROR: semlite_ha_import: YAML line 1: a merge key '<<' whose value is not a mapping or a list of "
              "mappings");
  CHECK_QUERY(db, "SELECT semlite_ha_import('a: {<<: [x]}')", NULL, NULL,
              "ERROR: semlite_ha_import: YAML line 1: a merge key '<<' whose list holds something other than mappings");
  sqlite3_close(db);
}

/* Empty files as HA writes them import nothing and keep what is there. */
static void test_empty_files(void) {
  sqlite3 *db = open_home();
  static const char *const empty[] = {"", "[]", "{}", "# nothing yet\n", "---\n", "[ ]\n", "\xEF\xBB\xBF[]"};
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1)", automations_yaml, NULL,
              "{\"areas\":2,\"devices\":2,\"entities\":8,\"automations\":4}");
  for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++)
    CHECK_QUERY(db, "SELECT semlite_ha_import(?1)", empty[i], NULL,
                "{\"areas\":2,\"devices\":2,\"entities\":8,\"automations\":4}");
  sqlite3_close(db);
}

/* Every refusal names the function and the problem, and leaves the tables as they were. */
static void test_errors(void) {
  sqlite3 *db = open_home();
  static const struct { const char *doc, *msg; } cases[] = {
    {"- alias: x\n  trigger: [{platform: state, entity_id: {a: 1}}]\n  action: []\n",
     "semlite_ha_import: automations.yaml[0].trigger[0].entity_id is a mapping, not an id or a list of them"},
    {"- alias: x\n  trigger: []\n  action:\n  - service: light.turn_on\n    target:\n      entity_id: [light.a, [b]]\n",
     "semlite_ha_import: automations.yaml[0].action[0].target.entity_id[1] is not a string"},
    {"- alias: x\n  trigger: []\n  action: [7]\n", "semlite_ha_import: automations.yaml[0].action[0] is not a mapping"},
    {"- just a string\n", "semlite_ha_import: automations.yaml[0] is not a mapping"},
    {"- alias: nothing\n", "semlite_ha_import: automations.yaml[0] is neither an automation (no triggers, no "
                           "actions) nor a scene (no entities)"},
    {"morning:\n  alias: no sequence\n",
     "semlite_ha_import: scripts.yaml.morning is neither a script (no sequence) nor a group (no entities)"},
    {"sequence: []\n", "semlite_ha_import: a script without its id (pass scripts.yaml, or the script under its id: "
                       "`id: {sequence: ...}`)"},
    {"http:\n  server_port: 8123\nlogger: {default: info}\n",
     "semlite_ha_import: a mapping that holds no scripts (id: {alias, sequence}), no groups (id: {entities}) and no "
     "automation, script, scene or group key: not a file this import reads"},
    {"just text\n", "semlite_ha_import: the document is a single value, not HA's YAML (a list of automations or "
                    "scenes, a mapping of scripts)"},
    {"- name: x\n  entities: [light.a]\n", "semlite_ha_import: automations.yaml[0].entities is not a mapping"},
    {"- alias: a\n  trigger: []\n  action: []\n- alias: b\n  trigger: x\n  action: []\n",
     "semlite_ha_import: automations.yaml[1].trigger is not a list or a mapping"},
    /* YAML itself */
    {"- alias: x\n  alias: y\n", "semlite_ha_import: YAML line 1: duplicate key 'alias' in the mapping that starts here"},
    {"- a: b\n c: d\n", "semlite_ha_import: invalid YAML at line 2, column 2: did not find expected '-' indicator "
                        "(while parsing a block collection at line 1)"},
    {"- [a\n", "semlite_ha_import: invalid YAML at line 2, column 1: did not find expected ',' or ']' (while "
               "parsing a flow sequence at line 1)"},
    {"- alias: \"caf\xC3\"\n", "semlite_ha_import: invalid YAML at byte 14: invalid trailing UTF-8 octet"},
    {"- a\n---\n- b\n", "semlite_ha_import: YAML line 2: a second YAML document: pass each file as its own argument"},
    {"- *nothing\n", "semlite_ha_import: YAML line 1: alias *nothing names no complete anchor"},
    {"- &a [*a]\n", "semlite_ha_import: YAML line 1: alias *a names no complete anchor"},
    {"? [a]\n: b\n", "semlite_ha_import: YAML line 1: a mapping key that is a sequence or a mapping (not supported)"},
    {"[1, 2]", "semlite_ha_import: the document is not a JSON object"},
  };
  const char *counts = "{\"areas\":2,\"devices\":2,\"entities\":8,\"automations\":4}";
  char expect[512];
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1)", automations_yaml, NULL, counts);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf(expect, sizeof expect, "ERROR: %s", cases[i].msg);
    CHECK_QUERY(db, "SELECT semlite_ha_import(?1)", cases[i].doc, NULL, expect);
  }
  /* With several documents, the argument is named. */
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1, ?2)", automations_yaml, "- 3\n",
              "ERROR: semlite_ha_import: argument 2: automations.yaml[0] is not a mapping");
  CHECK_QUERY(db, "SELECT semlite_ha_import('[]')", NULL, NULL, counts);
  sqlite3_close(db);
}

/* Hostile YAML: bounded work and memory, a clear refusal. */
static void test_hostile(void) {
  sqlite3 *db = open_home();
  char *doc = malloc(300000), *p;
  /* A "billion laughs": 9 levels of 9 aliases each would be 9^9 nodes. */
  strcpy(doc, "a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
  for (int i = 1; i < 9; i++) {
    p = doc + strlen(doc);
    sprintf(p, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i - 1, i - 1, i - 1,
            i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
  }
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1)", doc, NULL,
              "ERROR: semlite_ha_import: YAML line 6: more than 250000 nodes with aliases expanded (an alias bomb, "
              "or far more than a home's configuration)");
  /* 65 levels of nesting, block and flow. */
  doc[0] = 0;
  for (int i = 0; i < 65; i++) strcat(doc, "[");
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1)", doc, NULL,
              "ERROR: semlite_ha_import: YAML line 1: nested deeper than 64 levels");
  doc[0] = 0;
  for (int i = 0; i < 65; i++) {
    p = doc + strlen(doc);
    sprintf(p, "%*sk:\n", 2 * i, "");
  }
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1)", doc, NULL,
              "ERROR: semlite_ha_import: YAML line 65: nested deeper than 64 levels");
  /* Aliases that nest: each anchor one level deeper than the last, 70 of them. */
  strcpy(doc, "- &a0 [x]\n");
  for (int i = 1; i < 70; i++) {
    p = doc + strlen(doc);
    sprintf(p, "- &a%d [*a%d]\n", i, i - 1);
  }
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1)", doc, NULL,
              "ERROR: semlite_ha_import: YAML line 64: nested deeper than 64 levels (aliases expanded)");
  /* A scalar over 256 KB. */
  strcpy(doc, "- alias: ");
  memset(doc + 9, 'x', 270000);
  doc[270009] = 0;
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1)", doc, NULL,
              "ERROR: semlite_ha_import: YAML line 1: a scalar of 270000 bytes, over the 262144-byte limit");
  /* One automation that targets too much. */
  strcpy(doc, "- alias: big\n  trigger: []\n  action:\n  - service: light.turn_on\n    entity_id: ");
  for (int i = 0; i < 1001; i++) {
    p = doc + strlen(doc);
    sprintf(p, "%slight.l%d", i ? "," : "", i);
  }
  strcat(doc, "\n");
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1)", doc, NULL,
              "ERROR: semlite_ha_import: automations.yaml[0].action[0].entity_id: has more than 1000 entities, "
              "devices and areas");
  /* The document limit holds for YAML as for JSON. */
  t_exec(db, "UPDATE semlite_limits SET value = 1 WHERE name = 'max_document_mb'");
  CHECK_QUERY(db, "SELECT semlite_ha_import('- ' || printf('%.*c', 1100000, 'x'))", NULL, NULL,
              "ERROR: semlite_ha_import: the document is 1100002 bytes, over the max_document_mb limit of 1 MB");
  t_exec(db, "UPDATE semlite_limits SET value = 64 WHERE name = 'max_document_mb'");
  CHECK_QUERY(db, "SELECT count(*) FROM synergy_automations", NULL, NULL, "0");
  free(doc);
  sqlite3_close(db);
}

/* Group helpers: the home format's groups, HA's core.config_entries (UI helpers), groups.yaml. */
static void test_groups(void) {
  sqlite3 *db = t_open();
  const char *home =
    "{\"areas\":[],\"devices\":[],\"entities\":[],\"groups\":{"
    "\"light.lamp_posts\":{\"name\":\"Lamp Post\",\"members\":[\"light.lamp_post_1\",\"light.lamp_post_2\"],"
    "\"file\":\".storage/core.config_entries\"},\"group.doors\":{\"name\":null,\"members\":[\"binary_sensor.door\"]}}}";
  const char *entries =
    "{\"version\":1,\"minor_version\":5,\"key\":\"core.config_entries\",\"data\":{\"entries\":["
    "{\"entry_id\":\"01J1\",\"version\":1,\"domain\":\"group\",\"title\":\"Living Room Sconces\",\"data\":{},"
    "\"options\":{\"group_type\":\"light\",\"name\":\"Living Room Sconces\",\"entities\":["
    "\"light.living_room_rgb_bulb_1\",\"light.living_room_rgb_bulb_2\"],\"hide_members\":false,\"all\":false},"
    "\"source\":\"user\"},"
    "{\"entry_id\":\"01J2\",\"domain\":\"hue\",\"title\":\"Hue Bridge\",\"data\":{\"host\":\"10.0.0.2\"},\"options\":{}},"
    "{\"entry_id\":\"01J3\",\"domain\":\"group\",\"title\":\"Caf\u00e9 switches!\",\"options\":{"
    "\"group_type\":\"switch\",\"entities\":[\"switch.a\"]}}]}}";
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1)", home, NULL, "{\"areas\":0,\"devices\":0,\"entities\":0,\"automations\":0}");
  CHECK_QUERY(db, "SELECT group_concat(group_entity_id || '>' || member_entity_id, ' ') FROM synergy_groups", NULL, NULL,
              "group.doors>binary_sensor.door light.lamp_posts>light.lamp_post_1 light.lamp_posts>light.lamp_post_2");
  /* core.config_entries replaces the groups; a helper's entity id is its type and its
  ** name's slug, as HA names it. */
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1)", entries, NULL,
              "{\"areas\":0,\"devices\":0,\"entities\":0,\"automations\":0}");
  CHECK_QUERY(db, "SELECT group_concat(group_entity_id || '>' || member_entity_id, ' ') FROM synergy_groups", NULL, NULL,
              "light.living_room_sconces>light.living_room_rgb_bulb_1 light.living_room_sconces>light.living_room_rgb_bulb_2 "
              "switch.cafe_switches>switch.a");
  /* With groups.yaml in the same call, both are kept (a pair twice is written once). */
  CHECK_QUERY(db, "SELECT semlite_ha_import(?1, 'kitchen:\n  entities: [light.a, light.a]\n')", entries, NULL,
              "{\"areas\":0,\"devices\":0,\"entities\":0,\"automations\":0}");
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM synergy_groups"), 4);
  CHECK_QUERY(db, "SELECT semlite_ha_import('{\"areas\":[],\"devices\":[],\"entities\":[],\"groups\":[1]}')", NULL, NULL,
              "ERROR: semlite_ha_import: the home.groups is not an object");
  CHECK_QUERY(db, "SELECT semlite_ha_import('{\"areas\":[],\"devices\":[],\"entities\":[],\"groups\":{\"g\":{}}}')",
              NULL, NULL, "ERROR: semlite_ha_import: groups.g.members is missing");
  CHECK_QUERY(db, "SELECT semlite_ha_import('{\"key\":\"core.config_entries\",\"data\":{}}')", NULL, NULL,
              "ERROR: semlite_ha_import: core.config_entries data.entries is missing");
  CHECK_QUERY(db, "SELECT semlite_ha_import('{\"key\":\"core.config_entries\",\"data\":{\"entries\":["
                  "{\"domain\":\"group\",\"options\":{\"entities\":[]}}]}}')", NULL, NULL,
              "ERROR: semlite_ha_import: core.config_entries data.entries[0] is a group helper without "
              "options.group_type or a name");
  CHECK_INT(t_query_int(db, "SELECT count(*) FROM synergy_groups"), 4);
  sqlite3_close(db);
}

const sl_test ha_yaml_tests[] = {
  {"groups", test_groups},
  {"automations", test_automations},
  {"scripts_apart", test_scripts_apart},
  {"includes", test_includes},
  {"anchors", test_anchors},
  {"empty_files", test_empty_files},
  {"errors", test_errors},
  {"hostile", test_hostile},
  {NULL, NULL},
};
