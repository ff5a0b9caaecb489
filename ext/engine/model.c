/*
** model.c: opens a model folder and runs text-level inference (see model.h).
*/
#include "model.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int sl_model_open(const char *dir, sl_model **out, sl_err *err) {
  double t0 = now_ms();
  char real[PATH_MAX], path[PATH_MAX + 32];
  struct stat st;
  sl_model *m;

  *out = NULL;
  if (!realpath(dir, real) || stat(real, &st) != 0)
    return sl_fail(err, "cannot open model folder '%s': %s", dir, strerror(errno));
  if (!S_ISDIR(st.st_mode)) return sl_fail(err, "'%s' is not a folder", dir);

  m = calloc(1, sizeof *m);
  if (!m || !(m->dir = strdup(real))) {
    free(m);
    return sl_fail(err, "out of memory");
  }
  if (sl_model_config_read(real, &m->cfg, err)) goto fail;

  snprintf(path, sizeof path, "%s/vocab.txt", real);
  if (sl_tokenizer_load(path, &m->cfg.tok, &m->tok, err)) goto fail;
  if (sl_tokenizer_vocab_size(m->tok) > (size_t)m->cfg.vocab) {
    sl_fail(err, "vocab.txt has %zu tokens but config.json says vocab_size %d",
            sl_tokenizer_vocab_size(m->tok), m->cfg.vocab);
    goto fail;
  }
  snprintf(path, sizeof path, "%s/model.safetensors", real);
  if (sl_bert_load(&m->cfg, path, &m->bert, err)) goto fail;
  m->load_ms = now_ms() - t0;
  *out = m;
  return SL_OK;
fail:
  sl_model_close(m);
  return SL_ERROR;
}

void sl_model_close(sl_model *m) {
  if (!m) return;
  sl_bert_free(m->bert);
  sl_tokenizer_free(m->tok);
  free(m->dir);
  free(m);
}

int sl_model_tokenize(const sl_model *m, const char *text, size_t len, sl_tokens *out,
                      sl_err *err) {
  return sl_tokenizer_encode_single(m->tok, text, len, (size_t)m->cfg.max_seq_len, out, NULL, err);
}

int sl_model_embed(const sl_model *m, size_t n, const char *const *texts, const size_t *lens,
                   float *out, sl_err *err) {
  sl_tokens all = {0}, one = {0};
  size_t *offsets = malloc((n + 1) * sizeof *offsets);
  int rc = SL_ERROR;

  if (!offsets) return sl_fail(err, "out of memory");
  offsets[0] = 0;
  for (size_t i = 0; i < n; i++) {
    if (sl_model_tokenize(m, texts[i], lens[i], &one, err)) goto done;
    if (all.n + one.n > all.cap) {
      size_t cap = (all.n + one.n) * 2;
      int32_t *ids = realloc(all.ids, cap * sizeof *ids);
      if (!ids) { sl_fail(err, "out of memory"); goto done; }
      all.ids = ids;
      all.cap = cap;
    }
    memcpy(all.ids + all.n, one.ids, one.n * sizeof *one.ids);
    all.n += one.n;
    offsets[i + 1] = all.n;
  }
  {
    sl_batch batch = {n, offsets, all.ids, NULL};
    rc = sl_bert_embed(m->bert, &batch, out, err);
  }
done:
  sl_tokens_free(&one);
  sl_tokens_free(&all);
  free(offsets);
  return rc;
}
