/*
** ha_yaml.h: Home Assistant's YAML files (automations.yaml, scripts.yaml, scenes.yaml, a
** package or configuration.yaml) read with libyaml into the tree json.h defines, so one
** reader (ha_config.c) walks YAML and JSON alike. No SQLite.
**
** The YAML is untrusted and bounded: one document at most; nesting to SL_JSON_MAX_DEPTH;
** SL_HA_YAML_MAX_NODES nodes in all, aliases expanded (an alias copies its anchor's
** nodes, so a "billion laughs" stops at the cap); SL_HA_YAML_MAX_SCALAR bytes per scalar;
** UTF-8 checked by libyaml; a duplicate key in a mapping is an error (as in HA).
**
** The tree: a mapping is an SL_JSON_OBJECT, a sequence an SL_JSON_ARRAY, a scalar an
** SL_JSON_STRING (YAML 1.1 types are not resolved: `on`, `20` stay strings) except the
** plain null forms (empty, `~`, `null`), which are SL_JSON_NULL with str NULL. A node with
** a local tag (`!include x.yaml`, `!secret k`, `!input n`, `!include_dir_merge_list d`)
** cannot be resolved here (no file reads): it is SL_JSON_NULL with str the tag ("!include")
** and no children. Merge keys (`<<: *defaults`, `<<: [*a, *b]`) are applied: the merged
** mappings' members the mapping lacks are copied in (counted as nodes), the first source
** winning.
*/
#ifndef SEMLITE_HA_YAML_H
#define SEMLITE_HA_YAML_H

#include <stddef.h>

#include "../base/json.h"

#define SL_HA_YAML_MAX_NODES  250000
#define SL_HA_YAML_MAX_SCALAR (256 * 1024)

typedef struct sl_ha_yaml sl_ha_yaml;

/* Parses text[0..len). *out owns the tree (free with sl_ha_yaml_free, also after an
** error). An empty document (no content, only comments) has a NULL root. Errors name the
** line and column (1-based): "invalid YAML at line 3, column 5: found character that
** cannot start any token". */
int sl_ha_yaml_parse(const char *text, size_t len, sl_ha_yaml **out, sl_err *err);
const sl_json *sl_ha_yaml_root(const sl_ha_yaml *doc);
/* The number of nodes the tree holds (aliases expanded). */
size_t sl_ha_yaml_nodes(const sl_ha_yaml *doc);
void sl_ha_yaml_free(sl_ha_yaml *doc);

#endif
