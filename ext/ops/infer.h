/*
** infer.h: what one inference call does end to end, below the SQL surface: find and
** pin the model, check its kind, tokenize, run the engine, unpin. Messages name the
** problem but not the SQL function; the SQL layer puts the function's name in front.
*/
#ifndef SEMLITE_INFER_H
#define SEMLITE_INFER_H

#include <stddef.h>

#include "../common/status.h"
#include "../engine/registry.h"

/* Pins the model called name (or, when name is NULL, the first loaded model of the
** kind) and checks it is of that kind (any kind for SL_KIND_ANY with a name). Release it with sl_registry_release. */
int sl_op_pin(const char *name, sl_model_kind kind, sl_model **out, sl_err *err);

/* Embeds one text with a pinned model into out (m->cfg.hidden floats). */
int sl_op_embed(const sl_model *m, const char *text, size_t len, float *out, sl_err *err);

#endif
