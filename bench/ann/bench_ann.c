/*
** bench_ann.c: the approximate k-NN benchmark. semlite_vec `indexed by hnsw(...)` against
** hnswlib and FAISS's IndexHNSWFlat (through python3, bench/ann/peer.py, the same M and
** ef_construction), semlite's exact scan and sqlite-vec's exact vec0 (build/peers/vec0.so),
** on the same vectors and queries, in one run.
**
** (FAISS only with --faiss: its build took minutes for 5,000 rows on the busy 2-core machine.)
**
** IVF: semlite_vec `indexed by ivf(nlist=N)` (built by INSERT of every row, then
** 'compute-centroids': k-means on a sample of 64 * nlist rows, every row assigned) at
** each --nprobe, against FAISS's IndexIVFFlat with the same nlist and nprobe (trained on
** all rows, when python3 imports faiss). --no-hnsw leaves the HNSW engines out.
**
** Data sets (seeded, n rows of 384 dimensions, cosine distance):
**   clustered  low intrinsic dimension: points of 64 Gaussian clusters in a 16-dimensional
**              latent space, mapped to 384 dimensions by a fixed random matrix, plus a
**              little isotropic noise (what sentence embeddings look like to an index)
**   uniform    coordinates uniform in [-1, 1]: the hard case, no structure to exploit
** Queries are drawn from the same distribution and never inserted.
**
** Per data set: semlite builds its index through SQL (INSERT of every row, 10,000 per
** transaction, each linked in parallel batches at its commit: build time is that, index
** bytes are the shadow tables' pages per vector, from dbstat); hnswlib and FAISS build
** theirs in the peer and save them. Both build on --build-threads threads (default 2,
** semlite's `threads` limit and hnswlib's num_threads; FAISS on one).
** Then, for each ef_search, one query at a time: semlite's prepared k-NN statement, then
** each peer (which reloads its saved index and answers the same queries), alternating
** so a noisy neighbour on the shared machine hits all of them alike. recall@10 is
** against semlite's exact scan of an unindexed twin table, which is timed too, and
** sqlite-vec's exact search is timed on a subset of the queries (it reads every vector).
** The load average is printed before and after; the table, CSV and PNG give ratios.
**
** Speed is given twice: qps by the wall clock, and qps per CPU-second (the process's CPU
** time around each query: both engines answer on one thread, semlite's exact scan on
** the worker pool, whose threads count too). On a machine shared with other work the
** wall clock mostly measures how often the scheduler lets the query run (a query that
** needs 3 ms of CPU waits for several time slices at a load of 15 on 2 cores); CPU time
** does not, so ratios are taken on it. Build times likewise.
**
** --filters P1,P2,..: every row has cat = rowid % 100 and the queries add `AND cat < P`;
** each P is answered with the table's filter switch forced to the graph
** (filter_exact_pct=0) and to the exact scan of the matching rows (=100), recall against
** the unindexed twin under the same filter: where the two cross is where
** VV_HNSW_FILTER_EXACT_PCT belongs.
*/
#include "../common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define DIM 384
#define K 10
#define LATENT 16
#define CLUSTERS 64
#define TX_ROWS 10000
#define MAX_EF 8

typedef struct opts {
  const char *vec0, *python, *peer;
  long n;
  int n_queries, n_vec0_queries, m, efc;
  int efs[MAX_EF], n_efs;
  int filters[MAX_EF], n_filters;
  int nlist, nprobes[MAX_EF], n_nprobes, no_hnsw;
  const char *sets;
  long seed;
  int keep, faiss, build_threads;
} opts;

static void parse_opts(int argc, char **argv, opts *o) {
  *o = (opts){.vec0 = "build/peers/vec0.so", .python = "/usr/bin/python3", .peer = "bench/ann/peer.py", .n = 100000,
              .n_queries = 200, .n_vec0_queries = 20, .m = 16, .efc = 200, .efs = {16, 32, 64, 128, 256},
              .n_efs = 5, .sets = "clustered,uniform", .seed = 42, .nlist = 256, .nprobes = {1, 2, 4, 8, 16, 32},
              .n_nprobes = 6, .build_threads = 2};
  const bench_opt own[] = {
    OPT("--vec0", OPT_STR, &o->vec0, "PATH", "sqlite-vec's vec0.so (\"\" to leave it out)"),
    OPT("--python", OPT_STR, &o->python, "CMD", "python3 with hnswlib (and faiss) for the peers (\"\" to leave them out)"),
    OPT("--peer", OPT_STR, &o->peer, "FILE", "the peer script"),
    OPT("--n", OPT_LONG, &o->n, "N", "rows per data set"),
    OPT("--queries", OPT_INT, &o->n_queries, "N", "queries (recall and speed)"),
    OPT("--vec0-queries", OPT_INT, &o->n_vec0_queries, "N", "queries timed on sqlite-vec's exact search"),
    OPT("--m", OPT_INT, &o->m, "N", "HNSW M of every engine"),
    OPT("--ef-construction", OPT_INT, &o->efc, "N", "HNSW ef_construction of every engine"),
    OPT_LIST("--ef", OPT_INTS, o->efs, "LIST", "ef_search values", &o->n_efs, MAX_EF),
    OPT_LIST("--filters", OPT_INTS, o->filters, "LIST", "percents of rows a metadata filter lets through: each "
             "answered by the graph and by the exact scan (at the first ef), to place filter_exact_pct", &o->n_filters,
             MAX_EF),
    OPT("--nlist", OPT_INT, &o->nlist, "N", "IVF lists (semlite ivf and FAISS IVF-Flat)"),
    OPT_LIST("--nprobe", OPT_INTS, o->nprobes, "LIST", "IVF lists probed per query (0 leaves IVF out)", &o->n_nprobes,
             MAX_EF),
    OPT("--no-hnsw", OPT_FLAG, &o->no_hnsw, NULL, "leave the HNSW engines out (semlite hnsw, hnswlib, FAISS HNSW)"),
    OPT("--sets", OPT_STR, &o->sets, "LIST", "data sets: clustered, uniform"),
    OPT("--build-threads", OPT_INT, &o->build_threads, "N", "threads of semlite's and hnswlib's builds"),
    OPT("--seed", OPT_LONG, &o->seed, "N", "seed of the data"),
    OPT("--keep", OPT_FLAG, &o->keep, NULL, "keep the scratch databases and vector files"),
    OPT("--faiss", OPT_FLAG, &o->faiss, NULL, "add FAISS's IndexHNSWFlat (slow to build here)"),
    OPT_END,
  };
  parse_args(argc, argv, "[options]", ARG_SO | ARG_OUT | ARG_PLOT, own);
  if (o->n < 100 || o->n_queries < 1 || o->m < 2 || o->efc < 1 || o->build_threads < 1) usage_exit();
}

/* ---------------------------------------------------------------- data */

static double gauss(uint64_t *s) {
  double u1 = rng_unit(s), u2 = rng_unit(s);
  return sqrt(-2 * log(u1 + 1e-300)) * cos(6.283185307179586 * u2);
}

/* n + nq vectors of a data set: rows first, then queries. */
static float *make_set(const char *set, long n, int nq, long seed) {
  uint64_t s = (uint64_t)seed * 7919 + (set[0] == 'c' ? 1 : 2);
  size_t total = (size_t)n + (size_t)nq;
  float *v = xrealloc(NULL, total * DIM * sizeof *v);
  if (!strcmp(set, "uniform")) {
    for (size_t i = 0; i < total * DIM; i++) v[i] = (float)(2 * rng_unit(&s) - 1);
    return v;
  }
  if (strcmp(set, "clustered")) die("unknown data set '%s' (clustered, uniform)", set);
  float *proj = xrealloc(NULL, (size_t)LATENT * DIM * sizeof *proj), *centers = xrealloc(NULL, CLUSTERS * LATENT * sizeof *centers);
  for (int i = 0; i < LATENT * DIM; i++) proj[i] = (float)gauss(&s);
  for (int i = 0; i < CLUSTERS * LATENT; i++) centers[i] = (float)(3 * gauss(&s));
  for (size_t i = 0; i < total; i++) {
    double z[LATENT];
    int c = (int)(rng_next(&s) % CLUSTERS);
    for (int j = 0; j < LATENT; j++) z[j] = centers[c * LATENT + j] + gauss(&s);
    for (int d = 0; d < DIM; d++) {
      double x = 0.3 * gauss(&s);
      for (int j = 0; j < LATENT; j++) x += z[j] * proj[j * DIM + d];
      v[i * DIM + d] = (float)x;
    }
  }
  free(proj);
  free(centers);
  return v;
}

/* ---------------------------------------------------------------- results */

typedef struct result {
  char set[16], engine[24];
  int ef;                        /* 0: exact */
  double qps, p50, recall, build_s, bytes_per_vec, other;
  double cpu_qps, build_cpu_s;   /* per CPU-second of the process (see the top) */
} result;

static result results[128];
static int n_results;

static result *add_result(const char *set, const char *engine, int ef) {
  result *r = &results[n_results++];
  memset(r, 0, sizeof *r);
  snprintf(r->set, sizeof r->set, "%s", set);
  snprintf(r->engine, sizeof r->engine, "%s", engine);
  r->ef = ef;
  r->build_s = r->bytes_per_vec = r->other = r->cpu_qps = r->build_cpu_s = NAN;
  return r;
}

static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void print_result(const result *r) {
  char a[32], b[32], c[32], d[32], ef[16];
  snprintf(ef, sizeof ef, "%d", r->ef);
  printf("%-10s %-16s %5s %9.1f %9s %8.3f %7.3f %9s %9s %6s\n", r->set, r->engine, r->ef ? ef : "exact", r->qps,
         fnum(d, sizeof d, "%.1f", r->cpu_qps), r->p50, r->recall, fnum(a, sizeof a, "%.1f", r->build_cpu_s),
         fnum(b, sizeof b, "%.0f", r->bytes_per_vec), fnum(c, sizeof c, "%.2f", r->other));
  fflush(stdout);
}

static const result *find(const char *set, const char *engine, int ef) {
  for (int i = 0; i < n_results; i++)
    if (!strcmp(results[i].set, set) && !strcmp(results[i].engine, engine) && results[i].ef == ef) return &results[i];
  return NULL;
}

/* ---------------------------------------------------------------- SQL engines */

static void fill(sqlite3 *db, const char *table, const float *rows, long n, int with_cat) {
  char *sql = fmt(with_cat ? "INSERT INTO %s(rowid, e, cat) VALUES (?1, ?2, ?1 %% 100)"
                           : "INSERT INTO %s(rowid, e) VALUES (?1, ?2)", table);
  sqlite3_stmt *st = prep(db, sql);
  sqlite3_free(sql);
  exec_sql(db, "BEGIN");
  for (long i = 0; i < n; i++) {
    sqlite3_bind_int64(st, 1, i + 1);
    sqlite3_bind_blob(st, 2, rows + (size_t)i * DIM, DIM * 4, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) die("%s: insert row %ld: %s", table, i + 1, sqlite3_errmsg(db));
    sqlite3_reset(st);
    if ((i + 1) % TX_ROWS == 0) exec_sql(db, "COMMIT; BEGIN");
  }
  exec_sql(db, "COMMIT");
  sqlite3_finalize(st);
}

/* Runs nq queries one at a time on table; rowids (when ids is not NULL) into ids[q*K..],
** recall against truth (when not NULL); speed into r. */
static void run_queries(sqlite3 *db, const char *table, const char *and, const float *queries, int nq, const long *truth,
                        long *ids, result *r) {
  char *sql = fmt("SELECT rowid FROM %s WHERE e MATCH ?1 AND k = %d %s", table, K, and);
  sqlite3_stmt *st = prep(db, sql);
  double *lat = xrealloc(NULL, (size_t)nq * sizeof *lat), t_all = 0, cpu_all = 0;
  long hits = 0;
  cpu_sample c0 = cpu_now();
  sqlite3_free(sql);
  for (int q = 0; q < nq; q++) {
    long got[K];
    int n = 0;
    double t0 = now_s(), cq = cpu_s();
    sqlite3_bind_blob(st, 1, queries + (size_t)q * DIM, DIM * 4, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) if (n < K) got[n++] = (long)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    cpu_all += cpu_s() - cq;
    lat[q] = now_s() - t0;
    t_all += lat[q];
    if (ids) for (int i = 0; i < K; i++) ids[(size_t)q * K + i] = i < n ? got[i] : -1;
    if (truth)
      for (int i = 0; i < n; i++)
        for (int j = 0; j < K; j++) if (got[i] == truth[(size_t)q * K + j]) { hits++; break; }
  }
  r->other = other_cpus(c0, cpu_now());
  qsort(lat, nq, sizeof *lat, cmp_double);
  r->qps = nq / t_all;
  r->cpu_qps = nq / cpu_all;
  r->p50 = percentile(lat, nq, 50) * 1e3;
  r->recall = truth ? hits / ((double)nq * K) : NAN;
  free(lat);
  sqlite3_finalize(st);
}

/* ---------------------------------------------------------------- the peers */

/* One line of the peer's JSON output into r (engine, build_s, bytes_per_vec, qps, p50_ms,
** recall). */
static void peer_result(sqlite3 *db, const char *json, result *r) {
  r->qps = jnum(db, json, "$.qps");
  r->p50 = jnum(db, json, "$.p50_ms");
  r->recall = jnum(db, json, "$.recall");
  r->build_s = jnum(db, json, "$.build_s");
  r->build_cpu_s = jnum(db, json, "$.build_cpu_s");
  r->cpu_qps = jnum(db, json, "$.cpu_qps");
  r->bytes_per_vec = jnum(db, json, "$.bytes_per_vec");
}

/* Runs the peer: `build` (r gets the build) or `query EF`. NULL when it failed. */
static char *peer(const opts *o, const char *files, const char *engine, const char *what) {
  char *cmd = fmt("%s %s %s --engine %s --m %d --ef-construction %d --nlist %d --k %d --build-threads %d %s", o->python,
                  o->peer, files, engine, o->m, o->efc, o->nlist, K, o->build_threads, what);
  char *out = run_peer(cmd);
  sqlite3_free(cmd);
  return out;
}

/* ---------------------------------------------------------------- one data set */

/* semlite ivf, then FAISS IVF-Flat when ivf_peer, at each nprobe (alternating). */
static void run_ivf(const opts *o, sqlite3 *db, sqlite3 *meta, const char *set, const char *files, const float *queries,
                    const long *truth, int ivf_peer) {
  result *r;
  char *out;
  if (o->n_nprobes < 1 || o->nprobes[0] < 1) return;
  {
    char *create = fmt("CREATE VIRTUAL TABLE v USING semlite_vec(e float[384] distance_metric=cosine indexed by "
                       "ivf(nlist=%d, nprobe=1))", o->nlist);
    const float *rows = queries - (size_t)o->n * DIM;
    exec_sql(db, create);
    sqlite3_free(create);
    cpu_sample c0 = cpu_now();
    double bc0 = cpu_s(), t0 = now_s(), fill_s, train_s, train_cpu;
    fill(db, "v", rows, o->n, 0);
    fill_s = now_s() - t0;
    t0 = now_s();
    train_cpu = cpu_s();
    exec_sql(db, "INSERT INTO v(v) VALUES ('compute-centroids')");
    train_s = now_s() - t0;
    train_cpu = cpu_s() - train_cpu;
    sqlite3_int64 bytes = run_sql(db, "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'v\\_ivf%' ESCAPE '\\'", NULL, NULL);
    r = add_result(set, "semlite-ivf", -1);
    r->build_s = fill_s + train_s;
    r->build_cpu_s = cpu_s() - bc0;
    r->bytes_per_vec = (double)bytes / o->n;
    r->other = other_cpus(c0, cpu_now());
    printf("%-10s %-16s build %.1f s wall (inserts %.1f s, compute-centroids %.1f s wall, %.1f s CPU), %.1f s CPU, "
           "%.0f bytes/vector on disk (T_ivf_*), other CPUs %.2f\n", set, "semlite-ivf", r->build_s, fill_s, train_s,
           train_cpu, r->build_cpu_s, r->bytes_per_vec, r->other);
  }
  if (ivf_peer && (out = peer(o, files, "faiss-ivf", "build"))) {
    r = add_result(set, "faiss-ivf", -1);
    peer_result(meta, out, r);
    printf("%-10s %-16s build %.1f s wall, %.1f s CPU, %.0f bytes/vector in memory\n", set, "faiss-ivf", r->build_s,
           r->build_cpu_s, r->bytes_per_vec);
    free(out);
  } else {
    ivf_peer = 0;
  }
  for (int e = 0; e < o->n_nprobes; e++) {
    int np = o->nprobes[e] < o->nlist ? o->nprobes[e] : o->nlist;
    char *knob = fmt("INSERT INTO v(v) VALUES ('nprobe=%d')", np), *what = fmt("query --ef %d", np);
    exec_sql(db, knob);
    r = add_result(set, "semlite-ivf", np);
    run_queries(db, "v", "", queries, o->n_queries, truth, NULL, r);  /* warm: the lists into the ANN cache */
    run_queries(db, "v", "", queries, o->n_queries, truth, NULL, r);
    print_result(r);
    if (ivf_peer && (out = peer(o, files, "faiss-ivf", what))) {
      r = add_result(set, "faiss-ivf", np);
      peer_result(meta, out, r);
      print_result(r);
      free(out);
    }
    sqlite3_free(knob);
    sqlite3_free(what);
  }
}

static void run_set(const opts *o, const char *set, const char *const *peers, int n_peers, int ivf_peer) {
  float *v = make_set(set, o->n, o->n_queries, o->seed);
  const float *queries = v + (size_t)o->n * DIM;
  long *truth = xrealloc(NULL, (size_t)o->n_queries * K * sizeof *truth);
  char *path = fmt("%s/ann-%s.db", args.out, set), *base = fmt("%s/ann-%s", args.out, set);
  char *files = fmt("--base %s.base.f32 --queries %s.queries.f32 --truth %s.truth.i64 --index %s", base, base, base, base);
  sqlite3 *db, *meta = open_db(":memory:", NULL, NULL);
  result *r;
  double t0;

  remove(path);
  db = open_db(path, args.so, NULL);
  exec_sql(db, "PRAGMA page_size = 4096; PRAGMA cache_size = -262144; PRAGMA mmap_size = 17179869184");

  /* exact: the reference, and its speed */
  exec_sql(db, o->n_filters ? "CREATE VIRTUAL TABLE x USING semlite_vec(e float[384] distance_metric=cosine, cat integer)"
                            : "CREATE VIRTUAL TABLE x USING semlite_vec(e float[384] distance_metric=cosine)");
  fill(db, "x", v, o->n, o->n_filters > 0);
  r = add_result(set, "semlite-exact", 0);
  run_queries(db, "x", "", queries, o->n_queries, NULL, truth, r);
  r->recall = 1;
  print_result(r);

  /* the vectors, queries and truth for the peers */
  {
    char *p = fmt("%s.base.f32", base);
    FILE *f = out_open(p, "wb");
    fwrite(v, sizeof *v, (size_t)o->n * DIM, f);
    out_close(f, p);
    sqlite3_free(p);
    p = fmt("%s.queries.f32", base);
    f = out_open(p, "wb");
    fwrite(queries, sizeof *v, (size_t)o->n_queries * DIM, f);
    out_close(f, p);
    sqlite3_free(p);
    p = fmt("%s.truth.i64", base);
    f = out_open(p, "wb");
    for (size_t i = 0; i < (size_t)o->n_queries * K; i++) {
      int64_t id = truth[i] - 1;  /* the peers number rows from 0 */
      fwrite(&id, sizeof id, 1, f);
    }
    out_close(f, p);
    sqlite3_free(p);
  }

  /* builds */
  if (!o->no_hnsw) {
    char *create = fmt("CREATE VIRTUAL TABLE t USING semlite_vec(e float[384] distance_metric=cosine indexed by "
                       "hnsw(m=%d, ef_construction=%d)%s)", o->m, o->efc, o->n_filters ? ", cat integer" : "");
    exec_sql(db, create);
    sqlite3_free(create);
    create = fmt("UPDATE semlite_limits SET value = %d WHERE name = 'threads'", o->build_threads);
    exec_sql(db, create);
    sqlite3_free(create);
    cpu_sample c0 = cpu_now();
    double bc0 = cpu_s();
    t0 = now_s();
    fill(db, "t", v, o->n, o->n_filters > 0);
    double build = now_s() - t0, build_cpu = cpu_s() - bc0;
    sqlite3_int64 bytes = run_sql(db, "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 't\\_hnsw%' ESCAPE '\\'", NULL, NULL);
    r = add_result(set, "semlite-hnsw", -1);
    r->build_s = build;
    r->build_cpu_s = build_cpu;
    r->bytes_per_vec = (double)bytes / o->n;
    r->other = other_cpus(c0, cpu_now());
    printf("%-10s %-16s build %.1f s wall, %.1f s CPU, %.0f bytes/vector on disk (T_hnsw_*), other CPUs %.2f\n", set,
           "semlite-hnsw", build, build_cpu, r->bytes_per_vec, r->other);
  }
  for (int p = 0; p < n_peers && !o->no_hnsw; p++) {
    char *out = peer(o, files, peers[p], "build");
    if (!out) continue;
    r = add_result(set, peers[p], -1);
    peer_result(meta, out, r);
    printf("%-10s %-16s build %.1f s wall, %.1f s CPU, %.0f bytes/vector in memory\n", set, peers[p], r->build_s,
           r->build_cpu_s, r->bytes_per_vec);
    free(out);
  }

  /* queries, alternating engines at each ef */
  for (int e = 0; e < o->n_efs && !o->no_hnsw; e++) {
    char *knob = fmt("INSERT INTO t(t) VALUES ('ef_search=%d')", o->efs[e]), *what = fmt("query --ef %d", o->efs[e]);
    exec_sql(db, knob);
    r = add_result(set, "semlite-hnsw", o->efs[e]);
    run_queries(db, "t", "", queries, o->n_queries, truth, NULL, r);  /* warm: the graph and chunks into the caches */
    run_queries(db, "t", "", queries, o->n_queries, truth, NULL, r);
    print_result(r);
    for (int p = 0; p < n_peers; p++) {
      char *out = peer(o, files, peers[p], what);
      if (!out) continue;
      r = add_result(set, peers[p], o->efs[e]);
      peer_result(meta, out, r);
      print_result(r);
      free(out);
    }
    sqlite3_free(knob);
    sqlite3_free(what);
  }
  run_ivf(o, db, meta, set, files, queries, truth, ivf_peer);
  /* filters: the graph and the exact scan at each share of rows let through */
  if (o->n_filters && !o->no_hnsw) {
    long *ftruth = xrealloc(NULL, (size_t)o->n_queries * K * sizeof *ftruth);
    char *knob = fmt("INSERT INTO t(t) VALUES ('ef_search=%d')", o->efs[0]);
    exec_sql(db, knob);
    sqlite3_free(knob);
    for (int f = 0; f < o->n_filters; f++) {
      char *and = fmt("AND cat < %d", o->filters[f]);
      result tmp;
      run_queries(db, "x", and, queries, o->n_queries, NULL, ftruth, &tmp);
      for (int exact = 0; exact <= 1; exact++) {
        exec_sql(db, exact ? "INSERT INTO t(t) VALUES ('filter_exact_pct=100')" : "INSERT INTO t(t) VALUES ('filter_exact_pct=0')");
        r = add_result(set, exact ? "filter-exact" : "filter-graph", o->filters[f]);
        run_queries(db, "t", and, queries, o->n_queries, ftruth, NULL, r);
        print_result(r);
      }
      sqlite3_free(and);
    }
    exec_sql(db, "INSERT INTO t(t) VALUES ('filter_exact_pct=10')");
    free(ftruth);
  }
  sqlite3_close(db);

  /* sqlite-vec's exact search, on the first queries */
  if (o->vec0 && *o->vec0) {
    char *p = fmt("%s/ann-%s-vec0.db", args.out, set);
    remove(p);
    db = open_db(p, o->vec0, NULL);
    exec_sql(db, "PRAGMA page_size = 4096; PRAGMA cache_size = -262144; PRAGMA mmap_size = 17179869184");
    exec_sql(db, "CREATE VIRTUAL TABLE t USING vec0(e float[384] distance_metric=cosine)");
    fill(db, "t", v, o->n, 0);
    r = add_result(set, "sqlite-vec-exact", 0);
    run_queries(db, "t", "", queries, o->n_vec0_queries < o->n_queries ? o->n_vec0_queries : o->n_queries, truth, NULL, r);
    print_result(r);
    sqlite3_close(db);
    if (!o->keep) remove(p);
    sqlite3_free(p);
  }
  if (!o->keep) {
    const char *ext[] = {".base.f32", ".queries.f32", ".truth.i64", ".hnswlib", ".faiss", ".faiss-ivf"};
    for (int i = 0; i < 6; i++) {
      char *p = fmt("%s%s", base, ext[i]);
      remove(p);
      sqlite3_free(p);
    }
    remove(path);
  }
  sqlite3_close(meta);
  sqlite3_free(path), sqlite3_free(base), sqlite3_free(files);
  free(truth);
  free(v);
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv) {
  opts o;
  const char *peers[2];
  int n_peers = 0, ivf_peer = 0;
  double la[3];
  char sets[64], *save = NULL;
  bench_init("bench_ann", 1);
  parse_opts(argc, argv, &o);
  mkdirs(args.out);
  if (o.python && *o.python) {
    char *cmd = fmt("%s %s --probe", o.python, o.peer), *out = run_peer(cmd);
    if (out && strstr(out, "hnswlib")) peers[n_peers++] = "hnswlib";
    if (out && strstr(out, "faiss") && o.faiss) peers[n_peers++] = "faiss";
    ivf_peer = out && strstr(out, "faiss") != NULL;
    free(out);
    sqlite3_free(cmd);
  }
  load_average(la);
  printf("bench_ann: %ld x %d, cosine, k=%d, %d queries one at a time, M=%d ef_construction=%d, peers:", o.n, DIM, K,
         o.n_queries, o.m, o.efc);
  for (int p = 0; p < n_peers; p++) printf(" %s", peers[p]);
  if (ivf_peer && o.n_nprobes > 0 && o.nprobes[0] > 0) printf(" faiss-ivf (IndexIVFFlat, nlist=%d)", o.nlist);
  printf("\nload average at start: %.2f %.2f %.2f (a shared machine: compare ratios within this run)\n\n", la[0], la[1],
         la[2]);
  printf("(filter-graph and filter-exact rows: the ef column is the percent of rows the filter lets through;\n"
         " semlite-ivf and faiss-ivf rows: it is nprobe)\n");
  printf("%-10s %-16s %5s %9s %9s %8s %7s %9s %9s %6s\n", "set", "engine", "ef", "qps", "qps/cpu", "p50 ms", "rec@10",
         "build cpu", "B/vector", "other");
  snprintf(sets, sizeof sets, "%s", o.sets);
  for (char *s = strtok_r(sets, ",", &save); s; s = strtok_r(NULL, ",", &save)) run_set(&o, s, peers, n_peers, ivf_peer);
  load_average(la);
  printf("\nload average at end: %.2f %.2f %.2f\n", la[0], la[1], la[2]);

  /* ratios at each ef: semlite / hnswlib, semlite / sqlite-vec exact */
  printf("\nratios (semlite hnsw / peer at the same ef, queries per CPU-second; recall in brackets)\n");
  for (int i = 0; i < n_results; i++) {
    const result *r = &results[i], *h, *ve;
    if (strcmp(r->engine, "semlite-hnsw") || r->ef <= 0) continue;
    h = find(r->set, "hnswlib", r->ef);
    ve = find(r->set, "sqlite-vec-exact", 0);
    printf("%-10s ef %4d  semlite %.3f", r->set, r->ef, r->recall);
    if (h) printf("  vs hnswlib %.2fx (%.3f)", r->cpu_qps / h->cpu_qps, h->recall);
    if (ve) printf("  vs sqlite-vec exact %.0fx", r->cpu_qps / ve->cpu_qps);
    printf("\n");
  }
  printf("\nratios (semlite ivf / FAISS IVF-Flat at the same nprobe, queries per CPU-second; recall in brackets)\n");
  for (int i = 0; i < n_results; i++) {
    const result *r = &results[i], *f, *ve;
    if (strcmp(r->engine, "semlite-ivf") || r->ef <= 0) continue;
    f = find(r->set, "faiss-ivf", r->ef);
    ve = find(r->set, "sqlite-vec-exact", 0);
    printf("%-10s nprobe %4d  semlite %.3f", r->set, r->ef, r->recall);
    if (f) printf("  vs faiss-ivf %.2fx (%.3f)", r->cpu_qps / f->cpu_qps, f->recall);
    if (ve) printf("  vs sqlite-vec exact %.0fx", r->cpu_qps / ve->cpu_qps);
    printf("\n");
  }

  char *path = fmt("%s/ann.csv", args.out);
  FILE *csv = out_open(path, "w");
  fprintf(csv, "set,engine,ef,qps,qps_per_cpu_s,p50_ms,recall10,build_s,build_cpu_s,bytes_per_vector,other_cpus\n");
  for (int i = 0; i < n_results; i++) {
    const result *r = &results[i];
    fprintf(csv, "%s,%s,%d", r->set, r->engine, r->ef);
    csv_num(csv, r->qps), csv_num(csv, r->cpu_qps), csv_num(csv, r->p50), csv_num(csv, r->recall);
    csv_num(csv, r->build_s), csv_num(csv, r->build_cpu_s);
    csv_num(csv, r->bytes_per_vec), csv_num(csv, r->other);
    fprintf(csv, "\n");
  }
  out_close(csv, path);
  sqlite3_free(path);

  /* the plot's data: one block per (set, engine) curve: recall qps */
  path = fmt("%s/ann-plot.dat", args.out);
  FILE *dat = out_open(path, "w");
  snprintf(sets, sizeof sets, "%s", o.sets);
  int blocks = 0;
  for (char *s = strtok_r(sets, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
    const char *engines[] = {"semlite-hnsw", "hnswlib", "faiss", "semlite-ivf", "faiss-ivf", "semlite-exact",
                             "sqlite-vec-exact"};
    for (int e = 0; e < 7; e++) {
      int any = 0;
      for (int i = 0; i < n_results; i++)
        if (!strcmp(results[i].set, s) && !strcmp(results[i].engine, engines[e]) && results[i].ef >= 0) any = 1;
      if (!any) continue;
      fprintf(dat, "recall10 qps \"%s %s\"\n", s, engines[e]);
      for (int i = 0; i < n_results; i++)
        if (!strcmp(results[i].set, s) && !strcmp(results[i].engine, engines[e]) && results[i].ef >= 0)
          fprintf(dat, "%.4f %.1f \"%s %s\"\n", results[i].recall, results[i].cpu_qps, s, engines[e]);
      fprintf(dat, "\n\n");
      blocks++;
    }
  }
  out_close(dat, path);
  if (args.plot && *args.plot) {
    char *e = fmt("datafile='%q'; outfile='%q/ann.png'; nblocks=%d; title='%ld x 384, M=%d, ef_construction=%d'", path,
                  args.out, blocks, o.n, o.m, o.efc);
    gnuplot(args.plot, e);
    sqlite3_free(e);
  }
  sqlite3_free(path);
  return 0;
}
