/*
** model_config.h: what a Hugging Face model folder says about the model.
**
** Reads config.json, tokenizer_config.json (and special_tokens_map.json),
** sentence_bert_config.json, modules.json and the pooling module's config.json, and
** turns them into one validated description. Nothing about a particular model is
** hard-coded: sizes, pooling, normalization, maximum length and tokenizer options all
** come from these files, with Hugging Face's defaults where a file is absent.
*/
#ifndef SEMLITE_MODEL_CONFIG_H
#define SEMLITE_MODEL_CONFIG_H

#include "../base/file.h"
#include "../base/status.h"
#include "tokenizer.h"

typedef enum sl_model_kind {
  SL_KIND_ANY = -1,  /* a filter value for lookups, never a model's kind */
  SL_KIND_EMBED,     /* BertModel + sentence-transformers pooling: text -> vector */
  SL_KIND_RERANK     /* BertForSequenceClassification: (query, doc) -> logit */
} sl_model_kind;

typedef enum sl_pooling {
  SL_POOL_MEAN,
  SL_POOL_CLS,
  SL_POOL_MAX,
  SL_POOL_MEAN_SQRT_LEN
} sl_pooling;

#define SL_TOKEN_MAX 64   /* longest special-token string we keep */

typedef struct sl_model_config {
  sl_model_kind kind;
  char architecture[64];
  int hidden, heads, layers, intermediate, vocab, max_position, type_vocab;
  int num_labels;             /* SL_KIND_RERANK: classifier outputs */
  float layer_norm_eps;
  int max_seq_len;            /* tokens per sequence, [CLS] and [SEP] included */
  sl_pooling pooling;         /* SL_KIND_EMBED */
  int normalize;              /* SL_KIND_EMBED: L2-normalize the pooled vector */
  sl_tokenizer_config tok;    /* its strings point into the arrays below */
  char unk[SL_TOKEN_MAX], cls[SL_TOKEN_MAX], sep[SL_TOKEN_MAX], pad[SL_TOKEN_MAX], mask[SL_TOKEN_MAX];
} sl_model_config;

/* Reads the folder's configuration files. dir must exist; missing optional files get
** Hugging Face's defaults. Each file is read through file.h (regular files of at most
** 4 MB) and, when log is not NULL, recorded in it, absent optional files too. */
int sl_model_config_load(const char *dir, sl_model_config *cfg, sl_file_log *log, sl_err *err);
/* sl_model_config_load without a log. */
int sl_model_config_read(const char *dir, sl_model_config *cfg, sl_err *err);

const char *sl_model_kind_name(sl_model_kind kind);
const char *sl_pooling_name(sl_pooling p);

#endif
