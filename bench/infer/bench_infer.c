/*
** bench_infer.c: the batched-inference benchmark (issue "rerank(), batched inference and fast
** kernels"). semlite's embed_each / rerank_each / embed() in fp32, bf16 and int8 beside ONNX
** Runtime (fp32, the same twin graphs, its best settings), in one run, as ratios, and as a
** fraction of this machine's arithmetic peak (bench/peak).
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
** The ORT peer (bench/peers/ort_infer.mjs) gets the same texts from a workload file and runs
** each iteration as one padded batch (all texts of a grid cell have the same length, so the
** padding costs nothing there; trec100 pads to its longest pair, as a user's batch would).
**
** Why ratios against ORT fp32 only: ORT runs the fp32 graphs; an int8 ORT graph needs
** onnxruntime's Python quantizer, which is not available here. The targets compare
** semlite int8 with ORT fp32, which is what a user switching engines gets.
** Why a peak fraction: a ratio to another engine says nothing about how much is left. Each
** figure's useful work (real tokens only: linear layers 2*n*(4h^2+2hI) and attention 4*n^2*h
** FLOPs per layer) is divided by the time that work would take at the measured peaks, with
** each part at its own unit's peak: for int8 the five int8 layers at the VNNI peak and the
** second feed-forward layer (kept fp32, docs/models.md) and attention at the FMA peak; for
** bf16 the linear layers at the vdpbf16ps peak.
** Why one process runs both engines: numbers of two runs (other load, other clocks) do not
** compare; the CPU other processes used during each engine's turn is measured and printed.
** Correctness first: semlite fp32's first embedding and all trec100 scores must match ORT's
** (max abs diff <= 1e-4), else the exit status is 2.
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

#define MAXV 8
#define NDT 3
static const char *DTYPES[NDT] = { "fp32", "bf16", "int8" };

/* MiniLM-L6 shapes (both twins): hidden, intermediate, layers. */
#define H 384.0
#define I 1536.0
#define LAYERS 6

typedef struct opts {
  const char *so, *embed, *rerank, *shared, *onnx_dir, *out, *peer, *node, *plot, *peak;
  int threads, load_reps, run_ort;
  double seconds;
  int batches[MAXV], n_b, lengths[MAXV], n_l;
} opts;

static void usage(void) {
  fprintf(stderr,
    "usage: bench_infer --embed DIR --rerank DIR [options]\n"
    "  --so PATH          semlite.so (./semlite.so)\n"
    "  --embed DIR        embedding twin (models/synthetic/minilm-l6-embed)\n"
    "  --rerank DIR       cross-encoder twin (models/synthetic/minilm-l6-rerank)\n"
    "  --shared DIR       shared fixtures: data/sts, data/rerank, models/synthetic/onnx (../shared)\n"
    "  --onnx-dir DIR     ONNX graphs (SHARED/models/synthetic/onnx)\n"
    "  --out DIR          results (bench/out)\n"
    "  --peer FILE        ORT peer (bench/peers/ort_infer.mjs); --node CMD (node)\n"
    "  --plot FILE        gnuplot script (bench/infer/plot.gp); '' for no PNG\n"
    "  --peak FILE        output of bench/peak (BENCH_OUT/peak.txt); missing: no peak fractions\n"
    "  --threads N        ORT intra-op threads (2); semlite uses its pool over all CPUs\n"
    "  --seconds S        measuring time per cell and engine (0.5), at least min iterations\n"
    "  --batches LIST     (1,8,32,128)    --lengths LIST (16,64,256)\n"
    "  --load-reps N      loads timed per model and dtype (3)\n"
    "  --no-ort           semlite only\n");
  exit(1);
}

static void die(const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  fputs("bench_infer: ", stderr);
  vfprintf(stderr, f, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static int parse_list(const char *v, int *out) {
  int n = 0;
  for (const char *p = v; p && *p && n < MAXV; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
    int x = atoi(p);
    if (x > 0) out[n++] = x;
  }
  return n;
}

static void parse_opts(int argc, char **argv, opts *o) {
  memset(o, 0, sizeof *o);
  o->so = "./semlite.so"; o->shared = "../shared"; o->out = "bench/out";
  o->peer = "bench/peers/ort_infer.mjs"; o->node = "node"; o->plot = "bench/infer/plot.gp";
  o->threads = 2; o->load_reps = 3; o->run_ort = 1; o->seconds = 0.5;
  o->n_b = parse_list("1,8,32,128", o->batches);
  o->n_l = parse_list("16,64,256", o->lengths);
  for (int i = 1; i < argc; i++) {
    const char *k = argv[i];
    if (!strcmp(k, "--no-ort")) { o->run_ort = 0; continue; }
    if (i + 1 >= argc) usage();
    const char *v = argv[++i];
    if (!strcmp(k, "--so")) o->so = v;
    else if (!strcmp(k, "--embed")) o->embed = v;
    else if (!strcmp(k, "--rerank")) o->rerank = v;
    else if (!strcmp(k, "--shared")) o->shared = v;
    else if (!strcmp(k, "--onnx-dir")) o->onnx_dir = v;
    else if (!strcmp(k, "--out")) o->out = v;
    else if (!strcmp(k, "--peer")) o->peer = v;
    else if (!strcmp(k, "--node")) o->node = v;
    else if (!strcmp(k, "--plot")) o->plot = v;
    else if (!strcmp(k, "--peak")) o->peak = v;
    else if (!strcmp(k, "--threads")) o->threads = atoi(v);
    else if (!strcmp(k, "--seconds")) o->seconds = atof(v);
    else if (!strcmp(k, "--load-reps")) o->load_reps = atoi(v);
    else if (!strcmp(k, "--batches")) o->n_b = parse_list(v, o->batches);
    else if (!strcmp(k, "--lengths")) o->n_l = parse_list(v, o->lengths);
    else usage();
  }
  if (!o->embed || !o->rerank || o->threads < 1 || o->seconds <= 0 || o->load_reps < 1 ||
      !o->n_b || !o->n_l) usage();
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

static char *fmt(const char *f, ...) {   /* sqlite's printf: %Q quoting for free */
  va_list ap;
  va_start(ap, f);
  char *s = sqlite3_vmprintf(f, ap);
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

/* nearest rank, the peer uses the same */
static double percentile(const double *s, size_t n, double p) {
  if (!n) return NAN;
  size_t r = (size_t)ceil(p / 100.0 * (double)n);
  if (r < 1) r = 1;
  if (r > n) r = n;
  return s[r - 1];
}

static char *shq(const char *s) {   /* quote for /bin/sh */
  size_t n = 3;
  for (const char *p = s; *p; p++) n += *p == '\'' ? 4 : 1;
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

/* CPU the machine spent busy, and this process's (plus its waited-for children's) share:
** the difference is what other processes took while an engine ran. */
static double machine_busy_s(void) {
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return NAN;
  unsigned long long v[8] = {0};
  int k = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
                 &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
  fclose(f);
  if (k < 7) return NAN;
  return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

static double own_cpu_s(void) {
  struct rusage a, b;
  getrusage(RUSAGE_SELF, &a);
  getrusage(RUSAGE_CHILDREN, &b);
  return a.ru_utime.tv_sec + a.ru_utime.tv_usec / 1e6 + a.ru_stime.tv_sec + a.ru_stime.tv_usec / 1e6 +
         b.ru_utime.tv_sec + b.ru_utime.tv_usec / 1e6 + b.ru_stime.tv_sec + b.ru_stime.tv_usec / 1e6;
}

static double loadavg1(void) {
  double l = NAN;
  FILE *f = fopen("/proc/loadavg", "r");
  if (f) { if (fscanf(f, "%lf", &l) != 1) l = NAN; fclose(f); }
  return l;
}

/* ---------------------------------------------------------------- texts */

typedef struct strv { char **v; int n, cap; } strv;

static void push(strv *s, char *x) {
  if (s->n == s->cap) { s->cap = s->cap ? 2 * s->cap : 256; s->v = xrealloc(s->v, s->cap * sizeof *s->v); }
  s->v[s->n++] = x;
}

static int printable_ascii(const char *s) {
  if (!*s) return 0;
  for (; *s; s++) if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) return 0;
  return 1;
}

/* Distinct printable-ASCII sentences (columns 2 and 3) of an STS tsv, appended to all.
** ASCII only: the bench measures ordinary text; tokenizer edge cases are the tests' job. */
static void read_sts(const char *path, strv *all) {
  FILE *f = fopen(path, "r");
  if (!f) die("%s: %s", path, strerror(errno));
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, f)) > 0) {
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
    char *a = strchr(line, '\t');
    if (!a) continue;
    *a++ = 0;
    char *b = strchr(a, '\t');
    if (!b) continue;
    *b++ = 0;
    char *cols[2] = { a, b };
    for (int c = 0; c < 2; c++) {
      if (!printable_ascii(cols[c])) continue;
      int dup = 0;
      for (int i = all->n - 1; i >= 0 && i >= all->n - 4000 && !dup; i--) dup = !strcmp(all->v[i], cols[c]);
      if (!dup) push(all, xstrdup(cols[c]));
    }
  }
  free(line);
  fclose(f);
}

/* TREC DL 2019 passages (id \t text \t kind), in file order, ids kept beside. */
static void read_passages(const char *path, strv *text, strv *ids) {
  char *q = shq(path), *cmd = fmt("gzip -dc %s", q);
  FILE *f = popen(cmd, "r");
  if (!f) die("popen: %s", strerror(errno));
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
    push(ids, xstrdup(line));
    push(text, xstrdup(t));
  }
  free(line);
  if (pclose(f) != 0 || !text->n) die("%s: cannot read passages", path);
  free(q);
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
    if (got == target) push(&out, xstrdup(buf));
  }
  free(buf);
  return out;
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

enum { EMBED, RERANK };
enum { GRID, SINGLE, TREC };

typedef struct res {
  int ok;
  long iters;
  double seconds, ips, p50, p95, other_cpus;
  double *out; int n_out;   /* embed: first embedding; rerank: all scores of one iteration */
} res;

typedef struct cell {
  char name[48];
  int task, kind, batch, len;      /* len: target ids per text/pair; 0 for trec100 */
  char **texts; int n;             /* the B texts (single: the texts cycled) */
  const char *query;
  char *json;                      /* texts as a JSON array */
  double flops_lin, flops_ffn2, flops_att;   /* useful FLOPs of one item, mean over items */
  long tokens;                     /* real ids over the items of one iteration */
  int warmup, min_iters;
  res sem[NDT], ort;
  double diff;                     /* max abs diff semlite fp32 vs ORT */
} cell;

/* Useful FLOPs of one sequence of n ids: per layer, Q K V and attention-output projections
** (4 h^2), the two feed-forward layers (2 h I), QK^T and PV (2 n h each, per id). */
static void add_flops(cell *c, int n) {
  c->flops_lin += LAYERS * 2.0 * n * (4 * H * H + H * I);
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

static sqlite3_stmt *prep(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) die("prepare: %s\n  %s", sqlite3_errmsg(db), sql);
  return st;
}

static void exec_or_die(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) die("SQL failed: %s\n  %s", err, sql);
}

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

static void sem_cell(sqlite3 *db, cell *c, int dt, double seconds) {
  res *r = &c->sem[dt];
  char *model = fmt("%s_%s", c->task == EMBED ? "e" : "r", DTYPES[dt]);
  sqlite3_stmt *st;
  if (c->kind == SINGLE) st = prep(db, "SELECT embed(?1, ?2)");
  else if (c->task == EMBED) st = prep(db, "SELECT i, embedding FROM embed_each(?1, ?2)");
  else st = prep(db, "SELECT i, score FROM rerank_each(?1, ?3, ?2)");
  sqlite3_bind_text(st, 1, model, -1, SQLITE_TRANSIENT);
  if (c->task == RERANK) sqlite3_bind_text(st, 3, c->query, -1, SQLITE_STATIC);
  if (c->kind != SINGLE) sqlite3_bind_text(st, 2, c->json, -1, SQLITE_STATIC);
  size_t cap = 256, n = 0;
  double *s = xrealloc(NULL, cap * sizeof *s), start = 0;
  double busy0 = machine_busy_s(), own0 = own_cpu_s();
  long i;
  for (i = -c->warmup;; i++) {
    if (i == 0) start = now_ms();
    if (i >= c->min_iters && now_ms() - start >= seconds * 1e3) break;
    long k = i < 0 ? i + c->warmup : i;   /* single: the same text order as the peer */
    if (c->kind == SINGLE) sqlite3_bind_text(st, 2, c->texts[k % c->n], -1, SQLITE_STATIC);
    double t0 = now_ms();
    run_iter(db, st, c, r);
    double dt_ms = now_ms() - t0;
    if (i < 0) continue;
    if (n == cap) { cap *= 2; s = xrealloc(s, cap * sizeof *s); }
    s[n++] = dt_ms;
  }
  r->seconds = (now_ms() - start) / 1e3;
  r->other_cpus = ((machine_busy_s() - busy0) - (own_cpu_s() - own0)) / r->seconds;
  qsort(s, n, sizeof *s, cmp_double);
  r->iters = i;
  r->ips = (double)i * (c->kind == SINGLE ? 1 : c->n) / r->seconds;
  r->p50 = percentile(s, n, 50);
  r->p95 = percentile(s, n, 95);
  r->ok = 1;
  free(s);
  sqlite3_finalize(st);
  sqlite3_free(model);
}

/* p50 of load_reps loads under fresh names (unloaded after, so each is a real load). */
static double sem_load(sqlite3 *db, const char *dir, const char *dtype, int reps) {
  double *t = xrealloc(NULL, reps * sizeof *t);
  for (int i = 0; i < reps; i++) {
    char *sql = fmt("SELECT semlite_model_load('bench_load', %Q, json_object('dtype', %Q))", dir, dtype);
    sqlite3_stmt *st = prep(db, sql);
    double t0 = now_ms();
    int rc = sqlite3_step(st);
    t[i] = now_ms() - t0;
    if (rc != SQLITE_ROW) die("semlite_model_load: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_free(sql);
    exec_or_die(db, "SELECT semlite_model_unload('bench_load')");
  }
  qsort(t, reps, sizeof *t, cmp_double);
  double p = percentile(t, reps, 50);
  free(t);
  return p;
}

/* ---------------------------------------------------------------- the peer */

static char *read_all(FILE *f) {
  size_t cap = 1 << 20, n = 0, k;
  char *b = xrealloc(NULL, cap);
  while ((k = fread(b + n, 1, cap - n - 1, f)) > 0) {
    n += k;
    if (cap - n < 2) { cap *= 2; b = xrealloc(b, cap); }
  }
  b[n] = 0;
  return b;
}

static double jnum(sqlite3 *db, const char *json, const char *path) {
  sqlite3_stmt *st = prep(db, "SELECT json_extract(?1, ?2)");
  sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
  double v = NAN;
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) v = sqlite3_column_double(st, 0);
  sqlite3_finalize(st);
  return v;
}

static void write_workload(const char *path, cell *c, int n, double seconds) {
  FILE *f = fopen(path, "w");
  if (!f) die("%s: %s", path, strerror(errno));
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
  if (fclose(f)) die("%s: write failed", path);
}

static int run_peer(const opts *o, const char *wpath, cell *c, int n, double load_ms[2],
                    double *other_cpus) {
  char *scratch = fmt("%s/ort-infer-scratch", o->out);
  char *q[7] = { shq(o->node), shq(o->peer), shq(o->embed), shq(o->rerank), shq(o->onnx_dir),
                 shq(scratch), shq(wpath) };
  char *cmd = fmt("%s %s --embed-model %s --rerank-model %s --onnx-dir %s --scratch %s "
                  "--workload %s --threads %d --load-reps %d",
                  q[0], q[1], q[2], q[3], q[4], q[5], q[6], o->threads, o->load_reps);
  fprintf(stderr, "bench_infer: running the peer: %s\n", cmd);
  fflush(NULL);
  double busy0 = machine_busy_s(), own0 = own_cpu_s(), t0 = now_ms();
  FILE *p = popen(cmd, "r");
  if (!p) die("popen: %s", strerror(errno));
  char *json = read_all(p);
  int status = pclose(p);
  double secs = (now_ms() - t0) / 1e3;
  *other_cpus = ((machine_busy_s() - busy0) - (own_cpu_s() - own0)) / secs;
  for (int i = 0; i < 7; i++) free(q[i]);
  sqlite3_free(cmd);
  sqlite3_free(scratch);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) || !json[0]) {
    fprintf(stderr, "bench_infer: the ORT peer failed (status %d)\n", status);
    free(json);
    return 0;
  }
  char *raw = fmt("%s/infer-ort.json", o->out);
  FILE *f = fopen(raw, "w");
  if (f) { fputs(json, f); fclose(f); }
  sqlite3_free(raw);

  sqlite3 *db;
  sqlite3_open(":memory:", &db);
  load_ms[0] = jnum(db, json, "$.load.embed.p50_ms");
  load_ms[1] = jnum(db, json, "$.load.rerank.p50_ms");
  for (int i = 0; i < n; i++) {
    res *r = &c[i].ort;
    char *k;
    double v;
#define NUM(field) (k = fmt("$.workloads[%d]." field, i), v = jnum(db, json, k), sqlite3_free(k), v)
    r->iters = (long)NUM("iters");
    r->seconds = NUM("seconds");
    r->ips = NUM("items_per_s");
    r->p50 = NUM("p50_ms");
    r->p95 = NUM("p95_ms");
    r->other_cpus = *other_cpus;
#undef NUM
    k = fmt("$.workloads[%d].result", i);
    sqlite3_stmt *st = prep(db, "SELECT value FROM json_each(?1, ?2)");
    sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, k, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
      r->out = xrealloc(r->out, (size_t)(r->n_out + 1) * sizeof *r->out);
      r->out[r->n_out++] = sqlite3_column_double(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_free(k);
    r->ok = r->iters > 0;
  }
  sqlite3_close(db);
  free(json);
  return 1;
}

/* ---------------------------------------------------------------- peak */

typedef struct peak { double fma, vnni, bf16; } peak;

/* bench/peak's lines "kind threads value unit ...": the figure at the most threads. */
static peak read_peak(const char *path) {
  peak p = { NAN, NAN, NAN };
  int best[3] = {0};
  FILE *f = path ? fopen(path, "r") : NULL;
  if (!f) return p;
  char kind[32], unit[16];
  int th;
  double v;
  char line[256];
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "%31s %d %lf %15s", kind, &th, &v, unit) != 4) continue;
    double *d = !strcmp(kind, "fp32_fma") ? &p.fma : !strcmp(kind, "int8_vnni") ? &p.vnni
              : !strcmp(kind, "bf16_dpbf16") ? &p.bf16 : NULL;
    int *b = d == &p.fma ? &best[0] : d == &p.vnni ? &best[1] : &best[2];
    if (d && th >= *b) { *d = v; *b = th; }
  }
  fclose(f);
  return p;
}

/* Seconds one item's useful work takes at peak, each part on its own unit (see the header). */
static double peak_seconds(const cell *c, int dt, const peak *p) {
  double items = c->kind == SINGLE ? 1 : c->n;
  double lin = c->flops_lin / items, ffn2 = c->flops_ffn2 / items, att = c->flops_att / items;
  double fma = p->fma * 1e9;
  if (dt == 0) return (lin + att) / fma;
  if (dt == 1) return lin / (p->bf16 * 1e9) + att / fma;
  return (lin - ffn2) / (p->vnni * 1e9) + (ffn2 + att) / fma;
}

/* ---------------------------------------------------------------- main */

static const char *fnum(char *b, size_t n, const char *f, double v) {
  if (isnan(v)) snprintf(b, n, "-"); else snprintf(b, n, f, v);
  return b;
}

int main(int argc, char **argv) {
  opts o;
  parse_opts(argc, argv, &o);
  char *onnx_default = fmt("%s/models/synthetic/onnx", o.shared);
  if (!o.onnx_dir) o.onnx_dir = onnx_default;
  mkdirs(o.out);
  peak pk = read_peak(o.peak);
  double load0 = loadavg1();

  sqlite3 *db;
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) die("sqlite3_open");
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 1, NULL);
  char *err = NULL;
  if (sqlite3_load_extension(db, o.so, NULL, &err) != SQLITE_OK) die("cannot load %s: %s", o.so, err ? err : "?");

  /* load times first, while nothing else is loaded: fp32 is mmap + checks; bf16 and int8
  ** convert every linear layer at load (the "< 100 ms fp32, int8 quantisation < 1 s") */
  double lt[2][NDT];
  for (int t = 0; t < 2; t++)
    for (int d = 0; d < NDT; d++) lt[t][d] = sem_load(db, t ? o.rerank : o.embed, DTYPES[d], o.load_reps);
  for (int t = 0; t < 2; t++)
    for (int d = 0; d < NDT; d++) {
      char *sql = fmt("SELECT semlite_model_load('%s_%s', %Q, json_object('dtype', %Q))",
                      t ? "r" : "e", DTYPES[d], t ? o.rerank : o.embed, DTYPES[d]);
      exec_or_die(db, sql);
      sqlite3_free(sql);
    }

  /* texts */
  strv sts = {0}, pas = {0}, pid = {0};
  char *p1 = fmt("%s/data/sts/sts-test.tsv", o.shared), *p2 = fmt("%s/data/sts/sts-dev.tsv", o.shared);
  read_sts(p1, &sts);
  read_sts(p2, &sts);
  char *pp = fmt("%s/data/rerank/trec-dl-2019-passage/passages.tsv.gz", o.shared);
  read_passages(pp, &pas, &pid);
  /* the query: the first of queries.tsv; its candidates: its judged passages (qrels), in
  ** passage-file order, topped up with the file's next passages to 100 */
  char *qp = fmt("%s/data/rerank/trec-dl-2019-passage/queries.tsv", o.shared);
  FILE *qf = fopen(qp, "r");
  if (!qf) die("%s: %s", qp, strerror(errno));
  char qline[1024];
  if (!fgets(qline, sizeof qline, qf)) die("%s: empty", qp);
  fclose(qf);
  qline[strcspn(qline, "\r\n")] = 0;
  char *qtab = strchr(qline, '\t');
  if (!qtab) die("%s: bad line", qp);
  *qtab = 0;
  const char *qid = qline, *query = xstrdup(qtab + 1);
  char *rp = fmt("%s/data/rerank/trec-dl-2019-passage/qrels.tsv", o.shared);
  FILE *rf = fopen(rp, "r");
  if (!rf) die("%s: %s", rp, strerror(errno));
  char *judged = xrealloc(NULL, (size_t)pas.n);
  memset(judged, 0, (size_t)pas.n);
  char rl[256];
  while (fgets(rl, sizeof rl, rf)) {
    char a[64], b[64];
    if (sscanf(rl, "%63s %63s", a, b) != 2 || strcmp(a, qid)) continue;
    for (int i = 0; i < pas.n; i++) if (!strcmp(pid.v[i], b)) judged[i] = 1;
  }
  fclose(rf);
  strv trec = {0};
  for (int i = 0; i < pas.n && trec.n < 100; i++) if (judged[i]) push(&trec, pas.v[i]);
  for (int i = 0; i < pas.n && trec.n < 100; i++) if (!judged[i]) push(&trec, pas.v[i]);

  sqlite3_stmt *tok_e = prep(db, "SELECT json_array_length(semlite_tokenize(?1, ?2))");
  sqlite3_bind_text(tok_e, 1, "e_fp32", -1, SQLITE_STATIC);
  sqlite3_stmt *tok_r = prep(db, "SELECT json_array_length(semlite_tokenize(?1, ?2))");
  sqlite3_bind_text(tok_r, 1, "r_fp32", -1, SQLITE_STATIC);
  int qlen = ntokens(tok_r, query);   /* [CLS] query [SEP] */

  int maxb = 0;
  for (int b = 0; b < o.n_b; b++) if (o.batches[b] > maxb) maxb = o.batches[b];
  int n_cells = 2 * o.n_b * o.n_l + 2;
  cell *c = xrealloc(NULL, (size_t)n_cells * sizeof *c);
  memset(c, 0, (size_t)n_cells * sizeof *c);
  int nc = 0;
  double t_texts = now_ms();
  for (int t = 0; t < 2; t++)
    for (int l = 0; l < o.n_l; l++) {
      int L = o.lengths[l];
      /* rerank: the doc alone is L - qlen + 1 ids, so that the pair is exactly L */
      int target = t == EMBED ? L : L - qlen + 1;
      if (target < 3) die("length %d is too short for the query (%d ids)", L, qlen);
      strv tx = exact_texts(t == EMBED ? tok_e : tok_r, t == EMBED ? &sts : &pas, target, maxb,
                            t == EMBED ? 37 : 13);
      for (int b = 0; b < o.n_b; b++) {
        cell *x = &c[nc++];
        snprintf(x->name, sizeof x->name, "%s_b%d_l%d", t == EMBED ? "embed" : "rerank", o.batches[b], L);
        x->task = t; x->kind = GRID; x->batch = o.batches[b]; x->len = L;
        x->texts = tx.v; x->n = o.batches[b];
        x->query = t == RERANK ? query : NULL;
        for (int i = 0; i < x->n; i++) add_flops(x, L);
        set_iters(x, (double)x->n * L);
      }
      if (t == EMBED && L == 16) {   /* single embed() calls on the 16-id texts, cycled */
        cell *x = &c[nc++];
        snprintf(x->name, sizeof x->name, "embed_single_l16");
        x->task = EMBED; x->kind = SINGLE; x->batch = 1; x->len = 16;
        x->texts = tx.v; x->n = tx.n;
        add_flops(x, 16);
        x->warmup = 20; x->min_iters = 50;
      }
    }
  {
    cell *x = &c[nc++];
    snprintf(x->name, sizeof x->name, "rerank_trec100");
    x->task = RERANK; x->kind = TREC; x->batch = trec.n; x->len = 0;
    x->texts = trec.v; x->n = trec.n; x->query = query;
    for (int i = 0; i < trec.n; i++) {
      /* pair ids = query ids + doc ids - 1, capped by the 512 maximum (longest_first) */
      int n = qlen + ntokens(tok_r, trec.v[i]) - 1;
      add_flops(x, n > 512 ? 512 : n);
    }
    x->warmup = 1; x->min_iters = 3;
  }
  fprintf(stderr, "bench_infer: texts built in %.1f s (query '%s', %d ids)\n",
          (now_ms() - t_texts) / 1e3, query, qlen);
  for (int i = 0; i < nc; i++) c[i].json = json_array_of(db, c[i].texts, c[i].n);

  /* semlite: every cell, fp32 / bf16 / int8 */
  double t_sem = now_ms(), busy0 = machine_busy_s(), own0 = own_cpu_s();
  for (int d = 0; d < NDT; d++)
    for (int i = 0; i < nc; i++) {
      fprintf(stderr, "bench_infer: semlite %s %s\n", DTYPES[d], c[i].name);
      sem_cell(db, &c[i], d, o.seconds);
    }
  double sem_s = (now_ms() - t_sem) / 1e3;
  double sem_other = ((machine_busy_s() - busy0) - (own_cpu_s() - own0)) / sem_s;

  /* ORT on the same texts, under the same iteration rule (warm-up, minimum, --seconds) */
  char *wpath = fmt("%s/infer-workload.json", o.out);
  write_workload(wpath, c, nc, o.seconds);
  double ort_load[2] = { NAN, NAN }, ort_other = NAN;
  int peer_ok = o.run_ort && run_peer(&o, wpath, c, nc, ort_load, &ort_other);
  double load1 = loadavg1();

  /* agreement: semlite fp32 vs ORT */
  int bad = 0;
  for (int i = 0; i < nc; i++) {
    c[i].diff = NAN;
    if (!peer_ok || !c[i].ort.ok) continue;
    const res *s = &c[i].sem[0], *r = &c[i].ort;
    int n = c[i].task == EMBED ? s->n_out : (s->n_out < r->n_out ? s->n_out : r->n_out);
    if (n == 0 || s->n_out != r->n_out) { bad = 1; continue; }
    double m = 0;
    for (int k = 0; k < n; k++) m = fmax(m, fabs(s->out[k] - r->out[k]));
    c[i].diff = m;
    if (m > 1e-4) bad = 1;
  }

  /* report */
  char *csvp = fmt("%s/infer.csv", o.out), *datp = fmt("%s/infer-plot.dat", o.out);
  FILE *csv = fopen(csvp, "w"), *dat = fopen(datp, "w");
  if (!csv || !dat) die("cannot write %s", csvp);
  fprintf(csv, "workload,task,batch,tokens,engine,dtype,items_per_s,p50_ms,p95_ms,iters,seconds,"
               "ratio_vs_ort_fp32,gflops,peak_frac,other_cpus,max_abs_diff_vs_ort\n");
  /* plot data: task len batch, then per series (ort, fp32, bf16, int8): items/s p50 p95 */
  fprintf(dat, "# task len batch ort_ips ort_p50 ort_p95 fp32_ips fp32_p50 fp32_p95 bf16_ips bf16_p50 bf16_p95 int8_ips int8_p50 int8_p95\n");
  printf("\nsemlite (embed_each / rerank_each / embed) vs onnxruntime-node %s threads, fp32 graphs\n",
         peer_ok ? "2" : "(not run)");
  printf("%-20s %-5s %9s %8s %8s %7s %6s %7s\n", "workload", "eng", "items/s", "p50 ms", "p95 ms",
         "vs ORT", "peak%", "iters");
  char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32];
  for (int i = 0; i < nc; i++) {
    cell *x = &c[i];
    double ort_ips = peer_ok && x->ort.ok ? x->ort.ips : NAN;
    for (int e = -1; e < NDT; e++) {
      const res *r = e < 0 ? &x->ort : &x->sem[e];
      if (!r->ok) continue;
      int dt = e < 0 ? 0 : e;
      double gflops = (x->flops_lin + x->flops_att) / (x->kind == SINGLE ? 1 : x->n) * r->ips / 1e9;
      double frac = peak_seconds(x, dt, &pk) * r->ips;
      double ratio = r->ips / ort_ips;
      printf("%-20s %-5s %9s %8s %8s %7s %6s %7ld\n", x->name, e < 0 ? "ORT" : DTYPES[e],
             fnum(b1, sizeof b1, "%.1f", r->ips), fnum(b2, sizeof b2, "%.2f", r->p50),
             fnum(b3, sizeof b3, "%.2f", r->p95), e < 0 ? "" : fnum(b4, sizeof b4, "%.2fx", ratio),
             fnum(b5, sizeof b5, "%.0f%%", 100 * frac), r->iters);
      fprintf(csv, "%s,%s,%d,%d,%s,%s,%.3f,%.3f,%.3f,%ld,%.3f,%s,%.2f,%s,%.2f,%s\n", x->name,
              x->task == EMBED ? (x->kind == SINGLE ? "embed()" : "embed_each") : "rerank_each",
              x->batch, x->len, e < 0 ? "ort" : "semlite", DTYPES[dt], r->ips, r->p50, r->p95,
              r->iters, r->seconds, e < 0 ? "" : fnum(b4, sizeof b4, "%.3f", ratio), gflops,
              fnum(b5, sizeof b5, "%.3f", frac), r->other_cpus,
              e == 0 || e < 0 ? fnum(b6, sizeof b6, "%.2e", x->diff) : "");
    }
    if (x->kind == GRID) {
      fprintf(dat, "%d %d %d", x->task, x->len, x->batch);
      fprintf(dat, " %g %g %g", peer_ok && x->ort.ok ? x->ort.ips : NAN, x->ort.ok ? x->ort.p50 : NAN,
              x->ort.ok ? x->ort.p95 : NAN);
      for (int d = 0; d < NDT; d++) fprintf(dat, " %g %g %g", x->sem[d].ips, x->sem[d].p50, x->sem[d].p95);
      fputc('\n', dat);
    }
  }
  for (int t = 0; t < 2; t++)
    for (int d = 0; d < NDT; d++)
      fprintf(csv, "load_%s,load,,,semlite,%s,,%.3f,,%d,,,,,,\n", t ? "rerank" : "embed", DTYPES[d], lt[t][d], o.load_reps);
  for (int t = 0; t < 2; t++)
    fprintf(csv, "load_%s,load,,,ort,fp32,,%.3f,,%d,,,,,,\n", t ? "rerank" : "embed", ort_load[t], o.load_reps);
  fclose(csv);
  fclose(dat);

  printf("\nload p50 ms (%d reps): embed fp32 %.1f bf16 %.1f int8 %.1f | rerank fp32 %.1f bf16 %.1f "
         "int8 %.1f | ORT (tokenizer + session) embed %s rerank %s\n", o.load_reps,
         lt[0][0], lt[0][1], lt[0][2], lt[1][0], lt[1][1], lt[1][2],
         fnum(b1, sizeof b1, "%.1f", ort_load[0]), fnum(b2, sizeof b2, "%.1f", ort_load[1]));
  printf("peak (bench/peak, %s): fp32 FMA %s GFLOPS, int8 VNNI %s GOPS, bf16 %s GFLOPS\n",
         o.peak ? o.peak : "-", fnum(b1, sizeof b1, "%.0f", pk.fma), fnum(b2, sizeof b2, "%.0f", pk.vnni),
         fnum(b3, sizeof b3, "%.0f", pk.bf16));
  printf("other processes: %.2f CPUs during semlite (%.0f s), %s CPUs during ORT; load average "
         "%.2f at start, %.2f at end\n", sem_other, sem_s, fnum(b1, sizeof b1, "%.2f", ort_other), load0, load1);
  if (sem_other > 0.15 || ort_other > 0.15)
    printf("WARNING: other processes used CPU during the run; both engines are understated and "
           "the ratios are unreliable\n");
  printf("semlite fp32 vs ORT: ");
  for (int i = 0; i < nc; i++)
    if (!isnan(c[i].diff) && (c[i].kind != GRID || c[i].batch == 1)) printf("%s %.1e  ", c[i].name, c[i].diff);
  printf("\nresults: %s\n", csvp);

  if (o.plot && *o.plot) {
    char *png = fmt("%s/infer.png", o.out), *pl = fmt("%s/infer-latency.png", o.out);
    /* gnuplot's -e wants its own quoting ('...'); the paths are ours (no quotes in them) */
    char *qs = shq(o.plot), lens[64] = "";
    for (int l = 0; l < o.n_l; l++)
      snprintf(lens + strlen(lens), sizeof lens - strlen(lens), "%s%d", l ? " " : "", o.lengths[l]);
    char *cmd = fmt("gnuplot -e \"datafile='%s'; outfile='%s'; metric='ips'; lens='%s'\" %s && "
                    "gnuplot -e \"datafile='%s'; outfile='%s'; metric='p50'; lens='%s'\" %s",
                    datp, png, lens, qs, datp, pl, lens, qs);
    if (system(cmd) != 0) fprintf(stderr, "bench_infer: gnuplot failed (the CSV is complete)\n");
    else printf("plots: %s %s\n", png, pl);
    free(qs);
    sqlite3_free(cmd); sqlite3_free(png); sqlite3_free(pl);
  }
  sqlite3_finalize(tok_e);
  sqlite3_finalize(tok_r);
  sqlite3_close(db);
  if (o.run_ort && !peer_ok) return 1;
  if (bad) { fprintf(stderr, "bench_infer: semlite fp32 and ORT disagree (> 1e-4)\n"); return 2; }
  return 0;
}
