/*
** test_quant.c: models loaded with dtype int8 or bf16, against the same model in fp32:
** the accuracy the issue asks for on every reference text, the options' errors, and
** that dtypes never share a model.
*/
#include <math.h>
#include <stdlib.h>

#include "test.h"

#define DIM 384

static sqlite3 *open_with_dtypes(void) {
  char path[1024];
  sqlite3 *db = t_open();
  t_model_path(path, sizeof path, "minilm-l6-embed");
  CHECK_QUERY(db, "SELECT semlite_model_load('q_fp32', ?1)", path, NULL, "q_fp32");
  CHECK_QUERY(db, "SELECT semlite_model_load('q_int8', ?1, '{\"dtype\":\"int8\"}')", path, NULL, "q_int8");
  CHECK_QUERY(db, "SELECT semlite_model_load('q_bf16', ?1, '{\"dtype\": \"bf16\"}')", path, NULL, "q_bf16");
  return db;
}

static void close_dtypes(sqlite3 *db) {
  CHECK_QUERY(db, "SELECT semlite_model_unload('q_fp32') + semlite_model_unload('q_int8') + "
                  "semlite_model_unload('q_bf16')", NULL, NULL, "3");
  sqlite3_close(db);
}

typedef struct cos_state {
  sqlite3 *db;
  sqlite3_stmt *st;
  double min_i8, min_bf16;
  int rows;
} cos_state;

static double cosine(const float *a, const float *b) {
  double d = 0, na = 0, nb = 0;
  for (int i = 0; i < DIM; i++) {
    d += (double)a[i] * b[i];
    na += (double)a[i] * a[i];
    nb += (double)b[i] * b[i];
  }
  return d / sqrt(na * nb);
}

static void compare_row(const char *line, size_t len, void *arg) {
  cos_state *s = arg;
  float v[3][DIM];
  sqlite3_reset(s->st);
  sqlite3_bind_text(s->st, 1, line, (int)len, SQLITE_STATIC);
  if (sqlite3_step(s->st) != SQLITE_ROW) {
    sl_test_fail(__FILE__, __LINE__, "embed failed: %s", sqlite3_errmsg(s->db));
    return;
  }
  for (int c = 0; c < 3; c++) {
    CHECK_INT(sqlite3_column_bytes(s->st, c), DIM * 4);
    if (sqlite3_column_bytes(s->st, c) == DIM * 4) memcpy(v[c], sqlite3_column_blob(s->st, c), sizeof v[c]);
  }
  s->min_i8 = fmin(s->min_i8, cosine(v[0], v[1]));
  s->min_bf16 = fmin(s->min_bf16, cosine(v[0], v[2]));
  s->rows++;
}

/* The bars: int8 cosine >= 0.99 and bf16 >= 0.9999 against fp32, for every
** reference embedding. */
static void test_reference_accuracy(void) {
  char path[1024];
  cos_state s = {open_with_dtypes(), NULL, 1, 1, 0};
  sqlite3_prepare_v2(s.db,
      "SELECT embed('q_fp32', t), embed('q_int8', t), embed('q_bf16', t) "
      "FROM (SELECT json_extract(?1, '$.text') AS t)", -1, &s.st, NULL);
  snprintf(path, sizeof path, "%s/reference/embed.jsonl", sl_test_shared_dir());
  t_each_line(path, compare_row, &s);
  sqlite3_finalize(s.st);
  CHECK_INT(s.rows, 121);
  CHECK_MSG(s.min_i8 >= 0.99, "int8 min cosine %.6f", s.min_i8);
  CHECK_MSG(s.min_bf16 >= 0.9999, "bf16 min cosine %.6f", s.min_bf16);
  CHECK_MSG(s.min_i8 < 0.999999, "int8 results equal fp32 (%.9f): not quantized?", s.min_i8);
  printf("  min cosine vs fp32 over %d reference texts: int8 %.6f, bf16 %.7f\n", s.rows, s.min_i8, s.min_bf16);
  close_dtypes(s.db);
}

static void test_models_rows(void) {
  sqlite3 *db = open_with_dtypes();
  CHECK_QUERY(db, "SELECT group_concat(name || ':' || dtype, ',') FROM semlite_models WHERE name LIKE 'q\\_%' ESCAPE '\\'",
              NULL, NULL, "q_fp32:fp32,q_int8:int8,q_bf16:bf16");
  /* The quantized copies are counted: int8 adds 1 byte per weight of all six linear
  ** layers plus 8 bytes per output (12 for the centered second feed-forward layer):
  ** 10,791,936 bytes; bf16 2 bytes per weight of all six (21.2 MB); fp32 its packed copy
  ** of all six (kernels/gemm_f32.h: 4 bytes a weight and 64 of alignment each, 42,469,632
  ** bytes). */
  CHECK_QUERY(db, "SELECT (SELECT bytes FROM semlite_models WHERE name = 'q_int8') - "
                  "(SELECT bytes FROM semlite_models WHERE name = 'q_fp32') + 42469632",
              NULL, NULL, "10791936");
  CHECK_QUERY(db, "SELECT (SELECT bytes FROM semlite_models WHERE name = 'q_bf16') - "
                  "(SELECT bytes FROM semlite_models WHERE name = 'q_fp32') + 42469632 BETWEEN 20000000 AND 22000000",
              NULL, NULL, "1");
  /* Three dtypes of one folder are three models, never one another's results. */
  CHECK_QUERY(db, "SELECT embed('q_int8', 'x') != embed('q_fp32', 'x') AND embed('q_bf16', 'x') != embed('q_fp32', 'x')",
              NULL, NULL, "1");
  close_dtypes(db);
}

static void test_option_errors(void) {
  char path[1024];
  sqlite3 *db = t_open();
  t_model_path(path, sizeof path, "minilm-l6-embed");
  CHECK_QUERY(db, "SELECT semlite_model_load('o', ?1, '{\"dtype\":\"int4\"}')", path, NULL,
              "ERROR: semlite_model_load: unknown dtype 'int4' (fp32, int8 or bf16)");
  CHECK_QUERY(db, "SELECT semlite_model_load('o', ?1, '{\"threads\":2}')", path, NULL,
              "ERROR: semlite_model_load: unknown option 'threads' (known: dtype)");
  CHECK_QUERY(db, "SELECT semlite_model_load('o', ?1, '{\"dtype\":8}')", path, NULL,
              "ERROR: semlite_model_load: option dtype must be a string");
  CHECK_QUERY(db, "SELECT semlite_model_load('o', ?1, '[\"int8\"]')", path, NULL,
              "ERROR: semlite_model_load: options must be a JSON object, e.g. '{\"dtype\":\"int8\"}'");
  CHECK_QUERY(db, "SELECT semlite_model_load('o', ?1, '{dtype}')", path, NULL,
              "ERROR: semlite_model_load: invalid JSON at byte 1: expected a string key");
  CHECK_QUERY(db, "SELECT semlite_model_load('o', ?1, 8)", path, NULL,
              "ERROR: semlite_model_load: the options must be TEXT, got INTEGER");
  /* NULL options are the defaults. */
  CHECK_QUERY(db, "SELECT semlite_model_load('o', ?1, NULL)", path, NULL, "o");
  CHECK_QUERY(db, "SELECT dtype FROM semlite_models WHERE name = 'o'", NULL, NULL, "fp32");
  {
    char real[4096], expect[4600];
    CHECK(realpath(path, real) != NULL);
    snprintf(expect, sizeof expect,
             "ERROR: semlite_model_load: a model named 'o' is already loaded from '%s' as fp32 (unload it first)", real);
    CHECK_QUERY(db, "SELECT semlite_model_load('o', ?1, '{\"dtype\":\"int8\"}')", path, NULL, expect);
  }
  CHECK_QUERY(db, "SELECT semlite_model_unload('o')", NULL, NULL, "1");
  sqlite3_close(db);
}

/* ---- cross-encoder: rank agreement of int8/bf16 scores with fp32 on TREC DL 2019 ---- */

typedef struct pair_state {
  sqlite3 *db;
  sqlite3_stmt *st;
  double *score[3];
  int n, cap;
} pair_state;

/* triples-sample.tsv: qid, pid, label, query, passage */
static void score_triple(const char *line, size_t len, void *arg) {
  pair_state *s = arg;
  const char *f[5];
  int nf = 0;
  f[nf++] = line;
  for (size_t i = 0; i < len && nf < 5; i++)
    if (line[i] == '\t') f[nf++] = line + i + 1;
  if (nf < 5 || s->n >= s->cap) return;
  sqlite3_reset(s->st);
  sqlite3_bind_text(s->st, 1, f[3], (int)(f[4] - f[3] - 1), SQLITE_STATIC);
  sqlite3_bind_text(s->st, 2, f[4], (int)(line + len - f[4]), SQLITE_STATIC);
  if (sqlite3_step(s->st) != SQLITE_ROW) {
    sl_test_fail(__FILE__, __LINE__, "rerank failed: %s", sqlite3_errmsg(s->db));
    return;
  }
  for (int c = 0; c < 3; c++) s->score[c][s->n] = sqlite3_column_double(s->st, c);
  s->n++;
}

static const double *sort_key;
static int by_key(const void *a, const void *b) {
  double x = sort_key[*(const int *)a], y = sort_key[*(const int *)b];
  return (x > y) - (x < y);
}

/* Ranks with ties sharing their average rank. */
static void ranks(const double *v, int n, double *out) {
  int *idx = malloc((size_t)n * sizeof *idx);
  for (int i = 0; i < n; i++) idx[i] = i;
  sort_key = v;
  qsort(idx, (size_t)n, sizeof *idx, by_key);
  for (int i = 0; i < n;) {
    int j = i;
    while (j + 1 < n && v[idx[j + 1]] == v[idx[i]]) j++;
    for (int k = i; k <= j; k++) out[idx[k]] = (i + j) / 2.0;
    i = j + 1;
  }
  free(idx);
}

static double spearman(const double *a, const double *b, int n) {
  double *ra = malloc((size_t)n * sizeof *ra), *rb = malloc((size_t)n * sizeof *rb);
  double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
  ranks(a, n, ra);
  ranks(b, n, rb);
  for (int i = 0; i < n; i++) { ma += ra[i]; mb += rb[i]; }
  ma /= n;
  mb /= n;
  for (int i = 0; i < n; i++) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) * (ra[i] - ma);
    sbb += (rb[i] - mb) * (rb[i] - mb);
  }
  free(ra);
  free(rb);
  return sab / sqrt(saa * sbb);
}

/* The bar: Spearman >= 0.99 between int8 and fp32 rerank scores over every
** triple of the TREC sample (and bf16, which must be closer still). */
static void test_rerank_spearman(void) {
  char path[1024], file[1024];
  pair_state s = {t_open(), NULL, {NULL, NULL, NULL}, 0, 1000};
  t_model_path(path, sizeof path, "minilm-l6-rerank");
  CHECK_QUERY(s.db, "SELECT semlite_model_load('r_fp32', ?1)", path, NULL, "r_fp32");
  CHECK_QUERY(s.db, "SELECT semlite_model_load('r_int8', ?1, '{\"dtype\":\"int8\"}')", path, NULL, "r_int8");
  CHECK_QUERY(s.db, "SELECT semlite_model_load('r_bf16', ?1, '{\"dtype\":\"bf16\"}')", path, NULL, "r_bf16");
  for (int c = 0; c < 3; c++) s.score[c] = malloc((size_t)s.cap * sizeof(double));
  sqlite3_prepare_v2(s.db, "SELECT rerank('r_fp32', ?1, ?2), rerank('r_int8', ?1, ?2), rerank('r_bf16', ?1, ?2)",
                     -1, &s.st, NULL);
  snprintf(file, sizeof file, "%s/data/rerank/trec-dl-2019-passage/triples-sample.tsv", sl_test_shared_dir());
  t_each_line(file, score_triple, &s);
  sqlite3_finalize(s.st);
  CHECK_MSG(s.n == 793, "%d triples scored", s.n);
  if (s.n > 10) {
    double r8 = spearman(s.score[0], s.score[1], s.n), r16 = spearman(s.score[0], s.score[2], s.n);
    CHECK_MSG(r8 >= 0.99, "int8 Spearman %.5f", r8);
    CHECK_MSG(r16 >= 0.999, "bf16 Spearman %.5f", r16);
    printf("  Spearman vs fp32 over %d TREC pairs: int8 %.5f, bf16 %.5f\n", s.n, r8, r16);
  }
  for (int c = 0; c < 3; c++) free(s.score[c]);
  CHECK_QUERY(s.db, "SELECT semlite_model_unload('r_fp32') + semlite_model_unload('r_int8') + "
                    "semlite_model_unload('r_bf16')", NULL, NULL, "3");
  sqlite3_close(s.db);
}

const sl_test quant_tests[] = {
  {"reference_accuracy", test_reference_accuracy},
  {"models_rows", test_models_rows},
  {"option_errors", test_option_errors},
  {"rerank_spearman", test_rerank_spearman},
  {0, 0},
};
