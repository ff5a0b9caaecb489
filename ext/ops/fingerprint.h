/*
** fingerprint.h: what a loaded model is, as a database may remember it: the folder, the
** kind, dimension and compute dtype, and an XXH3-128 of its weights file
** (model.safetensors) and vocab.txt. Unlike the cache's model key (sl_op_identity) it
** does not depend on the CPU's kernels, so a table created on one machine accepts the same
** model on another. semlite_vec records it for model= (ext/sql/vec/identity.c).
*/
#ifndef SEMLITE_OPS_FINGERPRINT_H
#define SEMLITE_OPS_FINGERPRINT_H

#include "../base/status.h"

typedef struct sl_fingerprint {
  char folder[4096];
  char kind[16];           /* "embed" or "rerank" */
  int dim;
  char dtype[16];          /* fp32, int8, bf16 */
  char weights[33];        /* hex XXH3-128 of model.safetensors then vocab.txt */
} sl_fingerprint;

/* The fingerprint of the model loaded under name. *found is 0 (and SL_OK) when no model
** has that name. The hash is the one taken at load over the bytes in memory
** (sl_model_files_hash): no file is read. */
int sl_op_fingerprint(const char *name, int *found, sl_fingerprint *out, sl_err *err);

#endif
