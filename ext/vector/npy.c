/*
** npy.c: the .npy header reader (npy.h).
*/
#include "npy.h"

#include <stdint.h>
#include <string.h>

/* The value after 'key': in the dict literal p[0..n), or NULL. Keys are quoted with ' or ". */
static const char *dict_value(const char *p, size_t n, const char *key) {
  size_t k = strlen(key);
  for (size_t i = 0; i + k + 2 <= n; i++) {
    const char *v;
    if ((p[i] != '\'' && p[i] != '"') || memcmp(p + i + 1, key, k) != 0 || p[i + 1 + k] != p[i]) continue;
    for (v = p + i + k + 2; v < p + n && (*v == ' ' || *v == ':'); v++) {
    }
    return v < p + n ? v : NULL;
  }
  return NULL;
}

/* A non-negative decimal at *p (advanced past it), at most max; 0 when there is none. */
static int read_count(const char **p, const char *end, size_t max, size_t *out) {
  size_t v = 0;
  const char *s = *p;
  if (s >= end || *s < '0' || *s > '9') return 0;
  for (; s < end && *s >= '0' && *s <= '9'; s++) {
    if (v > (max - (size_t)(*s - '0')) / 10) return 0;
    v = v * 10 + (size_t)(*s - '0');
  }
  *p = s;
  *out = v;
  return 1;
}

static const char *skip_spaces(const char *p, const char *end) {
  while (p < end && *p == ' ') p++;
  return p;
}

/* shape: "(rows, dims)" with optional spaces and trailing comma. */
static int read_shape(const char *p, const char *end, size_t *rows, size_t *dims, sl_err *err) {
  size_t v[3];
  int k = 0;
  if (!p || *p != '(') return sl_fail(err, "the header has no 'shape' tuple");
  p = skip_spaces(p + 1, end);
  while (p < end && *p != ')') {
    if (k == 3 || !read_count(&p, end, SIZE_MAX / 4, &v[k])) return sl_fail(err, "the header's 'shape' is not a tuple of counts");
    k++;
    p = skip_spaces(p, end);
    if (p < end && *p == ',') p = skip_spaces(p + 1, end);
  }
  if (p >= end) return sl_fail(err, "the header's 'shape' is not closed");
  if (k != 2) return sl_fail(err, "the array has %d dimension%s; vec_npy_each reads a 2-D array (vectors, dimensions)", k, k == 1 ? "" : "s");
  *rows = v[0];
  *dims = v[1];
  return SL_OK;
}

int sl_npy_parse(const void *buf, size_t n, sl_npy *out, sl_err *err) {
  const unsigned char *b = buf;
  const char *h, *v;
  size_t hlen, start, need;
  memset(out, 0, sizeof *out);
  if (n < 10 || memcmp(b, "\x93NUMPY", 6) != 0) return sl_fail(err, "not a .npy array (no \\x93NUMPY magic)");
  if (b[6] == 1) {
    hlen = (size_t)b[8] | (size_t)b[9] << 8;
    start = 10;
  } else if (b[6] == 2 || b[6] == 3) {
    if (n < 12) return sl_fail(err, "the .npy header is cut short");
    hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
    start = 12;
  } else {
    return sl_fail(err, ".npy format version %d is not supported (1, 2 or 3)", b[6]);
  }
  if (hlen > n - start) return sl_fail(err, "the .npy header is cut short");
  h = (const char *)b + start;
  if (!(v = dict_value(h, hlen, "descr"))) return sl_fail(err, "the header has no 'descr'");
  if (hlen - (size_t)(v - h) < 5 || (memcmp(v, "'<f4'", 5) != 0 && memcmp(v, "\"<f4\"", 5) != 0)) {
    size_t k = 0;
    while (k < 8 && v + k < h + hlen && v[k] != ',' && v[k] != '}') k++;
    return sl_fail(err, "dtype %.*s is not supported: only float32 ('<f4')", (int)k, v);
  }
  if (!(v = dict_value(h, hlen, "fortran_order")) || hlen - (size_t)(v - h) < 5 || memcmp(v, "False", 5) != 0)
    return sl_fail(err, "only C-order arrays are supported ('fortran_order': False)");
  if (read_shape(dict_value(h, hlen, "shape"), h + hlen, &out->rows, &out->dims, err)) return SL_ERROR;
  if (out->dims == 0) return sl_fail(err, "the array's vectors have 0 dimensions");
  if (out->rows > SIZE_MAX / 4 / out->dims) return sl_fail(err, "the shape (%zu, %zu) is too large", out->rows, out->dims);
  need = out->rows * out->dims * 4;
  if (n - start - hlen != need)
    return sl_fail(err, "data is %zu bytes, the shape (%zu, %zu) needs %zu", n - start - hlen, out->rows, out->dims, need);
  out->data = b + start + hlen;
  return SL_OK;
}
