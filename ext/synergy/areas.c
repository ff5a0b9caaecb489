/*
** areas.c: an area for the nodes the registry gives none (docs/synergy.md, "Inferred
** areas"): the area whose name appears in the node's own name, else in its device's
** name, as whole words (ASCII letters and digits do not continue it on either side;
** ASCII case ignored, other bytes compared as they are, so "Cuisine", "厨房" work too).
** The longest such area name wins ("Master Bedroom" over "Bedroom"); ties: the first
** area. The node is then marked area_inferred, which the explanations say.
** Cost O(N x A x L) for N nodes, A areas and names of L bytes.
*/
#include <string.h>

#include "synergy.h"

static int is_word_byte(unsigned char c) {
  return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

static unsigned char lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c; }

/* Whether `word` occurs in `text` as a whole word, ASCII case ignored. */
static int has_word(const char *text, const char *word) {
  const unsigned char *t = (const unsigned char *)text, *w = (const unsigned char *)word;
  size_t n = strlen(word), len = strlen(text);
  if (n == 0 || n > len) return 0;
  for (size_t i = 0; i + n <= len; i++) {
    size_t k = 0;
    while (k < n && lower(t[i + k]) == lower(w[k])) k++;
    if (k < n) continue;
    if (i > 0 && is_word_byte(t[i - 1]) && is_word_byte(w[0])) continue;
    if (i + n < len && is_word_byte(t[i + n]) && is_word_byte(w[n - 1])) continue;
    return 1;
  }
  return 0;
}

/* The area named inside text, or -1. */
static long area_in(const char *text, const sl_syn_area *areas, size_t n_areas) {
  long best = -1;
  size_t best_len = 0;
  if (!text) return -1;
  for (size_t a = 0; a < n_areas; a++) {
    size_t len = strlen(areas[a].name);
    if (len > best_len && has_word(text, areas[a].name)) {
      best = (long)a;
      best_len = len;
    }
  }
  return best;
}

void sl_syn_infer_areas(sl_syn_node *nodes, size_t n, const sl_syn_area *areas, size_t n_areas) {
  for (size_t i = 0; i < n; i++) {
    sl_syn_node *nd = &nodes[i];
    long a;
    if (nd->area_id) continue;
    if ((a = area_in(nd->name, areas, n_areas)) < 0) a = area_in(nd->device_name, areas, n_areas);
    if (a < 0) continue;
    nd->area_id = areas[a].id;
    nd->area_name = areas[a].name;
    nd->area_inferred = 1;
  }
}
