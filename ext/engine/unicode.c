/*
** unicode.c: UTF-8 checking and the table lookups of unicode.h.
**
** The generated tables hold the properties as Hugging Face's tokenizer sees them
** (see tools/gen_unicode_tables.py for the Unicode versions). The lookups here are
** binary searches: they only run for the rare characters whose flag says there is
** something to find, so a two-stage table would buy nothing.
*/
#include "unicode.h"

#include <string.h>

int sl_utf8_valid(const char *str, size_t len, size_t *bad) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < len) {
    /* Most text is ASCII: skip it eight bytes at a time. */
    while (i + 8 <= len) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= len) break;
    unsigned c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      if (c == 0xE0) lo = 0xA0;      /* overlong */
      else if (c == 0xED) hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      if (c == 0xF0) lo = 0x90;      /* overlong */
      else if (c == 0xF4) hi = 0x8F; /* above U+10FFFF */
    } else {
      *bad = i;
      return 0;
    }
    if (len - i < n || s[i + 1] < lo || s[i + 1] > hi) {
      *bad = i;
      return 0;
    }
    for (size_t k = 2; k < n; k++) {
      if ((s[i + k] & 0xC0) != 0x80) {
        *bad = i;
        return 0;
      }
    }
    i += n;
  }
  return 1;
}

/* Index of key in the sorted array a[0..n), or -1. */
static long find(const uint32_t *a, size_t n, uint32_t key) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (a[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && a[lo] == key ? (long)lo : -1;
}

unsigned sl_uni_ccc_of(uint32_t c) {
  if (!(sl_uni_flags(c) & SL_UNI_CCC)) return 0;
  /* Entries are (cp << 8 | ccc): search for the first entry >= cp << 8. */
  size_t lo = 0, hi = SL_UNI_CCC_COUNT;
  uint32_t key = c << 8;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (sl_uni_ccc[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo < SL_UNI_CCC_COUNT && (sl_uni_ccc[lo] >> 8) == c ? (sl_uni_ccc[lo] & 0xFF) : 0;
}

/* Hangul syllables decompose by arithmetic (Unicode 3.12). */
#define HANGUL_S 0xAC00u
#define HANGUL_L 0x1100u
#define HANGUL_V 0x1161u
#define HANGUL_T 0x11A7u
#define HANGUL_N_T 28u
#define HANGUL_N_VT (21u * 28u)
#define HANGUL_COUNT (19u * 21u * 28u)

size_t sl_uni_decompose(uint32_t c, uint32_t *out) {
  if (sl_uni_flags(c) & SL_UNI_DECOMP) {
    if (c - HANGUL_S < HANGUL_COUNT) {
      uint32_t s = c - HANGUL_S, t = s % HANGUL_N_T;
      out[0] = HANGUL_L + s / HANGUL_N_VT;
      out[1] = HANGUL_V + (s % HANGUL_N_VT) / HANGUL_N_T;
      if (t == 0) return 2;
      out[2] = HANGUL_T + t;
      return 3;
    }
    long i = find(sl_uni_decomp_keys, SL_UNI_DECOMP_COUNT, c);
    if (i >= 0) {
      size_t start = sl_uni_decomp_index[i], n = sl_uni_decomp_index[i + 1] - start;
      memcpy(out, sl_uni_decomp_pool + start, n * sizeof *out);
      return n;
    }
  }
  out[0] = c;
  return 1;
}

size_t sl_uni_lower(uint32_t c, uint32_t *out) {
  if (sl_uni_flags(c) & SL_UNI_LOWER) {
    long i = find(sl_uni_lower_keys, SL_UNI_LOWER_COUNT, c);
    if (i >= 0) {
      uint32_t v = sl_uni_lower_vals[i];
      if (!(v & 0x80000000u)) {
        out[0] = v;
        return 1;
      }
      size_t start = (v >> 8) & 0x7FFFFF, n = v & 0xFF;
      memcpy(out, sl_uni_lower_multi + start, n * sizeof *out);
      return n;
    }
  }
  out[0] = c;
  return 1;
}
