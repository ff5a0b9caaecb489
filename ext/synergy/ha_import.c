/*
** ha_import.c: a home's JSON documents into rows (ha_import.h), every field checked:
** a missing or mistyped field is an error naming the element (`devices[0].name is not a
** string`), nothing is guessed. Registry entities are completed as the HA UI shows them.
*/
#include "../base/alloc.h"
#include "ha_import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ops/limits.h"

enum { CAP_AREAS, CAP_DEVICES, CAP_ENTITIES, CAP_AUTOMATIONS, CAP_MEMBERS, CAP_GROUPS };

typedef struct reader {
  sl_ha_doc *doc;
  sl_err *err;
  sl_ha_device_fn device;
  void *ctx;
  int fail;                     /* out of memory while keeping a string */
  void *grown;                  /* grow()'s result */
} reader;

static int out_of_memory(reader *r) { return sl_oom(r->err); }

/* ---- reading fields: strings, optional strings, booleans, arrays ---- */

/* A member that must be a string, or (optional) may be missing or null: *out NULL. */
static int get_str(reader *r, const sl_json *obj, const char *key, int optional, const char *where,
                   const char **out) {
  const sl_json *v = sl_json_get(obj, key);
  *out = NULL;
  if ((!v || v->type == SL_JSON_NULL) && optional) return SL_OK;
  if (!v) return sl_fail(r->err, "%s has no \"%s\"", where, key);
  if (v->type != SL_JSON_STRING) return sl_fail(r->err, "%s.%s is not a string", where, key);
  *out = v->str;
  return SL_OK;
}

/* true, or a non-null HA "…_by" reason, counts as set. */
static int get_flag(const sl_json *obj, const char *key) {
  const sl_json *v = sl_json_get(obj, key);
  return v && ((v->type == SL_JSON_BOOL && v->boolean) || v->type == SL_JSON_STRING);
}

/* The array obj.key; NULL when it is missing and optional (no error), or with the error
** set when it is missing or not an array. */
static const sl_json *get_array(reader *r, const sl_json *obj, const char *key, int optional,
                                const char *where) {
  const sl_json *v = sl_json_get(obj, key);
  if (!v && optional) return NULL;
  if (!v || v->type != SL_JSON_ARRAY) {
    sl_fail(r->err, "%s.%s is %s", where, key, v ? "not an array" : "missing");
    return NULL;
  }
  return v;
}

/* Element i of an array of rows must be an object. */
static int need_object(reader *r, const sl_json *v, const char *where) {
  return v->type == SL_JSON_OBJECT ? SL_OK : sl_fail(r->err, "%s is not an object", where);
}

typedef int (*row_fn)(reader *r, const sl_json *v, const char *where);

/* row(r, element, "key[i]") for each element of obj.key, an array of objects; when
** optional, obj.key may be missing. `whole` names obj in messages. */
static int each_object(reader *r, const sl_json *obj, const char *key, int optional, const char *whole,
                       row_fn row) {
  const sl_json *list = get_array(r, obj, key, optional, whole);
  char where[96];
  size_t i = 0;
  if (!list) return optional && !sl_json_get(obj, key) ? SL_OK : SL_ERROR;
  for (const sl_json *e = list->child; e; e = e->next, i++) {
    snprintf(where, sizeof where, "%s[%zu]", key, i);
    if (need_object(r, e, where) || row(r, e, where)) return SL_ERROR;
  }
  return SL_OK;
}

/* ---- rows ---- */

/* Room for one more row in items (n rows, capacity r->doc->cap[which]): 1 with the
** array, grown if it had to be, in r->grown; 0 when out of memory. */
static int grow(reader *r, void *items, size_t n, int which, size_t size) {
  return (r->grown = sl_syn_grow(items, n, &r->doc->cap[which], size)) != NULL;
}

/* A zeroed row appended to r->doc->array (count rows), NULL when out of memory. */
#define ADD_ROW(r, array, count, which)                                                      \
  (grow(r, (r)->doc->array, (r)->doc->count, which, sizeof *(r)->doc->array)                 \
     ? ((r)->doc->array = (r)->grown,                                                        \
        memset(&(r)->doc->array[(r)->doc->count], 0, sizeof *(r)->doc->array),              \
        &(r)->doc->array[(r)->doc->count++])                                                 \
     : NULL)

static int add_area(reader *r, const char *id, const char *name) {
  sl_ha_area *a = ADD_ROW(r, areas, n_areas, CAP_AREAS);
  if (!a) return out_of_memory(r);
  a->id = id;
  a->name = name;
  return SL_OK;
}

static int push_member(reader *r, const char *role, const char *entity_id, const char *device_id,
                       const char *area_id, const char *area_domain) {
  sl_ha_member *m = ADD_ROW(r, members, n_members, CAP_MEMBERS);
  if (!m) return out_of_memory(r);
  m->automation = r->doc->n_automations - 1;
  m->role = role;
  m->entity_id = entity_id;
  m->device_id = device_id;
  m->area_id = area_id;
  m->area_domain = area_domain;
  r->doc->automations[m->automation].n++;
  return SL_OK;
}

static int add_member(reader *r, const char *role, const char *entity_id, const char *device_id) {
  return push_member(r, role, entity_id, device_id, NULL, NULL);
}

static int same(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

int sl_ha_add_automation(sl_ha_doc *doc, const char *alias, sl_err *err) {
  reader r = {doc, err, NULL, NULL, 0, NULL};
  sl_ha_automation *a = ADD_ROW(&r, automations, n_automations, CAP_AUTOMATIONS);
  if (!a) return out_of_memory(&r);
  a->alias = alias;
  a->first = doc->n_members;
  return SL_OK;
}

int sl_ha_add_member(sl_ha_doc *doc, const char *role, const char *entity_id, const char *device_id,
                     const char *area_id, const char *area_domain, sl_err *err) {
  reader r = {doc, err, NULL, NULL, 0, NULL};
  const sl_ha_automation *a = &doc->automations[doc->n_automations - 1];
  if (a->n >= SL_HA_MAX_AUTOMATION_MEMBERS)
    return sl_fail(err, "has more than %d entities, devices and areas", SL_HA_MAX_AUTOMATION_MEMBERS);
  if (doc->n_members >= SL_HA_MAX_MEMBERS)
    return sl_fail(err, "makes more than %d automation members in all", SL_HA_MAX_MEMBERS);
  for (size_t k = a->first; k < a->first + a->n; k++) {
    const sl_ha_member *m = &doc->members[k];
    if (same(m->role, role) && same(m->entity_id, entity_id) && same(m->device_id, device_id) &&
        same(m->area_id, area_id) && same(m->area_domain, area_domain))
      return SL_OK;
  }
  return push_member(&r, role, entity_id, device_id, area_id, area_domain);
}

void sl_ha_take_automations(sl_ha_doc *dst, sl_ha_doc *src) {
  sl_free(dst->automations);
  sl_free(dst->members);
  dst->automations = src->automations;
  dst->n_automations = src->n_automations;
  dst->cap[CAP_AUTOMATIONS] = src->cap[CAP_AUTOMATIONS];
  dst->members = src->members;
  dst->n_members = src->n_members;
  dst->cap[CAP_MEMBERS] = src->cap[CAP_MEMBERS];
  src->automations = NULL;
  src->members = NULL;
  src->n_automations = src->n_members = src->cap[CAP_AUTOMATIONS] = src->cap[CAP_MEMBERS] = 0;
}

int sl_ha_add_group(sl_ha_doc *doc, const char *group, const char *member, sl_err *err) {
  reader r = {doc, err, NULL, NULL, 0, NULL};
  sl_ha_group *g;
  if (doc->n_groups >= SL_HA_MAX_MEMBERS)
    return sl_fail(err, "makes more than %d group members in all", SL_HA_MAX_MEMBERS);
  if (!(g = ADD_ROW(&r, groups, n_groups, CAP_GROUPS))) return out_of_memory(&r);
  g->group = group;
  g->member = member;
  doc->replaces |= SL_HA_GROUPS;
  return SL_OK;
}

const char *sl_ha_keep(sl_ha_doc *doc, const char *s, size_t n) {
  int fail = 0;
  return sl_syn_keep_n(&doc->strings, s, n, &fail);
}

/* "light.kid1s_room" -> its object id with spaces, "kid1s room", when nothing names it. */
static void name_from_id(const char *id, char *buf, size_t cap) {
  const char *dot = strchr(id, '.');
  size_t i = 0;
  for (const char *s = dot ? dot + 1 : id; *s && i + 1 < cap; s++) buf[i++] = *s == '_' ? ' ' : *s;
  buf[i] = 0;
}

/* ---- the home format (../shared/data/SOURCES.md) ---- */

/* An automation's trigger or action members: entities by id, devices by name (every
** device of the document with that name, in device id order). */
static int read_members(reader *r, const sl_json *a, const char *role, const char *where) {
  char key[32];
  const sl_json *list;
  snprintf(key, sizeof key, "%s_entities", role);
  if (!(list = get_array(r, a, key, 0, where))) return SL_ERROR;
  for (const sl_json *e = list->child; e; e = e->next) {
    if (e->type != SL_JSON_STRING) return sl_fail(r->err, "%s.%s has a non-string element", where, key);
    if (add_member(r, role, e->str, NULL)) return SL_ERROR;
  }
  snprintf(key, sizeof key, "%s_devices", role);
  if (!(list = get_array(r, a, key, 1, where))) return sl_json_get(a, key) ? SL_ERROR : SL_OK;
  for (const sl_json *e = list->child; e; e = e->next) {
    const char *last = NULL;
    if (e->type != SL_JSON_STRING) return sl_fail(r->err, "%s.%s has a non-string element", where, key);
    for (;;) {
      /* The next device id after `last` among the devices of that name. */
      const char *next = NULL;
      for (size_t d = 0; d < r->doc->n_devices; d++) {
        const sl_ha_device *dev = &r->doc->devices[d];
        if (strcmp(dev->name, e->str) == 0 && (!last || strcmp(dev->id, last) > 0) &&
            (!next || strcmp(dev->id, next) < 0))
          next = dev->id;
      }
      if (!next) break;
      if (add_member(r, role, NULL, next)) return SL_ERROR;
      last = next;
    }
  }
  return SL_OK;
}

static int home_area(reader *r, const sl_json *a, const char *where) {
  const char *id, *name;
  if (get_str(r, a, "area_id", 0, where, &id) || get_str(r, a, "name", 0, where, &name)) return SL_ERROR;
  return add_area(r, id, name);
}

static int home_device(reader *r, const sl_json *d, const char *where) {
  sl_ha_device v = {0}, *row;
  if (get_str(r, d, "device_id", 0, where, &v.id) || get_str(r, d, "name", 0, where, &v.name) ||
      get_str(r, d, "manufacturer", 1, where, &v.manufacturer) || get_str(r, d, "model", 1, where, &v.model) ||
      get_str(r, d, "area_id", 1, where, &v.area))
    return SL_ERROR;
  v.disabled = get_flag(d, "disabled");
  if (!(row = ADD_ROW(r, devices, n_devices, CAP_DEVICES))) return out_of_memory(r);
  *row = v;
  return SL_OK;
}

static int home_entity(reader *r, const sl_json *e, const char *where) {
  sl_ha_entity v = {0}, *row;
  if (get_str(r, e, "entity_id", 0, where, &v.id) || get_str(r, e, "domain", 0, where, &v.domain) ||
      get_str(r, e, "name", 0, where, &v.name) || get_str(r, e, "area_id", 1, where, &v.area) ||
      get_str(r, e, "device_id", 1, where, &v.device) || get_str(r, e, "device_class", 1, where, &v.device_class) ||
      get_str(r, e, "unit", 1, where, &v.unit) || get_str(r, e, "platform", 1, where, &v.platform) ||
      get_str(r, e, "entity_category", 1, where, &v.category))
    return SL_ERROR;
  v.disabled = get_flag(e, "disabled");
  v.hidden = get_flag(e, "hidden");
  if (!(row = ADD_ROW(r, entities, n_entities, CAP_ENTITIES))) return out_of_memory(r);
  *row = v;
  return SL_OK;
}

static int home_automation(reader *r, const sl_json *a, const char *where) {
  sl_ha_automation *row;
  const char *alias;
  if (get_str(r, a, "alias", 1, where, &alias)) return SL_ERROR;
  if (!(row = ADD_ROW(r, automations, n_automations, CAP_AUTOMATIONS))) return out_of_memory(r);
  row->alias = alias;
  row->first = r->doc->n_members;
  return read_members(r, a, "trigger", where) || read_members(r, a, "action", where) ? SL_ERROR : SL_OK;
}

/* groups: {group_entity_id: {name, members: [entity ids]}}. */
static int home_groups(reader *r, const sl_json *root) {
  const sl_json *groups = sl_json_get(root, "groups");
  char where[160];
  if (!groups || groups->type == SL_JSON_NULL) return SL_OK;
  if (groups->type != SL_JSON_OBJECT) return sl_fail(r->err, "the home.groups is not an object");
  for (const sl_json *g = groups->child; g; g = g->next) {
    const sl_json *members;
    snprintf(where, sizeof where, "groups.%.100s", g->key);
    if (need_object(r, g, where) || !(members = get_array(r, g, "members", 0, where))) return SL_ERROR;
    for (const sl_json *m = members->child; m; m = m->next) {
      if (m->type != SL_JSON_STRING) return sl_fail(r->err, "%s.members has a non-string element", where);
      if (sl_ha_add_group(r->doc, g->key, m->str, r->err)) return SL_ERROR;
    }
  }
  return SL_OK;
}

static int read_home(reader *r, const sl_json *root) {
  int rc = each_object(r, root, "areas", 0, "the home", home_area) ||
                   each_object(r, root, "devices", 0, "the home", home_device) ||
                   each_object(r, root, "entities", 0, "the home", home_entity) ||
                   each_object(r, root, "automations", 1, "the home", home_automation) || home_groups(r, root)
               ? SL_ERROR
               : SL_OK;
  r->doc->replaces = SL_HA_HOME;
  return rc;
}

/* ---- Home Assistant's registry files (.storage/core.*_registry) ---- */

static int ha_area(reader *r, const sl_json *a, const char *where) {
  const char *id, *name;
  if (get_str(r, a, "id", 0, where, &id) || get_str(r, a, "name", 0, where, &name)) return SL_ERROR;
  return add_area(r, id, name);
}

static int ha_device(reader *r, const sl_json *d, const char *where) {
  sl_ha_device v = {0}, *row;
  const char *name, *by_user;
  if (get_str(r, d, "id", 0, where, &v.id) || get_str(r, d, "name", 1, where, &name) ||
      get_str(r, d, "name_by_user", 1, where, &by_user) ||
      get_str(r, d, "manufacturer", 1, where, &v.manufacturer) || get_str(r, d, "model", 1, where, &v.model) ||
      get_str(r, d, "area_id", 1, where, &v.area))
    return SL_ERROR;
  v.name = by_user ? by_user : name ? name : v.id;
  v.disabled = get_flag(d, "disabled_by");
  if (!(row = ADD_ROW(r, devices, n_devices, CAP_DEVICES))) return out_of_memory(r);
  *row = v;
  return SL_OK;
}

/* One registry entity, completed from its device as the HA UI shows it (SOURCES.md):
** the name is `name`, else the device name and original_name when has_entity_name, else
** original_name, else the device name, else the object id; the class device_class else
** original_device_class; the area its own, else its device's. */
static int ha_entity(reader *r, const sl_json *e, const char *where) {
  sl_ha_entity v = {0}, *row;
  const char *name, *original, *klass, *original_class, *dev_name = NULL, *dev_area = NULL;
  char derived[256], domain[64];
  size_t n;
  if (get_str(r, e, "entity_id", 0, where, &v.id) || get_str(r, e, "name", 1, where, &name) ||
      get_str(r, e, "original_name", 1, where, &original) || get_str(r, e, "area_id", 1, where, &v.area) ||
      get_str(r, e, "device_id", 1, where, &v.device) || get_str(r, e, "device_class", 1, where, &klass) ||
      get_str(r, e, "original_device_class", 1, where, &original_class) ||
      get_str(r, e, "unit_of_measurement", 1, where, &v.unit) || get_str(r, e, "platform", 1, where, &v.platform) ||
      get_str(r, e, "entity_category", 1, where, &v.category))
    return SL_ERROR;
  if (!strchr(v.id, '.')) return sl_fail(r->err, "%s.entity_id '%s' has no domain", where, v.id);
  if (v.device && r->device(r->ctx, v.device, &dev_name, &dev_area)) {
    dev_name = sl_syn_keep(&r->doc->strings, dev_name, &r->fail);
    dev_area = sl_syn_keep(&r->doc->strings, dev_area, &r->fail);
  } else {
    dev_name = dev_area = NULL;
  }
  name_from_id(v.id, derived, sizeof derived);
  if (name) {
    v.name = name;
  } else if (get_flag(e, "has_entity_name") && dev_name) {
    char *joined = original ? sl_mprintf("%s %s", dev_name, original) : sl_strdup(dev_name);
    if (!joined) return out_of_memory(r);
    v.name = sl_syn_keep(&r->doc->strings, joined, &r->fail);
    sl_free(joined);
  } else {
    v.name = original ? original : dev_name ? dev_name : sl_syn_keep(&r->doc->strings, derived, &r->fail);
  }
  /* The domain: the part of the id before the dot. */
  n = (size_t)(strchr(v.id, '.') - v.id);
  snprintf(domain, sizeof domain, "%.*s", (int)(n < sizeof domain ? n : sizeof domain - 1), v.id);
  v.domain = sl_syn_keep(&r->doc->strings, domain, &r->fail);
  v.device_class = klass ? klass : original_class;
  if (!v.area) v.area = dev_area;
  v.disabled = get_flag(e, "disabled_by");
  v.hidden = get_flag(e, "hidden_by");
  if (r->fail || !(row = ADD_ROW(r, entities, n_entities, CAP_ENTITIES))) return out_of_memory(r);
  *row = v;
  return SL_OK;
}

/* The registry file of data.key ("areas", "devices", "entities"). */
static int read_registry(reader *r, const sl_json *data, const char *key, unsigned group, const char *file,
                         row_fn row) {
  char whole[64];
  r->doc->replaces = group;
  snprintf(whole, sizeof whole, "%s data", file);
  return each_object(r, data, key, 0, whole, row);
}

/* ---- documents ---- */

/* The first character that is not blank or a byte-order mark. */
static int first_char(const char *text, size_t len) {
  size_t i = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
  while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')) i++;
  return i < len ? (unsigned char)text[i] : -1;
}

int sl_ha_parse(const char *text, size_t len, sl_ha_text *out, sl_err *err) {
  int c = first_char(text, len);
  memset(out, 0, sizeof *out);
  if (sl_limit_document(len, err)) return SL_ERROR;
  if (c == '{' || (c == '[' && sl_json_parse(text, len, &out->json, NULL) == SL_OK)) {
    if (!out->json && sl_json_parse(text, len, &out->json, err)) return SL_ERROR;
    out->root = sl_json_root(out->json);
    return SL_OK;
  }
  if (sl_ha_yaml_parse(text, len, &out->yaml, err)) return SL_ERROR;
  out->root = sl_ha_yaml_root(out->yaml);
  return SL_OK;
}

void sl_ha_text_free(sl_ha_text *t) {
  sl_json_free(t->json);
  sl_ha_yaml_free(t->yaml);
  memset(t, 0, sizeof *t);
}

int sl_ha_read(const sl_json *root, sl_ha_device_fn device, void *ctx, sl_ha_doc *doc, sl_err *err) {
  const sl_json *key = sl_json_get(root, "key"), *data = sl_json_get(root, "data");
  reader r = {doc, err, device, ctx, 0, NULL};
  memset(doc, 0, sizeof *doc);
  if (!root || root->type != SL_JSON_OBJECT) return sl_fail(err, "the document is not a JSON object");
  if (!key) return read_home(&r, root);
  if (key->type != SL_JSON_STRING || !data || data->type != SL_JSON_OBJECT)
    return sl_fail(err, "a registry file needs a string \"key\" and an object \"data\"");
  if (strcmp(key->str, "core.area_registry") == 0)
    return read_registry(&r, data, "areas", SL_HA_AREAS, key->str, ha_area);
  if (strcmp(key->str, "core.device_registry") == 0)
    return read_registry(&r, data, "devices", SL_HA_DEVICES, key->str, ha_device);
  if (strcmp(key->str, "core.entity_registry") == 0)
    return read_registry(&r, data, "entities", SL_HA_ENTITIES, key->str, ha_entity);
  return sl_fail(err, "unknown registry file '%s' (expected core.area_registry, "
                      "core.device_registry, core.entity_registry or core.config_entries)", key->str);
}

/* The home format: an object with any of its arrays. */
static int is_home(const sl_json *root) {
  static const char *const keys[] = {"areas", "devices", "entities", "automations"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    if (sl_json_get(root, keys[i])) return 1;
  return 0;
}

int sl_ha_doc_rank(const sl_ha_text *t) {
  const sl_json *root = t->root, *key = sl_json_get(root, "key");
  if (!root) return SL_HA_RANK_CONFIG; /* an empty YAML file */
  /* HA writes an empty automations.yaml as [] and an emptied scripts.yaml as {}. */
  if (t->json && (root->type == SL_JSON_ARRAY || root->type == SL_JSON_OBJECT) && root->n == 0)
    return SL_HA_RANK_CONFIG;
  if (t->json && root->type != SL_JSON_OBJECT) return 0; /* refused by sl_ha_read */
  if (key && key->type == SL_JSON_STRING && sl_json_get(root, "data")) {
    if (strcmp(key->str, "core.area_registry") == 0) return 1;
    if (strcmp(key->str, "core.device_registry") == 0) return 2;
    if (strcmp(key->str, "core.config_entries") == 0) return SL_HA_RANK_CONFIG;
    return 3;
  }
  return t->json || is_home(root) ? 0 : SL_HA_RANK_CONFIG;
}

void sl_ha_doc_free(sl_ha_doc *doc) {
  sl_free(doc->areas);
  sl_free(doc->devices);
  sl_free(doc->entities);
  sl_free(doc->automations);
  sl_free(doc->members);
  sl_free(doc->groups);
  sl_syn_strings_free(&doc->strings);
  memset(doc, 0, sizeof *doc);
}
