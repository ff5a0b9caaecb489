/*
** preload.c: SEMLITE_PRELOAD's parser and loader (see preload.h). The parser is apart
** from the loading so that it can be fuzzed without touching the file system.
*/
#include "../base/alloc.h"
#include "preload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/registry.h"

/* Splits one entry (len bytes, no ';') into name, dtype and folder and calls fn. */
static int parse_entry(const char *entry, size_t len, int index,
                       int (*fn)(void *, const char *, sl_compute_dtype, const char *, sl_err *),
                       void *ctx, sl_err *err) {
  char *copy = sl_malloc(len + 1), *eq, *colon;
  sl_compute_dtype dtype = SL_COMPUTE_F32;
  int rc;
  if (!copy) return sl_oom(err);
  memcpy(copy, entry, len);
  copy[len] = 0;
  if (!(eq = strchr(copy, '='))) {
    rc = sl_fail(err, "expected NAME=FOLDER or NAME:DTYPE=FOLDER");
  } else {
    *eq = 0;
    if ((colon = strchr(copy, ':')) != NULL) *colon = 0;
    if (colon && sl_compute_dtype_parse(colon + 1, &dtype, err)) rc = SL_ERROR;
    else if (!copy[0]) rc = sl_fail(err, "the model name is empty");
    else if (!eq[1]) rc = sl_fail(err, "the model folder is empty");
    else rc = fn(ctx, copy, dtype, eq + 1, err);
  }
  if (rc != SL_OK) {
    char where[96];
    snprintf(where, sizeof where, "entry %d ('%.*s')", index, (int)(len < 64 ? len : 64), entry);
    sl_err_prefix(err, where);
  }
  sl_free(copy);
  return rc;
}

int sl_preload_parse(const char *spec,
                     int (*fn)(void *, const char *, sl_compute_dtype, const char *, sl_err *),
                     void *ctx, sl_err *err) {
  int index = 0;
  for (const char *p = spec; *p;) {
    size_t len = strcspn(p, ";");
    if (len > 0 && parse_entry(p, len, ++index, fn, ctx, err)) return SL_ERROR;
    p += len;
    if (*p == ';') p++;
  }
  return SL_OK;
}

static int load_one(void *ctx, const char *name, sl_compute_dtype dtype, const char *dir, sl_err *err) {
  (void)ctx;
  return sl_registry_load(name, dir, dtype, err);
}

int sl_preload(const char *spec, sl_err *err) {
  return sl_preload_parse(spec, load_one, NULL, err);
}
