/*
** fingerprint.c: a loaded model's fingerprint (fingerprint.h), from the model in memory:
** the hash of its files was taken at load from the bytes it computes with, so a file
** replaced on disk since cannot make a table accept a model it was not created with.
*/
#include "fingerprint.h"

#include <stdio.h>
#include <string.h>

#include "../engine/bert.h"
#include "../engine/registry.h"
#include "infer.h"
#include "models.h"

int sl_op_fingerprint(const char *name, int *found, sl_fingerprint *out, sl_err *err) {
  sl_model *m = sl_registry_acquire(name);
  unsigned char hash[16];
  (void)err;
  memset(out, 0, sizeof *out);
  if (!(*found = m != NULL)) return SL_OK;
  snprintf(out->folder, sizeof out->folder, "%s", m->dir);
  snprintf(out->kind, sizeof out->kind, "%s", sl_op_kind_name(m->cfg.kind));
  out->dim = (int)sl_op_width(m);
  snprintf(out->dtype, sizeof out->dtype, "%s", sl_bert_dtype(m->bert));
  sl_model_files_hash(m, hash);
  for (int i = 0; i < 16; i++) snprintf(out->weights + 2 * i, 3, "%02x", hash[i]);
  sl_registry_release(m);
  return SL_OK;
}
