/*
** bert.c: binds BERT weights from safetensors and runs the float32 forward pass.
**
** Weights stay in the read-only image of model.safetensors that safetensors.c read into
** memory (page-aligned): an aligned F32 tensor is used in place. Only F16/BF16 tensors
** (converted once to float32) and F32 tensors at an offset not aligned for float are
** copied again; they are owned here and reported by sl_bert_owned_bytes(). In int8 and
** bf16 the image's pages of the float32 matrices a quantized copy replaced are given
** back (sl_bert_drop_replaced), once the model's identity has hashed the image.
**
** The forward pass is Hugging Face's BertModel in eval mode: word + position +
** token-type embeddings, LayerNorm, then per layer post-LN self-attention and an erf
** GELU feed-forward block. Matrix products go through semlite's own kernels
** (kernels/gemm.h), whose sums do not depend on the batch around a sequence, so a text
** gets the same bits alone or in a batch; the rest through kernels/kernels.h.
*/
#include "../base/alloc.h"
#include "bert.h"

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/gemm.h"
#include "../kernels/gemm_f32.h"
#include "../kernels/kernels.h"
#include "../base/pool.h"
#include "quantize.h"
#include "safetensors.h"

typedef struct linear {
  const float *w;   /* [out][in], PyTorch's layout */
  const float *b;   /* [out] */
  int out, in;
  sl_qweights q;    /* int8 or bf16 copy of w, when the model computes in that dtype */
  const float *wp;  /* fp32: w packed for gemm_f32.h's gemm_packed (owned, 64-byte aligned) */
} linear;

typedef struct layer {
  linear q, k, v, attn_out, ff_in, ff_out;
  const float *ln1_g, *ln1_b, *ln2_g, *ln2_b;
} layer;

struct sl_bert {
  sl_model_config cfg;
  sl_safetensors *st;
  const float *word, *pos, *type, *emb_ln_g, *emb_ln_b;
  layer *layers;
  linear pooler, classifier;     /* SL_KIND_RERANK only */
  void **owned;                  /* converted or realigned tensors */
  size_t n_owned;
  size_t owned_bytes;
  size_t params;
  size_t quantized_bytes;
  sl_dtype dtype;                /* of the stored weights */
  sl_compute_dtype compute;      /* of the encoder's linear layers */
};

static float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  float f;
  if (exp == 0) {                       /* zero or subnormal: man * 2^-24 */
    f = ldexpf((float)man, -24);
    memcpy(&bits, &f, 4);
    bits |= sign;
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (man << 13);
  } else {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  }
  memcpy(&f, &bits, 4);
  return f;
}

/* Returns float32 data for t: the image itself when possible, else an owned copy. */
static const float *tensor_f32(sl_bert *b, const sl_tensor *t, sl_err *err) {
  float *copy;
  void **grown;
  if (t->dtype == SL_DT_F32 && ((uintptr_t)t->data % sizeof(float)) == 0) return t->data;
  if (t->dtype == SL_DT_I64) {
    sl_fail(err, "tensor '%s' is I64, expected floating point", t->name);
    return NULL;
  }
  copy = sl_malloc(t->n_elems * sizeof(float) + 1);
  grown = sl_realloc(b->owned, (b->n_owned + 1) * sizeof *grown);
  if (!copy || !grown) {
    sl_free(copy);
    if (grown) b->owned = grown;
    sl_fail_code(err, SL_CODE_NOMEM, "out of memory converting tensor '%s'", t->name);
    return NULL;
  }
  b->owned = grown;
  b->owned[b->n_owned++] = copy;
  b->owned_bytes += t->n_elems * sizeof(float);
  const uint8_t *src = t->data;
  for (size_t i = 0; i < t->n_elems; i++) {
    if (t->dtype == SL_DT_F32) {
      memcpy(&copy[i], src + 4 * i, 4);
    } else {
      uint16_t h;
      memcpy(&h, src + 2 * i, 2);
      if (t->dtype == SL_DT_F16) {
        copy[i] = half_to_float(h);
      } else {
        uint32_t bits = (uint32_t)h << 16;
        memcpy(&copy[i], &bits, 4);
      }
    }
  }
  return copy;
}

/* Finds `prefix name` (falling back to `name`), checks its shape, binds its data. */
static const float *bind(sl_bert *b, const char *prefix, const char *name, int d0, int d1,
                         sl_err *err) {
  char full[256];
  const sl_tensor *t;
  snprintf(full, sizeof full, "%s%s", prefix, name);
  t = sl_st_find(b->st, full);
  if (!t) t = sl_st_find(b->st, name);
  if (!t) {
    sl_fail(err, "model.safetensors has no tensor '%s'", full);
    return NULL;
  }
  if ((d1 == 0 && (t->ndim != 1 || t->shape[0] != d0)) ||
      (d1 != 0 && (t->ndim != 2 || t->shape[0] != d0 || t->shape[1] != d1))) {
    char got[128] = "";
    size_t off = 0;
    for (int i = 0; i < t->ndim && off < sizeof got - 24; i++)
      off += (size_t)snprintf(got + off, sizeof got - off, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
    if (d1)
      sl_fail(err, "tensor '%s' has shape [%s], expected [%d, %d]", t->name, got, d0, d1);
    else
      sl_fail(err, "tensor '%s' has shape [%s], expected [%d]", t->name, got, d0);
    return NULL;
  }
  b->params += t->n_elems;
  return tensor_f32(b, t, err);
}

static int bind_linear(sl_bert *b, const char *prefix, const char *name, int out, int in,
                       linear *l, sl_err *err) {
  char wname[200], bname[200];
  snprintf(wname, sizeof wname, "%s.weight", name);
  snprintf(bname, sizeof bname, "%s.bias", name);
  l->out = out;
  l->in = in;
  l->w = bind(b, prefix, wname, out, in, err);
  if (!l->w) return SL_ERROR;
  l->b = bind(b, prefix, bname, out, 0, err);
  return l->b ? SL_OK : SL_ERROR;
}

/* Keeps p (from sl_malloc) in b's owned list, counted in bytes. */
static int own(sl_bert *b, void *p, size_t bytes) {
  void **grown = sl_realloc(b->owned, (b->n_owned + 1) * sizeof *grown);
  if (!grown) return SL_ERROR;
  b->owned = grown;
  b->owned[b->n_owned++] = p;
  b->owned_bytes += bytes;
  return SL_OK;
}

/* fp32: the packed copy of l->w (gemm_f32.h), made once here; the forward pass reads only
** it, and the image's pages of w are given back after the identity hash
** (sl_bert_drop_replaced), so the model's memory stays that of one copy. */
static int pack_linear(sl_bert *b, linear *l, sl_err *err) {
  size_t floats = sl_f32_packed_floats((size_t)l->out, (size_t)l->in), bytes = floats * sizeof(float) + 64;
  char *raw = sl_malloc(bytes);
  if (!raw || own(b, raw, bytes)) {
    sl_free(raw);
    return sl_fail_code(err, SL_CODE_NOMEM, "out of memory packing the weights");
  }
  float *wp = (float *)(raw + (64 - (uintptr_t)raw % 64) % 64);
  sl_f32_pack(l->w, (size_t)l->in, (size_t)l->out, (size_t)l->in, wp);
  l->wp = wp;
  return SL_OK;
}

static int bind_all(sl_bert *b, sl_err *err) {
  const sl_model_config *c = &b->cfg;
  const char *p = sl_st_find(b->st, "bert.embeddings.word_embeddings.weight") ? "bert." : "";
  const sl_tensor *word;

  if (!(b->word = bind(b, p, "embeddings.word_embeddings.weight", c->vocab, c->hidden, err)) ||
      !(b->pos = bind(b, p, "embeddings.position_embeddings.weight", c->max_position, c->hidden, err)) ||
      !(b->type = bind(b, p, "embeddings.token_type_embeddings.weight", c->type_vocab, c->hidden, err)) ||
      !(b->emb_ln_g = bind(b, p, "embeddings.LayerNorm.weight", c->hidden, 0, err)) ||
      !(b->emb_ln_b = bind(b, p, "embeddings.LayerNorm.bias", c->hidden, 0, err)))
    return SL_ERROR;
  word = sl_st_find(b->st, "bert.embeddings.word_embeddings.weight");
  b->dtype = (word ? word : sl_st_find(b->st, "embeddings.word_embeddings.weight"))->dtype;

  b->layers = sl_calloc((size_t)c->layers, sizeof *b->layers);
  if (!b->layers) return sl_oom(err);
  for (int i = 0; i < c->layers; i++) {
    layer *L = &b->layers[i];
    char n[8][96];
    static const char *parts[] = {
      "attention.self.query", "attention.self.key", "attention.self.value",
      "attention.output.dense", "intermediate.dense", "output.dense",
      "attention.output.LayerNorm", "output.LayerNorm"};
    for (int j = 0; j < 8; j++) snprintf(n[j], sizeof n[j], "encoder.layer.%d.%s", i, parts[j]);
    char g1[128], b1[128], g2[128], b2[128];
    snprintf(g1, sizeof g1, "%s.weight", n[6]);
    snprintf(b1, sizeof b1, "%s.bias", n[6]);
    snprintf(g2, sizeof g2, "%s.weight", n[7]);
    snprintf(b2, sizeof b2, "%s.bias", n[7]);
    if (bind_linear(b, p, n[0], c->hidden, c->hidden, &L->q, err) ||
        bind_linear(b, p, n[1], c->hidden, c->hidden, &L->k, err) ||
        bind_linear(b, p, n[2], c->hidden, c->hidden, &L->v, err) ||
        bind_linear(b, p, n[3], c->hidden, c->hidden, &L->attn_out, err) ||
        bind_linear(b, p, n[4], c->intermediate, c->hidden, &L->ff_in, err) ||
        bind_linear(b, p, n[5], c->hidden, c->intermediate, &L->ff_out, err) ||
        !(L->ln1_g = bind(b, p, g1, c->hidden, 0, err)) ||
        !(L->ln1_b = bind(b, p, b1, c->hidden, 0, err)) ||
        !(L->ln2_g = bind(b, p, g2, c->hidden, 0, err)) ||
        !(L->ln2_b = bind(b, p, b2, c->hidden, 0, err)))
      return SL_ERROR;
  }
  if (b->compute == SL_COMPUTE_F32) {
    for (int i = 0; i < c->layers; i++) {
      linear *all[] = {&b->layers[i].q, &b->layers[i].k, &b->layers[i].v,
                       &b->layers[i].attn_out, &b->layers[i].ff_in, &b->layers[i].ff_out};
      for (size_t j = 0; j < sizeof all / sizeof all[0]; j++)
        if (pack_linear(b, all[j], err)) return SL_ERROR;
    }
  }
  if (b->compute != SL_COMPUTE_F32) {
    /* Only the encoder's linear layers, where the FLOPs are; the pooler and classifier
    ** run once per sequence and stay float32. In int8 the second feed-forward layer's
    ** input is the GELU output, lopsided (about -0.17 to several units): its rows are
    ** centered before they are quantized (quantize.h), which halves their step; plain
    ** per-row int8 of it cost the most rank agreement on TREC pairs (docs/models.md). */
    for (int i = 0; i < c->layers; i++) {
      linear *all[] = {&b->layers[i].q, &b->layers[i].k, &b->layers[i].v,
                       &b->layers[i].attn_out, &b->layers[i].ff_in, &b->layers[i].ff_out};
      for (size_t j = 0; j < 6; j++) {
        if (sl_quantize_weights(all[j]->w, (size_t)all[j]->out, (size_t)all[j]->in, b->compute,
                                &all[j]->q, err) ||
            (j == 5 && sl_qweights_center(&all[j]->q, err)) ||
            sl_qweights_pack(&all[j]->q, sl_gemm_get(), err))
          return SL_ERROR;
        b->quantized_bytes += sl_qweights_bytes(&all[j]->q);
      }
    }
  }
  if (c->kind == SL_KIND_RERANK) {
    if (bind_linear(b, p, "pooler.dense", c->hidden, c->hidden, &b->pooler, err) ||
        bind_linear(b, "", "classifier", c->num_labels, c->hidden, &b->classifier, err))
      return SL_ERROR;
  }
  return SL_OK;
}

int sl_bert_load(const sl_model_config *cfg, sl_safetensors *st, sl_compute_dtype compute,
                 sl_bert **out, sl_err *err) {
  sl_bert *b = sl_calloc(1, sizeof *b);
  *out = NULL;
  if (!b) {
    sl_st_close(st);
    return sl_oom(err);
  }
  b->cfg = *cfg;
  b->compute = compute;
  b->st = st;
  /* The encoder has no use for the tokenizer's strings; a copy must not point into
  ** the caller's struct. */
  memset(&b->cfg.tok, 0, sizeof b->cfg.tok);
  if (bind_all(b, err)) {
    sl_bert_free(b);
    return SL_ERROR;
  }
  *out = b;
  return SL_OK;
}

void sl_bert_drop_replaced(sl_bert *b) {
  for (int i = 0; i < b->cfg.layers; i++) {
    linear *all[] = {&b->layers[i].q, &b->layers[i].k, &b->layers[i].v,
                     &b->layers[i].attn_out, &b->layers[i].ff_in, &b->layers[i].ff_out};
    for (size_t j = 0; j < sizeof all / sizeof all[0]; j++) {
      if (!all[j]->q.wq && !all[j]->q.wb && !all[j]->q.wqp && !all[j]->q.wbp && !all[j]->wp) continue;
      /* Pages shared with a neighbouring tensor stay (sl_st_release drops whole pages
      ** only); the forward pass reads the quantized or packed copy, never w again. */
      sl_st_release(b->st, all[j]->w, (size_t)all[j]->out * (size_t)all[j]->in * sizeof(float));
      all[j]->w = NULL;
    }
  }
}

void sl_bert_free(sl_bert *b) {
  if (!b) return;
  for (int i = 0; b->layers && i < b->cfg.layers; i++) {
    layer *L = &b->layers[i];
    sl_qweights_free(&L->q.q);
    sl_qweights_free(&L->k.q);
    sl_qweights_free(&L->v.q);
    sl_qweights_free(&L->attn_out.q);
    sl_qweights_free(&L->ff_in.q);
    sl_qweights_free(&L->ff_out.q);
  }
  for (size_t i = 0; i < b->n_owned; i++) sl_free(b->owned[i]);
  sl_free(b->owned);
  sl_free(b->layers);
  sl_st_close(b->st);
  sl_free(b);
}

size_t sl_bert_params(const sl_bert *b) { return b->params; }
size_t sl_bert_file_bytes(const sl_bert *b) { return b->st->file_bytes; }
const void *sl_bert_file_data(const sl_bert *b) { return b->st->image; }
size_t sl_bert_file_resident(const sl_bert *b) { return sl_st_resident(b->st); }
size_t sl_bert_owned_bytes(const sl_bert *b) { return b->owned_bytes + b->quantized_bytes; }
const char *sl_bert_dtype(const sl_bert *b) { return sl_compute_dtype_name(b->compute); }
sl_compute_dtype sl_bert_compute_dtype(const sl_bert *b) { return b->compute; }

/* How a linear layer's product is split into parallel tasks: blocks of COLUMN_GRAIN output
** columns (a multiple of 16 floats and of the packed panel, small enough that the
** smallest layer, 384 columns, still splits across cores) by blocks of at most ROW_BLOCK
** rows, so that a pass of hundreds of tokens gives both cores many tasks of about the
** same size and a core slowed by another process holds back at most one small task.
** Tasks of one column block are consecutive, so a core that takes several in a row
** reads that block's weights from its own cache. No split is along a sum: the results
** do not depend on it. */
#define COLUMN_GRAIN 64
#define ROW_BLOCK 128

/* A forward pass runs over at most PASS_TOKENS tokens at a time (whole sequences; a
** longer one alone): sl_bert_embed and sl_bert_classify cut a batch into such passes,
** so the activations of one pass (7 x 384 + 1,536 floats a token: 8.4 MB at 512 tokens)
** stay in L3 while each layer's weights stream past once per pass. Measured on the Zen 4
** machine of docs/performance.md (64 texts of 64 tokens, one thread, CPU time): passes of
** 128 / 256 / 512 / 1,024 / all 4,096 tokens ran at 70-79 / 77-82 / 86-88 / 79-83 / 65-67
** GFLOPS. */
#define PASS_TOKENS 512

typedef struct linear_task {
  const linear *l[3];       /* products of the same input: q, k, v; or one */
  float *y[3];
  size_t n;
  const float *x;
  size_t rows;
  const uint8_t *xu;        /* int8: the activations quantized once for every task */
  const float *xs;
  const uint16_t *xb;       /* bf16: the activations rounded once for every task */
  const float *xc;          /* int8, centered rows: each row's center (quantize.h) */
  size_t row_blocks, rb;    /* row blocks of rb rows (the last shorter) */
  size_t col_blocks[3];
  const sl_kernels *gelu;   /* set: GELU on the outputs as each task stores them (ff_in) */
} linear_task;

/* y[r0:r1, c0:c1] = x[r0:r1] . W[c0:c1]^T + b[c0:c1]. */
static void linear_tile(const linear_task *t, const linear *l, float *y, size_t r0, size_t r1, size_t c0,
                        size_t c1) {
  const size_t rows = r1 - r0, ldy = (size_t)l->out;
  float *yr = y + r0 * ldy;
  if (l->q.wqp) {
    sl_gemm_get()->gemm_i8_packed(t->xu + r0 * l->q.kpad, l->q.kpad, t->xs + r0, rows, l->q.wqp, l->q.ws,
                                  l->q.wsum, l->b, c0, c1, l->q.kpad, yr, ldy);
    if (t->xc) sl_add_row_offsets(yr, ldy, rows, t->xc + r0, l->q.wsw, c0, c1);
  } else if (l->q.wbp) {
    sl_gemm_get()->gemm_bf16_packed(t->xb + r0 * l->q.kpad, l->q.kpad, rows, l->q.wbp, l->b, c0, c1, l->q.kpad,
                                    yr, ldy);
  } else if (l->q.wq) {
    sl_gemm_get()->gemm_i8(t->xu + r0 * l->q.kpad, l->q.kpad, t->xs + r0, rows, l->q.wq, l->q.ws, l->q.wsum,
                           l->b, c0, c1, l->q.kpad, yr, ldy);
    if (t->xc) sl_add_row_offsets(yr, ldy, rows, t->xc + r0, l->q.wsw, c0, c1);
  } else if (l->q.wb) {
    sl_gemm_get()->gemm_bf16(t->xb + r0 * l->q.kpad, l->q.kpad, rows, l->q.wb, l->b, c0, c1, l->q.kpad, yr,
                             ldy);
  } else if (l->wp) {
    sl_f32_get()->gemm_packed(t->x + r0 * (size_t)l->in, (size_t)l->in, rows, l->wp, (size_t)l->in, l->b, c0,
                              c1, yr, ldy);
  } else {   /* the pooler and the classifier, read in place */
    sl_gemm_get()->gemm_f32(t->x + r0 * (size_t)l->in, (size_t)l->in, rows, l->w, (size_t)l->in, l->b, c0, c1,
                            (size_t)l->in, yr, ldy);
  }
  if (t->gelu)
    for (size_t r = 0; r < rows; r++) t->gelu->gelu(yr + r * ldy + c0, c1 - c0);
}

/* Tasks [b, e): product j's column block, then row block, row blocks fastest. */
static void linear_tasks(void *ctx, size_t b, size_t e) {
  const linear_task *t = ctx;
  for (size_t i = b; i < e; i++) {
    size_t j = 0, rest = i;
    while (rest >= t->col_blocks[j] * t->row_blocks) rest -= t->col_blocks[j++] * t->row_blocks;
    const linear *l = t->l[j];
    size_t c0 = rest / t->row_blocks * COLUMN_GRAIN, r0 = rest % t->row_blocks * t->rb;
    size_t c1 = c0 + COLUMN_GRAIN < (size_t)l->out ? c0 + COLUMN_GRAIN : (size_t)l->out;
    size_t r1 = r0 + t->rb < t->rows ? r0 + t->rb : t->rows;
    linear_tile(t, l, t->y[j], r0, r1, c0, c1);
  }
}

/* y[i][rows][l[i]->out] = x[rows][in] . W_i^T + b_i for the n products of one input (the
** same in and dtype), in one parallel region. act is scratch for the reduced-precision
** activations (rows * kpad * 2 bytes, plus rows floats of scales, and rows floats of row
** centres for centered int8 layers), made once for all n.
** gelu: apply GELU to the outputs. */
static void apply_linears(const linear *const *l, float *const *y, size_t n, const float *x, size_t rows,
                          void *act, const sl_kernels *gelu) {
  linear_task t = {.n = n, .x = x, .rows = rows, .row_blocks = 1, .rb = rows, .gelu = gelu};
  const linear *l0 = l[0];
  if (l0->q.wq || l0->q.wqp) {
    float *xs = act;
    uint8_t *xu = (uint8_t *)(xs + rows);
    if (l0->q.wsw) {   /* rows floats after xu: inside act (kpad >= 64 bytes a row spare) */
      float *xc = (float *)(xu + rows * l0->q.kpad);
      sl_gemm_get()->quantize_rows_centered(x, (size_t)l0->in, rows, (size_t)l0->in, xu, l0->q.kpad, xs, xc);
      t.xc = xc;
    } else {
      sl_gemm_get()->quantize_rows(x, (size_t)l0->in, rows, (size_t)l0->in, xu, l0->q.kpad, xs);
    }
    t.xu = xu;
    t.xs = xs;
  } else if (l0->q.wb || l0->q.wbp) {
    uint16_t *xb = act;
    for (size_t r = 0; r < rows; r++) {
      sl_gemm_get()->to_bf16(x + r * (size_t)l0->in, (size_t)l0->in, xb + r * l0->q.kpad);
      memset(xb + r * l0->q.kpad + l0->in, 0, (l0->q.kpad - (size_t)l0->in) * sizeof *xb);
    }
    t.xb = xb;
  }
  if (rows > ROW_BLOCK) {
    t.row_blocks = (rows + ROW_BLOCK - 1) / ROW_BLOCK;
    t.rb = ((rows + t.row_blocks - 1) / t.row_blocks + 3) / 4 * 4;
    t.row_blocks = (rows + t.rb - 1) / t.rb;
  }
  size_t tasks = 0;
  for (size_t i = 0; i < n; i++) {
    t.l[i] = l[i];
    t.y[i] = y[i];
    t.col_blocks[i] = ((size_t)l[i]->out + COLUMN_GRAIN - 1) / COLUMN_GRAIN;
    tasks += t.col_blocks[i] * t.row_blocks;
  }
  sl_parallel_for(tasks, 1, linear_tasks, &t);
}

static void apply_linear(const linear *l, const float *x, size_t rows, float *y, void *act) {
  apply_linears(&l, &y, 1, x, rows, act, NULL);
}

/* Scratch for one forward pass, sized from the batch: one scores matrix per head, so
** heads can run in parallel. */
typedef struct scratch {
  float *x, *q, *k, *v, *kt, *ctx, *tmp, *ff, *scores;
  void *act;                  /* reduced-precision activations (apply_linear) */
  size_t longest;
  void *block;
} scratch;

/* Floats of scratch for a pass: seven tokens x hidden buffers, one tokens x
** intermediate, one scores matrix per head, and act: tokens scales + tokens * kpad bytes
** (int8), or tokens * kpad * 2 bytes (bf16). */
static size_t scratch_floats(const sl_model_config *c, size_t tokens, size_t longest) {
  size_t widest = (size_t)(c->hidden > c->intermediate ? c->hidden : c->intermediate);
  size_t kpad = (widest + SL_GEMM_K_ALIGN - 1) / SL_GEMM_K_ALIGN * SL_GEMM_K_ALIGN;
  size_t act_floats = tokens + (tokens * kpad * 2 + sizeof(float) - 1) / sizeof(float);
  return tokens * (7 * (size_t)c->hidden + (size_t)c->intermediate) + (size_t)c->heads * longest * longest +
         act_floats;
}

/* What memory_budget_mb is checked against: the scratch of all of a call's tokens in one
** pass. A call allocates that of its largest pass (PASS_TOKENS, or one longer sequence),
** plus 16 rows of hidden floats and alignment (attention's leaf-major values). */
size_t sl_bert_scratch_bytes(const sl_model_config *c, size_t tokens, size_t longest) {
  return scratch_floats(c, tokens, longest) * sizeof(float);
}

/* Every buffer starts on a 64-byte line (rows of 384 floats then do too), which the
** SIMD loads of the products prefer. */
static int scratch_alloc(scratch *s, size_t tokens, size_t longest, const sl_model_config *c,
                         sl_err *err) {
  size_t th = tokens * (size_t)c->hidden;
  char *raw = sl_malloc((scratch_floats(c, tokens, longest) + 16 * (size_t)c->hidden + 10 * 16) * sizeof(float));
  if (!raw) return sl_fail_code(err, SL_CODE_NOMEM, "out of memory for a batch of %zu tokens", tokens);
  float *p = (float *)(raw + (64 - (uintptr_t)raw % 64) % 64);
#define TAKE(field, n) (s->field = p, p += ((n) + 15) / 16 * 16)
  s->block = raw;
  TAKE(x, th);
  TAKE(q, th);
  TAKE(k, th);
  TAKE(v, th);
  TAKE(kt, th);
  TAKE(ctx, th);
  TAKE(tmp, th + 16 * (size_t)c->hidden);   /* attention's leaf-major values: 15 rows more a head */
  TAKE(ff, tokens * (size_t)c->intermediate);
  TAKE(scores, (size_t)c->heads * longest * longest);
#undef TAKE
  s->act = p;
  s->longest = longest;
  return SL_OK;
}

static int check_batch(const sl_bert *b, const sl_batch *batch, size_t *tokens, size_t *longest,
                       sl_err *err) {
  const sl_model_config *c = &b->cfg;
  *longest = 0;
  for (size_t s = 0; s < batch->n_seq; s++) {
    size_t len = batch->offsets[s + 1] - batch->offsets[s];
    if (batch->offsets[s + 1] < batch->offsets[s] || len == 0 || len > (size_t)c->max_position)
      return sl_fail(err, "sequence %zu has %zu tokens (1 to %d allowed)", s, len, c->max_position);
    if (len > *longest) *longest = len;
  }
  *tokens = batch->offsets[batch->n_seq] - batch->offsets[0];
  for (size_t t = batch->offsets[0]; t < batch->offsets[batch->n_seq]; t++) {
    if (batch->ids[t] < 0 || batch->ids[t] >= c->vocab)
      return sl_fail(err, "token id %d is outside the vocabulary (%d)", batch->ids[t], c->vocab);
    if (batch->type_ids && (batch->type_ids[t] < 0 || batch->type_ids[t] >= c->type_vocab))
      return sl_fail(err, "token type id %d is outside [0, %d)", batch->type_ids[t], c->type_vocab);
  }
  return SL_OK;
}

typedef struct attention_task {
  const sl_model_config *c;
  const sl_batch *batch;
  scratch *s;
  const sl_kernels *k;
} attention_task;

/* Self-attention of heads [h0, h1) over every sequence of the batch: per sequence,
** scores = softmax(Q K^T / sqrt(dh)), ctx = scores V. No mask: nothing is padded. Both
** products are gemm_f32.h's gemm_kn (order.h's sums, as every product), on the head's
** keys transposed (kt: head h at h dh longest) and its values copied leaf-major (into
** tmp, free until the attention output: head h at h dh (longest + 15)). */
static void attention_heads(void *ctx, size_t h0, size_t h1) {
  const attention_task *t = ctx;
  const sl_f32_kernels *g = sl_f32_get();
  const size_t H = (size_t)t->c->hidden, dh = H / (size_t)t->c->heads, base = t->batch->offsets[0];
  const float scale = 1.0f / sqrtf((float)dh);
  const scratch *s = t->s;
  for (size_t h = h0; h < h1; h++) {
    float *scores = s->scores + h * s->longest * s->longest, *kt = s->kt + h * dh * s->longest;
    float *vh = s->tmp + h * dh * (s->longest + 15);
    size_t col = h * dh;
    for (size_t seq = 0; seq < t->batch->n_seq; seq++) {
      size_t r0 = t->batch->offsets[seq] - base;
      size_t len = t->batch->offsets[seq + 1] - t->batch->offsets[seq], lt = (len + 15) / 16;
      /* K^T row-major (a partial sum has dh / 16 rows); V leaf-major: token r at row
      ** (r mod 16) lt + r / 16, of 16 lt <= len + 15 */
      for (size_t r = 0; r < len; r++) {
        const float *kr = s->k + (r0 + r) * H + col;
        for (size_t d = 0; d < dh; d++) kt[d * len + r] = kr[d];
        memcpy(vh + (r % 16 * lt + r / 16) * dh, s->v + (r0 + r) * H + col, dh * sizeof(float));
      }
      g->gemm_kn(s->q + r0 * H + col, H, len, kt, len, 16 * len, len, dh, scores, len);
      t->k->softmax_rows(scores, len, len, len, scale);
      g->gemm_kn(scores, len, len, vh, lt * dh, dh, dh, len, s->ctx + r0 * H + col, H);
    }
  }
}

/* Runs the encoder over one pass; on success s->x holds the last hidden state of every
** token. */
static void encode(const sl_bert *b, const sl_batch *batch, scratch *s) {
  const sl_model_config *c = &b->cfg;
  const sl_kernels *k = sl_kernels_get();
  const size_t H = (size_t)c->hidden, base = batch->offsets[0];
  const size_t tokens = batch->offsets[batch->n_seq] - base;

  for (size_t seq = 0; seq < batch->n_seq; seq++) {
    for (size_t t = batch->offsets[seq]; t < batch->offsets[seq + 1]; t++) {
      size_t pos = t - batch->offsets[seq];
      int type = batch->type_ids ? batch->type_ids[t] : 0;
      const float *w = b->word + (size_t)batch->ids[t] * H, *p = b->pos + pos * H, *ty = b->type + (size_t)type * H;
      float *x = s->x + (t - base) * H;
      for (size_t d = 0; d < H; d++) x[d] = w[d] + p[d] + ty[d];
    }
  }
  k->add_layernorm(s->x, NULL, tokens, H, b->emb_ln_g, b->emb_ln_b, c->layer_norm_eps);

  for (int li = 0; li < c->layers; li++) {
    const layer *L = &b->layers[li];
    const linear *qkv[3] = {&L->q, &L->k, &L->v};
    float *const qkv_out[3] = {s->q, s->k, s->v};
    apply_linears(qkv, qkv_out, 3, s->x, tokens, s->act, NULL);
    attention_task at = {c, batch, s, k};
    sl_parallel_for((size_t)c->heads, 1, attention_heads, &at);
    apply_linear(&L->attn_out, s->ctx, tokens, s->tmp, s->act);
    k->add_layernorm(s->tmp, s->x, tokens, H, L->ln1_g, L->ln1_b, c->layer_norm_eps);
    const linear *ff_in = &L->ff_in;
    apply_linears(&ff_in, &s->ff, 1, s->tmp, tokens, s->act, k);
    apply_linear(&L->ff_out, s->ff, tokens, s->x, s->act);
    k->add_layernorm(s->x, s->tmp, tokens, H, L->ln2_g, L->ln2_b, c->layer_norm_eps);
  }
}

/* The passes of a batch: from sequence *s0, as many as fit in PASS_TOKENS (at least one);
** sets *s1 past the last. */
static void next_pass(const sl_batch *batch, size_t s0, size_t *s1) {
  size_t e = s0 + 1;
  while (e < batch->n_seq && batch->offsets[e + 1] - batch->offsets[s0] <= PASS_TOKENS) e++;
  *s1 = e;
}

/* Checks the batch and allocates scratch for its largest pass. */
static int begin_passes(const sl_bert *b, const sl_batch *batch, scratch *s, sl_err *err) {
  size_t tokens, longest, most = 0;
  if (check_batch(b, batch, &tokens, &longest, err)) return SL_ERROR;
  for (size_t s0 = 0, s1; s0 < batch->n_seq; s0 = s1) {
    next_pass(batch, s0, &s1);
    if (batch->offsets[s1] - batch->offsets[s0] > most) most = batch->offsets[s1] - batch->offsets[s0];
  }
  return scratch_alloc(s, most, longest, &b->cfg, err);
}

/* Sequences [s0, s1) of batch as a batch of their own. */
static sl_batch sub_batch(const sl_batch *batch, size_t s0, size_t s1) {
  sl_batch p = {s1 - s0, batch->offsets + s0, batch->ids, batch->type_ids};
  return p;
}

int sl_bert_embed(const sl_bert *b, const sl_batch *batch, float *out, sl_err *err) {
  const sl_model_config *c = &b->cfg;
  const sl_kernels *k = sl_kernels_get();
  const size_t H = (size_t)c->hidden;
  scratch s = {0};

  if (c->kind != SL_KIND_EMBED) return sl_fail(err, "not an embedding model");
  if (batch->n_seq == 0) return SL_OK;
  if (begin_passes(b, batch, &s, err)) return SL_ERROR;
  for (size_t s0 = 0, s1; s0 < batch->n_seq; s0 = s1) {
    next_pass(batch, s0, &s1);
    sl_batch pass = sub_batch(batch, s0, s1);
    encode(b, &pass, &s);
    for (size_t seq = s0; seq < s1; seq++) {
      size_t len = batch->offsets[seq + 1] - batch->offsets[seq];
      const float *rows = s.x + (batch->offsets[seq] - batch->offsets[s0]) * H;
      float *o = out + seq * H;
      switch (c->pooling) {
        case SL_POOL_CLS: memcpy(o, rows, H * sizeof(float)); break;
        case SL_POOL_MAX: k->max_rows(rows, len, H, o); break;
        case SL_POOL_MEAN_SQRT_LEN:
          k->sum_rows(rows, len, H, o);
          k->scale(o, H, 1.0f / sqrtf((float)len));
          break;
        default:
          k->sum_rows(rows, len, H, o);
          k->scale(o, H, 1.0f / (float)len);
          break;
      }
      if (c->normalize) sl_kernels_normalize(k, o, H);
    }
  }
  sl_free(s.block);
  return SL_OK;
}

int sl_bert_classify(const sl_bert *b, const sl_batch *batch, float *out, sl_err *err) {
  const sl_model_config *c = &b->cfg;
  const size_t H = (size_t)c->hidden;
  scratch s = {0};

  if (c->kind != SL_KIND_RERANK) return sl_fail(err, "not a sequence classification model");
  if (batch->n_seq == 0) return SL_OK;
  if (begin_passes(b, batch, &s, err)) return SL_ERROR;
  for (size_t s0 = 0, s1; s0 < batch->n_seq; s0 = s1) {
    next_pass(batch, s0, &s1);
    sl_batch pass = sub_batch(batch, s0, s1);
    encode(b, &pass, &s);
    /* The pooler reads each sequence's [CLS] row; gather them, then two small GEMMs. */
    float *pooled = s.q;
    for (size_t seq = s0; seq < s1; seq++)
      memcpy(s.ctx + (seq - s0) * H, s.x + (batch->offsets[seq] - batch->offsets[s0]) * H, H * sizeof(float));
    apply_linear(&b->pooler, s.ctx, s1 - s0, pooled, NULL);
    sl_kernels_get()->tanh(pooled, (s1 - s0) * H);   /* not libm's: the same bits everywhere */
    apply_linear(&b->classifier, pooled, s1 - s0, out + s0 * (size_t)c->num_labels, NULL);
  }
  sl_free(s.block);
  return SL_OK;
}
