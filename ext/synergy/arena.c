/*
** arena.c: the memory helpers synergy's readers and writers share (synergy.h): strings
** kept for the rows that point at them, growing arrays of rows, growing strings.
*/
#include <stdarg.h>
#include <stdio.h>
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

/* Room for len more bytes and a NUL; 0 when out of memory (t->failed set). */
static int text_room(sl_syn_text *t, size_t len) {
  size_t cap;
  char *g;
  if (t->failed) return 0;
  if (t->s && t->n + len + 1 <= t->cap) return 1;
  cap = (t->n + len + 1) * 2;
  if (!(g = sl_realloc(t->s, cap))) return t->failed = 1, 0;
  t->s = g;
  t->cap = cap;
  return 1;
}

void sl_syn_text_put(sl_syn_text *t, const char *s, size_t len) {
  if (!text_room(t, len)) return;
  memcpy(t->s + t->n, s, len);
  t->n += len;
  t->s[t->n] = 0;
}

void sl_syn_text_add(sl_syn_text *t, const char *fmt, ...) {
  va_list ap;
  int need;
  va_start(ap, fmt);
  need = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (need < 0) {
    t->failed = 1;
    return;
  }
  if (!text_room(t, (size_t)need)) return;
  va_start(ap, fmt);
  vsnprintf(t->s + t->n, t->cap - t->n, fmt, ap);
  va_end(ap);
  t->n += (size_t)need;
}

char *sl_syn_text_finish(sl_syn_text *t) {
  if (t->failed) {
    sl_free(t->s);
    return NULL;
  }
  return t->s ? t->s : sl_strdup("");
}
