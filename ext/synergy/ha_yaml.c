/*
** ha_yaml.c: YAML text into a json.h tree with libyaml's event parser (ha_yaml.h has the
** tree's rules and bounds). Nodes and strings live in one chunked arena freed at once;
** an alias copies its anchor's nodes (sharing their strings), counted against the node
** cap, so no input makes the tree larger than SL_HA_YAML_MAX_NODES nodes plus its text.
*/
#include "../base/alloc.h"
#include "ha_yaml.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define CHUNK (64 * 1024)
/* Anchors one file may define: HA files use a handful; the cap keeps alias lookups
** (a linear scan over hashes) cheap whatever the input. */
#define MAX_ANCHORS 1000

typedef struct block block;
struct block {
  block *prev;
  size_t cap, used;
  max_align_t data[];
};

typedef struct anchor {
  uint32_t hash;
  const char *name;
  const sl_json *node;
} anchor;

struct sl_ha_yaml {
  block *blocks;
  sl_json *root;
  size_t nodes;
};

/* An open collection: its node, its last child, the key waiting for its value. */
typedef struct frame {
  sl_json *node, *last;
  const char *key;              /* mapping: the key read, its value not yet */
  size_t key_len;
  const char *anchor, *tag;     /* kept in the arena */
  size_t line;
} frame;

typedef struct builder {
  sl_ha_yaml *doc;
  sl_err *err;
  frame stack[SL_JSON_MAX_DEPTH];
  int depth;                    /* open collections */
  int documents;
  anchor anchors[MAX_ANCHORS];
  int n_anchors;
} builder;

static void *alloc(sl_ha_yaml *d, size_t n) {
  block *b = d->blocks;
  n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
  if (!b || b->cap - b->used < n) {
    size_t cap = n > CHUNK ? n : CHUNK;
    if (!(b = sl_malloc(sizeof *b + cap))) return NULL;
    b->prev = d->blocks;
    b->cap = cap;
    b->used = 0;
    d->blocks = b;
  }
  b->used += n;
  return (char *)b->data + b->used - n;
}

/* A NUL-terminated copy in the arena; NULL for NULL (and when out of memory, *fail set). */
static const char *keep(sl_ha_yaml *d, const char *s, size_t n, int *fail) {
  char *c;
  if (!s) return NULL;
  if (!(c = alloc(d, n + 1))) {
    *fail = 1;
    return NULL;
  }
  memcpy(c, s, n);
  c[n] = 0;
  return c;
}

static int fail_line(builder *b, size_t line, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 3, 4)))
#endif
  ;
static int fail_line(builder *b, size_t line, const char *fmt, ...) {
  char where[48];
  va_list ap;
  va_start(ap, fmt);
  sl_vfail(b->err, fmt, ap);
  va_end(ap);
  snprintf(where, sizeof where, "YAML line %zu", line);
  sl_err_prefix(b->err, where);
  return SL_ERROR;
}

/* At most 60 bytes of s, cut on a UTF-8 boundary, for messages. */
static int clip(const char *s, size_t n) {
  if (n <= 60) return (int)n;
  n = 60;
  while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
  return (int)n;
}

static sl_json *new_node(builder *b, sl_json_type type, size_t line) {
  sl_json *n;
  if (b->doc->nodes >= SL_HA_YAML_MAX_NODES) {
    fail_line(b, line, "more than %d nodes with aliases expanded (an alias bomb, or far more than a home's "
                       "configuration)", SL_HA_YAML_MAX_NODES);
    return NULL;
  }
  if (!(n = alloc(b->doc, sizeof *n))) {
    sl_oom(b->err);
    return NULL;
  }
  memset(n, 0, sizeof *n);
  n->type = type;
  b->doc->nodes++;
  return n;
}

/* A copy of src's subtree (strings shared), every node counted, its root at `depth`:
** copies nest (an anchor may hold aliases), so the depth limit is checked again here. */
static sl_json *copy_tree(builder *b, const sl_json *src, size_t line, int depth) {
  sl_json *n, *last = NULL;
  if (depth > SL_JSON_MAX_DEPTH) {
    fail_line(b, line, "nested deeper than %d levels (aliases expanded)", SL_JSON_MAX_DEPTH);
    return NULL;
  }
  if (!(n = new_node(b, src->type, line))) return NULL;
  *n = *src;
  n->child = n->next = NULL;
  for (const sl_json *c = src->child; c; c = c->next) {
    sl_json *k = copy_tree(b, c, line, depth + 1);
    if (!k) return NULL;
    if (last) last->next = k;
    else n->child = k;
    last = k;
  }
  return n;
}

/* The value n goes to the open collection (with the key a mapping waits on), or is the
** root. */
static void attach(builder *b, sl_json *n) {
  frame *f;
  if (b->depth == 0) {
    b->doc->root = n;
    return;
  }
  f = &b->stack[b->depth - 1];
  if (f->node->type == SL_JSON_OBJECT) {
    n->key = f->key;
    n->key_len = f->key_len;
    f->key = NULL;
  } else {
    n->key = NULL;
    n->key_len = 0;
  }
  if (f->last) f->last->next = n;
  else f->node->child = n;
  f->last = n;
  f->node->n++;
}

static uint32_t hash(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

static int add_anchor(builder *b, const char *name, const sl_json *node, size_t line) {
  if (!name) return SL_OK;
  if (b->n_anchors == MAX_ANCHORS) return fail_line(b, line, "more than %d anchors", MAX_ANCHORS);
  b->anchors[b->n_anchors].hash = hash(name);
  b->anchors[b->n_anchors].name = name;
  b->anchors[b->n_anchors++].node = node;
  return SL_OK;
}

/* The latest complete node anchored as name (an anchor may be redefined). */
static const sl_json *find_anchor(builder *b, const char *name) {
  uint32_t h = hash(name);
  for (int i = b->n_anchors - 1; i >= 0; i--)
    if (b->anchors[i].hash == h && strcmp(b->anchors[i].name, name) == 0) return b->anchors[i].node;
  return NULL;
}

/* A mapping is waiting for a key: only a scalar can be one. */
static int want_key(builder *b) {
  return b->depth > 0 && b->stack[b->depth - 1].node->type == SL_JSON_OBJECT && !b->stack[b->depth - 1].key;
}

static int is_local_tag(const char *tag) { return tag && tag[0] == '!'; }

static int cmp_key(const void *x, const void *y) {
  const sl_json *a = *(const sl_json *const *)x, *c = *(const sl_json *const *)y;
  if (a->key_len != c->key_len) return a->key_len < c->key_len ? -1 : 1;
  return memcmp(a->key, c->key, a->key_len);
}

/* HA refuses a mapping with a key twice, and so does this reader. */
static int check_keys(builder *b, const frame *f) {
  const sl_json **all;
  size_t n = 0;
  int rc = SL_OK;
  if (f->node->n < 2) return SL_OK;
  if (!(all = sl_malloc(f->node->n * sizeof *all))) return sl_oom(b->err);
  for (const sl_json *c = f->node->child; c; c = c->next) all[n++] = c;
  qsort(all, n, sizeof *all, cmp_key);
  for (size_t i = 1; i < n && rc == SL_OK; i++)
    if (cmp_key(&all[i - 1], &all[i]) == 0)
      rc = fail_line(b, f->line, "duplicate key '%.*s' in the mapping that starts here",
                     clip(all[i]->key, all[i]->key_len), all[i]->key);
  sl_free(all);
  return rc;
}

static int scalar(builder *b, const yaml_event_t *e, size_t line) {
  const char *s = (const char *)e->data.scalar.value, *tag = (const char *)e->data.scalar.tag;
  size_t n = e->data.scalar.length;
  int fail = 0;
  sl_json *v;
  if (n > SL_HA_YAML_MAX_SCALAR)
    return fail_line(b, line, "a scalar of %zu bytes, over the %d-byte limit", n, SL_HA_YAML_MAX_SCALAR);
  if (want_key(b)) {
    frame *f = &b->stack[b->depth - 1];
    if (!(f->key = keep(b->doc, s, n, &fail))) return sl_oom(b->err);
    f->key_len = n;
    return SL_OK;
  }
  if (!(v = new_node(b, SL_JSON_STRING, line))) return SL_ERROR;
  if (is_local_tag(tag)) {
    v->type = SL_JSON_NULL;
    v->str = keep(b->doc, tag, strlen(tag), &fail);
  } else if (!tag && e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
             (n == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
              strcmp(s, "NULL") == 0)) {
    v->type = SL_JSON_NULL;
  } else {
    v->str = keep(b->doc, s, n, &fail);
    v->len = n;
  }
  if (fail) return sl_oom(b->err);
  attach(b, v);
  if (e->data.scalar.anchor) {
    const char *name = (const char *)e->data.scalar.anchor;
    if (!(name = keep(b->doc, name, strlen(name), &fail))) return sl_oom(b->err);
    return add_anchor(b, name, v, line);
  }
  return SL_OK;
}

static int start(builder *b, sl_json_type type, const char *anchor_name, const char *tag, size_t line) {
  frame *f;
  sl_json *v;
  int fail = 0;
  if (want_key(b)) return fail_line(b, line, "a mapping key that is a sequence or a mapping (not supported)");
  if (b->depth == SL_JSON_MAX_DEPTH) return fail_line(b, line, "nested deeper than %d levels", SL_JSON_MAX_DEPTH);
  if (!(v = new_node(b, type, line))) return SL_ERROR;
  attach(b, v);
  f = &b->stack[b->depth++];
  memset(f, 0, sizeof *f);
  f->node = v;
  f->line = line;
  f->anchor = keep(b->doc, anchor_name, anchor_name ? strlen(anchor_name) : 0, &fail);
  f->tag = is_local_tag(tag) ? keep(b->doc, tag, strlen(tag), &fail) : NULL;
  return fail ? sl_oom(b->err) : SL_OK;
}

static int is_merge(const sl_json *c) { return c->key_len == 2 && memcmp(c->key, "<<", 2) == 0; }

/* 1 when key is among the n sorted members of own. */
static int has_key(const sl_json **own, size_t n, const sl_json *key) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int d = cmp_key(&own[mid], &key);
    if (d == 0) return 1;
    if (d < 0) lo = mid + 1;
    else hi = mid;
  }
  return 0;
}

typedef struct candidate {
  const sl_json *m;
  size_t order;
} candidate;

static int cmp_candidate(const void *x, const void *y) {
  const candidate *a = x, *c = y;
  int d = cmp_key(&a->m, &c->m);
  return d ? d : a->order < c->order ? -1 : a->order > c->order;
}

static int cmp_order(const void *x, const void *y) {
  const candidate *a = x, *c = y;
  return a->order < c->order ? -1 : a->order > c->order;
}

/* Merge keys (`<<: *defaults`, `<<: [*a, *b]`): the members of the merged mappings that
** the mapping does not have itself, the first source winning, copied in after its own
** members; the "<<" members go. Sorting keeps it O(m log m) in the members merged. */
static int merge(builder *b, frame *f) {
  const sl_json **own = NULL;
  candidate *cand = NULL;
  size_t n_own = 0, n_cand = 0, cap = 0, kept = 0;
  sl_json *c, *prev = NULL, *next;
  int rc = SL_OK;
  for (c = f->node->child; c; c = c->next)
    if (is_merge(c)) break;
  if (!c) return SL_OK;
  if (!(own = sl_malloc(f->node->n * sizeof *own))) return sl_oom(b->err);
  for (c = f->node->child; c; c = c->next)
    if (!is_merge(c)) own[n_own++] = c;
  qsort(own, n_own, sizeof *own, cmp_key);
  /* Unlink the "<<" members, collecting what they bring that the mapping lacks. */
  for (c = f->node->child; c && rc == SL_OK; c = next) {
    const sl_json *src;
    next = c->next;
    if (!is_merge(c)) {
      prev = c;
      continue;
    }
    if (prev) prev->next = next;
    else f->node->child = next;
    if (f->last == c) f->last = prev;
    f->node->n--;
    if (c->type != SL_JSON_OBJECT && c->type != SL_JSON_ARRAY) {
      rc = fail_line(b, f->line, "a merge key '<<' whose value is not a mapping or a list of mappings");
      break;
    }
    for (src = c->type == SL_JSON_OBJECT ? c : c->child; src && rc == SL_OK;
         src = c->type == SL_JSON_OBJECT ? NULL : src->next) {
      if (src->type != SL_JSON_OBJECT) {
        rc = fail_line(b, f->line, "a merge key '<<' whose list holds something other than mappings");
        break;
      }
      for (const sl_json *m = src->child; m && rc == SL_OK; m = m->next) {
        if (has_key(own, n_own, m)) continue;
        if (n_cand == cap) {
          size_t want = cap ? cap * 2 : 16;
          candidate *grown;
          if (b->doc->nodes + n_cand >= SL_HA_YAML_MAX_NODES) {
            rc = fail_line(b, f->line, "more than %d nodes with aliases expanded (an alias bomb, or far more than "
                                       "a home's configuration)", SL_HA_YAML_MAX_NODES);
            break;
          }
          if (!(grown = sl_realloc(cand, want * sizeof *grown))) {
            rc = sl_oom(b->err);
            break;
          }
          cand = grown;
          cap = want;
        }
        cand[n_cand].m = m;
        cand[n_cand].order = n_cand;
        n_cand++;
      }
    }
  }
  if (rc == SL_OK && n_cand) {
    /* The first of each key, in the order the sources give them. */
    qsort(cand, n_cand, sizeof *cand, cmp_candidate);
    for (size_t i = 0; i < n_cand; i++)
      if (i == 0 || cmp_key(&cand[i - 1].m, &cand[i].m) != 0) cand[kept++] = cand[i];
    qsort(cand, kept, sizeof *cand, cmp_order);
  }
  for (size_t i = 0; i < kept && rc == SL_OK; i++) {
    sl_json *copy = copy_tree(b, cand[i].m, f->line, b->depth + 1);
    if (!copy) {
      rc = SL_ERROR;
      break;
    }
    if (f->last) f->last->next = copy;
    else f->node->child = copy;
    f->last = copy;
    f->node->n++;
  }
  sl_free(own);
  sl_free(cand);
  return rc;
}

static int end(builder *b) {
  frame *f = &b->stack[--b->depth];
  if (f->node->type == SL_JSON_OBJECT && (check_keys(b, f) || merge(b, f))) return SL_ERROR;
  if (f->tag) {
    /* Opaque: an include or a secret this reader cannot resolve. */
    f->node->type = SL_JSON_NULL;
    f->node->str = f->tag;
    f->node->child = NULL;
    f->node->n = 0;
  }
  return add_anchor(b, f->anchor, f->node, f->line);
}

static int alias(builder *b, const char *name, size_t line) {
  const sl_json *target = find_anchor(b, name);
  sl_json *v;
  if (want_key(b)) return fail_line(b, line, "an alias as a mapping key (not supported)");
  if (!target) return fail_line(b, line, "alias *%.*s names no complete anchor", clip(name, strlen(name)), name);
  if (!(v = copy_tree(b, target, line, b->depth))) return SL_ERROR;
  attach(b, v);
  return SL_OK;
}

static int event(builder *b, const yaml_event_t *e) {
  size_t line = e->start_mark.line + 1;
  switch (e->type) {
  case YAML_DOCUMENT_START_EVENT:
    if (++b->documents > 1)
      return fail_line(b, line, "a second YAML document: pass each file as its own argument");
    return SL_OK;
  case YAML_SCALAR_EVENT:
    return scalar(b, e, line);
  case YAML_SEQUENCE_START_EVENT:
    return start(b, SL_JSON_ARRAY, (const char *)e->data.sequence_start.anchor,
                 (const char *)e->data.sequence_start.tag, line);
  case YAML_MAPPING_START_EVENT:
    return start(b, SL_JSON_OBJECT, (const char *)e->data.mapping_start.anchor,
                 (const char *)e->data.mapping_start.tag, line);
  case YAML_SEQUENCE_END_EVENT:
  case YAML_MAPPING_END_EVENT:
    return end(b);
  case YAML_ALIAS_EVENT:
    return alias(b, (const char *)e->data.alias.anchor, line);
  default:
    return SL_OK;
  }
}

static int parser_fail(const yaml_parser_t *p, sl_err *err) {
  const char *problem = p->problem ? p->problem : "unknown error";
  if (p->error == YAML_MEMORY_ERROR) return sl_oom(err);
  if (p->error == YAML_READER_ERROR)
    return sl_fail(err, "invalid YAML at byte %zu: %s", p->problem_offset, problem);
  if (p->context)
    return sl_fail(err, "invalid YAML at line %zu, column %zu: %s (%s at line %zu)", p->problem_mark.line + 1,
                   p->problem_mark.column + 1, problem, p->context, p->context_mark.line + 1);
  return sl_fail(err, "invalid YAML at line %zu, column %zu: %s", p->problem_mark.line + 1, p->problem_mark.column + 1,
                 problem);
}

int sl_ha_yaml_parse(const char *text, size_t len, sl_ha_yaml **out, sl_err *err) {
  yaml_parser_t parser;
  builder *b;
  int rc = SL_OK, done = 0;
  *out = NULL;
  if (!(b = sl_calloc(1, sizeof *b)) || !(*out = sl_calloc(1, sizeof **out))) {
    sl_free(b);
    return sl_oom(err);
  }
  b->doc = *out;
  b->err = err;
  if (!yaml_parser_initialize(&parser)) {
    sl_free(b);
    return sl_oom(err);
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  while (rc == SL_OK && !done) {
    yaml_event_t e;
    if (!yaml_parser_parse(&parser, &e)) {
      rc = parser_fail(&parser, err);
      break;
    }
    done = e.type == YAML_STREAM_END_EVENT;
    rc = event(b, &e);
    yaml_event_delete(&e);
  }
  yaml_parser_delete(&parser);
  sl_free(b);
  return rc;
}

const sl_json *sl_ha_yaml_root(const sl_ha_yaml *doc) { return doc ? doc->root : NULL; }

size_t sl_ha_yaml_nodes(const sl_ha_yaml *doc) { return doc ? doc->nodes : 0; }

void sl_ha_yaml_free(sl_ha_yaml *doc) {
  if (!doc) return;
  for (block *b = doc->blocks, *prev; b; b = prev) {
    prev = b->prev;
    sl_free(b);
  }
  sl_free(doc);
}
