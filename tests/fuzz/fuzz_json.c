/*
** fuzz_json.c: libFuzzer target for the strict JSON reader (ext/engine/json.c).
**
** Beyond what the sanitizers catch (out-of-bounds, use after free, leaks, UB), it
** checks properties that a wrong parser would break:
**   - a refusal has a message that names a byte inside the input;
**   - an accepted document is a well-formed tree (child counts, NUL-terminated
**     strings, unique keys found by sl_json_get, depth within the limit, number
**     lexemes that strtod reads to the stored value);
**   - the tree written back as JSON parses again and writes back to the same bytes,
**     so what the decoder accepts and what it produces agree.
** Any violation calls abort(), which libFuzzer reports as a crash.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../ext/base/json.h"

typedef struct out {
  char *p;
  size_t n, cap;
} out;

static void put(out *o, const char *s, size_t n) {
  if (o->n + n > o->cap) {
    o->cap = (o->n + n) * 2 + 64;
    o->p = realloc(o->p, o->cap);
    if (!o->p) abort();
  }
  memcpy(o->p + o->n, s, n);
  o->n += n;
}

static void put_string(out *o, const char *s, size_t n) {
  put(o, "\"", 1);
  for (size_t k = 0; k < n; k++) {
    unsigned char c = (unsigned char)s[k];
    char esc[8];
    if (c == '"' || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      put(o, esc, 2);
    } else if (c < 0x20) {
      snprintf(esc, sizeof esc, "\\u%04x", c);
      put(o, esc, 6);
    } else {
      put(o, (const char *)&c, 1);
    }
  }
  put(o, "\"", 1);
}

/* Checks the invariants of v and writes it as compact JSON. */
static void walk(const sl_json *v, int depth, out *o) {
  size_t count = 0;
  const sl_json *c;
  switch (v->type) {
    case SL_JSON_NULL: put(o, "null", 4); break;
    case SL_JSON_BOOL:
      if (v->boolean != 0 && v->boolean != 1) abort();
      put(o, v->boolean ? "true" : "false", v->boolean ? 4 : 5);
      break;
    case SL_JSON_NUMBER: {
      uint64_t u;
      if (!v->num_text || v->num_len == 0 || v->num_text[v->num_len] != 0) abort();
      if (strtod(v->num_text, NULL) != v->number) abort();
      if (sl_json_u64(v, &u) && (double)u != v->number) abort();
      put(o, v->num_text, v->num_len);
      break;
    }
    case SL_JSON_STRING:
      if (!v->str || v->str[v->len] != 0) abort();
      put_string(o, v->str, v->len);
      break;
    case SL_JSON_ARRAY:
    case SL_JSON_OBJECT:
      if (depth >= SL_JSON_MAX_DEPTH) abort();
      put(o, v->type == SL_JSON_ARRAY ? "[" : "{", 1);
      for (c = v->child; c; c = c->next, count++) {
        if (count) put(o, ",", 1);
        if (v->type == SL_JSON_OBJECT) {
          if (!c->key || c->key[c->key_len] != 0) abort();
          /* Keys are unique, so a key without NUL bytes finds exactly this member. */
          if (strlen(c->key) == c->key_len && sl_json_get(v, c->key) != c) abort();
          put_string(o, c->key, c->key_len);
          put(o, ":", 1);
        } else if (c->key) {
          abort();
        }
        walk(c, depth + 1, o);
      }
      if (count != v->n) abort();
      put(o, v->type == SL_JSON_ARRAY ? "]" : "}", 1);
      break;
    default:
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sl_json_doc *doc = NULL, *again = NULL;
  sl_err err;
  out first = {0}, second = {0};
  err.msg[0] = 0;
  if (sl_json_parse((const char *)data, size, &doc, &err) != SL_OK) {
    size_t at;
    if (doc) abort();
    if (sscanf(err.msg, "invalid JSON at byte %zu: ", &at) != 1 || at > size) abort();
    return 0;
  }
  walk(sl_json_root(doc), 0, &first);
  if (sl_json_parse(first.p, first.n, &again, &err) != SL_OK) {
    fprintf(stderr, "re-serialization refused: %s\n", err.msg);
    abort();
  }
  walk(sl_json_root(again), 0, &second);
  if (first.n != second.n || memcmp(first.p, second.p, first.n) != 0) abort();
  free(first.p);
  free(second.p);
  sl_json_free(again);
  sl_json_free(doc);
  return 0;
}
