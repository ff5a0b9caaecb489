/*
** test_metrics.c: semlite_metrics, semlite_memory, semlite_limits and SEMLITE_PRELOAD.
**
** The histogram's accuracy and the counters' exactness under threads are checked on the
** C API (ext/ops/metrics.c linked into this binary, a copy of its own); the tables,
** limits and their effects through SQL on the real semlite.so.
*/
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../ext/ops/limits.h"
#include "../ext/ops/metrics.h"
#include "../ext/ops/preload.h"
#include "test.h"

/* ---- the C API ---- */

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Every value reads back within 1/32 of itself, at every scale from 1 ns to hours. */
static void test_bucket_error(void) {
  double worst = 0;
  for (uint64_t v = 1; v < (1ull << 44); v = v * 9 / 8 + 1) {
    double got = sl_metrics_bucket_ms(v) * 1e6, rel = fabs(got - (double)v) / (double)v;
    if (rel > worst) worst = rel;
  }
  CHECK_MSG(worst <= 1.0 / 32, "worst relative error %.4f", worst);
}

/* Known latencies (log-uniform over 0.05 ms .. 5 s) give p50/p95/p99 within 5% of the
** exact nearest-rank percentiles, and the exact count and maximum. */
static void test_percentiles(void) {
  enum { N = 20000 };
  static uint64_t ns[N];
  sl_metrics_row r;
  uint64_t seed = 42;
  sl_metrics_reset(SL_OP_KNN);
  for (int i = 0; i < N; i++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    ns[i] = (uint64_t)(5e4 * pow(1e5, (double)(seed >> 11) / 9007199254740992.0));
    /* A start ns[i] in the past: the recorded latency is ns[i] plus the call's own
    ** few hundred nanoseconds, under 0.001% of the smallest value. */
    sl_metrics_record(SL_OP_KNN, sl_metrics_now() - ns[i], 3, i % 10 == 0);
  }
  sl_metrics_snapshot(SL_OP_KNN, &r);
  qsort(ns, N, sizeof ns[0], cmp_u64);
  CHECK_INT(r.calls, N);
  CHECK_INT(r.errors, N / 10);
  CHECK_INT(r.tokens, 3 * N);
  {
    const double q[3] = {0.50, 0.95, 0.99}, got[3] = {r.p50_ms, r.p95_ms, r.p99_ms};
    for (int i = 0; i < 3; i++) {
      double exact = (double)ns[(size_t)ceil(q[i] * N) - 1] / 1e6;
      CHECK_MSG(fabs(got[i] - exact) / exact < 0.05, "p%.0f: %.4f ms, exact %.4f ms", q[i] * 100, got[i], exact);
    }
  }
  CHECK_MSG(fabs(r.max_ms - (double)ns[N - 1] / 1e6) / r.max_ms < 1e-4, "max %.4f ms, exact %.4f ms",
            r.max_ms, (double)ns[N - 1] / 1e6);
  sl_metrics_reset(SL_OP_KNN);
  sl_metrics_snapshot(SL_OP_KNN, &r);
  CHECK(r.calls == 0 && r.errors == 0 && r.tokens == 0 && r.max_ms == 0 && r.p99_ms == 0);
}

enum { COUNT_THREADS = 16, COUNT_CALLS = 20000 };

static void *count_worker(void *arg) {
  (void)arg;
  for (int i = 0; i < COUNT_CALLS; i++) {
    sl_metrics_record(SL_OP_RERANK_EACH, sl_metrics_now(), (uint64_t)(i % 7), i % 3 == 0);
    sl_metrics_cache(SL_OP_RERANK_EACH, i % 4 != 0);
  }
  return NULL;
}

/* 16 threads recording at once lose nothing. */
static void test_exact_counts_threads(void) {
  pthread_t th[COUNT_THREADS];
  sl_metrics_row r;
  uint64_t tokens = 0, errors = 0;
  for (int i = 0; i < COUNT_CALLS; i++) {
    tokens += (uint64_t)(i % 7);
    errors += i % 3 == 0;
  }
  sl_metrics_reset(SL_OP_RERANK_EACH);
  for (int t = 0; t < COUNT_THREADS; t++) pthread_create(&th[t], NULL, count_worker, NULL);
  for (int t = 0; t < COUNT_THREADS; t++) pthread_join(th[t], NULL);
  sl_metrics_snapshot(SL_OP_RERANK_EACH, &r);
  CHECK_INT(r.calls, COUNT_THREADS * COUNT_CALLS);
  CHECK_INT(r.errors, COUNT_THREADS * errors);
  CHECK_INT(r.tokens, COUNT_THREADS * tokens);
  CHECK_INT(r.cache_hits, COUNT_THREADS * COUNT_CALLS * 3 / 4);
  CHECK_INT(r.cache_misses, COUNT_THREADS * COUNT_CALLS / 4);
  CHECK(r.p50_ms > 0 && r.p50_ms <= r.p95_ms && r.p95_ms <= r.p99_ms && r.p99_ms <= r.max_ms);
  sl_metrics_reset(SL_OP_RERANK_EACH);
}

/* ---- through SQL ---- */

static sqlite3 *open_with_models(void) {
  char path[1024];
  sqlite3 *db = t_open();
  CHECK_QUERY(db, "SELECT semlite_model_load('minilm', ?1)", t_model_path(path, sizeof path, "minilm-l6-embed"),
              NULL, "minilm");
  CHECK_QUERY(db, "SELECT semlite_model_load('ce', ?1)", t_model_path(path, sizeof path, "minilm-l6-rerank"),
              NULL, "ce");
  return db;
}

static void set_limit(sqlite3 *db, const char *name, long long value) {
  char sql[256];
  snprintf(sql, sizeof sql, "UPDATE semlite_limits SET value = %lld WHERE name = '%s'", value, name);
  t_exec(db, sql);
}

/* The limits are process-wide: every test that changes them puts the defaults back. */
static void default_limits(sqlite3 *db) {
  set_limit(db, "threads", sysconf(_SC_NPROCESSORS_ONLN));
  set_limit(db, "max_batch", 512);
  set_limit(db, "max_tokens", 1024);
  set_limit(db, "memory_budget_mb", 256);
  set_limit(db, "l1_cache_mb", 64);
  set_limit(db, "vec_cache_mb", 256);
}

#define LONG_TEXT "replace(hex(zeroblob(200)), '00', 'word ')"   /* 202 tokens with [CLS], [SEP] */

static void test_metrics_table(void) {
  sqlite3 *db = open_with_models();
  CHECK_QUERY(db, "SELECT group_concat(name, ',') FROM pragma_table_info('semlite_metrics')", NULL, NULL,
              "op,calls,errors,tokens,p50_ms,p95_ms,p99_ms,max_ms,cache_hits,cache_misses,hit_rate");
  default_limits(db);
  t_exec(db, "DELETE FROM semlite_metrics");
  CHECK_QUERY(db, "SELECT group_concat(op || ':' || calls || ':' || errors || ':' || tokens || ':' || "
              "typeof(p50_ms) || ':' || typeof(hit_rate), ' ') FROM semlite_metrics", NULL, NULL,
              "embed:0:0:0:null:null embed_each:0:0:0:null:null rerank:0:0:0:null:null "
              "rerank_each:0:0:0:null:null knn:0:0:0:null:null synergy_embed:0:0:0:null:null "
              "synergy_rerank:0:0:0:null:null synergy_search:0:0:0:null:null");

  /* 'hello world' is 4 tokens; 'a' 3; a (query, doc) pair 'q', 'd' 5. */
  for (int i = 0; i < 3; i++) CHECK_QUERY(db, "SELECT length(embed('minilm', 'hello world'))", NULL, NULL, "1536");
  set_limit(db, "memory_budget_mb", 1);
  CHECK_QUERY(db, "SELECT embed('minilm', " LONG_TEXT ")", NULL, NULL,
              "ERROR: embed: a text of 202 tokens needs 5.7 MB of scratch memory, which exceeds "
              "memory_budget_mb (1 MB)");
  set_limit(db, "memory_budget_mb", 256);
  CHECK_QUERY(db, "SELECT typeof(rerank('ce', 'q', 'd'))", NULL, NULL, "real");
  CHECK_QUERY(db, "SELECT embed(NULL, 'x') IS NULL", NULL, NULL, "1");      /* never reaches an operation */
  CHECK_QUERY(db, "SELECT embed('nope', 'x')", NULL, NULL,
              "ERROR: embed: no model named 'nope' (load one with semlite_model_load)");
  set_limit(db, "max_batch", 2);
  CHECK_QUERY(db, "SELECT count(*) FROM embed_each('minilm', '[\"a\",\"a\",\"a\",\"a\",\"a\"]')", NULL, NULL, "5");
  set_limit(db, "max_batch", 512);
  CHECK_QUERY(db, "SELECT count(*) FROM rerank_each('ce', 'q', '[\"d\",\"d\",\"d\"]')", NULL, NULL, "3");
  t_exec(db, "CREATE TABLE v_docs(x); CREATE VIRTUAL TABLE temp.v USING semlite_vec(e float[2]);"
             "INSERT INTO v(rowid, e) VALUES (1, '[1,0]'), (2, '[0,1]'), (3, '[1,1]')");
  CHECK_QUERY(db, "SELECT group_concat(rowid) FROM v WHERE e MATCH '[1,0.1]' AND k = 2", NULL, NULL, "1,3");

  CHECK_QUERY(db, "SELECT group_concat(op || ':' || calls || ':' || errors || ':' || tokens, ' ') FROM semlite_metrics",
              NULL, NULL, "embed:4:1:12 embed_each:3:0:15 rerank:1:0:5 rerank_each:1:0:15 knn:1:0:0 "
              "synergy_embed:0:0:0 synergy_rerank:0:0:0 synergy_search:0:0:0");
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_metrics WHERE p50_ms > 0 AND p50_ms <= p95_ms AND "
              "p95_ms <= p99_ms AND p99_ms <= max_ms", NULL, NULL, "5");
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_metrics WHERE cache_hits = 0 AND cache_misses = 0 AND "
              "hit_rate IS NULL", NULL, NULL, "8");

  /* DELETE resets the rows it deletes; the rows stay. */
  t_exec(db, "DELETE FROM semlite_metrics WHERE op = 'embed'");
  CHECK_QUERY(db, "SELECT group_concat(op || ':' || calls || ':' || typeof(max_ms), ' ') FROM semlite_metrics",
              NULL, NULL, "embed:0:null embed_each:3:real rerank:1:real rerank_each:1:real knn:1:real "
              "synergy_embed:0:null synergy_rerank:0:null synergy_search:0:null");
  t_exec(db, "DELETE FROM semlite_metrics");
  CHECK_QUERY(db, "SELECT sum(calls) + sum(errors) + sum(tokens) + count(p50_ms) FROM semlite_metrics",
              NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_metrics", NULL, NULL, "8");
  CHECK_QUERY(db, "UPDATE semlite_metrics SET calls = 3", NULL, NULL,
              "ERROR: semlite_metrics: only DELETE is allowed (it resets the deleted rows' counters)");
  CHECK_QUERY(db, "INSERT INTO semlite_metrics(op) VALUES ('x')", NULL, NULL,
              "ERROR: semlite_metrics: only DELETE is allowed (it resets the deleted rows' counters)");
  /* Resetting changes process state: not from triggers or views of an untrusted schema. */
  t_exec(db, "CREATE TABLE log(x); CREATE TRIGGER log_reset AFTER INSERT ON log BEGIN "
             "DELETE FROM semlite_metrics; END");
  CHECK_QUERY(db, "INSERT INTO log VALUES (1)", NULL, NULL, "ERROR: unsafe use of virtual table \"semlite_metrics\"");
  sqlite3_close(db);
}

static void test_limits_table(void) {
  sqlite3 *db = open_with_models();
  char expect[256];
  default_limits(db);
  CHECK_QUERY(db, "SELECT group_concat(name, ',') FROM pragma_table_info('semlite_limits')", NULL, NULL,
              "name,value,description");
  snprintf(expect, sizeof expect, "threads=%ld max_batch=512 max_tokens=1024 memory_budget_mb=256 l1_cache_mb=64 vec_cache_mb=256 ann_cache_mb=512 max_document_mb=64 synergy_max_nodes=50000 replicated_max_rows=64",
           sysconf(_SC_NPROCESSORS_ONLN));
  CHECK_QUERY(db, "SELECT group_concat(name || '=' || value, ' ') FROM semlite_limits", NULL, NULL, expect);
  CHECK_QUERY(db, "SELECT description FROM semlite_limits WHERE name = 'memory_budget_mb'", NULL, NULL,
              "scratch memory of one forward pass in MB: batches are split to fit, a text that cannot fit "
              "is refused (1 to 1048576; default 256)");

  set_limit(db, "memory_budget_mb", 64);
  CHECK_QUERY(db, "SELECT value FROM semlite_limits WHERE name = 'memory_budget_mb'", NULL, NULL, "64");
  {
    static const char *const bad[][2] = {
      {"UPDATE semlite_limits SET value = 0 WHERE name = 'threads'", "threads must be between 1 and 64, got 0"},
      {"UPDATE semlite_limits SET value = 65 WHERE name = 'threads'", "threads must be between 1 and 64, got 65"},
      {"UPDATE semlite_limits SET value = 513 WHERE name = 'max_batch'", "max_batch must be between 1 and 512, got 513"},
      {"UPDATE semlite_limits SET value = 1 WHERE name = 'max_tokens'", "max_tokens must be between 2 and 65536, got 1"},
      {"UPDATE semlite_limits SET value = 0 WHERE name = 'memory_budget_mb'",
       "memory_budget_mb must be between 1 and 1048576, got 0"},
      {"UPDATE semlite_limits SET value = -1 WHERE name = 'l1_cache_mb'", "l1_cache_mb must be between 0 and 1048576, got -1"},
      {"UPDATE semlite_limits SET value = '256' WHERE name = 'memory_budget_mb'", "memory_budget_mb must be an INTEGER, got TEXT"},
      {"UPDATE semlite_limits SET value = 2.5 WHERE name = 'max_batch'", "max_batch must be an INTEGER, got REAL"},
      {"UPDATE semlite_limits SET value = NULL WHERE name = 'max_batch'", "max_batch must be an INTEGER, got NULL"},
      {"UPDATE semlite_limits SET name = 'x' WHERE name = 'threads'", "only the value column can be changed"},
      {"UPDATE semlite_limits SET description = 'x' WHERE name = 'threads'", "only the value column can be changed"},
      {"INSERT INTO semlite_limits VALUES ('x', 1, 'y')",
       "rows cannot be inserted; the limits are threads, max_batch, max_tokens, memory_budget_mb, l1_cache_mb, vec_cache_mb, ann_cache_mb, max_document_mb, synergy_max_nodes and replicated_max_rows"},
      {"DELETE FROM semlite_limits WHERE name = 'threads'", "rows cannot be deleted; set a limit's value instead"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      char want[512];
      snprintf(want, sizeof want, "ERROR: semlite_limits: %s", bad[i][1]);
      CHECK_QUERY(db, bad[i][0], NULL, NULL, want);
    }
  }
  /* A refused UPDATE leaves every value as it was. */
  CHECK_QUERY(db, "SELECT group_concat(value, ' ') FROM semlite_limits WHERE name <> 'threads'", NULL, NULL,
              "512 1024 64 64 256 512 64 50000 64");
  /* The C API's own message for an unknown name (the table has no such row to update). */
  {
    sl_err err;
    sl_limit id;
    CHECK(sl_limit_find("max_batch", &id, &err) == SL_OK && id == SL_LIMIT_MAX_BATCH);
    CHECK(sl_limit_find("batch", &id, &err) == SL_ERROR);
    CHECK_STR(err.msg, "no limit named 'batch' (known: threads, max_batch, max_tokens, memory_budget_mb, l1_cache_mb, vec_cache_mb, ann_cache_mb, max_document_mb, synergy_max_nodes, replicated_max_rows)");
  }
  default_limits(db);
  sqlite3_close(db);
}

/* Bytes of scratch of one MiniLM-L6 pass (hidden 384, intermediate 1536, 12 heads), as
** ext/engine/model.c computes it. */
static double minilm_pass_bytes(double tokens, double longest) {
  return 4 * (tokens * (7 * 384 + 1536) + 12 * longest * longest + tokens + tokens * 1536 * 2 / 4);
}

/* A small memory budget splits embed_each into more passes with the same results, and
** refuses a text whose single pass cannot fit, in every operation. */
static void test_memory_budget(void) {
  sqlite3 *db = open_with_models();
  const char *texts = "(SELECT json_group_array('hello world again and again') FROM (SELECT 1 FROM "
                      "json_each('[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,"
                      "26,27,28,29,30,31,32,33,34,35,36,37,38,39,40]')))";
  char sql[1024];
  long long len, per_pass = 0, same;
  default_limits(db);
  len = t_query_int(db, "SELECT json_array_length(semlite_tokenize('minilm', 'hello world again and again'))");
  CHECK_INT(len, 7);
  while (len > 0 && minilm_pass_bytes((double)(per_pass + 1) * len, (double)len) <= 1048576) per_pass++;
  CHECK_INT(per_pass, 7);

  set_limit(db, "memory_budget_mb", 1);
  t_exec(db, "DELETE FROM semlite_metrics");
  /* Batches of any size give the same bits (kernels/gemm.h). */
  snprintf(sql, sizeof sql, "SELECT count(*) FROM embed_each('minilm', %s) WHERE embedding = "
           "embed('minilm', 'hello world again and again')", texts);
  same = t_query_int(db, sql);
  CHECK_INT(same, 40);
  CHECK_INT(t_query_int(db, "SELECT calls FROM semlite_metrics WHERE op = 'embed_each'"), (40 + per_pass - 1) / per_pass);
  CHECK_INT(t_query_int(db, "SELECT tokens FROM semlite_metrics WHERE op = 'embed_each'"), 40 * len);

  CHECK_QUERY(db, "SELECT count(*) FROM embed_each('minilm', json_array('a', " LONG_TEXT "))", NULL, NULL,
              "ERROR: embed_each: a text of 202 tokens needs 5.7 MB of scratch memory, which exceeds "
              "memory_budget_mb (1 MB)");
  CHECK_QUERY(db, "SELECT rerank('ce', 'q', " LONG_TEXT ")", NULL, NULL,
              "ERROR: rerank: a (query, document) pair of 204 tokens needs 5.8 MB of scratch memory, which "
              "exceeds memory_budget_mb (1 MB)");
  CHECK_QUERY(db, "SELECT count(*) FROM rerank_each('ce', 'q', json_array(" LONG_TEXT "))", NULL, NULL,
              "ERROR: rerank_each: a (query, document) pair of 204 tokens needs 5.8 MB of scratch memory, which "
              "exceeds memory_budget_mb (1 MB)");

  /* The default budget runs all 40 in one pass. */
  set_limit(db, "memory_budget_mb", 256);
  t_exec(db, "DELETE FROM semlite_metrics");
  CHECK_INT(t_query_int(db, sql), 40);
  CHECK_INT(t_query_int(db, "SELECT calls FROM semlite_metrics WHERE op = 'embed_each'"), 1);
  default_limits(db);
  sqlite3_close(db);
}

/* max_batch and max_tokens bound the passes of embed_each and rerank_each; threads = 1
** changes no result. */
static void test_batch_limits(void) {
  sqlite3 *db = open_with_models();
  const char *five = "'[\"a\",\"b\",\"c\",\"d\",\"e\"]'";
  char sql[512];
  default_limits(db);
  snprintf(sql, sizeof sql, "SELECT count(*) FROM embed_each('minilm', %s) WHERE vec_distance_l2(embedding, "
           "embed('minilm', json_extract(%s, '$[' || i || ']'))) < 1e-5", five, five);

  t_exec(db, "DELETE FROM semlite_metrics");
  set_limit(db, "max_batch", 2);
  CHECK_INT(t_query_int(db, sql), 5);
  CHECK_INT(t_query_int(db, "SELECT calls FROM semlite_metrics WHERE op = 'embed_each'"), 3);

  /* Each text is 3 tokens: 7 tokens per pass hold two. */
  set_limit(db, "max_batch", 512);
  set_limit(db, "max_tokens", 7);
  t_exec(db, "DELETE FROM semlite_metrics");
  CHECK_INT(t_query_int(db, sql), 5);
  CHECK_INT(t_query_int(db, "SELECT calls FROM semlite_metrics WHERE op = 'embed_each'"), 3);
  /* A text longer than max_tokens runs alone rather than failing. */
  CHECK_QUERY(db, "SELECT length(embed('minilm', 'one two three four five six'))", NULL, NULL, "1536");
  set_limit(db, "max_tokens", 2);
  t_exec(db, "DELETE FROM semlite_metrics");
  CHECK_QUERY(db, "SELECT count(*) FROM rerank_each('ce', 'q', '[\"d\",\"d\",\"d\"]')", NULL, NULL, "3");
  CHECK_INT(t_query_int(db, "SELECT calls FROM semlite_metrics WHERE op = 'rerank_each'"), 3);

  set_limit(db, "max_tokens", 1024);
  set_limit(db, "threads", 1);
  CHECK_INT(t_query_int(db, sql), 5);
  CHECK_QUERY(db, "SELECT abs(rerank('ce', 'q', 'd') - (SELECT score FROM rerank_each('ce', 'q', '[\"d\"]'))) < 1e-5",
              NULL, NULL, "1");
  default_limits(db);
  sqlite3_close(db);
}

static long long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static void test_memory_table(void) {
  char dir[512], file[600], sql[1024];
  sqlite3 *db = t_open();
  long long mapped, resident;
  t_model_alias(dir, sizeof dir, "minilm-l6-embed", "memory");
  snprintf(file, sizeof file, "%s/model.safetensors", dir);
  CHECK_QUERY(db, "SELECT group_concat(name, ',') FROM pragma_table_info('semlite_memory')", NULL, NULL,
              "model,kind,bytes,detail");
  CHECK_QUERY(db, "DELETE FROM semlite_memory", NULL, NULL,
              "ERROR: semlite_memory: read-only: it reports memory in use; to bound it UPDATE semlite_limits "
              "(memory_budget_mb, l1_cache_mb, vec_cache_mb), to free a model call semlite_model_unload(name)");
  CHECK_QUERY(db, "SELECT semlite_model_load('mem_a', ?1)", dir, NULL, "mem_a");
  CHECK_QUERY(db, "SELECT semlite_model_load('mem_b', ?1)", dir, NULL, "mem_b");
  CHECK_QUERY(db, "SELECT semlite_model_load('mem_q', ?1, '{\"dtype\":\"int8\"}')", dir, NULL, "mem_q");
  CHECK_QUERY(db, "SELECT length(embed('mem_a', 'hello world'))", NULL, NULL, "1536");

  /* Two names of one folder and dtype are one model; the int8 load is another. */
  CHECK_QUERY(db, "SELECT group_concat(model || ':' || kind, ' ') FROM semlite_memory WHERE model LIKE '%mem_%'",
              NULL, NULL, "mem_a,mem_b:weights_mapped mem_a,mem_b:weights_resident mem_a,mem_b:weights_copies "
              "mem_q:weights_mapped mem_q:weights_resident mem_q:weights_copies");
  snprintf(sql, sizeof sql, "SELECT bytes FROM semlite_memory WHERE model = 'mem_a,mem_b' AND kind = 'weights_mapped' "
           "AND detail = '%s'", file);
  mapped = t_query_int(db, sql);
  CHECK_INT(mapped, file_size(file));
  resident = t_query_int(db, "SELECT bytes FROM semlite_memory WHERE model = 'mem_a,mem_b' AND kind = 'weights_resident'");
  CHECK_MSG(resident > 0 && resident <= mapped + 4096, "resident %lld of %lld mapped", resident, mapped);
  /* fp32: the encoder's linear layers packed at load (kernels/gemm_f32.h), the image's
  ** pages of the originals given back: a copy of their size, and less of the file resident. */
  CHECK_QUERY(db, "SELECT bytes FROM semlite_memory WHERE model = 'mem_a,mem_b' AND kind = 'weights_copies'",
              NULL, NULL, "42469632");
  CHECK_MSG(resident < mapped - 40000000, "resident %lld of %lld mapped: the packed layers' pages stay", resident,
            mapped);
  CHECK_QUERY(db, "SELECT (SELECT bytes FROM semlite_memory WHERE model = 'mem_q' AND kind = 'weights_copies') = "
              "(SELECT bytes FROM semlite_models WHERE name = 'mem_q') - (SELECT bytes FROM semlite_memory "
              "WHERE model = 'mem_q' AND kind = 'weights_mapped') AND (SELECT bytes FROM semlite_memory WHERE "
              "model = 'mem_q' AND kind = 'weights_copies') > 0", NULL, NULL, "1");

  CHECK_QUERY(db, "SELECT group_concat(kind, ',') FROM semlite_memory WHERE model IS NULL", NULL, NULL,
              "scratch_peak,l1_cache,vec_cache,ann_cache,rss,peak_rss");
  /* the two caches follow their limits: emptied at 0, filled by use */
  set_limit(db, "l1_cache_mb", 0);
  set_limit(db, "vec_cache_mb", 0);
  CHECK_QUERY(db, "SELECT group_concat(bytes) FROM semlite_memory WHERE kind IN ('l1_cache', 'vec_cache')",
              NULL, NULL, "0,0");
  set_limit(db, "vec_cache_mb", 256);
  t_exec(db, "CREATE VIRTUAL TABLE temp.mv USING semlite_vec(e float[2], chunk_size=8);"
             "INSERT INTO mv(rowid, e) VALUES (1, '[1,0]'), (2, '[0,1]')");
  CHECK_QUERY(db, "SELECT group_concat(rowid) FROM mv WHERE e MATCH '[1,0]' AND k = 1", NULL, NULL, "1");
  /* one chunk: 8 vectors of 8 bytes, 8 rowids of 8 bytes, one validity byte */
  CHECK_QUERY(db, "SELECT bytes FROM semlite_memory WHERE kind = 'vec_cache'", NULL, NULL, "129");
  set_limit(db, "l1_cache_mb", 64);
  snprintf(sql, sizeof sql, "SELECT bytes >= %.0f FROM semlite_memory WHERE kind = 'scratch_peak'",
           minilm_pass_bytes(4, 4));
  CHECK_QUERY(db, sql, NULL, NULL, "1");
  /* One scan, one snapshot. */
  CHECK_QUERY(db, "SELECT min(bytes) > 0 AND max(bytes) = max(CASE kind WHEN 'peak_rss' THEN bytes END) "
              "FROM semlite_memory WHERE kind IN ('rss', 'peak_rss')", NULL, NULL, "1");

  CHECK_QUERY(db, "SELECT semlite_model_unload('mem_a') + semlite_model_unload('mem_b') + "
              "semlite_model_unload('mem_q')", NULL, NULL, "3");
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_memory WHERE model LIKE '%mem_%'", NULL, NULL, "0");
  t_model_alias_remove(dir);
  sqlite3_close(db);
}

/* ---- SEMLITE_PRELOAD ---- */

typedef struct preload_seen {
  char text[512];
} preload_seen;

static int note_entry(void *ctx, const char *name, sl_compute_dtype dtype, const char *dir, sl_err *err) {
  preload_seen *s = ctx;
  size_t n = strlen(s->text);
  snprintf(s->text + n, sizeof s->text - n, "[%s|%s|%s]", name, sl_compute_dtype_name(dtype), dir);
  return strcmp(name, "refuse") == 0 ? sl_fail(err, "refused") : SL_OK;
}

static void check_preload_error(const char *spec, const char *expect) {
  preload_seen s = {""};
  sl_err err;
  CHECK_MSG(sl_preload_parse(spec, note_entry, &s, &err) == SL_ERROR, "'%s' was accepted", spec);
  CHECK_STR(err.msg, expect);
}

static void test_preload_parse(void) {
  preload_seen s = {""};
  sl_err err;
  CHECK(sl_preload_parse("a=/x;;b:int8=/y=z;c:bf16=rel/dir;", note_entry, &s, &err) == SL_OK);
  CHECK_STR(s.text, "[a|fp32|/x][b|int8|/y=z][c|bf16|rel/dir]");
  s.text[0] = 0;
  CHECK(sl_preload_parse("", note_entry, &s, &err) == SL_OK && s.text[0] == 0);
  check_preload_error("a=/x;nothing", "entry 2 ('nothing'): expected NAME=FOLDER or NAME:DTYPE=FOLDER");
  check_preload_error("=/x", "entry 1 ('=/x'): the model name is empty");
  check_preload_error("a=", "entry 1 ('a='): the model folder is empty");
  check_preload_error("a:f16=/x", "entry 1 ('a:f16=/x'): unknown dtype 'f16' (fp32, int8 or bf16)");
  check_preload_error("a=/x;refuse=/y", "entry 2 ('refuse=/y'): refused");
}

/* Runs the sqlite3 shell with SEMLITE_PRELOAD set, so the extension loads in a fresh
** process; returns its output (both streams), or "" when it could not run. */
static void shell_with_preload(const char *spec, const char *sql, char *out, size_t cap) {
  char cmd[16384];
  FILE *p;
  size_t n;
  snprintf(cmd, sizeof cmd, "SEMLITE_PRELOAD='%s' sqlite3 -batch -cmd '.load %s' :memory: \"%s\" 2>&1", spec,
           sl_test_so_path(), sql);
  out[0] = 0;
  if (!(p = popen(cmd, "r"))) return;
  n = fread(out, 1, cap - 1, p);
  out[n] = 0;
  while (n && out[n - 1] == '\n') out[--n] = 0;
  pclose(p);
}

static void test_preload_env(void) {
  char embed[1024], rerank[1024], spec[8300], out[2048];
  char abs_embed[4096], abs_rerank[4096];
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  /* The shell is not sanitized and cannot load a sanitized .so: release builds only. */
  return;
#endif
  CHECK(realpath(t_model_path(embed, sizeof embed, "minilm-l6-embed"), abs_embed) != NULL);
  CHECK(realpath(t_model_path(rerank, sizeof rerank, "minilm-l6-rerank"), abs_rerank) != NULL);
  snprintf(spec, sizeof spec, "pre=%s;pre_ce:int8=%s", abs_embed, abs_rerank);
  shell_with_preload(spec, "SELECT group_concat(name || ':' || dtype, ' ') FROM semlite_models; "
                     "SELECT length(embed('pre', 'x')); SELECT semlite_model_unload('pre_ce'); "
                     "SELECT count(*) FROM semlite_models", out, sizeof out);
  CHECK_STR(out, "pre:fp32 pre_ce:int8\n1536\n1\n1");
  shell_with_preload("pre=/nonexistent/folder", "SELECT 1", out, sizeof out);
  CHECK_STR(out, "Error: error during initialization: semlite: SEMLITE_PRELOAD: entry 1 ('pre=/nonexistent/folder'): cannot open model "
            "folder '/nonexistent/folder': No such file or directory\n1");
}

/* A fresh process reads every limit's default, before anything set one (the table of
** values once had fewer initializers than limits, so vec_cache_mb read 0). */
static void test_limits_defaults(void) {
  char cmd[1400];
  char out[512] = "";
  FILE *p;
  snprintf(cmd, sizeof cmd,
           "sqlite3 :memory: -cmd '.load %s' \"SELECT group_concat(name || '=' || value, ' ') "
           "FROM semlite_limits WHERE name != 'threads'\" 2>&1", sl_test_so_path());
  p = popen(cmd, "r");
  CHECK(p != NULL);
  if (!p) return;
  if (!fgets(out, sizeof out, p)) out[0] = 0;
  pclose(p);
  out[strcspn(out, "\n")] = 0;
  CHECK_STR(out, "max_batch=512 max_tokens=1024 memory_budget_mb=256 l1_cache_mb=64 vec_cache_mb=256 ann_cache_mb=512 max_document_mb=64 synergy_max_nodes=50000 replicated_max_rows=64");
}

/* A document argument over max_document_mb is refused with the limit's name, before it
** is parsed. */
static void test_document_limit(void) {
  sqlite3 *db = t_open();
  char models[1024];
  t_model_path(models, sizeof models, "minilm-l6-embed");
  CHECK_QUERY(db, "SELECT semlite_model_load('minilm', ?1)", models, NULL, "minilm");
  t_exec(db, "UPDATE semlite_limits SET value = 1 WHERE name = 'max_document_mb'");
  CHECK_QUERY(db, "SELECT count(*) FROM embed_each('minilm', '[' || printf('%.*c', 1048576, ' ') || ']')", NULL, NULL,
              "ERROR: embed_each: the document is 1048578 bytes, over the max_document_mb limit of 1 MB");
  CHECK_QUERY(db, "SELECT count(*) FROM embed_each('minilm', '[' || printf('%.*c', 1048574, ' ') || ']')", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT semlite_model_load('m2', ?1, '{' || printf('%.*c', 1048576, ' ') || '}')", models, NULL,
              "ERROR: semlite_model_load: the document is 1048578 bytes, over the max_document_mb limit of 1 MB");
  t_exec(db, "UPDATE semlite_limits SET value = 64 WHERE name = 'max_document_mb'");
  sqlite3_close(db);
}

const sl_test metrics_tests[] = {
  {"document_limit", test_document_limit},
  {"limits_defaults", test_limits_defaults},
  {"bucket_error", test_bucket_error},
  {"percentiles", test_percentiles},
  {"exact_counts_threads", test_exact_counts_threads},
  {"metrics_table", test_metrics_table},
  {"limits_table", test_limits_table},
  {"memory_budget", test_memory_budget},
  {"batch_limits", test_batch_limits},
  {"memory_table", test_memory_table},
  {"preload_parse", test_preload_parse},
  {"preload_env", test_preload_env},
  {0, 0},
};
