/*
** unicode.h: the small Unicode layer under the tokenizer: UTF-8 checking and
** decoding, and lookups in the generated tables (unicode_tables.h) for canonical
** decomposition, combining class and lowercase.
**
** Everything here is a pure function of its arguments over const tables, so it is
** safe from any thread.
*/
#ifndef SEMLITE_UNICODE_H
#define SEMLITE_UNICODE_H

#include <stddef.h>
#include <stdint.h>

#include "unicode_tables.h"

/* Returns 1 if s[0..len) is well-formed UTF-8 (no overlong forms, surrogates or
** code points above U+10FFFF). Otherwise returns 0 and sets *bad to the offset of
** the first byte of the first ill-formed sequence. */
int sl_utf8_valid(const char *s, size_t len, size_t *bad);

/* Decodes the code point at *p, which must be inside well-formed UTF-8, and
** advances *p past it. */
static inline uint32_t sl_utf8_next(const unsigned char **p) {
  const unsigned char *s = *p;
  uint32_t c = s[0];
  if (c < 0x80) {
    *p = s + 1;
  } else if (c < 0xE0) {
    c = ((c & 0x1F) << 6) | (s[1] & 0x3F);
    *p = s + 2;
  } else if (c < 0xF0) {
    c = ((c & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    *p = s + 3;
  } else {
    c = ((c & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12)
        | ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    *p = s + 4;
  }
  return c;
}

/* Writes the UTF-8 form of a valid code point to out (room for 4 bytes) and
** returns its length. */
static inline size_t sl_utf8_put(unsigned char *out, uint32_t c) {
  if (c < 0x80) {
    out[0] = (unsigned char)c;
    return 1;
  }
  if (c < 0x800) {
    out[0] = (unsigned char)(0xC0 | (c >> 6));
    out[1] = (unsigned char)(0x80 | (c & 0x3F));
    return 2;
  }
  if (c < 0x10000) {
    out[0] = (unsigned char)(0xE0 | (c >> 12));
    out[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
    out[2] = (unsigned char)(0x80 | (c & 0x3F));
    return 3;
  }
  out[0] = (unsigned char)(0xF0 | (c >> 18));
  out[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
  out[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
  out[3] = (unsigned char)(0x80 | (c & 0x3F));
  return 4;
}

/* Canonical combining class of c (0 for starters). */
unsigned sl_uni_ccc_of(uint32_t c);

/* Writes the full canonical decomposition of c (itself if it has none) to out,
** which has room for SL_UNI_MAX_DECOMP code points; returns how many. */
size_t sl_uni_decompose(uint32_t c, uint32_t *out);

/* Writes the lowercase of c (Rust's char::to_lowercase) to out, which has room
** for SL_UNI_MAX_LOWER code points; returns how many. */
size_t sl_uni_lower(uint32_t c, uint32_t *out);

#endif
