/*
** bench_knn.c: the vector-search benchmark. semlite's semlite_vec table against sqlite-vec's
** vec0 (its npm vec0.so, v0.1.9), same vectors, same queries, same run.
**
** What it measures, per table size (default 10k and 100k rows of 384 dimensions; 1M with
** --sizes): insert rate, exact k=10 query time, filtered k=10 queries (a text metadata
** column with 10 values, `AND category = ?`), and semlite's quantized search (int8 and
** binary, rescored in float32) with recall@10.
**
** The vectors: the 76,792 texts of shared/data/corpus/questions-mix.tsv.gz embedded once by
** semlite (int8 twin of MiniLM-L6) into a cache, bench/out/knn-corpus.db, that later runs
** reuse (embedding them takes minutes; searching them takes seconds). The last 100 corpus
** embeddings are held out as the queries; the rows are the other corpus embeddings, then
** seeded random unit vectors up to the size. The twin's embeddings carry no meaning, so recall
** is measured against exact search on the same vectors: a brute-force scan in this program
** (double sums), which also checks both engines' exact answers.
**
** Why one program runs both engines: numbers from two runs (other load, other page cache)
** are not comparable. Both get the same pragmas, the same float32 BLOBs bound the same way,
** one transaction per 10,000 rows, and a database file each (not :memory:, which no user
** searches a million vectors in). Why it reports other processes' CPU: a shared 2-core
** machine skews both engines and the ratio, so a busy run must say so.
*/
#include "../common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DIM        384
#define K          10
#define N_CAT      10
#define MAX_SIZES  4
#define MAX_OS     4
#define PI         3.14159265358979323846
#define TX_ROWS    10000  /* rows per transaction while filling */

/* ---------------------------------------------------------------- options */

typedef struct opts {
  const char *vec0, *corpus;
  long sizes[MAX_SIZES]; int n_sizes;
  int os_int8[MAX_OS], n_os_int8, os_bin[MAX_OS], n_os_bin;
  int n_queries;
  long seed;
  int keep;              /* keep the database files (otherwise removed after each size) */
} opts;

/* --seconds: per configuration, the query set is repeated until this much time. */
static void parse_opts(int argc, char **argv, opts *o) {
  *o = (opts){ .vec0 = "build/peers/vec0.so", .sizes = {10000, 100000}, .n_sizes = 2, .os_int8 = {1, 2, 4},
               .n_os_int8 = 3, .os_bin = {4, 16}, .n_os_bin = 2, .n_queries = 100, .seed = 42 };
  const bench_opt own[] = {
    OPT("--vec0", OPT_STR, &o->vec0, "PATH", "sqlite-vec's vec0.so"),
    OPT("--corpus", OPT_STR, &o->corpus, "FILE", "corpus embeddings cache (OUT/knn-corpus.db), built when missing"),
    OPT_LIST("--sizes", OPT_LONGS, o->sizes, "LIST", "table sizes; 1000000 needs ~2 GB disk", &o->n_sizes, MAX_SIZES),
    OPT_LIST("--int8-os", OPT_INTS, o->os_int8, "LIST", "oversample values for quantizer=int8", &o->n_os_int8, MAX_OS),
    OPT_LIST("--binary-os", OPT_INTS, o->os_bin, "LIST", "oversample values for quantizer=binary", &o->n_os_bin, MAX_OS),
    OPT("--queries", OPT_INT, &o->n_queries, "N", "held-out query vectors"),
    OPT("--seed", OPT_LONG, &o->seed, "N", "seed of the random filler vectors and categories"),
    OPT("--keep", OPT_FLAG, &o->keep, NULL, "keep the scratch databases"),
    OPT_END,
  };
  parse_args(argc, argv, "[options]", ARG_SO | ARG_MODEL | ARG_SHARED | ARG_OUT | ARG_PLOT | ARG_SECONDS, own);
  if (o->n_queries < 1) usage_exit();
}

/* ---------------------------------------------------------------- corpus cache */

/* Embeds the corpus into DIR/knn-corpus.db (table corpus(i, v float32 BLOB)), written to a
** temporary name and renamed when complete, so an interrupted run never leaves a short cache
** that a later run would trust. The texts go through embed_each in one statement: packed
** batches, the fastest way semlite has. int8 weights: the bench needs vectors, not quality. */
static void build_corpus(const char *cache, long n_lines) {
  char tmp[1100];
  snprintf(tmp, sizeof tmp, "%s.tmp", cache);
  remove(tmp);
  sqlite3 *db = open_db(tmp, args.so, NULL);
  load_model(db, "m", args.model, "int8");
  exec_sql(db, "CREATE TEMP TABLE t(body TEXT NOT NULL);"
           "CREATE TABLE corpus(i INTEGER PRIMARY KEY, v BLOB NOT NULL)");
  char *gz = fmt("%s/data/corpus/questions-mix.tsv.gz", args.shared), *q = shq(gz), *cmd = fmt("gzip -dc %s", q);
  FILE *f = popen(cmd, "r");
  if (!f) die("cannot run %s", cmd);
  sqlite3_free(cmd); sqlite3_free(q); sqlite3_free(gz);
  sqlite3_stmt *ins = prep(db, "INSERT INTO t(body) VALUES (?1)");
  char *line = NULL; size_t cap = 0; ssize_t len; long n = 0;
  exec_sql(db, "BEGIN");
  while ((len = getline(&line, &cap, f)) > 0) {
    /* id \t source \t text: the text is everything after the second tab */
    char *p = strchr(line, '\t'), *body = p ? strchr(p + 1, '\t') : NULL;
    if (!body) die("corpus line %ld has fewer than 3 fields", n + 1);
    body++;
    if (len > 0 && line[len - 1] == '\n') line[--len] = 0;
    sqlite3_bind_text(ins, 1, body, -1, SQLITE_STATIC);
    if (sqlite3_step(ins) != SQLITE_DONE) die("%s", sqlite3_errmsg(db));
    sqlite3_reset(ins);
    n++;
  }
  free(line);
  pclose(f);
  sqlite3_finalize(ins);
  if (n != n_lines && n_lines > 0) die("corpus: read %ld lines, expected %ld", n, n_lines);
  fprintf(stderr, "embedding %ld corpus texts with semlite (int8 twin), once; cached in %s ...\n", n, cache);
  double t0 = now_s();
  exec_sql(db, "INSERT INTO corpus(i, v) SELECT i, embedding FROM embed_each('m', "
           "(SELECT json_group_array(body) FROM (SELECT body FROM t ORDER BY rowid)))");
  exec_sql(db, "COMMIT");
  fprintf(stderr, "  %.1f s (%.0f texts/s)\n", now_s() - t0, n / (now_s() - t0));
  sqlite3_close(db);
  if (rename(tmp, cache) != 0) die("cannot rename %s", tmp);
}

/* Reads the cached embeddings (building the cache first when missing). */
static float *load_corpus(const opts *o, long *n_out) {
  char cache[1024];
  if (o->corpus) snprintf(cache, sizeof cache, "%s", o->corpus);
  else snprintf(cache, sizeof cache, "%s/knn-corpus.db", args.out);
  struct stat st;
  if (stat(cache, &st) != 0) build_corpus(cache, 0);
  sqlite3 *db = open_db(cache, NULL, NULL);
  sqlite3_stmt *c = prep(db, "SELECT count(*) FROM corpus");
  sqlite3_step(c);
  long n = sqlite3_column_int64(c, 0);
  sqlite3_finalize(c);
  float *v = malloc((size_t)n * DIM * sizeof *v);
  if (!v) die("out of memory");
  sqlite3_stmt *s = prep(db, "SELECT i, v FROM corpus ORDER BY i");
  long i = 0;
  while (sqlite3_step(s) == SQLITE_ROW) {
    if (sqlite3_column_int64(s, 0) != i || sqlite3_column_bytes(s, 1) != DIM * 4)
      die("%s: row %ld is not a float[%d] at index %ld (delete the cache)", cache, i, DIM, i);
    memcpy(v + (size_t)i * DIM, sqlite3_column_blob(s, 1), DIM * 4);
    i++;
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  *n_out = n;
  return v;
}

/* ---------------------------------------------------------------- ground truth */

/* k best (distance, rowid) pairs, kept sorted; ties by rowid as both engines order them. */
typedef struct topk { double d[K]; long id[K]; int n; } topk;

static void topk_push(topk *t, double d, long id) {
  if (t->n == K && (d > t->d[K - 1] || (d == t->d[K - 1] && id > t->id[K - 1]))) return;
  int i = t->n < K ? t->n++ : K - 1;
  while (i > 0 && (t->d[i - 1] > d || (t->d[i - 1] == d && t->id[i - 1] > id))) {
    t->d[i] = t->d[i - 1]; t->id[i] = t->id[i - 1]; i--;
  }
  t->d[i] = d; t->id[i] = id;
}

/* Squared l2 in double: the reference, slower than either engine but exact enough that a
** recall below 1 means the engine, not the reference. Four sums break the dependency chain. */
static double l2sq(const float *a, const float *b) {
  double s[4] = {0, 0, 0, 0};
  for (int i = 0; i < DIM; i += 4)
    for (int j = 0; j < 4; j++) { double d = (double)a[i + j] - b[i + j]; s[j] += d * d; }
  return s[0] + s[1] + s[2] + s[3];
}

/* ---------------------------------------------------------------- measurement */

typedef struct result {
  long size;
  char engine[16], config[32];
  double insert_rps, insert_s, qps, p50, p95, recall, other, db_mb;
  int check;             /* exact configs: rows equal to the reference (1) or not (0); -1 n/a */
} result;

static result results[256];
static int n_results;

/* Fills a table: rows 1..n, vector and category bound exactly the same way for both engines. */
static double fill(sqlite3 *db, const char *table, const float *rows, const int *cat, long n) {
  char sql[256];
  static const char *names[N_CAT] = {"c0","c1","c2","c3","c4","c5","c6","c7","c8","c9"};
  snprintf(sql, sizeof sql, "INSERT INTO %s(rowid, embedding, category) VALUES (?1, ?2, ?3)", table);
  sqlite3_stmt *st = prep(db, sql);
  double t0 = now_s();
  exec_sql(db, "BEGIN");
  for (long i = 0; i < n; i++) {
    sqlite3_bind_int64(st, 1, i + 1);
    sqlite3_bind_blob(st, 2, rows + (size_t)i * DIM, DIM * 4, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, names[cat[i]], 2, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) die("%s: insert row %ld: %s", table, i + 1, sqlite3_errmsg(db));
    sqlite3_reset(st);
    if ((i + 1) % TX_ROWS == 0) { exec_sql(db, "COMMIT"); exec_sql(db, "BEGIN"); }
  }
  exec_sql(db, "COMMIT");
  double t = now_s() - t0;
  sqlite3_finalize(st);
  return t;
}

/* Runs the query set (one warm-up pass, then passes until --seconds) and records speed and
** recall@10 against the reference. filtered: AND category = ? with query q's category q % 10. */
static void measure(const opts *o, sqlite3 *db, const char *table, const float *queries,
                    topk *const *truth, int filtered, result *r) {
  static const char *names[N_CAT] = {"c0","c1","c2","c3","c4","c5","c6","c7","c8","c9"};
  char sql[256];
  snprintf(sql, sizeof sql, "SELECT rowid, distance FROM %s WHERE embedding MATCH ?1 AND k = %d%s",
           table, K, filtered ? " AND category = ?2" : "");
  sqlite3_stmt *st = prep(db, sql);
  int nq = o->n_queries, cap = nq * 64, n_lat = 0;
  double *lat = malloc(cap * sizeof *lat), hits = 0;
  int exact_ok = 1;
  /* Warm-up: a few untimed queries (first-touch page faults of the mapping, statement
  ** caches). Then timed passes; the first one also scores the answers. At 1M a pass of one
  ** engine takes minutes, so the scored pass is a timed one rather than an extra pass. */
  for (int q = 0; q < 5 && q < nq; q++) {
    sqlite3_bind_blob(st, 1, queries + (size_t)q * DIM, DIM * 4, SQLITE_STATIC);
    if (filtered) sqlite3_bind_text(st, 2, names[q % N_CAT], 2, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {}
    if (sqlite3_reset(st) != SQLITE_OK) die("%s: warm-up query %d: %s", table, q, sqlite3_errmsg(db));
  }
  cpu_sample c0 = cpu_now();
  double t_measure = 0;
  for (int pass = 0; ; pass++) {
    double tp = now_s();
    for (int q = 0; q < nq; q++) {
      double t0 = now_s();
      sqlite3_bind_blob(st, 1, queries + (size_t)q * DIM, DIM * 4, SQLITE_STATIC);
      if (filtered) sqlite3_bind_text(st, 2, names[q % N_CAT], 2, SQLITE_STATIC);
      long got[K]; int n = 0, rc;
      while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n < K) got[n] = sqlite3_column_int64(st, 0);
        n++;
      }
      if (rc != SQLITE_DONE) die("%s: query %d: %s", table, q, sqlite3_errmsg(db));
      sqlite3_reset(st);
      double dt = now_s() - t0;
      if (n_lat < cap) lat[n_lat++] = dt;
      if (pass == 0) {   /* the first pass checks the answers */
        const topk *t = &truth[filtered][q];
        int h = 0;
        for (int i = 0; i < n && i < K; i++)
          for (int j = 0; j < t->n; j++) if (got[i] == t->id[j]) { h++; break; }
        /* the same set, not the same order: float sums may swap near-ties */
        if (n != t->n || h != t->n) exact_ok = 0;
        hits += h;
      }
    }
    t_measure += now_s() - tp;
    if (t_measure >= args.seconds || n_lat + nq > cap) break;
  }
  cpu_sample c1 = cpu_now();
  qsort(lat, n_lat, sizeof *lat, cmp_double);
  r->qps = n_lat / t_measure;
  r->p50 = percentile(lat, n_lat, 50) * 1e3;
  r->p95 = percentile(lat, n_lat, 95) * 1e3;
  r->recall = hits / ((double)nq * K);
  r->check = exact_ok;
  r->other = other_cpus(c0, c1);
  free(lat);
  sqlite3_finalize(st);
}

static double file_mb(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? st.st_size / 1048576.0 : 0;
}

/* One table: create it in a fresh database file, fill it, query it (unfiltered and, when
** asked, filtered), record the rows. */
static void run_table(const opts *o, long size, const char *engine, const char *config,
                      const char *ext, const char *create, const float *rows, const int *cat,
                      const float *queries, topk *const *truth, int with_filtered) {
  char path[1024];
  snprintf(path, sizeof path, "%s/knn-%s-%s-%ld.db", args.out, engine, config, size);
  remove(path);
  char wal[1100]; snprintf(wal, sizeof wal, "%s-journal", path); remove(wal);
  sqlite3 *db = open_db(path, ext, NULL);
  /* Same settings for both: a page cache of 64 MB and the file mapped, as
  ** docs/vector-search.md advises for tables larger than the default 2 MB cache. */
  exec_sql(db, "PRAGMA page_size = 4096; PRAGMA cache_size = -65536; PRAGMA mmap_size = 17179869184");
  exec_sql(db, create);
  cpu_sample c0 = cpu_now();
  double t_ins = fill(db, "t", rows, cat, size);
  cpu_sample c1 = cpu_now();
  for (int f = 0; f <= with_filtered; f++) {
    result *r = &results[n_results++];
    memset(r, 0, sizeof *r);
    r->size = size;
    snprintf(r->engine, sizeof r->engine, "%s", engine);
    snprintf(r->config, sizeof r->config, "%s%s", config, f ? "+filter" : "");
    r->insert_s = t_ins;
    r->insert_rps = size / t_ins;
    r->db_mb = file_mb(path);
    measure(o, db, "t", queries, truth, f, r);
    if (f == 0) r->other = fmax(r->other, other_cpus(c0, c1));
    printf("%8ld  %-8s %-18s %10.0f %9.1f %8.3f %8.3f %7.3f %5s %6.2f %8.0f\n", r->size, r->engine,
           r->config, r->insert_rps, r->qps, r->p50, r->p95, r->recall,
           r->check ? "yes" : "no", r->other, r->db_mb);
    fflush(stdout);
  }
  sqlite3_close(db);
  if (!o->keep) remove(path);
}

static const result *find(long size, const char *engine, const char *config) {
  for (int i = 0; i < n_results; i++)
    if (results[i].size == size && !strcmp(results[i].engine, engine) && !strcmp(results[i].config, config))
      return &results[i];
  return NULL;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv) {
  opts o;
  bench_init("bench_knn", 2);
  parse_opts(argc, argv, &o);
  mkdirs(args.out);

  long n_corpus;
  float *corpus = load_corpus(&o, &n_corpus);
  if (n_corpus <= o.n_queries) die("corpus has only %ld vectors", n_corpus);
  long n_real = n_corpus - o.n_queries, max_size = 0;
  for (int i = 0; i < o.n_sizes; i++) if (o.sizes[i] > max_size) max_size = o.sizes[i];

  /* Rows: the corpus embeddings, then seeded random unit vectors (normal coordinates,
  ** normalised: uniform on the sphere, like the unit-length embeddings). Queries: the last
  ** n_queries corpus embeddings, never inserted. */
  const float *queries = corpus + (size_t)n_real * DIM;
  float *rows = malloc((size_t)max_size * DIM * sizeof *rows);
  int *cat = malloc((size_t)max_size * sizeof *cat);
  if (!rows || !cat) die("out of memory for %ld rows", max_size);
  uint64_t seed = (uint64_t)o.seed;
  for (long i = 0; i < max_size; i++) {
    float *v = rows + (size_t)i * DIM;
    if (i < n_real) memcpy(v, corpus + (size_t)i * DIM, DIM * 4);
    else {
      double norm = 0;
      for (int j = 0; j < DIM; j += 2) {   /* Box-Muller, two coordinates per draw */
        double u1 = rng_unit(&seed), u2 = rng_unit(&seed), r = sqrt(-2 * log(u1 + 1e-300));
        v[j] = (float)(r * cos(2 * PI * u2)); v[j + 1] = (float)(r * sin(2 * PI * u2));
        norm += (double)v[j] * v[j] + (double)v[j + 1] * v[j + 1];
      }
      for (int j = 0; j < DIM; j++) v[j] = (float)(v[j] / sqrt(norm));
    }
    cat[i] = (int)(rng_next(&seed) % N_CAT);
  }

  printf("bench_knn: %d dims, k=%d, %d held-out queries, corpus %ld embeddings (+ random unit "
         "vectors), sizes", DIM, K, o.n_queries, n_corpus);
  for (int i = 0; i < o.n_sizes; i++) printf(" %ld", o.sizes[i]);
  double la[3];
  load_average(la);
  printf("\nload average at start: %.2f %.2f %.2f\n\n", la[0], la[1], la[2]);
  printf("%8s  %-8s %-18s %10s %9s %8s %8s %7s %5s %6s %8s\n", "size", "engine", "config",
         "insert/s", "qps", "p50 ms", "p95 ms", "rec@10", "exact", "other", "db MB");

  for (int si = 0; si < o.n_sizes; si++) {
    long size = o.sizes[si];
    /* Reference: exact top-10 per query, overall and within the query's category. */
    topk *truth[2];
    truth[0] = calloc(o.n_queries, sizeof(topk));
    truth[1] = calloc(o.n_queries, sizeof(topk));
    double t0 = now_s();
    for (int q = 0; q < o.n_queries; q++) {
      const float *qv = queries + (size_t)q * DIM;
      for (long i = 0; i < size; i++) {
        double d = sqrt(l2sq(qv, rows + (size_t)i * DIM));
        topk_push(&truth[0][q], d, i + 1);
        if (cat[i] == q % N_CAT) topk_push(&truth[1][q], d, i + 1);
      }
    }
    fprintf(stderr, "size %ld: reference top-%d in %.1f s\n", size, K, now_s() - t0);

    run_table(&o, size, "vec0", "exact", o.vec0,
              "CREATE VIRTUAL TABLE t USING vec0(embedding float[384], category text)",
              rows, cat, queries, truth, 1);
    run_table(&o, size, "semlite", "exact", args.so,
              "CREATE VIRTUAL TABLE t USING semlite_vec(embedding float[384], category text)",
              rows, cat, queries, truth, 1);
    char create[256], config[32];
    for (int j = 0; j < o.n_os_int8; j++) {
      snprintf(create, sizeof create, "CREATE VIRTUAL TABLE t USING semlite_vec(embedding float[384], "
               "category text, quantizer=int8, oversample=%d)", o.os_int8[j]);
      snprintf(config, sizeof config, "int8-os%d", o.os_int8[j]);
      run_table(&o, size, "semlite", config, args.so, create, rows, cat, queries, truth, j == o.n_os_int8 - 1);
    }
    for (int j = 0; j < o.n_os_bin; j++) {
      snprintf(create, sizeof create, "CREATE VIRTUAL TABLE t USING semlite_vec(embedding float[384], "
               "category text, quantizer=binary, oversample=%d)", o.os_bin[j]);
      snprintf(config, sizeof config, "binary-os%d", o.os_bin[j]);
      run_table(&o, size, "semlite", config, args.so, create, rows, cat, queries, truth, 0);
    }
    free(truth[0]); free(truth[1]);
  }

  /* Ratios against sqlite-vec's exact float search at the same size: > 1 means semlite is
  ** faster. */
  printf("\nratios (semlite / sqlite-vec at the same size; > 1 = semlite faster)\n");
  for (int si = 0; si < o.n_sizes; si++) {
    long size = o.sizes[si];
    const result *ve = find(size, "vec0", "exact"), *vf = find(size, "vec0", "exact+filter");
    const result *se = find(size, "semlite", "exact"), *sf = find(size, "semlite", "exact+filter");
    if (!ve || !se) continue;
    printf("%8ld  insert %.2fx  exact qps %.2fx  filtered qps %.2fx", size,
           se->insert_rps / ve->insert_rps, se->qps / ve->qps, sf && vf ? sf->qps / vf->qps : 0);
    for (int i = 0; i < n_results; i++)
      if (results[i].size == size && !strcmp(results[i].engine, "semlite") &&
          strncmp(results[i].config, "exact", 5) != 0)
        printf("  %s %.2fx (rec %.3f)", results[i].config, results[i].qps / ve->qps, results[i].recall);
    printf("\n");
  }

  char path[1024];
  snprintf(path, sizeof path, "%s/knn.csv", args.out);
  FILE *csv = out_open(path, "w");
  fprintf(csv, "size,engine,config,insert_rows_per_s,insert_s,qps,p50_ms,p95_ms,recall10,exact_match,other_cpus,db_mb,qps_vs_vec0_exact\n");
  for (int i = 0; i < n_results; i++) {
    const result *r = &results[i], *ve = find(r->size, "vec0", "exact");
    fprintf(csv, "%ld,%s,%s,%.0f,%.3f,%.1f,%.4f,%.4f,%.4f,%d,%.2f,%.1f,%.3f\n", r->size, r->engine,
            r->config, r->insert_rps, r->insert_s, r->qps, r->p50, r->p95, r->recall, r->check,
            r->other, r->db_mb, ve ? r->qps / ve->qps : 0);
  }
  out_close(csv, path);

  /* The plot's data: one block per size, one row per configuration (qps, p50, p95, recall). */
  snprintf(path, sizeof path, "%s/knn-plot.dat", args.out);
  FILE *dat = out_open(path, "w");
  for (int si = 0; si < o.n_sizes; si++) {
    fprintf(dat, "# size %ld: label qps p50_ms p95_ms recall10 insert_rows_per_s\n", o.sizes[si]);
    for (int i = 0; i < n_results; i++)
      if (results[i].size == o.sizes[si])
        fprintf(dat, "\"%s %s\" %.1f %.4f %.4f %.4f %.0f\n", results[i].engine, results[i].config,
                results[i].qps, results[i].p50, results[i].p95, results[i].recall, results[i].insert_rps);
    fprintf(dat, "\n\n");
  }
  out_close(dat, path);
  if (args.plot && *args.plot) {
    char sizes[128] = "";
    for (int i = 0; i < o.n_sizes; i++)
      snprintf(sizes + strlen(sizes), sizeof sizes - strlen(sizes), "%s%ld", i ? " " : "", o.sizes[i]);
    char *e = fmt("datafile='%q/knn-plot.dat'; outfile='%q/knn.png'; nsizes=%d; sizes='%s'", args.out, args.out,
                  o.n_sizes, sizes);
    gnuplot(args.plot, e);
    sqlite3_free(e);
  }

  int noisy = 0;
  for (int i = 0; i < n_results; i++) if (results[i].other > 0.15) noisy = 1;
  if (noisy) printf("\nwarning: other processes used more than 0.15 CPU during some measurements "
                   "(column 'other'); both engines are understated there\n");
  int bad = 0;
  for (int i = 0; i < n_results; i++)
    if (!strncmp(results[i].config, "exact", 5) && !results[i].check) {
      printf("error: %s %s at %ld does not return the exact top-%d\n", results[i].engine,
             results[i].config, results[i].size, K);
      bad = 1;
    }
  free(rows); free(cat); free(corpus);
  return bad ? 3 : 0;
}
