/*
** models.h: models by name, as the SQL surface loads, unloads and lists them: the
** operations over the process-wide registry (ext/engine/registry.h). The load options
** are a JSON object ({"dtype": "int8"}) read here.
*/
#ifndef SEMLITE_OPS_MODELS_H
#define SEMLITE_OPS_MODELS_H

#include <stddef.h>

#include "../base/status.h"
#include "../engine/registry.h"   /* sl_model_info: one row of the list */

/* Loads the folder dir under name; options is NULL or the JSON text of the options
** (len bytes). */
int sl_op_model_load(const char *name, const char *dir, const char *options, size_t len,
                     sl_err *err);
int sl_op_model_unload(const char *name, sl_err *err);

/* A snapshot of the loaded names in load order; free *rows with sl_free(). */
int sl_op_model_list(sl_model_info **rows, size_t *n, sl_err *err);

/* "embed" or "rerank". */
const char *sl_op_kind_name(sl_model_kind kind);

#endif
