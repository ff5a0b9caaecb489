/*
** test_json.c: tests of the strict JSON reader (ext/engine/json.c).
**
** Every refusal is checked with its exact message, position included, because the
** message is what a user sees when a model folder is broken. The real config and
** tokenizer files of ../shared are parsed too: they are what the reader is for, and
** the 30k-key vocabulary is the size case for duplicate-key detection.
*/
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "../ext/base/json.h"
#include "test.h"

/* Parses text[0..len); returns the doc, or NULL with the message in err. */
static sl_json_doc *parse(const char *text, size_t len, sl_err *err) {
  sl_json_doc *doc = NULL;
  err->msg[0] = 0;
  if (sl_json_parse(text, len, &doc, err) != SL_OK) {
    if (doc) sl_test_fail(__FILE__, __LINE__, "failed parse left a document");
    return NULL;
  }
  return doc;
}

static void test_values(void) {
  static const char text[] =
    " {\"s\": \"hi\", \"n\": -12.5e1, \"i\": 42, \"t\": true, \"f\": false, \"z\": null,\n"
    "  \"a\": [1, [], {}, \"x\"], \"o\": {\"k\": \"v\"}} \t\r\n";
  sl_err err;
  sl_json_doc *doc = parse(text, sizeof text - 1, &err);
  const sl_json *root, *v;
  uint64_t u;
  CHECK_MSG(doc != NULL, "parse failed: %s", err.msg);
  if (!doc) return;
  root = sl_json_root(doc);
  CHECK_INT(root->type, SL_JSON_OBJECT);
  CHECK_INT(root->n, 8);
  CHECK_STR(root->child->key, "s");
  CHECK_STR(root->child->next->key, "n");

  v = sl_json_get(root, "s");
  CHECK(v && v->type == SL_JSON_STRING && v->len == 2);
  CHECK_STR(v ? v->str : NULL, "hi");
  v = sl_json_get(root, "n");
  CHECK(v && v->type == SL_JSON_NUMBER && v->number == -125.0);
  CHECK(v && v->num_len == 7 && memcmp(v->num_text, "-12.5e1", 7) == 0);
  CHECK(!sl_json_u64(v, &u));
  v = sl_json_get(root, "i");
  CHECK(sl_json_u64(v, &u) && u == 42);
  CHECK(v && v->number == 42.0);
  v = sl_json_get(root, "t");
  CHECK(v && v->type == SL_JSON_BOOL && v->boolean == 1);
  v = sl_json_get(root, "f");
  CHECK(v && v->type == SL_JSON_BOOL && v->boolean == 0);
  v = sl_json_get(root, "z");
  CHECK(v && v->type == SL_JSON_NULL);

  v = sl_json_get(root, "a");
  CHECK(v && v->type == SL_JSON_ARRAY && v->n == 4);
  if (v && v->n == 4) {
    const sl_json *c = v->child;
    CHECK(c->type == SL_JSON_NUMBER && c->number == 1.0 && c->key == NULL);
    CHECK(c->next->type == SL_JSON_ARRAY && c->next->n == 0 && c->next->child == NULL);
    CHECK(c->next->next->type == SL_JSON_OBJECT && c->next->next->n == 0);
    CHECK_STR(c->next->next->next->str, "x");
    CHECK(c->next->next->next->next == NULL);
  }
  v = sl_json_get(sl_json_get(root, "o"), "k");
  CHECK_STR(v ? v->str : NULL, "v");

  CHECK(sl_json_get(root, "missing") == NULL);
  CHECK(sl_json_get(root, "") == NULL);
  CHECK(sl_json_get(sl_json_get(root, "a"), "s") == NULL); /* not an object */
  CHECK(sl_json_get(NULL, "s") == NULL);
  sl_json_free(doc);
  sl_json_free(NULL);
  CHECK(sl_json_root(NULL) == NULL);
}

static void test_scalars_at_top(void) {
  static const char *const ok[] = {"0", "-0", "\"\"", "null", "true", "false", " 7 ", "[]", "{}"};
  for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
    sl_err err;
    sl_json_doc *doc = parse(ok[k], strlen(ok[k]), &err);
    CHECK_MSG(doc != NULL, "'%s' refused: %s", ok[k], err.msg);
    sl_json_free(doc);
  }
}

static void test_strings(void) {
  static const struct { const char *json; const char *want; size_t want_len; } cases[] = {
    {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8},
    {"\"\\u00e9\\u00C9\"", "\xC3\xA9\xC3\x89", 4},
    {"\"\\u20AC\"", "\xE2\x82\xAC", 3},
    {"\"\\uD83D\\uDE00\"", "\xF0\x9F\x98\x80", 4},       /* surrogate pair */
    {"\"\\uDBFF\\uDFFF\"", "\xF4\x8F\xBF\xBF", 4},       /* U+10FFFF */
    {"\"a\\u0000b\"", "a\0b", 3},                       /* NUL kept, counted */
    {"\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xEF\xBF\xBF\"", "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xEF\xBF\xBF", 12},
    {"\"\x7F\"", "\x7F", 1},                            /* DEL is not a control char in JSON */
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    sl_err err;
    sl_json_doc *doc = parse(cases[k].json, strlen(cases[k].json), &err);
    const sl_json *v = sl_json_root(doc);
    CHECK_MSG(doc != NULL, "case %zu refused: %s", k, err.msg);
    if (!doc) continue;
    CHECK_MSG(v->type == SL_JSON_STRING && v->len == cases[k].want_len
              && memcmp(v->str, cases[k].want, v->len) == 0 && v->str[v->len] == 0,
              "case %zu decoded wrong (len %zu)", k, v->len);
    sl_json_free(doc);
  }
}

static void test_numbers(void) {
  static const struct { const char *json; double want; int is_u64; uint64_t u; } cases[] = {
    {"0", 0.0, 1, 0},
    {"-0", 0.0, 0, 0},
    {"1.5", 1.5, 0, 0},
    {"-1.25E+2", -125.0, 0, 0},
    {"1e-2", 0.01, 0, 0},
    {"1e2", 100.0, 0, 0},
    {"1.0", 1.0, 0, 0},
    {"1e-400", 0.0, 0, 0},                 /* underflow to zero is fine */
    {"1e-12", 1e-12, 0, 0},
    {"30522", 30522.0, 1, 30522},
    {"18446744073709551615", 18446744073709551615.0, 1, UINT64_MAX},
    {"18446744073709551616", 18446744073709551616.0, 0, 0},
    {"99999999999999999999", 1e20, 0, 0},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    sl_err err;
    uint64_t u = 12345;
    sl_json_doc *doc = parse(cases[k].json, strlen(cases[k].json), &err);
    const sl_json *v = sl_json_root(doc);
    CHECK_MSG(doc != NULL, "'%s' refused: %s", cases[k].json, err.msg);
    if (!doc) continue;
    CHECK_MSG(v->type == SL_JSON_NUMBER && v->number == cases[k].want, "'%s' read as %.17g",
              cases[k].json, v->number);
    CHECK_MSG(v->num_len == strlen(cases[k].json) && strcmp(v->num_text, cases[k].json) == 0,
              "'%s' lexeme wrong", cases[k].json);
    CHECK_MSG(sl_json_u64(v, &u) == cases[k].is_u64, "'%s' u64 verdict wrong", cases[k].json);
    if (cases[k].is_u64) CHECK_MSG(u == cases[k].u, "'%s' u64 value wrong", cases[k].json);
    sl_json_free(doc);
  }
  {
    sl_err err;
    uint64_t u;
    sl_json_doc *doc = parse("\"7\"", 3, &err);
    CHECK(!sl_json_u64(sl_json_root(doc), &u));
    CHECK(!sl_json_u64(NULL, &u));
    sl_json_free(doc);
  }
}

/* Each refusal and its exact message. len 0 means strlen(text). */
static const struct { const char *text; size_t len; const char *msg; } bad[] = {
  {"", 0, "invalid JSON at byte 0: unexpected end of input"},
  {"  \n", 0, "invalid JSON at byte 3: unexpected end of input"},
  {"{", 0, "invalid JSON at byte 1: unexpected end of input"},
  {"[1", 0, "invalid JSON at byte 2: unexpected end of input"},
  {"{\"a\":", 0, "invalid JSON at byte 5: unexpected end of input"},
  {"{\"a\"", 0, "invalid JSON at byte 4: expected ':'"},
  {"{\"a\" 1}", 0, "invalid JSON at byte 5: expected ':'"},
  {"{\"a\":1,}", 0, "invalid JSON at byte 7: expected a string key"},
  {"{'a':1}", 0, "invalid JSON at byte 1: expected a string key"},
  {"{1:1}", 0, "invalid JSON at byte 1: expected a string key"},
  {"[1,]", 0, "invalid JSON at byte 3: unexpected character ']'"},
  {"[1 2]", 0, "invalid JSON at byte 3: expected ',' or ']'"},
  {"{\"a\":1 \"b\":2}", 0, "invalid JSON at byte 7: expected ',' or '}'"},
  {"[\"a\"\0]", 6, "invalid JSON at byte 4: expected ',' or ']'"},
  {"{\"a\":1} x", 0, "invalid JSON at byte 8: unexpected data after the top-level value"},
  {"[1,2]]", 0, "invalid JSON at byte 5: unexpected data after the top-level value"},
  {"1 2", 0, "invalid JSON at byte 2: unexpected data after the top-level value"},
  {"{}\0", 3, "invalid JSON at byte 2: unexpected data after the top-level value"},
  {"/* c */ 1", 0, "invalid JSON at byte 0: unexpected character '/'"},
  {"\xEF\xBB\xBF{}", 0, "invalid JSON at byte 0: unexpected byte 0xef"},
  {"\x01", 0, "invalid JSON at byte 0: unexpected byte 0x01"},
  {"\f1", 0, "invalid JSON at byte 0: unexpected byte 0x0c"},  /* not JSON whitespace */
  /* numbers */
  {"01", 0, "invalid JSON at byte 0: leading zero in number"},
  {"[-01]", 0, "invalid JSON at byte 1: leading zero in number"},
  {"1.", 0, "invalid JSON at byte 2: expected a digit after '.'"},
  {"1.e5", 0, "invalid JSON at byte 2: expected a digit after '.'"},
  {".5", 0, "invalid JSON at byte 0: unexpected character '.'"},
  {"1e", 0, "invalid JSON at byte 2: expected a digit in exponent"},
  {"1e+", 0, "invalid JSON at byte 3: expected a digit in exponent"},
  {"-", 0, "invalid JSON at byte 1: expected a digit"},
  {"-a", 0, "invalid JSON at byte 1: expected a digit"},
  {"+1", 0, "invalid JSON at byte 0: unexpected character '+'"},
  {"0x10", 0, "invalid JSON at byte 1: unexpected data after the top-level value"},
  {"1e999", 0, "invalid JSON at byte 0: number out of range"},
  {"[-1e400]", 0, "invalid JSON at byte 1: number out of range"},
  {"NaN", 0, "invalid JSON at byte 0: unexpected character 'N'"},
  {"-Infinity", 0, "invalid JSON at byte 1: expected a digit"},
  /* literals */
  {"tru", 0, "invalid JSON at byte 0: invalid literal"},
  {"[nul]", 0, "invalid JSON at byte 1: invalid literal"},
  {"fals", 0, "invalid JSON at byte 0: invalid literal"},
  {"True", 0, "invalid JSON at byte 0: unexpected character 'T'"},
  {"nullx", 0, "invalid JSON at byte 4: unexpected data after the top-level value"},
  /* strings */
  {"\"abc", 0, "invalid JSON at byte 4: unterminated string"},
  {"\"\\", 0, "invalid JSON at byte 1: unterminated string"},
  {"\"a\x01\"", 0, "invalid JSON at byte 2: control character 0x01 in string"},
  {"\"a\tb\"", 0, "invalid JSON at byte 2: control character 0x09 in string"},
  {"\"a\nb\"", 0, "invalid JSON at byte 2: control character 0x0a in string"},
  {"\"\0\"", 3, "invalid JSON at byte 1: control character 0x00 in string"},
  {"\"\x1f\"", 0, "invalid JSON at byte 1: control character 0x1f in string"},
  {"\"\\x\"", 0, "invalid JSON at byte 1: invalid escape '\\x'"},
  {"\"\\'\"", 0, "invalid JSON at byte 1: invalid escape '\\''"},
  {"\"\\\x01\"", 0, "invalid JSON at byte 1: invalid escape"},
  {"\"\\u12\"", 0, "invalid JSON at byte 1: invalid \\u escape"},
  {"\"\\u00", 0, "invalid JSON at byte 1: invalid \\u escape"},
  {"\"\\u00G0\"", 0, "invalid JSON at byte 1: invalid \\u escape"},
  {"\"\\U0041\"", 0, "invalid JSON at byte 1: invalid escape '\\U'"},
  {"\"\\uD800\"", 0, "invalid JSON at byte 1: unpaired surrogate \\uD800"},
  {"\"ab\\udbff\"", 0, "invalid JSON at byte 3: unpaired surrogate \\uDBFF"},
  {"\"\\uDC00\"", 0, "invalid JSON at byte 1: unpaired surrogate \\uDC00"},
  {"\"\\uD800\\u0041\"", 0, "invalid JSON at byte 1: unpaired surrogate \\uD800"},
  {"\"\\uD800\\uD800\"", 0, "invalid JSON at byte 1: unpaired surrogate \\uD800"},
  {"\"\\uD800x\"", 0, "invalid JSON at byte 1: unpaired surrogate \\uD800"},
  {"\"\\uD800\\u", 0, "invalid JSON at byte 1: unpaired surrogate \\uD800"},
  {"\"\\uDE00\\uD83D\"", 0, "invalid JSON at byte 1: unpaired surrogate \\uDE00"},
  /* UTF-8 */
  {"\"\x80\"", 0, "invalid JSON at byte 1: invalid UTF-8 in string"},          /* lone continuation */
  {"\"\xC3\"", 0, "invalid JSON at byte 1: invalid UTF-8 in string"},          /* truncated */
  {"\"x\xE2\x82", 0, "invalid JSON at byte 2: invalid UTF-8 in string"},       /* cut by the end */
  {"\"\xC0\x80\"", 0, "invalid JSON at byte 1: invalid UTF-8 in string"},      /* overlong NUL */
  {"\"\xC1\xBF\"", 0, "invalid JSON at byte 1: invalid UTF-8 in string"},      /* overlong */
  {"\"\xE0\x9F\xBF\"", 0, "invalid JSON at byte 1: invalid UTF-8 in string"},  /* overlong */
  {"\"\xF0\x8F\xBF\xBF\"", 0, "invalid JSON at byte 1: invalid UTF-8 in string"}, /* overlong */
  {"\"\xED\xA0\x80\"", 0, "invalid JSON at byte 1: invalid UTF-8 in string"},  /* surrogate D800 */
  {"\"\xF4\x90\x80\x80\"", 0, "invalid JSON at byte 1: invalid UTF-8 in string"}, /* > U+10FFFF */
  {"\"\xF5\x80\x80\x80\"", 0, "invalid JSON at byte 1: invalid UTF-8 in string"},
  {"\"\xFF\"", 0, "invalid JSON at byte 1: invalid UTF-8 in string"},
  {"\"\xE2\x28\xA1\"", 0, "invalid JSON at byte 1: invalid UTF-8 in string"},
  {"\xC3\xA9", 0, "invalid JSON at byte 0: unexpected byte 0xc3"},          /* outside a string */
  /* duplicate keys, compared after decoding */
  {"{\"a\":1,\"a\":2}", 0, "invalid JSON at byte 7: duplicate key 'a'"},
  {"{\"a\":1,\"\\u0061\":2}", 0, "invalid JSON at byte 7: duplicate key 'a'"},
  {"{\"x\":{\"b\":1,\"b\":2}}", 0, "invalid JSON at byte 12: duplicate key 'b'"},
  {"{\"a\":1,\"b\":2,\"b\":3,\"a\":4}", 0, "invalid JSON at byte 13: duplicate key 'b'"},
  {"[{\"\":1,\"\":2}]", 0, "invalid JSON at byte 7: duplicate key ''"},
};

static void test_errors(void) {
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    sl_err err;
    size_t len = bad[k].len ? bad[k].len : strlen(bad[k].text);
    sl_json_doc *doc = parse(bad[k].text, len, &err);
    CHECK_MSG(doc == NULL, "case %zu was accepted", k);
    sl_json_free(doc);
    CHECK_MSG(strcmp(err.msg, bad[k].msg) == 0, "case %zu: got \"%s\", expected \"%s\"", k,
              err.msg, bad[k].msg);
  }
  /* A NULL err is allowed: the caller only wants the verdict. */
  {
    sl_json_doc *doc = (sl_json_doc *)1;
    CHECK_INT(sl_json_parse("[", 1, &doc, NULL), SL_ERROR);
    CHECK(doc == NULL);
  }
}

/* Keys that differ only after an embedded NUL are different keys. */
static void test_keys_with_nul(void) {
  static const char text[] = "{\"a\\u0000b\":1,\"a\\u0000c\":2,\"a\":3,\"a\\u0000\":4}";
  sl_err err;
  sl_json_doc *doc = parse(text, sizeof text - 1, &err);
  const sl_json *v;
  CHECK_MSG(doc != NULL, "refused: %s", err.msg);
  if (!doc) return;
  v = sl_json_get(sl_json_root(doc), "a");
  CHECK(v && v->number == 3.0 && v->key_len == 1);
  v = sl_json_root(doc)->child;
  CHECK(v->key_len == 3 && memcmp(v->key, "a\0b", 3) == 0);
  sl_json_free(doc);
}

static char *nested(int depth, const char *open, const char *close, const char *leaf) {
  size_t lo = strlen(open), lc = strlen(close), ll = strlen(leaf);
  char *s = malloc(depth * (lo + lc) + ll + 1), *p = s;
  for (int k = 0; k < depth; k++, p += lo) memcpy(p, open, lo);
  memcpy(p, leaf, ll);
  p += ll;
  for (int k = 0; k < depth; k++, p += lc) memcpy(p, close, lc);
  *p = 0;
  return s;
}

static void test_depth(void) {
  sl_err err;
  char *s = nested(SL_JSON_MAX_DEPTH, "[", "]", "1");
  sl_json_doc *doc = parse(s, strlen(s), &err);
  CHECK_MSG(doc != NULL, "64 levels refused: %s", err.msg);
  sl_json_free(doc);
  free(s);

  s = nested(SL_JSON_MAX_DEPTH + 1, "[", "]", "");
  doc = parse(s, strlen(s), &err);
  CHECK(doc == NULL);
  CHECK_STR(err.msg, "invalid JSON at byte 64: nesting deeper than 64 levels");
  free(s);

  s = nested(SL_JSON_MAX_DEPTH, "{\"k\":", "}", "0");
  doc = parse(s, strlen(s), &err);
  CHECK_MSG(doc != NULL, "64 object levels refused: %s", err.msg);
  sl_json_free(doc);
  free(s);

  s = nested(SL_JSON_MAX_DEPTH + 1, "{\"k\":", "}", "0");
  doc = parse(s, strlen(s), &err);
  CHECK(doc == NULL);
  CHECK_STR(err.msg, "invalid JSON at byte 320: nesting deeper than 64 levels");
  free(s);

  /* Far deeper than the limit: refused without recursing that deep. */
  s = nested(1000000, "[", "]", "");
  doc = parse(s, strlen(s), &err);
  CHECK(doc == NULL);
  CHECK_STR(err.msg, "invalid JSON at byte 64: nesting deeper than 64 levels");
  free(s);
}

/* Big objects go through the sort-based duplicate check; it must find a repeat
** anywhere and stay fast. */
static void test_big_object(void) {
  size_t cap = 20000 * 16 + 64, n = 0;
  char *s = malloc(cap);
  sl_err err;
  sl_json_doc *doc;
  const sl_json *v;
  uint64_t u;
  n += (size_t)snprintf(s + n, cap - n, "{");
  for (int k = 0; k < 20000; k++) n += (size_t)snprintf(s + n, cap - n, "%s\"k%d\":%d", k ? "," : "", k, k);
  snprintf(s + n, cap - n, "}");
  doc = parse(s, strlen(s), &err);
  CHECK_MSG(doc != NULL, "refused: %s", err.msg);
  v = sl_json_get(sl_json_root(doc), "k19999");
  CHECK(sl_json_u64(v, &u) && u == 19999);
  CHECK_INT(sl_json_root(doc) ? sl_json_root(doc)->n : 0, 20000);
  sl_json_free(doc);

  /* Repeat k7 at the very end. */
  snprintf(s + n, cap - n, ",\"k7\":0}");
  doc = parse(s, strlen(s), &err);
  CHECK(doc == NULL);
  {
    char want[100];
    snprintf(want, sizeof want, "invalid JSON at byte %zu: duplicate key 'k7'", n + 1);
    CHECK_STR(err.msg, want);
  }
  free(s);
}

static void test_long_key_message(void) {
  char text[400], want[200];
  sl_err err;
  size_t n = 0;
  n += (size_t)snprintf(text + n, sizeof text - n, "{\"");
  for (int k = 0; k < 100; k++) text[n++] = 'x';
  n += (size_t)snprintf(text + n, sizeof text - n, "\":1,\"");
  for (int k = 0; k < 100; k++) text[n++] = 'x';
  snprintf(text + n, sizeof text - n, "\":2}");
  CHECK(parse(text, strlen(text), &err) == NULL);
  snprintf(want, sizeof want, "invalid JSON at byte 106: duplicate key '%.60s'", text + 2);
  CHECK_STR(err.msg, want);
}

static void test_parse_file(void) {
  char path[512], want[700];
  sl_err err;
  sl_json_doc *doc = NULL;
  static const char good[] = "{\"hidden_size\": 384}\n";
  static const char broken[] = "{\"a\" 1}";

  CHECK(t_write_temp(path, sizeof path, good, sizeof good - 1) == 0);
  CHECK_INT(sl_json_parse_file(path, 1000, &doc, &err), SL_OK);
  CHECK(doc && sl_json_get(sl_json_root(doc), "hidden_size"));
  sl_json_free(doc);
  CHECK_INT(sl_json_parse_file(path, 10, &doc, &err), SL_ERROR);
  CHECK(doc == NULL);
  snprintf(want, sizeof want, "'%s' is too large: 21 bytes (limit 10)", path);
  CHECK_STR(err.msg, want);
  unlink(path);

  CHECK(t_write_temp(path, sizeof path, broken, sizeof broken - 1) == 0);
  CHECK_INT(sl_json_parse_file(path, 1000, &doc, &err), SL_ERROR);
  snprintf(want, sizeof want, "%s: invalid JSON at byte 5: expected ':'", path);
  CHECK_STR(err.msg, want);
  unlink(path);

  CHECK(t_write_temp(path, sizeof path, "", 0) == 0);
  CHECK_INT(sl_json_parse_file(path, 1000, &doc, &err), SL_ERROR);
  snprintf(want, sizeof want, "%s: invalid JSON at byte 0: unexpected end of input", path);
  CHECK_STR(err.msg, want);
  unlink(path);

  CHECK_INT(sl_json_parse_file("/nonexistent/config.json", 1000, &doc, &err), SL_ERROR);
  CHECK_STR(err.msg, "cannot open '/nonexistent/config.json': No such file or directory");
  CHECK_INT(sl_json_parse_file("/", 1000, &doc, &err), SL_ERROR);
  CHECK_STR(err.msg, "cannot read '/': not a regular file");
}

/* The files the reader exists for. */
static void test_shared_files(void) {
  char path[1024];
  sl_err err;
  sl_json_doc *doc;
  const sl_json *v;
  uint64_t u;
  static const char *const tokenizers[] = {"all-MiniLM-L6-v2", "ms-marco-MiniLM-L-6-v2"};

  snprintf(path, sizeof path, "%s/models/all-MiniLM-L6-v2/config.json", sl_test_shared_dir());
  CHECK_MSG(sl_json_parse_file(path, 1 << 20, &doc, &err) == SL_OK, "%s", err.msg);
  v = sl_json_get(sl_json_root(doc), "hidden_size");
  CHECK(sl_json_u64(v, &u) && u == 384);
  v = sl_json_get(sl_json_root(doc), "layer_norm_eps");
  CHECK(v && v->number == 1e-12);
  v = sl_json_get(sl_json_root(doc), "architectures");
  CHECK(v && v->n == 1 && v->child->type == SL_JSON_STRING && strcmp(v->child->str, "BertModel") == 0);
  sl_json_free(doc);

  snprintf(path, sizeof path, "%s/models/synthetic/rerank/config.json", sl_test_shared_dir());
  CHECK_MSG(sl_json_parse_file(path, 1 << 20, &doc, &err) == SL_OK, "%s", err.msg);
  v = sl_json_get(sl_json_root(doc), "classifier_dropout");
  CHECK(v && v->type == SL_JSON_NULL);
  v = sl_json_get(sl_json_get(sl_json_root(doc), "label2id"), "LABEL_0");
  CHECK(sl_json_u64(v, &u) && u == 0);
  sl_json_free(doc);

  for (size_t k = 0; k < 2; k++) {
    snprintf(path, sizeof path, "%s/models/%s/tokenizer.json", sl_test_shared_dir(), tokenizers[k]);
    CHECK_MSG(sl_json_parse_file(path, 16 << 20, &doc, &err) == SL_OK, "%s", err.msg);
    v = sl_json_get(sl_json_get(sl_json_root(doc), "model"), "vocab");
    CHECK(v && v->type == SL_JSON_OBJECT && v->n == 30522);
    CHECK(sl_json_u64(sl_json_get(v, "[CLS]"), &u) && u == 101);
    sl_json_free(doc);
  }
}

const sl_test json_tests[] = {
  {"values", test_values},
  {"scalars_at_top", test_scalars_at_top},
  {"strings", test_strings},
  {"numbers", test_numbers},
  {"errors", test_errors},
  {"keys_with_nul", test_keys_with_nul},
  {"depth", test_depth},
  {"big_object", test_big_object},
  {"long_key_message", test_long_key_message},
  {"parse_file", test_parse_file},
  {"shared_files", test_shared_files},
  {0, 0},
};
