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
#include "../common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAXV 8
#define NDT 3
static const char *DTYPES[NDT] = { "fp32", "bf16", "int8" };

/* MiniLM-L6 shapes (both twins): hidden, intermediate, layers. */
#define H 384.0
#define I 1536.0
#define LAYERS 6

typedef struct opts {
  const char *onnx_dir, *peak;
  int no_ort;
  int lengths[MAXV], n_l;
} opts;

static void parse_opts(int argc, char **argv, opts *o) {
  *o = (opts){ .lengths = {16, 64, 256}, .n_l = 3 };
  args = (bench_args){ .seconds = 0.5, .batches = {1, 8, 32, 128}, .n_batches = 4 };
  const bench_opt own[] = {
    OPT("--onnx-dir", OPT_STR, &o->onnx_dir, "DIR", "ONNX graphs (SHARED/models/synthetic/onnx)"),
    OPT("--peak", OPT_STR, &o->peak, "FILE", "output of bench/peak (BENCH_OUT/peak.txt); missing: no peak fractions"),
    OPT_LIST("--lengths", OPT_INTS, o->lengths, "LIST", "tokens per text or pair", &o->n_l, MAXV),
    OPT("--no-ort", OPT_FLAG, &o->no_ort, NULL, "semlite only"),
    OPT_END,
  };
  parse_args(argc, argv, "[options]", ARG_SO | ARG_EMBED | ARG_RERANK | ARG_SHARED | ARG_OUT | ARG_PLOT | ARG_ORT_PEER |
             ARG_SECONDS | ARG_BATCHES, own);
}

/* ---------------------------------------------------------------- texts */

/* TREC DL 2019 passages (id \t text \t kind), in file order, ids kept beside. */
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
  cell_call call = { db, st, c, r };
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

/* Runs the peer on the workload file and fills the ORT result of every cell; *other_cpus:
** what other processes took meanwhile. 0 when the peer failed. */
static int run_ort_peer(const opts *o, const char *wpath, cell *c, int n, double load_ms[2],
                        double *other) {
  char *scratch = fmt("%s/ort-infer-scratch", args.out);
  char *q[7] = { shq(args.node), shq(args.peer), shq(args.embed), shq(args.rerank), shq(o->onnx_dir),
                 shq(scratch), shq(wpath) };
  char *cmd = fmt("%s %s --embed-model %s --rerank-model %s --onnx-dir %s --scratch %s "
                  "--workload %s --threads %d --load-reps %d",
                  q[0], q[1], q[2], q[3], q[4], q[5], q[6], args.threads, args.load_reps);
  cpu_sample c0 = cpu_now();
  char *json = run_peer(cmd);
  *other = other_cpus(c0, cpu_now());
  for (int i = 0; i < 7; i++) sqlite3_free(q[i]);
  sqlite3_free(cmd);
  sqlite3_free(scratch);
  if (!json) return 0;
  char *raw = fmt("%s/infer-ort.json", args.out);
  write_file(raw, json);
  sqlite3_free(raw);

  sqlite3 *db = open_db(":memory:", NULL, NULL);
  load_ms[0] = jnum(db, json, "$.load.embed.p50_ms");
  load_ms[1] = jnum(db, json, "$.load.rerank.p50_ms");
  for (int i = 0; i < n; i++) {
    res *r = &c[i].ort;
    r->iters = (long)jnum(db, json, "$.workloads[%d].iters", i);
    r->seconds = jnum(db, json, "$.workloads[%d].seconds", i);
    r->ips = jnum(db, json, "$.workloads[%d].items_per_s", i);
    r->p50 = jnum(db, json, "$.workloads[%d].p50_ms", i);
    r->p95 = jnum(db, json, "$.workloads[%d].p95_ms", i);
    r->other_cpus = *other;
    jdoubles(db, json, &r->out, &r->n_out, "$.workloads[%d].result", i);
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
  sqlite3 *db;                      /* semlite, every model and dtype loaded */
  double lt[2][NDT];                /* load p50 ms: [embed, rerank][dtype] */
  cell *c;
  int nc;
  double sem_s, sem_other;          /* semlite's turn: seconds, CPUs other processes took */
  int peer_ok;
  double ort_load[2], ort_other;    /* the peer's load p50 (embed, rerank), other CPUs */
  int bad;                          /* semlite fp32 and ORT disagree */
} run;

/* The connection, the load times (first, while nothing else is loaded: fp32 is mmap +
** checks; bf16 and int8 convert every linear layer at load, the "< 100 ms fp32, int8
** quantisation < 1 s"), then every model in every dtype as e_<dtype> and r_<dtype>. */
static void open_semlite(run *R) {
  R->db = open_db(":memory:", args.so, NULL);
  for (int t = 0; t < 2; t++)
    for (int d = 0; d < NDT; d++) R->lt[t][d] = sem_load(R->db, t ? args.rerank : args.embed, DTYPES[d], args.load_reps);
  for (int t = 0; t < 2; t++)
    for (int d = 0; d < NDT; d++) {
      char *name = fmt("%s_%s", t ? "r" : "e", DTYPES[d]);
      load_model(R->db, name, t ? args.rerank : args.embed, DTYPES[d]);
      sqlite3_free(name);
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
  sqlite3_stmt *tok_e = prep(R->db, "SELECT json_array_length(semlite_tokenize(?1, ?2))");
  sqlite3_bind_text(tok_e, 1, "e_fp32", -1, SQLITE_STATIC);
  sqlite3_stmt *tok_r = prep(R->db, "SELECT json_array_length(semlite_tokenize(?1, ?2))");
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
  for (int i = 0; i < nc; i++) c[i].json = json_array_of(R->db, c[i].texts, c[i].n);
  R->nc = nc;
  sqlite3_finalize(tok_e);
  sqlite3_finalize(tok_r);
}

/* semlite: every cell, fp32 / bf16 / int8. */
static void run_semlite(run *R) {
  double t0 = now_ms();
  cpu_sample c0 = cpu_now();
  for (int d = 0; d < NDT; d++)
    for (int i = 0; i < R->nc; i++) {
      warn("semlite %s %s", DTYPES[d], R->c[i].name);
      sem_cell(R->db, &R->c[i], d, args.seconds);
    }
  R->sem_s = (now_ms() - t0) / 1e3;
  R->sem_other = other_cpus(c0, cpu_now());
}

/* ORT on the same texts, under the same iteration rule (warm-up, minimum, --seconds). */
static void run_ort(run *R) {
  char *wpath = fmt("%s/infer-workload.json", args.out);
  write_workload(wpath, R->c, R->nc, args.seconds);
  R->ort_load[0] = R->ort_load[1] = R->ort_other = NAN;
  R->peer_ok = !R->o.no_ort && run_ort_peer(&R->o, wpath, R->c, R->nc, R->ort_load, &R->ort_other);
  sqlite3_free(wpath);
}

/* Agreement, semlite fp32 against ORT: the first embedding, or every score. */
static void check_agreement(run *R) {
  for (int i = 0; i < R->nc; i++) {
    cell *x = &R->c[i];
    x->diff = NAN;
    if (!R->peer_ok || !x->ort.ok) continue;
    const res *s = &x->sem[0], *r = &x->ort;
    int n = x->task == EMBED ? s->n_out : (s->n_out < r->n_out ? s->n_out : r->n_out);
    if (n == 0 || s->n_out != r->n_out) { R->bad = 1; continue; }
    double m = 0;
    for (int k = 0; k < n; k++) m = fmax(m, fabs(s->out[k] - r->out[k]));
    x->diff = m;
    if (m > 1e-4) R->bad = 1;
  }
}

/* One table row and one CSV row per engine and dtype of a cell. */
static void report_cell(const run *R, const cell *x, FILE *csv) {
  char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32];
  double ort_ips = R->peer_ok && x->ort.ok ? x->ort.ips : NAN;
  for (int e = -1; e < NDT; e++) {
    const res *r = e < 0 ? &x->ort : &x->sem[e];
    if (!r->ok) continue;
    int dt = e < 0 ? 0 : e;
    double gflops = (x->flops_lin + x->flops_att) / (x->kind == SINGLE ? 1 : x->n) * r->ips / 1e9;
    double frac = peak_seconds(x, dt, &R->pk) * r->ips;
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
}

/* The table on stdout, infer.csv (every cell, then the load rows) and infer-plot.dat. */
static void write_results(const run *R) {
  char *csvp = fmt("%s/infer.csv", args.out), *datp = fmt("%s/infer-plot.dat", args.out);
  FILE *csv = out_open(csvp, "w"), *dat = out_open(datp, "w");
  fprintf(csv, "workload,task,batch,tokens,engine,dtype,items_per_s,p50_ms,p95_ms,iters,seconds,"
               "ratio_vs_ort_fp32,gflops,peak_frac,other_cpus,max_abs_diff_vs_ort\n");
  /* plot data: task len batch, then per series (ort, fp32, bf16, int8): items/s p50 p95 */
  fprintf(dat, "# task len batch ort_ips ort_p50 ort_p95 fp32_ips fp32_p50 fp32_p95 bf16_ips bf16_p50 bf16_p95 int8_ips int8_p50 int8_p95\n");
  printf("\nsemlite (embed_each / rerank_each / embed) vs onnxruntime-node %s threads, fp32 graphs\n",
         R->peer_ok ? "2" : "(not run)");
  printf("%-20s %-5s %9s %8s %8s %7s %6s %7s\n", "workload", "eng", "items/s", "p50 ms", "p95 ms",
         "vs ORT", "peak%", "iters");
  for (int i = 0; i < R->nc; i++) {
    const cell *x = &R->c[i];
    report_cell(R, x, csv);
    if (x->kind != GRID) continue;
    fprintf(dat, "%d %d %d", x->task, x->len, x->batch);
    fprintf(dat, " %g %g %g", R->peer_ok && x->ort.ok ? x->ort.ips : NAN, x->ort.ok ? x->ort.p50 : NAN,
            x->ort.ok ? x->ort.p95 : NAN);
    for (int d = 0; d < NDT; d++) fprintf(dat, " %g %g %g", x->sem[d].ips, x->sem[d].p50, x->sem[d].p95);
    fputc('\n', dat);
  }
  for (int t = 0; t < 2; t++)
    for (int d = 0; d < NDT; d++)
      fprintf(csv, "load_%s,load,,,semlite,%s,,%.3f,,%d,,,,,,\n", t ? "rerank" : "embed", DTYPES[d], R->lt[t][d],
              args.load_reps);
  for (int t = 0; t < 2; t++)
    fprintf(csv, "load_%s,load,,,ort,fp32,,%.3f,,%d,,,,,,\n", t ? "rerank" : "embed", R->ort_load[t], args.load_reps);
  out_close(csv, csvp);
  out_close(dat, datp);
  sqlite3_free(csvp);
  sqlite3_free(datp);
}

/* Load times, the peak, the machine's other load, and the agreement, under the table. */
static void print_summary(const run *R) {
  const double (*lt)[NDT] = R->lt;
  char b1[32], b2[32], b3[32];
  printf("\nload p50 ms (%d reps): embed fp32 %.1f bf16 %.1f int8 %.1f | rerank fp32 %.1f bf16 %.1f "
         "int8 %.1f | ORT (tokenizer + session) embed %s rerank %s\n", args.load_reps,
         lt[0][0], lt[0][1], lt[0][2], lt[1][0], lt[1][1], lt[1][2],
         fnum(b1, sizeof b1, "%.1f", R->ort_load[0]), fnum(b2, sizeof b2, "%.1f", R->ort_load[1]));
  printf("peak (bench/peak, %s): fp32 FMA %s GFLOPS, int8 VNNI %s GOPS, bf16 %s GFLOPS\n",
         R->o.peak ? R->o.peak : "-", fnum(b1, sizeof b1, "%.0f", R->pk.fma), fnum(b2, sizeof b2, "%.0f", R->pk.vnni),
         fnum(b3, sizeof b3, "%.0f", R->pk.bf16));
  printf("other processes: %.2f CPUs during semlite (%.0f s), %s CPUs during ORT; load average "
         "%.2f at start, %.2f at end\n", R->sem_other, R->sem_s, fnum(b1, sizeof b1, "%.2f", R->ort_other),
         R->load0, R->load1);
  if (R->sem_other > 0.15 || R->ort_other > 0.15)
    printf("WARNING: other processes used CPU during the run; both engines are understated and "
           "the ratios are unreliable\n");
  printf("semlite fp32 vs ORT: ");
  for (int i = 0; i < R->nc; i++) {
    const cell *x = &R->c[i];
    if (!isnan(x->diff) && (x->kind != GRID || x->batch == 1)) printf("%s %.1e  ", x->name, x->diff);
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
  mkdirs(args.out);
  R.pk = read_peak(R.o.peak);
  R.load0 = load_average(NULL);

  static texts t;
  open_semlite(&R);
  read_texts(&t);
  build_cells(&R, &t);
  run_semlite(&R);
  run_ort(&R);
  R.load1 = load_average(NULL);
  check_agreement(&R);

  write_results(&R);
  print_summary(&R);
  if (args.plot && *args.plot) plot(&R);
  sqlite3_close(R.db);
  if (!R.o.no_ort && !R.peer_ok) return 1;
  if (R.bad) { warn("semlite fp32 and ORT disagree (> 1e-4)"); return 2; }
  return 0;
}
