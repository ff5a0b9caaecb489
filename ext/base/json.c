/*
** json.c: the strict JSON reader declared in json.h.
**
** This file owns the parsing of every JSON text semlite reads: config.json, the
** tokenizer files and the safetensors header. Those arrive from the network, so the
** reader accepts RFC 8259 and nothing else. It refuses what lenient parsers let
** through (trailing commas, comments, leading zeros, bare control characters, invalid
** UTF-8, lone surrogates, duplicate keys), because a byte that two readers understand
** differently is how a file means one thing to us and another to its producer.
**
** Design:
**   - Recursive descent. The nesting depth is bounded by SL_JSON_MAX_DEPTH so that a
**     hostile "[[[[..." cannot exhaust the C stack.
**   - Every node, decoded string and number lexeme lives in one chunked arena owned
**     by the sl_json_doc. The tree never points into the input, so callers may drop
**     the text right after parsing, and sl_json_free() releases everything at once.
**   - Duplicate keys are found when an object closes, by sorting its members: a
**     tokenizer vocabulary has 30k keys and a pairwise scan would be quadratic.
**   - Numbers are converted by strtod_l() in the "C" locale. The host process is an
**     arbitrary SQLite application and may have a locale whose decimal point is ','.
**
** Error messages name the byte offset (0-based) of the offending byte in the text:
** "invalid JSON at byte 17: expected ':'". sl_json_parse_file reads through file.c
** (regular files only, size checked before any read).
*/
#ifndef _GNU_SOURCE
# define _GNU_SOURCE /* strtod_l, newlocale */
#endif
#include "alloc.h"
#include "json.h"
#include "file.h"

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Arena chunks grow geometrically up to this size; larger requests get their own. */
#define ARENA_FIRST  4096
#define ARENA_MAX    (1u << 20)

typedef struct chunk chunk;
struct chunk {
  chunk *prev;
  size_t cap, used;
};

struct sl_json_doc {
  chunk *chunks;     /* newest first */
  size_t next_cap;
  sl_json *root;
};

/* A node as the parser allocates it: the public part plus where it starts in the
** text (for an object member, where its key starts), for duplicate-key messages. */
typedef struct jnode {
  sl_json v;
  size_t pos;
} jnode;

typedef struct parser {
  const unsigned char *s;
  size_t len, i;
  sl_json_doc *doc;
  sl_err *err;
  locale_t c_locale;  /* created on the first number */
} parser;

/* Chunks are malloc'ed, so their data, which starts HDR bytes in, is aligned for
** anything. Nodes are aligned as nodes, text is not padded: for a hostile
** "[0,0,0,...]" the tree costs about 50 bytes per input byte, and padding would add
** a fifth to that. */
#define HDR ((sizeof(chunk) + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1))

static void *arena_alloc(sl_json_doc *d, size_t n, size_t align) {
  chunk *c = d->chunks;
  size_t at = 0;
  if (n > SIZE_MAX / 4) return NULL;
  if (c) at = (c->used + align - 1) & ~(align - 1);
  if (!c || at > c->cap || c->cap - at < n) {
    size_t cap = d->next_cap > n ? d->next_cap : n;
    c = sl_malloc(HDR + cap);
    if (!c) return NULL;
    c->prev = d->chunks;
    c->cap = cap;
    d->chunks = c;
    if (d->next_cap < ARENA_MAX) d->next_cap *= 2;
    at = 0;
  }
  c->used = at + n;
  return (char *)c + HDR + at;
}

/* Clips s[0..n) to at most 60 bytes on a UTF-8 character boundary, so that a huge
** key cannot crowd the position out of an error message. */
static int clip(const char *s, size_t n) {
  if (n <= 60) return (int)n;
  n = 60;
  while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
  return (int)n;
}

static int fail_at(parser *p, size_t at, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 3, 4)))
#endif
  ;
static int fail_at(parser *p, size_t at, const char *fmt, ...) {
  char what[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return sl_fail(p->err, "invalid JSON at byte %zu: %s", at, what);
}

static int fail_oom(parser *p) {
  return sl_fail_code(p->err, SL_CODE_NOMEM, "out of memory while parsing JSON");
}

/* Describes the byte at p->i for "unexpected ..." messages. */
static int fail_unexpected(parser *p) {
  unsigned c;
  if (p->i >= p->len) return fail_at(p, p->i, "unexpected end of input");
  c = p->s[p->i];
  if (c > 0x20 && c < 0x7F) return fail_at(p, p->i, "unexpected character '%c'", c);
  return fail_at(p, p->i, "unexpected byte 0x%02x", c);
}

static jnode *new_node(parser *p, sl_json_type type) {
  jnode *n = arena_alloc(p->doc, sizeof *n, _Alignof(jnode));
  if (n) {
    memset(n, 0, sizeof *n);
    n->v.type = type;
    n->pos = p->i;
  }
  return n;
}

static void skip_ws(parser *p) {
  while (p->i < p->len) {
    unsigned char c = p->s[p->i];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    p->i++;
  }
}

/* Length of the well-formed UTF-8 sequence at s[0..n) (RFC 3629: no overlong forms,
** no surrogates, nothing above U+10FFFF), or 0 if there is none. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  unsigned c = s[0], lo = 0x80, hi = 0xBF;
  size_t len, k;
  if (c < 0x80) return 1;
  if (c < 0xC2) return 0;
  if (c < 0xE0) len = 2;
  else if (c < 0xF0) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c < 0xF5) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else return 0;
  if (n < len || s[1] < lo || s[1] > hi) return 0;
  for (k = 2; k < len; k++) {
    if ((s[k] & 0xC0) != 0x80) return 0;
  }
  return len;
}

static size_t utf8_put(char *o, unsigned cp) {
  if (cp < 0x80) { o[0] = (char)cp; return 1; }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | cp >> 6);
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | cp >> 12);
    o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | cp >> 18);
  o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
  o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
  o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Reads the 4 hex digits of a \u escape at s[at..at+4). */
static int hex4(const parser *p, size_t at, unsigned *out) {
  unsigned v = 0;
  if (at > p->len || p->len - at < 4) return 0;
  for (size_t k = at; k < at + 4; k++) {
    unsigned c = p->s[k], d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return 0;
    v = v << 4 | d;
  }
  *out = v;
  return 1;
}

/* Parses the string whose opening quote is at p->i into a NUL-terminated arena copy.
** A first pass finds the closing quote so that the copy can be sized: decoding never
** produces more bytes than it consumes, so the raw length is enough. */
static int parse_string(parser *p, const char **out, size_t *out_len) {
  const unsigned char *s = p->s;
  size_t j = ++p->i, o = 0;
  char *buf;
  while (j < p->len && s[j] != '"') j += s[j] == '\\' ? 2 : 1;
  if (j > p->len) j = p->len;
  buf = arena_alloc(p->doc, j - p->i + 1, 1);
  if (!buf) return fail_oom(p);
  for (;;) {
    unsigned c, cp, lo;
    size_t at = p->i, n;
    if (at >= p->len) return fail_at(p, at, "unterminated string");
    c = s[at];
    if (c == '"') break;
    if (c < 0x20) return fail_at(p, at, "control character 0x%02x in string", c);
    if (c >= 0x80) {
      n = utf8_len(s + at, p->len - at);
      if (!n) return fail_at(p, at, "invalid UTF-8 in string");
      memcpy(buf + o, s + at, n);
      o += n;
      p->i += n;
      continue;
    }
    if (c != '\\') {
      buf[o++] = (char)c;
      p->i++;
      continue;
    }
    if (at + 1 >= p->len) return fail_at(p, at, "unterminated string");
    switch (s[at + 1]) {
      case '"': case '\\': case '/': buf[o++] = (char)s[at + 1]; break;
      case 'b': buf[o++] = '\b'; break;
      case 'f': buf[o++] = '\f'; break;
      case 'n': buf[o++] = '\n'; break;
      case 'r': buf[o++] = '\r'; break;
      case 't': buf[o++] = '\t'; break;
      case 'u':
        if (!hex4(p, at + 2, &cp)) return fail_at(p, at, "invalid \\u escape");
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return fail_at(p, at, "unpaired surrogate \\u%04X", cp);
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          /* A high surrogate counts only with a low one right after it. */
          if (at + 7 >= p->len || s[at + 6] != '\\' || s[at + 7] != 'u'
           || !hex4(p, at + 8, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
            return fail_at(p, at, "unpaired surrogate \\u%04X", cp);
          }
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          p->i += 6;
        }
        o += utf8_put(buf + o, cp);
        p->i += 4;
        break;
      default:
        if (s[at + 1] > 0x20 && s[at + 1] < 0x7F) {
          return fail_at(p, at, "invalid escape '\\%c'", s[at + 1]);
        }
        return fail_at(p, at, "invalid escape");
    }
    p->i += 2;
  }
  p->i++;
  buf[o] = 0;
  *out = buf;
  *out_len = o;
  return SL_OK;
}

static int is_digit(const parser *p) {
  return p->i < p->len && p->s[p->i] >= '0' && p->s[p->i] <= '9';
}

/* number = [ "-" ] ( "0" / 1-9 *DIGIT ) [ "." 1*DIGIT ] [ ( "e" / "E" ) [ "+" / "-" ] 1*DIGIT ] */
static int parse_number(parser *p, jnode *n) {
  size_t start = p->i, len;
  char *lex;
  if (p->s[p->i] == '-') p->i++;
  if (!is_digit(p)) return fail_at(p, p->i, "expected a digit");
  if (p->s[p->i] == '0') {
    p->i++;
    if (is_digit(p)) return fail_at(p, start, "leading zero in number");
  } else {
    while (is_digit(p)) p->i++;
  }
  if (p->i < p->len && p->s[p->i] == '.') {
    p->i++;
    if (!is_digit(p)) return fail_at(p, p->i, "expected a digit after '.'");
    while (is_digit(p)) p->i++;
  }
  if (p->i < p->len && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
    p->i++;
    if (p->i < p->len && (p->s[p->i] == '+' || p->s[p->i] == '-')) p->i++;
    if (!is_digit(p)) return fail_at(p, p->i, "expected a digit in exponent");
    while (is_digit(p)) p->i++;
  }
  len = p->i - start;
  lex = arena_alloc(p->doc, len + 1, 1);
  if (!lex) return fail_oom(p);
  memcpy(lex, p->s + start, len);
  lex[len] = 0;
  if (!p->c_locale) {
    p->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (!p->c_locale) return fail_oom(p);
  }
  n->v.number = strtod_l(lex, NULL, p->c_locale);
  if (isinf(n->v.number)) return fail_at(p, start, "number out of range");
  n->v.num_text = lex;
  n->v.num_len = len;
  return SL_OK;
}

static int member_cmp(const void *a, const void *b) {
  const jnode *x = *(const jnode *const *)a, *y = *(const jnode *const *)b;
  size_t n = x->v.key_len < y->v.key_len ? x->v.key_len : y->v.key_len;
  int c = memcmp(x->v.key, y->v.key, n);
  if (c) return c;
  if (x->v.key_len != y->v.key_len) return x->v.key_len < y->v.key_len ? -1 : 1;
  return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Refuses an object with a repeated key, naming the first repetition in the text. */
static int check_duplicates(parser *p, const sl_json *obj) {
  const jnode **m, *dup = NULL;
  const sl_json *c;
  size_t k = 0;
  if (obj->n < 2) return SL_OK;
  m = sl_malloc(obj->n * sizeof *m);
  if (!m) return fail_oom(p);
  for (c = obj->child; c; c = c->next) m[k++] = (const jnode *)c;
  qsort(m, obj->n, sizeof *m, member_cmp);
  for (k = 1; k < obj->n; k++) {
    if (m[k]->v.key_len == m[k - 1]->v.key_len
     && memcmp(m[k]->v.key, m[k - 1]->v.key, m[k]->v.key_len) == 0
     && (!dup || m[k]->pos < dup->pos)) {
      dup = m[k];
    }
  }
  sl_free(m);
  if (!dup) return SL_OK;
  return fail_at(p, dup->pos, "duplicate key '%.*s'", clip(dup->v.key, dup->v.key_len),
                 dup->v.key);
}

static int parse_value(parser *p, int depth, jnode **out);

/* Parses an array or object whose bracket is at p->i. */
static int parse_container(parser *p, int depth, jnode *n) {
  int is_obj = n->v.type == SL_JSON_OBJECT;
  unsigned char close = is_obj ? '}' : ']';
  sl_json **tail = &n->v.child;
  if (depth >= SL_JSON_MAX_DEPTH) {
    return fail_at(p, p->i, "nesting deeper than %d levels", SL_JSON_MAX_DEPTH);
  }
  p->i++;
  skip_ws(p);
  if (p->i < p->len && p->s[p->i] == close) {
    p->i++;
    return SL_OK;
  }
  for (;;) {
    const char *key = NULL;
    size_t key_len = 0, key_pos = 0;
    jnode *child;
    if (is_obj) {
      skip_ws(p);
      if (p->i >= p->len) return fail_unexpected(p);
      if (p->s[p->i] != '"') return fail_at(p, p->i, "expected a string key");
      key_pos = p->i;
      if (parse_string(p, &key, &key_len)) return SL_ERROR;
      skip_ws(p);
      if (p->i >= p->len || p->s[p->i] != ':') return fail_at(p, p->i, "expected ':'");
      p->i++;
    }
    if (parse_value(p, depth + 1, &child)) return SL_ERROR;
    if (is_obj) {
      child->v.key = key;
      child->v.key_len = key_len;
      child->pos = key_pos;
    }
    *tail = &child->v;
    tail = &child->v.next;
    n->v.n++;
    skip_ws(p);
    if (p->i < p->len && p->s[p->i] == ',') {
      p->i++;
      continue;
    }
    if (p->i < p->len && p->s[p->i] == close) break;
    if (p->i >= p->len) return fail_unexpected(p);
    return fail_at(p, p->i, is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
  }
  p->i++;
  return is_obj ? check_duplicates(p, &n->v) : SL_OK;
}

static int parse_literal(parser *p, const char *word, jnode *n) {
  size_t len = strlen(word);
  if (p->len - p->i < len || memcmp(p->s + p->i, word, len) != 0) {
    return fail_at(p, p->i, "invalid literal");
  }
  p->i += len;
  n->v.boolean = word[0] == 't';
  return SL_OK;
}

static int parse_value(parser *p, int depth, jnode **out) {
  jnode *n;
  unsigned char c;
  skip_ws(p);
  if (p->i >= p->len) return fail_unexpected(p);
  c = p->s[p->i];
  switch (c) {
    case '{': n = new_node(p, SL_JSON_OBJECT); break;
    case '[': n = new_node(p, SL_JSON_ARRAY); break;
    case '"': n = new_node(p, SL_JSON_STRING); break;
    case 't': case 'f': n = new_node(p, SL_JSON_BOOL); break;
    case 'n': n = new_node(p, SL_JSON_NULL); break;
    default:
      if (c != '-' && (c < '0' || c > '9')) return fail_unexpected(p);
      n = new_node(p, SL_JSON_NUMBER);
  }
  if (!n) return fail_oom(p);
  *out = n;
  switch (c) {
    case '{': case '[': return parse_container(p, depth, n);
    case '"': return parse_string(p, &n->v.str, &n->v.len);
    case 't': return parse_literal(p, "true", n);
    case 'f': return parse_literal(p, "false", n);
    case 'n': return parse_literal(p, "null", n);
    default: return parse_number(p, n);
  }
}

int sl_json_parse(const char *text, size_t len, sl_json_doc **out, sl_err *err) {
  parser p;
  jnode *root = NULL;
  int rc;
  *out = NULL;
  memset(&p, 0, sizeof p);
  p.s = (const unsigned char *)(text ? text : "");
  p.len = text ? len : 0;
  p.err = err;
  p.doc = sl_calloc(1, sizeof *p.doc);
  if (!p.doc) return sl_fail_code(err, SL_CODE_NOMEM, "out of memory while parsing JSON");
  p.doc->next_cap = ARENA_FIRST;
  rc = parse_value(&p, 0, &root);
  if (rc == SL_OK) {
    skip_ws(&p);
    if (p.i < p.len) rc = fail_at(&p, p.i, "unexpected data after the top-level value");
  }
  if (p.c_locale) freelocale(p.c_locale);
  if (rc != SL_OK) {
    sl_json_free(p.doc);
    return SL_ERROR;
  }
  p.doc->root = &root->v;
  *out = p.doc;
  return SL_OK;
}

const sl_json *sl_json_root(const sl_json_doc *doc) {
  return doc ? doc->root : NULL;
}

void sl_json_free(sl_json_doc *doc) {
  chunk *c, *prev;
  if (!doc) return;
  for (c = doc->chunks; c; c = prev) {
    prev = c->prev;
    sl_free(c);
  }
  sl_free(doc);
}

const sl_json *sl_json_get(const sl_json *obj, const char *key) {
  size_t n;
  if (!obj || obj->type != SL_JSON_OBJECT || !key) return NULL;
  n = strlen(key);
  for (const sl_json *c = obj->child; c; c = c->next) {
    if (c->key_len == n && memcmp(c->key, key, n) == 0) return c;
  }
  return NULL;
}

int sl_json_u64(const sl_json *v, uint64_t *out) {
  uint64_t x = 0;
  if (!v || v->type != SL_JSON_NUMBER || v->num_len == 0) return 0;
  for (size_t k = 0; k < v->num_len; k++) {
    unsigned d = (unsigned char)v->num_text[k] - '0';
    if (d > 9 || x > (UINT64_MAX - d) / 10) return 0;
    x = x * 10 + d;
  }
  *out = x;
  return 1;
}

int sl_json_parse_file(const char *path, size_t max_bytes, sl_json_doc **out, sl_err *err) {
  sl_file f;
  int rc;
  *out = NULL;
  if (sl_file_read(NULL, path, max_bytes, 0, NULL, &f, err)) {
    /* This function's own wording, which names the path in quotes. */
    char e[128];
    if (f.fail == SL_FILE_FAIL_OPEN)
      return sl_fail(err, "cannot open '%s': %s", path, strerror_r(f.fail_errno, e, sizeof e));
    if (f.fail == SL_FILE_FAIL_NOT_REGULAR) return sl_fail(err, "cannot read '%s': not a regular file", path);
    if (f.fail == SL_FILE_FAIL_TOO_LARGE)
      return sl_fail(err, "'%s' is too large: %llu bytes (limit %zu)", path, f.stamp.size, max_bytes);
    return SL_ERROR;
  }
  rc = sl_json_parse(f.data, f.size, out, err);
  sl_file_free(&f);
  if (rc != SL_OK) sl_err_prefix(err, path);
  return rc;
}
