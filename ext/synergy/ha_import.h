/*
** ha_import.h: a smart home's documents as semlite_ha_import takes them, read into plain
** rows with no SQLite: the home format of ../shared/data/homes (SOURCES.md: areas,
** devices, entities, automations) and Home Assistant's registry files
** (.storage/core.area_registry, core.device_registry, core.entity_registry, recognised
** by their "key"). Every check of the JSON and every message about it is here (ha_import.c);
** HA's own configuration (automations.yaml, scripts.yaml, scenes.yaml, groups,
** core.config_entries' group helpers) is read by ha_config.c into the same rows, and
** YAML is parsed by ha_yaml.c. ext/sql/synergy/sql_synergy_import.c writes the rows into
** the synergy tables.
*/
#ifndef SEMLITE_HA_IMPORT_H
#define SEMLITE_HA_IMPORT_H

#include <stddef.h>

#include "../base/json.h"
#include "ha_yaml.h"
#include "synergy.h"

/* The groups of tables a document replaces. */
enum {
  SL_HA_AREAS = 1,
  SL_HA_DEVICES = 2,
  SL_HA_ENTITIES = 4,
  SL_HA_AUTOMATIONS = 8,        /* synergy_automations and their members */
  SL_HA_GROUPS = 16,            /* synergy_groups */
  SL_HA_HOME = 31               /* the home format: all five */
};

/* Rows, with the columns of sql/synergy.sql. Absent values are NULL. Row i of each array
** came from element i of the document's array of that name ("areas[i]", ...). */
typedef struct sl_ha_area {
  const char *id, *name;
} sl_ha_area;

typedef struct sl_ha_device {
  const char *id, *name, *manufacturer, *model, *area;
  int disabled;
} sl_ha_device;

typedef struct sl_ha_entity {
  const char *id, *domain, *name, *area, *device, *device_class, *unit, *platform, *category;
  int disabled, hidden;
} sl_ha_entity;

/* A member of automation `automation`: an entity of its trigger_entities or
** action_entities, or a device one of its trigger_devices / action_devices names (one
** member per device of that name, in device id order); from HA's YAML, an entity, a
** device, or an area (area_id: every entity of the area when the rows are written, of
** area_domain only when it is set, as `light.turn_on` on an area turns on its lights). */
typedef struct sl_ha_member {
  size_t automation;
  const char *role;             /* "trigger" or "action" */
  const char *entity_id, *device_id, *area_id, *area_domain;
} sl_ha_member;

/* A group helper's member (synergy_groups). */
typedef struct sl_ha_group {
  const char *group, *member;
} sl_ha_group;

/* Automation i's members are members[first .. first + n). */
typedef struct sl_ha_automation {
  const char *alias;
  size_t first, n;
} sl_ha_automation;

typedef struct sl_ha_doc {
  unsigned replaces;            /* SL_HA_* */
  sl_ha_area *areas;
  size_t n_areas;
  sl_ha_device *devices;
  size_t n_devices;
  sl_ha_entity *entities;
  size_t n_entities;
  sl_ha_automation *automations;
  size_t n_automations;
  sl_ha_member *members;
  size_t n_members;
  sl_ha_group *groups;
  size_t n_groups;
  /* private */
  size_t cap[6];
  sl_syn_strings strings;
} sl_ha_doc;

/* The devices already imported (the entity registry completes its entities from them):
** 1 with the device's name and area (either may be NULL), valid until the next call or
** the end of sl_ha_read; 0 when there is no such device. */
typedef int (*sl_ha_device_fn)(void *ctx, const char *device_id, const char **name,
                               const char **area);

/* One document's text, parsed: JSON when its first character (after blanks and a
** byte-order mark) is '{', or when it is '[' and the text is strict JSON; YAML otherwise.
** root is NULL for an empty YAML document (HA's empty scripts.yaml). */
typedef struct sl_ha_text {
  sl_json_doc *json;
  sl_ha_yaml *yaml;
  const sl_json *root;
} sl_ha_text;

/* Parses one document's text, refused before parsing when it is over the max_document_mb
** limit (ext/ops/limits.h). Free out with sl_ha_text_free (also after an error). */
int sl_ha_parse(const char *text, size_t len, sl_ha_text *out, sl_err *err);
void sl_ha_text_free(sl_ha_text *t);

/* Order in which several documents of one import apply: the home format 0, then areas 1,
** devices 2, entities 3 (so entities can be completed from devices), then HA's
** configuration 4 (automations, scripts, scenes, groups: ha_config.h), read together
** into one doc after the entities (an area target names the area's entities). */
enum { SL_HA_RANK_CONFIG = 4 };
int sl_ha_doc_rank(const sl_ha_text *t);

/* Reads and checks one document into doc (free it with sl_ha_doc_free, also after an
** error). Entities of the entity registry are completed as the HA UI shows them (name,
** class, area from the device: docs/synergy.md). SL_ERROR with a message naming the
** element, e.g. `entities[12] has no "domain"`. */
int sl_ha_read(const sl_json *root, sl_ha_device_fn device, void *ctx, sl_ha_doc *doc,
               sl_err *err);
void sl_ha_doc_free(sl_ha_doc *doc);

/* ---- the rows, for the readers of ha_import.c and ha_config.c ---- */

/* Members one automation may have (its script and scene expansions included), and all
** of an import's automations together: real ones have tens. */
#define SL_HA_MAX_AUTOMATION_MEMBERS 1000
#define SL_HA_MAX_MEMBERS 200000

/* A new automation (NULL alias allowed); its members follow with sl_ha_add_member. */
int sl_ha_add_automation(sl_ha_doc *doc, const char *alias, sl_err *err);
/* A member of the last automation, unless it already has the same one (exactly one of
** entity_id, device_id, area_id is set). An error past the SL_HA_MAX_* caps. */
int sl_ha_add_member(sl_ha_doc *doc, const char *role, const char *entity_id, const char *device_id,
                     const char *area_id, const char *area_domain, sl_err *err);
/* dst's automations and members replaced by src's (src keeps none). */
void sl_ha_take_automations(sl_ha_doc *dst, sl_ha_doc *src);
/* A group's member (a pair given twice is written once). */
int sl_ha_add_group(sl_ha_doc *doc, const char *group, const char *member, sl_err *err);
/* A copy of s[0..n) kept as long as doc; NULL when out of memory. */
const char *sl_ha_keep(sl_ha_doc *doc, const char *s, size_t n);

#endif
