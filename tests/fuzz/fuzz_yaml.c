/*
** fuzz_yaml.c: libFuzzer target for Home Assistant's YAML as semlite_ha_import reads it,
** without SQLite: ext/synergy/ha_yaml.c (libyaml's events into a tree, with its bounds)
** and ext/synergy/ha_config.c (automations, scripts, scenes, groups into rows, scripts
** and scenes expanded).
**
** The input is one YAML document. Checks besides the sanitizers: a refusal has a
** message; an accepted tree holds at most SL_HA_YAML_MAX_NODES nodes (counted again
** here), its child counts match its lists, every string is NUL-terminated at its
** length, a mapping's keys are unique, and no node of the tree has children it does
** not count; the rows then read from it respect the member caps, every member is exactly
** one of an entity, a device or an area, and every group row has both ends.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "synergy/ha_config.h"
#include "synergy/ha_yaml.h"

static size_t walk(const sl_json *v, int depth) {
  size_t nodes = 1, n = 0;
  if (depth > SL_JSON_MAX_DEPTH) abort(); /* aliases expanded included */
  if (v->type == SL_JSON_STRING && (!v->str || strlen(v->str) > v->len)) abort();
  if (v->type == SL_JSON_STRING && v->len > SL_HA_YAML_MAX_SCALAR) abort();
  if (v->type != SL_JSON_ARRAY && v->type != SL_JSON_OBJECT && v->child) abort();
  for (const sl_json *c = v->child; c; c = c->next, n++) {
    if (v->type == SL_JSON_OBJECT) {
      if (!c->key || strlen(c->key) > c->key_len) abort();
      for (const sl_json *d = c->next; d; d = d->next)
        if (d->key_len == c->key_len && memcmp(d->key, c->key, c->key_len) == 0) abort();
    }
    nodes += walk(c, depth + 1);
  }
  if (n != v->n) abort();
  return nodes;
}

static void check_rows(const sl_ha_doc *d) {
  if (d->n_members > SL_HA_MAX_MEMBERS) abort();
  for (size_t i = 0; i < d->n_automations; i++) {
    const sl_ha_automation *a = &d->automations[i];
    if (a->n > SL_HA_MAX_AUTOMATION_MEMBERS || a->first + a->n > d->n_members) abort();
  }
  for (size_t k = 0; k < d->n_members; k++) {
    const sl_ha_member *m = &d->members[k];
    if (!!m->entity_id + !!m->device_id + !!m->area_id != 1) abort();
    if (strcmp(m->role, "trigger") != 0 && strcmp(m->role, "action") != 0) abort();
  }
  for (size_t g = 0; g < d->n_groups; g++)
    if (!d->groups[g].group || !d->groups[g].member) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sl_ha_yaml *doc = NULL;
  sl_err err = {0, ""};
  if (sl_ha_yaml_parse((const char *)data, size, &doc, &err) != SL_OK) {
    if (!err.msg[0]) abort();
  } else {
    const sl_json *root = sl_ha_yaml_root(doc);
    sl_ha_config c;
    size_t nodes = root ? walk(root, 0) : 0;
    if (nodes > sl_ha_yaml_nodes(doc) || sl_ha_yaml_nodes(doc) > SL_HA_YAML_MAX_NODES) abort();
    memset(&c, 0, sizeof c);
    err.msg[0] = 0;
    if (sl_ha_config_read(&c, root, &err) == SL_OK && sl_ha_config_finish(&c, &err) == SL_OK) check_rows(&c.rows);
    else if (!err.msg[0]) abort();
    sl_ha_config_free(&c);
  }
  sl_ha_yaml_free(doc);
  return 0;
}
