/*
** tokenizer.h: the BERT WordPiece tokenizer, bit-exact with Hugging Face's Rust
** `tokenizers` (BertNormalizer + BertPreTokenizer + WordPiece + the BERT template and
** truncation), which is what sentence-transformers and transformers run.
**
** A tokenizer is immutable after loading: any number of threads may encode with it.
*/
#ifndef SEMLITE_TOKENIZER_H
#define SEMLITE_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "../base/status.h"

typedef struct sl_tokenizer_config {
  int clean_text;                 /* BertNormalizer.clean_text (1 for BERT) */
  int handle_chinese_chars;       /* tokenize_chinese_chars */
  int strip_accents;              /* -1: null (follows lowercase), 0: no, 1: yes */
  int lowercase;                  /* do_lower_case */
  int max_input_chars_per_word;   /* 100 */
  const char *unk_token, *cls_token, *sep_token, *pad_token, *mask_token;
} sl_tokenizer_config;

/* Hugging Face's defaults for BertTokenizer. */
void sl_tokenizer_config_default(sl_tokenizer_config *cfg);

/* A growable array of token ids owned by the caller. */
typedef struct sl_tokens {
  int32_t *ids;
  size_t n, cap;
} sl_tokens;
void sl_tokens_free(sl_tokens *t);

typedef struct sl_tokenizer sl_tokenizer;

/* Largest vocab.txt accepted (a BERT vocabulary is 0.2 MB, a multilingual one a few MB). */
#define SL_VOCAB_MAX_BYTES ((size_t)64 << 20)

/* Loads vocab.txt (one token per line, id = line number), read through file.h. The
** config strings are copied. The special tokens must be in the vocabulary. */
int sl_tokenizer_load(const char *vocab_path, const sl_tokenizer_config *cfg,
                      sl_tokenizer **out, sl_err *err);

/* Same, from the file's bytes already in memory: data (size bytes, from malloc) is the
** tokenizer's from here on, freed by it even on failure; vocab_path names the file in
** messages. */
int sl_tokenizer_load_data(char *data, size_t size, const char *vocab_path,
                           const sl_tokenizer_config *cfg, sl_tokenizer **out, sl_err *err);
void sl_tokenizer_free(sl_tokenizer *tok);

size_t sl_tokenizer_vocab_size(const sl_tokenizer *tok);
int32_t sl_tokenizer_cls_id(const sl_tokenizer *tok);
int32_t sl_tokenizer_sep_id(const sl_tokenizer *tok);

/* Appends the ids of text[0..len) to out: no special tokens added, no truncation.
** Literal special tokens in the text ("[SEP]", exact case) become their ids, as Hugging
** Face's added-token matching does. Invalid UTF-8 is an error. */
int sl_tokenizer_encode(const sl_tokenizer *tok, const char *text, size_t len,
                        sl_tokens *out, sl_err *err);

/* [CLS] text [SEP], truncated to at most max_len ids (the text keeps max_len-2).
** *n_full (if not NULL) receives the length without truncation. out is reset first. */
int sl_tokenizer_encode_single(const sl_tokenizer *tok, const char *text, size_t len,
                               size_t max_len, sl_tokens *out, size_t *n_full, sl_err *err);

/* [CLS] a [SEP] b [SEP] with Hugging Face `longest_first` truncation to max_len ids.
** type_ids gets 0 for [CLS], a and the first [SEP]; 1 for b and the last [SEP].
** out and type_ids are reset first. */
int sl_tokenizer_encode_pair(const sl_tokenizer *tok, const char *a, size_t a_len,
                             const char *b, size_t b_len, size_t max_len,
                             sl_tokens *out, sl_tokens *type_ids, size_t *n_full,
                             sl_err *err);

#endif
