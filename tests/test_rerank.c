/*
** test_rerank.c: rerank(), and the batched table-valued functions rerank_each and
** embed_each, driven through SQL on the real semlite.so and the synthetic twins:
**   - the cross-encoder against ../shared/reference/rerank.jsonl (Hugging Face token ids
**     and type ids exactly, float64 logits within 1e-5);
**   - batched results against one-at-a-time ones (within 1e-6), with mixed lengths,
**     NULL elements and inputs that take more than one forward pass;
**   - the engine's batch bound (SL_BATCH_TOKENS) through ext/engine/model.c directly;
**   - the SQL surface: NULLs, errors, flags, joins, a model unloaded mid-scan.
*/
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../ext/base/json.h"
#include "../ext/engine/model.h"
#include "test.h"

#define EMBED_DIM 384

/* The reference README's suggested tolerance for float32 logits (the issue asks 1e-3;
** float32 torch lands at 8e-7). */
#define RERANK_MAX_ABS 1e-5
/* Batched against one at a time: the issue asks 1e-6; the engine gives equality, because
** every product's sums are independent of the batch around a row (kernels/gemm.h), and
** the test holds it to that. */
#define BATCH_MAX_ABS 0.0

static sqlite3 *open_with_models(void) {
  char path[1024];
  sqlite3 *db = t_open();
  CHECK_QUERY(db, "SELECT semlite_model_load('ce', ?1)", t_model_path(path, sizeof path, "minilm-l6-rerank"), NULL, "ce");
  CHECK_QUERY(db, "SELECT semlite_model_load('minilm', ?1)", t_model_path(path, sizeof path, "minilm-l6-embed"), NULL,
              "minilm");
  return db;
}

/* A twin opened by the engine itself, for what SQL does not show (pair ids, batch sizes). */
static sl_model *open_engine(const char *twin) {
  char path[1024];
  sl_model *m = NULL;
  sl_err err;
  if (sl_model_open(t_model_path(path, sizeof path, twin), SL_COMPUTE_F32, &m, &err))
    sl_test_fail(__FILE__, __LINE__, "cannot open %s: %s", path, err.msg);
  return m;
}

/* ---- reference scores and token ids ---- */

typedef struct ref_state {
  sqlite3 *db;
  sl_model *m;
  double worst;
  int rows;
} ref_state;

/* The ints of a JSON array member into out; returns how many (or -1 when not an array). */
static int json_ints(const sl_json *obj, const char *key, int32_t *out, int cap) {
  const sl_json *a = sl_json_get(obj, key);
  int n = 0;
  if (!a || a->type != SL_JSON_ARRAY) return -1;
  for (const sl_json *e = a->child; e && n < cap; e = e->next) out[n++] = (int32_t)e->number;
  return n;
}

static void check_reference_pair(const char *line, size_t len, void *arg) {
  ref_state *s = arg;
  sl_json_doc *doc;
  sl_err err;
  int32_t ids[600], types[600], kept[2];
  sl_tokens got = {0}, got_types = {0};
  const sl_json *row, *id, *q, *d, *score;

  if (sl_json_parse(line, len, &doc, &err)) {
    sl_test_fail(__FILE__, __LINE__, "rerank.jsonl line %d: %s", s->rows + 1, err.msg);
    return;
  }
  row = sl_json_root(doc);
  id = sl_json_get(row, "id");
  q = sl_json_get(row, "query");
  d = sl_json_get(row, "doc");
  score = sl_json_get(row, "score");
  int n = json_ints(row, "ids", ids, 600), nt = json_ints(row, "type_ids", types, 600);
  CHECK(id && q && d && score && n > 0 && n == nt && json_ints(row, "kept", kept, 2) == 2);

  /* Token ids and type ids, exactly, through the engine's pair encoding. */
  if (s->m && sl_model_tokenize_pair(s->m, q->str, q->len, d->str, d->len, &got, &got_types, &err)) {
    sl_test_fail(__FILE__, __LINE__, "%s: %s", id->str, err.msg);
  } else if (s->m) {
    int same = got.n == (size_t)n && got_types.n == (size_t)n, zeros = 0;
    for (int i = 0; same && i < n; i++) same = got.ids[i] == ids[i] && got_types.ids[i] == types[i];
    for (int i = 0; i < n; i++) zeros += types[i] == 0;
    CHECK_MSG(same, "%s: token ids or type ids differ from the reference (%zu tokens, expected %d)", id->str, got.n, n);
    CHECK_MSG(zeros - 2 == kept[0] && n - zeros - 1 == kept[1], "%s: kept [%d, %d] disagrees with its type ids",
              id->str, kept[0], kept[1]);
  }

  /* The score, through SQL. */
  {
    sqlite3_stmt *st;
    sqlite3_prepare_v2(s->db, "SELECT rerank('ce', ?1, ?2)", -1, &st, NULL);
    sqlite3_bind_text(st, 1, q->str, (int)q->len, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, d->str, (int)d->len, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_type(st, 0) != SQLITE_FLOAT) {
      sl_test_fail(__FILE__, __LINE__, "%s: rerank failed: %s", id->str, sqlite3_errmsg(s->db));
    } else {
      double e = fabs(sqlite3_column_double(st, 0) - score->number);
      CHECK_MSG(e <= RERANK_MAX_ABS, "%s: score %.9f, reference %.9f", id->str, sqlite3_column_double(st, 0), score->number);
      if (e > s->worst) s->worst = e;
    }
    sqlite3_finalize(st);
  }
  sl_tokens_free(&got);
  sl_tokens_free(&got_types);
  sl_json_free(doc);
  s->rows++;
}

static void test_reference(void) {
  char path[1024];
  ref_state s = {open_with_models(), open_engine("minilm-l6-rerank"), 0, 0};
  snprintf(path, sizeof path, "%s/reference/rerank.jsonl", sl_test_shared_dir());
  t_each_line(path, check_reference_pair, &s);
  CHECK_INT(s.rows, 56);
  printf("  reference: %d pairs, max abs error %.3g (ids and type ids exact)\n", s.rows, s.worst);
  sl_model_close(s.m);
  sqlite3_close(s.db);
}

/* ---- batched against one at a time ---- */

/* Rows (index, value) of sql in index order 0, 1, ...: a REAL or a float32 BLOB of width
** floats per row, NaN for NULL. Returns the number of rows; -1 when the indexes are not
** 0, 1, ... in order or the statement fails. */
static int fetch_rows(sqlite3 *db, const char *sql, const char *p1, const char *p2, int width, float *out, int cap) {
  sqlite3_stmt *st;
  int n = 0, rc = SQLITE_DONE, bad = 0;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
    sl_test_fail(__FILE__, __LINE__, "%s: %s", sql, sqlite3_errmsg(db));
    return -1;
  }
  if (p1) sqlite3_bind_text(st, 1, p1, -1, SQLITE_STATIC);
  if (p2) sqlite3_bind_text(st, 2, p2, -1, SQLITE_STATIC);
  while (!bad && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    float *o = out + (size_t)n * (size_t)width;
    bad = n >= cap || sqlite3_column_int(st, 0) != n;
    if (bad) break;
    if (sqlite3_column_type(st, 1) == SQLITE_NULL)
      for (int k = 0; k < width; k++) o[k] = NAN;
    else if (width == 1)
      o[0] = (float)sqlite3_column_double(st, 1);
    else if (!(bad = sqlite3_column_bytes(st, 1) != width * 4))
      memcpy(o, sqlite3_column_blob(st, 1), (size_t)width * 4);
    n++;
  }
  if (bad || rc != SQLITE_DONE) {
    sl_test_fail(__FILE__, __LINE__, "%s: %s", sql, bad ? "rows out of order or of the wrong size" : sqlite3_errmsg(db));
    n = -1;
  }
  sqlite3_finalize(st);
  return n;
}

/* Largest |a - b| over n values; NULL (NaN) must be NULL on both sides. */
static double max_diff(const float *a, const float *b, size_t n) {
  double worst = 0;
  for (size_t i = 0; i < n; i++) {
    if (isnan(a[i]) || isnan(b[i])) {
      if (!(isnan(a[i]) && isnan(b[i]))) return INFINITY;
    } else if (fabs((double)a[i] - b[i]) > worst) {
      worst = fabs((double)a[i] - b[i]);
    }
  }
  return worst;
}

/* Text k of the mixed set: empty, short, medium and long enough to be truncated, some
** with characters JSON escapes and non-ASCII; every 7th is NULL. */
static void insert_mixed(sqlite3 *db, int k) {
  static const char sentence[] = " The hallway light dims slowly when the motion sensor sees nobody for five minutes.";
  static const int repeat[] = {0, 1, 3, 8, 40};
  sqlite3_stmt *st;
  sqlite3_str *s = sqlite3_str_new(NULL);
  char *text;
  if (k % 5 == 2) sqlite3_str_appendall(s, "\"Lumière\" du salon\\cuisine\t— 每个人");
  for (int r = 0; r < repeat[k % 5]; r++) sqlite3_str_appendall(s, sentence);
  if (k % 5 == 1) sqlite3_str_appendf(s, " %d", k);
  text = sqlite3_str_finish(s);
  sqlite3_prepare_v2(db, "INSERT INTO docs(k, body) VALUES (?1, ?2)", -1, &st, NULL);
  sqlite3_bind_int(st, 1, k);
  if (k % 7 != 6) sqlite3_bind_text(st, 2, text ? text : "", -1, SQLITE_STATIC);
  CHECK(sqlite3_step(st) == SQLITE_DONE);
  sqlite3_finalize(st);
  sqlite3_free(text);
}

/* Tokens of docs row k as the model runs it (0 for NULL): a pair with query, or a text. */
static size_t row_tokens(sqlite3 *db, sl_model *m, const char *query, int k) {
  sqlite3_stmt *st;
  sl_tokens ids = {0}, types = {0};
  sl_err err;
  size_t n = 0;
  sqlite3_prepare_v2(db, "SELECT body FROM docs WHERE k = ?1 AND body IS NOT NULL", -1, &st, NULL);
  sqlite3_bind_int(st, 1, k);
  if (sqlite3_step(st) == SQLITE_ROW) {
    const char *t = (const char *)sqlite3_column_text(st, 0);
    size_t len = (size_t)sqlite3_column_bytes(st, 0);
    int rc = query ? sl_model_tokenize_pair(m, query, strlen(query), t, len, &ids, &types, &err)
                   : sl_model_tokenize(m, t, len, &ids, &err);
    CHECK_MSG(rc == SL_OK, "tokenize: %s", err.msg);
    n = ids.n;
  }
  sqlite3_finalize(st);
  sl_tokens_free(&ids);
  sl_tokens_free(&types);
  return n;
}

/* Forward passes the batching rule gives for the rows' token counts (0 for NULL rows):
** greedy, as many as fit in SL_BATCH_TOKENS. */
static int expected_passes(const size_t *tokens, int n, size_t *first) {
  size_t in = 0;
  int passes = 0;
  *first = 0;
  for (int k = 0; k < n; k++) {
    if (!tokens[k]) continue;
    if (passes == 0 || in + tokens[k] > SL_BATCH_TOKENS) {
      passes++;
      in = 0;
    }
    in += tokens[k];
    if (passes == 1) (*first)++;
  }
  return passes;
}

/* The docs table's rows through the batched form and one at a time, compared; then the
** engine's first batch directly: its size follows the bound and its results equal the
** rows SQL gave. query NULL: embed_each/embed, else rerank_each/rerank. */
static void compare_batched(sqlite3 *db, sl_model *m, const char *query, int n) {
  const int width = query ? 1 : EMBED_DIM;
  float *batched = malloc((size_t)n * width * sizeof(float)), *single = malloc((size_t)n * width * sizeof(float));
  size_t *tokens = malloc((size_t)n * sizeof *tokens), total = 0, first, done = 0;
  int passes, got_b, got_s;

  for (int k = 0; k < n; k++) total += tokens[k] = row_tokens(db, m, query, k);
  passes = expected_passes(tokens, n, &first);
  CHECK_MSG(passes >= 3, "only %d forward passes: the test must cross the batch bound", passes);
  if (query) {
    got_b = fetch_rows(db, "SELECT i, score FROM rerank_each('ce', ?1, (SELECT json_group_array(body) FROM docs))",
                       query, NULL, 1, batched, n);
    got_s = fetch_rows(db, "SELECT k, rerank('ce', ?1, body) FROM docs ORDER BY k", query, NULL, 1, single, n);
  } else {
    got_b = fetch_rows(db, "SELECT i, embedding FROM embed_each('minilm', (SELECT json_group_array(body) FROM docs))",
                       NULL, NULL, width, batched, n);
    got_s = fetch_rows(db, "SELECT k, embed('minilm', body) FROM docs ORDER BY k", NULL, NULL, width, single, n);
  }
  CHECK_INT(got_b, n);
  CHECK_INT(got_s, n);
  if (got_b == n && got_s == n) {
    double worst = max_diff(batched, single, (size_t)n * width);
    CHECK_MSG(worst <= BATCH_MAX_ABS,
              "batched and single results differ by %.3g", worst);
    printf("  %s: %d rows, %zu tokens in %d passes, max |batched - single| %.3g\n", query ? "rerank_each" : "embed_each",
           n, total, passes, worst);
  }

  /* The engine's first batch over the non-NULL rows: exactly `first` of them. */
  {
    sqlite3_stmt *st;
    const char **texts = malloc((size_t)n * sizeof *texts);
    size_t *lens = malloc((size_t)n * sizeof *lens), nt = 0;
    float *out = malloc((size_t)n * width * sizeof(float)), *expect = malloc((size_t)n * width * sizeof(float));
    sl_err err;
    int rc;
    sqlite3_prepare_v2(db, "SELECT k, body FROM docs WHERE body IS NOT NULL ORDER BY k", -1, &st, NULL);
    while (sqlite3_step(st) == SQLITE_ROW) {
      texts[nt] = strdup((const char *)sqlite3_column_text(st, 1));
      lens[nt] = (size_t)sqlite3_column_bytes(st, 1);
      memcpy(expect + nt * width, batched + (size_t)sqlite3_column_int(st, 0) * width, width * sizeof(float));
      nt++;
    }
    sqlite3_finalize(st);
    sl_pass_limits lim = SL_PASS_DEFAULTS;
    sl_pass_stats stats = {0};
    rc = query ? sl_model_rerank_batch(m, &lim, query, strlen(query), nt, texts, lens, out, &done, &stats, &err)
               : sl_model_embed_batch(m, &lim, nt, texts, lens, out, &done, &stats, &err);
    CHECK_MSG(rc == SL_OK, "batch: %s", err.msg);
    CHECK_INT(done, first);
    CHECK_MSG(rc == SL_OK && memcmp(out, expect, done * width * sizeof(float)) == 0,
              "the engine's first batch differs from the rows of the SQL scan");
    for (size_t i = 0; i < nt; i++) free((void *)texts[i]);
    free(texts);
    free(lens);
    free(out);
    free(expect);
  }
  free(tokens);
  free(batched);
  free(single);
}

static void test_batches_rerank(void) {
  static const char query[] = "how do I dim the hallway light";
  sqlite3 *db = open_with_models();
  sl_model *m = open_engine("minilm-l6-rerank");
  int n = 0;
  size_t total = 0;
  t_exec(db, "CREATE TEMP TABLE docs(k INTEGER PRIMARY KEY, body TEXT)");
  /* Enough for three passes at least, whatever SL_BATCH_TOKENS is. */
  while (total <= 2 * SL_BATCH_TOKENS + 512) {
    insert_mixed(db, n);
    total += row_tokens(db, m, query, n++);
  }
  if (m) compare_batched(db, m, query, n);
  sl_model_close(m);
  sqlite3_close(db);
}

/* The reference sentences (every kind of hard text) and long texts after them. */
static void test_batches_embed(void) {
  char path[1024];
  sqlite3 *db = open_with_models();
  sl_model *m = open_engine("minilm-l6-embed");
  int n = 0;
  size_t total = 0;
  t_exec(db, "CREATE TEMP TABLE docs(k INTEGER PRIMARY KEY, body TEXT)");
  t_exec(db, "CREATE TEMP TABLE lines(line TEXT)");
  snprintf(path, sizeof path, "%s/reference/sentences.jsonl", sl_test_shared_dir());
  {
    FILE *f = fopen(path, "rb");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    sqlite3_stmt *st;
    CHECK_MSG(f != NULL, "cannot open %s", path);
    sqlite3_prepare_v2(db, "INSERT INTO docs(k, body) VALUES (?1, json_extract(?2, '$.text'))", -1, &st, NULL);
    while (f && (len = getdelim(&line, &cap, '\n', f)) > 1) {
      sqlite3_bind_int(st, 1, n);
      sqlite3_bind_text(st, 2, line, (int)len, SQLITE_STATIC);
      CHECK(sqlite3_step(st) == SQLITE_DONE);
      sqlite3_reset(st);
      total += row_tokens(db, m, NULL, n++);
    }
    sqlite3_finalize(st);
    free(line);
    if (f) fclose(f);
  }
  CHECK_INT(n, 121);
  while (total <= 2 * SL_BATCH_TOKENS + 512) {
    insert_mixed(db, n);
    total += row_tokens(db, m, NULL, n++);
  }
  if (m) compare_batched(db, m, NULL, n);
  sl_model_close(m);
  sqlite3_close(db);
}

/* ---- the SQL surface ---- */

static void test_rerank_sql(void) {
  sqlite3 *db = open_with_models();
  char path[1024];
  CHECK_QUERY(db, "SELECT typeof(rerank('ce', 'turn on the light', 'the light is on'))", NULL, NULL, "real");
  /* The two-argument form uses the first loaded cross-encoder. */
  CHECK_QUERY(db, "SELECT rerank('q', 'd') = rerank('ce', 'q', 'd')", NULL, NULL, "1");
  /* An empty document is still a pair: [CLS] q [SEP] [SEP]. */
  CHECK_QUERY(db, "SELECT typeof(rerank('ce', 'q', ''))", NULL, NULL, "real");

  CHECK_QUERY(db, "SELECT rerank(NULL, 'd')", NULL, NULL, "NULL");
  CHECK_QUERY(db, "SELECT rerank('q', NULL)", NULL, NULL, "NULL");
  CHECK_QUERY(db, "SELECT rerank(NULL, 'q', 'd')", NULL, NULL, "NULL");
  CHECK_QUERY(db, "SELECT rerank('ce', NULL, 'd')", NULL, NULL, "NULL");
  CHECK_QUERY(db, "SELECT rerank('ce', 'q', NULL)", NULL, NULL, "NULL");

  CHECK_QUERY(db, "SELECT rerank('nope', 'q', 'd')", NULL, NULL,
              "ERROR: rerank: no model named 'nope' (load one with semlite_model_load)");
  CHECK_QUERY(db, "SELECT rerank('minilm', 'q', 'd')", NULL, NULL,
              "ERROR: rerank: model 'minilm' is an embedding model, not a cross-encoder (rerank) model");
  CHECK_QUERY(db, "SELECT rerank('ce', x'00', 'd')", NULL, NULL, "ERROR: rerank: the query must be TEXT, got BLOB");
  CHECK_QUERY(db, "SELECT rerank('q', 42)", NULL, NULL, "ERROR: rerank: the document must be TEXT, got INTEGER");
  CHECK_QUERY(db, "SELECT rerank('ce', 'q', 1.5)", NULL, NULL, "ERROR: rerank: the document must be TEXT, got REAL");
  CHECK_QUERY(db, "SELECT rerank(7, 'q', 'd')", NULL, NULL, "ERROR: rerank: the model name must be TEXT, got INTEGER");
  CHECK_QUERY(db, "SELECT rerank('ce', CAST(x'ff' AS TEXT), 'd')", NULL, NULL,
              "ERROR: rerank: the query is not valid UTF-8 at byte 0");
  CHECK_QUERY(db, "SELECT rerank('ce', 'q', CAST(x'61c3' AS TEXT))", NULL, NULL,
              "ERROR: rerank: the document is not valid UTF-8 at byte 1");
  CHECK_QUERY(db, "SELECT rerank('ce', 'q', 'd', 'x')", NULL, NULL, "ERROR: wrong number of arguments to function rerank()");

  /* No cross-encoder loaded at all (the registry is process-wide: unload every one). */
  t_exec(db, "CREATE TEMP TABLE ce_names AS SELECT name, path FROM semlite_models WHERE kind = 'rerank'");
  t_exec(db, "SELECT semlite_model_unload(name) FROM ce_names");
  CHECK_QUERY(db, "SELECT rerank('q', 'd')", NULL, NULL,
              "ERROR: rerank: no cross-encoder (rerank) model is loaded (load one with semlite_model_load)");
  t_exec(db, "SELECT semlite_model_load(name, path) FROM ce_names");
  CHECK_QUERY(db, "SELECT semlite_model_load('ce', ?1)", t_model_path(path, sizeof path, "minilm-l6-rerank"), NULL, "ce");
  sqlite3_close(db);
}

static void test_flags(void) {
  sqlite3 *db = open_with_models();
  /* rerank, embed_each and rerank_each may write the inference cache (docs/cache.md):
  ** DIRECTONLY, so not from views, triggers or generated columns. */
  t_exec(db, "CREATE VIEW v1 AS SELECT rerank('ce', 'q', 'd') AS s");
  CHECK_QUERY(db, "SELECT typeof(s) FROM v1", NULL, NULL, "ERROR: unsafe use of rerank()");
  t_exec(db, "CREATE VIEW v2 AS SELECT i, embedding FROM embed_each('minilm', '[\"a\", \"b\"]')");
  CHECK_QUERY(db, "SELECT count(*) FROM v2", NULL, NULL, "ERROR: unsafe use of virtual table \"embed_each\"");
  t_exec(db, "CREATE VIEW v3 AS SELECT i, score FROM rerank_each('ce', 'q', '[\"a\", \"b\"]')");
  CHECK_QUERY(db, "SELECT count(*) FROM v3", NULL, NULL, "ERROR: unsafe use of virtual table \"rerank_each\"");
  CHECK_QUERY(db, "CREATE TABLE t(q TEXT, d TEXT, s REAL AS (rerank('ce', q, d)))", NULL, NULL,
              "ERROR: unsafe use of rerank()");
  /* Top-level SQL is unaffected, and DETERMINISTIC still lets the planner reuse a call. */
  CHECK_QUERY(db, "SELECT rerank('ce', 'q', 'd') = rerank('ce', 'q', 'd')", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT count(*) FROM rerank_each('ce', 'q', '[\"a\", \"b\"]')", NULL, NULL, "2");
  sqlite3_close(db);
}

static void test_each_sql(void) {
  sqlite3 *db = open_with_models();
  CHECK_QUERY(db, "SELECT group_concat(name, ',') FROM pragma_table_xinfo('embed_each')", NULL, NULL, "i,embedding,model,texts");
  CHECK_QUERY(db, "SELECT group_concat(name, ',') FROM pragma_table_xinfo('rerank_each')", NULL, NULL,
              "i,score,model,query,docs");
  /* Rows in input order; a JSON null gives a NULL result and keeps i aligned. */
  CHECK_QUERY(db, "SELECT group_concat(i || ':' || typeof(embedding), ',') FROM embed_each('minilm', '[\"a\", null, \"b\"]')",
              NULL, NULL, "0:blob,1:null,2:blob");
  CHECK_QUERY(db, "SELECT group_concat(i || ':' || typeof(score), ',') FROM rerank_each('ce', 'q', '[null, \"a\", null]')",
              NULL, NULL, "0:null,1:real,2:null");
  CHECK_QUERY(db, "SELECT embedding = embed('minilm', 'motion sensor') FROM embed_each('minilm', '[\"motion sensor\"]')",
              NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT score = rerank('ce', 'q', 'motion sensor') FROM rerank_each('ce', 'q', '[\"motion sensor\"]')",
              NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT vec_length(embedding) FROM embed_each('minilm', '[\"x\"]')", NULL, NULL, "384");
  CHECK_QUERY(db, "SELECT model || texts FROM embed_each('minilm', '[\"x\"]')", NULL, NULL, "minilm[\"x\"]");
  CHECK_QUERY(db, "SELECT group_concat(i) FROM (SELECT i FROM embed_each('minilm', '[\"a\",\"b\",\"c\"]') ORDER BY i DESC)",
              NULL, NULL, "2,1,0");
  /* Escapes are decoded before tokenizing: the same text as the SQL literal. */
  CHECK_QUERY(db, "SELECT embedding = embed('minilm', 'é\"') FROM embed_each('minilm', '[\"\\u00e9\\\"\"]')", NULL, NULL, "1");

  /* NULL arguments and empty arrays: no rows. */
  CHECK_QUERY(db, "SELECT count(*) FROM embed_each('minilm', NULL)", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT count(*) FROM embed_each('minilm', '[]')", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT count(*) FROM embed_each(NULL, '[\"a\"]')", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT count(*) FROM rerank_each('ce', NULL, '[\"a\"]')", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT count(*) FROM rerank_each(NULL, 'q', '[\"a\"]')", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT count(*) FROM rerank_each('ce', 'q', ' [ ] ')", NULL, NULL, "0");

  /* Errors, before the first row. */
  CHECK_QUERY(db, "SELECT * FROM embed_each('minilm', '[\"a\", \"b\", \"c\", 3]')", NULL, NULL,
              "ERROR: embed_each: element 3 of the input array is not a string (got number)");
  CHECK_QUERY(db, "SELECT * FROM rerank_each('ce', 'q', '[\"a\", {\"b\": 1}]')", NULL, NULL,
              "ERROR: rerank_each: element 1 of the input array is not a string (got object)");
  CHECK_QUERY(db, "SELECT * FROM embed_each('minilm', '[[\"a\"]]')", NULL, NULL,
              "ERROR: embed_each: element 0 of the input array is not a string (got array)");
  CHECK_QUERY(db, "SELECT * FROM embed_each('minilm', '[\"a\", true]')", NULL, NULL,
              "ERROR: embed_each: element 1 of the input array is not a string (got boolean)");
  CHECK_QUERY(db, "SELECT * FROM embed_each('minilm', '{\"a\": \"b\"}')", NULL, NULL,
              "ERROR: embed_each: the input is not a JSON array (got object)");
  CHECK_QUERY(db, "SELECT * FROM rerank_each('ce', 'q', '\"a\"')", NULL, NULL,
              "ERROR: rerank_each: the input is not a JSON array (got string)");
  CHECK_QUERY(db, "SELECT * FROM embed_each('minilm', '[\"a\",]')", NULL, NULL,
              "ERROR: embed_each: invalid JSON at byte 5: unexpected character ']'");
  CHECK_QUERY(db, "SELECT * FROM embed_each('minilm', x'5b5d')", NULL, NULL,
              "ERROR: embed_each: the input must be a JSON array as TEXT, got BLOB");
  CHECK_QUERY(db, "SELECT * FROM embed_each(3, '[]')", NULL, NULL,
              "ERROR: embed_each: the model name must be TEXT, got INTEGER");
  CHECK_QUERY(db, "SELECT * FROM rerank_each('ce', 3, '[]')", NULL, NULL,
              "ERROR: rerank_each: the query must be TEXT, got INTEGER");
  CHECK_QUERY(db, "SELECT * FROM embed_each('minilm')", NULL, NULL,
              "ERROR: embed_each: expected 2 arguments: embed_each(model, json_array_of_texts)");
  CHECK_QUERY(db, "SELECT * FROM rerank_each", NULL, NULL,
              "ERROR: rerank_each: expected 3 arguments: rerank_each(model, query, json_array_of_docs)");
  CHECK_QUERY(db, "SELECT * FROM embed_each('minilm', '[]', 3)", NULL, NULL,
              "ERROR: too many arguments on embed_each() - max 2");
  /* The model is checked even when there is nothing to run. */
  CHECK_QUERY(db, "SELECT * FROM embed_each('nope', '[]')", NULL, NULL,
              "ERROR: embed_each: no model named 'nope' (load one with semlite_model_load)");
  CHECK_QUERY(db, "SELECT * FROM embed_each('ce', '[\"a\"]')", NULL, NULL,
              "ERROR: embed_each: model 'ce' is a cross-encoder (rerank) model, not an embedding model");
  CHECK_QUERY(db, "SELECT * FROM rerank_each('minilm', 'q', '[]')", NULL, NULL,
              "ERROR: rerank_each: model 'minilm' is an embedding model, not a cross-encoder (rerank) model");
  sqlite3_close(db);
}

/* Arguments from another table (a correlated join: one scan per outer row, the planner
** must put qs first) and the ranking query of the README. */
static void test_each_join(void) {
  sqlite3 *db = open_with_models();
  t_exec(db, "CREATE TABLE qs(q TEXT, docs TEXT)");
  t_exec(db, "INSERT INTO qs VALUES ('dim the hallway light', "
             "'[\"The hallway light dims at night\", \"Close the garage door\", \"Motion in the hallway\"]'), "
             "('is the garage open', '[\"Close the garage door\", \"The garage door is open\"]')");
  CHECK_QUERY(db, "SELECT count(*) || '|' || (max(abs(r.score - rerank('ce', qs.q, json_extract(qs.docs, '$[' || r.i || ']')))) < 1e-5) "
                  "FROM qs, rerank_each('ce', qs.q, qs.docs) AS r", NULL, NULL, "5|1");
  t_exec(db, "CREATE TABLE candidates(body TEXT)");
  t_exec(db, "INSERT INTO candidates SELECT value FROM json_each((SELECT docs FROM qs LIMIT 1))");
  {
    char *by_each = t_query(db, "SELECT group_concat(i) FROM (SELECT i, score FROM rerank_each('ce', ?1, "
                                "(SELECT json_group_array(body) FROM candidates)) ORDER BY score DESC LIMIT 2)",
                            "dim the hallway light", NULL);
    char *by_one = t_query(db, "SELECT group_concat(r - 1) FROM (SELECT rowid AS r FROM candidates "
                               "ORDER BY rerank('ce', ?1, body) DESC LIMIT 2)", "dim the hallway light", NULL);
    CHECK_STR(by_each, by_one);
    sqlite3_free(by_each);
    sqlite3_free(by_one);
  }
  sqlite3_close(db);
}

/* ---- classifiers with several labels ---- */

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  long n;
  if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
      (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
    buf[n] = 0;
    *len = (size_t)n;
  } else {
    sl_test_fail(__FILE__, __LINE__, "cannot read %s", path);
    free(buf);
    buf = NULL;
  }
  if (f) fclose(f);
  return buf;
}

static void link_twin_file(const char *dir, const char *twin, const char *name) {
  char rel[256], src[1024], abs_src[4096], dst[1024];
  snprintf(rel, sizeof rel, "%s/%s", twin, name);
  CHECK(realpath(t_model_path(src, sizeof src, rel), abs_src) != NULL);
  snprintf(dst, sizeof dst, "%s/%s", dir, name);
  unlink(dst);
  CHECK_MSG(symlink(abs_src, dst) == 0, "symlink %s: %s", dst, strerror(errno));
}

/* A folder like the cross-encoder twin whose classifier has 3 labels: config.json says
** so, and model.safetensors gets a [3, 384] classifier after the twin's data (the 1-label
** one stays behind as unused bytes). Headers are edited with SQLite's JSON functions. */
static void make_three_labels(sqlite3 *db, char *dir, size_t cap) {
  char path[1024], sql[1024];
  size_t len, hdr_len, data_len;
  char *config, *st, *text;
  uint64_t n;
  snprintf(dir, cap, "/tmp/semlite-test-nli-%d", (int)getpid());
  mkdir(dir, 0700);
  link_twin_file(dir, "minilm-l6-rerank", "vocab.txt");
  link_twin_file(dir, "minilm-l6-rerank", "tokenizer_config.json");
  link_twin_file(dir, "minilm-l6-rerank", "special_tokens_map.json");

  if ((config = read_all(t_model_path(path, sizeof path, "minilm-l6-rerank/config.json"), &len))) {
    FILE *f;
    text = t_query(db, "SELECT json_set(?1, '$.num_labels', 3, '$.id2label', json('{\"0\":\"a\",\"1\":\"b\",\"2\":\"c\"}'), "
                       "'$.label2id', json('{\"a\":0,\"b\":1,\"c\":2}'))", config, NULL);
    snprintf(path, sizeof path, "%s/config.json", dir);
    f = fopen(path, "w");
    CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0);
    sqlite3_free(text);
    free(config);
  }
  if ((st = read_all(t_model_path(path, sizeof path, "minilm-l6-rerank/model.safetensors"), &len))) {
    FILE *f;
    float extra[3 * EMBED_DIM + 3];
    char *hdr;
    memcpy(&n, st, 8);   /* little-endian, as the machine */
    hdr_len = (size_t)n;
    data_len = len - 8 - hdr_len;
    hdr = strndup(st + 8, hdr_len);
    snprintf(sql, sizeof sql,
             "SELECT json_set(?1, '$.\"classifier.weight\".shape', json('[3, %d]'), "
             "'$.\"classifier.weight\".data_offsets', json_array(%zu, %zu), "
             "'$.\"classifier.bias\".shape', json('[3]'), '$.\"classifier.bias\".data_offsets', json_array(%zu, %zu))",
             EMBED_DIM, data_len, data_len + 3 * EMBED_DIM * 4, data_len + 3 * EMBED_DIM * 4, data_len + sizeof extra);
    text = t_query(db, sql, hdr, NULL);
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) extra[i] = (float)((int)(i % 7) - 3) / 64.0f;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    f = fopen(path, "wb");
    /* The data stays 8-byte aligned: pad the header with spaces, as the format allows. */
    n = (strlen(text) + 7) / 8 * 8;
    CHECK(f && fwrite(&n, 8, 1, f) == 1 && fputs(text, f) >= 0);
    for (size_t i = strlen(text); f && i < n; i++) fputc(' ', f);
    CHECK(f && fwrite(st + 8 + hdr_len, 1, data_len, f) == data_len && fwrite(extra, sizeof extra, 1, f) == 1);
    CHECK(f && fclose(f) == 0);
    sqlite3_free(text);
    free(hdr);
    free(st);
  }
}

static void remove_folder(const char *dir, const char *const *files) {
  char path[1100];
  for (; *files; files++) {
    snprintf(path, sizeof path, "%s/%s", dir, *files);
    unlink(path);
  }
  rmdir(dir);
}

static void test_num_labels(void) {
  static const char *const files[] = {"vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "config.json",
                                      "model.safetensors", NULL};
  static const char single[] = "rerank needs a cross-encoder with a single output (num_labels 1)";
  char dir[256], expect[512];
  sqlite3 *db = open_with_models();
  sl_model *m = NULL;
  sl_err err;
  make_three_labels(db, dir, sizeof dir);
  CHECK_QUERY(db, "SELECT semlite_model_load('nli', ?1)", dir, NULL, "nli");
  CHECK_QUERY(db, "SELECT kind || '|' || dim FROM semlite_models WHERE name = 'nli'", NULL, NULL, "rerank|3");
  snprintf(expect, sizeof expect, "ERROR: rerank: model 'nli' is a classifier with 3 labels; %s", single);
  CHECK_QUERY(db, "SELECT rerank('nli', 'q', 'd')", NULL, NULL, expect);
  snprintf(expect, sizeof expect, "ERROR: rerank_each: model 'nli' is a classifier with 3 labels; %s", single);
  CHECK_QUERY(db, "SELECT * FROM rerank_each('nli', 'q', '[\"d\"]')", NULL, NULL, expect);

  /* The two-argument form takes the first loaded cross-encoder, and says why it cannot. */
  t_exec(db, "CREATE TEMP TABLE ce_names AS SELECT name, path FROM semlite_models WHERE kind = 'rerank' AND name <> 'nli'");
  t_exec(db, "SELECT semlite_model_unload(name) FROM ce_names");
  t_exec(db, "SELECT semlite_model_load(name, path) FROM ce_names");
  CHECK_QUERY(db, "SELECT rerank('q', 'd')", NULL, NULL,
              "ERROR: rerank: the first loaded cross-encoder is a classifier with 3 labels; rerank needs a single "
              "output (num_labels 1): name a model");
  CHECK_QUERY(db, "SELECT typeof(rerank('ce', 'q', 'd'))", NULL, NULL, "real");
  CHECK_QUERY(db, "SELECT semlite_model_unload('nli')", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT typeof(rerank('q', 'd'))", NULL, NULL, "real");

  /* The engine refuses it too, whoever calls. */
  if (sl_model_open(dir, SL_COMPUTE_F32, &m, &err) == SL_OK) {
    const char *doc = "d";
    size_t len = 1;
    float score;
    sl_pass_limits lim = SL_PASS_DEFAULTS;
    sl_pass_stats stats = {0};
    CHECK(sl_model_rerank(m, &lim, "q", 1, 1, &doc, &len, &score, &stats, &err) == SL_ERROR);
    CHECK_STR(err.msg, "the cross-encoder has 3 labels; rerank needs one (num_labels 1)");
    sl_model_close(m);
  } else {
    sl_test_fail(__FILE__, __LINE__, "sl_model_open: %s", err.msg);
  }
  remove_folder(dir, files);
  sqlite3_close(db);
}

/* ---- a model unloaded while a scan is half done ---- */

/* Steps st (row 0 already read) to the end; returns the rows read. */
static int drain(sqlite3_stmt *st, int *rc) {
  int rows = 0;
  while ((*rc = sqlite3_step(st)) == SQLITE_ROW) rows++;
  return rows;
}

static void test_unload_mid_scan(void) {
  static const char *const twin_files[] = {"config.json", "vocab.txt", "tokenizer_config.json",
                                           "special_tokens_map.json", "sentence_bert_config.json",
                                           "modules.json", "1_Pooling", "model.safetensors", NULL};
  sqlite3 *db = open_with_models();
  char path[1024], dir[256], *array;
  sqlite3_stmt *st;
  sqlite3_str *s = sqlite3_str_new(NULL);
  int rc;

  /* SL_BATCH_MAX_SEQS + 1 empty texts ([CLS] [SEP] each): a full first batch, then one. */
  sqlite3_str_appendchar(s, 1, '[');
  for (int i = 0; i <= SL_BATCH_MAX_SEQS; i++) sqlite3_str_appendall(s, i ? ",\"\"" : "\"\"");
  sqlite3_str_appendchar(s, 1, ']');
  array = sqlite3_str_finish(s);
  t_model_path(path, sizeof path, "minilm-l6-embed");

  /* No pin is held between batches, so unloading from the same thread returns at once;
  ** the scan fails when it needs the model again. */
  CHECK_QUERY(db, "SELECT semlite_model_load('tmp', ?1)", path, NULL, "tmp");
  sqlite3_prepare_v2(db, "SELECT i FROM embed_each('tmp', ?1)", -1, &st, NULL);
  sqlite3_bind_text(st, 1, array, -1, SQLITE_STATIC);
  CHECK(sqlite3_step(st) == SQLITE_ROW);
  CHECK_QUERY(db, "SELECT semlite_model_unload('tmp')", NULL, NULL, "1");
  CHECK_INT(drain(st, &rc), SL_BATCH_MAX_SEQS - 1);
  CHECK_INT(rc, SQLITE_ERROR);
  CHECK_STR(sqlite3_errmsg(db), "embed_each: no model named 'tmp' (load one with semlite_model_load)");
  sqlite3_reset(st);

  /* The name loaded again from another folder: the scan does not mix two models. */
  snprintf(dir, sizeof dir, "/tmp/semlite-test-other-%d", (int)getpid());
  mkdir(dir, 0700);
  for (const char *const *f = twin_files; *f; f++) link_twin_file(dir, "minilm-l6-embed", *f);
  CHECK_QUERY(db, "SELECT semlite_model_load('tmp', ?1)", path, NULL, "tmp");
  CHECK(sqlite3_step(st) == SQLITE_ROW);
  CHECK_QUERY(db, "SELECT semlite_model_unload('tmp')", NULL, NULL, "1");
  CHECK_QUERY(db, "SELECT semlite_model_load('tmp', ?1)", dir, NULL, "tmp");
  CHECK_INT(drain(st, &rc), SL_BATCH_MAX_SEQS - 1);
  CHECK_INT(rc, SQLITE_ERROR);
  CHECK_STR(sqlite3_errmsg(db), "embed_each: model 'tmp' was replaced during the scan");
  sqlite3_finalize(st);
  CHECK_QUERY(db, "SELECT semlite_model_unload('tmp')", NULL, NULL, "1");
  remove_folder(dir, twin_files);
  sqlite3_free(array);
  sqlite3_close(db);
}

const sl_test rerank_tests[] = {
  {"reference", test_reference},
  {"batches_rerank", test_batches_rerank},
  {"batches_embed", test_batches_embed},
  {"sql", test_rerank_sql},
  {"flags", test_flags},
  {"each_sql", test_each_sql},
  {"each_join", test_each_join},
  {"num_labels", test_num_labels},
  {"unload_mid_scan", test_unload_mid_scan},
  {0, 0},
};
