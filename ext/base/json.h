/*
** json.h: a small, strict JSON reader (RFC 8259) for the files a model folder holds
** (config.json, tokenizer_config.json, the safetensors header, ...).
**
** Those files are untrusted input, so the parser is bounded (nesting depth, sizes),
** rejects anything that is not JSON (trailing garbage, bad escapes, invalid UTF-8,
** lone surrogates, duplicate object keys) and is fuzzed (tests/fuzz/). It builds a
** read-only tree in one arena that sl_json_free() releases at once.
*/
#ifndef SEMLITE_JSON_H
#define SEMLITE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define SL_JSON_MAX_DEPTH 64

typedef enum sl_json_type {
  SL_JSON_NULL,
  SL_JSON_BOOL,
  SL_JSON_NUMBER,
  SL_JSON_STRING,
  SL_JSON_ARRAY,
  SL_JSON_OBJECT
} sl_json_type;

typedef struct sl_json sl_json;
struct sl_json {
  sl_json_type type;
  int boolean;              /* SL_JSON_BOOL: 0 or 1 */
  double number;            /* SL_JSON_NUMBER: value as strtod reads it */
  const char *num_text;     /* SL_JSON_NUMBER: the lexeme (not NUL-terminated) */
  size_t num_len;
  const char *str;          /* SL_JSON_STRING: decoded UTF-8, NUL-terminated */
  size_t len;               /*   its length in bytes (may contain U+0000 from \u0000) */
  const char *key;          /* member of an object: decoded key, NUL-terminated */
  size_t key_len;
  size_t n;                 /* ARRAY/OBJECT: number of children */
  sl_json *child;           /* ARRAY/OBJECT: first child, in document order */
  sl_json *next;            /* next sibling */
};

typedef struct sl_json_doc sl_json_doc;

/* Parses text[0..len). On success *out owns the tree; free it with sl_json_free. */
int sl_json_parse(const char *text, size_t len, sl_json_doc **out, sl_err *err);
const sl_json *sl_json_root(const sl_json_doc *doc);
void sl_json_free(sl_json_doc *doc);

/* Member of an object by key, or NULL if obj is not an object or has no such key. */
const sl_json *sl_json_get(const sl_json *obj, const char *key);

/* 1 and *out set if v is a number written as a non-negative integer that fits in
** uint64_t (no fraction, no exponent, no sign); 0 otherwise. */
int sl_json_u64(const sl_json *v, uint64_t *out);

/* Reads a whole file (file.h: a regular file, refused over max_bytes before any read)
** and parses it. The model loader reads its files with sl_file_read and sl_json_parse. */
int sl_json_parse_file(const char *path, size_t max_bytes, sl_json_doc **out, sl_err *err);

#endif
