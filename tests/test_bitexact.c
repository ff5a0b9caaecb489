/*
** test_bitexact.c: embeddings and rerank logits are the same bytes at every ISA level this
** CPU runs (ext/kernels/order.h), so that a statement replayed on another x86-64 machine
** writes what it wrote here (docs/deployment.md).
**
** The level is chosen once per loaded library (SEMLITE_ISA, read at its first use), so
** each level gets a private copy of semlite.so, loaded with SEMLITE_ISA set to that level;
** semlite_build_info() must then report it. Through SQL, as a user calls them, on the
** synthetic twins in fp32 and int8:
**   - embed_each over every reference sentence (../shared/reference/sentences.jsonl) and
**     two long texts (the reference sentences joined: about 150 tokens, and all of them,
**     cut at the model's 256): batches of many sequences;
**   - embed() of every eighth of them and the 256-token one: batches of one;
**   - rerank() of 10 reference pairs (pairs.jsonl) and rerank_each of one query against
**     10 other reference docs and the 150-token text.
** Every BLOB and every score (the double's 8 bytes) of bitexact.avx2 and bitexact.avx512
** is compared with memcmp against the scalar level's (run once, by the first of them). A
** level this CPU lacks is reported as skipped, never as passed. bf16 is
** not compared: vdpbf16ps, AMX and the emulated products sum differently (gemm_isa.h).
*/
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../ext/kernels/kernels.h"
#include "test.h"

/* The inputs every level runs, as JSON arrays. */
typedef struct inputs {
  char *texts;   /* every reference sentence, then the long texts */
  char *few;     /* every eighth sentence and the long texts */
  char *pairs;   /* {"query","doc"} objects */
  char *query;   /* the first pair's query */
  char *docs;    /* every pair's doc and a long one */
} inputs;

/* The bytes of one workload's rows at one level. */
typedef struct out {
  unsigned char *p;
  size_t n, cap, rows;
} out;

static void out_append(out *o, const void *p, size_t n) {
  if (o->n + n > o->cap) {
    o->cap = (o->n + n) * 2 + 256;
    o->p = realloc(o->p, o->cap);
    if (!o->p) abort();
  }
  memcpy(o->p + o->n, p, n);
  o->n += n;
}

static void add_line(const char *line, size_t len, void *arg) {
  sqlite3_stmt *st = arg;
  sqlite3_bind_text(st, 1, line, (int)len, SQLITE_TRANSIENT);
  sqlite3_step(st);
  sqlite3_reset(st);
}

/* The reference files into a scratch database, and the JSON arrays out of it. */
static int load_inputs(inputs *in) {
  static const char *const files[] = {"sentences", "pairs"};
  sqlite3 *db = NULL;
  char path[1024];
  memset(in, 0, sizeof *in);
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) return -1;
  t_exec(db, "CREATE TABLE lines(src TEXT, n INTEGER PRIMARY KEY, line TEXT)");
  for (int f = 0; f < 2; f++) {
    sqlite3_stmt *st;
    char sql[128];
    snprintf(sql, sizeof sql, "INSERT INTO lines(src, line) VALUES ('%s', ?1)", files[f]);
    snprintf(path, sizeof path, "%s/reference/%s.jsonl", sl_test_shared_dir(), files[f]);
    sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    int n = t_each_line(path, add_line, st);
    sqlite3_finalize(st);
    CHECK_MSG(n > 10, "%s: %d lines", path, n);
  }
  t_exec(db, "CREATE TABLE s AS SELECT row_number() OVER (ORDER BY n) AS k, json_extract(line, '$.text') AS t "
             "FROM lines WHERE src = 'sentences'");
  /* long texts: the sentences joined, about 150 and (truncated by the model) 256 tokens */
  t_exec(db, "CREATE TABLE long(k INTEGER PRIMARY KEY, t TEXT)");
  t_exec(db, "INSERT INTO long(t) SELECT group_concat(t, ' ') FROM (SELECT t FROM s WHERE k BETWEEN 40 AND 75)");
  t_exec(db, "INSERT INTO long(t) SELECT group_concat(t, ' ') FROM (SELECT t FROM s)");
  in->texts = t_query(db, "SELECT json_group_array(t) FROM (SELECT t FROM s UNION ALL SELECT t FROM long)", NULL, NULL);
  in->few = t_query(db, "SELECT json_group_array(t) FROM (SELECT t FROM s WHERE k % 8 = 1 UNION ALL "
                        "SELECT t FROM long WHERE k = 2)", NULL, NULL);
  in->pairs = t_query(db, "SELECT json_group_array(json(line)) FROM (SELECT line FROM lines WHERE src = 'pairs' "
                         "ORDER BY n LIMIT 10)", NULL, NULL);
  in->query = t_query(db, "SELECT json_extract(line, '$.query') FROM lines WHERE src = 'pairs' ORDER BY n", NULL, NULL);
  in->docs = t_query(db, "SELECT json_group_array(d) FROM (SELECT * FROM (SELECT json_extract(line, '$.doc') AS d "
                         "FROM lines WHERE src = 'pairs' ORDER BY n DESC LIMIT 10) UNION ALL "
                         "SELECT t FROM long WHERE k = 1)", NULL, NULL);
  sqlite3_close(db);
  return in->texts && in->few && in->pairs && in->query && in->docs ? 0 : -1;
}

/* Every row's first column appended to o: a BLOB's bytes, a REAL's 8 bytes. */
static void run_rows(sqlite3 *db, const char *sql, const char *p1, const char *p2, out *o) {
  sqlite3_stmt *st;
  int rc;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
    sl_test_fail(__FILE__, __LINE__, "%s: %s", sql, sqlite3_errmsg(db));
    return;
  }
  if (p1) sqlite3_bind_text(st, 1, p1, -1, SQLITE_TRANSIENT);
  if (p2) sqlite3_bind_text(st, 2, p2, -1, SQLITE_TRANSIENT);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_column_type(st, 0) == SQLITE_BLOB) {
      out_append(o, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
    } else {
      CHECK_MSG(sqlite3_column_type(st, 0) == SQLITE_FLOAT, "%s: a row of type %d", sql, sqlite3_column_type(st, 0));
      double d = sqlite3_column_double(st, 0);
      out_append(o, &d, sizeof d);
    }
    o->rows++;
  }
  CHECK_MSG(rc == SQLITE_DONE, "%s: %s", sql, sqlite3_errmsg(db));
  sqlite3_finalize(st);
}

/* The workloads, each run for fp32 and int8. */
enum { EMBED_MANY, EMBED_ONE, RERANK_ONE, RERANK_MANY, NWORK };
static const char *const work_names[NWORK] = {"embed_each", "embed", "rerank", "rerank_each"};
#define NDTYPES 2
static const char *const dtypes[NDTYPES] = {"fp32", "int8"};

/* A private copy of semlite.so (same file name, so SQLite finds the same entry point). */
static int copy_so(const char *dir, char *path, size_t cap) {
  FILE *src = fopen(sl_test_so_path(), "rb"), *dst;
  char buf[65536];
  size_t n;
  int ok = 1;
  snprintf(path, cap, "%s/semlite.so", dir);
  if (!src) return -1;
  dst = fopen(path, "wb");
  if (!dst) {
    fclose(src);
    return -1;
  }
  while ((n = fread(buf, 1, sizeof buf, src)) > 0)
    if (fwrite(buf, 1, n, dst) != n) ok = 0;
  fclose(src);
  if (fclose(dst) != 0) ok = 0;
  return ok ? 0 : -1;
}

/* The cache address of one embed() per dtype at a level (hex of semlite_cache.key):
** fp32 and int8 give the same bits at every level, so their results are stored under
** the same key everywhere; bf16's bits depend on the level, so its keys differ. */
#define NKEYDTYPES 3
static const char *const key_dtypes[NKEYDTYPES] = {"fp32", "int8", "bf16"};
typedef char level_keys[NKEYDTYPES][40];

static void cache_keys(sqlite3 *db, const char *model, level_keys keys) {
  char sql[256];
  CHECK_QUERY(db, "SELECT semlite_model_load('e_bf16', ?1, '{\"dtype\":\"bf16\"}')", model, NULL, "e_bf16");
  CHECK_QUERY(db, "SELECT semlite_cache_enable()", NULL, NULL, "1");
  for (int d = 0; d < NKEYDTYPES; d++) {
    CHECK(t_exec(db, "DELETE FROM semlite_cache") == SQLITE_OK);
    snprintf(sql, sizeof sql, "SELECT length(embed('e_%s', 'the cache key probe'))", key_dtypes[d]);
    CHECK_QUERY(db, sql, NULL, NULL, "1536");
    char *k = t_query(db, "SELECT hex(key) FROM semlite_cache WHERE op = 'embed'", NULL, NULL);
    CHECK_MSG(k && strlen(k) == 32, "%s: no cache entry", key_dtypes[d]);
    snprintf(keys[d], sizeof keys[d], "%s", k ? k : "");
    sqlite3_free(k);
  }
}

/* Runs every workload at one level into o[dtype][work] and the cache keys into keys;
** 0 when it ran at that level. */
static int run_level(sl_isa isa, const inputs *in, out o[NDTYPES][NWORK], level_keys keys) {
  char dir[] = "/tmp/semlite-bitexact-XXXXXX", so[1100], model[1024], sql[512];
  char *err = NULL;
  sqlite3 *db = NULL;
  int rc = -1;
  if (!mkdtemp(dir) || copy_so(dir, so, sizeof so)) {
    sl_test_fail(__FILE__, __LINE__, "cannot copy %s into /tmp", sl_test_so_path());
    return -1;
  }
  /* read at the copy's first use of its kernels, which is after the load */
  setenv("SEMLITE_ISA", sl_isa_name(isa), 1);
  sqlite3_open(":memory:", &db);
  sqlite3_enable_load_extension(db, 1);
  if (sqlite3_load_extension(db, so, NULL, &err) != SQLITE_OK) {
    sl_test_fail(__FILE__, __LINE__, "cannot load %s: %s", so, err ? err : "?");
    sqlite3_free(err);
    goto done;
  }
  char *sel = t_query(db, "SELECT json_extract(semlite_build_info(), '$.isa.selected')", NULL, NULL);
  CHECK_MSG(sel && strcmp(sel, sl_isa_name(isa)) == 0, "SEMLITE_ISA=%s selected %s", sl_isa_name(isa),
            sel ? sel : "?");
  sqlite3_free(sel);
  for (int d = 0; d < NDTYPES; d++) {
    char opts[64];
    snprintf(opts, sizeof opts, "{\"dtype\":\"%s\"}", dtypes[d]);
    snprintf(sql, sizeof sql, "SELECT semlite_model_load('e_%s', ?1, '%s')", dtypes[d], opts);
    CHECK_QUERY(db, sql, t_model_path(model, sizeof model, "minilm-l6-embed"), NULL,
                d ? "e_int8" : "e_fp32");
    snprintf(sql, sizeof sql, "SELECT semlite_model_load('r_%s', ?1, '%s')", dtypes[d], opts);
    CHECK_QUERY(db, sql, t_model_path(model, sizeof model, "minilm-l6-rerank"), NULL,
                d ? "r_int8" : "r_fp32");
    snprintf(sql, sizeof sql, "SELECT embedding FROM embed_each('e_%s', ?1) ORDER BY i", dtypes[d]);
    run_rows(db, sql, in->texts, NULL, &o[d][EMBED_MANY]);
    snprintf(sql, sizeof sql, "SELECT embed('e_%s', value) FROM json_each(?1) ORDER BY key", dtypes[d]);
    run_rows(db, sql, in->few, NULL, &o[d][EMBED_ONE]);
    snprintf(sql, sizeof sql,
             "SELECT rerank('r_%s', json_extract(value, '$.query'), json_extract(value, '$.doc')) "
             "FROM json_each(?1) ORDER BY key", dtypes[d]);
    run_rows(db, sql, in->pairs, NULL, &o[d][RERANK_ONE]);
    snprintf(sql, sizeof sql, "SELECT score FROM rerank_each('r_%s', ?1, ?2) ORDER BY i", dtypes[d]);
    run_rows(db, sql, in->query, in->docs, &o[d][RERANK_MANY]);
  }
  cache_keys(db, t_model_path(model, sizeof model, "minilm-l6-embed"), keys);
  rc = 0;
done:
  unsetenv("SEMLITE_ISA");
  sqlite3_close(db);
  unlink(so);
  rmdir(dir);
  return rc;
}

/* The scalar level's bytes and the inputs, made once for both tests (kept to the end of
** the process). */
static out scalar_out[NDTYPES][NWORK];
static level_keys scalar_keys;
static int scalar_state;   /* 0 not run, 1 ran, -1 failed */
static inputs in;

/* Runs one level and compares every workload's bytes with the scalar level's. */
static void compare_level(sl_isa isa) {
  out o[NDTYPES][NWORK];
  if (isa > sl_cpu_best_isa()) {
    sl_test_skip("this CPU has no %s", sl_isa_name(isa));
    return;
  }
  const char *env = getenv("SEMLITE_ISA");
  char *saved = env ? strdup(env) : NULL;
  if (scalar_state == 0) {
    scalar_state = load_inputs(&in) == 0 && run_level(SL_ISA_SCALAR, &in, scalar_out, scalar_keys) == 0 ? 1 : -1;
    CHECK_MSG(scalar_state == 1, "the scalar level did not run");
  }
  level_keys keys;
  memset(o, 0, sizeof o);
  memset(keys, 0, sizeof keys);
  if (scalar_state == 1 && run_level(isa, &in, o, keys) == 0) {
    for (int d = 0; d < NKEYDTYPES; d++) {
      int same = strcmp(keys[d], scalar_keys[d]) == 0;
      CHECK_MSG(same == (d < 2), "%s: cache key %s at %s, %s at scalar: %s", key_dtypes[d], keys[d],
                sl_isa_name(isa), scalar_keys[d], d < 2 ? "one result, two addresses" : "two results, one address");
    }
    for (int d = 0; d < NDTYPES; d++)
      for (int w = 0; w < NWORK; w++) {
        const out *a = &scalar_out[d][w], *b = &o[d][w];
        CHECK_MSG(a->rows > 0 && a->rows == b->rows && a->n == b->n,
                  "%s %s: %zu rows (%zu bytes) at scalar, %zu (%zu) at %s", dtypes[d], work_names[w], a->rows,
                  a->n, b->rows, b->n, sl_isa_name(isa));
        if (a->n != b->n || memcmp(a->p, b->p, a->n) == 0) continue;
        size_t at = 0;
        while (a->p[at] == b->p[at]) at++;
        sl_test_fail(__FILE__, __LINE__, "%s %s: %s differs from scalar first at byte %zu of %zu (row %zu)",
                     dtypes[d], work_names[w], sl_isa_name(isa), at, a->n, at / (a->n / a->rows));
      }
    printf("  %s = scalar, byte for byte: fp32 and int8, %zu + %zu embeddings, %zu + %zu logits each\n",
           sl_isa_name(isa), o[0][EMBED_MANY].rows, o[0][EMBED_ONE].rows, o[0][RERANK_ONE].rows,
           o[0][RERANK_MANY].rows);
  }
  if (saved) setenv("SEMLITE_ISA", saved, 1);
  free(saved);
  for (int d = 0; d < NDTYPES; d++)
    for (int w = 0; w < NWORK; w++) free(o[d][w].p);
}

static void test_avx2(void) { compare_level(SL_ISA_AVX2); }
static void test_avx512(void) { compare_level(SL_ISA_AVX512); }

const sl_test bitexact_tests[] = {
  {"avx2", test_avx2},
  {"avx512", test_avx512},
  {0, 0},
};
