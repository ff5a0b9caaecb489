/*
** model.c: opens a model folder and runs text-level inference (see model.h): the
** tokenization a model's inputs get, the one packing routine that turns many texts
** or (query, document) pairs into padding-free batches of bounded size for bert.c, and
** the model's identity for content addressing. Every file of the folder is read once,
** through file.h, and recorded with its stamp so that the registry can tell when the
** folder no longer holds what a loaded model read.
*/
#include "../base/alloc.h"
#include "model.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../kernels/gemm.h"
#include "../kernels/kernels.h"
#include "unicode.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void compute_hashes(sl_model *m, const void *vocab, size_t vocab_bytes);

/* The numerics of the fp32 and int8 forward passes, in the model's identity (and so in
** every cache address): bump one whenever a change alters any output bit of that dtype,
** so that results cached by an older release are not reused. */
#define SL_NUMERICS_FP32 "fp32-order-1"
#define SL_NUMERICS_INT8 "int8-order-2"

int sl_model_open(const char *dir, sl_compute_dtype dtype, sl_model **out, sl_err *err) {
  double t0 = now_ms();
  char real[PATH_MAX], path[PATH_MAX + 32];
  struct stat st;
  sl_file vocab;
  sl_safetensors *weights;
  void *vocab_copy = NULL;
  sl_model *m;

  *out = NULL;
  if (!realpath(dir, real) || stat(real, &st) != 0)
    return sl_fail(err, "cannot open model folder '%s': %s", dir, strerror(errno));
  if (!S_ISDIR(st.st_mode)) return sl_fail(err, "'%s' is not a folder", dir);

  m = sl_calloc(1, sizeof *m);
  if (!m || !(m->dir = sl_strdup(real))) {
    sl_free(m);
    return sl_oom(err);
  }
  if (sl_model_config_load(real, &m->cfg, &m->files, err)) goto fail;

  if (sl_file_read(real, "vocab.txt", SL_VOCAB_MAX_BYTES, 0, &m->files, &vocab, err)) goto fail;
  m->vocab_hash = XXH3_64bits(vocab.data, vocab.size);
  /* The tokenizer takes the bytes; the files hash needs them after the weights. */
  if (!(vocab_copy = sl_malloc(vocab.size ? vocab.size : 1))) {
    sl_file_free(&vocab);
    sl_oom(err);
    goto fail;
  }
  memcpy(vocab_copy, vocab.data, vocab.size);
  snprintf(path, sizeof path, "%s/vocab.txt", real);
  if (sl_tokenizer_load_data(sl_file_take(&vocab), vocab.size, path, &m->cfg.tok, &m->tok, err))
    goto fail;
  if (sl_tokenizer_vocab_size(m->tok) > (size_t)m->cfg.vocab) {
    sl_fail(err, "vocab.txt has %zu tokens but config.json says vocab_size %d",
            sl_tokenizer_vocab_size(m->tok), m->cfg.vocab);
    goto fail;
  }
  if (sl_st_load(real, "model.safetensors", &m->files, &weights, err) ||
      sl_bert_load(&m->cfg, weights, dtype, &m->bert, err))
    goto fail;
  /* The identity hashes the whole weights file, so it comes before the pages of the
  ** float32 matrices that quantized copies replaced are given back. */
  compute_hashes(m, vocab_copy, vocab.size);
  sl_free(vocab_copy);
  sl_bert_drop_replaced(m->bert);
  m->load_ms = now_ms() - t0;
  *out = m;
  return SL_OK;
fail:
  sl_free(vocab_copy);
  sl_model_close(m);
  return SL_ERROR;
}

void sl_model_close(sl_model *m) {
  if (!m) return;
  sl_bert_free(m->bert);
  sl_tokenizer_free(m->tok);
  sl_file_log_free(&m->files);
  sl_free(m->dir);
  sl_free(m);
}

const char *sl_model_changed(const sl_model *m) { return sl_file_log_changed(&m->files); }

static void hash_int(XXH3_state_t *st, long long v) { XXH3_128bits_update(st, &v, sizeof v); }

/* Strings with their terminator, so that ("ab", "c") and ("a", "bc") differ. */
static void hash_str(XXH3_state_t *st, const char *s) { XXH3_128bits_update(st, s, strlen(s) + 1); }

/* Both hashes of sl_model in one pass over the weights, 1 MB at a time so each piece
** is hashed twice while in cache. The identity's format is unchanged since it was hashed
** on first use: caches written then still match. */
static void compute_hashes(sl_model *m, const void *vocab, size_t vocab_bytes) {
  const sl_model_config *c = &m->cfg;
  const unsigned char *w = sl_bert_file_data(m->bert);
  size_t n = sl_bert_file_bytes(m->bert), piece = (size_t)1 << 20;
  XXH3_state_t st, files;
  XXH128_canonical_t id;
  XXH3_128bits_reset(&st);
  XXH3_128bits_reset(&files);
  hash_str(&st, "semlite-model-identity-1");
  for (size_t at = 0; at < n; at += piece) {
    size_t len = n - at < piece ? n - at : piece;
    XXH3_128bits_update(&st, w + at, len);
    XXH3_128bits_update(&files, w + at, len);
  }
  XXH3_128bits_update(&files, vocab, vocab_bytes);
  XXH128_canonicalFromHash(&id, XXH3_128bits_digest(&files));
  memcpy(m->files_hash, id.digest, sizeof m->files_hash);
  hash_int(&st, (long long)m->vocab_hash);
  hash_int(&st, c->kind);
  hash_str(&st, c->architecture);
  hash_int(&st, c->hidden);
  hash_int(&st, c->heads);
  hash_int(&st, c->layers);
  hash_int(&st, c->intermediate);
  hash_int(&st, c->vocab);
  hash_int(&st, c->max_position);
  hash_int(&st, c->type_vocab);
  hash_int(&st, c->num_labels);
  XXH3_128bits_update(&st, &c->layer_norm_eps, sizeof c->layer_norm_eps);
  hash_int(&st, c->max_seq_len);
  hash_int(&st, c->pooling);
  hash_int(&st, c->normalize);
  hash_int(&st, c->tok.clean_text);
  hash_int(&st, c->tok.handle_chinese_chars);
  hash_int(&st, c->tok.strip_accents);
  hash_int(&st, c->tok.lowercase);
  hash_int(&st, c->tok.max_input_chars_per_word);
  hash_str(&st, c->unk);
  hash_str(&st, c->cls);
  hash_str(&st, c->sep);
  hash_str(&st, c->pad);
  hash_str(&st, c->mask);
  hash_str(&st, sl_bert_dtype(m->bert));
  /* A result is only reused where it would be computed again identically. fp32 and
  ** int8 give the same bits at every kernel level (kernels/order.h), so only the
  ** forward pass's numerics version counts; bf16's bits depend on its kernels. */
  switch (sl_bert_compute_dtype(m->bert)) {
    case SL_COMPUTE_F32: hash_str(&st, SL_NUMERICS_FP32); break;
    case SL_COMPUTE_INT8: hash_str(&st, SL_NUMERICS_INT8); break;
    case SL_COMPUTE_BF16:
      hash_str(&st, sl_kernels_get()->name);
      hash_str(&st, sl_gemm_get()->bf16_name);
      hash_str(&st, sl_gemm_get()->bf16_packed_name ? sl_gemm_get()->bf16_packed_name : "unpacked");
      break;
  }
  XXH128_canonicalFromHash(&id, XXH3_128bits_digest(&st));
  memcpy(m->id, id.digest, sizeof m->id);
}

void sl_model_identity(const sl_model *m, unsigned char out[16]) { memcpy(out, m->id, sizeof m->id); }

void sl_model_files_hash(const sl_model *m, unsigned char out[16]) {
  memcpy(out, m->files_hash, sizeof m->files_hash);
}

int sl_model_tokenize(const sl_model *m, const char *text, size_t len, sl_tokens *out,
                      sl_err *err) {
  return sl_tokenizer_encode_single(m->tok, text, len, (size_t)m->cfg.max_seq_len, out, NULL, err);
}

int sl_model_tokenize_pair(const sl_model *m, const char *query, size_t qlen, const char *doc,
                           size_t dlen, sl_tokens *ids, sl_tokens *type_ids, sl_err *err) {
  size_t bad;
  /* The tokenizer would say "first text"; name the texts as a reranker's caller knows them. */
  if (!sl_utf8_valid(query, qlen, &bad)) return sl_fail(err, "the query is not valid UTF-8 at byte %zu", bad);
  if (!sl_utf8_valid(doc, dlen, &bad)) return sl_fail(err, "the document is not valid UTF-8 at byte %zu", bad);
  return sl_tokenizer_encode_pair(m->tok, query, qlen, doc, dlen, (size_t)m->cfg.max_seq_len, ids,
                                  type_ids, NULL, err);
}

/* ---- batched inference ----
** embed and rerank share one packing routine. A call is a list of items (texts, or
** documents against one query); run_batch tokenizes the leading items, packs them back
** to back into one sl_batch until the next would pass the call's limits, and runs the
** model's head on it. */

typedef struct call {
  const sl_model *m;
  const sl_pass_limits *lim;
  const char *const *texts;   /* the texts, or the documents */
  const size_t *lens;
  int pairs;                  /* rerank: (query, doc) pairs with type ids; embed: texts */
  const char *query;
  size_t qlen;
  sl_pass_stats *stats;
} call;

/* Mirrors scratch_alloc in bert.c, which allocates exactly this per pass. */
size_t sl_model_pass_bytes(const sl_model *m, size_t tokens, size_t longest) {
  return sl_bert_scratch_bytes(&m->cfg, tokens, longest);
}

static int encode_item(const call *c, size_t i, sl_tokens *ids, sl_tokens *type_ids, sl_err *err) {
  if (!c->pairs) return sl_model_tokenize(c->m, c->texts[i], c->lens[i], ids, err);
  return sl_model_tokenize_pair(c->m, c->query, c->qlen, c->texts[i], c->lens[i], ids, type_ids, err);
}

static int append(sl_tokens *dst, const sl_tokens *src) {
  if (dst->n + src->n > dst->cap) {
    size_t cap = (dst->n + src->n) * 2;
    int32_t *ids = sl_realloc(dst->ids, cap * sizeof *ids);
    if (!ids) return SL_ERROR;
    dst->ids = ids;
    dst->cap = cap;
  }
  memcpy(dst->ids + dst->n, src->ids, src->n * sizeof *src->ids);
  dst->n += src->n;
  return SL_OK;
}

/* Whether a pass of `tokens` tokens, the longest `longest`, stays within the limits. */
static int fits(const call *c, size_t tokens, size_t longest) {
  return tokens <= c->lim->max_tokens &&
         (!c->lim->max_bytes || sl_model_pass_bytes(c->m, tokens, longest) <= c->lim->max_bytes);
}

/* One forward pass over items 0.. of c (at most n): see sl_model_embed_batch. */
static int run_batch(const call *c, size_t n, float *out, size_t *done, sl_err *err) {
  size_t most = n < c->lim->max_seqs ? n : c->lim->max_seqs, k = 0, longest = 0, bytes;
  sl_tokens all = {0}, all_types = {0}, one = {0}, one_types = {0};
  size_t *offsets;
  int rc = SL_ERROR;

  *done = 0;
  if (n == 0) return SL_OK;
  if (!(offsets = sl_malloc((most + 1) * sizeof *offsets))) return sl_oom(err);
  offsets[0] = 0;
  while (k < most) {
    size_t l;
    if (encode_item(c, k, &one, &one_types, err)) goto done;
    l = one.n > longest ? one.n : longest;
    /* The item that does not fit is tokenized again by the next batch: one text per
    ** batch, cheaper than keeping it. */
    if (k > 0 && !fits(c, all.n + one.n, l)) break;
    if (k == 0 && c->lim->max_bytes && (bytes = sl_model_pass_bytes(c->m, one.n, one.n)) > c->lim->max_bytes) {
      sl_fail(err, "a %s of %zu tokens needs %.1f MB of scratch memory, which exceeds memory_budget_mb "
              "(%zu MB)", c->pairs ? "(query, document) pair" : "text", one.n, bytes / 1048576.0,
              c->lim->max_bytes >> 20);
      goto done;
    }
    if (append(&all, &one) || (c->pairs && append(&all_types, &one_types))) {
      sl_oom(err);
      goto done;
    }
    longest = l;
    offsets[++k] = all.n;
  }
  {
    sl_batch batch = {k, offsets, all.ids, c->pairs ? all_types.ids : NULL};
    rc = c->pairs ? sl_bert_classify(c->m->bert, &batch, out, err)
                 : sl_bert_embed(c->m->bert, &batch, out, err);
  }
  if (rc == SL_OK) {
    *done = k;
    bytes = sl_model_pass_bytes(c->m, all.n, longest);
    c->stats->tokens += all.n;
    if (bytes > c->stats->peak_bytes) c->stats->peak_bytes = bytes;
  }
done:
  sl_tokens_free(&one);
  sl_tokens_free(&one_types);
  sl_tokens_free(&all);
  sl_tokens_free(&all_types);
  sl_free(offsets);
  return rc;
}

/* All n items of c, batch after batch; out advances by width floats per item. */
static int run_all(call c, size_t n, size_t width, float *out, sl_err *err) {
  for (size_t i = 0, done; i < n; i += done) {
    if (run_batch(&c, n - i, out + i * width, &done, err)) return SL_ERROR;
    c.texts += done;
    c.lens += done;
  }
  return SL_OK;
}

/* A classifier with several outputs gives no single relevance score. */
static int check_reranker(const sl_model *m, sl_err *err) {
  if (m->cfg.kind != SL_KIND_RERANK) return sl_fail(err, "not a cross-encoder");
  if (m->cfg.num_labels != 1)
    return sl_fail(err, "the cross-encoder has %d labels; rerank needs one (num_labels 1)", m->cfg.num_labels);
  return SL_OK;
}

int sl_model_embed_batch(const sl_model *m, const sl_pass_limits *lim, size_t n,
                         const char *const *texts, const size_t *lens, float *out, size_t *done,
                         sl_pass_stats *stats, sl_err *err) {
  call c = {m, lim, texts, lens, 0, NULL, 0, stats};
  return run_batch(&c, n, out, done, err);
}

int sl_model_embed(const sl_model *m, const sl_pass_limits *lim, size_t n, const char *const *texts,
                   const size_t *lens, float *out, sl_pass_stats *stats, sl_err *err) {
  call c = {m, lim, texts, lens, 0, NULL, 0, stats};
  return run_all(c, n, (size_t)m->cfg.hidden, out, err);
}

int sl_model_rerank_batch(const sl_model *m, const sl_pass_limits *lim, const char *query,
                          size_t qlen, size_t n, const char *const *docs, const size_t *lens,
                          float *scores, size_t *done, sl_pass_stats *stats, sl_err *err) {
  call c = {m, lim, docs, lens, 1, query, qlen, stats};
  *done = 0;
  return check_reranker(m, err) || run_batch(&c, n, scores, done, err) ? SL_ERROR : SL_OK;
}

int sl_model_rerank(const sl_model *m, const sl_pass_limits *lim, const char *query, size_t qlen,
                    size_t n, const char *const *docs, const size_t *lens, float *scores,
                    sl_pass_stats *stats, sl_err *err) {
  call c = {m, lim, docs, lens, 1, query, qlen, stats};
  return check_reranker(m, err) || run_all(c, n, 1, scores, err) ? SL_ERROR : SL_OK;
}
