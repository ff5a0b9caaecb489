/*
** bench_infer.c: the batched-inference benchmark (issues "rerank(), batched inference and fast
** kernels" and 16). semlite's embed_each / rerank_each / embed() per dtype (fp32, bf16, int8),
** kernel path (avx512, avx2: SEMLITE_ISA) and thread count (the `threads` limit, 1 and 2),
** beside ONNX Runtime fp32 (the same twin graphs, its best settings) with 1 and 2 intra-op
** threads, in one run, engines alternating cell by cell, as ratios at the same thread count
** and as a fraction of this machine's arithmetic ceiling (bench/peak).
**
** What it runs (semlite through sqlite3_load_extension + SQL, exactly as a user does):
**   embed   SELECT i, embedding FROM embed_each(m, json_array_of_B_texts)     B x L grid
**   rerank  SELECT i, score FROM rerank_each(m, query, json_array_of_B_docs)  B x L grid
**   single  SELECT embed(m, ?1), one 16-token text per call (the per-insert latency)
**   trec100 rerank_each of one TREC DL 2019 query against 100 of its candidate passages
** with B in --batches (1,8,32,128) and L in --lengths (16,64,256) tokens. For embed, every
** text is exactly L ids long ([CLS] ... [SEP], counted by semlite_tokenize); for rerank the
** pair [CLS] query [SEP] doc [SEP] is exactly L ids. The texts are real: STS sentences (test +
** dev) for embed, TREC passages for rerank, joined and cut at a word boundary to the length.
** The ORT peer (bench/peers/ort_infer.mjs --serve) gets the same texts from a workload file and
** runs each iteration as one padded batch (all texts of a grid cell have the same length, so
** the padding costs nothing there; trec100 pads to its longest pair, as a user's batch would).
**
** Paths: each kernel path gets a private copy of semlite.so loaded with SEMLITE_ISA set to it
** (the level is chosen once per loaded library), on a connection of its own, which
** semlite_build_info() must confirm; a path the CPU lacks is skipped with a message.
** Alternation: for every cell, every configuration (ORT at each thread count, semlite at each
** path, dtype and thread count) runs in turn, ORT first on even cells and last on odd ones, so
** a change of the machine's load hits all of them alike; the load average and the CPU other
** processes took are recorded per measurement (the peer's own CPU, read from /proc, is not
** counted as other).
** Why ratios against ORT fp32 only: ORT runs the fp32 graphs; an int8 ORT graph needs
** onnxruntime's Python quantizer, which is not available here. The targets compare
** semlite int8 with ORT fp32, which is what a user switching engines gets.
** Why a ceiling fraction: a ratio to another engine says nothing about how much is left. Each
** figure's useful work (real tokens only: the six linear layers 2*n*(4h^2+2hI) and attention
** 4*n^2*h FLOPs per layer) is divided by the time that work would take at the measured peaks
** of as many cores as the configuration's threads, each part at its own unit's peak: for int8
** the five int8 layers at the VNNI peak and the second feed-forward layer (fp32 in int8 models,
** docs/models.md) and attention at the FMA peak; for bf16 the linear layers at the vdpbf16ps
** peak. (Runs before 2026-12-03 left the second feed-forward layer out of the fp32 count:
** their peak % read two thirds of the true fraction.)
** Correctness first: semlite fp32's first embedding and all trec100 scores must match ORT's
** (max abs diff <= 1e-4) on every path, else the exit status is 2.
*/
#include "../common.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXV 8
#define NDT 3
static const char *DTYPES[NDT] = { "fp32", "bf16", "int8" };
#define NPATH 2
static const char *PATHS[NPATH] = { "avx512", "avx2" };
#define MAXCFG 32

/* MiniLM-L6 shapes (both twins): hidden, intermediate, layers. */
#define H 384.0
#define I 1536.0
#define LAYERS 6

typedef struct opts {
  const char *onnx_dir, *peak, *paths_s, *dtypes_s;
  int no_ort;
  int lengths[MAXV], n_l;
  int sem_threads[4], n_st;
  int ort_threads[4], n_ot;
} opts;

static void parse_opts(int argc, char **argv, opts *o) {
  *o = (opts){ .lengths = {16, 64, 256}, .n_l = 3, .paths_s = "avx512,avx2", .dtypes_s = "fp32,bf16,int8",
               .sem_threads = {1, 2}, .n_st = 2, .ort_threads = {1, 2}, .n_ot = 2 };
  args = (bench_args){ .seconds = 0.3, .batches = {1, 8, 32, 128}, .n_batches = 4 };
  const bench_opt own[] = {
    OPT("--onnx-dir", OPT_STR, &o->onnx_dir, "DIR", "ONNX graphs (SHARED/models/synthetic/onnx)"),
    OPT("--peak", OPT_STR, &o->peak, "FILE", "output of bench/peak (BENCH_OUT/peak.txt); missing: no ceiling fractions"),
    OPT_LIST("--lengths", OPT_INTS, o->lengths, "LIST", "tokens per text or pair", &o->n_l, MAXV),
    OPT("--paths", OPT_STR, &o->paths_s, "LIST", "semlite kernel paths (SEMLITE_ISA): avx512, avx2"),
    OPT("--dtypes", OPT_STR, &o->dtypes_s, "LIST", "semlite dtypes: fp32, bf16, int8"),
    OPT_LIST("--sem-threads", OPT_INTS, o->sem_threads, "LIST", "semlite's threads limit", &o->n_st, 4),
    OPT_LIST("--ort-threads", OPT_INTS, o->ort_threads, "LIST", "ORT's intra-op threads", &o->n_ot, 4),
    OPT("--no-ort", OPT_FLAG, &o->no_ort, NULL, "semlite only"),
    OPT_END,
  };
  parse_args(argc, argv, "[options]", ARG_SO | ARG_EMBED | ARG_RERANK | ARG_SHARED | ARG_OUT | ARG_PLOT | ARG_PEER | ARG_NODE | ARG_LOAD_REPS |
             ARG_SECONDS | ARG_BATCHES, own);
}

/* Whether word is one of the comma-separated list. */
static int in_list(const char *list, const char *word) {
  size_t n = strlen(word);
  for (const char *p = list; p && *p;) {
    const char *e = strchr(p, ',');
    size_t k = e ? (size_t)(e - p) : strlen(p);
    if (k == n && !strncmp(p, word, n)) return 1;
    p = e ? e + 1 : NULL;
  }
  return 0;
}

/* ---------------------------------------------------------------- texts */

static void read_passages(const char *path, strv *text, strv *ids) {
  char *q = shq(path), *cmd = fmt("gzip -dc %s", q);
  FILE *f = popen(cmd, "r");
  if (!f) die("popen: %s", cmd);
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, f)) > 0) {
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
    char *t = strchr(line, '\t');
    if (!t) continue;
    *t++ = 0;
    char *k = strchr(t, '\t');
    if (k) *k = 0;
    strv_push(ids, xstrdup(line));
    strv_push(text, xstrdup(t));
  }
  free(line);
  if (pclose(f) != 0 || !text->n) die("%s: cannot read passages", path);
  sqlite3_free(q);
  sqlite3_free(cmd);
}

static int ntokens(sqlite3_stmt *tok, const char *text) {
  sqlite3_bind_text(tok, 2, text, -1, SQLITE_TRANSIENT);
  if (sqlite3_step(tok) != SQLITE_ROW) die("semlite_tokenize failed");
  int n = sqlite3_column_int(tok, 0);
  sqlite3_reset(tok);
  return n;
}

/* n texts of exactly `target` ids (semlite_tokenize, [CLS]/[SEP] included), each built from the
** sources starting at a different one: whole sources while they fit, then word by word. A
** candidate that jumps past the target (a word of several pieces) is dropped and the next start
** tried. At the model's maximum length the tokenizer truncates, so that length is always hit. */
static strv exact_texts(sqlite3_stmt *tok, const strv *src, int target, int n, int stride) {
  strv out = {0};
  size_t cap = 1 << 16;
  char *buf = xrealloc(NULL, cap);
  for (int start = 0, tries = 0; out.n < n; start = (start + stride) % src->n) {
    if (++tries > 50 * n + 1000) die("cannot build texts of %d tokens", target);
    size_t used = 0;
    buf[0] = 0;
    int s = start, got = 0;
    while (got < target) {   /* whole sources */
      const char *x = src->v[s % src->n];
      size_t k = strlen(x);
      if (used + k + 2 > cap) break;
      size_t keep = used;
      if (used) buf[used++] = ' ';
      memcpy(buf + used, x, k + 1);
      int t = ntokens(tok, buf);
      if (t > target) { used = keep; buf[used] = 0; break; }
      used += k;
      got = t;
      s++;
    }
    if (got < target) {      /* words of the next source, one at a time */
      const char *x = src->v[s % src->n];
      while (*x && got < target) {
        while (*x == ' ') x++;
        const char *e = strchr(x, ' ');
        size_t k = e ? (size_t)(e - x) : strlen(x);
        if (!k) break;
        if (used + k + 2 > cap) break;
        if (used) buf[used++] = ' ';
        memcpy(buf + used, x, k);
        used += k;
        buf[used] = 0;
        got = ntokens(tok, buf);
        x += k;
      }
    }
    if (got == target) strv_push(&out, xstrdup(buf));
  }
  free(buf);
  return out;
}

/* The JSON array the SQL functions take, built by SQLite itself (json_array over a VALUES
** list would need n parameters; json_group_array over a temp table is the same JSON). */
static char *json_array_of(sqlite3 *db, char **texts, int n) {
  sqlite3_exec(db, "CREATE TEMP TABLE IF NOT EXISTS ja(k INTEGER PRIMARY KEY, s TEXT); DELETE FROM ja", NULL, NULL, NULL);
  sqlite3_stmt *ins;
  sqlite3_prepare_v2(db, "INSERT INTO ja(s) VALUES (?1)", -1, &ins, NULL);
  for (int i = 0; i < n; i++) {
    sqlite3_bind_text(ins, 1, texts[i], -1, SQLITE_STATIC);
    sqlite3_step(ins);
    sqlite3_reset(ins);
  }
  sqlite3_finalize(ins);
  sqlite3_stmt *st;
  sqlite3_prepare_v2(db, "SELECT json_group_array(s) FROM (SELECT s FROM ja ORDER BY k)", -1, &st, NULL);
  if (sqlite3_step(st) != SQLITE_ROW) die("json_group_array failed");
  char *j = xstrdup((const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  return j;
}

/* ---------------------------------------------------------------- workloads */


/* ---------------------------------------------------------------- workloads and configurations */

enum { EMBED, RERANK };
enum { GRID, SINGLE, TREC };

typedef struct res {
  int ok;
  long iters;
  double seconds, ips, p50, p95, other_cpus, load;
  double *out; int n_out;   /* embed: first embedding; rerank: all scores of one iteration */
  double diff;              /* semlite fp32: max abs diff vs ORT at the same thread count */
} res;

/* One way of running a cell: ORT fp32 at some intra-op threads, or semlite on one path, dtype
** and threads limit. */
typedef struct config {
  int ort, path, dt, threads;
  char name[32];
} config;

typedef struct cell {
  char name[48];
  int task, kind, batch, len;      /* len: target ids per text/pair; 0 for trec100 */
  char **texts; int n;             /* the B texts (single: the texts cycled) */
  const char *query;
  char *json;                      /* texts as a JSON array */
  double flops_lin, flops_ffn2, flops_att;   /* useful FLOPs of the items of one iteration */
  long tokens;                     /* real ids over the items of one iteration */
  int warmup, min_iters;
  res r[MAXCFG];                   /* per configuration */
} cell;

/* Useful FLOPs of one sequence of n ids: per layer, Q K V and attention-output projections
** (4 h^2) and the two feed-forward layers (2 h I), QK^T and PV (2 n h each, per id). */
static void add_flops(cell *c, int n) {
  c->flops_lin += LAYERS * 2.0 * n * (4 * H * H + 2 * H * I);
  c->flops_ffn2 += LAYERS * 2.0 * n * H * I;
  c->flops_att += LAYERS * 4.0 * (double)n * n * H;
  c->tokens += n;
}

static void set_iters(cell *c, double tokens_per_iter) {
  /* big cells take seconds per iteration: fewer of them, and no warm-up (the smaller cells
  ** before them have already paged the weights in and warmed the pool) */
  c->warmup = tokens_per_iter <= 4096 ? 1 : 0;
  c->min_iters = tokens_per_iter <= 1024 ? 5 : tokens_per_iter <= 8192 ? 2 : 1;
}

/* ---------------------------------------------------------------- semlite */

/* Steps one iteration to the end; checks the row count and keeps the output of the first. */
static void run_iter(sqlite3 *db, sqlite3_stmt *st, const cell *c, res *r) {
  int rows = 0, rc, col = c->kind == SINGLE ? 0 : 1;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (c->task == EMBED && !r->out) {   /* the first row of the first iteration */
      if (sqlite3_column_type(st, col) != SQLITE_BLOB) die("%s: embedding is not a BLOB", c->name);
      r->n_out = sqlite3_column_bytes(st, col) / 4;
      r->out = xrealloc(NULL, (size_t)r->n_out * sizeof *r->out);
      const float *f = sqlite3_column_blob(st, col);   /* little-endian float32, as on x86 */
      for (int k = 0; k < r->n_out; k++) r->out[k] = f[k];
    } else if (c->task == RERANK && r->n_out < c->n) {   /* every score of the first iteration */
      r->out = xrealloc(r->out, (size_t)(r->n_out + 1) * sizeof *r->out);
      r->out[r->n_out++] = sqlite3_column_double(st, col);
    }
    rows++;
  }
  if (rc != SQLITE_DONE) die("%s failed: %s", c->name, sqlite3_errmsg(db));
  sqlite3_reset(st);
  int want = c->kind == SINGLE ? 1 : c->n;
  if (rows != want) die("%s: %d rows, expected %d", c->name, rows, want);
}

/* One call of a cell: its statement, with text k bound for single embed() calls (the same
** text order as the peer). */
typedef struct cell_call {
  sqlite3 *db;
  sqlite3_stmt *st;
  const cell *c;
  res *r;
} cell_call;

static void run_cell_call(long k, void *ctx) {
  cell_call *x = ctx;
  if (x->c->kind == SINGLE) sqlite3_bind_text(x->st, 2, x->c->texts[k % x->c->n], -1, SQLITE_STATIC);
  run_iter(x->db, x->st, x->c, x->r);
}

static void set_threads(sqlite3 *db, int threads) {
  char *sql = fmt("UPDATE semlite_limits SET value = %d WHERE name = 'threads'", threads);
  exec_sql(db, sql);
  sqlite3_free(sql);
}

static void sem_cell(sqlite3 *db, cell *c, const config *g, res *r, double seconds) {
  char *model = fmt("%s_%s", c->task == EMBED ? "e" : "r", DTYPES[g->dt]);
  sqlite3_stmt *st;
  set_threads(db, g->threads);
  if (c->kind == SINGLE) st = prep(db, "SELECT embed(?1, ?2)");
  else if (c->task == EMBED) st = prep(db, "SELECT i, embedding FROM embed_each(?1, ?2)");
  else st = prep(db, "SELECT i, score FROM rerank_each(?1, ?3, ?2)");
  sqlite3_bind_text(st, 1, model, -1, SQLITE_TRANSIENT);
  if (c->task == RERANK) sqlite3_bind_text(st, 3, c->query, -1, SQLITE_STATIC);
  if (c->kind != SINGLE) sqlite3_bind_text(st, 2, c->json, -1, SQLITE_STATIC);
  cell_call call = { db, st, c, r };
  r->load = load_average(NULL);
  cpu_sample c0 = cpu_now();
  double *ms = timed_loop(c->warmup, c->min_iters, 0, seconds, run_cell_call, &call, &r->iters, &r->seconds);
  r->other_cpus = other_cpus(c0, cpu_now());
  qsort(ms, (size_t)r->iters, sizeof *ms, cmp_double);
  r->ips = (double)r->iters * (c->kind == SINGLE ? 1 : c->n) / r->seconds;
  r->p50 = percentile(ms, (size_t)r->iters, 50);
  r->p95 = percentile(ms, (size_t)r->iters, 95);
  r->ok = 1;
  free(ms);
  sqlite3_finalize(st);
  sqlite3_free(model);
}

/* p50 of load_reps loads under fresh names (unloaded after, so each is a real load). */
static double sem_load(sqlite3 *db, const char *dir, const char *dtype, int reps) {
  double *t = xrealloc(NULL, reps * sizeof *t);
  for (int i = 0; i < reps; i++) {
    t[i] = load_model(db, "bench_load", dir, dtype);
    unload_model(db, "bench_load");
  }
  qsort(t, reps, sizeof *t, cmp_double);
  double p = percentile(t, reps, 50);
  free(t);
  return p;
}

/* ---------------------------------------------------------------- the peer */

static void write_workload(const char *path, cell *c, int n, double seconds) {
  FILE *f = out_open(path, "w");
  fputs("{\"workloads\":[\n", f);
  for (int i = 0; i < n; i++) {
    fprintf(f, "{\"name\":\"%s\",\"task\":\"%s\",\"mode\":\"%s\",\"warmup\":%d,\"min_iters\":%d,"
               "\"max_iters\":1000000,\"seconds\":%g,",
            c[i].name, c[i].task == EMBED ? "embed" : "rerank", c[i].kind == SINGLE ? "single" : "batch",
            c[i].warmup, c[i].min_iters, seconds);
    if (c[i].query) { fputs("\"query\":", f); json_string(f, c[i].query); fputc(',', f); }
    fprintf(f, "\"texts\":%s}%s\n", c[i].json, i + 1 < n ? "," : "");
  }
  fputs("]}\n", f);
  out_close(f, path);
}

/* The peer in --serve mode: a child with a pipe each way. */
typedef struct peer {
  pid_t pid;
  FILE *to, *from;
  sqlite3 *json_db;            /* SQLite's JSON functions read its answers */
  char *line;
  size_t cap;
} peer;

/* The peer's CPU seconds so far (utime + stime of /proc/PID/stat), NaN when unknown. */
static double peer_cpu(const peer *p) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)p->pid);
  FILE *f = fopen(path, "r");
  if (!f) return NAN;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *s = strrchr(buf, ')');   /* the command name may hold spaces */
  unsigned long ut = 0, st = 0;
  if (!s || sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return NAN;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Starts `sh -c cmd` with its stdin and stdout on pipes; reads its first line (the "ready"
** object) into *ready. 0 when it failed. */
static int peer_start(peer *p, const char *cmd, char **ready) {
  int in[2], out[2];
  warn("starting the peer: %s", cmd);
  fflush(NULL);
  if (pipe(in) || pipe(out)) die("pipe: %s", strerror(errno));
  p->pid = fork();
  if (p->pid < 0) die("fork: %s", strerror(errno));
  if (p->pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[0]), close(in[1]), close(out[0]), close(out[1]);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  close(in[0]), close(out[1]);
  p->to = fdopen(in[1], "w");
  p->from = fdopen(out[0], "r");
  p->json_db = open_db(":memory:", NULL, NULL);
  if (getline(&p->line, &p->cap, p->from) <= 0) return 0;
  *ready = xstrdup(p->line);
  return 1;
}

/* Workload i on the sessions of `threads`: its result line, NULL when the peer died. */
static const char *peer_run(peer *p, int i, int threads) {
  fprintf(p->to, "run %d %d\n", i, threads);
  fflush(p->to);
  if (getline(&p->line, &p->cap, p->from) <= 0) return NULL;
  return p->line;
}

static void peer_stop(peer *p) {
  if (!p->to) return;
  fputs("quit\n", p->to);
  fclose(p->to);
  fclose(p->from);
  waitpid(p->pid, NULL, 0);
  sqlite3_close(p->json_db);
  free(p->line);
  p->to = NULL;
}

static int ort_cell(peer *p, cell *c, int index, const config *g, res *r) {
  r->load = load_average(NULL);
  cpu_sample c0 = cpu_now();
  double p0 = peer_cpu(p);
  const char *json = peer_run(p, index, g->threads);
  cpu_sample c1 = cpu_now();
  if (!json) return 0;
  double p1 = peer_cpu(p);
  r->other_cpus = other_cpus(c0, c1);
  if (!isnan(p1 - p0) && c1.t > c0.t) r->other_cpus = fmax(0, r->other_cpus - (p1 - p0) / (c1.t - c0.t));
  r->iters = (long)jnum(p->json_db, json, "$.iters");
  r->seconds = jnum(p->json_db, json, "$.seconds");
  r->ips = jnum(p->json_db, json, "$.items_per_s");
  r->p50 = jnum(p->json_db, json, "$.p50_ms");
  r->p95 = jnum(p->json_db, json, "$.p95_ms");
  jdoubles(p->json_db, json, &r->out, &r->n_out, "$.result");
  r->ok = r->iters > 0;
  (void)c;
  return 1;
}

/* ---------------------------------------------------------------- peak */

/* bench/peak's figures per thread count (index 1 and 2; 0 unused). */
typedef struct peak { double fma[3], vnni[3], bf16[3]; } peak;

/* bench/peak's lines "kind threads value unit ...". */
static peak read_peak(const char *path) {
  peak p;
  for (int t = 0; t < 3; t++) p.fma[t] = p.vnni[t] = p.bf16[t] = NAN;
  FILE *f = path ? fopen(path, "r") : NULL;
  if (!f) return p;
  char kind[32], unit[16], line[256];
  int th;
  double v;
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "%31s %d %lf %15s", kind, &th, &v, unit) != 4 || th < 1 || th > 2) continue;
    if (!strcmp(kind, "fp32_fma")) p.fma[th] = v;
    else if (!strcmp(kind, "int8_vnni")) p.vnni[th] = v;
    else if (!strcmp(kind, "bf16_dpbf16")) p.bf16[th] = v;
  }
  fclose(f);
  return p;
}

/* Seconds one item's useful work takes at the peak of `threads` cores, each part on its own
** unit (see the header); ORT is priced as fp32. */
static double peak_seconds(const cell *c, int dt, int threads, const peak *p) {
  double items = c->kind == SINGLE ? 1 : c->n;
  double lin = c->flops_lin / items, ffn2 = c->flops_ffn2 / items, att = c->flops_att / items;
  int t = threads >= 2 ? 2 : 1;
  double fma = p->fma[t] * 1e9;
  if (dt == 0) return (lin + att) / fma;
  if (dt == 1) return lin / (p->bf16[t] * 1e9) + att / fma;
  return (lin - ffn2) / (p->vnni[t] * 1e9) + (ffn2 + att) / fma;
}

/* ---------------------------------------------------------------- the run, step by step */

/* The texts of every cell: STS sentences (embed), TREC passages (rerank), the TREC query and
** its 100 candidates (trec100). */
typedef struct texts {
  strv sts, pas, pid, trec;
  const char *query;
} texts;

/* Everything one run holds, for the steps below. */
typedef struct run {
  opts o;
  peak pk;
  double load0, load1;              /* load average at the start and at the end */
  sqlite3 *db[NPATH];               /* semlite per path (a private copy of the .so each), or NULL */
  sqlite3 *tokdb;                   /* the first of them */
  double lt[2][NDT];                /* load p50 ms: [embed, rerank][dtype], on the first path */
  config cfg[MAXCFG];
  int ncfg;
  cell *c;
  int nc;
  peer pr;
  int peer_ok;
  double ort_load[2][3];            /* the peer's load p50: [embed, rerank][threads] */
  char *versions;                   /* the peer's versions object */
  double seconds;                   /* the whole measuring part */
  int bad;                          /* semlite fp32 and ORT disagree */
} run;

/* Each path's private copy of the library, loaded with SEMLITE_ISA set to it, which
** semlite_build_info() must confirm; then the load times (first path only: fp32 is a read and
** the packing of the linear layers; bf16 and int8 convert them) and every model in every dtype
** as e_<dtype> and r_<dtype> (fp32 always: the texts are counted with it). */
static void open_semlite(run *R) {
  const char *saved = getenv("SEMLITE_ISA");
  char *keep = saved ? xstrdup(saved) : NULL;
  int first = -1;
  for (int p = 0; p < NPATH; p++) {
    if (!in_list(R->o.paths_s, PATHS[p])) continue;
    char *copy = fmt("%s/semlite-%s.so", args.out, PATHS[p]);
    char *cmd = fmt("cp %s %s", shq(args.so), shq(copy));
    if (system(cmd) != 0) die("cannot copy %s", args.so);
    setenv("SEMLITE_ISA", PATHS[p], 1);
    sqlite3 *db = open_db(":memory:", copy, "sqlite3_semlite_init");
    sqlite3_stmt *st = prep(db, "SELECT json_extract(semlite_build_info(), '$.isa.selected')");
    if (sqlite3_step(st) != SQLITE_ROW) die_db(db, "semlite_build_info");
    const char *sel = (const char *)sqlite3_column_text(st, 0);
    int ok = sel && !strcmp(sel, PATHS[p]);
    if (!ok) warn("path %s: this CPU runs %s at most; skipped", PATHS[p], sel ? sel : "?");
    sqlite3_finalize(st);
    if (keep) setenv("SEMLITE_ISA", keep, 1);
    else unsetenv("SEMLITE_ISA");
    sqlite3_free(cmd);
    sqlite3_free(copy);
    if (!ok) { sqlite3_close(db); continue; }
    R->db[p] = db;
    if (first < 0) {
      first = p;
      for (int t = 0; t < 2; t++)
        for (int d = 0; d < NDT; d++)
          R->lt[t][d] = in_list(R->o.dtypes_s, DTYPES[d]) ? sem_load(db, t ? args.rerank : args.embed, DTYPES[d], args.load_reps) : NAN;
    }
    for (int t = 0; t < 2; t++)
      for (int d = 0; d < NDT; d++) {
        if (!in_list(R->o.dtypes_s, DTYPES[d]) && !(d == 0 && p == first)) continue;
        char *name = fmt("%s_%s", t ? "r" : "e", DTYPES[d]);
        load_model(db, name, t ? args.rerank : args.embed, DTYPES[d]);
        sqlite3_free(name);
      }
  }
  if (first < 0) die("no semlite path to run (--paths %s)", R->o.paths_s);
  R->tokdb = R->db[first];   /* the texts are counted on it */
  free(keep);
}

/* The configurations in the order they run within a cell: ORT at each thread count, then
** semlite per path, dtype and thread count. */
static void make_configs(run *R) {
  const opts *o = &R->o;
  R->ncfg = 0;
  if (!o->no_ort)
    for (int t = 0; t < o->n_ot; t++) {
      config *g = &R->cfg[R->ncfg++];
      *g = (config){ 1, -1, 0, o->ort_threads[t], "" };
      snprintf(g->name, sizeof g->name, "ORT/t%d", g->threads);
    }
  for (int p = 0; p < NPATH; p++)
    for (int d = 0; d < NDT; d++)
      for (int t = 0; t < o->n_st; t++) {
        if (!R->db[p] || !in_list(o->dtypes_s, DTYPES[d]) || R->ncfg == MAXCFG) continue;
        config *g = &R->cfg[R->ncfg++];
        *g = (config){ 0, p, d, o->sem_threads[t], "" };
        snprintf(g->name, sizeof g->name, "%s/%s/t%d", DTYPES[d], PATHS[p], g->threads);
      }
}


/* The first query of queries.tsv; its candidates: its judged passages (qrels), in passage-file
** order, topped up with the file's next passages to 100. */
static void read_trec_query(texts *t) {
  char *qp = fmt("%s/data/rerank/trec-dl-2019-passage/queries.tsv", args.shared);
  char *lines = read_file(qp);
  lines[strcspn(lines, "\r\n")] = 0;
  char *qtab = strchr(lines, '\t');
  if (!qtab) die("%s: bad first line", qp);
  *qtab = 0;
  const char *qid = lines;
  t->query = xstrdup(qtab + 1);
  char *rp = fmt("%s/data/rerank/trec-dl-2019-passage/qrels.tsv", args.shared);
  FILE *rf = fopen(rp, "r");
  if (!rf) die("cannot open %s", rp);
  char *judged = xrealloc(NULL, (size_t)t->pas.n);
  memset(judged, 0, (size_t)t->pas.n);
  char rl[256];
  while (fgets(rl, sizeof rl, rf)) {
    char a[64], b[64];
    if (sscanf(rl, "%63s %63s", a, b) != 2 || strcmp(a, qid)) continue;
    for (int i = 0; i < t->pas.n; i++) if (!strcmp(t->pid.v[i], b)) judged[i] = 1;
  }
  fclose(rf);
  for (int i = 0; i < t->pas.n && t->trec.n < 100; i++) if (judged[i]) strv_push(&t->trec, t->pas.v[i]);
  for (int i = 0; i < t->pas.n && t->trec.n < 100; i++) if (!judged[i]) strv_push(&t->trec, t->pas.v[i]);
  free(judged);
  free(lines);
  sqlite3_free(qp);
  sqlite3_free(rp);
}

static void read_texts(texts *t) {
  char *p1 = fmt("%s/data/sts/sts-test.tsv", args.shared), *p2 = fmt("%s/data/sts/sts-dev.tsv", args.shared);
  read_sts(p1, &t->sts);
  read_sts(p2, &t->sts);
  char *pp = fmt("%s/data/rerank/trec-dl-2019-passage/passages.tsv.gz", args.shared);
  read_passages(pp, &t->pas, &t->pid);
  read_trec_query(t);
  sqlite3_free(p1);
  sqlite3_free(p2);
  sqlite3_free(pp);
}

/* The cells: embed and rerank over the batch x length grid (texts of exactly L ids, counted
** by semlite_tokenize), the single embed() calls at 16 ids, and trec100; each as a JSON array. */
static void build_cells(run *R, const texts *t) {
  const opts *o = &R->o;
  sqlite3_stmt *tok_e = prep(R->tokdb, "SELECT json_array_length(semlite_tokenize(?1, ?2))");
  sqlite3_bind_text(tok_e, 1, "e_fp32", -1, SQLITE_STATIC);
  sqlite3_stmt *tok_r = prep(R->tokdb, "SELECT json_array_length(semlite_tokenize(?1, ?2))");
  sqlite3_bind_text(tok_r, 1, "r_fp32", -1, SQLITE_STATIC);
  int qlen = ntokens(tok_r, t->query);   /* [CLS] query [SEP] */

  int maxb = 0;
  for (int b = 0; b < args.n_batches; b++) if (args.batches[b] > maxb) maxb = args.batches[b];
  int n_cells = 2 * args.n_batches * o->n_l + 2;
  cell *c = R->c = xrealloc(NULL, (size_t)n_cells * sizeof *c);
  memset(c, 0, (size_t)n_cells * sizeof *c);
  int nc = 0;
  double t_texts = now_ms();
  for (int task = 0; task < 2; task++)
    for (int l = 0; l < o->n_l; l++) {
      int L = o->lengths[l];
      /* rerank: the doc alone is L - qlen + 1 ids, so that the pair is exactly L */
      int target = task == EMBED ? L : L - qlen + 1;
      if (target < 3) die("length %d is too short for the query (%d ids)", L, qlen);
      strv tx = exact_texts(task == EMBED ? tok_e : tok_r, task == EMBED ? &t->sts : &t->pas, target, maxb,
                            task == EMBED ? 37 : 13);
      for (int b = 0; b < args.n_batches; b++) {
        cell *x = &c[nc++];
        snprintf(x->name, sizeof x->name, "%s_b%d_l%d", task == EMBED ? "embed" : "rerank", args.batches[b], L);
        x->task = task; x->kind = GRID; x->batch = args.batches[b]; x->len = L;
        x->texts = tx.v; x->n = args.batches[b];
        x->query = task == RERANK ? t->query : NULL;
        for (int i = 0; i < x->n; i++) add_flops(x, L);
        set_iters(x, (double)x->n * L);
      }
      if (task == EMBED && L == 16) {   /* single embed() calls on the 16-id texts, cycled */
        cell *x = &c[nc++];
        snprintf(x->name, sizeof x->name, "embed_single_l16");
        x->task = EMBED; x->kind = SINGLE; x->batch = 1; x->len = 16;
        x->texts = tx.v; x->n = tx.n;
        add_flops(x, 16);
        x->warmup = 20; x->min_iters = 50;
      }
    }
  cell *x = &c[nc++];
  snprintf(x->name, sizeof x->name, "rerank_trec100");
  x->task = RERANK; x->kind = TREC; x->batch = t->trec.n; x->len = 0;
  x->texts = t->trec.v; x->n = t->trec.n; x->query = t->query;
  for (int i = 0; i < t->trec.n; i++) {
    /* pair ids = query ids + doc ids - 1, capped by the 512 maximum (longest_first) */
    int n = qlen + ntokens(tok_r, t->trec.v[i]) - 1;
    add_flops(x, n > 512 ? 512 : n);
  }
  x->warmup = 1; x->min_iters = 3;
  warn("texts built in %.1f s (query '%s', %d ids)", (now_ms() - t_texts) / 1e3, t->query, qlen);
  for (int i = 0; i < nc; i++) c[i].json = json_array_of(R->tokdb, c[i].texts, c[i].n);
  R->nc = nc;
  sqlite3_finalize(tok_e);
  sqlite3_finalize(tok_r);
}

/* semlite: every cell, fp32 / bf16 / int8. */

/* The peer in --serve mode with a session per thread count; its load times and versions. */
static void start_ort(run *R) {
  if (R->o.no_ort) return;
  for (int t = 0; t < 2; t++)
    for (int k = 0; k < 3; k++) R->ort_load[t][k] = NAN;
  char *wpath = fmt("%s/infer-workload.json", args.out);
  write_workload(wpath, R->c, R->nc, args.seconds);
  char list[32] = "";
  for (int t = 0; t < R->o.n_ot; t++)
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%d", t ? "," : "", R->o.ort_threads[t]);
  char *scratch = fmt("%s/ort-infer-scratch", args.out);
  char *q[8] = { shq(args.node), shq(args.peer), shq(args.embed), shq(args.rerank), shq(R->o.onnx_dir),
                 shq(scratch), shq(wpath), shq(list) };
  char *cmd = fmt("%s %s --embed-model %s --rerank-model %s --onnx-dir %s --scratch %s --workload %s "
                  "--serve 1 --threads-list %s --load-reps %d", q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7],
                  args.load_reps);
  char *ready = NULL;
  R->peer_ok = peer_start(&R->pr, cmd, &ready);
  if (R->peer_ok) {
    for (int t = 0; t < R->o.n_ot; t++) {
      int th = R->o.ort_threads[t];
      if (th > 2) continue;
      R->ort_load[0][th] = jnum(R->pr.json_db, ready, "$.load.embed.\"%d\".p50_ms", th);
      R->ort_load[1][th] = jnum(R->pr.json_db, ready, "$.load.rerank.\"%d\".p50_ms", th);
    }
    char *v = jtext(R->pr.json_db, ready, "$.versions");
    R->versions = v;
  } else {
    warn("the peer did not start; see its messages above");
  }
  free(ready);
  for (int i = 0; i < 8; i++) sqlite3_free(q[i]);
  sqlite3_free(cmd);
  sqlite3_free(scratch);
  sqlite3_free(wpath);
}

/* Every cell, every configuration in turn (ORT first on even cells, last on odd ones). */
static void run_all(run *R) {
  double t0 = now_ms();
  for (int i = 0; i < R->nc; i++) {
    cell *x = &R->c[i];
    for (int k = 0; k < R->ncfg; k++) {
      int j = i % 2 ? (k + R->o.n_ot * !R->o.no_ort) % R->ncfg : k;   /* odd cells: semlite first */
      const config *g = &R->cfg[j];
      warn("%s %s (load %.1f)", x->name, g->name, load_average(NULL));
      if (g->ort) {
        if (R->peer_ok && !ort_cell(&R->pr, x, i, g, &x->r[j])) {
          warn("the peer died; ORT is left out from here on");
          R->peer_ok = 0;
        }
      } else {
        sem_cell(R->db[g->path], x, g, &x->r[j], args.seconds);
      }
    }
  }
  R->seconds = (now_ms() - t0) / 1e3;
}

/* The ORT configuration with g's thread count, or -1. */
static int ort_of(const run *R, const config *g) {
  for (int j = 0; j < R->ncfg; j++)
    if (R->cfg[j].ort && R->cfg[j].threads == g->threads) return j;
  return -1;
}

/* Agreement, semlite fp32 against ORT at the same thread count (else any): the first
** embedding, or every score. */
static void check_agreement(run *R) {
  for (int i = 0; i < R->nc; i++) {
    cell *x = &R->c[i];
    for (int j = 0; j < R->ncfg; j++) {
      const config *g = &R->cfg[j];
      res *s = &x->r[j];
      s->diff = NAN;
      if (g->ort || g->dt != 0 || !s->ok) continue;
      int o = ort_of(R, g);
      if (o < 0) for (int k = 0; k < R->ncfg && o < 0; k++) if (R->cfg[k].ort) o = k;
      if (o < 0 || !x->r[o].ok) continue;
      const res *r = &x->r[o];
      int n = x->task == EMBED ? s->n_out : (s->n_out < r->n_out ? s->n_out : r->n_out);
      if (n == 0 || s->n_out != r->n_out) { R->bad = 1; continue; }
      double m = 0;
      for (int k = 0; k < n; k++) m = fmax(m, fabs(s->out[k] - r->out[k]));
      s->diff = m;
      if (m > 1e-4) R->bad = 1;
    }
  }
}

/* One table row and one CSV row per configuration of a cell. */
static void report_cell(const run *R, const cell *x, FILE *csv) {
  char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32], b7[32];
  for (int j = 0; j < R->ncfg; j++) {
    const config *g = &R->cfg[j];
    const res *r = &x->r[j];
    if (!r->ok) continue;
    int o = g->ort ? -1 : ort_of(R, g);
    double ratio = o >= 0 && x->r[o].ok ? r->ips / x->r[o].ips : NAN;
    double items = x->kind == SINGLE ? 1 : x->n;
    double gflops = (x->flops_lin + x->flops_att) / items * r->ips / 1e9;
    double frac = peak_seconds(x, g->dt, g->threads, &R->pk) * r->ips;
    printf("%-18s %-16s %9s %9s %9s %7s %6s %5ld %5s\n", x->name, g->name, fnum(b1, sizeof b1, "%.1f", r->ips),
           fnum(b2, sizeof b2, "%.2f", r->p50), fnum(b3, sizeof b3, "%.2f", r->p95),
           g->ort ? "" : fnum(b4, sizeof b4, "%.2fx", ratio), fnum(b5, sizeof b5, "%.0f%%", 100 * frac), r->iters,
           fnum(b7, sizeof b7, "%.1f", r->load));
    fprintf(csv, "%s,%s,%d,%d,%s,%s,%s,%d,%.3f,%.3f,%.3f,%ld,%.3f,%s,%.2f,%s,%.2f,%.2f,%s\n", x->name,
            x->task == EMBED ? (x->kind == SINGLE ? "embed()" : "embed_each") : "rerank_each", x->batch, x->len,
            g->ort ? "ort" : "semlite", DTYPES[g->dt], g->ort ? "" : PATHS[g->path], g->threads, r->ips, r->p50,
            r->p95, r->iters, r->seconds, g->ort ? "" : fnum(b4, sizeof b4, "%.3f", ratio), gflops,
            fnum(b5, sizeof b5, "%.3f", frac), r->other_cpus, r->load,
            g->ort || g->dt == 0 ? fnum(b6, sizeof b6, "%.2e", r->diff) : "");
  }
}

/* The configuration of the plot's series: the first path's dtype d at the most threads, or
** ORT (d < 0) at that thread count. */
static int plot_cfg(const run *R, int d) {
  int best = -1, th = 0;
  for (int j = 0; j < R->ncfg; j++)
    if (!R->cfg[j].ort && R->cfg[j].threads > th) th = R->cfg[j].threads;
  for (int j = 0; j < R->ncfg && best < 0; j++) {
    const config *g = &R->cfg[j];
    if (g->threads != th) continue;
    if (d < 0 ? g->ort : (!g->ort && g->dt == d && R->db[g->path] == R->tokdb)) best = j;
  }
  return best;
}

/* The table on stdout, infer.csv (every cell and configuration, then the load rows) and
** infer-plot.dat (the first path at the most threads, beside ORT at as many). */
static void write_results(const run *R) {
  char *csvp = fmt("%s/infer.csv", args.out), *datp = fmt("%s/infer-plot.dat", args.out);
  FILE *csv = out_open(csvp, "w"), *dat = out_open(datp, "w");
  fprintf(csv, "workload,task,batch,tokens,engine,dtype,path,threads,items_per_s,p50_ms,p95_ms,iters,seconds,"
               "ratio_vs_ort_fp32,gflops,peak_frac,other_cpus,load_avg,max_abs_diff_vs_ort\n");
  fprintf(dat, "# task len batch ort_ips ort_p50 ort_p95 fp32_ips fp32_p50 fp32_p95 bf16_ips bf16_p50 bf16_p95 int8_ips int8_p50 int8_p95\n");
  printf("\nsemlite (embed_each / rerank_each / embed) vs onnxruntime-node (fp32 graphs); vs ORT: at the same "
         "thread count; peak%%: of the ceiling of as many cores; load: 1-minute load average at the start\n");
  printf("%-18s %-16s %9s %9s %9s %7s %6s %5s %5s\n", "workload", "config", "items/s", "p50 ms", "p95 ms", "vs ORT",
         "peak%", "iters", "load");
  int series[4] = { plot_cfg(R, -1), plot_cfg(R, 0), plot_cfg(R, 1), plot_cfg(R, 2) };
  for (int i = 0; i < R->nc; i++) {
    const cell *x = &R->c[i];
    report_cell(R, x, csv);
    if (x->kind != GRID) continue;
    fprintf(dat, "%d %d %d", x->task, x->len, x->batch);
    for (int s = 0; s < 4; s++) {
      const res *r = series[s] >= 0 ? &x->r[series[s]] : NULL;
      if (r && r->ok) fprintf(dat, " %g %g %g", r->ips, r->p50, r->p95);
      else fprintf(dat, " NaN NaN NaN");
    }
    fputc('\n', dat);
  }
  for (int t = 0; t < 2; t++)
    for (int d = 0; d < NDT; d++)
      fprintf(csv, "load_%s,load,,,semlite,%s,,,,%.3f,,%d,,,,,,,\n", t ? "rerank" : "embed", DTYPES[d], R->lt[t][d],
              args.load_reps);
  for (int t = 0; t < 2; t++)
    for (int k = 1; k <= 2; k++)
      fprintf(csv, "load_%s,load,,,ort,fp32,,%d,,%.3f,,%d,,,,,,,\n", t ? "rerank" : "embed", k, R->ort_load[t][k],
              args.load_reps);
  out_close(csv, csvp);
  out_close(dat, datp);
  sqlite3_free(csvp);
  sqlite3_free(datp);
}

/* Load times, the peaks, the machine's load, and the agreement, under the table. */
static void print_summary(const run *R) {
  const double (*lt)[NDT] = R->lt;
  char b[10][32];
  printf("\nload p50 ms (%d reps): embed fp32 %s bf16 %s int8 %s | rerank fp32 %s bf16 %s int8 %s | ORT (tokenizer "
         "+ session) embed %s (1 thread) %s (2) rerank %s %s\n", args.load_reps,
         fnum(b[0], 32, "%.1f", lt[0][0]), fnum(b[1], 32, "%.1f", lt[0][1]), fnum(b[2], 32, "%.1f", lt[0][2]),
         fnum(b[3], 32, "%.1f", lt[1][0]), fnum(b[4], 32, "%.1f", lt[1][1]), fnum(b[5], 32, "%.1f", lt[1][2]),
         fnum(b[6], 32, "%.1f", R->ort_load[0][1]), fnum(b[7], 32, "%.1f", R->ort_load[0][2]),
         fnum(b[8], 32, "%.1f", R->ort_load[1][1]), fnum(b[9], 32, "%.1f", R->ort_load[1][2]));
  printf("peak (bench/peak, %s): fp32 FMA %s / %s GFLOPS (1 / 2 threads), int8 VNNI %s / %s GOPS, bf16 %s / %s "
         "GFLOPS\n", R->o.peak ? R->o.peak : "-", fnum(b[0], 32, "%.1f", R->pk.fma[1]), fnum(b[1], 32, "%.1f", R->pk.fma[2]),
         fnum(b[2], 32, "%.0f", R->pk.vnni[1]), fnum(b[3], 32, "%.0f", R->pk.vnni[2]),
         fnum(b[4], 32, "%.0f", R->pk.bf16[1]), fnum(b[5], 32, "%.0f", R->pk.bf16[2]));
  double other = 0;
  int n = 0;
  for (int i = 0; i < R->nc; i++)
    for (int j = 0; j < R->ncfg; j++)
      if (R->c[i].r[j].ok && !isnan(R->c[i].r[j].other_cpus)) other += R->c[i].r[j].other_cpus, n++;
  printf("measuring took %.0f s; other processes: %.2f CPUs on average over the measurements; load average %.2f "
         "at start, %.2f at end%s%s\n", R->seconds, n ? other / n : NAN, R->load0, R->load1,
         R->versions ? "; peer " : "", R->versions ? R->versions : "");
  if (n && other / n > 0.15)
    printf("WARNING: other processes used CPU during the run; every engine is understated, the ratios less "
           "so (engines alternate cell by cell), but they are still noisy\n");
  printf("semlite fp32 vs ORT (max abs diff): ");
  for (int i = 0; i < R->nc; i++) {
    const cell *x = &R->c[i];
    if (x->kind == GRID && x->batch != 1) continue;
    double m = NAN;
    for (int j = 0; j < R->ncfg; j++) if (!isnan(x->r[j].diff)) m = isnan(m) ? x->r[j].diff : fmax(m, x->r[j].diff);
    if (!isnan(m)) printf("%s %.1e  ", x->name, m);
  }
  printf("\nresults: %s/infer.csv\n", args.out);
}

/* infer.png (throughput) and infer-latency.png (p50), one panel column per length. */
static void plot(const run *R) {
  const opts *o = &R->o;
  char lens[64] = "";
  for (int l = 0; l < o->n_l; l++)
    snprintf(lens + strlen(lens), sizeof lens - strlen(lens), "%s%d", l ? " " : "", o->lengths[l]);
  int ok = 1;
  for (int m = 0; m < 2 && ok; m++) {
    char *e = fmt("datafile='%q/infer-plot.dat'; outfile='%q/%s.png'; metric='%s'; lens='%s'", args.out, args.out,
                  m ? "infer-latency" : "infer", m ? "p50" : "ips", lens);
    ok = gnuplot(args.plot, e);
    sqlite3_free(e);
  }
  if (ok) printf("plots: %s/infer.png %s/infer-latency.png\n", args.out, args.out);
}

int main(int argc, char **argv) {
  static run R;
  bench_init("bench_infer", 1);
  parse_opts(argc, argv, &R.o);
  if (!R.o.onnx_dir) R.o.onnx_dir = fmt("%s/models/synthetic/onnx", args.shared);
  signal(SIGPIPE, SIG_IGN);
  mkdirs(args.out);
  R.pk = read_peak(R.o.peak);
  R.load0 = load_average(NULL);

  static texts t;
  open_semlite(&R);
  read_texts(&t);
  build_cells(&R, &t);
  make_configs(&R);
  start_ort(&R);
  run_all(&R);
  peer_stop(&R.pr);
  R.load1 = load_average(NULL);
  check_agreement(&R);

  write_results(&R);
  print_summary(&R);
  if (args.plot && *args.plot) plot(&R);
  for (int p = 0; p < NPATH; p++) if (R.db[p]) sqlite3_close(R.db[p]);
  if (!R.o.no_ort && !R.peer_ok) return 1;
  if (R.bad) { warn("semlite fp32 and ORT disagree (> 1e-4)"); return 2; }
  return 0;
}
