/*
** fuzz_safetensors.c: libFuzzer target for the safetensors loader
** (ext/engine/safetensors.c), driven through sl_st_parse() on an in-memory image.
**
** Two input forms, so that mutations reach the header rules instead of dying on the
** size field (inserting one byte in a header otherwise breaks the u64 in front of it):
**   - input starting with '{': "HEADER\0DATA". The fuzzer writes the 8-byte size
**     itself. A raw NUL can never be part of a valid header (JSON refuses it), so
**     splitting at the first one loses nothing;
**   - anything else is a whole file image, size field included, as on disk.
** Either way the image is its own exactly-sized allocation, so AddressSanitizer sees
** any read past it.
**
** An accepted file must satisfy what the engine relies on: names sorted and unique
** and found by sl_st_find, shape and byte counts consistent, every tensor inside the
** data area and no two non-empty tensors sharing a byte. All tensor bytes are read.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../ext/engine/safetensors.h"

static void check(const sl_safetensors *st, const unsigned char *img, size_t len) {
  for (size_t k = 0; k < st->n_tensors; k++) {
    const sl_tensor *t = &st->tensors[k];
    const unsigned char *d = t->data;
    size_t elems = 1;
    volatile unsigned char sink = 0;
    if (k && strcmp(st->tensors[k - 1].name, t->name) >= 0) abort();
    if (sl_st_find(st, t->name) != t) abort();
    if (t->ndim < 0 || t->ndim > SL_ST_MAX_DIMS) abort();
    for (int i = 0; i < t->ndim; i++) {
      if (t->shape[i] < 0) abort();
      elems *= (size_t)t->shape[i];
    }
    if (elems != t->n_elems || t->n_elems * sl_dtype_size(t->dtype) != t->nbytes) abort();
    if (sl_dtype_size(t->dtype) == 0) abort();
    if (d < img + 8 || t->nbytes > len || d > img + len - t->nbytes) abort();
    for (size_t b = 0; b < t->nbytes; b++) sink ^= d[b];
    (void)sink;
    for (size_t j = 0; j < k; j++) {
      const sl_tensor *u = &st->tensors[j];
      const unsigned char *e = u->data;
      if (t->nbytes && u->nbytes && d < e + u->nbytes && e < d + t->nbytes) abort();
    }
  }
  if (sl_st_find(st, "") != NULL) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  unsigned char *img;
  size_t len;
  sl_safetensors *st = NULL;
  sl_err err;
  if (size > 0 && data[0] == '{') {
    const uint8_t *nul = memchr(data, 0, size);
    size_t h = nul ? (size_t)(nul - data) : size;
    size_t rest = nul ? size - h - 1 : 0;
    len = 8 + h + rest;
    img = malloc(len);
    if (!img) return 0;
    for (int b = 0; b < 8; b++) img[b] = (unsigned char)((uint64_t)h >> (8 * b));
    memcpy(img + 8, data, h);
    if (rest) memcpy(img + 8 + h, nul + 1, rest);
  } else {
    len = size;
    img = malloc(len ? len : 1);
    if (!img) return 0;
    if (len) memcpy(img, data, len);
  }
  err.msg[0] = 0;
  if (sl_st_parse(img, len, &st, &err) == SL_OK) {
    if (!st || st->file_bytes != len) abort();
    check(st, img, len);
    sl_st_close(st);
  } else if (st != NULL || err.msg[0] == 0) {
    abort();
  }
  free(img);
  return 0;
}
