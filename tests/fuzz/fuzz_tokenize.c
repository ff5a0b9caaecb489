/*
** fuzz_tokenize.c: libFuzzer target for the WordPiece tokenizer's input side
** (ext/engine/tokenizer.c, unicode.c): any bytes a user passes to embed() or rerank().
**
** The vocabulary is the MiniLM twin's (SEMLITE_FUZZ_VOCAB, default
** models/synthetic/minilm-l6-embed/vocab.txt, from the repository root). The first
** input byte picks the normalizer options and the length bound; the rest is the text,
** or two texts split at the first NUL (a rerank pair). Checks besides the sanitizers:
** invalid UTF-8 is refused, valid text gives [CLS] ... [SEP] within the bound with
** every id in the vocabulary, a pair has one type id per id (0s then 1s) and two [SEP],
** and the untruncated length is at least the kept one.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../ext/engine/tokenizer.h"
#include "../../ext/engine/unicode.h"

static sl_tokenizer *toks[8];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  const char *path = getenv("SEMLITE_FUZZ_VOCAB");
  sl_err err;
  (void)argc;
  (void)argv;
  if (!path) path = "models/synthetic/minilm-l6-embed/vocab.txt";
  for (int v = 0; v < 8; v++) {
    sl_tokenizer_config cfg;
    sl_tokenizer_config_default(&cfg);
    cfg.lowercase = v & 1;
    cfg.strip_accents = (v & 2) ? -1 : 0;
    cfg.handle_chinese_chars = (v & 4) != 0;
    if (sl_tokenizer_load(path, &cfg, &toks[v], &err)) {
      fprintf(stderr, "fuzz_tokenize: %s: %s\n", path, err.msg);
      abort();
    }
  }
  return 0;
}

static void check_ids(const sl_tokenizer *tok, const sl_tokens *t) {
  for (size_t i = 0; i < t->n; i++)
    if (t->ids[i] < 0 || (size_t)t->ids[i] >= sl_tokenizer_vocab_size(tok)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const sl_tokenizer *tok;
  const char *text, *nul;
  size_t len, max_len, n_full, bad;
  sl_tokens ids = {0}, types = {0};
  sl_err err;
  if (size < 1) return 0;
  tok = toks[data[0] & 7];
  max_len = 2 + (data[0] >> 3) * 17;       /* 2 .. 529 */
  text = (const char *)data + 1;
  len = size - 1;
  nul = memchr(text, 0, len);
  if (!nul) {
    int valid = sl_utf8_valid(text, len, &bad);
    int rc = sl_tokenizer_encode_single(tok, text, len, max_len, &ids, &n_full, &err);
    if (rc != (valid ? SL_OK : SL_ERROR)) abort();
    if (rc == SL_OK) {
      check_ids(tok, &ids);
      if (ids.n < 2 || ids.n > max_len || n_full < ids.n) abort();
      if (ids.ids[0] != sl_tokenizer_cls_id(tok) || ids.ids[ids.n - 1] != sl_tokenizer_sep_id(tok)) abort();
    }
  } else {
    const char *b = nul + 1;
    size_t a_len = (size_t)(nul - text), b_len = len - a_len - 1;
    int valid = sl_utf8_valid(text, a_len, &bad) && sl_utf8_valid(b, b_len, &bad);
    int rc = sl_tokenizer_encode_pair(tok, text, a_len, b, b_len, max_len < 3 ? 3 : max_len, &ids, &types,
                                      &n_full, &err);
    if (rc != (valid ? SL_OK : SL_ERROR)) abort();
    if (rc == SL_OK) {
      size_t seps = 0, switched = 0;
      check_ids(tok, &ids);
      if (ids.n < 3 || ids.n > (max_len < 3 ? 3 : max_len) || types.n != ids.n || n_full < ids.n) abort();
      for (size_t i = 0; i < ids.n; i++) {
        seps += ids.ids[i] == sl_tokenizer_sep_id(tok);
        if (types.ids[i] != 0 && types.ids[i] != 1) abort();
        if (i && types.ids[i] != types.ids[i - 1]) switched++;
      }
      if (seps < 2 || switched > 1 || types.ids[0] != 0 || types.ids[ids.n - 1] != 1) abort();
    }
  }
  sl_tokens_free(&ids);
  sl_tokens_free(&types);
  return 0;
}
