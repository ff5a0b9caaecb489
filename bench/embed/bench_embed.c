/*
** bench_embed.c: the embedding benchmark. semlite against ONNX Runtime, same model, same
** texts, same run.
**
** It owns the workloads: it picks the texts, runs them through semlite the way a user does
** (sqlite3_load_extension + SQL), writes them to a workload file, runs the ONNX Runtime peer
** (node bench/peers/ort_embed.mjs) on that same file, and reports both side by side:
** a table on stdout, bench/out/embed.csv and bench/out/embed.png (gnuplot, bench/embed/plot.gp).
**
** Workloads (the texts come from the STS benchmark test split, so they are real sentences):
**   short     one sentence per call, ~8-12 tokens with [CLS]/[SEP]: what an app does per insert
**   long      one text per call that is exactly max_seq_length (256) tokens after truncation
**   batchN    N sentences of natural length in one statement, SELECT embed('m', s) FROM t,
**             against one ORT run on the same N sentences padded to the longest
** plus model load time (semlite_model_load vs tokenizer + InferenceSession.create) and the
** time of the first embedding after a load.
**
** Why the peer runs from here: numbers from two different runs (other load, other frequency,
** other page cache) are not comparable; one program that runs both back to back is.
** Why the texts are written to a file: so that both engines provably see identical input; the
** peer also reports the true token counts (Hugging Face tokenizer) of what it ran.
** Correctness before speed: the peer checks itself against shared/reference/embed.jsonl, and
** this program compares semlite's first embedding of every workload with ORT's.
** Honesty of the timings: it reports how much CPU other processes took while each engine ran
** (a shared machine skews both engines and the ratio), and whether repeated texts got much
** faster than new ones (a result cache would make the single-call numbers meaningless).
*/
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define MAX_BATCHES 4

/* ---------------------------------------------------------------- options */

typedef struct opts {
  const char *so, *model, *name, *shared, *onnx, *out, *peer, *node, *plot, *setup_sql;
  int threads;
  double seconds;        /* measuring budget per workload and engine */
  int batches[MAX_BATCHES], n_batches;
  int n_short;           /* distinct short sentences cycled through */
  int load_reps;
  int run_semlite, run_ort;
} opts;

static void usage(void) {
  fprintf(stderr,
    "usage: bench_embed --model DIR [options]\n"
    "  --so PATH          semlite.so to load (./semlite.so)\n"
    "  --model DIR        model folder (the twin: models/synthetic/minilm-l6-embed)\n"
    "  --name NAME        model name used in SQL (minilm)\n"
    "  --shared DIR       shared fixtures: data/sts, reference, onnx graph (../shared)\n"
    "  --onnx FILE        ONNX graph (SHARED/models/synthetic/onnx/minilm-l6-embed.onnx)\n"
    "  --out DIR          results and scratch (bench/out)\n"
    "  --peer FILE        ORT peer script (bench/peers/ort_embed.mjs)\n"
    "  --node CMD         node executable (node)\n"
    "  --plot FILE        gnuplot script (bench/embed/plot.gp); '' to skip the PNG\n"
    "  --threads N        ORT intra-op threads (2); semlite has no thread setting yet and\n"
    "                     runs on its own pool over all online CPUs\n"
    "  --setup-sql SQL    run on the semlite connection after loading the extension,\n"
    "                     e.g. to set semlite's thread count or switch a cache off\n"
    "  --seconds S        measuring time per workload and engine (6)\n"
    "  --batches LIST     batch sizes, comma separated (32,128)\n"
    "  --short N          distinct short sentences (64)\n"
    "  --load-reps N      model loads timed per engine (3)\n"
    "  --only semlite|ort run one engine\n");
  exit(1);
}

static void parse_opts(int argc, char **argv, opts *o) {
  memset(o, 0, sizeof *o);
  o->so = "./semlite.so"; o->name = "minilm"; o->shared = "../shared"; o->out = "bench/out";
  o->peer = "bench/peers/ort_embed.mjs"; o->node = "node"; o->plot = "bench/embed/plot.gp";
  o->threads = 2; o->seconds = 6; o->batches[0] = 32; o->batches[1] = 128; o->n_batches = 2;
  o->n_short = 64; o->load_reps = 3; o->run_semlite = o->run_ort = 1;
  for (int i = 1; i < argc; i++) {
    const char *k = argv[i];
    if (i + 1 >= argc) usage();
    const char *v = argv[++i];
    if (!strcmp(k, "--so")) o->so = v;
    else if (!strcmp(k, "--model")) o->model = v;
    else if (!strcmp(k, "--name")) o->name = v;
    else if (!strcmp(k, "--shared")) o->shared = v;
    else if (!strcmp(k, "--onnx")) o->onnx = v;
    else if (!strcmp(k, "--out")) o->out = v;
    else if (!strcmp(k, "--peer")) o->peer = v;
    else if (!strcmp(k, "--node")) o->node = v;
    else if (!strcmp(k, "--plot")) o->plot = v;
    else if (!strcmp(k, "--setup-sql")) o->setup_sql = v;
    else if (!strcmp(k, "--threads")) o->threads = atoi(v);
    else if (!strcmp(k, "--seconds")) o->seconds = atof(v);
    else if (!strcmp(k, "--short")) o->n_short = atoi(v);
    else if (!strcmp(k, "--load-reps")) o->load_reps = atoi(v);
    else if (!strcmp(k, "--batches")) {
      o->n_batches = 0;
      for (const char *p = v; *p && o->n_batches < MAX_BATCHES;) {
        int b = atoi(p);
        if (b > 0) o->batches[o->n_batches++] = b;
        p = strchr(p, ',');
        if (!p) break;
        p++;
      }
    } else if (!strcmp(k, "--only")) {
      o->run_semlite = !strcmp(v, "semlite");
      o->run_ort = !strcmp(v, "ort");
      if (!o->run_semlite && !o->run_ort) usage();
    } else usage();
  }
  if (!o->model || o->threads < 1 || o->seconds <= 0 || o->n_short < 1 || o->load_reps < 1) usage();
}

/* ---------------------------------------------------------------- small helpers */

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("bench_embed: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static void *xrealloc(void *p, size_t n) {
  p = realloc(p, n ? n : 1);
  if (!p) die("out of memory");
  return p;
}

static char *xstrdup(const char *s) {
  char *d = strdup(s);
  if (!d) die("out of memory");
  return d;
}

static char *fmt(const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  char *s = sqlite3_vmprintf(f, ap);   /* sqlite's printf also gives us %Q quoting */
  va_end(ap);
  if (!s) die("out of memory");
  return s;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted samples; ort_embed.mjs uses the same definition. */
static double percentile(const double *sorted, size_t n, double p) {
  if (!n) return NAN;
  size_t r = (size_t)ceil(p / 100.0 * (double)n);
  if (r < 1) r = 1;
  if (r > n) r = n;
  return sorted[r - 1];
}

/* Quotes a string for /bin/sh (popen), whatever it contains. */
static char *shq(const char *s) {
  size_t n = 3;
  for (const char *p = s; *p; p++) n += (*p == '\'') ? 4 : 1;
  char *q = xrealloc(NULL, n), *w = q;
  *w++ = '\'';
  for (const char *p = s; *p; p++) {
    if (*p == '\'') { memcpy(w, "'\\''", 4); w += 4; } else *w++ = *p;
  }
  *w++ = '\'';
  *w = 0;
  return q;
}

static void mkdirs(const char *path) {
  char *p = xstrdup(path);
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = 0;
    if (mkdir(p, 0777) && errno != EEXIST) die("mkdir %s: %s", p, strerror(errno));
    *s = '/';
  }
  if (mkdir(p, 0777) && errno != EEXIST) die("mkdir %s: %s", p, strerror(errno));
  free(p);
}

/* ---------------------------------------------------------------- texts */

typedef struct strv { char **v; int n, cap; } strv;

static void strv_push(strv *s, char *x) {
  if (s->n == s->cap) { s->cap = s->cap ? 2 * s->cap : 256; s->v = xrealloc(s->v, s->cap * sizeof *s->v); }
  s->v[s->n++] = x;
}

static int printable_ascii(const char *s) {
  if (!*s) return 0;
  for (; *s; s++) if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) return 0;
  return 1;
}

/* BERT pre-tokens of a printable-ASCII text: runs of letters/digits, plus every other
** non-space character on its own. WordPiece gives each pre-token one or more ids, so this is
** a lower bound on the token count (exact unless a word is split into ##pieces). */
static int pretokens(const char *s) {
  int n = 0, in_word = 0;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    int alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (alnum) { if (!in_word) n++; in_word = 1; continue; }
    in_word = 0;
    if (c != ' ') n++;
  }
  return n;
}

static int whitespace_words(const char *s) {
  int n = 0, in = 0;
  for (; *s; s++) {
    if (*s == ' ') in = 0;
    else if (!in) { n++; in = 1; }
  }
  return n;
}

/* The distinct printable-ASCII sentences of sts-test.tsv (score \t s1 \t s2), in file order.
** ASCII only so that the pre-token bound above holds and no text is a tokenizer edge case:
** the edge cases are the tests' business, the bench measures ordinary text. */
static strv read_sts(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) die("%s: %s", path, strerror(errno));
  strv all = {0};
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, f)) > 0) {
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
    char *s1 = strchr(line, '\t');
    if (!s1) continue;
    *s1++ = 0;
    char *s2 = strchr(s1, '\t');
    if (!s2) continue;
    *s2++ = 0;
    char *cols[2] = { s1, s2 };
    for (int c = 0; c < 2; c++) {
      if (!printable_ascii(cols[c])) continue;
      int dup = 0;
      for (int i = 0; i < all.n && !dup; i++) dup = !strcmp(all.v[i], cols[c]);
      if (!dup) strv_push(&all, xstrdup(cols[c]));
    }
  }
  free(line);
  fclose(f);
  if (!all.n) die("%s: no usable sentences", path);
  return all;
}

/* ---------------------------------------------------------------- workloads and results */

typedef struct result {
  int ok;
  long iters;
  int per_iter;
  double seconds, sps, p50, p95, mean;
  float *first; int dim;          /* the embedding of the workload's first text */
  double fresh_p50, repeat_p50;   /* single-text workloads: first sight of a text vs repeats */
} result;

typedef struct workload {
  char name[32];
  int batch;                      /* 0: one text per call; 1: all texts in one statement */
  strv texts;
  int warmup, min_iters, max_iters;
  double seconds;
  result sem, ort;
  double tok_min, tok_mean, tok_max;  /* from the peer's tokenizer; NAN when it did not run */
  double diff;                    /* max abs diff semlite vs ORT on texts[0]; NAN if unknown */
} workload;

typedef struct load_result {
  int ok;
  double p50, first, first_embed;
} load_result;

static void build_workloads(const opts *o, const strv *sts, workload *w, int *n_w) {
  int n = 0;

  /* short: 6..10 pre-tokens -> 8..12 ids with [CLS]/[SEP] unless WordPiece splits a word;
  ** the peer reports the exact counts. */
  workload *s = &w[n++];
  memset(s, 0, sizeof *s);
  snprintf(s->name, sizeof s->name, "short");
  for (int i = 0; i < sts->n && s->texts.n < o->n_short; i++) {
    int p = pretokens(sts->v[i]);
    if (p >= 6 && p <= 10) strv_push(&s->texts, sts->v[i]);
  }
  s->warmup = 20; s->min_iters = 50; s->max_iters = 1000000;

  /* long: sentences joined until there are >= 300 whitespace-separated words. Every word is
  ** at least one token, so the text has >= 300 tokens and is cut to exactly max_seq_length
  ** (256 = [CLS] + 254 + [SEP]) by both engines; that cut is part of what is measured. */
  workload *l = &w[n++];
  memset(l, 0, sizeof *l);
  snprintf(l->name, sizeof l->name, "long");
  size_t cap = 4096, used = 0;
  char *buf = xrealloc(NULL, cap);
  buf[0] = 0;
  for (int i = 0; i < sts->n && whitespace_words(buf) < 300; i++) {
    size_t k = strlen(sts->v[i]);
    if (used + k + 2 > cap) { cap = 2 * (used + k + 2); buf = xrealloc(buf, cap); }
    if (used) buf[used++] = ' ';
    memcpy(buf + used, sts->v[i], k + 1);
    used += k;
  }
  strv_push(&l->texts, buf);
  l->warmup = 3; l->min_iters = 20; l->max_iters = 1000000;

  /* batchN: the first N sentences as they come (natural lengths, so the padded ORT batch
  ** pays for padding the way a user's batch does). */
  for (int b = 0; b < o->n_batches; b++) {
    workload *x = &w[n++];
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "batch%d", o->batches[b]);
    x->batch = 1;
    for (int i = 0; i < sts->n && x->texts.n < o->batches[b]; i++) strv_push(&x->texts, sts->v[i]);
    x->warmup = 2; x->min_iters = 5; x->max_iters = 1000000;
  }
  for (int i = 0; i < n; i++) {
    w[i].seconds = o->seconds;
    w[i].tok_min = w[i].tok_mean = w[i].tok_max = w[i].diff = NAN;
  }
  *n_w = n;
}

static void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

static void write_workload_file(const char *path, const workload *w, int n) {
  FILE *f = fopen(path, "w");
  if (!f) die("%s: %s", path, strerror(errno));
  fputs("{\"workloads\":[\n", f);
  for (int i = 0; i < n; i++) {
    fprintf(f, "{\"name\":\"%s\",\"mode\":\"%s\",\"warmup\":%d,\"min_iters\":%d,\"max_iters\":%d,"
               "\"seconds\":%g,\"texts\":[",
            w[i].name, w[i].batch ? "batch" : "single", w[i].warmup, w[i].min_iters,
            w[i].max_iters, w[i].seconds);
    for (int t = 0; t < w[i].texts.n; t++) {
      if (t) fputc(',', f);
      json_string(f, w[i].texts.v[t]);
    }
    fprintf(f, "]}%s\n", i + 1 < n ? "," : "");
  }
  fputs("]}\n", f);
  if (fclose(f)) die("%s: write failed", path);
}

/* ---------------------------------------------------------------- semlite through SQL */

static void exec_or_die(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) die("SQL failed: %s\n  %s", err, sql);
}

static sqlite3_stmt *prep(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    die("prepare failed: %s\n  %s", sqlite3_errmsg(db), sql);
  return st;
}

/* Runs a prepared statement to completion; every row must be one float32 vector of the same
** size (a wrong or missing result would make any timing meaningless). Keeps the first vector. */
static int run_embed_stmt(sqlite3 *db, sqlite3_stmt *st, int expect_rows, result *r) {
  int rows = 0, rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_column_type(st, 0) != SQLITE_BLOB) die("embed returned a non-BLOB");
    int bytes = sqlite3_column_bytes(st, 0);
    if (bytes <= 0 || bytes % 4) die("embed returned %d bytes", bytes);
    if (!r->first) {
      r->dim = bytes / 4;
      r->first = xrealloc(NULL, (size_t)bytes);
      memcpy(r->first, sqlite3_column_blob(st, 0), (size_t)bytes);  /* host is little-endian x86 */
    } else if (bytes / 4 != r->dim) die("embed returned %d floats, then %d", r->dim, bytes / 4);
    rows++;
  }
  if (rc != SQLITE_DONE) die("embed failed: %s", sqlite3_errmsg(db));
  sqlite3_reset(st);
  if (rows != expect_rows) die("statement returned %d rows, expected %d", rows, expect_rows);
  return rows;
}

static sqlite3 *open_semlite(const opts *o) {
  sqlite3 *db;
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) die("sqlite3_open failed");
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 1, NULL);
  char *err = NULL;
  if (sqlite3_load_extension(db, o->so, NULL, &err) != SQLITE_OK)
    die("cannot load %s: %s", o->so, err ? err : "?");
  if (o->setup_sql) exec_or_die(db, o->setup_sql);
  return db;
}

/* semlite_model_load timed load_reps times under fresh names (each one then unloaded when
** semlite_model_unload exists), then the model the workloads use, and its first embedding. */
static load_result semlite_load(sqlite3 *db, const opts *o, const char *first_text) {
  load_result lr = {0};
  double *t = xrealloc(NULL, o->load_reps * sizeof *t);
  for (int i = 0; i < o->load_reps; i++) {
    char *name = fmt("bench_load_%d", i);
    char *sql = fmt("SELECT semlite_model_load(%Q, %Q)", name, o->model);
    sqlite3_stmt *st = prep(db, sql);
    double t0 = now_ms();
    int rc = sqlite3_step(st);
    t[i] = now_ms() - t0;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) die("semlite_model_load: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_free(sql);
    sql = fmt("SELECT semlite_model_unload(%Q)", name);
    sqlite3_exec(db, sql, NULL, NULL, NULL);   /* absent or failing: the model just stays */
    sqlite3_free(sql);
    sqlite3_free(name);
  }
  lr.first = t[0];
  qsort(t, o->load_reps, sizeof *t, cmp_double);
  lr.p50 = percentile(t, o->load_reps, 50);
  free(t);

  char *sql = fmt("SELECT semlite_model_load(%Q, %Q)", o->name, o->model);
  exec_or_die(db, sql);
  sqlite3_free(sql);
  sql = fmt("SELECT embed(%Q, ?1)", o->name);
  sqlite3_stmt *st = prep(db, sql);
  sqlite3_bind_text(st, 1, first_text, -1, SQLITE_STATIC);
  result scratch = {0};
  double t0 = now_ms();
  run_embed_stmt(db, st, 1, &scratch);
  lr.first_embed = now_ms() - t0;
  free(scratch.first);
  sqlite3_finalize(st);
  sqlite3_free(sql);
  lr.ok = 1;
  return lr;
}

static void semlite_workload(sqlite3 *db, const opts *o, workload *w) {
  result *r = &w->sem;
  sqlite3_stmt *st;
  char *sql;
  int rows;
  if (w->batch) {
    /* the texts live in a table, as a user's documents do; the statement embeds them all */
    sql = fmt("CREATE TEMP TABLE bench_%s(s TEXT)", w->name);
    exec_or_die(db, sql);
    sqlite3_free(sql);
    sql = fmt("INSERT INTO bench_%s(s) VALUES (?1)", w->name);
    st = prep(db, sql);
    for (int i = 0; i < w->texts.n; i++) {
      sqlite3_bind_text(st, 1, w->texts.v[i], -1, SQLITE_STATIC);
      if (sqlite3_step(st) != SQLITE_DONE) die("insert: %s", sqlite3_errmsg(db));
      sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_free(sql);
    sql = fmt("SELECT embed(%Q, s) FROM bench_%s", o->name, w->name);
    rows = w->texts.n;
  } else {
    sql = fmt("SELECT embed(%Q, ?1)", o->name);
    rows = 1;
  }
  st = prep(db, sql);
  sqlite3_free(sql);

  size_t cap = 1024, n = 0, n_fresh = 0, n_repeat = 0;
  double *samples = xrealloc(NULL, cap * sizeof *samples);
  /* A result cache would turn the repeated texts into lookups and the timings into fiction:
  ** calls on a text never seen before (after the warm-up, in the first pass) are kept apart
  ** from calls on a text seen already, and the two medians compared in the report. */
  double *fresh = xrealloc(NULL, (size_t)w->texts.n * sizeof *fresh);
  double *repeat = xrealloc(NULL, (size_t)w->texts.n * sizeof *repeat);
  long i;
  double start = 0;
  for (i = -w->warmup; i < w->max_iters; i++) {
    if (i == 0) start = now_ms();
    if (i >= w->min_iters && now_ms() - start >= w->seconds * 1e3) break;
    /* the same text order as the peer: warm-up and measured calls both cycle from texts[0] */
    long k = i < 0 ? i + w->warmup : i;
    if (!w->batch) sqlite3_bind_text(st, 1, w->texts.v[k % w->texts.n], -1, SQLITE_STATIC);
    double t0 = now_ms();
    run_embed_stmt(db, st, rows, r);
    double dt = now_ms() - t0;
    if (i < 0) continue;
    if (n == cap) { cap *= 2; samples = xrealloc(samples, cap * sizeof *samples); }
    samples[n++] = dt;
    if (!w->batch && i >= w->warmup && i < w->texts.n) fresh[n_fresh++] = dt;
    else if (!w->batch && i >= w->texts.n && n_repeat < (size_t)w->texts.n) repeat[n_repeat++] = dt;
  }
  qsort(fresh, n_fresh, sizeof *fresh, cmp_double);
  qsort(repeat, n_repeat, sizeof *repeat, cmp_double);
  r->fresh_p50 = n_fresh >= 10 && n_repeat >= 10 ? percentile(fresh, n_fresh, 50) : NAN;
  r->repeat_p50 = n_fresh >= 10 && n_repeat >= 10 ? percentile(repeat, n_repeat, 50) : NAN;
  free(fresh);
  free(repeat);
  r->seconds = (now_ms() - start) / 1e3;
  sqlite3_finalize(st);
  qsort(samples, n, sizeof *samples, cmp_double);
  double sum = 0;
  for (size_t j = 0; j < n; j++) sum += samples[j];
  r->iters = i;
  r->per_iter = rows;
  r->sps = (double)i * rows / r->seconds;
  r->p50 = percentile(samples, n, 50);
  r->p95 = percentile(samples, n, 95);
  r->mean = sum / (double)n;
  r->ok = 1;
  free(samples);
}

/* ---------------------------------------------------------------- the ORT peer */

static char *read_all(FILE *f) {
  size_t cap = 1 << 16, n = 0;
  char *b = xrealloc(NULL, cap);
  size_t k;
  while ((k = fread(b + n, 1, cap - n - 1, f)) > 0) {
    n += k;
    if (cap - n < 2) { cap *= 2; b = xrealloc(b, cap); }
  }
  b[n] = 0;
  return b;
}

/* json_extract through SQLite: its JSON parser is already linked in and well tested. */
static double jnum(sqlite3 *db, const char *json, const char *path) {
  sqlite3_stmt *st = prep(db, "SELECT json_extract(?1, ?2)");
  sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
  double v = NAN;
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
    v = sqlite3_column_double(st, 0);
  sqlite3_finalize(st);
  return v;
}

static char *jtext(sqlite3 *db, const char *json, const char *path) {
  sqlite3_stmt *st = prep(db, "SELECT json_extract(?1, ?2)");
  sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
  char *v = NULL;
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
    v = xstrdup((const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  return v;
}

/* Runs the peer on the workload file and fills the ORT half of every workload. Returns the
** peer's JSON (saved next to the CSV too) or NULL when it failed. */
static char *run_peer(const opts *o, const char *workload_path, workload *w, int n_w,
                      load_result *lr) {
  char *scratch = fmt("%s/ort-scratch", o->out);
  char *reference = fmt("%s/reference/embed.jsonl", o->shared);
  char *q[7] = { shq(o->node), shq(o->peer), shq(o->model), shq(o->onnx), shq(scratch),
                 shq(workload_path), shq(reference) };
  char *cmd = fmt("%s %s --model %s --onnx %s --scratch %s --workload %s --reference %s "
                  "--threads %d --load-reps %d",
                  q[0], q[1], q[2], q[3], q[4], q[5], q[6], o->threads, o->load_reps);
  fprintf(stderr, "bench_embed: running the peer: %s\n", cmd);
  fflush(NULL);
  FILE *p = popen(cmd, "r");
  if (!p) die("popen: %s", strerror(errno));
  char *json = read_all(p);
  int status = pclose(p);
  for (int i = 0; i < 7; i++) free(q[i]);
  sqlite3_free(cmd); sqlite3_free(scratch); sqlite3_free(reference);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || !json[0]) {
    fprintf(stderr, "bench_embed: the ORT peer failed (status %d); see its messages above\n", status);
    free(json);
    return NULL;
  }

  sqlite3 *db;
  sqlite3_open(":memory:", &db);
  if (jnum(db, json, "$.reference_check.ok") != 1) {
    fprintf(stderr, "bench_embed: the ORT peer does not reproduce the reference\n");
    sqlite3_close(db);
    free(json);
    return NULL;
  }
  lr->ok = 1;
  lr->p50 = jnum(db, json, "$.load.p50_ms");
  lr->first = jnum(db, json, "$.load.first_ms");
  lr->first_embed = jnum(db, json, "$.load.first_embed_ms");
  for (int i = 0; i < n_w; i++) {
    char *path = fmt("$.workloads[%d]", i);
    char *k = fmt("%s.name", path);
    char *name = jtext(db, json, k);
    sqlite3_free(k);
    if (!name || strcmp(name, w[i].name)) die("peer result %d is '%s', expected '%s'", i, name ? name : "?", w[i].name);
    free(name);
#define NUM(field) (k = fmt("%s." field, path), v = jnum(db, json, k), sqlite3_free(k), v)
    double v;
    result *r = &w[i].ort;
    r->iters = (long)NUM("iters");
    r->per_iter = (int)NUM("sentences_per_iter");
    r->seconds = NUM("seconds");
    r->sps = NUM("sentences_per_s");
    r->p50 = NUM("p50_ms");
    r->p95 = NUM("p95_ms");
    r->mean = NUM("mean_ms");
    w[i].tok_min = NUM("tokens.min");
    w[i].tok_mean = NUM("tokens.mean");
    w[i].tok_max = NUM("tokens.max");
#undef NUM
    k = fmt("%s.first_embedding", path);
    sqlite3_stmt *st = prep(db, "SELECT value FROM json_each(?1, ?2)");
    sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, k, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
      r->first = xrealloc(r->first, (r->dim + 1) * sizeof *r->first);
      r->first[r->dim++] = (float)sqlite3_column_double(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_free(k);
    sqlite3_free(path);
    r->ok = r->iters > 0;
  }
  sqlite3_close(db);
  return json;
}

/* ---------------------------------------------------------------- report */

static void cpu_model(char *buf, size_t n) {
  snprintf(buf, n, "unknown CPU");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10)) continue;
    char *c = strchr(line, ':');
    if (!c) break;
    c += 2;
    c[strcspn(c, "\n")] = 0;
    snprintf(buf, n, "%s", c);
    break;
  }
  fclose(f);
}

/* CPU time the whole machine spent busy (/proc/stat, all CPUs, seconds). Compared with this
** process's own CPU time (and its children's: the peer) it tells how much else ran during the
** bench: on a shared machine a second busy process halves what two threads can do, and the
** numbers should say so rather than pass for the engine's. */
static double machine_busy_s(void) {
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return NAN;
  unsigned long long v[8] = {0};
  int k = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
                 &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
  fclose(f);
  if (k < 7) return NAN;
  /* user nice system [idle iowait] irq softirq steal; steal counts: the hypervisor gave the
  ** time to someone else */
  double hz = (double)sysconf(_SC_CLK_TCK);
  return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / hz;
}

static double own_cpu_s(void) {
  struct rusage a, b;
  getrusage(RUSAGE_SELF, &a);
  getrusage(RUSAGE_CHILDREN, &b);   /* the peer and gnuplot, once waited for */
  return a.ru_utime.tv_sec + a.ru_utime.tv_usec / 1e6 + a.ru_stime.tv_sec + a.ru_stime.tv_usec / 1e6 +
         b.ru_utime.tv_sec + b.ru_utime.tv_usec / 1e6 + b.ru_stime.tv_sec + b.ru_stime.tv_usec / 1e6;
}

static const char *fnum(char *buf, size_t n, const char *f, double v) {
  if (isnan(v)) snprintf(buf, n, "-");
  else snprintf(buf, n, f, v);
  return buf;
}

static void print_row(FILE *out, const char *wl, const char *engine, const result *r,
                      double ratio, const workload *w) {
  char a[32], b[32], c[32], d[32], e[48];
  if (!r->ok) { fprintf(out, "%-10s %-8s %12s\n", wl, engine, "(not run)"); return; }
  if (isnan(w->tok_mean)) snprintf(e, sizeof e, "-");
  else snprintf(e, sizeof e, "%.0f/%.1f/%.0f", w->tok_min, w->tok_mean, w->tok_max);
  fprintf(out, "%-10s %-8s %12s %9s %9s %8s %8ld %14s\n", wl, engine,
          fnum(a, sizeof a, "%.1f", r->sps), fnum(b, sizeof b, "%.2f", r->p50),
          fnum(c, sizeof c, "%.2f", r->p95), fnum(d, sizeof d, "%.2fx", ratio), r->iters, e);
}

static double max_abs_diff(const result *a, const result *b) {
  if (!a->first || !b->first || a->dim != b->dim) return NAN;
  double m = 0;
  for (int i = 0; i < a->dim; i++) m = fmax(m, fabs((double)a->first[i] - b->first[i]));
  return m;
}

static void csv_num(FILE *f, double v) {
  if (isnan(v)) fputc(',', f); else fprintf(f, ",%.6g", v);
}

/* Everything one run measured, for the report functions below. */
typedef struct run {
  opts o;
  workload w[2 + MAX_BATCHES];
  int n_w;
  load_result sem_load, ort_load;
  int sem_threads;        /* threads semlite runs on: its pool covers the online CPUs */
  double other_cpus[2];   /* CPUs other processes kept busy while semlite / the peer ran */
  char cpu[256];
} run;

static void run_semlite(run *R) {
  /* semlite sizes its own worker pool from the online CPUs (caller + cores-1) and has no
  ** thread setting yet, so it runs as a user gets it; --setup-sql is where such a setting
  ** would go. */
  R->sem_threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
  printf("semlite: threads = its own pool over the %d online CPUs (not set by the bench)\n",
         R->sem_threads);
  sqlite3 *db = open_semlite(&R->o);
  /* what this build offers (a cache or thread switch would show here and belongs in --setup-sql) */
  sqlite3_stmt *st = prep(db, "SELECT group_concat(name, ' ') FROM (SELECT DISTINCT name FROM "
                              "pragma_function_list WHERE name LIKE 'semlite%' OR name LIKE 'embed%' ORDER BY name)");
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
    printf("semlite functions: %s\n", sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  printf("semlite setup SQL: %s\n", R->o.setup_sql ? R->o.setup_sql : "(none: the extension's defaults)");
  fflush(stdout);
  R->sem_load = semlite_load(db, &R->o, R->w[0].texts.v[0]);
  for (int i = 0; i < R->n_w; i++) {
    fprintf(stderr, "bench_embed: semlite %s ...\n", R->w[i].name);
    semlite_workload(db, &R->o, &R->w[i]);
  }
  sqlite3_close(db);
}

/* Returns 0 when the peer failed or did not reproduce the reference. */
static int run_ort(run *R, const char *wl_path) {
  char *json = run_peer(&R->o, wl_path, R->w, R->n_w, &R->ort_load);
  if (!json) return 0;
  char *p = fmt("%s/embed-ort.json", R->o.out);
  FILE *f = fopen(p, "w");
  if (f) { fputs(json, f); fclose(f); }
  sqlite3_free(p);
  sqlite3 *db;
  sqlite3_open(":memory:", &db);
  char *v1 = jtext(db, json, "$.versions.onnxruntime_node");
  char *v2 = jtext(db, json, "$.versions.tokenizers");
  printf("ORT: onnxruntime-node %s (CPU EP, graph optimisation 'all', intra-op threads %d, "
         "inter-op 1, sequential) + npm tokenizers %s; reference check: %.0f rows, ids equal, "
         "max abs diff %.1e\n", v1 ? v1 : "?", R->o.threads, v2 ? v2 : "?",
         jnum(db, json, "$.reference_check.rows"), jnum(db, json, "$.reference_check.max_abs_diff"));
  free(v1); free(v2);
  sqlite3_close(db);
  free(json);
  return 1;
}

static double load_ratio(const run *R) {
  return (R->sem_load.ok && R->ort_load.ok) ? R->ort_load.p50 / R->sem_load.p50 : NAN;
}

/* The table on stdout. Returns 1 when semlite and ORT disagree on some workload. */
static int print_report(const run *R) {
  const workload *w = R->w;
  printf("\n%-10s %-8s %12s %9s %9s %8s %8s %14s\n", "workload", "engine", "sentences/s",
         "p50 ms", "p95 ms", "sem/ORT", "iters", "tokens min/avg/max");
  for (int i = 0; i < R->n_w; i++) {
    double ratio = (w[i].sem.ok && w[i].ort.ok) ? w[i].sem.sps / w[i].ort.sps : NAN;
    print_row(stdout, w[i].name, "semlite", &w[i].sem, ratio, &w[i]);
    print_row(stdout, w[i].name, "ORT", &w[i].ort, NAN, &w[i]);
  }
  char a[32], b[32], c[32], d[32];
  printf("\n%-10s %-8s %12s %12s %16s %8s\n", "load", "engine", "p50 ms", "first ms", "1st embed ms", "sem/ORT");
  for (int e = 0; e < 2; e++) {
    const load_result *l = e ? &R->ort_load : &R->sem_load;
    printf("%-10s %-8s %12s %12s %16s %8s\n", "model", e ? "ORT" : "semlite",
           fnum(a, sizeof a, "%.1f", l->ok ? l->p50 : NAN), fnum(b, sizeof b, "%.1f", l->ok ? l->first : NAN),
           fnum(c, sizeof c, "%.2f", l->ok ? l->first_embed : NAN),
           e ? "" : fnum(d, sizeof d, "%.2fx", load_ratio(R)));
  }
  printf("\nsem/ORT: semlite sentences/s / ORT sentences/s (load: ORT ms / semlite ms); > 1 means semlite is faster.\n"
         "tokens: ids per text after truncation, [CLS]/[SEP] included, from the peer's tokenizer.\n"
         "ORT load = tokenizer.json + InferenceSession.create; semlite load = semlite_model_load.\n");
  int disagree = 0;
  for (int i = 0; i < R->n_w; i++) {
    if (isnan(w[i].diff)) continue;
    printf("%s: semlite vs ORT on the first text, max abs diff %.1e\n", w[i].name, w[i].diff);
    if (w[i].diff > 1e-4) disagree = 1;   /* 1e-5 is the tests' bound vs fp64; two engines may each be off by it */
  }
  if (disagree) printf("WARNING: semlite and ORT disagree; the timings compare different computations\n");
  for (int i = 0; i < R->n_w; i++) {
    const result *r = &w[i].sem;
    if (!r->ok || isnan(r->fresh_p50)) continue;
    printf("%s: semlite p50 on first sight of a text %.2f ms, on a repeated text %.2f ms\n",
           w[i].name, r->fresh_p50, r->repeat_p50);
    if (r->repeat_p50 < 0.5 * r->fresh_p50)
      printf("WARNING: repeated texts are much faster: a result cache is probably on; switch it off "
             "with --setup-sql or these timings measure the cache\n");
  }
  /* per engine: a busy neighbour during only one of the two phases biases the ratio */
  int noisy = 0;
  for (int e = 0; e < 2; e++) {
    if (isnan(R->other_cpus[e])) continue;
    printf("other processes kept %.2f CPUs busy on average while %s ran\n", R->other_cpus[e], e ? "ORT" : "semlite");
    if (R->other_cpus[e] > 0.15) noisy = 1;
  }
  if (noisy) printf("WARNING: the machine was not quiet; the numbers understate the engine(s) that shared it, and the ratios are biased\n");
  return disagree;
}

/* embed.csv: one row per workload and engine, plus one load row per engine. */
static char *write_csv(const run *R) {
  char *csv = fmt("%s/embed.csv", R->o.out);
  FILE *f = fopen(csv, "w");
  if (!f) die("%s: %s", csv, strerror(errno));
  fprintf(f, "workload,engine,threads,sentences_per_iter,iters,seconds,sentences_per_s,p50_ms,p95_ms,mean_ms,"
             "ratio_semlite_ort,tokens_min,tokens_mean,tokens_max,max_abs_diff_vs_other,load_first_ms,first_embed_ms,other_cpus\n");
  for (int i = 0; i < R->n_w; i++) {
    const workload *w = &R->w[i];
    for (int e = 0; e < 2; e++) {
      const result *r = e ? &w->ort : &w->sem;
      if (!r->ok) continue;
      fprintf(f, "%s,%s,%d,%d,%ld", w->name, e ? "ort" : "semlite", e ? R->o.threads : R->sem_threads,
              r->per_iter, r->iters);
      csv_num(f, r->seconds); csv_num(f, r->sps); csv_num(f, r->p50); csv_num(f, r->p95); csv_num(f, r->mean);
      csv_num(f, (!e && w->ort.ok && w->sem.ok) ? w->sem.sps / w->ort.sps : NAN);
      csv_num(f, w->tok_min); csv_num(f, w->tok_mean); csv_num(f, w->tok_max); csv_num(f, w->diff);
      fputs(",,", f);
      csv_num(f, R->other_cpus[e]);
      fputc('\n', f);
    }
  }
  /* load rows: p50_ms is the median of the timed loads; iters is how many were timed */
  for (int e = 0; e < 2; e++) {
    const load_result *l = e ? &R->ort_load : &R->sem_load;
    if (!l->ok) continue;
    fprintf(f, "load,%s,%d,,%d,,", e ? "ort" : "semlite", e ? R->o.threads : R->sem_threads, R->o.load_reps);
    csv_num(f, l->p50);
    fputs(",,", f);
    csv_num(f, e ? NAN : load_ratio(R));
    fputs(",,,,", f);
    csv_num(f, l->first); csv_num(f, l->first_embed); csv_num(f, R->other_cpus[e]);
    fputc('\n', f);
  }
  if (fclose(f)) die("%s: write failed", csv);
  return csv;
}

/* embed-plot.dat (both engines side by side, as gnuplot's histograms want) and embed.png.
** Returns the PNG's path, or NULL when gnuplot failed. */
static char *write_plot(const run *R) {
  const workload *w = R->w;
  char *dat = fmt("%s/embed-plot.dat", R->o.out);
  FILE *f = fopen(dat, "w");
  if (!f) die("%s: %s", dat, strerror(errno));
  fprintf(f, "# workload semlite_sps ort_sps semlite_p50 semlite_p95 ort_p50 ort_p95\n");
  for (int i = 0; i < R->n_w; i++)
    fprintf(f, "%s %g %g %g %g %g %g\n", w[i].name,
            w[i].sem.ok ? w[i].sem.sps : NAN, w[i].ort.ok ? w[i].ort.sps : NAN,
            w[i].sem.ok ? w[i].sem.p50 : NAN, w[i].sem.ok ? w[i].sem.p95 : NAN,
            w[i].ort.ok ? w[i].ort.p50 : NAN, w[i].ort.ok ? w[i].ort.p95 : NAN);
  /* load in its own gnuplot data block (index 1): a different unit, its own panel */
  double sl = R->sem_load.ok ? R->sem_load.p50 : NAN, ol = R->ort_load.ok ? R->ort_load.p50 : NAN;
  fprintf(f, "\n\nload %g %g %g %g %g %g\n", NAN, NAN, sl, sl, ol, ol);
  if (fclose(f)) die("%s: write failed", dat);

  /* -e takes gnuplot syntax: the values are gnuplot single-quoted strings ('' doubles a
  ** quote there), and the whole -e argument is then quoted for the shell */
  char *png = fmt("%s/embed.png", R->o.out);
  char *title = fmt("semlite (own pool, %d CPUs) vs ONNX Runtime (CPU, %d intra-op threads) - %s",
                    R->sem_threads, R->o.threads, R->cpu);
  char *gp[3] = { dat, png, title }, *gq[3];
  for (int i = 0; i < 3; i++) {
    gq[i] = xrealloc(NULL, 2 * strlen(gp[i]) + 1);
    char *dst = gq[i];
    for (const char *x = gp[i]; *x; x++) { if (*x == '\'') *dst++ = '\''; *dst++ = *x; }
    *dst = 0;
  }
  char *e = fmt("datafile='%s'; outfile='%s'; plottitle='%s'", gq[0], gq[1], gq[2]);
  char *qe = shq(e), *qs = shq(R->o.plot);
  char *cmd = fmt("gnuplot -e %s %s", qe, qs);
  fflush(NULL);
  int ok = system(cmd) == 0;
  if (!ok) fprintf(stderr, "bench_embed: gnuplot failed; no PNG\n");
  for (int i = 0; i < 3; i++) free(gq[i]);
  free(qe); free(qs);
  sqlite3_free(e); sqlite3_free(title); sqlite3_free(cmd); sqlite3_free(dat);
  if (!ok) { sqlite3_free(png); return NULL; }
  return png;
}

int main(int argc, char **argv) {
  static run R;
  parse_opts(argc, argv, &R.o);
  opts *o = &R.o;
  if (!o->onnx) o->onnx = fmt("%s/models/synthetic/onnx/minilm-l6-embed.onnx", o->shared);
  mkdirs(o->out);

  char *sts_path = fmt("%s/data/sts/sts-test.tsv", o->shared);
  strv sts = read_sts(sts_path);
  build_workloads(o, &sts, R.w, &R.n_w);
  char *wl_path = fmt("%s/embed-workload.json", o->out);
  write_workload_file(wl_path, R.w, R.n_w);

  cpu_model(R.cpu, sizeof R.cpu);
  printf("bench/embed: %s, %ld CPUs online, SQLite %s\n", R.cpu, sysconf(_SC_NPROCESSORS_ONLN), sqlite3_libversion());
  printf("model %s; texts from %s; %g s per workload and engine after warm-up\n", o->model, sts_path, o->seconds);

  /* semlite first, then the peer: never both at once, each has the CPUs to itself */
  int peer_failed = 0;
  for (int e = 0; e < 2; e++) {
    R.other_cpus[e] = NAN;
    if (!(e ? o->run_ort : o->run_semlite)) continue;
    double busy0 = machine_busy_s(), own0 = own_cpu_s(), wall0 = now_ms();
    if (e) peer_failed = !run_ort(&R, wl_path);
    else run_semlite(&R);
    R.other_cpus[e] = ((machine_busy_s() - busy0) - (own_cpu_s() - own0)) / ((now_ms() - wall0) / 1e3);
  }
  for (int i = 0; i < R.n_w; i++) R.w[i].diff = max_abs_diff(&R.w[i].sem, &R.w[i].ort);

  int disagree = print_report(&R);
  char *csv = write_csv(&R);
  char *png = (o->plot && o->plot[0]) ? write_plot(&R) : NULL;
  printf("\nwrote %s%s%s\n", csv, png ? ", " : "", png ? png : "");
  return (peer_failed || disagree) ? 1 : 0;
}
