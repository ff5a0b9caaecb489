/*
** bench_load.c: throughput and latency of semlite under 1, 2, 4, 8 and 16 concurrent
** connections, each on its own thread, as a home hub's users or an edge box's clients
** would load it.
**
** Two workloads, each request timed end to end:
**   embed    one embed() of a short query (the unit every search starts with)
**   search   a user's search: embed the query, k = 20 nearest of 2,000 documents in a
**            semlite_vec table of one WAL file shared by every connection, rerank_each
**            of the 20 with the cross-encoder, the best 5 returned
** Each level runs for --seconds; a connection issues its next request as soon as the last
** returns (closed loop), so the connection count is the concurrency. The table gives
** requests/s and p50/p95/p99 of the request latency measured here, and, as a check of
** the metrics table against an outside clock, the p95 semlite_metrics reports for the
** embed operation over the same level.
**
** Output: the table on stdout, <out>/load.csv, <out>/load.png (gnuplot).
*/
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct opts {
  const char *so, *embed, *rerank, *out, *plot;
  double seconds;
  int levels[8], n_levels;
} opts;

static const char *const queries[] = {
  "is the garage door open", "turn the heating down a little", "what did the doorbell camera see",
  "when does the washing machine finish", "water leak in the basement", "lights in the living room",
  "who is at the front door", "how warm is the bedroom", "play the news on the kitchen speaker",
  "did the dishwasher run last night", "is the back door locked", "set an alarm for seven",
};
#define N_QUERIES (sizeof queries / sizeof queries[0])

static const char *const topics[] = {
  "garage door", "thermostat", "doorbell camera", "washing machine", "water leak sensor", "living room lights",
  "front door lock", "bedroom temperature", "kitchen speaker", "dishwasher", "back door", "alarm clock",
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, sqlite3 *db) {
  fprintf(stderr, "bench_load: %s: %s\n", what, db ? sqlite3_errmsg(db) : "");
  exit(1);
}

static char db_path[512];

static sqlite3 *open_conn(const opts *o) {
  sqlite3 *db;
  char *err = NULL;
  if (sqlite3_open(db_path, &db) != SQLITE_OK) die("open", db);
  sqlite3_busy_timeout(db, 60000);
  sqlite3_enable_load_extension(db, 1);
  if (sqlite3_load_extension(db, o->so, "sqlite3_semlite_init", &err) != SQLITE_OK) {
    fprintf(stderr, "bench_load: cannot load %s: %s\n", o->so, err ? err : "?");
    exit(1);
  }
  return db;
}

static void exec(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
    fprintf(stderr, "bench_load: %s: %s\n", sql, err ? err : "?");
    exit(1);
  }
}

/* The shared database: 2,000 documents with their embeddings (made once per run). */
static void prepare(const opts *o) {
  sqlite3 *db;
  sqlite3_stmt *st;
  char sql[8192];
  snprintf(db_path, sizeof db_path, "%s/load.db", o->out);
  unlink(db_path);
  db = open_conn(o);
  exec(db, "PRAGMA journal_mode = WAL");
  snprintf(sql, sizeof sql, "SELECT semlite_model_load('minilm', '%s'), semlite_model_load('ce', '%s')", o->embed,
           o->rerank);
  exec(db, sql);
  exec(db, "CREATE TABLE docs(id INTEGER PRIMARY KEY, body TEXT)");
  exec(db, "CREATE VIRTUAL TABLE vecs USING semlite_vec(embedding float[384] distance_metric=cosine)");
  if (sqlite3_prepare_v2(db, "INSERT INTO docs(id, body) VALUES (?1, ?2)", -1, &st, NULL) != SQLITE_OK) die("insert", db);
  exec(db, "BEGIN");
  for (int i = 0; i < 2000; i++) {
    char body[256];
    snprintf(body, sizeof body, "event %d from the %s: status report number %d, checked at %02d:%02d", i,
             topics[i % 12], i / 12, (i * 7) % 24, (i * 13) % 60);
    sqlite3_bind_int(st, 1, i + 1);
    sqlite3_bind_text(st, 2, body, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) die("insert", db);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  exec(db, "INSERT INTO vecs(rowid, embedding) SELECT d.id, e.embedding FROM "
           "(SELECT json_group_array(body) AS a FROM (SELECT body FROM docs ORDER BY id)) j, "
           "embed_each('minilm', j.a) e JOIN docs d ON d.id = e.i + 1");
  exec(db, "COMMIT");
  sqlite3_close(db);
}

typedef struct worker {
  const opts *o;
  int search, id;
  double until;
  double *lat;
  size_t n, cap;
} worker;

static void run_request(sqlite3_stmt *st, const char *q) {
  sqlite3_bind_text(st, 1, q, -1, SQLITE_STATIC);
  while (sqlite3_step(st) == SQLITE_ROW) {}
  if (sqlite3_reset(st) != SQLITE_OK) die("request", sqlite3_db_handle(st));
}

static void *worker_main(void *arg) {
  worker *w = arg;
  sqlite3 *db = open_conn(w->o);
  sqlite3_stmt *st;
  const char *sql = w->search
    ? "WITH hits AS (SELECT rowid, distance FROM vecs WHERE embedding MATCH embed('minilm', ?1) AND k = 20), "
      "docs20 AS (SELECT json_group_array(body) AS a, json_group_array(id) AS ids FROM "
      "(SELECT d.body, d.id FROM hits h JOIN docs d ON d.id = h.rowid ORDER BY h.distance)) "
      "SELECT json_extract(docs20.ids, '$[' || r.i || ']'), r.score FROM docs20, rerank_each('ce', ?1, docs20.a) r "
      "ORDER BY r.score DESC LIMIT 5"
    : "SELECT embed('minilm', ?1)";
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) die("prepare", db);
  for (size_t k = (size_t)w->id; now_s() < w->until; k++) {
    double t0 = now_s();
    run_request(st, queries[k % N_QUERIES]);
    if (w->n == w->cap) {
      w->cap = w->cap ? w->cap * 2 : 256;
      if (!(w->lat = realloc(w->lat, w->cap * sizeof *w->lat))) die("out of memory", NULL);
    }
    w->lat[w->n++] = (now_s() - t0) * 1e3;
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return NULL;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double q) {
  size_t r = (size_t)ceil(q * (double)n);
  return n ? v[(r ? r : 1) - 1] : 0;
}

typedef struct result {
  int conns, search;
  size_t requests;
  double seconds, rps, p50, p95, p99, metrics_embed_p95;
} result;

static result run_level(const opts *o, sqlite3 *ctl, int conns, int search) {
  pthread_t th[64];
  worker w[64];
  result r = {conns, search, 0, 0, 0, 0, 0, 0, 0};
  double t0, *all;
  size_t n = 0;
  sqlite3_stmt *st;
  exec(ctl, "DELETE FROM semlite_metrics");
  t0 = now_s();
  for (int i = 0; i < conns; i++) {
    w[i] = (worker){o, search, i, t0 + o->seconds, NULL, 0, 0};
    pthread_create(&th[i], NULL, worker_main, &w[i]);
  }
  for (int i = 0; i < conns; i++) {
    pthread_join(th[i], NULL);
    n += w[i].n;
  }
  r.seconds = now_s() - t0;
  if (!(all = malloc((n ? n : 1) * sizeof *all))) die("out of memory", NULL);
  n = 0;
  for (int i = 0; i < conns; i++) {
    memcpy(all + n, w[i].lat, w[i].n * sizeof *all);
    n += w[i].n;
    free(w[i].lat);
  }
  qsort(all, n, sizeof *all, cmp_double);
  r.requests = n;
  r.rps = (double)n / r.seconds;
  r.p50 = pct(all, n, 0.50);
  r.p95 = pct(all, n, 0.95);
  r.p99 = pct(all, n, 0.99);
  free(all);
  if (sqlite3_prepare_v2(ctl, "SELECT p95_ms FROM semlite_metrics WHERE op = 'embed'", -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    r.metrics_embed_p95 = sqlite3_column_double(st, 0);
  sqlite3_finalize(st);
  return r;
}

static void usage(void) {
  fprintf(stderr,
          "usage: bench_load --so PATH --embed DIR --rerank DIR [options]\n"
          "  --out DIR        results (bench/out)\n"
          "  --seconds S      per level and workload (5)\n"
          "  --conns LIST     connection counts (1,2,4,8,16)\n"
          "  --plot FILE      gnuplot script (bench/load/plot.gp); '' to skip the PNG\n");
  exit(2);
}

int main(int argc, char **argv) {
  opts o = {NULL, NULL, NULL, "bench/out", "bench/load/plot.gp", 5, {1, 2, 4, 8, 16}, 5};
  result res[16];
  int n_res = 0;
  FILE *csv;
  char path[1024];
  sqlite3 *ctl;
  for (int i = 1; i < argc; i++) {
    if (i + 1 >= argc) usage();
    if (!strcmp(argv[i], "--so")) o.so = argv[++i];
    else if (!strcmp(argv[i], "--embed")) o.embed = argv[++i];
    else if (!strcmp(argv[i], "--rerank")) o.rerank = argv[++i];
    else if (!strcmp(argv[i], "--out")) o.out = argv[++i];
    else if (!strcmp(argv[i], "--plot")) o.plot = argv[++i];
    else if (!strcmp(argv[i], "--seconds")) o.seconds = atof(argv[++i]);
    else if (!strcmp(argv[i], "--conns")) {
      char *s = argv[++i];
      o.n_levels = 0;
      for (char *t = strtok(s, ","); t && o.n_levels < 8; t = strtok(NULL, ",")) {
        int c = atoi(t);
        if (c < 1 || c > 64) usage();
        o.levels[o.n_levels++] = c;
      }
    } else usage();
  }
  if (!o.so || !o.embed || !o.rerank || o.seconds <= 0 || o.n_levels == 0) usage();
  if (sqlite3_threadsafe() == 0) die("SQLite is built without threads", NULL);

  mkdir(o.out, 0755);            /* may exist */
  prepare(&o);
  ctl = open_conn(&o);
  printf("%-7s %5s %9s %9s %9s %9s %9s %14s\n", "work", "conns", "requests", "req/s", "p50_ms", "p95_ms", "p99_ms",
         "embed_p95(m)");
  for (int search = 0; search < 2; search++) {
    for (int l = 0; l < o.n_levels; l++) {
      result r = run_level(&o, ctl, o.levels[l], search);
      res[n_res++] = r;
      printf("%-7s %5d %9zu %9.1f %9.1f %9.1f %9.1f %14.1f\n", search ? "search" : "embed", r.conns, r.requests,
             r.rps, r.p50, r.p95, r.p99, r.metrics_embed_p95);
      fflush(stdout);
    }
  }
  sqlite3_close(ctl);

  snprintf(path, sizeof path, "%s/load.csv", o.out);
  if (!(csv = fopen(path, "w"))) die("cannot write load.csv", NULL);
  fprintf(csv, "workload,connections,requests,seconds,requests_per_s,p50_ms,p95_ms,p99_ms,metrics_embed_p95_ms\n");
  for (int i = 0; i < n_res; i++)
    fprintf(csv, "%s,%d,%zu,%.3f,%.2f,%.2f,%.2f,%.2f,%.2f\n", res[i].search ? "search" : "embed", res[i].conns,
            res[i].requests, res[i].seconds, res[i].rps, res[i].p50, res[i].p95, res[i].p99, res[i].metrics_embed_p95);
  fclose(csv);
  if (o.plot && *o.plot) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "gnuplot -e \"datafile='%s/load.csv'; outfile='%s/load.png'\" %s", o.out, o.out, o.plot);
    if (system(cmd) != 0) fprintf(stderr, "bench_load: gnuplot failed (the CSV is complete)\n");
  }
  snprintf(path, sizeof path, "%s-wal", db_path);
  unlink(path);
  snprintf(path, sizeof path, "%s-shm", db_path);
  unlink(path);
  unlink(db_path);
  return 0;
}
