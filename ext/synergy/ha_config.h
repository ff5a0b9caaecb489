/*
** ha_config.h: Home Assistant's own configuration read into synergy rows (ha_import.h),
** no SQLite: automations.yaml (a list of automations), scripts.yaml (a mapping of script
** ids), scenes.yaml (a list), groups.yaml, a package or configuration.yaml (its
** `automation`, `script`, `scene`, `group` keys), one automation alone (an
** `!include_dir_list` file), and `.storage/core.config_entries` (its group helpers), as
** YAML (ha_yaml.h) or JSON trees. Several documents of one import are read into one
** sl_ha_config, then sl_ha_config_finish replaces every call of a script or scene whose
** definition came with them by what it targets. docs/synergy.md ("Import") has the rules.
*/
#ifndef SEMLITE_HA_CONFIG_H
#define SEMLITE_HA_CONFIG_H

#include "ha_import.h"

typedef struct sl_ha_config {
  sl_ha_doc rows;               /* automations, their members, groups: what is written */
  sl_ha_doc defs;               /* scripts and scenes: "automations" named by their entity id */
} sl_ha_config;

/* Reads one document (root may be NULL: an empty file) into c. SL_ERROR with a message
** naming the element: `automations.yaml[3].triggers[0].entity_id is a mapping, not an
** entity id or a list of them`. */
int sl_ha_config_read(sl_ha_config *c, const sl_json *root, sl_err *err);

/* Adds to each automation the targets of the scripts and scenes it runs (recursively:
** a script that runs a script) when their definitions were read. */
int sl_ha_config_finish(sl_ha_config *c, sl_err *err);
void sl_ha_config_free(sl_ha_config *c);

/* "Living Room" -> "living_room", as HA derives an entity id from a name: ASCII letters
** and digits kept, lower-cased, Latin-1 letters spelled in ASCII ("Café" -> cafe),
** apostrophes dropped, other runs one '_', none at either end. Other scripts' letters
** (HA transliterates them too) become gaps, so such names may not match HA's ids. */
void sl_ha_slug(const char *name, char *out, size_t cap);

#endif
