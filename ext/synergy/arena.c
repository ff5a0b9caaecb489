/*
** arena.c: the memory helpers synergy's readers share (synergy.h): strings kept for the
** rows that point at them, and growing arrays of rows.
*/
#include <stdlib.h>
#include <string.h>

#include "../base/alloc.h"
#include "synergy.h"

const char *sl_syn_keep_n(sl_syn_strings *k, const char *s, size_t len, int *fail) {
  char *copy;
  if (!s || *fail) return NULL;
  if (k->n == k->cap) {
    char **grown = sl_syn_grow(k->s, k->n, &k->cap, sizeof *grown);
    if (!grown) return *fail = 1, NULL;
    k->s = grown;
  }
  if (!(copy = sl_malloc(len + 1))) return *fail = 1, NULL;
  memcpy(copy, s, len);
  copy[len] = 0;
  return k->s[k->n++] = copy;
}

const char *sl_syn_keep(sl_syn_strings *k, const char *s, int *fail) {
  return s ? sl_syn_keep_n(k, s, strlen(s), fail) : NULL;
}

void sl_syn_strings_free(sl_syn_strings *k) {
  for (size_t i = 0; i < k->n; i++) sl_free(k->s[i]);
  sl_free(k->s);
  memset(k, 0, sizeof *k);
}

void *sl_syn_grow(void *items, size_t n, size_t *cap, size_t size) {
  size_t want;
  void *grown;
  if (n < *cap) return items;
  want = *cap ? *cap * 2 : 64;
  if (want > (size_t)-1 / size || !(grown = sl_realloc(items, want * size))) return NULL;
  *cap = want;
  return grown;
}
