/*
** model_config.c: reads a Hugging Face model folder's configuration (see model_config.h).
**
** Precedence follows what sentence-transformers and transformers do:
**   - the maximum sequence length is sentence_bert_config.json's max_seq_length when
**     present, else tokenizer_config.json's model_max_length, capped by the model's
**     max_position_embeddings (tokenizer.json's own truncation is ignored, as they do);
**   - pooling comes from the Pooling module listed in modules.json, and the vector is
**     L2-normalized when modules.json lists a Normalize module; a folder without
**     modules.json gets mean pooling and normalization (the common sentence-embedding
**     recipe, documented in docs/models.md).
*/
#include "model_config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "../base/json.h"

/* Largest JSON file of a folder accepted: real ones are under 10 KB (a tokenizer_config.json
** listing thousands of added tokens a few hundred KB), and a JSON tree can cost tens of
** bytes per byte of hostile input. */
#define CONFIG_MAX_BYTES ((size_t)4 << 20)

/* Parses dir/name into *doc, read through file.h (regular file, at most CONFIG_MAX_BYTES)
** and recorded in log. *doc stays NULL (and SL_OK) when the file does not exist and it
** is optional. */
static int read_json(const char *dir, const char *name, int required, sl_json_type root_type,
                     sl_file_log *log, sl_json_doc **doc, sl_err *err) {
  sl_file f;
  int rc;
  *doc = NULL;
  if (sl_file_read(dir, name, CONFIG_MAX_BYTES, required ? 0 : SL_FILE_OPTIONAL, log, &f, err)) {
    if (f.fail == SL_FILE_FAIL_OPEN && f.fail_errno == ENOENT)
      return sl_fail(err, "'%s' has no %s (not a Hugging Face model folder?)", dir, name);
    return SL_ERROR;
  }
  if (!f.data) return SL_OK;
  rc = sl_json_parse(f.data, f.size, doc, err);
  sl_file_free(&f);
  if (rc) {
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    sl_err_prefix(err, path);
    return SL_ERROR;
  }
  if (sl_json_root(*doc)->type != root_type) {
    sl_json_free(*doc);
    *doc = NULL;
    return sl_fail(err, "%s: expected a JSON %s", name, root_type == SL_JSON_ARRAY ? "array" : "object");
  }
  return SL_OK;
}

/* Reads obj[key] as an integer in [lo, hi]; keeps *out when absent and optional. */
static int get_int(const sl_json *obj, const char *file, const char *key, int required,
                   long lo, long hi, int *out, sl_err *err) {
  const sl_json *v = sl_json_get(obj, key);
  uint64_t u;
  if (!v || v->type == SL_JSON_NULL) {
    if (!required) return SL_OK;
    return sl_fail(err, "%s: missing \"%s\"", file, key);
  }
  if (!sl_json_u64(v, &u) || u < (uint64_t)lo || u > (uint64_t)hi)
    return sl_fail(err, "%s: \"%s\" must be an integer in [%ld, %ld]", file, key, lo, hi);
  *out = (int)u;
  return SL_OK;
}

/* Reads a JSON boolean; keeps *out when absent or null. */
static int get_bool(const sl_json *obj, const char *file, const char *key, int *out,
                    sl_err *err) {
  const sl_json *v = sl_json_get(obj, key);
  if (!v || v->type == SL_JSON_NULL) return SL_OK;
  if (v->type != SL_JSON_BOOL) return sl_fail(err, "%s: \"%s\" must be true or false", file, key);
  *out = v->boolean;
  return SL_OK;
}

/* A special token is a string, or (newer files) an object whose "content" is one. */
static int get_token(const sl_json *obj, const char *file, const char *key, char *out,
                     sl_err *err) {
  const sl_json *v = sl_json_get(obj, key);
  if (v && v->type == SL_JSON_OBJECT) v = sl_json_get(v, "content");
  if (!v || v->type == SL_JSON_NULL) return SL_OK;
  if (v->type != SL_JSON_STRING || v->len == 0 || v->len >= SL_TOKEN_MAX ||
      memchr(v->str, 0, v->len))
    return sl_fail(err, "%s: \"%s\" must be a non-empty string", file, key);
  memcpy(out, v->str, v->len + 1);
  return SL_OK;
}

static int read_model_json(const char *dir, sl_model_config *cfg, sl_file_log *log, sl_err *err) {
  static const char file[] = "config.json";
  sl_json_doc *doc;
  const sl_json *root, *v;
  int rc = SL_ERROR;

  if (read_json(dir, file, 1, SL_JSON_OBJECT, log, &doc, err)) return SL_ERROR;
  root = sl_json_root(doc);

  v = sl_json_get(root, "model_type");
  if (v && (v->type != SL_JSON_STRING || strcmp(v->str, "bert") != 0)) {
    sl_fail(err, "%s: model_type '%s' is not supported (BERT-family models only)", file,
            v->type == SL_JSON_STRING ? v->str : "?");
    goto done;
  }
  cfg->kind = SL_KIND_EMBED;
  strcpy(cfg->architecture, "BertModel");
  v = sl_json_get(root, "architectures");
  if (v && v->type == SL_JSON_ARRAY && v->n > 0 && v->child->type == SL_JSON_STRING) {
    const char *arch = v->child->str;
    if (strcmp(arch, "BertForSequenceClassification") == 0) {
      cfg->kind = SL_KIND_RERANK;
    } else if (strcmp(arch, "BertModel") != 0 && strcmp(arch, "BertForMaskedLM") != 0 &&
               strcmp(arch, "BertForPreTraining") != 0) {
      sl_fail(err, "%s: architecture '%s' is not supported (BertModel or "
              "BertForSequenceClassification)", file, arch);
      goto done;
    }
    snprintf(cfg->architecture, sizeof cfg->architecture, "%s", arch);
  }

  /* Bounds keep every size product far from overflow and reject absurd files early. */
  cfg->type_vocab = 2;
  cfg->max_position = 512;
  if (get_int(root, file, "hidden_size", 1, 1, 16384, &cfg->hidden, err) ||
      get_int(root, file, "num_attention_heads", 1, 1, 256, &cfg->heads, err) ||
      get_int(root, file, "num_hidden_layers", 1, 1, 256, &cfg->layers, err) ||
      get_int(root, file, "intermediate_size", 1, 1, 65536, &cfg->intermediate, err) ||
      get_int(root, file, "vocab_size", 1, 1, 1 << 22, &cfg->vocab, err) ||
      get_int(root, file, "max_position_embeddings", 0, 2, 1 << 16, &cfg->max_position, err) ||
      get_int(root, file, "type_vocab_size", 0, 1, 1 << 10, &cfg->type_vocab, err))
    goto done;
  if (cfg->hidden % cfg->heads != 0) {
    sl_fail(err, "%s: hidden_size %d is not a multiple of num_attention_heads %d", file,
            cfg->hidden, cfg->heads);
    goto done;
  }

  cfg->layer_norm_eps = 1e-12f;
  v = sl_json_get(root, "layer_norm_eps");
  if (v) {
    if (v->type != SL_JSON_NUMBER || !(v->number > 0 && v->number < 1)) {
      sl_fail(err, "%s: \"layer_norm_eps\" must be a number in (0, 1)", file);
      goto done;
    }
    cfg->layer_norm_eps = (float)v->number;
  }

  v = sl_json_get(root, "hidden_act");
  if (v && (v->type != SL_JSON_STRING || strcmp(v->str, "gelu") != 0)) {
    sl_fail(err, "%s: hidden_act '%s' is not supported (only the exact erf \"gelu\")", file,
            v->type == SL_JSON_STRING ? v->str : "?");
    goto done;
  }
  v = sl_json_get(root, "position_embedding_type");
  if (v && (v->type != SL_JSON_STRING || strcmp(v->str, "absolute") != 0)) {
    sl_fail(err, "%s: position_embedding_type '%s' is not supported (only \"absolute\")", file,
            v->type == SL_JSON_STRING ? v->str : "?");
    goto done;
  }

  cfg->num_labels = 0;
  if (cfg->kind == SL_KIND_RERANK) {
    v = sl_json_get(root, "id2label");
    cfg->num_labels = (v && v->type == SL_JSON_OBJECT) ? (int)v->n : 2;
    if (get_int(root, file, "num_labels", 0, 1, 1 << 16, &cfg->num_labels, err)) goto done;
    if (cfg->num_labels < 1) {
      sl_fail(err, "%s: a sequence classifier needs at least one label", file);
      goto done;
    }
  }
  rc = SL_OK;
done:
  sl_json_free(doc);
  return rc;
}

static int read_tokenizer_json(const char *dir, sl_model_config *cfg, int *model_max,
                               sl_file_log *log, sl_err *err) {
  static const char *files[] = {"special_tokens_map.json", "tokenizer_config.json"};
  sl_tokenizer_config *t = &cfg->tok;

  sl_tokenizer_config_default(t);
  strcpy(cfg->unk, "[UNK]");
  strcpy(cfg->cls, "[CLS]");
  strcpy(cfg->sep, "[SEP]");
  strcpy(cfg->pad, "[PAD]");
  strcpy(cfg->mask, "[MASK]");

  /* tokenizer_config.json is read last so that it wins, as in transformers. */
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    sl_json_doc *doc;
    const sl_json *root, *v;
    int rc = SL_OK;
    if (read_json(dir, files[i], 0, SL_JSON_OBJECT, log, &doc, err)) return SL_ERROR;
    if (!doc) continue;
    root = sl_json_root(doc);
    if (get_token(root, files[i], "unk_token", cfg->unk, err) ||
        get_token(root, files[i], "cls_token", cfg->cls, err) ||
        get_token(root, files[i], "sep_token", cfg->sep, err) ||
        get_token(root, files[i], "pad_token", cfg->pad, err) ||
        get_token(root, files[i], "mask_token", cfg->mask, err))
      rc = SL_ERROR;
    if (rc == SL_OK && i == 1) {
      if (get_bool(root, files[i], "do_lower_case", &t->lowercase, err) ||
          get_bool(root, files[i], "tokenize_chinese_chars", &t->handle_chinese_chars, err))
        rc = SL_ERROR;
      v = sl_json_get(root, "strip_accents");
      if (rc == SL_OK && v && v->type != SL_JSON_NULL) {
        if (v->type != SL_JSON_BOOL) rc = sl_fail(err, "%s: \"strip_accents\" must be true, false or null", files[i]);
        else t->strip_accents = v->boolean;
      }
      v = sl_json_get(root, "model_max_length");
      /* transformers writes a huge sentinel (1e30) when a model sets no limit. */
      if (rc == SL_OK && v && v->type == SL_JSON_NUMBER && v->number >= 1 && v->number < INT_MAX)
        *model_max = (int)v->number;
    }
    sl_json_free(doc);
    if (rc) return rc;
  }
  t->unk_token = cfg->unk;
  t->cls_token = cfg->cls;
  t->sep_token = cfg->sep;
  t->pad_token = cfg->pad;
  t->mask_token = cfg->mask;
  return SL_OK;
}

/* modules.json names the Pooling module's folder and whether Normalize follows. */
static int read_sentence_transformers(const char *dir, sl_model_config *cfg, sl_file_log *log,
                                      sl_err *err) {
  sl_json_doc *doc, *pool_doc = NULL;
  const sl_json *m;
  char pool_dir[256] = "";
  int rc = SL_ERROR;

  cfg->pooling = SL_POOL_MEAN;
  cfg->normalize = 1;
  if (read_json(dir, "modules.json", 0, SL_JSON_ARRAY, log, &doc, err)) return SL_ERROR;
  if (!doc) return SL_OK;
  cfg->normalize = 0;
  for (m = sl_json_root(doc)->child; m; m = m->next) {
    const sl_json *type = sl_json_get(m, "type"), *path = sl_json_get(m, "path");
    if (!type || type->type != SL_JSON_STRING) continue;
    if (strstr(type->str, "models.Normalize")) cfg->normalize = 1;
    if (strstr(type->str, "models.Pooling") && path && path->type == SL_JSON_STRING) {
      if (path->len >= sizeof pool_dir || strstr(path->str, "..") || memchr(path->str, 0, path->len)) {
        sl_fail(err, "modules.json: bad Pooling path");
        goto done;
      }
      memcpy(pool_dir, path->str, path->len + 1);
    }
  }
  if (pool_dir[0]) {
    static const struct { const char *key; sl_pooling mode; } modes[] = {
      {"pooling_mode_mean_tokens", SL_POOL_MEAN},
      {"pooling_mode_cls_token", SL_POOL_CLS},
      {"pooling_mode_max_tokens", SL_POOL_MAX},
      {"pooling_mode_mean_sqrt_len_tokens", SL_POOL_MEAN_SQRT_LEN},
    };
    static const char *unsupported[] = {"pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"};
    char file[300];
    int n_on = 0;
    snprintf(file, sizeof file, "%s/config.json", pool_dir);
    if (read_json(dir, file, 1, SL_JSON_OBJECT, log, &pool_doc, err)) goto done;
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
      int on = 0;
      if (get_bool(sl_json_root(pool_doc), file, modes[i].key, &on, err)) goto done;
      if (on) { cfg->pooling = modes[i].mode; n_on++; }
    }
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
      int on = 0;
      if (get_bool(sl_json_root(pool_doc), file, unsupported[i], &on, err)) goto done;
      if (on) { sl_fail(err, "%s: %s is not supported", file, unsupported[i]); goto done; }
    }
    if (n_on != 1) {
      sl_fail(err, "%s: exactly one pooling mode must be enabled (found %d)", file, n_on);
      goto done;
    }
  }
  rc = SL_OK;
done:
  sl_json_free(pool_doc);
  sl_json_free(doc);
  return rc;
}

int sl_model_config_read(const char *dir, sl_model_config *cfg, sl_err *err) {
  return sl_model_config_load(dir, cfg, NULL, err);
}

int sl_model_config_load(const char *dir, sl_model_config *cfg, sl_file_log *log, sl_err *err) {
  sl_json_doc *doc;
  int model_max = 0, st_max = 0;

  memset(cfg, 0, sizeof *cfg);
  if (read_model_json(dir, cfg, log, err) || read_tokenizer_json(dir, cfg, &model_max, log, err))
    return SL_ERROR;
  if (cfg->kind == SL_KIND_EMBED && read_sentence_transformers(dir, cfg, log, err)) return SL_ERROR;

  if (read_json(dir, "sentence_bert_config.json", 0, SL_JSON_OBJECT, log, &doc, err)) return SL_ERROR;
  if (doc) {
    int rc = get_int(sl_json_root(doc), "sentence_bert_config.json", "max_seq_length", 0, 2,
                     1 << 16, &st_max, err);
    sl_json_free(doc);
    if (rc) return rc;
  }
  cfg->max_seq_len = st_max ? st_max : model_max ? model_max : cfg->max_position;
  if (cfg->max_seq_len > cfg->max_position) cfg->max_seq_len = cfg->max_position;
  if (cfg->max_seq_len < 2)
    return sl_fail(err, "maximum sequence length %d leaves no room for text", cfg->max_seq_len);
  return SL_OK;
}

const char *sl_model_kind_name(sl_model_kind kind) {
  return kind == SL_KIND_RERANK ? "rerank" : "embed";
}

const char *sl_pooling_name(sl_pooling p) {
  switch (p) {
    case SL_POOL_CLS: return "cls";
    case SL_POOL_MAX: return "max";
    case SL_POOL_MEAN_SQRT_LEN: return "mean_sqrt_len";
    default: return "mean";
  }
}
