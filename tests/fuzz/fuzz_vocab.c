/*
** fuzz_vocab.c: libFuzzer target for loading vocab.txt (sl_tokenizer_load in
** ext/engine/tokenizer.c), a file of a downloaded model folder.
**
** The input is the file (handed over as /proc/self/fd/N of a memfd, so nothing touches
** the disk). A loaded vocabulary must know its special tokens, and tokenizing a fixed
** set of texts with it must give ids inside it, framed by [CLS] and [SEP].
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../ext/engine/tokenizer.h"

static const char *const probes[] = {
  "hello world", "Héllo, WORLD!", "unaffable ##ing", "[CLS] [SEP] [UNK] [MASK]", "東京 タワー",
  "a\tb\nc", "", "x", "don't stop-believing 42.5%",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int fd = memfd_create("vocab", 0);
  char path[64];
  sl_tokenizer_config cfg;
  sl_tokenizer *tok;
  sl_err err;
  if (fd < 0) abort();
  if (size && write(fd, data, size) != (ssize_t)size) abort();
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  sl_tokenizer_config_default(&cfg);
  if (sl_tokenizer_load(path, &cfg, &tok, &err) == SL_OK) {
    size_t vocab = sl_tokenizer_vocab_size(tok);
    if ((size_t)sl_tokenizer_cls_id(tok) >= vocab || (size_t)sl_tokenizer_sep_id(tok) >= vocab) abort();
    for (size_t p = 0; p < sizeof probes / sizeof probes[0]; p++) {
      sl_tokens ids = {0};
      size_t n = strlen(probes[p]);
      if (sl_tokenizer_encode_single(tok, probes[p], n, 64, &ids, NULL, &err) != SL_OK) abort();
      if (ids.n < 2 || ids.n > 64 || ids.ids[0] != sl_tokenizer_cls_id(tok) ||
          ids.ids[ids.n - 1] != sl_tokenizer_sep_id(tok))
        abort();
      for (size_t i = 0; i < ids.n; i++)
        if (ids.ids[i] < 0 || (size_t)ids.ids[i] >= vocab) abort();
      sl_tokens_free(&ids);
    }
    sl_tokenizer_free(tok);
  } else if (!err.msg[0]) {
    abort();                       /* a refusal says why */
  }
  close(fd);
  return 0;
}
