/*
** safetensors.c: the .safetensors loader declared in safetensors.h.
**
** This file owns everything between a model file on disk and the sl_tensor views the
** engine computes with: reading the file into memory, checking its header, and the
** name lookup. Model files are downloaded, so the header is treated as hostile: every
** number in it is checked before it is used to form a pointer, and a file that fails
** any check is an error message naming the problem, never an out-of-bounds read.
**
** The rules, in the order they are checked:
**   - the file holds at least the 8-byte little-endian header size N;
**   - N <= SL_ST_MAX_HEADER and the file holds the N header bytes;
**   - the header starts with '{' (the format requires it), is strict JSON (json.c:
**     valid UTF-8, no duplicate keys, only whitespace after the object; the writers pad
**     the header with spaces, which is whitespace);
**   - "__metadata__", if present, is an object whose values are all strings;
**   - every other member is a tensor with a non-empty name without NUL bytes, whose
**     value is an object with exactly "dtype", "shape" and "data_offsets";
**   - dtype is F32, F16, BF16 or I64. Other safetensors dtypes (F64, I32, U8, ...) are
**     valid files we cannot compute with, so they get their own message;
**   - shape is an array of at most SL_ST_MAX_DIMS non-negative integers ([] is a
**     scalar, a 0 dimension an empty tensor), whose element count times the dtype
**     size does not overflow;
**   - data_offsets is [begin, end] with begin <= end, end - begin equal to that byte
**     size, and end within the data area;
**   - no two tensors share a byte.
**
** Gaps are accepted. The reference implementation insists that the tensors tile the
** data area exactly, from 0 to the end of the file, to rule out polyglot files. For a
** reader that only hands out bounds-checked, disjoint views, unused bytes are
** harmless, and refusing them would reject files written by tools that align tensors
** or append padding. Overlaps are refused: two tensors aliasing the same bytes are a
** corrupt or crafted file, and the format promises they cannot happen.
**
** Tensor names contain no NUL byte (JSON could spell one as \u0000), so that the
** NUL-terminated names compare exactly as the JSON keys did; json.c has already
** refused duplicate keys, so the names are unique, which the name sort re-checks.
**
** The file is read, not mapped (file.h). A mapping follows the file: an in-place rewrite
** changes the weights under a loaded model, and a truncation (`cp` over the file
** truncates first) raises SIGBUS at the next access to a page past the new end, which
** kills the host process. Reading costs the file's size in private memory, all of it
** resident (a mapping kept only the pages touched: the unused rows of the word
** embeddings stayed on disk), and about 20-40 ms per 90 MB from the page cache
** (docs/models.md, docs/performance.md).
*/
#include "../base/alloc.h"
#include "safetensors.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/json.h"

static const struct { const char *name; sl_dtype dt; size_t size; } supported[] = {
  {"F32", SL_DT_F32, 4},
  {"F16", SL_DT_F16, 2},
  {"BF16", SL_DT_BF16, 2},
  {"I64", SL_DT_I64, 8},
};

/* The other dtypes of the format: valid in a file, but nothing semlite computes with. */
static const char *const unsupported[] = {
  "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2",
  "I16", "U16", "I32", "U32", "F64", "U64", "C64",
};

const char *sl_dtype_name(sl_dtype dt) {
  for (size_t k = 0; k < sizeof supported / sizeof supported[0]; k++) {
    if (supported[k].dt == dt) return supported[k].name;
  }
  return "?";
}

size_t sl_dtype_size(sl_dtype dt) {
  for (size_t k = 0; k < sizeof supported / sizeof supported[0]; k++) {
    if (supported[k].dt == dt) return supported[k].size;
  }
  return 0;
}

/* 1 if the member's key (or the string's value) is exactly s: JSON keys may hold NUL
** bytes, so a plain strcmp could match a longer key. */
static int is_exactly(const char *text, size_t len, const char *s) {
  return len == strlen(s) && memcmp(text, s, len) == 0;
}

/* Length of s clipped to at most max bytes on a UTF-8 character boundary, for "%.*s":
** names and dtypes come from the file and may be arbitrarily long. */
static int clipped(const char *s, size_t max) {
  size_t n = strlen(s);
  if (n <= max) return (int)n;
  while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80) max--;
  return (int)max;
}

/* Formats "tensor 'NAME': MESSAGE", with "..." after a clipped name. */
static int tensor_fail(sl_err *err, const char *name, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 3, 4)))
#endif
  ;
static int tensor_fail(sl_err *err, const char *name, const char *fmt, ...) {
  char what[300];
  int n = clipped(name, 120);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return sl_fail(err, "tensor '%.*s%s': %s", n, name, name[n] ? "..." : "", what);
}

static void format_shape(char *buf, size_t cap, const sl_tensor *t) {
  size_t used = (size_t)snprintf(buf, cap, "[");
  for (int d = 0; d < t->ndim && used < cap; d++) {
    used += (size_t)snprintf(buf + used, cap - used, "%s%lld", d ? ", " : "",
                             (long long)t->shape[d]);
  }
  if (used < cap) snprintf(buf + used, cap - used, "]");
}

static int read_dtype(const sl_json *v, sl_tensor *t, sl_err *err) {
  if (!v || v->type != SL_JSON_STRING) {
    return tensor_fail(err, t->name, "dtype is not a string");
  }
  for (size_t k = 0; k < sizeof supported / sizeof supported[0]; k++) {
    if (is_exactly(v->str, v->len, supported[k].name)) {
      t->dtype = supported[k].dt;
      return SL_OK;
    }
  }
  for (size_t k = 0; k < sizeof unsupported / sizeof unsupported[0]; k++) {
    if (is_exactly(v->str, v->len, unsupported[k])) {
      return tensor_fail(err, t->name,
                         "dtype %s is not supported (semlite reads F32, F16, BF16 and I64)",
                         unsupported[k]);
    }
  }
  return tensor_fail(err, t->name, "unknown dtype '%.*s'", clipped(v->str, 40), v->str);
}

/* Reads shape into t and sets n_elems and nbytes, refusing any overflow. */
static int read_shape(const sl_json *v, sl_tensor *t, sl_err *err) {
  const sl_json *d;
  size_t count = 1, width = sl_dtype_size(t->dtype);
  if (!v || v->type != SL_JSON_ARRAY) {
    return tensor_fail(err, t->name, "shape is not an array");
  }
  if (v->n > SL_ST_MAX_DIMS) {
    return tensor_fail(err, t->name, "shape has %zu dimensions (at most %d are supported)",
                       v->n, SL_ST_MAX_DIMS);
  }
  for (d = v->child; d; d = d->next) {
    uint64_t dim;
    if (!sl_json_u64(d, &dim)) {
      return tensor_fail(err, t->name, "shape dimension %d is not a non-negative integer",
                         t->ndim);
    }
    if (dim > INT64_MAX || dim > SIZE_MAX || (dim && count > SIZE_MAX / dim)) {
      return tensor_fail(err, t->name, "shape is too large");
    }
    count *= (size_t)dim;
    t->shape[t->ndim++] = (int64_t)dim;
  }
  if (count > SIZE_MAX / width) return tensor_fail(err, t->name, "shape is too large");
  t->n_elems = count;
  t->nbytes = count * width;
  return SL_OK;
}

/* Checks one tensor entry and fills t; its data offset goes to *begin. */
static int read_tensor(const sl_json *e, size_t data_size, sl_tensor *t, uint64_t *begin,
                       sl_err *err) {
  const sl_json *f, *off;
  uint64_t b, end;
  char shape[200];
  if (e->type != SL_JSON_OBJECT) {
    return tensor_fail(err, t->name, "entry is not an object");
  }
  for (f = e->child; f; f = f->next) {
    if (!is_exactly(f->key, f->key_len, "dtype") && !is_exactly(f->key, f->key_len, "shape")
     && !is_exactly(f->key, f->key_len, "data_offsets")) {
      return tensor_fail(err, t->name, "unexpected field '%.*s'", clipped(f->key, 40), f->key);
    }
  }
  if (!sl_json_get(e, "dtype")) return tensor_fail(err, t->name, "missing field 'dtype'");
  if (!sl_json_get(e, "shape")) return tensor_fail(err, t->name, "missing field 'shape'");
  off = sl_json_get(e, "data_offsets");
  if (!off) return tensor_fail(err, t->name, "missing field 'data_offsets'");
  if (read_dtype(sl_json_get(e, "dtype"), t, err)) return SL_ERROR;
  if (read_shape(sl_json_get(e, "shape"), t, err)) return SL_ERROR;
  if (off->type != SL_JSON_ARRAY || off->n != 2 || !sl_json_u64(off->child, &b)
   || !sl_json_u64(off->child->next, &end)) {
    return tensor_fail(err, t->name, "data_offsets is not [begin, end] of non-negative integers");
  }
  if (b > end) {
    return tensor_fail(err, t->name, "data_offsets [%llu, %llu] end before they begin",
                       (unsigned long long)b, (unsigned long long)end);
  }
  if (end - b != t->nbytes) {
    format_shape(shape, sizeof shape, t);
    return tensor_fail(err, t->name, "data_offsets [%llu, %llu] do not match shape %s of %s (%zu bytes)",
                       (unsigned long long)b, (unsigned long long)end, shape,
                       sl_dtype_name(t->dtype), t->nbytes);
  }
  if (end > data_size) {
    return tensor_fail(err, t->name, "data_offsets [%llu, %llu] go past the end of the data area (%zu bytes)",
                       (unsigned long long)b, (unsigned long long)end, data_size);
  }
  *begin = b;
  return SL_OK;
}

/* qsort orders: by name; by position in the data area, then size (empty tensors
** first), then name, so that an overlap message does not depend on qsort's whims. */
static int by_name(const void *a, const void *b) {
  return strcmp(((const sl_tensor *)a)->name, ((const sl_tensor *)b)->name);
}

static int by_offset(const void *a, const void *b) {
  const sl_tensor *x = a, *y = b;
  if (x->data != y->data) return (const char *)x->data < (const char *)y->data ? -1 : 1;
  if (x->nbytes != y->nbytes) return x->nbytes < y->nbytes ? -1 : 1;
  return by_name(a, b);
}

/* Checks that no two non-empty tensors share a byte. An empty tensor owns no bytes,
** so it may sit anywhere in the data area, even inside another tensor's range. */
static int check_overlaps(sl_safetensors *st, const char *base, sl_err *err) {
  const sl_tensor *prev = NULL;
  qsort(st->tensors, st->n_tensors, sizeof *st->tensors, by_offset);
  for (size_t k = 0; k < st->n_tensors; k++) {
    const sl_tensor *t = &st->tensors[k];
    if (t->nbytes == 0) continue;
    /* Sorted by start and disjoint so far, so prev ends last among those seen. */
    if (prev && (const char *)t->data < (const char *)prev->data + prev->nbytes) {
      size_t pb = (size_t)((const char *)prev->data - base);
      size_t tb = (size_t)((const char *)t->data - base);
      return sl_fail(err, "tensors '%.*s' and '%.*s' overlap: data_offsets [%zu, %zu] and [%zu, %zu]",
                     clipped(prev->name, 100), prev->name, clipped(t->name, 100), t->name,
                     pb, pb + prev->nbytes, tb, tb + t->nbytes);
    }
    prev = t;
  }
  return SL_OK;
}

static int check_metadata(const sl_json *m, sl_err *err) {
  if (m->type != SL_JSON_OBJECT) return sl_fail(err, "__metadata__ is not an object");
  for (const sl_json *c = m->child; c; c = c->next) {
    if (c->type != SL_JSON_STRING) {
      return sl_fail(err, "__metadata__ value of '%.*s' is not a string", clipped(c->key, 100),
                     c->key);
    }
  }
  return SL_OK;
}

/* Validates the whole header of the image buf[0..len) and builds st. */
static int parse_header(const unsigned char *buf, size_t len, sl_safetensors *st, sl_err *err) {
  uint64_t n = 0;
  const char *data;
  size_t data_size, names_size = 0, k = 0;
  sl_json_doc *doc;
  const sl_json *root, *e;
  char *name;
  int rc = SL_ERROR;

  if (len < 8) {
    return sl_fail(err, "file is too small: %zu bytes, less than the 8-byte header size", len);
  }
  for (int b = 7; b >= 0; b--) n = n << 8 | buf[b];
  if (n > SL_ST_MAX_HEADER) {
    return sl_fail(err, "header size %llu is over the limit of %u bytes",
                   (unsigned long long)n, SL_ST_MAX_HEADER);
  }
  if (n > len - 8) {
    return sl_fail(err, "file is truncated: header says %llu bytes but only %zu follow the header size",
                   (unsigned long long)n, len - 8);
  }
  if (n == 0 || buf[8] != '{') return sl_fail(err, "header does not start with '{'");
  if (sl_json_parse((const char *)buf + 8, (size_t)n, &doc, err)) {
    sl_err_prefix(err, "header");
    return SL_ERROR;
  }
  data = (const char *)buf + 8 + n;
  data_size = len - 8 - (size_t)n;
  root = sl_json_root(doc);

  /* Count the tensors and size their names, refusing names we cannot store. */
  for (e = root->child; e; e = e->next) {
    if (is_exactly(e->key, e->key_len, "__metadata__")) {
      if (check_metadata(e, err)) goto done;
      continue;
    }
    if (e->key_len == 0) {
      sl_fail(err, "header has a tensor with an empty name");
      goto done;
    }
    if (memchr(e->key, 0, e->key_len)) {
      tensor_fail(err, e->key, "name contains a NUL byte");
      goto done;
    }
    names_size += e->key_len + 1;
    st->n_tensors++;
  }
  st->tensors = sl_calloc(st->n_tensors ? st->n_tensors : 1, sizeof *st->tensors);
  st->names = sl_malloc(names_size ? names_size : 1);
  if (!st->tensors || !st->names) {
    sl_fail_code(err, SL_CODE_NOMEM, "out of memory reading the safetensors header");
    goto done;
  }
  name = st->names;
  for (e = root->child; e; e = e->next) {
    sl_tensor *t;
    uint64_t begin = 0;
    if (is_exactly(e->key, e->key_len, "__metadata__")) continue;
    t = &st->tensors[k++];
    memcpy(name, e->key, e->key_len + 1);
    t->name = name;
    name += e->key_len + 1;
    if (read_tensor(e, data_size, t, &begin, err)) goto done;
    t->data = data + begin;
  }
  if (check_overlaps(st, data, err)) goto done;
  qsort(st->tensors, st->n_tensors, sizeof *st->tensors, by_name);
  for (k = 1; k < st->n_tensors; k++) {
    if (strcmp(st->tensors[k - 1].name, st->tensors[k].name) == 0) {
      sl_fail(err, "duplicate tensor name '%.*s'", clipped(st->tensors[k].name, 100),
              st->tensors[k].name);
      goto done;
    }
  }
  rc = SL_OK;
done:
  sl_json_free(doc);
  return rc;
}

int sl_st_parse(const void *buf, size_t len, sl_safetensors **out, sl_err *err) {
  sl_safetensors *st;
  *out = NULL;
  st = sl_calloc(1, sizeof *st);
  if (!st) return sl_fail_code(err, SL_CODE_NOMEM, "out of memory reading a safetensors file");
  st->file_bytes = len;
  st->image = buf;
  if (parse_header(buf, len, st, err)) {
    sl_st_close(st);
    return SL_ERROR;
  }
  *out = st;
  return SL_OK;
}

int sl_st_load(const char *dir, const char *name, sl_file_log *log, sl_safetensors **out,
               sl_err *err) {
  sl_file f;
  *out = NULL;
  if (sl_file_read(dir, name, SL_ST_MAX_FILE, SL_FILE_PAGES, log, &f, err)) return SL_ERROR;
  if (sl_st_parse(f.data, f.size, out, err)) {
    char path[4200];
    snprintf(path, sizeof path, "%s%s%s", dir ? dir : "", dir ? "/" : "", name);
    sl_file_free(&f);
    sl_err_prefix(err, path);
    return SL_ERROR;
  }
  (*out)->file = f;
  return SL_OK;
}

int sl_st_open(const char *path, sl_safetensors **out, sl_err *err) {
  return sl_st_load(NULL, path, NULL, out, err);
}

const sl_tensor *sl_st_find(const sl_safetensors *st, const char *name) {
  sl_tensor key;
  if (!st || !name || st->n_tensors == 0) return NULL;
  memset(&key, 0, sizeof key);
  key.name = name;
  return bsearch(&key, st->tensors, st->n_tensors, sizeof *st->tensors, by_name);
}

void sl_st_release(const sl_safetensors *st, const void *p, size_t len) {
  sl_file_drop_pages(&st->file, p, len);
}

size_t sl_st_resident(const sl_safetensors *st) {
  return st->file.map_len ? sl_file_resident(&st->file) : st->file_bytes;
}

void sl_st_close(sl_safetensors *st) {
  if (!st) return;
  sl_file_free(&st->file);
  sl_free(st->tensors);
  sl_free(st->names);
  sl_free(st);
}
