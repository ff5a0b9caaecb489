/*
** descriptor.c: the natural-language texts synergy builds from a home: one descriptor per
** node (what the embedding model reads) and a hop's statement (what the cross-encoder
** reads and the rows show). Plain words from the registry's own fields, so a change to a
** name, class, unit or area changes the text, so its cache address: only that node is
** embedded again.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/alloc.h"
#include "synergy.h"

/* "binary_sensor" reads as "binary sensor". */
static void words(char *dst, size_t cap, const char *id) {
  size_t i = 0;
  for (; id && id[i] && i + 1 < cap; i++) dst[i] = id[i] == '_' ? ' ' : id[i];
  dst[i] = 0;
}

char *sl_syn_descriptor(const sl_syn_node *node) {
  char domain[64], klass[64], unit[80] = "", area[300] = "", device[300] = "";
  words(domain, sizeof domain, node->domain);
  words(klass, sizeof klass, node->device_class);
  if (node->unit && *node->unit) snprintf(unit, sizeof unit, " in %s", node->unit);
  if (node->area_name && *node->area_name) snprintf(area, sizeof area, " in %s", node->area_name);
  /* The device name adds words only when the entity's own name does not start with it. */
  if (node->device_name && strncmp(node->name, node->device_name, strlen(node->device_name)) != 0)
    snprintf(device, sizeof device, " (device %s)", node->device_name);
  return sl_mprintf("%s: %s%s%s%s%s%s", node->name, klass, *klass ? " " : "", domain, unit,
                     area, device);
}

char *sl_syn_statement(const sl_syn_node *t, const sl_syn_node *a, const sl_syn_rule *rule) {
  char domain[64];
  words(domain, sizeof domain, a->domain);
  if (a->area_name && *a->area_name)
    return sl_mprintf("When %s %s, %s %s (%s) in %s", t->name, rule->phrase, rule->verb, a->name, domain,
                       a->area_name);
  return sl_mprintf("When %s %s, %s %s (%s)", t->name, rule->phrase, rule->verb, a->name, domain);
}
