/*
** bert.h: the BERT encoder: weights bound from a safetensors file read into memory and
** the float32 forward pass over a packed batch.
**
** A batch packs sequences of different lengths back to back with no padding: linear
** layers run over all tokens at once (one GEMM per weight matrix), attention runs per
** sequence. A loaded sl_bert is immutable; any number of threads may run forward passes
** on it at once, each with its own scratch memory.
*/
#ifndef SEMLITE_BERT_H
#define SEMLITE_BERT_H

#include <stddef.h>
#include <stdint.h>

#include "../base/status.h"
#include "model_config.h"
#include "quantize.h"
#include "safetensors.h"

typedef struct sl_bert sl_bert;

/* A batch of n_seq sequences: sequence s is ids[offsets[s] .. offsets[s+1]). type_ids
** may be NULL (all zero). Every sequence has 1..max_position tokens. */
typedef struct sl_batch {
  size_t n_seq;
  const size_t *offsets;
  const int32_t *ids;
  const int32_t *type_ids;
} sl_batch;

/* Binds the tensors the config calls for from st (model.safetensors, read by
** sl_st_load), which the sl_bert owns from here on, even on failure. The config is
** copied. With compute int8 or bf16, the encoder's linear layers get a reduced-precision
** copy made here, once. */
int sl_bert_load(const sl_model_config *cfg, sl_safetensors *st, sl_compute_dtype compute,
                 sl_bert **out, sl_err *err);
/* Gives back the memory of the float32 matrices that quantized copies replaced. After
** this sl_bert_file_data no longer holds the whole file: hash it first. */
void sl_bert_drop_replaced(sl_bert *bert);
void sl_bert_free(sl_bert *bert);
/* Parameters used by the forward pass, and the bytes of the weights file. */
size_t sl_bert_params(const sl_bert *bert);
size_t sl_bert_file_bytes(const sl_bert *bert);
/* The weights file as read (sl_bert_file_bytes long), for hashing its identity. */
const void *sl_bert_file_data(const sl_bert *bert);
/* Bytes of the file's copy in RAM now. */
size_t sl_bert_file_resident(const sl_bert *bert);
/* Heap bytes of weights converted, realigned or quantized at load (0 for an aligned F32
** file computed in fp32). */
size_t sl_bert_owned_bytes(const sl_bert *bert);
/* Bytes of scratch one forward pass over `tokens` tokens (the longest sequence `longest`)
** allocates: what memory_budget_mb bounds (ops/limits.h). */
size_t sl_bert_scratch_bytes(const sl_model_config *cfg, size_t tokens, size_t longest);
/* The dtype the encoder computes in: "fp32", "int8" or "bf16". */
const char *sl_bert_dtype(const sl_bert *bert);
sl_compute_dtype sl_bert_compute_dtype(const sl_bert *bert);

/* Sentence embeddings: out receives n_seq rows of hidden floats (pooled, normalized
** as configured). SL_KIND_EMBED only. */
int sl_bert_embed(const sl_bert *bert, const sl_batch *batch, float *out, sl_err *err);

/* Classifier logits: out receives n_seq rows of num_labels floats. SL_KIND_RERANK only. */
int sl_bert_classify(const sl_bert *bert, const sl_batch *batch, float *out, sl_err *err);

#endif
