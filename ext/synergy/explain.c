/*
** explain.c: a hop in words for a home owner (docs/synergy.md, "Explanations"): what
** happens, where both ends are, and why it is suggested, with no model numbers (those
** are in the rows' own columns):
**
**   When Hall motion detects motion, turn on Hall light. Both are in the Hall; a motion
**   sensor usually drives a light; their names share "hall".
**
** Names are shown without a word repeated right after itself ("Light Light"); an area
** read from the names (areas.c) says so.
*/
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/alloc.h"
#include "synergy.h"

char *sl_syn_display_name(const char *name) {
  size_t n = strlen(name), o = 0, prev = 0, prev_len = 0;
  char *out = sl_malloc(n + 1);
  if (!out) return NULL;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && name[j] != ' ') j++;
    /* Skip a word equal (ASCII case ignored) to the one before it. */
    if (!(o > 0 && j - i == prev_len && strncasecmp(out + prev, name + i, prev_len) == 0)) {
      if (o > 0) out[o++] = ' ';
      prev = o;
      prev_len = j - i;
      memcpy(out + o, name + i, j - i);
      o += j - i;
    }
    i = j;
    while (i < n && name[i] == ' ') i++;
  }
  out[o] = 0;
  return out;
}

/* "binary_sensor" as words into buf. */
static void words_of(char *buf, size_t cap, const char *id) {
  size_t i = 0;
  for (; id && id[i] && i + 1 < cap; i++) buf[i] = id[i] == '_' ? ' ' : id[i];
  buf[i] = 0;
}

/* What kind of thing a trigger is: "motion sensor", "button", "remote", "media player". */
static void trigger_noun(char *buf, size_t cap, const sl_syn_node *n) {
  char klass[64], dom[64];
  if (strcmp(n->domain, "remote") == 0) snprintf(buf, cap, "remote");
  else if (strcmp(n->domain, "event") == 0) snprintf(buf, cap, "button");
  else if (strcmp(n->domain, "sensor") == 0 || strcmp(n->domain, "binary_sensor") == 0) {
    words_of(klass, sizeof klass, n->device_class);
    snprintf(buf, cap, "%s%ssensor", klass, *klass ? " " : "");
  } else {
    words_of(dom, sizeof dom, n->domain);
    snprintf(buf, cap, "%s", dom);
  }
}

/* What kind of thing an action is: "light", "thermostat", "media player". */
static void action_noun(char *buf, size_t cap, const sl_syn_node *n) {
  if (strcmp(n->domain, "climate") == 0) snprintf(buf, cap, "thermostat");
  else if (strcmp(n->domain, "alarm_control_panel") == 0) snprintf(buf, cap, "alarm panel");
  else words_of(buf, cap, n->domain);
}

static const char *article(const char *noun) { return strchr("aeiouAEIOU", noun[0]) ? "an" : "a"; }

/* "the Kitchen", but "Kid1's room" as it is. */
static const char *the(const char *area) {
  return strstr(area, "'s") || isdigit((unsigned char)area[0]) ? "" : "the ";
}

/* The areas of both ends. */
static void add_areas(sl_syn_text *t, const char *tn, const sl_syn_node *a_t, const char *an, const sl_syn_node *a_a) {
  const char *read = a_t->area_inferred || a_a->area_inferred ? " (read from the names)" : "";
  if (a_t->area_name && a_a->area_name && a_t->area_id && a_a->area_id && strcmp(a_t->area_id, a_a->area_id) == 0)
    sl_syn_text_add(t, "Both are in %s%s%s", the(a_t->area_name), a_t->area_name, read);
  else if (a_t->area_name && a_a->area_name)
    sl_syn_text_add(t, "%s is in %s%s, %s in %s%s%s", tn, the(a_t->area_name), a_t->area_name, an, the(a_a->area_name),
        a_a->area_name, read);
  else if (a_t->area_name || a_a->area_name)
    sl_syn_text_add(t, "%s is in %s%s%s; %s has no area", a_t->area_name ? tn : an,
        the(a_t->area_name ? a_t->area_name : a_a->area_name), a_t->area_name ? a_t->area_name : a_a->area_name,
        read, a_t->area_name ? an : tn);
  else
    sl_syn_text_add(t, "Neither has an area");
}

/* Whether name has word (as sl_syn_name_word gives them). */
static int has_word(const char *name, const char *word) {
  char v[64];
  while (sl_syn_name_word(&name, v, sizeof v) > 0)
    if (strcmp(v, word) == 0) return 1;
  return 0;
}

/* The words both names share (as the name signal compares them), each once, up to three. */
static void add_shared_words(sl_syn_text *t, const char *x, const char *y) {
  char seen[3][64], w[64];
  int shown = 0;
  while (shown < 3 && sl_syn_name_word(&x, w, sizeof w) > 0) {
    int again = 0;
    for (int i = 0; i < shown; i++) again |= strcmp(seen[i], w) == 0;
    if (again || !has_word(y, w)) continue;
    sl_syn_text_add(t, shown ? ", \"%s\"" : "; their names share \"%s\"", w);
    memcpy(seen[shown++], w, sizeof w);
  }
}

char *sl_syn_explain(const sl_syn_home *h, const sl_syn_link *l) {
  const sl_syn_node *tn = &h->nodes[l->t], *an = &h->nodes[l->a];
  const sl_syn_rule *rule = &h->rules[l->rule];
  char *tname = sl_syn_display_name(tn->name), *aname = sl_syn_display_name(an->name);
  char tk[96], ak[64];
  sl_syn_text t = {0};
  if (!tname || !aname) {
    sl_free(tname);
    sl_free(aname);
    return NULL;
  }
  trigger_noun(tk, sizeof tk, tn);
  action_noun(ak, sizeof ak, an);
  sl_syn_text_add(&t, "When %s %s, %s %s. ", tname, rule->phrase, rule->verb, aname);
  add_areas(&t, tname, tn, aname, an);
  sl_syn_text_add(&t, "; %s %s %s %s %s", article(tk), tk,
      rule->weight >= 0.8 ? "usually drives" : rule->weight >= 0.5 ? "often drives" : "can drive", article(ak), ak);
  add_shared_words(&t, tn->name, an->name);
  if (h->has_history && l->history > 0) sl_syn_text_add(&t, "; the recorder saw them change together");
  sl_syn_text_add(&t, ".%s", l->automated ? " Already automated." : "");
  sl_free(tname);
  sl_free(aname);
  return sl_syn_text_finish(&t);
}
