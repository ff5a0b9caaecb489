/*
** test_embed.c: embed(), semlite_tokenize(), the model registry and semlite_models,
** driven through SQL on the real semlite.so and the synthetic twins, against
** ../shared/reference (float64 outputs and Hugging Face token ids).
*/
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

#define EMBED_DIM 384

/* The tolerance the reference README suggests for a float32 engine (10-60x the
** measured float32-vs-float64 error); the issue asks for 1e-4 and cosine 0.99999. */
#define EMBED_MAX_ABS 1e-5
#define EMBED_MIN_COS 0.99999

static sqlite3 *open_with_minilm(void) {
  char path[1024];
  sqlite3 *db = t_open();
  CHECK_QUERY(db, "SELECT semlite_model_load('minilm', ?1)",
              t_model_path(path, sizeof path, "minilm-l6-embed"), NULL, "minilm");
  return db;
}

/* Reads a float array at JSON path `key` of a JSONL line through SQLite's json_each. */
static int json_floats(sqlite3 *db, const char *line, const char *key, double *out, int cap) {
  sqlite3_stmt *st;
  int n = 0;
  sqlite3_prepare_v2(db, "SELECT value FROM json_each(?1, ?2)", -1, &st, NULL);
  sqlite3_bind_text(st, 1, line, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
  while (sqlite3_step(st) == SQLITE_ROW && n < cap) out[n++] = sqlite3_column_double(st, 0);
  sqlite3_finalize(st);
  return n;
}

/* ---- reference embeddings ---- */

typedef struct ref_state {
  sqlite3 *db;
  double worst_abs, worst_cos;
  int rows;
} ref_state;

static void check_reference_row(const char *line, size_t len, void *arg) {
  ref_state *s = arg;
  double expect[EMBED_DIM + 1];
  char *id = t_query(s->db, "SELECT json_extract(?1, '$.id')", line, NULL);
  char *ids = t_query(s->db, "SELECT semlite_tokenize('minilm', json_extract(?1, '$.text')) = json_extract(?1, '$.ids')", line, NULL);
  sqlite3_stmt *st;
  int n = json_floats(s->db, line, "$.embedding", expect, EMBED_DIM + 1);

  CHECK_MSG(strcmp(ids, "1") == 0, "%s: token ids differ from the reference", id);
  CHECK_MSG(n == EMBED_DIM, "%s: reference has %d floats", id, n);
  sqlite3_prepare_v2(s->db, "SELECT embed('minilm', json_extract(?1, '$.text'))", -1, &st, NULL);
  sqlite3_bind_text(st, 1, line, (int)len, SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_bytes(st, 0) != EMBED_DIM * 4) {
    sl_test_fail(__FILE__, __LINE__, "%s: embed failed: %s", id, sqlite3_errmsg(s->db));
  } else {
    const float *got = sqlite3_column_blob(st, 0);
    double dot = 0, ng = 0, ne = 0, worst = 0;
    for (int i = 0; i < EMBED_DIM; i++) {
      dot += got[i] * expect[i];
      ng += (double)got[i] * got[i];
      ne += expect[i] * expect[i];
      if (fabs(got[i] - expect[i]) > worst) worst = fabs(got[i] - expect[i]);
    }
    double cos = dot / sqrt(ng * ne);
    CHECK_MSG(worst <= EMBED_MAX_ABS, "%s: max abs error %.3g", id, worst);
    CHECK_MSG(cos >= EMBED_MIN_COS, "%s: cosine %.9f", id, cos);
    if (worst > s->worst_abs) s->worst_abs = worst;
    if (cos < s->worst_cos) s->worst_cos = cos;
  }
  sqlite3_finalize(st);
  sqlite3_free(id);
  sqlite3_free(ids);
  s->rows++;
}

static void test_reference_embeddings(void) {
  char path[1024];
  ref_state s = {open_with_minilm(), 0, 1, 0};
  snprintf(path, sizeof path, "%s/reference/embed.jsonl", sl_test_shared_dir());
  t_each_line(path, check_reference_row, &s);
  CHECK_INT(s.rows, 121);
  printf("  reference: %d rows, max abs error %.3g, min cosine %.12f\n", s.rows, s.worst_abs, s.worst_cos);
  sqlite3_close(s.db);
}

/* ---- SQL surface ---- */

static void test_blob_format(void) {
  sqlite3 *db = open_with_minilm();
  CHECK_QUERY(db, "SELECT typeof(embed('minilm', 'turn on the light'))", NULL, NULL, "blob");
  CHECK_QUERY(db, "SELECT length(embed('minilm', 'turn on the light'))", NULL, NULL, "1536");
  CHECK_QUERY(db, "SELECT vec_length(embed('minilm', 'turn on the light'))", NULL, NULL, "384");
  /* The one-argument form uses the first loaded embedding model. */
  CHECK_QUERY(db, "SELECT embed('turn on the light') = embed('minilm', 'turn on the light')", NULL, NULL, "1");
  /* vec_f32(vec_to_json(v)) round-trips through sqlite-vec's %f text within 1e-6. */
  CHECK_QUERY(db, "SELECT json_array_length(vec_to_json(embed('minilm', 'a')))", NULL, NULL, "384");
  CHECK_QUERY(db, "SELECT abs(json_extract(vec_to_json(embed('minilm', 'x')), '$[5]') - "
                  "json_extract(vec_to_json(vec_f32(vec_to_json(embed('minilm', 'x')))), '$[5]')) < 1e-6",
              NULL, NULL, "1");
  /* Unit length: sum of squares through SQL. */
  CHECK_QUERY(db, "SELECT abs((SELECT sum(value*value) FROM json_each(vec_to_json(embed('minilm', 'hello world')))) - 1) < 1e-4",
              NULL, NULL, "1");
  /* ids of the reference row v-home-fr-lumiere */
  CHECK_QUERY(db, "SELECT semlite_tokenize('minilm', 'Lumière salon')", NULL, NULL, "[101,11320,9856,2890,11090,102]");
  sqlite3_close(db);
}

static void test_nulls(void) {
  sqlite3 *db = open_with_minilm();
  CHECK_QUERY(db, "SELECT embed(NULL)", NULL, NULL, "NULL");
  CHECK_QUERY(db, "SELECT embed('minilm', NULL)", NULL, NULL, "NULL");
  CHECK_QUERY(db, "SELECT embed(NULL, 'text')", NULL, NULL, "NULL");
  CHECK_QUERY(db, "SELECT semlite_tokenize('minilm', NULL)", NULL, NULL, "NULL");
  CHECK_QUERY(db, "SELECT vec_to_json(NULL)", NULL, NULL, "NULL");
  CHECK_QUERY(db, "SELECT vec_length(NULL)", NULL, NULL, "NULL");
  sqlite3_close(db);
}

static void test_errors(void) {
  char path[1024], dir[256];
  sqlite3 *db = open_with_minilm();
  CHECK_QUERY(db, "SELECT embed('nope', 'x')", NULL, NULL,
              "ERROR: embed: no model named 'nope' (load one with semlite_model_load)");
  CHECK_QUERY(db, "SELECT embed('minilm', x'00')", NULL, NULL, "ERROR: embed: the text must be TEXT, got BLOB");
  CHECK_QUERY(db, "SELECT embed('minilm', 42)", NULL, NULL, "ERROR: embed: the text must be TEXT, got INTEGER");
  CHECK_QUERY(db, "SELECT embed(4.5)", NULL, NULL, "ERROR: embed: the text must be TEXT, got REAL");
  CHECK_QUERY(db, "SELECT embed(7, 'x')", NULL, NULL, "ERROR: embed: the model name must be TEXT, got INTEGER");
  CHECK_QUERY(db, "SELECT semlite_tokenize('nope', 'x')", NULL, NULL,
              "ERROR: semlite_tokenize: no model named 'nope' (load one with semlite_model_load)");
  CHECK_QUERY(db, "SELECT semlite_model_load('m', '/nonexistent/model')", NULL, NULL,
              "ERROR: semlite_model_load: cannot open model folder '/nonexistent/model': No such file or directory");
  {
    char expect[4600], real[4096];
    t_model_path(path, sizeof path, "minilm-l6-embed/vocab.txt");
    snprintf(expect, sizeof expect, "ERROR: semlite_model_load: '%s' is not a folder", path);
    CHECK_QUERY(db, "SELECT semlite_model_load('m', ?1)", path, NULL, expect);
    CHECK(realpath(t_model_path(path, sizeof path, "minilm-l6-embed"), real) != NULL);
    snprintf(expect, sizeof expect,
             "ERROR: semlite_model_load: a model named 'minilm' is already loaded from '%s' as fp32 (unload it first)", real);
    CHECK_QUERY(db, "SELECT semlite_model_load('minilm', ?1)", t_model_path(path, sizeof path, "minilm-l6-rerank"), NULL,
                expect);
  }
  snprintf(dir, sizeof dir, "/tmp/semlite-test-empty-%d", (int)getpid());
  mkdir(dir, 0700);
  {
    char expect[512];
    snprintf(expect, sizeof expect,
             "ERROR: semlite_model_load: '%s' has no config.json (not a Hugging Face model folder?)", dir);
    CHECK_QUERY(db, "SELECT semlite_model_load('m', ?1)", dir, NULL, expect);
  }
  rmdir(dir);
  CHECK_QUERY(db, "SELECT semlite_model_load(NULL, 'x')", NULL, NULL,
              "ERROR: semlite_model_load: the model name must be TEXT, got NULL");
  CHECK_QUERY(db, "SELECT semlite_model_unload('nope')", NULL, NULL,
              "ERROR: semlite_model_unload: no model named 'nope'");
  CHECK_QUERY(db, "SELECT vec_length(x'000000')", NULL, NULL,
              "ERROR: vec_length: invalid float32 vector BLOB length. Must be divisible by 4, found 3");
  CHECK_QUERY(db, "SELECT vec_f32('[1, \"a\"]')", NULL, NULL,
              "ERROR: vec_f32: element 1 of the JSON vector is not a finite float32 number");
  CHECK_QUERY(db, "SELECT vec_f32('[]')", NULL, NULL, "ERROR: vec_f32: zero-length vectors are not supported.");
  CHECK_QUERY(db, "SELECT vec_f32(1)", NULL, NULL, "ERROR: vec_f32: Input must have type BLOB (compact format) or TEXT (JSON), found INTEGER");
  sqlite3_close(db);
}

/* The cross-encoder twin: embed() must refuse it by kind, tokenize must accept it. */
static void test_wrong_kind(void) {
  char path[1024];
  sqlite3 *db = open_with_minilm();
  CHECK_QUERY(db, "SELECT semlite_model_load('ce', ?1)", t_model_path(path, sizeof path, "minilm-l6-rerank"), NULL, "ce");
  CHECK_QUERY(db, "SELECT embed('ce', 'x')", NULL, NULL,
              "ERROR: embed: model 'ce' is a cross-encoder (rerank) model, not an embedding model");
  CHECK_QUERY(db, "SELECT semlite_tokenize('ce', 'a b')", NULL, NULL, "[101,1037,1038,102]");
  CHECK_QUERY(db, "SELECT max_tokens FROM semlite_models WHERE name = 'ce'", NULL, NULL, "512");
  CHECK_QUERY(db, "SELECT semlite_model_unload('ce')", NULL, NULL, "1");
  sqlite3_close(db);
}

static void test_flags(void) {
  sqlite3 *db = open_with_minilm();
  /* DIRECTONLY: not from views or triggers. */
  t_exec(db, "CREATE VIEW v AS SELECT semlite_model_load('x', '/tmp') AS r");
  CHECK_QUERY(db, "SELECT r FROM v", NULL, NULL, "ERROR: unsafe use of semlite_model_load()");
  /* embed may write the inference cache (docs/cache.md): DETERMINISTIC but DIRECTONLY,
  ** so not in views, triggers or generated columns (semlite_vec's embed_from is the way
  ** to embed on insert). */
  t_exec(db, "CREATE VIEW ve AS SELECT embed('minilm', 'x') AS e");
  CHECK_QUERY(db, "SELECT e FROM ve", NULL, NULL, "ERROR: unsafe use of embed()");
  CHECK_QUERY(db, "CREATE TABLE notes(body TEXT, e BLOB AS (embed('minilm', body)))", NULL, NULL,
              "ERROR: unsafe use of embed()");
  CHECK_QUERY(db, "SELECT embed('minilm', 'a') = embed('minilm', 'a')", NULL, NULL, "1");
  sqlite3_close(db);
}

static void test_models_table(void) {
  char path[1024], real[4096];
  sqlite3 *db = open_with_minilm();
  CHECK(realpath(t_model_path(path, sizeof path, "minilm-l6-embed"), real) != NULL);
  CHECK_QUERY(db, "SELECT group_concat(name, ',') FROM pragma_table_info('semlite_models')", NULL, NULL,
              "name,kind,path,dim,layers,params,bytes,dtype,load_ms,max_tokens,pooling");
  CHECK_QUERY(db, "SELECT name||'|'||kind||'|'||dim||'|'||layers||'|'||params||'|'||dtype||'|'||max_tokens||'|'||pooling "
                  "FROM semlite_models WHERE name = 'minilm'", NULL, NULL,
              "minilm|embed|384|6|22565376|fp32|256|mean");
  CHECK_QUERY(db, "SELECT path FROM semlite_models WHERE name = 'minilm'", NULL, NULL, real);
  CHECK_QUERY(db, "SELECT load_ms > 0 AND bytes > 90000000 FROM semlite_models WHERE name = 'minilm'", NULL, NULL, "1");
  /* Loading the same folder twice shares one model; both names are listed. */
  CHECK_QUERY(db, "SELECT semlite_model_load('again', ?1)", path, NULL, "again");
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_models WHERE path = ?1", real, NULL, "2");
  CHECK_QUERY(db, "SELECT embed('again', 'x') = embed('minilm', 'x')", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT semlite_model_unload('again')", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_models WHERE name = 'again'", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT length(embed('minilm', 'still here'))", NULL, NULL, "1536");
  sqlite3_close(db);
}

/* ---- pooling variants, through model folders that differ only in their configs ---- */

static void write_file(const char *dir, const char *name, const char *text) {
  char path[1024];
  FILE *f;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  f = fopen(path, "w");
  CHECK_MSG(f != NULL, "cannot write %s", path);
  if (f) { fputs(text, f); fclose(f); }
}

/* A folder of symlinks to the embedding twin with its own modules.json and pooling. */
static void make_variant(char *dir, size_t cap, const char *tag, const char *mode, int normalize) {
  static const char *files[] = {"config.json", "vocab.txt", "tokenizer_config.json",
                                "special_tokens_map.json", "sentence_bert_config.json", "model.safetensors"};
  char src[1024], dst[1024], pool[1100], cfg[512];
  snprintf(dir, cap, "/tmp/semlite-test-%s-%d", tag, (int)getpid());
  mkdir(dir, 0700);
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char rel[256];
    snprintf(rel, sizeof rel, "minilm-l6-embed/%s", files[i]);
    t_model_path(src, sizeof src, rel);
    char abs_src[4096];
    CHECK(realpath(src, abs_src) != NULL);
    snprintf(dst, sizeof dst, "%s/%s", dir, files[i]);
    unlink(dst);
    CHECK_MSG(symlink(abs_src, dst) == 0, "symlink %s: %s", dst, strerror(errno));
  }
  write_file(dir, "modules.json", normalize
    ? "[{\"idx\":0,\"name\":\"0\",\"path\":\"\",\"type\":\"sentence_transformers.models.Transformer\"},"
      "{\"idx\":1,\"name\":\"1\",\"path\":\"1_Pooling\",\"type\":\"sentence_transformers.models.Pooling\"},"
      "{\"idx\":2,\"name\":\"2\",\"path\":\"2_Normalize\",\"type\":\"sentence_transformers.models.Normalize\"}]"
    : "[{\"idx\":0,\"name\":\"0\",\"path\":\"\",\"type\":\"sentence_transformers.models.Transformer\"},"
      "{\"idx\":1,\"name\":\"1\",\"path\":\"1_Pooling\",\"type\":\"sentence_transformers.models.Pooling\"}]");
  snprintf(pool, sizeof pool, "%s/1_Pooling", dir);
  mkdir(pool, 0700);
  snprintf(cfg, sizeof cfg, "{\"word_embedding_dimension\": 384, \"%s\": true}", mode);
  write_file(pool, "config.json", cfg);
}

static void remove_variant(const char *dir) {
  static const char *files[] = {"config.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json",
                                "sentence_bert_config.json", "model.safetensors", "modules.json", "1_Pooling/config.json"};
  char path[1100];
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    unlink(path);
  }
  snprintf(path, sizeof path, "%s/1_Pooling", dir);
  rmdir(path);
  rmdir(dir);
}

static int embed_floats(sqlite3 *db, const char *model, const char *text, float *out) {
  sqlite3_stmt *st;
  int ok;
  sqlite3_prepare_v2(db, "SELECT embed(?1, ?2)", -1, &st, NULL);
  sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
  ok = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == EMBED_DIM * 4;
  if (ok) memcpy(out, sqlite3_column_blob(st, 0), EMBED_DIM * 4);
  else sl_test_fail(__FILE__, __LINE__, "embed(%s) failed: %s", model, sqlite3_errmsg(db));
  sqlite3_finalize(st);
  return ok;
}

static void test_pooling_variants(void) {
  static const char text[] = "open the garage door when the car arrives";
  int n_tokens;
  char d_mean[256], d_cls[256], d_max[256], d_sqrt[256], d_norm[256];
  float mean[EMBED_DIM], cls[EMBED_DIM], mx[EMBED_DIM], sq[EMBED_DIM], norm[EMBED_DIM], ref[EMBED_DIM];
  sqlite3 *db = open_with_minilm();
  make_variant(d_mean, sizeof d_mean, "mean", "pooling_mode_mean_tokens", 0);
  make_variant(d_cls, sizeof d_cls, "cls", "pooling_mode_cls_token", 0);
  make_variant(d_max, sizeof d_max, "max", "pooling_mode_max_tokens", 0);
  make_variant(d_sqrt, sizeof d_sqrt, "sqrt", "pooling_mode_mean_sqrt_len_tokens", 0);
  make_variant(d_norm, sizeof d_norm, "clsn", "pooling_mode_cls_token", 1);
  {
    char *n = t_query(db, "SELECT json_array_length(semlite_tokenize('minilm', ?1))", text, NULL);
    n_tokens = atoi(n);
    sqlite3_free(n);
    CHECK_INT(n_tokens, 10);
  }
  CHECK_QUERY(db, "SELECT semlite_model_load('p_mean', ?1)", d_mean, NULL, "p_mean");
  CHECK_QUERY(db, "SELECT semlite_model_load('p_cls', ?1)", d_cls, NULL, "p_cls");
  CHECK_QUERY(db, "SELECT semlite_model_load('p_max', ?1)", d_max, NULL, "p_max");
  CHECK_QUERY(db, "SELECT semlite_model_load('p_sqrt', ?1)", d_sqrt, NULL, "p_sqrt");
  CHECK_QUERY(db, "SELECT semlite_model_load('p_clsn', ?1)", d_norm, NULL, "p_clsn");
  CHECK_QUERY(db, "SELECT group_concat(pooling, ',') FROM semlite_models WHERE name LIKE 'p\\_%' ESCAPE '\\'", NULL, NULL,
              "mean,cls,max,mean_sqrt_len,cls");
  if (embed_floats(db, "p_mean", text, mean) && embed_floats(db, "p_cls", text, cls) &&
      embed_floats(db, "p_max", text, mx) && embed_floats(db, "p_sqrt", text, sq) &&
      embed_floats(db, "p_clsn", text, norm) && embed_floats(db, "minilm", text, ref)) {
    double nm = 0, nc = 0, worst_ref = 0, worst_sqrt = 0, worst_norm = 0;
    int max_ge = 1, cls_differs = 0;
    for (int i = 0; i < EMBED_DIM; i++) { nm += (double)mean[i] * mean[i]; nc += (double)cls[i] * cls[i]; }
    nm = sqrt(nm);
    nc = sqrt(nc);
    for (int i = 0; i < EMBED_DIM; i++) {
      /* The normalized default equals mean pooling divided by its norm. */
      worst_ref = fmax(worst_ref, fabs(mean[i] / nm - ref[i]));
      /* mean_sqrt_len is the sum over sqrt(n): mean * sqrt(n). */
      worst_sqrt = fmax(worst_sqrt, fabs(mean[i] * sqrt(n_tokens) - sq[i]));
      worst_norm = fmax(worst_norm, fabs(cls[i] / nc - norm[i]));
      if (mx[i] < mean[i] - 1e-6f || mx[i] < cls[i] - 1e-6f) max_ge = 0;
      if (fabs(cls[i] - mean[i]) > 1e-3) cls_differs = 1;
    }
    CHECK_MSG(worst_ref < 1e-6, "normalized mean differs from the default by %.3g", worst_ref);
    CHECK_MSG(worst_sqrt < 1e-5, "mean_sqrt_len differs from mean*sqrt(n) by %.3g", worst_sqrt);
    CHECK_MSG(worst_norm < 1e-6, "normalized cls differs by %.3g", worst_norm);
    CHECK_MSG(fabs(nm - 1) > 1e-3, "unnormalized mean has norm %.6f", nm);
    CHECK(max_ge);
    CHECK(cls_differs);
  }
  CHECK_QUERY(db, "SELECT semlite_model_unload('p_mean') + semlite_model_unload('p_cls') + semlite_model_unload('p_max') + "
                  "semlite_model_unload('p_sqrt') + semlite_model_unload('p_clsn')", NULL, NULL, "5");
  remove_variant(d_mean);
  remove_variant(d_cls);
  remove_variant(d_max);
  remove_variant(d_sqrt);
  remove_variant(d_norm);
  sqlite3_close(db);
}

/* A folder whose weights are damaged: loading fails with the loader's message and
** leaves nothing registered. */
static void test_corrupt_weights(void) {
  char dir[256], weights[512], expect[1024];
  sqlite3 *db = open_with_minilm();
  FILE *f;
  make_variant(dir, sizeof dir, "corrupt", "pooling_mode_mean_tokens", 1);
  snprintf(weights, sizeof weights, "%s/model.safetensors", dir);
  unlink(weights);
  f = fopen(weights, "wb");
  CHECK(f != NULL);
  if (f) {
    /* A header length of 4096 bytes with only "{}" after it. */
    static const unsigned char trunc[] = {0x00, 0x10, 0, 0, 0, 0, 0, 0, '{', '}'};
    fwrite(trunc, 1, sizeof trunc, f);
    fclose(f);
  }
  snprintf(expect, sizeof expect,
           "ERROR: semlite_model_load: %s: file is truncated: header says 4096 bytes but only 2 follow the header size",
           weights);
  CHECK_QUERY(db, "SELECT semlite_model_load('broken', ?1)", dir, NULL, expect);
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_models WHERE name = 'broken'", NULL, NULL, "0");
  remove_variant(dir);
  sqlite3_close(db);
}

/* Configuration files drive the model; what semlite cannot run is refused by name. */
static void test_bad_config(void) {
  static const struct { const char *file, *text, *error; } cases[] = {
    {"config.json", "{\"model_type\": \"bert\", \"hidden_act\": \"relu\", \"hidden_size\": 384, "
     "\"num_attention_heads\": 12, \"num_hidden_layers\": 6, \"intermediate_size\": 1536, \"vocab_size\": 30522}",
     "config.json: hidden_act 'relu' is not supported (only the exact erf \"gelu\")"},
    {"config.json", "{\"model_type\": \"bert\", \"hidden_size\": 384, \"num_attention_heads\": 7, "
     "\"num_hidden_layers\": 6, \"intermediate_size\": 1536, \"vocab_size\": 30522}",
     "config.json: hidden_size 384 is not a multiple of num_attention_heads 7"},
    {"config.json", "{\"model_type\": \"gpt2\"}",
     "config.json: model_type 'gpt2' is not supported (BERT-family models only)"},
    {"config.json", "{\"model_type\": \"bert\", \"hidden_size\": -1}",
     "config.json: \"hidden_size\" must be an integer in [1, 16384]"},
    {"config.json", "{\"model_type\": \"bert\", \"hidden_size\": 384, \"num_attention_heads\": 12, "
     "\"num_hidden_layers\": 6, \"intermediate_size\": 1536, \"vocab_size\": 30522, \"max_position_embeddings\": 128}",
     "" /* loads: the twin has 512 positions, so binding reports the shape */},
    {"1_Pooling/config.json", "{\"pooling_mode_mean_tokens\": true, \"pooling_mode_max_tokens\": true}",
     "1_Pooling/config.json: exactly one pooling mode must be enabled (found 2)"},
    {"1_Pooling/config.json", "{\"pooling_mode_lasttoken\": true}",
     "1_Pooling/config.json: pooling_mode_lasttoken is not supported"},
    {"sentence_bert_config.json", "{\"max_seq_length\": 1}",
     "sentence_bert_config.json: \"max_seq_length\" must be an integer in [2, 65536]"},
  };
  sqlite3 *db = open_with_minilm();
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char dir[256], path[512], expect[1024];
    make_variant(dir, sizeof dir, "badcfg", "pooling_mode_mean_tokens", 1);
    snprintf(path, sizeof path, "%s/%s", dir, cases[i].file);
    unlink(path);
    write_file(dir, cases[i].file, cases[i].text);
    if (cases[i].error[0])
      snprintf(expect, sizeof expect, "ERROR: semlite_model_load: %s", cases[i].error);
    else
      snprintf(expect, sizeof expect, "ERROR: semlite_model_load: tensor 'embeddings.position_embeddings.weight' "
               "has shape [512, 384], expected [128, 384]");
    CHECK_QUERY(db, "SELECT semlite_model_load('bad', ?1)", dir, NULL, expect);
    remove_variant(dir);
  }
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_models WHERE name = 'bad'", NULL, NULL, "0");
  sqlite3_close(db);
}

/* ---- concurrency ---- */

#define N_THREADS 8
#define N_TEXTS 12

static const char *const thread_texts[N_TEXTS] = {
  "motion sensor in the hallway", "turn on the light", "Lumière du salon",
  "Tapparella cucina", "flood sensor near the water heater", "the TV is on",
  "close the shutters at sunset", "每个人都有自己的梦想。", "thermostat 21,5 °C",
  "", "a much longer sentence about the garage door, the car, and the driveway lights at night",
  "binary_sensor.hallway_motion"};

static float expected_vecs[N_TEXTS][EMBED_DIM];

typedef struct thread_arg {
  int id, failures;
  const char *model;
} thread_arg;

static void *embed_worker(void *p) {
  thread_arg *a = p;
  sqlite3 *db = t_open();
  float got[EMBED_DIM];
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < N_TEXTS; i++) {
      int k = (i + a->id) % N_TEXTS;
      sqlite3_stmt *st;
      sqlite3_prepare_v2(db, "SELECT embed(?1, ?2)", -1, &st, NULL);
      sqlite3_bind_text(st, 1, a->model, -1, SQLITE_STATIC);
      sqlite3_bind_text(st, 2, thread_texts[k], -1, SQLITE_STATIC);
      if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_bytes(st, 0) != EMBED_DIM * 4) {
        a->failures++;
      } else {
        memcpy(got, sqlite3_column_blob(st, 0), sizeof got);
        for (int d = 0; d < EMBED_DIM; d++)
          if (fabsf(got[d] - expected_vecs[k][d]) > 1e-6f) { a->failures++; break; }
      }
      sqlite3_finalize(st);
    }
  }
  sqlite3_close(db);
  return NULL;
}

static void test_threads(void) {
  pthread_t th[N_THREADS];
  thread_arg args[N_THREADS];
  sqlite3 *db = open_with_minilm();
  for (int i = 0; i < N_TEXTS; i++) embed_floats(db, "minilm", thread_texts[i], expected_vecs[i]);
  for (int i = 0; i < N_THREADS; i++) {
    args[i] = (thread_arg){i, 0, "minilm"};
    pthread_create(&th[i], NULL, embed_worker, &args[i]);
  }
  for (int i = 0; i < N_THREADS; i++) {
    pthread_join(th[i], NULL);
    CHECK_MSG(args[i].failures == 0, "thread %d: %d results differ from single-threaded ones", i, args[i].failures);
  }
  sqlite3_close(db);
}

/* Threads embed with a model that another thread loads and unloads in a loop: every
** call either succeeds with the right vector or fails with "no model named". */
typedef struct race_arg {
  int id, ok, missing, wrong;
  atomic_int *stop;
} race_arg;

static void *race_worker(void *p) {
  race_arg *a = p;
  sqlite3 *db = t_open();
  float got[EMBED_DIM];
  while (!*a->stop) {
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "SELECT embed('racer', ?1)", -1, &st, NULL);
    sqlite3_bind_text(st, 1, thread_texts[a->id % N_TEXTS], -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == EMBED_DIM * 4) {
      memcpy(got, sqlite3_column_blob(st, 0), sizeof got);
      if (fabsf(got[7] - expected_vecs[a->id % N_TEXTS][7]) > 1e-6f) a->wrong++;
      else a->ok++;
    } else if (strcmp(sqlite3_errmsg(db), "embed: no model named 'racer' (load one with semlite_model_load)") == 0) {
      a->missing++;
    } else {
      a->wrong++;
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return NULL;
}

static void test_load_unload_race(void) {
  char dir[256];
  pthread_t th[4];
  race_arg args[4];
  atomic_int stop = 0;
  int ok = 0, missing = 0;
  sqlite3 *db = open_with_minilm();
  for (int i = 0; i < N_TEXTS; i++) embed_floats(db, "minilm", thread_texts[i], expected_vecs[i]);
  /* A separate folder, so that unloading really frees a model. */
  make_variant(dir, sizeof dir, "race", "pooling_mode_mean_tokens", 1);
  for (int i = 0; i < 4; i++) {
    args[i] = (race_arg){i, 0, 0, 0, &stop};
    pthread_create(&th[i], NULL, race_worker, &args[i]);
  }
  for (int round = 0; round < 6; round++) {
    CHECK_QUERY(db, "SELECT semlite_model_load('racer', ?1)", dir, NULL, "racer");
    usleep(30000);
    CHECK_QUERY(db, "SELECT semlite_model_unload('racer')", NULL, NULL, "1");
    usleep(5000);
  }
  stop = 1;
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    CHECK_MSG(args[i].wrong == 0, "thread %d: %d wrong results", i, args[i].wrong);
    ok += args[i].ok;
    missing += args[i].missing;
  }
  CHECK_MSG(ok > 0 && missing > 0, "race never interleaved: %d ok, %d missing", ok, missing);
  remove_variant(dir);
  sqlite3_close(db);
}

const sl_test embed_tests[] = {
  {"reference_embeddings", test_reference_embeddings},
  {"blob_format", test_blob_format},
  {"nulls", test_nulls},
  {"errors", test_errors},
  {"wrong_kind", test_wrong_kind},
  {"flags", test_flags},
  {"models_table", test_models_table},
  {"pooling_variants", test_pooling_variants},
  {"corrupt_weights", test_corrupt_weights},
  {"bad_config", test_bad_config},
  {"threads", test_threads},
  {"load_unload_race", test_load_unload_race},
  {0, 0},
};
