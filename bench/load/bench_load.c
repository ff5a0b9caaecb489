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
#include "../common.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct opts {
  int levels[8], n_levels;
} opts;

static void parse_opts(int argc, char **argv, opts *o) {
  *o = (opts){ .levels = {1, 2, 4, 8, 16}, .n_levels = 5 };
  args.seconds = 5;
  const bench_opt own[] = {
    OPT_LIST("--conns", OPT_INTS, o->levels, "LIST", "connection counts, 1 to 64 each", &o->n_levels, 8),
    OPT_END,
  };
  parse_args(argc, argv, "[options]", ARG_SO | ARG_EMBED | ARG_RERANK | ARG_OUT | ARG_PLOT | ARG_SECONDS, own);
  for (int i = 0; i < o->n_levels; i++) if (o->levels[i] > 64) usage_exit();
}

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

static char db_path[512];

static sqlite3 *open_conn(void) {
  sqlite3 *db = open_db(db_path, args.so, "sqlite3_semlite_init");
  sqlite3_busy_timeout(db, 60000);
  return db;
}

/* The shared database: 2,000 documents with their embeddings (made once per run). */
static void prepare(void) {
  sqlite3 *db;
  sqlite3_stmt *st;
  snprintf(db_path, sizeof db_path, "%s/load.db", args.out);
  unlink(db_path);
  db = open_conn();
  exec_sql(db, "PRAGMA journal_mode = WAL");
  load_model(db, "minilm", args.embed, NULL);
  load_model(db, "ce", args.rerank, NULL);
  exec_sql(db, "CREATE TABLE docs(id INTEGER PRIMARY KEY, body TEXT)");
  exec_sql(db, "CREATE VIRTUAL TABLE vecs USING semlite_vec(embedding float[384] distance_metric=cosine)");
  st = prep(db, "INSERT INTO docs(id, body) VALUES (?1, ?2)");
  exec_sql(db, "BEGIN");
  for (int i = 0; i < 2000; i++) {
    char body[256];
    snprintf(body, sizeof body, "event %d from the %s: status report number %d, checked at %02d:%02d", i,
             topics[i % 12], i / 12, (i * 7) % 24, (i * 13) % 60);
    sqlite3_bind_int(st, 1, i + 1);
    sqlite3_bind_text(st, 2, body, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) die_db(db, "insert");
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  exec_sql(db, "INSERT INTO vecs(rowid, embedding) SELECT d.id, e.embedding FROM "
           "(SELECT json_group_array(body) AS a FROM (SELECT body FROM docs ORDER BY id)) j, "
           "embed_each('minilm', j.a) e JOIN docs d ON d.id = e.i + 1");
  exec_sql(db, "COMMIT");
  sqlite3_close(db);
}

typedef struct worker {
  int search, id;
  double until;
  double *lat;
  size_t n, cap;
} worker;

static void run_request(sqlite3_stmt *st, const char *q) {
  sqlite3_bind_text(st, 1, q, -1, SQLITE_STATIC);
  while (sqlite3_step(st) == SQLITE_ROW) {}
  if (sqlite3_reset(st) != SQLITE_OK) die_db(sqlite3_db_handle(st), "request");
}

static void *worker_main(void *arg) {
  worker *w = arg;
  sqlite3 *db = open_conn();
  sqlite3_stmt *st;
  const char *sql = w->search
    ? "WITH hits AS (SELECT rowid, distance FROM vecs WHERE embedding MATCH embed('minilm', ?1) AND k = 20), "
      "docs20 AS (SELECT json_group_array(body) AS a, json_group_array(id) AS ids FROM "
      "(SELECT d.body, d.id FROM hits h JOIN docs d ON d.id = h.rowid ORDER BY h.distance)) "
      "SELECT json_extract(docs20.ids, '$[' || r.i || ']'), r.score FROM docs20, rerank_each('ce', ?1, docs20.a) r "
      "ORDER BY r.score DESC LIMIT 5"
    : "SELECT embed('minilm', ?1)";
  st = prep(db, sql);
  for (size_t k = (size_t)w->id; now_s() < w->until; k++) {
    double t0 = now_s();
    run_request(st, queries[k % N_QUERIES]);
    if (w->n == w->cap) {
      w->cap = w->cap ? w->cap * 2 : 256;
      w->lat = xrealloc(w->lat, w->cap * sizeof *w->lat);
    }
    w->lat[w->n++] = (now_s() - t0) * 1e3;
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return NULL;
}

typedef struct result {
  int conns, search;
  size_t requests;
  double seconds, rps, p50, p95, p99, metrics_embed_p95;
} result;

static result run_level(sqlite3 *ctl, int conns, int search) {
  pthread_t th[64];
  worker w[64];
  result r = {conns, search, 0, 0, 0, 0, 0, 0, 0};
  double t0, *all;
  size_t n = 0;
  sqlite3_stmt *st;
  exec_sql(ctl, "DELETE FROM semlite_metrics");
  t0 = now_s();
  for (int i = 0; i < conns; i++) {
    w[i] = (worker){search, i, t0 + args.seconds, NULL, 0, 0};
    pthread_create(&th[i], NULL, worker_main, &w[i]);
  }
  for (int i = 0; i < conns; i++) {
    pthread_join(th[i], NULL);
    n += w[i].n;
  }
  r.seconds = now_s() - t0;
  all = xrealloc(NULL, n * sizeof *all);
  n = 0;
  for (int i = 0; i < conns; i++) {
    memcpy(all + n, w[i].lat, w[i].n * sizeof *all);
    n += w[i].n;
    free(w[i].lat);
  }
  qsort(all, n, sizeof *all, cmp_double);
  r.requests = n;
  r.rps = (double)n / r.seconds;
  r.p50 = percentile(all, n, 50);
  r.p95 = percentile(all, n, 95);
  r.p99 = percentile(all, n, 99);
  free(all);
  if (sqlite3_prepare_v2(ctl, "SELECT p95_ms FROM semlite_metrics WHERE op = 'embed'", -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    r.metrics_embed_p95 = sqlite3_column_double(st, 0);
  sqlite3_finalize(st);
  return r;
}

int main(int argc, char **argv) {
  opts o;
  result res[16];
  int n_res = 0;
  FILE *csv;
  char path[1024];
  sqlite3 *ctl;
  bench_init("bench_load", 1);
  parse_opts(argc, argv, &o);
  if (sqlite3_threadsafe() == 0) die("SQLite is built without threads");

  mkdirs(args.out);
  prepare();
  ctl = open_conn();
  printf("%-7s %5s %9s %9s %9s %9s %9s %14s\n", "work", "conns", "requests", "req/s", "p50_ms", "p95_ms", "p99_ms",
         "embed_p95(m)");
  for (int search = 0; search < 2; search++) {
    for (int l = 0; l < o.n_levels; l++) {
      result r = run_level(ctl, o.levels[l], search);
      res[n_res++] = r;
      printf("%-7s %5d %9zu %9.1f %9.1f %9.1f %9.1f %14.1f\n", search ? "search" : "embed", r.conns, r.requests,
             r.rps, r.p50, r.p95, r.p99, r.metrics_embed_p95);
      fflush(stdout);
    }
  }
  sqlite3_close(ctl);

  snprintf(path, sizeof path, "%s/load.csv", args.out);
  csv = out_open(path, "w");
  fprintf(csv, "workload,connections,requests,seconds,requests_per_s,p50_ms,p95_ms,p99_ms,metrics_embed_p95_ms\n");
  for (int i = 0; i < n_res; i++)
    fprintf(csv, "%s,%d,%zu,%.3f,%.2f,%.2f,%.2f,%.2f,%.2f\n", res[i].search ? "search" : "embed", res[i].conns,
            res[i].requests, res[i].seconds, res[i].rps, res[i].p50, res[i].p95, res[i].p99, res[i].metrics_embed_p95);
  out_close(csv, path);
  if (args.plot && *args.plot) {
    char *e = fmt("datafile='%q/load.csv'; outfile='%q/load.png'", args.out, args.out);
    gnuplot(args.plot, e);
    sqlite3_free(e);
  }
  snprintf(path, sizeof path, "%s-wal", db_path);
  unlink(path);
  snprintf(path, sizeof path, "%s-shm", db_path);
  unlink(path);
  unlink(db_path);
  return 0;
}
