/*
** yaml.c: a suggestion as Home Assistant automations to paste into automations.yaml
** (docs/synergy.md, "YAML"): a YAML list with one automation per hop, in HA 2024.10's
** spelling (`triggers:` / `trigger: state`, `actions:` / `action: light.turn_on` with
** `target: entity_id:`). Every scalar but the keys is double-quoted with YAML's escapes,
** so any name or id gives valid YAML. The service follows the action's domain and the
** rule's verb (turn_on, turn_off, toggle, open_cover, lock, ...); a state trigger waits
** for the state its kind means ("on" for a binary sensor, "playing" for a media player),
** and a remote (a device that only sends device triggers) gets a device trigger whose
** button the user picks in HA's editor.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/alloc.h"
#include "synergy.h"

static void puts_(sl_syn_text *o, const char *s) { sl_syn_text_put(o, s, strlen(s)); }

/* s as a YAML double-quoted scalar: '"' and '\' escaped, control bytes as \xNN; UTF-8
** passes as it is. */
static void quoted(sl_syn_text *o, const char *s) {
  char esc[8];
  sl_syn_text_put(o, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') {
      esc[0] = '\\', esc[1] = (char)*p;
      sl_syn_text_put(o, esc, 2);
    } else if (*p < 0x20 || *p == 0x7f) {
      snprintf(esc, sizeof esc, "\\x%02x", *p);
      sl_syn_text_put(o, esc, 4);
    } else {
      sl_syn_text_put(o, (const char *)p, 1);
    }
  }
  sl_syn_text_put(o, "\"", 1);
}

/* key: "value"\n at the indent. */
static void field(sl_syn_text *o, const char *indent, const char *key, const char *value) {
  puts_(o, indent);
  puts_(o, key);
  puts_(o, ": ");
  quoted(o, value);
  sl_syn_text_put(o, "\n", 1);
}

/* The state a state trigger of node n waits for, or NULL for any change. */
static const char *trigger_to(const sl_syn_node *n) {
  static const struct { const char *domain, *to; } states[] = {
    {"binary_sensor", "on"}, {"switch", "on"}, {"light", "on"}, {"fan", "on"}, {"media_player", "playing"},
    {"lock", "unlocked"}, {"device_tracker", "home"}, {"alarm_control_panel", "triggered"}, {"vacuum", "cleaning"},
  };
  for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
    if (strcmp(n->domain, states[i].domain) == 0) return states[i].to;
  return NULL;
}

/* The service ("light.turn_on") for a rule's verb on an action domain; the verbs of
** sql/synergy.sql, each domain's own service names, turn_on for the rest. */
static void service(char *buf, size_t cap, const char *domain, const char *verb) {
  static const struct { const char *domain, *verb, *service; } map[] = {
    {"cover", "close", "close_cover"}, {"cover", "open", "open_cover"}, {"cover", "move", "toggle"},
    {"valve", "close", "close_valve"}, {"valve", "open", "open_valve"},
    {"lock", "lock", "lock"}, {"lock", "unlock", "unlock"},
    {"climate", "pause", "turn_off"}, {"media_player", "pause", "media_pause"},
    {"alarm_control_panel", "disarm", "alarm_disarm"}, {"alarm_control_panel", "arm", "alarm_arm_away"},
    {"*", "turn off", "turn_off"}, {"*", "toggle", "toggle"}, {"*", "switch", "toggle"},
  };
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if ((strcmp(map[i].domain, "*") == 0 || strcmp(map[i].domain, domain) == 0) && strcmp(map[i].verb, verb) == 0) {
      snprintf(buf, cap, "%s.%s", domain, map[i].service);
      return;
    }
  snprintf(buf, cap, "%s.turn_on", domain);
}

/* One automation: t drives a under rule. */
static void automation(sl_syn_text *o, const sl_syn_node *t, const sl_syn_node *a, const sl_syn_rule *rule) {
  char *tname = sl_syn_display_name(t->name), *aname = sl_syn_display_name(a->name), *alias = NULL, svc[128];
  const char *to = trigger_to(t);
  if (!tname || !aname || !(alias = sl_mprintf("When %s %s, %s %s", tname, rule->phrase, rule->verb, aname))) {
    o->failed = 1;
  } else {
    field(o, "- ", "alias", alias);
    puts_(o, "  triggers:\n");
    if (strncmp(t->id, "device:", 7) == 0) {
      field(o, "    - ", "trigger", "device");
      field(o, "      ", "device_id", t->device_id ? t->device_id : t->id + 7);
      puts_(o, "      # domain, type, subtype: the button, as HA's automation editor lists them for this device\n");
    } else {
      field(o, "    - ", "trigger", "state");
      field(o, "      ", "entity_id", t->id);
      if (to) field(o, "      ", "to", to);
    }
    service(svc, sizeof svc, a->domain, rule->verb);
    puts_(o, "  actions:\n");
    field(o, "    - ", "action", svc);
    puts_(o, "      target:\n");
    field(o, "        ", "entity_id", a->id);
    field(o, "  ", "mode", "single");
  }
  sl_free(alias);
  sl_free(tname);
  sl_free(aname);
}

char *sl_syn_yaml(const sl_syn_home *h, const sl_syn_graph *g, const sl_syn_path *p) {
  sl_syn_text o = {0};
  for (int i = 0; i + 1 < p->depth; i++) {
    const sl_syn_link *l = &g->links[p->link[i]];
    automation(&o, &h->nodes[l->t], &h->nodes[l->a], &h->rules[l->rule]);
  }
  return sl_syn_text_finish(&o);
}
