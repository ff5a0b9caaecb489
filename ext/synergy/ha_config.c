/*
** ha_config.c: HA's automations, scripts, scenes and group helpers into rows
** (ha_config.h). What an automation touches: its triggers' entities and devices (state,
** numeric_state, device, event/zha_event with event_data's device_id / device_ieee /
** entity_id, time `at` an entity, sun -> sun.sun, entity ids quoted in templates) and its
** actions' targets (target/data/entity_id/device_id/area_id of service and action calls,
** device actions, scripts and scenes, inside choose/if/then/else/sequence/parallel/repeat).
** Conditions are not stored: synergy_automation_members has roles trigger and action only.
** Nodes this reader cannot resolve (`!include`, `!secret`, `!input`) are skipped.
*/
#include "../base/alloc.h"
#include "ha_config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct walker {
  sl_ha_doc *out;               /* the rows being added to: c->rows or c->defs */
  sl_err *err;
  const char *role;             /* "trigger" or "action" */
  char path[512];               /* the element being read, for messages */
  size_t len;
} walker;

/* ---- the path of the element being read ---- */

static size_t push(walker *w, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 2, 3)))
#endif
  ;
static size_t push(walker *w, const char *fmt, ...) {
  size_t was = w->len;
  va_list ap;
  va_start(ap, fmt);
  if (w->len < sizeof w->path) {
    int n = vsnprintf(w->path + w->len, sizeof w->path - w->len, fmt, ap);
    w->len = n < 0 ? w->len : w->len + (size_t)n < sizeof w->path ? w->len + (size_t)n : sizeof w->path - 1;
  }
  va_end(ap);
  return was;
}

static void pop(walker *w, size_t was) {
  w->len = was;
  w->path[was] = 0;
}

static int fail(walker *w, const char *what) { return sl_fail(w->err, "%s %s", w->path, what); }

/* A failure of the rows (out of memory, a cap) with the element in front. */
static int fail_rows(walker *w) {
  sl_err_prefix(w->err, w->path);
  return SL_ERROR;
}

/* ---- entity ids ---- */

static int is_id_char(int c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

/* s[0..n) has the shape of an entity id: domain.object_id, lower case. */
static int entity_shaped(const char *s, size_t n) {
  size_t dot = 0;
  if (n < 3 || !(s[0] >= 'a' && s[0] <= 'z')) return 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '.') {
      if (dot) return 0;
      dot = i;
    } else if (!is_id_char((unsigned char)s[i])) {
      return 0;
    }
  }
  return dot > 0 && dot + 1 < n;
}

static int add(walker *w, const char *entity, const char *device, const char *area, const char *area_domain) {
  return sl_ha_add_member(w->out, w->role, entity, device, area, area_domain, w->err) ? fail_rows(w) : SL_OK;
}

static int add_n(walker *w, const char *s, size_t n, int as_device, const char *area_domain, int as_area) {
  const char *kept = sl_ha_keep(w->out, s, n);
  if (as_area && area_domain && !(area_domain = sl_ha_keep(w->out, area_domain, strlen(area_domain)))) kept = NULL;
  if (!kept) return sl_oom(w->err);
  return add(w, as_device || as_area ? NULL : kept, as_device ? kept : NULL, as_area ? kept : NULL,
             as_area ? area_domain : NULL);
}

/* Entity ids quoted in a template ('light.x', "sensor.y") or read as states.light.x.
** Reading (a trigger's template): every one. Otherwise (a target's template) only the
** ids it may yield, not the ids it reads: not an argument of a call (is_state('sun.sun',
** ...)), not states.x.y. */
static int template_ids(walker *w, const char *s, int reading) {
  for (const char *p = s; *p; p++) {
    const char *q, *start;
    if (*p == '\'' || *p == '"') {
      const char *before = p;
      start = p + 1;
      if (!(q = strchr(start, *p))) break;
      while (before > s && before[-1] == ' ') before--;
      if ((reading || before == s || before[-1] != '(') && entity_shaped(start, (size_t)(q - start)) &&
          add_n(w, start, (size_t)(q - start), 0, NULL, 0))
        return SL_ERROR;
      p = q;
    } else if (reading && strncmp(p, "states.", 7) == 0 && (p == s || !is_id_char((unsigned char)p[-1]))) {
      /* states.<domain>.<object_id>[.state | .attributes...] */
      int dots = 0;
      start = p + 7;
      for (q = start; is_id_char((unsigned char)*q) || (*q == '.' && !dots++); q++) {}
      if (entity_shaped(start, (size_t)(q - start)) && add_n(w, start, (size_t)(q - start), 0, NULL, 0))
        return SL_ERROR;
      p = q - 1;
    }
  }
  return SL_OK;
}

static int is_template(const char *s) { return strstr(s, "{{") || strstr(s, "{%"); }

/* One string of ids: a template, or ids separated by commas ("light.a, light.b");
** `all` and `none` name no entity. kind: 0 entity, 1 device, 2 area. */
static int ids_in(walker *w, const char *s, int kind, const char *area_domain) {
  if (is_template(s)) return kind == 0 ? template_ids(w, s, strcmp(w->role, "trigger") == 0) : SL_OK;
  while (*s) {
    const char *end = strchr(s, ','), *a = s, *b;
    if (!end) end = s + strlen(s);
    b = end;
    while (a < b && (*a == ' ' || *a == '\t' || *a == '\n')) a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\n')) b--;
    if (b > a && !((b - a == 3 && memcmp(a, "all", 3) == 0) || (b - a == 4 && memcmp(a, "none", 4) == 0)) &&
        add_n(w, a, (size_t)(b - a), kind == 1, area_domain, kind == 2))
      return SL_ERROR;
    s = *end ? end + 1 : end;
  }
  return SL_OK;
}

/* v: a string of ids or a list of them; null and unresolved tags name none. */
static int ids(walker *w, const sl_json *v, const char *key, int kind, const char *area_domain) {
  size_t was;
  int rc = SL_OK;
  if (!v || v->type == SL_JSON_NULL) return SL_OK;
  was = push(w, ".%s", key);
  if (v->type == SL_JSON_STRING) {
    rc = ids_in(w, v->str, kind, area_domain);
  } else if (v->type == SL_JSON_ARRAY) {
    size_t i = 0;
    for (const sl_json *e = v->child; e && rc == SL_OK; e = e->next, i++) {
      if (e->type == SL_JSON_STRING) {
        rc = ids_in(w, e->str, kind, area_domain);
      } else if (e->type != SL_JSON_NULL) {
        push(w, "[%zu]", i);
        rc = fail(w, "is not a string");
      }
    }
  } else {
    rc = fail(w, v->type == SL_JSON_OBJECT ? "is a mapping, not an id or a list of them"
                                            : "is not an id or a list of them");
  }
  if (rc == SL_OK) pop(w, was);
  return rc;
}

static const char *str(const sl_json *obj, const char *key) {
  const sl_json *v = sl_json_get(obj, key);
  return v && v->type == SL_JSON_STRING ? v->str : NULL;
}

/* obj[key], or obj[alt] when there is no obj[key] (triggers/trigger, actions/action). */
static const sl_json *either(const sl_json *obj, const char *key, const char *alt, const char **used) {
  const sl_json *v = sl_json_get(obj, key);
  *used = key;
  if (!v && alt) {
    v = sl_json_get(obj, alt);
    *used = alt;
  }
  return v;
}

/* The targets of a call or a trigger: entity_id, device_id and area_id of obj. */
static int targets(walker *w, const sl_json *obj, const char *area_domain) {
  return ids(w, sl_json_get(obj, "entity_id"), "entity_id", 0, NULL) ||
         ids(w, sl_json_get(obj, "device_id"), "device_id", 1, NULL) ||
         ids(w, sl_json_get(obj, "area_id"), "area_id", 2, area_domain);
}

/* A mapping under obj[key] whose targets count (target:, data:, event_data:). */
static int targets_under(walker *w, const sl_json *obj, const char *key, const char *area_domain) {
  const sl_json *v = sl_json_get(obj, key);
  size_t was;
  int rc;
  if (!v || v->type != SL_JSON_OBJECT) return SL_OK;
  was = push(w, ".%s", key);
  rc = targets(w, v, area_domain);
  if (rc == SL_OK) pop(w, was);
  return rc;
}

/* ---- lists: a list of mappings, or one mapping alone ---- */

typedef int (*item_fn)(walker *w, const sl_json *item, int depth);

static int each_item(walker *w, const sl_json *v, const char *key, int depth, item_fn fn) {
  size_t was, i = 0;
  if (!v || v->type == SL_JSON_NULL) return SL_OK;
  was = push(w, ".%s", key);
  if (v->type == SL_JSON_OBJECT) {
    if (fn(w, v, depth)) return SL_ERROR;
  } else if (v->type == SL_JSON_ARRAY) {
    for (const sl_json *e = v->child; e; e = e->next, i++) {
      size_t at = push(w, "[%zu]", i);
      if (e->type == SL_JSON_OBJECT) {
        if (fn(w, e, depth)) return SL_ERROR;
      } else if (e->type != SL_JSON_NULL) {
        return fail(w, "is not a mapping");
      }
      pop(w, at);
    }
  } else {
    return fail(w, "is not a list or a mapping");
  }
  pop(w, was);
  return SL_OK;
}

/* ---- triggers ---- */

static int trigger(walker *w, const sl_json *t, int depth) {
  const char *kind = str(t, "trigger"), *type;
  const sl_json *v;
  if (!kind) kind = str(t, "platform");
  if (sl_json_get(t, "triggers")) return each_item(w, sl_json_get(t, "triggers"), "triggers", depth + 1, trigger);
  if (targets(w, t, NULL) || targets_under(w, t, "event_data", NULL)) return SL_ERROR;
  if ((v = sl_json_get(t, "event_data")) && (type = str(v, "device_ieee"))) {
    size_t was = push(w, ".event_data.device_ieee");
    if (add_n(w, type, strlen(type), 1, NULL, 0)) return SL_ERROR;
    pop(w, was);
  }
  if (kind && strcmp(kind, "sun") == 0 && add(w, "sun.sun", NULL, NULL, NULL)) return SL_ERROR;
  if (kind && strcmp(kind, "time") == 0 && (v = sl_json_get(t, "at"))) {
    /* at: "07:00:00", or an input_datetime / timestamp sensor, or a list of them. */
    const sl_json *one = v->type == SL_JSON_ARRAY ? v->child : v;
    for (; one; one = v->type == SL_JSON_ARRAY ? one->next : NULL)
      if (one->type == SL_JSON_STRING && entity_shaped(one->str, one->len) &&
          add_n(w, one->str, one->len, 0, NULL, 0))
        return SL_ERROR;
  }
  if ((type = str(t, "value_template")) && template_ids(w, type, 1)) return SL_ERROR;
  return SL_OK;
}

/* ---- actions ---- */

static int action(walker *w, const sl_json *a, int depth);

static int actions(walker *w, const sl_json *v, const char *key, int depth) {
  if (depth > 32) return fail(w, "nests actions deeper than 32 levels");
  return each_item(w, v, key, depth + 1, action);
}

/* choose: [{conditions, sequence}], default; if/then/else; repeat: {sequence}; parallel;
** sequence; in the order the action writes them. */
static int branches(walker *w, const sl_json *a, int depth) {
  static const char *const lists[] = {"sequence", "then", "else", "default", "parallel"};
  for (const sl_json *v = a->child; v; v = v->next) {
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
      if (strcmp(v->key, lists[i]) == 0 && actions(w, v, lists[i], depth)) return SL_ERROR;
    if (strcmp(v->key, "choose") == 0 && v->type != SL_JSON_NULL) {
      size_t was = push(w, ".choose"), i = 0;
      const sl_json *one = v->type == SL_JSON_ARRAY ? v->child : v;
      for (; one; one = v->type == SL_JSON_ARRAY ? one->next : NULL, i++) {
        size_t at = push(w, "[%zu]", i);
        if (one->type == SL_JSON_OBJECT && actions(w, sl_json_get(one, "sequence"), "sequence", depth))
          return SL_ERROR;
        pop(w, at);
      }
      pop(w, was);
    }
    if (strcmp(v->key, "repeat") == 0 && v->type == SL_JSON_OBJECT) {
      size_t was = push(w, ".repeat");
      if (actions(w, sl_json_get(v, "sequence"), "sequence", depth)) return SL_ERROR;
      pop(w, was);
    }
  }
  return SL_OK;
}

static int action(walker *w, const sl_json *a, int depth) {
  const char *service = str(a, "action"), *domain = NULL, *scene = str(a, "scene");
  char dom[64];
  if (!service) service = str(a, "service");
  if (service && !is_template(service)) {
    const char *dot = strchr(service, '.');
    size_t n = dot ? (size_t)(dot - service) : 0;
    if (n > 0 && n < sizeof dom) {
      memcpy(dom, service, n);
      dom[n] = 0;
      domain = strcmp(dom, "homeassistant") == 0 ? NULL : dom;
      /* script.morning runs that script: its entity is a target. */
      if (strcmp(dom, "script") == 0 && strcmp(dot + 1, "turn_on") != 0 && strcmp(dot + 1, "turn_off") != 0 &&
          strcmp(dot + 1, "toggle") != 0 && strcmp(dot + 1, "reload") != 0 && entity_shaped(service, strlen(service)) &&
          add(w, service, NULL, NULL, NULL))
        return SL_ERROR;
    }
  }
  if (scene && entity_shaped(scene, strlen(scene)) && add(w, scene, NULL, NULL, NULL)) return SL_ERROR;
  /* A condition step and a wait name entities the automation only reads. */
  if (!sl_json_get(a, "condition") &&
      (targets(w, a, domain) || targets_under(w, a, "target", domain) || targets_under(w, a, "data", domain) ||
       targets_under(w, a, "data_template", domain)))
    return SL_ERROR;
  return branches(w, a, depth);
}

/* ---- automations, scripts, scenes, groups ---- */

static int automation(walker *w, const sl_json *a) {
  const char *alias = str(a, "alias"), *key;
  const sl_json *v;
  if (!alias) alias = str(a, "id");
  if (sl_ha_add_automation(w->out, alias, w->err)) return fail_rows(w);
  w->out->replaces |= SL_HA_AUTOMATIONS;
  w->role = "trigger";
  v = either(a, "triggers", "trigger", &key);
  if (each_item(w, v, key, 0, trigger)) return SL_ERROR;
  w->role = "action";
  v = either(a, "actions", "action", &key);
  return actions(w, v, key, 0);
}

/* A script or a scene: an "automation" of c->defs named by its entity id. */
static int definition(walker *w, const char *entity_id) {
  w->role = "action";
  return sl_ha_add_automation(w->out, entity_id, w->err) ? fail_rows(w) : SL_OK;
}

static int script(walker *w, const char *id, const sl_json *s) {
  char entity[300];
  const char *kept;
  snprintf(entity, sizeof entity, "script.%s", id);
  if (!(kept = sl_ha_keep(w->out, entity, strlen(entity)))) return sl_oom(w->err);
  return definition(w, kept) || actions(w, sl_json_get(s, "sequence"), "sequence", 0);
}

static int scene(walker *w, const sl_json *s) {
  const char *name = str(s, "name"), *kept;
  const sl_json *entities = sl_json_get(s, "entities");
  char entity[300];
  size_t n;
  if (!name) name = str(s, "id");
  if (!name) return fail(w, "has neither a name nor an id");
  memcpy(entity, "scene.", 6);
  sl_ha_slug(name, entity + 6, sizeof entity - 6);
  n = strlen(entity);
  if (!(kept = sl_ha_keep(w->out, entity, n))) return sl_oom(w->err);
  if (definition(w, kept)) return SL_ERROR;
  if (entities && entities->type != SL_JSON_OBJECT && entities->type != SL_JSON_NULL) {
    push(w, ".entities");
    return fail(w, "is not a mapping");
  }
  for (const sl_json *e = entities ? entities->child : NULL; e; e = e->next)
    if (add(w, e->key, NULL, NULL, NULL)) return SL_ERROR;
  return SL_OK;
}

/* The entity ids of list (a group's members) read as the members of a scratch
** "automation" of defs, then written as rows of synergy_groups under group. */
static int group_members(walker *w, sl_ha_config *c, const char *group, const sl_json *list) {
  size_t from = c->defs.n_members;
  const char *kept = sl_ha_keep(&c->rows, group, strlen(group));
  if (!kept) return sl_oom(w->err);
  w->out = &c->defs;
  w->role = "action";
  if (sl_ha_add_automation(&c->defs, NULL, w->err)) return fail_rows(w);
  if (ids(w, list, "entities", 0, NULL)) return SL_ERROR;
  for (size_t k = from; k < c->defs.n_members; k++)
    if (sl_ha_add_group(&c->rows, kept, c->defs.members[k].entity_id, w->err)) return fail_rows(w);
  return SL_OK;
}

static int has_any(const sl_json *obj, const char *const *keys, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (sl_json_get(obj, keys[i])) return 1;
  return 0;
}

static int is_automation(const sl_json *v) {
  static const char *const keys[] = {"triggers", "trigger", "actions", "action"};
  return v->type == SL_JSON_OBJECT && has_any(v, keys, 4);
}

/* A list: automations (automations.yaml, an !include_dir_merge_list file) and scenes
** (scenes.yaml); each element is whichever it is. */
static int read_list(sl_ha_config *c, walker *w, const sl_json *list, const char *name) {
  size_t i = 0;
  for (const sl_json *e = list->child; e; e = e->next, i++) {
    int rc;
    w->len = 0;
    push(w, "%s[%zu]", name, i);
    if (e->type == SL_JSON_NULL) continue;
    if (e->type != SL_JSON_OBJECT) return fail(w, "is not a mapping");
    if (is_automation(e)) {
      w->out = &c->rows;
      rc = automation(w, e);
    } else if (sl_json_get(e, "entities")) {
      w->out = &c->defs;
      rc = scene(w, e);
    } else {
      return fail(w, "is neither an automation (no triggers, no actions) nor a scene (no entities)");
    }
    if (rc) return SL_ERROR;
  }
  return SL_OK;
}

/* A mapping of ids: scripts (scripts.yaml: id -> {sequence}) or old-style groups
** (groups.yaml: id -> {entities}). */
static int read_named(sl_ha_config *c, walker *w, const sl_json *map, const char *name) {
  for (const sl_json *e = map->child; e; e = e->next) {
    w->len = 0;
    push(w, "%s.%.100s", name, e->key);
    if (e->type == SL_JSON_NULL) continue;
    if (e->type != SL_JSON_OBJECT) return fail(w, "is not a mapping");
    if (sl_json_get(e, "sequence")) {
      w->out = &c->defs;
      if (script(w, e->key, e)) return SL_ERROR;
    } else if (sl_json_get(e, "entities")) {
      char entity[300];
      snprintf(entity, sizeof entity, "group.%s", e->key);
      if (group_members(w, c, entity, sl_json_get(e, "entities"))) return SL_ERROR;
    } else {
      return fail(w, "is neither a script (no sequence) nor a group (no entities)");
    }
  }
  return SL_OK;
}

/* .storage/core.config_entries: the group helpers (domain "group"), whose entity id is
** <group_type>.<slug of their name>, as HA names it when the helper is created. */
static int read_config_entries(sl_ha_config *c, walker *w, const sl_json *data) {
  const sl_json *entries = sl_json_get(data, "entries");
  size_t i = 0;
  w->len = 0;
  push(w, "core.config_entries data.entries");
  if (!entries || entries->type != SL_JSON_ARRAY) return fail(w, entries ? "is not an array" : "is missing");
  for (const sl_json *e = entries->child; e; e = e->next, i++) {
    const sl_json *options = sl_json_get(e, "options");
    const char *domain = str(e, "domain"), *type = str(options, "group_type"), *name = str(options, "name");
    char entity[300];
    size_t at = push(w, "[%zu]", i), n;
    if (!domain || strcmp(domain, "group") != 0) {
      pop(w, at);
      continue;
    }
    if (!name) name = str(e, "title");
    if (!type || !name) return fail(w, "is a group helper without options.group_type or a name");
    n = (size_t)snprintf(entity, sizeof entity, "%s.", type);
    if (n >= sizeof entity) return fail(w, "has a group_type too long");
    sl_ha_slug(name, entity + n, sizeof entity - n);
    push(w, ".options");
    if (group_members(w, c, entity, sl_json_get(options, "entities"))) return SL_ERROR;
    pop(w, at);
  }
  return SL_OK;
}

/* configuration.yaml or a package: its automation*, script*, scene*, group* keys. */
static int is_config_key(const char *key, const char *base) {
  size_t n = strlen(base);
  return strncmp(key, base, n) == 0 && (key[n] == 0 || key[n] == ' ');
}

static int read_configuration(sl_ha_config *c, walker *w, const sl_json *root, int *found) {
  for (const sl_json *e = root->child; e; e = e->next) {
    int rc = SL_OK;
    if (is_config_key(e->key, "automation") || is_config_key(e->key, "scene")) {
      *found = 1;
      if (e->type == SL_JSON_ARRAY) rc = read_list(c, w, e, e->key);
      else if (e->type != SL_JSON_NULL) {
        w->len = 0;
        push(w, "%.100s", e->key);
        rc = fail(w, "is not a list");
      }
    } else if (is_config_key(e->key, "script") || is_config_key(e->key, "group")) {
      *found = 1;
      if (e->type == SL_JSON_OBJECT) rc = read_named(c, w, e, e->key);
      else if (e->type != SL_JSON_NULL) {
        w->len = 0;
        push(w, "%.100s", e->key);
        rc = fail(w, "is not a mapping");
      }
    }
    if (rc) return SL_ERROR;
  }
  return SL_OK;
}

int sl_ha_config_read(sl_ha_config *c, const sl_json *root, sl_err *err) {
  walker *w = sl_calloc(1, sizeof *w);
  const sl_json *key;
  int rc = SL_OK, found = 0;
  if (!w) return sl_oom(err);
  w->err = err;
  w->out = &c->rows;
  if (!root || root->type == SL_JSON_NULL) {
    /* empty, or an !include this reader cannot follow */
  } else if (root->type == SL_JSON_ARRAY) {
    rc = read_list(c, w, root, "automations.yaml");
  } else if (root->type != SL_JSON_OBJECT) {
    rc = sl_fail(err, "the document is a single value, not HA's YAML (a list of automations or scenes, "
                      "a mapping of scripts)");
  } else if ((key = sl_json_get(root, "key")) && key->type == SL_JSON_STRING &&
             strcmp(key->str, "core.config_entries") == 0) {
    rc = read_config_entries(c, w, sl_json_get(root, "data"));
  } else if (is_automation(root)) {
    push(w, "the automation");
    rc = automation(w, root);
  } else if (sl_json_get(root, "sequence")) {
    rc = sl_fail(err, "a script without its id (pass scripts.yaml, or the script under its id: `id: {sequence: ...}`)");
  } else if ((rc = read_configuration(c, w, root, &found)) == SL_OK && !found) {
    /* scripts.yaml or groups.yaml: some entry looks like a script or a group. */
    const sl_json *e = root->child;
    while (e && !(e->type == SL_JSON_OBJECT && (sl_json_get(e, "sequence") || sl_json_get(e, "entities") ||
                                                sl_json_get(e, "alias"))))
      e = e->next;
    rc = e || root->n == 0 ? read_named(c, w, root, "scripts.yaml")
           : sl_fail(err, "a mapping that holds no scripts (id: {alias, sequence}), no groups (id: {entities}) and no "
                          "automation, script, scene or group key: not a file this import reads");
  }
  sl_free(w);
  return rc;
}

/* ---- scripts and scenes called: their targets ---- */

typedef struct expander {
  sl_ha_config *c;
  sl_ha_doc out;
  const sl_ha_automation **defs;  /* c->defs' named definitions, sorted by name */
  size_t n_defs;
  unsigned char *open;            /* per definition of c->defs: being expanded */
  sl_err *err;
} expander;

static int cmp_def(const void *x, const void *y) {
  return strcmp((*(const sl_ha_automation *const *)x)->alias, (*(const sl_ha_automation *const *)y)->alias);
}

static const sl_ha_automation *find_def(const expander *x, const char *entity) {
  size_t lo = 0, hi = x->n_defs;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int d = strcmp(x->defs[mid]->alias, entity);
    if (d == 0) return x->defs[mid];
    if (d < 0) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

static int copy_member(expander *x, const sl_ha_member *m, const char *role, int depth);

static int expand(expander *x, const sl_ha_automation *def, int depth) {
  size_t i = (size_t)(def - x->c->defs.automations);
  int rc = SL_OK;
  if (x->open[i] || depth > 16) return SL_OK; /* a script that runs itself */
  x->open[i] = 1;
  for (size_t k = def->first; k < def->first + def->n && rc == SL_OK; k++)
    rc = copy_member(x, &x->c->defs.members[k], "action", depth + 1);
  x->open[i] = 0;
  return rc;
}

static int copy_member(expander *x, const sl_ha_member *m, const char *role, int depth) {
  const sl_ha_automation *def;
  if (sl_ha_add_member(&x->out, role, m->entity_id, m->device_id, m->area_id, m->area_domain, x->err))
    return SL_ERROR;
  if (strcmp(role, "action") == 0 && m->entity_id && (def = find_def(x, m->entity_id))) return expand(x, def, depth);
  return SL_OK;
}

int sl_ha_config_finish(sl_ha_config *c, sl_err *err) {
  expander x = {c, {0}, NULL, 0, NULL, err};
  int rc = SL_OK;
  x.defs = sl_malloc((c->defs.n_automations + 1) * sizeof *x.defs);
  x.open = sl_calloc(c->defs.n_automations + 1, 1);
  if (!x.defs || !x.open) rc = sl_oom(err);
  for (size_t i = 0; rc == SL_OK && i < c->defs.n_automations; i++)
    if (c->defs.automations[i].alias) x.defs[x.n_defs++] = &c->defs.automations[i];
  if (rc == SL_OK) qsort(x.defs, x.n_defs, sizeof *x.defs, cmp_def);
  for (size_t i = 0; rc == SL_OK && i < c->rows.n_automations; i++) {
    const sl_ha_automation *a = &c->rows.automations[i];
    rc = sl_ha_add_automation(&x.out, a->alias, err);
    for (size_t k = a->first; rc == SL_OK && k < a->first + a->n; k++)
      rc = copy_member(&x, &c->rows.members[k], c->rows.members[k].role, 0);
    if (rc) {
      char where[64];
      snprintf(where, sizeof where, "automation %zu", i + 1);
      sl_err_prefix(err, where);
    }
  }
  if (rc == SL_OK) sl_ha_take_automations(&c->rows, &x.out);
  sl_ha_doc_free(&x.out);
  sl_free(x.defs);
  sl_free(x.open);
  return rc;
}

void sl_ha_config_free(sl_ha_config *c) {
  sl_ha_doc_free(&c->rows);
  sl_ha_doc_free(&c->defs);
}

void sl_ha_slug(const char *name, char *out, size_t cap) {
  /* U+00C0..U+00FF as HA's slugify (unidecode) spells them, one letter each ('-': a gap). */
  static const char latin1[] = "AAAAAAACEEEEIIIIDNOOOOO-OUUUUYTsaaaaaaaceeeeiiiidnooooo-ouuuuyty";
  size_t n = 0;
  int gap = 0;
  if (cap == 0) return;
  for (const unsigned char *s = (const unsigned char *)name; *s && n + 1 < cap; s++) {
    int c = *s;
    if (c == 0xC3 && s[1] >= 0x80 && s[1] <= 0xBF) c = latin1[*++s - 0x80];
    if (c == '\'') continue; /* "Kid's room" -> kids_room */
    if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      if (gap && n > 0 && n + 2 < cap) out[n++] = '_';
      out[n++] = (char)c;
      gap = 0;
    } else {
      gap = 1;
    }
  }
  out[n] = 0;
}
