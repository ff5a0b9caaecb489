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
#include "../common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BATCHES 8   /* --batches takes 8 at most */

/* ---------------------------------------------------------------- options */

typedef struct opts {
  const char *name, *onnx, *only;
  int n_short;           /* distinct short sentences cycled through */
  int run_semlite, run_ort;
} opts;

static void parse_opts(int argc, char **argv, opts *o) {
  *o = (opts){ .name = "minilm", .n_short = 64 };
  args = (bench_args){ .seconds = 6, .batches = {32, 128}, .n_batches = 2 };
  const bench_opt own[] = {
    OPT("--name", OPT_STR, &o->name, "NAME", "model name used in SQL"),
    OPT("--onnx", OPT_STR, &o->onnx, "FILE", "ONNX graph (SHARED/models/synthetic/onnx/minilm-l6-embed.onnx)"),
    OPT("--short", OPT_INT, &o->n_short, "N", "distinct short sentences"),
    OPT("--only", OPT_STR, &o->only, "semlite|ort", "run one engine"),
    OPT_END,
  };
  parse_args(argc, argv, "[options]", ARG_SO | ARG_MODEL | ARG_SHARED | ARG_OUT | ARG_PLOT | ARG_SETUP_SQL | ARG_ORT_PEER |
             ARG_SECONDS | ARG_BATCHES, own);
  o->run_semlite = !o->only || !strcmp(o->only, "semlite");
  o->run_ort = !o->only || !strcmp(o->only, "ort");
  if (!o->run_semlite && !o->run_ort) usage_exit();
  if (o->n_short < 1) usage_exit();
}

/* ---------------------------------------------------------------- texts */

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

/* ---------------------------------------------------------------- workloads and results */

typedef struct result {
  int ok;
  long iters;
  int per_iter;
  double seconds, sps, p50, p95, mean;
  double *first; int dim;         /* the embedding of the workload's first text */
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
  for (int b = 0; b < args.n_batches; b++) {
    workload *x = &w[n++];
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "batch%d", args.batches[b]);
    x->batch = 1;
    for (int i = 0; i < sts->n && x->texts.n < args.batches[b]; i++) strv_push(&x->texts, sts->v[i]);
    x->warmup = 2; x->min_iters = 5; x->max_iters = 1000000;
  }
  for (int i = 0; i < n; i++) {
    w[i].seconds = args.seconds;
    w[i].tok_min = w[i].tok_mean = w[i].tok_max = w[i].diff = NAN;
  }
  *n_w = n;
}

static void write_workload_file(const char *path, const workload *w, int n) {
  FILE *f = out_open(path, "w");
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
  out_close(f, path);
}

/* ---------------------------------------------------------------- semlite through SQL */

/* Runs a prepared statement to completion; every row must be one float32 vector of the same
** size (a wrong or missing result would make any timing meaningless). Keeps the first vector. */
static int run_embed_stmt(sqlite3 *db, sqlite3_stmt *st, int expect_rows, result *r) {
  int rows = 0, rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_column_type(st, 0) != SQLITE_BLOB) die("embed returned a non-BLOB");
    int bytes = sqlite3_column_bytes(st, 0);
    if (bytes <= 0 || bytes % 4) die("embed returned %d bytes", bytes);
    if (!r->first) {
      const float *v = sqlite3_column_blob(st, 0);   /* host is little-endian x86 */
      r->dim = bytes / 4;
      r->first = xrealloc(NULL, (size_t)r->dim * sizeof *r->first);
      for (int k = 0; k < r->dim; k++) r->first[k] = v[k];
    } else if (bytes / 4 != r->dim) die("embed returned %d floats, then %d", r->dim, bytes / 4);
    rows++;
  }
  if (rc != SQLITE_DONE) die("embed failed: %s", sqlite3_errmsg(db));
  sqlite3_reset(st);
  if (rows != expect_rows) die("statement returned %d rows, expected %d", rows, expect_rows);
  return rows;
}

static sqlite3 *open_semlite(void) {
  sqlite3 *db = open_db(":memory:", args.so, NULL);
  if (args.setup_sql) exec_sql(db, args.setup_sql);
  return db;
}

/* semlite_model_load timed load_reps times under fresh names (each one then unloaded, so
** every one is a real load), then the model the workloads use, and its first embedding. */
static load_result semlite_load(sqlite3 *db, const opts *o, const char *first_text) {
  load_result lr = {0};
  double *t = xrealloc(NULL, args.load_reps * sizeof *t);
  for (int i = 0; i < args.load_reps; i++) {
    char *name = fmt("bench_load_%d", i);
    t[i] = load_model(db, name, args.model, NULL);
    unload_model(db, name);
    sqlite3_free(name);
  }
  lr.first = t[0];
  qsort(t, args.load_reps, sizeof *t, cmp_double);
  lr.p50 = percentile(t, args.load_reps, 50);
  free(t);

  load_model(db, o->name, args.model, NULL);
  char *sql = fmt("SELECT embed(%Q, ?1)", o->name);
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

/* One call of a workload: its statement, with text k bound for one-text workloads (the same
** text order as the peer: warm-up and timed calls both cycle from texts[0]). */
typedef struct embed_call {
  sqlite3 *db;
  sqlite3_stmt *st;
  const workload *w;
  int rows;
  result *r;
} embed_call;

static void run_embed_call(long k, void *ctx) {
  embed_call *c = ctx;
  if (!c->w->batch) sqlite3_bind_text(c->st, 1, c->w->texts.v[k % c->w->texts.n], -1, SQLITE_STATIC);
  run_embed_stmt(c->db, c->st, c->rows, c->r);
}

/* The p50 of ms[from, to) (clipped to n), NaN when fewer than 10. */
static double p50_of(const double *ms, long n, long from, long to) {
  if (to > n) to = n;
  if (to - from < 10) return NAN;
  size_t k = (size_t)(to - from);
  double *v = xrealloc(NULL, k * sizeof *v);
  memcpy(v, ms + from, k * sizeof *v);
  qsort(v, k, sizeof *v, cmp_double);
  double p = percentile(v, k, 50);
  free(v);
  return p;
}

static void semlite_workload(sqlite3 *db, const opts *o, workload *w) {
  result *r = &w->sem;
  sqlite3_stmt *st;
  char *sql;
  int rows;
  if (w->batch) {
    /* the texts live in a table, as a user's documents do; the statement embeds them all */
    sql = fmt("CREATE TEMP TABLE bench_%s(s TEXT)", w->name);
    exec_sql(db, sql);
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

  embed_call call = { db, st, w, rows, r };
  long n;
  double *ms = timed_loop(w->warmup, w->min_iters, w->max_iters, w->seconds, run_embed_call, &call, &n, &r->seconds);
  sqlite3_finalize(st);
  /* A result cache would turn the repeated texts into lookups and the timings into fiction:
  ** calls on a text never seen before (after the warm-up, in the first pass) are kept apart
  ** from calls on a text seen already, and the two medians compared in the report. */
  if (!w->batch) {
    r->fresh_p50 = p50_of(ms, n, w->warmup, w->texts.n);
    r->repeat_p50 = p50_of(ms, n, w->texts.n, 2L * w->texts.n);
    if (isnan(r->fresh_p50) || isnan(r->repeat_p50)) r->fresh_p50 = r->repeat_p50 = NAN;
  } else r->fresh_p50 = r->repeat_p50 = NAN;
  qsort(ms, (size_t)n, sizeof *ms, cmp_double);
  double sum = 0;
  for (long j = 0; j < n; j++) sum += ms[j];
  r->iters = n;
  r->per_iter = rows;
  r->sps = (double)n * rows / r->seconds;
  r->p50 = percentile(ms, (size_t)n, 50);
  r->p95 = percentile(ms, (size_t)n, 95);
  r->mean = sum / (double)n;
  r->ok = 1;
  free(ms);
}

/* ---------------------------------------------------------------- the ORT peer */

/* Runs the peer on the workload file and fills the ORT half of every workload. Returns the
** peer's JSON (saved next to the CSV too) or NULL when it failed. */
static char *run_ort_peer(const opts *o, const char *workload_path, workload *w, int n_w,
                          load_result *lr) {
  char *scratch = fmt("%s/ort-scratch", args.out);
  char *reference = fmt("%s/reference/embed.jsonl", args.shared);
  char *q[7] = { shq(args.node), shq(args.peer), shq(args.model), shq(o->onnx), shq(scratch),
                 shq(workload_path), shq(reference) };
  char *cmd = fmt("%s %s --model %s --onnx %s --scratch %s --workload %s --reference %s "
                  "--threads %d --load-reps %d",
                  q[0], q[1], q[2], q[3], q[4], q[5], q[6], args.threads, args.load_reps);
  char *json = run_peer(cmd);
  for (int i = 0; i < 7; i++) sqlite3_free(q[i]);
  sqlite3_free(cmd); sqlite3_free(scratch); sqlite3_free(reference);
  if (!json) return NULL;

  sqlite3 *db = open_db(":memory:", NULL, NULL);
  if (jnum(db, json, "$.reference_check.ok") != 1) {
    warn("the ORT peer does not reproduce the reference");
    sqlite3_close(db);
    free(json);
    return NULL;
  }
  lr->ok = 1;
  lr->p50 = jnum(db, json, "$.load.p50_ms");
  lr->first = jnum(db, json, "$.load.first_ms");
  lr->first_embed = jnum(db, json, "$.load.first_embed_ms");
  for (int i = 0; i < n_w; i++) {
    char *name = jtext(db, json, "$.workloads[%d].name", i);
    if (!name || strcmp(name, w[i].name)) die("peer result %d is '%s', expected '%s'", i, name ? name : "?", w[i].name);
    free(name);
    result *r = &w[i].ort;
    r->iters = (long)jnum(db, json, "$.workloads[%d].iters", i);
    r->per_iter = (int)jnum(db, json, "$.workloads[%d].sentences_per_iter", i);
    r->seconds = jnum(db, json, "$.workloads[%d].seconds", i);
    r->sps = jnum(db, json, "$.workloads[%d].sentences_per_s", i);
    r->p50 = jnum(db, json, "$.workloads[%d].p50_ms", i);
    r->p95 = jnum(db, json, "$.workloads[%d].p95_ms", i);
    r->mean = jnum(db, json, "$.workloads[%d].mean_ms", i);
    w[i].tok_min = jnum(db, json, "$.workloads[%d].tokens.min", i);
    w[i].tok_mean = jnum(db, json, "$.workloads[%d].tokens.mean", i);
    w[i].tok_max = jnum(db, json, "$.workloads[%d].tokens.max", i);
    jdoubles(db, json, &r->first, &r->dim, "$.workloads[%d].first_embedding", i);
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
  sqlite3 *db = open_semlite();
  /* what this build offers (a cache or thread switch would show here and belongs in --setup-sql) */
  sqlite3_stmt *st = prep(db, "SELECT group_concat(name, ' ') FROM (SELECT DISTINCT name FROM "
                              "pragma_function_list WHERE name LIKE 'semlite%' OR name LIKE 'embed%' ORDER BY name)");
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
    printf("semlite functions: %s\n", sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  printf("semlite setup SQL: %s\n", args.setup_sql ? args.setup_sql : "(none: the extension's defaults)");
  fflush(stdout);
  R->sem_load = semlite_load(db, &R->o, R->w[0].texts.v[0]);
  for (int i = 0; i < R->n_w; i++) {
    warn("semlite %s ...", R->w[i].name);
    semlite_workload(db, &R->o, &R->w[i]);
  }
  sqlite3_close(db);
}

/* Returns 0 when the peer failed or did not reproduce the reference. */
static int run_ort(run *R, const char *wl_path) {
  char *json = run_ort_peer(&R->o, wl_path, R->w, R->n_w, &R->ort_load);
  if (!json) return 0;
  char *p = fmt("%s/embed-ort.json", args.out);
  write_file(p, json);
  sqlite3_free(p);
  sqlite3 *db = open_db(":memory:", NULL, NULL);
  char *v1 = jtext(db, json, "$.versions.onnxruntime_node");
  char *v2 = jtext(db, json, "$.versions.tokenizers");
  printf("ORT: onnxruntime-node %s (CPU EP, graph optimisation 'all', intra-op threads %d, "
         "inter-op 1, sequential) + npm tokenizers %s; reference check: %.0f rows, ids equal, "
         "max abs diff %.1e\n", v1 ? v1 : "?", args.threads, v2 ? v2 : "?",
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
  char *csv = fmt("%s/embed.csv", args.out);
  FILE *f = out_open(csv, "w");
  fprintf(f, "workload,engine,threads,sentences_per_iter,iters,seconds,sentences_per_s,p50_ms,p95_ms,mean_ms,"
             "ratio_semlite_ort,tokens_min,tokens_mean,tokens_max,max_abs_diff_vs_other,load_first_ms,first_embed_ms,other_cpus\n");
  for (int i = 0; i < R->n_w; i++) {
    const workload *w = &R->w[i];
    for (int e = 0; e < 2; e++) {
      const result *r = e ? &w->ort : &w->sem;
      if (!r->ok) continue;
      fprintf(f, "%s,%s,%d,%d,%ld", w->name, e ? "ort" : "semlite", e ? args.threads : R->sem_threads,
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
    fprintf(f, "load,%s,%d,,%d,,", e ? "ort" : "semlite", e ? args.threads : R->sem_threads, args.load_reps);
    csv_num(f, l->p50);
    fputs(",,", f);
    csv_num(f, e ? NAN : load_ratio(R));
    fputs(",,,,", f);
    csv_num(f, l->first); csv_num(f, l->first_embed); csv_num(f, R->other_cpus[e]);
    fputc('\n', f);
  }
  out_close(f, csv);
  return csv;
}

/* embed-plot.dat (both engines side by side, as gnuplot's histograms want) and embed.png.
** Returns the PNG's path, or NULL when gnuplot failed. */
static char *write_plot(const run *R) {
  const workload *w = R->w;
  char *dat = fmt("%s/embed-plot.dat", args.out);
  FILE *f = out_open(dat, "w");
  fprintf(f, "# workload semlite_sps ort_sps semlite_p50 semlite_p95 ort_p50 ort_p95\n");
  for (int i = 0; i < R->n_w; i++)
    fprintf(f, "%s %g %g %g %g %g %g\n", w[i].name,
            w[i].sem.ok ? w[i].sem.sps : NAN, w[i].ort.ok ? w[i].ort.sps : NAN,
            w[i].sem.ok ? w[i].sem.p50 : NAN, w[i].sem.ok ? w[i].sem.p95 : NAN,
            w[i].ort.ok ? w[i].ort.p50 : NAN, w[i].ort.ok ? w[i].ort.p95 : NAN);
  /* load in its own gnuplot data block (index 1): a different unit, its own panel */
  double sl = R->sem_load.ok ? R->sem_load.p50 : NAN, ol = R->ort_load.ok ? R->ort_load.p50 : NAN;
  fprintf(f, "\n\nload %g %g %g %g %g %g\n", NAN, NAN, sl, sl, ol, ol);
  out_close(f, dat);

  char *png = fmt("%s/embed.png", args.out);
  char *title = fmt("semlite (own pool, %d CPUs) vs ONNX Runtime (CPU, %d intra-op threads) - %s",
                    R->sem_threads, args.threads, R->cpu);
  char *e = fmt("datafile='%q'; outfile='%q'; plottitle='%q'", dat, png, title);
  int ok = gnuplot(args.plot, e);
  sqlite3_free(e); sqlite3_free(title); sqlite3_free(dat);
  if (!ok) { sqlite3_free(png); return NULL; }
  return png;
}

int main(int argc, char **argv) {
  static run R;
  bench_init("bench_embed", 1);
  parse_opts(argc, argv, &R.o);
  opts *o = &R.o;
  if (!o->onnx) o->onnx = fmt("%s/models/synthetic/onnx/minilm-l6-embed.onnx", args.shared);
  mkdirs(args.out);

  char *sts_path = fmt("%s/data/sts/sts-test.tsv", args.shared);
  strv sts = {0};
  read_sts(sts_path, &sts);
  if (!sts.n) die("%s: no usable sentences", sts_path);
  build_workloads(o, &sts, R.w, &R.n_w);
  char *wl_path = fmt("%s/embed-workload.json", args.out);
  write_workload_file(wl_path, R.w, R.n_w);

  cpu_model(R.cpu, sizeof R.cpu);
  printf("bench/embed: %s, %ld CPUs online, SQLite %s\n", R.cpu, sysconf(_SC_NPROCESSORS_ONLN), sqlite3_libversion());
  printf("model %s; texts from %s; %g s per workload and engine after warm-up\n", args.model, sts_path, args.seconds);

  /* semlite first, then the peer: never both at once, each has the CPUs to itself */
  int peer_failed = 0;
  for (int e = 0; e < 2; e++) {
    R.other_cpus[e] = NAN;
    if (!(e ? o->run_ort : o->run_semlite)) continue;
    cpu_sample c0 = cpu_now();
    if (e) peer_failed = !run_ort(&R, wl_path);
    else run_semlite(&R);
    R.other_cpus[e] = other_cpus(c0, cpu_now());
  }
  for (int i = 0; i < R.n_w; i++) R.w[i].diff = max_abs_diff(&R.w[i].sem, &R.w[i].ort);

  int disagree = print_report(&R);
  char *csv = write_csv(&R);
  char *png = (args.plot && args.plot[0]) ? write_plot(&R) : NULL;
  printf("\nwrote %s%s%s\n", csv, png ? ", " : "", png ? png : "");
  return (peer_failed || disagree) ? 1 : 0;
}
