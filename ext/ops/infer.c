/*
** infer.c: one inference call end to end (see infer.h).
*/
#include "infer.h"

static const char *kind_noun(sl_model_kind kind) {
  return kind == SL_KIND_EMBED ? "an embedding model" : "a cross-encoder (rerank) model";
}

int sl_op_pin(const char *name, sl_model_kind kind, sl_model **out, sl_err *err) {
  sl_model *m = name ? sl_registry_acquire(name) : sl_registry_acquire_first(kind);
  *out = NULL;
  if (!m) {
    if (name) return sl_fail(err, "no model named '%s' (load one with semlite_model_load)", name);
    return sl_fail(err, "no %s is loaded (load one with semlite_model_load)",
                   kind == SL_KIND_EMBED ? "embedding model" : "cross-encoder (rerank) model");
  }
  if (kind != SL_KIND_ANY && m->cfg.kind != kind) {
    sl_registry_release(m);
    return sl_fail(err, "model '%s' is %s, not %s", name, kind_noun(m->cfg.kind), kind_noun(kind));
  }
  *out = m;
  return SL_OK;
}

int sl_op_embed(const sl_model *m, const char *text, size_t len, float *out, sl_err *err) {
  return sl_model_embed(m, 1, &text, &len, out, err);
}
