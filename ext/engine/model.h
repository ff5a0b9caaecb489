/*
** model.h: a loaded model folder: its configuration, tokenizer and encoder, and the
** text-level entry points (tokenize, embed, score a pair) the operations layer calls.
**
** An sl_model is immutable once opened and safe to use from any number of threads.
** Who may use it when is the registry's business (registry.h), not this file's.
*/
#ifndef SEMLITE_MODEL_H
#define SEMLITE_MODEL_H

#include <stddef.h>

#include "../common/status.h"
#include "bert.h"
#include "model_config.h"
#include "tokenizer.h"

typedef struct sl_model {
  char *dir;                  /* canonical path of the folder (realpath) */
  sl_model_config cfg;
  sl_tokenizer *tok;
  sl_bert *bert;
  double load_ms;             /* wall time of sl_model_open */
} sl_model;

/* Opens the Hugging Face folder dir: configuration, vocab.txt, model.safetensors. */
int sl_model_open(const char *dir, sl_model **out, sl_err *err);
void sl_model_close(sl_model *m);

/* [CLS] text [SEP] truncated to the model's maximum length, as the model sees it. */
int sl_model_tokenize(const sl_model *m, const char *text, size_t len, sl_tokens *out,
                      sl_err *err);

/* Embeds n texts; out receives n rows of cfg.hidden floats. Embedding models only. */
int sl_model_embed(const sl_model *m, size_t n, const char *const *texts, const size_t *lens,
                   float *out, sl_err *err);

#endif
