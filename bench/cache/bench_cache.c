/*
** bench_cache.c: the inference cache's benchmark (docs/cache.md), through SQL on semlite.so.
**
** 1. Latency of one embed() of a 16-token text: a miss without the cache, a miss with it
**    (the forward pass plus the L2 insert and its triggers), an L2 hit (L1 off: a SELECT
**    and the UPDATE of the hit count, in :memory: and in a WAL file, autocommit and in a
**    transaction) and an L1 hit. The ratios miss / hit are the point; the target is an L1
**    hit at least 100x cheaper than the miss.
** 2. Hit rate of a re-run: every entity descriptor of a real home (shared/data/homes) is
**    embedded, one device is renamed (its entities' descriptors change), and all are
**    embedded again. A stand-in for re-running the synergy pipeline after a rename, which
**    does not exist yet; the target is >= 80%.
** 3. Eviction at scale: a cache of N entries (default 1M, 4-byte values like rerank
**    scores, so that the index walk and not the value I/O is measured) at its max_entries,
**    where every insert evicts one entry, under LRU and LFU, against the same inserts with
**    no limit; and one bulk eviction of 10% after lowering the limit.
**
** Prints a table and writes bench/out/cache.csv and cache.png (bench/cache/plot.gp).
** Timings are wall clock, best of --repeat runs of each loop.
*/
#include "../common.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct opts {
  long entries;          /* eviction bench size */
  int calls;             /* calls per latency loop */
  int repeat;
} opts;

static void parse_opts(int argc, char **argv, opts *o) {
  *o = (opts){ .entries = 1000000, .calls = 200, .repeat = 3 };
  const bench_opt own[] = {
    OPT("--entries", OPT_LONG, &o->entries, "N", "cache entries of the eviction bench"),
    OPT("--calls", OPT_INT, &o->calls, "N", "calls per latency loop"),
    OPT("--repeat", OPT_INT, &o->repeat, "N", "runs of each loop, the best kept"),
    OPT_END,
  };
  parse_args(argc, argv, "[options]", ARG_SO | ARG_MODEL | ARG_SHARED | ARG_HOME | ARG_OUT | ARG_PLOT, own);
  if (o->entries < 10 || o->calls < 1 || o->repeat < 1) usage_exit();
}

/* A connection to path with semlite and the model loaded as 'minilm'. */
static sqlite3 *open_cache_db(const char *path) {
  sqlite3 *db = open_db(path, args.so, NULL);
  load_model(db, "minilm", args.model, NULL);
  return db;
}

/* ---------------------------------------------------------------- 1. latency */

/* Texts of exactly 16 tokens ([CLS] and [SEP] included), distinct by a number. */
static char **make_texts(sqlite3 *db, int n) {
  char **t = malloc(n * sizeof *t);
  sqlite3_stmt *st;
  st = prep(db, "SELECT json_array_length(semlite_tokenize('minilm', ?1))");
  for (int i = 0; i < n; i++) {
    t[i] = malloc(128);
    snprintf(t[i], 128, "please turn the hallway light %d to warm white at half brightness right now", i);
    sqlite3_bind_text(st, 1, t[i], -1, SQLITE_STATIC);
    sqlite3_step(st);
    if (sqlite3_column_int(st, 0) != 16 && i == 0)
      fprintf(stderr, "note: the bench text has %d tokens\n", sqlite3_column_int(st, 0));
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  return t;
}

/* Seconds per call of embed over texts[0..n) (or texts[0] n times when same). */
static double time_embed(sqlite3 *db, char **texts, int n, int same) {
  sqlite3_stmt *st;
  double t0;
  st = prep(db, "SELECT embed('minilm', ?1)");
  t0 = now_s();
  for (int i = 0; i < n; i++) {
    sqlite3_bind_text(st, 1, texts[same ? 0 : i], -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) die("embed: %s", sqlite3_errmsg(db));
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  return (now_s() - t0) / n;
}

typedef struct result {
  char name[64];
  double us;
} result;

static result results[16];
static int n_results;

static void record(const char *name, double seconds) {
  snprintf(results[n_results].name, sizeof results[0].name, "%s", name);
  results[n_results++].us = seconds * 1e6;
}

static double best(double a, double b) { return a < b ? a : b; }

static void bench_latency(const opts *o) {
  char path[1024];
  int n = o->calls;
  char **texts;
  double miss_plain = 1e9, miss_cached = 1e9, l2_mem = 1e9, l2_file = 1e9, l2_tx = 1e9, l1 = 1e9;
  sqlite3 *mem = open_cache_db(":memory:"), *file;

  snprintf(path, sizeof path, "%s/cache-latency.db", args.out);
  unlink(path);
  file = open_cache_db(path);
  exec_sql(file, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
  texts = make_texts(mem, n * o->repeat);
  time_embed(mem, texts, 4, 1);   /* warm the model's pages and its identity hash */
  exec_sql(mem, "SELECT semlite_cache_enable(); UPDATE semlite_limits SET value = 0 WHERE name = 'l1_cache_mb'");
  time_embed(mem, texts, 1, 1);
  exec_sql(mem, "SELECT semlite_cache_disable()");
  for (int r = 0; r < o->repeat; r++) {
    char **slice = texts + r * n;
    exec_sql(mem, "SELECT semlite_cache_disable()");
    miss_plain = best(miss_plain, time_embed(mem, slice, n, 0));
    exec_sql(mem, "SELECT semlite_cache_enable(); DELETE FROM semlite_cache; UPDATE semlite_limits SET value = 0 WHERE name = 'l1_cache_mb'");
    miss_cached = best(miss_cached, time_embed(mem, slice, n, 0));
    l2_mem = best(l2_mem, time_embed(mem, slice, n * 20, 1));
    exec_sql(file, "SELECT semlite_cache_enable(); UPDATE semlite_limits SET value = 0 WHERE name = 'l1_cache_mb'");
    time_embed(file, slice, 1, 1);
    l2_file = best(l2_file, time_embed(file, slice, n * 20, 1));
    exec_sql(file, "BEGIN");
    l2_tx = best(l2_tx, time_embed(file, slice, n * 20, 1));
    exec_sql(file, "COMMIT");
    exec_sql(mem, "UPDATE semlite_limits SET value = 64 WHERE name = 'l1_cache_mb'");
    time_embed(mem, slice, 1, 1);
    l1 = best(l1, time_embed(mem, slice, n * 200, 1));
  }
  record("miss, no cache", miss_plain);
  record("miss, cached (+insert)", miss_cached);
  record("L2 hit, :memory:", l2_mem);
  record("L2 hit, WAL file", l2_file);
  record("L2 hit, WAL file, in txn", l2_tx);
  record("L1 hit", l1);
  printf("\n1. embed() of a 16-token text, per call (best of %d)\n", o->repeat);
  printf("   %-28s %12s %14s\n", "", "us/call", "miss/this");
  for (int i = 0; i < n_results; i++)
    printf("   %-28s %12.2f %13.0fx\n", results[i].name, results[i].us, miss_plain * 1e6 / results[i].us);
  for (int i = 0; i < n * o->repeat; i++) free(texts[i]);
  free(texts);
  sqlite3_close(mem);
  sqlite3_close(file);
  unlink(path);
}

/* ---------------------------------------------------------------- 2. re-run hit rate */

/* The descriptor the synergy pipeline will embed per entity: what a user calls it,
** what it is, where it is, what device it belongs to. */
#define DESCRIPTORS \
  "SELECT coalesce(e.name, e.entity_id) || ' | ' || e.domain || ' | ' || coalesce(a.name, '') || ' | ' || " \
  "coalesce(d.name, '') || ' ' || coalesce(d.manufacturer, '') || ' ' || coalesce(d.model, '') AS text " \
  "FROM entities e LEFT JOIN devices d USING (device_id) LEFT JOIN areas a ON a.area_id = coalesce(e.area_id, d.area_id)"

static double hit_rate_rerun(long *n_texts, long *changed) {
  char path[1024];
  sqlite3 *db = open_cache_db(":memory:");
  char *json;
  sqlite3_int64 h0, m0, h1, m1;

  snprintf(path, sizeof path, "%s/data/homes/%s", args.shared, args.home);
  json = read_file(path);
  run_sql(db, "CREATE TABLE home AS SELECT ?1 AS j", json, NULL);
  free(json);
  exec_sql(db,
       "CREATE TABLE areas AS SELECT value->>'area_id' AS area_id, value->>'name' AS name FROM home, json_each(j, '$.areas');"
       "CREATE TABLE devices AS SELECT value->>'device_id' AS device_id, value->>'name' AS name, "
       "  value->>'manufacturer' AS manufacturer, value->>'model' AS model, value->>'area_id' AS area_id "
       "  FROM home, json_each(j, '$.devices');"
       "CREATE TABLE entities AS SELECT value->>'entity_id' AS entity_id, value->>'domain' AS domain, "
       "  value->>'name' AS name, value->>'area_id' AS area_id, value->>'device_id' AS device_id "
       "  FROM home, json_each(j, '$.entities') WHERE NOT coalesce(value->>'disabled', 0);"
       "SELECT semlite_cache_enable();");
  *n_texts = run_sql(db, "SELECT count(*) FROM (" DESCRIPTORS ")", NULL, NULL);
  exec_sql(db, "CREATE TABLE run1 AS SELECT embed('minilm', text) AS e FROM (" DESCRIPTORS ")");
  h0 = run_sql(db, "SELECT hits FROM semlite_cache_stats WHERE op = 'embed'", NULL, NULL);
  m0 = run_sql(db, "SELECT misses FROM semlite_cache_stats WHERE op = 'embed'", NULL, NULL);
  /* Rename the device with the most entities: the worst single rename. */
  exec_sql(db, "CREATE TABLE before AS " DESCRIPTORS);
  exec_sql(db, "UPDATE devices SET name = name || ' (renamed)' WHERE device_id = "
           "(SELECT device_id FROM entities WHERE device_id IS NOT NULL GROUP BY device_id ORDER BY count(*) DESC LIMIT 1)");
  *changed = run_sql(db, "SELECT count(*) FROM (" DESCRIPTORS " EXCEPT SELECT text FROM before)", NULL, NULL);
  exec_sql(db, "CREATE TABLE run2 AS SELECT embed('minilm', text) AS e FROM (" DESCRIPTORS ")");
  h1 = run_sql(db, "SELECT hits FROM semlite_cache_stats WHERE op = 'embed'", NULL, NULL) - h0;
  m1 = run_sql(db, "SELECT misses FROM semlite_cache_stats WHERE op = 'embed'", NULL, NULL) - m0;
  sqlite3_close(db);
  return h1 + m1 ? (double)h1 / (double)(h1 + m1) : 0;
}

/* ---------------------------------------------------------------- 3. eviction at scale */

/* Seconds per insert of n new entries (4-byte values, clock advancing one second each). */
static double time_inserts(sqlite3 *db, long n, long *t) {
  sqlite3_stmt *st;
  double t0;
  exec_sql(db, "BEGIN");
  st = prep(db, "INSERT INTO semlite_cache(key, op, value, size, created_at, last_used) "
               "VALUES (randomblob(16), 'rerank', x'00000000', 4, ?1, ?1)");
  t0 = now_s();
  for (long i = 0; i < n; i++) {
    sqlite3_bind_int64(st, 1, (*t)++);
    if (sqlite3_step(st) != SQLITE_DONE) die("insert: %s", sqlite3_errmsg(db));
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  exec_sql(db, "COMMIT");
  return (now_s() - t0) / n;
}

typedef struct evict_result {
  double fill_us, insert_us, lru_us, lfu_us, bulk_s;
} evict_result;

static evict_result bench_eviction(const opts *o) {
  char path[1024], sql[256];
  sqlite3 *db;
  long t = 1000000000, n = o->entries, probe = 2000;
  evict_result r;

  snprintf(path, sizeof path, "%s/cache-evict.db", args.out);
  unlink(path);
  db = open_cache_db(path);
  exec_sql(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -262144;"
           "SELECT semlite_cache_enable(); UPDATE semlite_cache_config SET ttl_seconds = NULL WHERE op = 'rerank'");
  /* The fill: every insert runs the expiry and eviction triggers (no limit yet). */
  {
    double t0 = now_s();
    for (long done = 0; done < n; done += 10000) time_inserts(db, n - done < 10000 ? n - done : 10000, &t);
    r.fill_us = (now_s() - t0) / n * 1e6;
  }
  r.insert_us = time_inserts(db, probe, &t) * 1e6;
  snprintf(sql, sizeof sql, "UPDATE semlite_cache_config SET max_entries = %ld WHERE op = 'rerank'", n);
  exec_sql(db, sql);
  r.lru_us = time_inserts(db, probe, &t) * 1e6;
  exec_sql(db, "UPDATE semlite_cache_config SET policy = 'lfu' WHERE op = 'rerank'");
  r.lfu_us = time_inserts(db, probe, &t) * 1e6;
  exec_sql(db, "UPDATE semlite_cache_config SET policy = 'lru' WHERE op = 'rerank'");
  {
    double t0 = now_s();
    snprintf(sql, sizeof sql, "UPDATE semlite_cache_config SET max_entries = %ld WHERE op = 'rerank'", n - n / 10);
    exec_sql(db, sql);
    r.bulk_s = now_s() - t0;
  }
  if (run_sql(db, "SELECT count(*) FROM semlite_cache", NULL, NULL) != n - n / 10) die("bulk eviction left the wrong count");
  sqlite3_close(db);
  unlink(path);
  snprintf(path, sizeof path, "%s/cache-evict.db-wal", args.out);
  unlink(path);
  snprintf(path, sizeof path, "%s/cache-evict.db-shm", args.out);
  unlink(path);
  return r;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv) {
  opts o;
  char path[1024];
  long n_texts, changed;
  double rate;
  evict_result ev;
  double load;
  FILE *csv, *dat;

  bench_init("bench_cache", 1);
  parse_opts(argc, argv, &o);
  setvbuf(stdout, NULL, _IOLBF, 0);   /* the sections take minutes: show them as they end */
  mkdirs(args.out);

  bench_latency(&o);
  rate = hit_rate_rerun(&n_texts, &changed);
  printf("\n2. re-run after renaming one device of %s: %ld descriptors, %ld changed\n", args.home, n_texts, changed);
  printf("   hit rate of the second run: %.1f%% (target >= 80%%)\n", rate * 100);
  ev = bench_eviction(&o);
  load = load_average(NULL);
  printf("\n3. eviction with %ld entries (4-byte values, WAL, synchronous=NORMAL, 2000 inserts each)\n", o.entries);
  printf("   fill, triggers on, no limit      %8.1f us/insert\n", ev.fill_us);
  printf("   insert at %ld, no limit     %8.1f us/insert\n", o.entries, ev.insert_us);
  printf("   insert at the limit, LRU evicts  %8.1f us/insert\n", ev.lru_us);
  printf("   insert at the limit, LFU evicts  %8.1f us/insert\n", ev.lfu_us);
  printf("   lower max_entries by 10%%         %8.2f s (%.1f us/eviction)\n", ev.bulk_s, ev.bulk_s / (o.entries / 10) * 1e6);

  snprintf(path, sizeof path, "%s/cache.csv", args.out);
  csv = out_open(path, "w");
  fprintf(csv, "section,measure,value,unit\n");
  for (int i = 0; i < n_results; i++) fprintf(csv, "latency,\"%s\",%.3f,us\n", results[i].name, results[i].us);
  fprintf(csv, "latency,L1 hit speedup vs miss,%.1f,x\n", results[0].us / results[n_results - 1].us);
  fprintf(csv, "latency,L2 hit (:memory:) speedup vs miss,%.1f,x\n", results[0].us / results[2].us);
  fprintf(csv, "rerun,\"%s descriptors\",%ld,count\n", args.home, n_texts);
  fprintf(csv, "rerun,changed by the rename,%ld,count\n", changed);
  fprintf(csv, "rerun,hit rate,%.4f,ratio\n", rate);
  fprintf(csv, "eviction,entries,%ld,count\n", o.entries);
  fprintf(csv, "eviction,fill,%.2f,us/insert\n", ev.fill_us);
  fprintf(csv, "eviction,insert no limit,%.2f,us/insert\n", ev.insert_us);
  fprintf(csv, "eviction,insert LRU evicting,%.2f,us/insert\n", ev.lru_us);
  fprintf(csv, "eviction,insert LFU evicting,%.2f,us/insert\n", ev.lfu_us);
  fprintf(csv, "eviction,bulk 10%%,%.3f,s\n", ev.bulk_s);
  fprintf(csv, "machine,load average (1 min) at the end,%.2f,processes\n", load);
  out_close(csv, path);

  snprintf(path, sizeof path, "%s/cache-plot.dat", args.out);
  dat = out_open(path, "w");
  for (int i = 0; i < n_results; i++) fprintf(dat, "\"%s\" %.4f\n", results[i].name, results[i].us);
  fprintf(dat, "\n\n\"no limit\" %.3f\n\"LRU evicting\" %.3f\n\"LFU evicting\" %.3f\n", ev.insert_us, ev.lru_us, ev.lfu_us);
  out_close(dat, path);
  char *e = fmt("datafile='%q'; outfile='%q/cache.png'; entries=%ld; hitrate=%.1f", path, args.out, o.entries, rate * 100);
  gnuplot(args.plot, e);
  sqlite3_free(e);
  printf("\nload average at the end: %.2f on this machine's cores (a busy machine slows the misses\n"
         "most: the forward pass wants every core)\n", load);
  printf("wrote %s/cache.csv and %s/cache.png\n", args.out, args.out);
  return 0;
}
