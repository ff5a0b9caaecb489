/*
** models.c: loading, unloading and listing models by name (see models.h).
*/
#include "models.h"

#include <string.h>

#include "../base/json.h"
#include "limits.h"

/* The options object of a load: {"dtype": "int8"}. */
static int parse_options(const char *text, size_t len, sl_compute_dtype *dtype, sl_err *err) {
  sl_json_doc *doc;
  const sl_json *v;
  int rc = SL_OK;
  *dtype = SL_COMPUTE_F32;
  if (sl_limit_document(len, err) || sl_json_parse(text, len, &doc, err)) return SL_ERROR;
  if (sl_json_root(doc)->type != SL_JSON_OBJECT) {
    sl_json_free(doc);
    return sl_fail(err, "options must be a JSON object, e.g. '{\"dtype\":\"int8\"}'");
  }
  for (v = sl_json_root(doc)->child; v && rc == SL_OK; v = v->next) {
    if (strcmp(v->key, "dtype") != 0)
      rc = sl_fail(err, "unknown option '%s' (known: dtype)", v->key);
    else if (v->type != SL_JSON_STRING)
      rc = sl_fail(err, "option dtype must be a string");
    else
      rc = sl_compute_dtype_parse(v->str, dtype, err);
  }
  sl_json_free(doc);
  return rc;
}

int sl_op_model_load(const char *name, const char *dir, const char *options, size_t len,
                     sl_err *err) {
  sl_compute_dtype dtype = SL_COMPUTE_F32;
  if (options && parse_options(options, len, &dtype, err)) return SL_ERROR;
  return sl_registry_load(name, dir, dtype, err);
}

int sl_op_model_unload(const char *name, sl_err *err) { return sl_registry_unload(name, err); }

int sl_op_model_list(sl_model_info **rows, size_t *n, sl_err *err) {
  return sl_registry_list(rows, n, err);
}

const char *sl_op_kind_name(sl_model_kind kind) { return sl_model_kind_name(kind); }
