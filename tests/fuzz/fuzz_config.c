/*
** fuzz_config.c: libFuzzer target for a model folder's configuration files
** (sl_model_config_read in ext/engine/model_config.c, and json.c under it).
**
** The input is split at NUL bytes into config.json, tokenizer_config.json,
** special_tokens_map.json, sentence_bert_config.json, modules.json and
** 1_Pooling/config.json, written into a scratch folder (a missing part: the file is
** absent). Checks besides the sanitizers: an accepted folder has a kind, positive
** sizes, special tokens that are NUL-terminated strings, and a maximum length within
** the position embeddings; a refusal says why.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../ext/engine/model_config.h"

static const char *const files[] = {"config.json", "tokenizer_config.json", "special_tokens_map.json",
                                    "sentence_bert_config.json", "modules.json", "1_Pooling/config.json"};
#define N_FILES (sizeof files / sizeof files[0])
static char dir[256];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  char sub[300];
  const char *tmp = getenv("TMPDIR");
  (void)argc;
  (void)argv;
  snprintf(dir, sizeof dir, "%s/semlite-fuzz-config-%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
  snprintf(sub, sizeof sub, "%s/1_Pooling", dir);
  mkdir(dir, 0700);
  mkdir(sub, 0700);
  if (access(sub, W_OK) != 0) abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t at = 0;                  /* start of the next part; size + 1 once all are used */
  sl_model_config cfg;
  sl_err err;
  for (size_t f = 0; f < N_FILES; f++) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, files[f]);
    if (at > size || (at == size && f > 0)) {
      unlink(path);
      continue;
    }
    {
      const uint8_t *nul = memchr(data + at, 0, size - at);
      size_t n = nul ? (size_t)(nul - (data + at)) : size - at;
      FILE *out = fopen(path, "wb");
      if (!out || fwrite(data + at, 1, n, out) != n || fclose(out) != 0) abort();
      at += n + 1;
    }
  }
  if (sl_model_config_read(dir, &cfg, &err) == SL_OK) {
    if (cfg.kind != SL_KIND_EMBED && cfg.kind != SL_KIND_RERANK) abort();
    if (cfg.hidden <= 0 || cfg.heads <= 0 || cfg.layers <= 0 || cfg.intermediate <= 0 || cfg.vocab <= 0) abort();
    if (cfg.max_seq_len < 1 || cfg.max_seq_len > cfg.max_position) abort();
    if (!memchr(cfg.unk, 0, sizeof cfg.unk) || !memchr(cfg.cls, 0, sizeof cfg.cls) ||
        !memchr(cfg.sep, 0, sizeof cfg.sep))
      abort();
  } else if (!err.msg[0]) {
    abort();
  }
  return 0;
}
