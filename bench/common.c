/*
** common.c: the one copy of the helpers bench/common.h declares, shared by every program in
** bench/: errors and exits, memory and formatting, clocks and percentiles, files, CSV and
** JSON output, option tables and usage text, SQLite connections and model loading, the CPU
** other processes used, the load average, peers and gnuplot.
*/
#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- errors */

static const char *prog_name = "bench";
static int fail_status = 1;

void bench_init(const char *prog, int status) {
  prog_name = prog;
  fail_status = status;
}

static void vsay(const char *f, va_list ap) {
  fprintf(stderr, "%s: ", prog_name);
  vfprintf(stderr, f, ap);
  fputc('\n', stderr);
}

void warn(const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  vsay(f, ap);
  va_end(ap);
}

void die(const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  vsay(f, ap);
  va_end(ap);
  exit(fail_status);
}

void die_db(sqlite3 *db, const char *what) {
  die("%s: %s", what, db ? sqlite3_errmsg(db) : "?");
}

/* ---------------------------------------------------------------- memory and strings */

void *xrealloc(void *p, size_t n) {
  p = realloc(p, n ? n : 1);
  if (!p) die("out of memory");
  return p;
}

char *xstrdup(const char *s) {
  char *d = strdup(s);
  if (!d) die("out of memory");
  return d;
}

char *fmt(const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  char *s = sqlite3_vmprintf(f, ap);
  va_end(ap);
  if (!s) die("out of memory");
  return s;
}

char *shq(const char *s) {
  sqlite3_str *q = sqlite3_str_new(NULL);
  sqlite3_str_appendchar(q, 1, '\'');
  for (const char *p = s; *p; p++) {
    if (*p == '\'') sqlite3_str_appendall(q, "'\\''");
    else sqlite3_str_appendchar(q, 1, *p);
  }
  sqlite3_str_appendchar(q, 1, '\'');
  char *r = sqlite3_str_finish(q);
  if (!r) die("out of memory");
  return r;
}

const char *fnum(char *buf, size_t n, const char *f, double v) {
  if (isnan(v)) snprintf(buf, n, "-");
  else snprintf(buf, n, f, v);
  return buf;
}

void strv_push(strv *s, char *x) {
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 256;
    s->v = xrealloc(s->v, (size_t)s->cap * sizeof *s->v);
  }
  s->v[s->n++] = x;
}

void strv_free(strv *s) {
  for (int i = 0; i < s->n; i++) free(s->v[i]);
  free(s->v);
  *s = (strv){0};
}

/* ---------------------------------------------------------------- clocks and statistics */

double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double now_ms(void) { return now_s() * 1e3; }

int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double percentile(const double *sorted, size_t n, double p) {
  if (!n) return NAN;
  size_t r = (size_t)ceil(p / 100.0 * (double)n);
  if (r < 1) r = 1;
  if (r > n) r = n;
  return sorted[r - 1];
}

double *timed_loop(int warmup, long min_iters, long max_iters, double seconds, void (*call)(long k, void *ctx),
                   void *ctx, long *iters, double *measured_s) {
  for (long k = 0; k < warmup; k++) call(k, ctx);
  size_t cap = 256;
  double *ms = xrealloc(NULL, cap * sizeof *ms), start = now_ms();
  long i = 0;
  for (; !max_iters || i < max_iters; i++) {
    if (i >= min_iters && now_ms() - start >= seconds * 1e3) break;
    double t0 = now_ms();
    call(i, ctx);
    if ((size_t)i == cap) { cap *= 2; ms = xrealloc(ms, cap * sizeof *ms); }
    ms[i] = now_ms() - t0;
  }
  *measured_s = (now_ms() - start) / 1e3;
  *iters = i;
  return ms;
}

uint64_t rng_next(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double rng_unit(uint64_t *s) { return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0); }

/* ---------------------------------------------------------------- files */

void mkdirs(const char *path) {
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

char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) die("cannot open %s: %s", path, strerror(errno));
  char *text = read_stream(f);
  if (ferror(f)) die("cannot read %s", path);
  fclose(f);
  return text;
}

char *read_stream(FILE *f) {
  size_t cap = 1 << 16, n = 0, k;
  char *b = xrealloc(NULL, cap);
  while ((k = fread(b + n, 1, cap - n - 1, f)) > 0) {
    n += k;
    if (cap - n < 2) { cap *= 2; b = xrealloc(b, cap); }
  }
  b[n] = 0;
  return b;
}

void read_lines(const char *path, strv *lines) {
  size_t n = strlen(path);
  int gz = n > 3 && !strcmp(path + n - 3, ".gz");
  char *q = gz ? shq(path) : NULL, *cmd = gz ? fmt("gzip -dc %s", q) : NULL;
  FILE *f = gz ? popen(cmd, "r") : fopen(path, "r");
  if (!f) die("cannot read %s: %s", path, strerror(errno));
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, f)) > 0) {
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
    strv_push(lines, xstrdup(line));
  }
  free(line);
  if (gz ? pclose(f) != 0 : fclose(f) != 0) die("cannot read %s", path);
  sqlite3_free(cmd);
  sqlite3_free(q);
}

void write_file(const char *path, const char *text) {
  FILE *f = out_open(path, "w");
  fputs(text, f);
  out_close(f, path);
}

FILE *out_open(const char *path, const char *mode) {
  FILE *f = fopen(path, mode);
  if (!f) die("cannot write %s: %s", path, strerror(errno));
  return f;
}

void out_close(FILE *f, const char *path) {
  if (fclose(f)) die("%s: write failed", path);
}

void csv_num(FILE *f, double v) {
  if (isnan(v)) fputc(',', f);
  else fprintf(f, ",%.6g", v);
}

void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

static int printable_ascii(const char *s) {
  if (!*s) return 0;
  for (; *s; s++) if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) return 0;
  return 1;
}

void read_sts(const char *path, strv *all) {
  strv lines = {0};
  read_lines(path, &lines);
  for (int l = 0; l < lines.n; l++) {
    char *a = strchr(lines.v[l], '\t');
    char *b = a ? strchr(a + 1, '\t') : NULL;
    if (!b) continue;
    *a++ = 0;
    *b++ = 0;
    char *cols[2] = { a, b };
    for (int c = 0; c < 2; c++) {
      if (!printable_ascii(cols[c])) continue;
      int dup = 0;
      for (int i = all->n - 1; i >= 0 && i >= all->n - 4000 && !dup; i--) dup = !strcmp(all->v[i], cols[c]);
      if (!dup) strv_push(all, xstrdup(cols[c]));
    }
  }
  strv_free(&lines);
}

/* ---------------------------------------------------------------- command lines */

bench_args args;

/* The shared options: which bit enables each, where in `args` its value goes, and its default
** (as on the command line; %s stands for the bench's name, "embed" for bench_embed). */
#define SHARED_OPT(bit, name, kind, field, arg, def, help) \
  { bit, offsetof(bench_args, field), def, { name, kind, NULL, arg, help, NULL, 0 } }
static const struct shared_opt { unsigned bit; size_t off; const char *def; bench_opt opt; } SHARED_OPTS[] = {
  SHARED_OPT(ARG_SO, "--so", OPT_STR, so, "PATH", "build/release/semlite.so", "semlite.so to load"),
  SHARED_OPT(ARG_MODEL, "--model", OPT_STR, model, "DIR", "models/synthetic/minilm-l6-embed", "embedding model folder"),
  SHARED_OPT(ARG_MODELS, "--models", OPT_STR, models, "DIR", "models/synthetic", "folder of minilm-l6-embed and minilm-l6-rerank"),
  SHARED_OPT(ARG_EMBED, "--embed", OPT_STR, embed, "DIR", "models/synthetic/minilm-l6-embed", "embedding model folder"),
  SHARED_OPT(ARG_RERANK, "--rerank", OPT_STR, rerank, "DIR", "models/synthetic/minilm-l6-rerank", "cross-encoder folder"),
  SHARED_OPT(ARG_SHARED, "--shared", OPT_STR, shared, "DIR", "../shared", "shared fixtures: data, reference outputs, ONNX graphs"),
  SHARED_OPT(ARG_HOME, "--home", OPT_STR, home, "FILE", "giom-fr-large.json", "home under SHARED/data/homes"),
  SHARED_OPT(ARG_OUT, "--out", OPT_STR, out, "DIR", "bench/out", "results and scratch files"),
  SHARED_OPT(ARG_PLOT, "--plot", OPT_STR, plot, "FILE", "bench/%s/plot.gp", "gnuplot script; '' for no PNG"),
  SHARED_OPT(ARG_SETUP_SQL, "--setup-sql", OPT_STR, setup_sql, "SQL", NULL, "run on each semlite connection before measuring"),
  SHARED_OPT(ARG_PEER, "--peer", OPT_STR, peer, "FILE", "bench/peers/ort_%s.mjs", "the ONNX Runtime peer script"),
  SHARED_OPT(ARG_NODE, "--node", OPT_STR, node, "CMD", "node", "node executable"),
  SHARED_OPT(ARG_THREADS, "--threads", OPT_INT, threads, "N", "2", "ONNX Runtime intra-op threads; semlite runs its own pool"),
  SHARED_OPT(ARG_LOAD_REPS, "--load-reps", OPT_INT, load_reps, "N", "3", "model loads timed per model"),
  SHARED_OPT(ARG_SECONDS, "--seconds", OPT_DOUBLE, seconds, "S", "1", "measuring time of each measurement"),
  { ARG_BATCHES, offsetof(bench_args, batches), NULL,
    OPT_LIST("--batches", OPT_INTS, NULL, "LIST", "batch sizes, comma separated", &args.n_batches, 8) },
};
#define N_SHARED_OPTS (sizeof SHARED_OPTS / sizeof SHARED_OPTS[0])

static const char *usage_synopsis;
static unsigned usage_shared;
static const bench_opt *usage_own;

/* The option as the usage shows it: "--sizes LIST" and its help with the default. */
static void usage_line(const bench_opt *o, void *p) {
  char head[64], def[128] = "";
  snprintf(head, sizeof head, "%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
  switch (o->kind) {
    case OPT_STR:
      if (*(const char **)p && **(const char **)p) snprintf(def, sizeof def, " (%s)", *(const char **)p);
      break;
    case OPT_INT: snprintf(def, sizeof def, " (%d)", *(int *)p); break;
    case OPT_LONG: snprintf(def, sizeof def, " (%ld)", *(long *)p); break;
    case OPT_DOUBLE: snprintf(def, sizeof def, " (%g)", *(double *)p); break;
    case OPT_INTS:
    case OPT_LONGS:
      strcpy(def, " (");
      for (int k = 0; k < *o->n; k++) {
        size_t u = strlen(def);
        if (o->kind == OPT_INTS) snprintf(def + u, sizeof def - u, "%s%d", k ? "," : "", ((int *)p)[k]);
        else snprintf(def + u, sizeof def - u, "%s%ld", k ? "," : "", ((long *)p)[k]);
      }
      strncat(def, ")", sizeof def - strlen(def) - 1);
      break;
    case OPT_FLAG: break;
  }
  fprintf(stderr, "  %-18s %s%s\n", head, o->help, def);
}

void usage_exit(void) {
  fprintf(stderr, "usage: %s %s\n", prog_name, usage_synopsis ? usage_synopsis : "[options]");
  for (size_t i = 0; i < N_SHARED_OPTS; i++)
    if (usage_shared & SHARED_OPTS[i].bit) usage_line(&SHARED_OPTS[i].opt, (char *)&args + SHARED_OPTS[i].off);
  for (const bench_opt *o = usage_own; o && o->name; o++) usage_line(o, o->p);
  exit(fail_status);
}

/* A comma-separated list of positive integers into out[max]; the count, or -1 when bad. */
static int parse_list(const char *s, long *out, int max) {
  int n = 0;
  while (*s) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || v <= 0 || n == max || (*end && *end != ',')) return -1;
    out[n++] = v;
    s = *end ? end + 1 : end;
  }
  return n ? n : -1;
}

/* One option's value into p. */
static void set_option(const bench_opt *o, void *p, const char *v) {
  long list[64];
  int n;
  switch (o->kind) {
    case OPT_STR: *(const char **)p = v; break;
    case OPT_INT: *(int *)p = atoi(v); break;
    case OPT_LONG: *(long *)p = atol(v); break;
    case OPT_DOUBLE: *(double *)p = atof(v); break;
    case OPT_INTS:
    case OPT_LONGS:
      n = parse_list(v, list, o->max < 64 ? o->max : 64);
      if (n < 0) usage_exit();
      for (int k = 0; k < n; k++) {
        if (o->kind == OPT_INTS) ((int *)p)[k] = (int)list[k];
        else ((long *)p)[k] = list[k];
      }
      *o->n = n;
      break;
    case OPT_FLAG: *(int *)p = 1; break;
  }
}

/* Whether the bench left an option unset (NULL, 0, an empty list). */
static int unset(const bench_opt *o, const void *p) {
  switch (o->kind) {
    case OPT_STR: return !*(const char *const *)p;
    case OPT_INT: case OPT_FLAG: return !*(const int *)p;
    case OPT_LONG: return !*(const long *)p;
    case OPT_DOUBLE: return !*(const double *)p;
    case OPT_INTS: case OPT_LONGS: return !*o->n;
  }
  return 0;
}

/* The defaults of the shared options the bench left unset. */
static void shared_defaults(void) {
  const char *bench = strncmp(prog_name, "bench_", 6) ? prog_name : prog_name + 6;
  for (size_t i = 0; i < N_SHARED_OPTS; i++) {
    const struct shared_opt *so = &SHARED_OPTS[i];
    void *p = (char *)&args + so->off;
    if (so->def && unset(&so->opt, p)) set_option(&so->opt, p, strstr(so->def, "%s") ? fmt(so->def, bench) : so->def);
  }
}

void parse_args(int argc, char **argv, const char *synopsis, unsigned shared, const bench_opt *own) {
  usage_synopsis = synopsis;
  usage_shared = shared;
  usage_own = own;
  shared_defaults();
  for (int i = 1; i < argc; i++) {
    const bench_opt *o = NULL;
    void *p = NULL;
    for (size_t k = 0; k < N_SHARED_OPTS && !o; k++)
      if ((shared & SHARED_OPTS[k].bit) && !strcmp(SHARED_OPTS[k].opt.name, argv[i])) {
        o = &SHARED_OPTS[k].opt;
        p = (char *)&args + SHARED_OPTS[k].off;
      }
    for (const bench_opt *x = own; x && x->name && !o; x++)
      if (!strcmp(x->name, argv[i])) { o = x; p = x->p; }
    if (!o) usage_exit();
    if (o->kind != OPT_FLAG && i + 1 >= argc) usage_exit();
    set_option(o, p, o->kind == OPT_FLAG ? NULL : argv[++i]);
  }
  if (args.threads < 1 || args.load_reps < 1 || !(args.seconds > 0)) usage_exit();
}

/* ---------------------------------------------------------------- SQLite and models */

sqlite3 *open_db(const char *path, const char *ext, const char *entry) {
  sqlite3 *db;
  if (sqlite3_open(path, &db) != SQLITE_OK) die("cannot open %s: %s", path, sqlite3_errmsg(db));
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 1, NULL);
  char *err = NULL;
  if (ext && sqlite3_load_extension(db, ext, entry, &err) != SQLITE_OK)
    die("cannot load %s: %s", ext, err ? err : "?");
  return db;
}

void exec_sql(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) die("%s\n  in: %s", err ? err : "?", sql);
}

sqlite3_stmt *prep(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) die("%s\n  in: %s", sqlite3_errmsg(db), sql);
  return st;
}

sqlite3_int64 run_sql(sqlite3 *db, const char *sql, const char *param, double *ms) {
  double t0 = now_ms();
  sqlite3_stmt *st = prep(db, sql);
  sqlite3_int64 v = 0;
  int rc;
  if (param) sqlite3_bind_text(st, 1, param, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
  if (rc != SQLITE_DONE) die("%s\n  in: %s", sqlite3_errmsg(db), sql);
  sqlite3_finalize(st);
  if (ms) *ms = now_ms() - t0;
  return v;
}

double load_model(sqlite3 *db, const char *name, const char *dir, const char *dtype) {
  char *sql = dtype ? fmt("SELECT semlite_model_load(%Q, %Q, json_object('dtype', %Q))", name, dir, dtype)
                    : fmt("SELECT semlite_model_load(%Q, %Q)", name, dir);
  double ms;
  run_sql(db, sql, NULL, &ms);
  sqlite3_free(sql);
  return ms;
}

void unload_model(sqlite3 *db, const char *name) {
  char *sql = fmt("SELECT semlite_model_unload(%Q)", name);
  run_sql(db, sql, NULL, NULL);
  sqlite3_free(sql);
}

/* SELECT json_extract(json, path) stepped to its row, or NULL when the value is absent. */
static sqlite3_stmt *json_at(sqlite3 *db, const char *json, const char *path_fmt, va_list ap) {
  char *path = sqlite3_vmprintf(path_fmt, ap);
  if (!path) die("out of memory");
  sqlite3_stmt *st = prep(db, "SELECT json_extract(?1, ?2)");
  sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, path, -1, sqlite3_free);
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) return st;
  sqlite3_finalize(st);
  return NULL;
}

double jnum(sqlite3 *db, const char *json, const char *path, ...) {
  va_list ap;
  va_start(ap, path);
  sqlite3_stmt *st = json_at(db, json, path, ap);
  va_end(ap);
  double v = st ? sqlite3_column_double(st, 0) : NAN;
  sqlite3_finalize(st);
  return v;
}

char *jtext(sqlite3 *db, const char *json, const char *path, ...) {
  va_list ap;
  va_start(ap, path);
  sqlite3_stmt *st = json_at(db, json, path, ap);
  va_end(ap);
  char *v = st ? xstrdup((const char *)sqlite3_column_text(st, 0)) : NULL;
  sqlite3_finalize(st);
  return v;
}

void jdoubles(sqlite3 *db, const char *json, double **out, int *n, const char *path, ...) {
  va_list ap;
  va_start(ap, path);
  char *p = sqlite3_vmprintf(path, ap);
  va_end(ap);
  if (!p) die("out of memory");
  sqlite3_stmt *st = prep(db, "SELECT value FROM json_each(?1, ?2)");
  sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, p, -1, sqlite3_free);
  while (sqlite3_step(st) == SQLITE_ROW) {
    *out = xrealloc(*out, (size_t)(*n + 1) * sizeof **out);
    (*out)[(*n)++] = sqlite3_column_double(st, 0);
  }
  sqlite3_finalize(st);
}

/* ---------------------------------------------------------------- the machine */

cpu_sample cpu_now(void) {
  cpu_sample s = { now_s(), NAN, 0 };
  /* all CPUs' user nice system [idle iowait] irq softirq steal; steal counts: the
  ** hypervisor gave the time to someone else */
  FILE *f = fopen("/proc/stat", "r");
  if (f) {
    unsigned long long v[8] = {0};
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
               &v[5], &v[6], &v[7]) >= 7)
      s.busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
    fclose(f);
  }
  struct rusage a, b;
  getrusage(RUSAGE_SELF, &a);
  getrusage(RUSAGE_CHILDREN, &b);   /* peers and gnuplot, once waited for */
  s.own = a.ru_utime.tv_sec + a.ru_utime.tv_usec / 1e6 + a.ru_stime.tv_sec + a.ru_stime.tv_usec / 1e6 +
          b.ru_utime.tv_sec + b.ru_utime.tv_usec / 1e6 + b.ru_stime.tv_sec + b.ru_stime.tv_usec / 1e6;
  return s;
}

double other_cpus(cpu_sample a, cpu_sample b) {
  double dt = b.t - a.t, o = (b.busy - a.busy) - (b.own - a.own);
  if (isnan(o) || dt <= 0) return NAN;
  return o > 0 ? o / dt : 0;   /* jiffies are coarser than rusage: a quiet machine can come out below 0 */
}

double load_average(double la[3]) {
  double v[3] = { NAN, NAN, NAN };
  FILE *f = fopen("/proc/loadavg", "r");
  if (f) {
    if (fscanf(f, "%lf %lf %lf", &v[0], &v[1], &v[2]) != 3) v[0] = v[1] = v[2] = NAN;
    fclose(f);
  }
  if (la) memcpy(la, v, sizeof v);
  return v[0];
}

/* ---------------------------------------------------------------- other programs */

char *run_peer(const char *cmd) {
  warn("running the peer: %s", cmd);
  fflush(NULL);
  FILE *p = popen(cmd, "r");
  if (!p) die("popen: %s", strerror(errno));
  char *out = read_stream(p);
  int status = pclose(p);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || !out[0]) {
    warn("the peer failed (status %d); see its messages above", status);
    free(out);
    return NULL;
  }
  return out;
}

int gnuplot(const char *script, const char *assignments) {
  char *qa = shq(assignments), *qs = shq(script);
  char *cmd = fmt("gnuplot -e %s %s", qa, qs);
  fflush(NULL);
  int ok = system(cmd) == 0;
  if (!ok) warn("gnuplot failed (the CSV is complete; no PNG)");
  sqlite3_free(cmd);
  sqlite3_free(qs);
  sqlite3_free(qa);
  return ok;
}
