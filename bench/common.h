/*
** common.h: the helpers every program in bench/ shares, one copy each (bench/common.c):
** error exits, allocation and formatting, clocks, percentiles, files and folders, CSV and
** JSON output, argument tables with their usage text, SQLite connections with semlite
** loaded, model loading, the CPU other processes took during a measurement, the load
** average, running a peer program and gnuplot.
**
** A bench includes this header first (it sets _POSIX_C_SOURCE for the POSIX calls it
** declares) and calls bench_init() before anything else. What a single bench needs stays
** in that bench's own file.
*/
#ifndef SEMLITE_BENCH_COMMON_H
#define SEMLITE_BENCH_COMMON_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#if defined(__GNUC__)
#define BENCH_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define BENCH_PRINTF(a, b)
#endif

/* ---------------------------------------------------------------- errors */

/* The program's name, put in front of every message, and the exit status of die() and of
** a usage error (bench_knn documents 2; the others exit 1). */
void bench_init(const char *prog, int fail_status);

/* "prog: message" on stderr. */
void warn(const char *fmt, ...) BENCH_PRINTF(1, 2);
/* The same, then exit with the failure status. */
_Noreturn void die(const char *fmt, ...) BENCH_PRINTF(1, 2);
/* "prog: what: SQLite's last error on db", then exit. */
_Noreturn void die_db(sqlite3 *db, const char *what);

/* ---------------------------------------------------------------- memory and strings */

void *xrealloc(void *p, size_t n);     /* realloc that dies when out of memory */
char *xstrdup(const char *s);          /* free() the result */
/* sqlite3_mprintf that dies when out of memory: %Q and %q quote for SQL, and %q also for
** gnuplot's single-quoted strings (both double the quote). sqlite3_free() the result. */
char *fmt(const char *f, ...);
/* s quoted for /bin/sh, whatever it contains. sqlite3_free() the result. */
char *shq(const char *s);
/* v printed with f, or "-" when v is NaN; returns buf. */
const char *fnum(char *buf, size_t n, const char *f, double v);

/* A growable array of strings. */
typedef struct strv { char **v; int n, cap; } strv;
void strv_push(strv *s, char *x);
void strv_free(strv *s);               /* frees the strings too */

/* ---------------------------------------------------------------- clocks and statistics */

double now_s(void);                    /* CLOCK_MONOTONIC, seconds */
double now_ms(void);                   /* the same, milliseconds */
int cmp_double(const void *a, const void *b);   /* qsort order of doubles */
/* Nearest-rank percentile p (0-100) of n sorted samples; NaN when n is 0. The peers
** (bench/peers/common.mjs) use the same definition. */
double percentile(const double *sorted, size_t n, double p);

/* The loop every workload is timed under (the peers' timeLoop in bench/peers/common.mjs is the
** same): `warmup` untimed calls, then timed ones until both min_iters calls and `seconds` are
** reached, at most max_iters (0: no limit). call(k, ctx) makes call k, k counting from 0 in the
** warm-up and again in the timed part. Returns each timed call's ms in call order (free() it),
** their count in *iters and the timed part's seconds in *measured_s. */
double *timed_loop(int warmup, long min_iters, long max_iters, double seconds, void (*call)(long k, void *ctx),
                   void *ctx, long *iters, double *measured_s);

/* splitmix64: a seeded generator that gives the same numbers everywhere. */
uint64_t rng_next(uint64_t *state);
double rng_unit(uint64_t *state);      /* uniform in [0, 1) */

/* ---------------------------------------------------------------- files */

void mkdirs(const char *path);         /* mkdir -p; dies on failure */
char *read_file(const char *path);     /* whole file, NUL-terminated; dies on failure */
char *read_stream(FILE *f);            /* the rest of a stream (a pipe), NUL-terminated */
/* Appends the lines of a file (a .gz one through gzip -dc), without their line ends, to
** lines; dies when it cannot be read. */
void read_lines(const char *path, strv *lines);
void write_file(const char *path, const char *text);
/* fopen that dies with the reason; out_close dies when buffered writes failed. */
FILE *out_open(const char *path, const char *mode);
void out_close(FILE *f, const char *path);
/* ",value" (%.6g) or "," for NaN: one CSV column. */
void csv_num(FILE *f, double v);
/* s as a JSON string, quotes included. */
void json_string(FILE *f, const char *s);
/* Appends the distinct printable-ASCII sentences (columns 2 and 3) of an STS tsv to all, in
** file order (a sentence already among the last 4,000 is skipped). ASCII only: the benches
** measure ordinary text; tokenizer edge cases are the tests' job. */
void read_sts(const char *path, strv *all);

/* ---------------------------------------------------------------- command lines */

/* The options several benches take, one description and default each (SHARED_OPTS in
** common.c; the usage shows them). A bench names the ones it takes (ARG_SO | ARG_OUT | ...) in
** parse_args; before it, it may set its own defaults in `args` (what it leaves NULL, 0 or
** empty gets the common default). */
typedef struct bench_args {
  const char *so;              /* --so PATH: semlite.so                                   */
  const char *shared;          /* --shared DIR: ../shared                                 */
  const char *out;             /* --out DIR: results                                      */
  const char *plot;            /* --plot FILE: gnuplot script; "" for no PNG              */
  const char *model, *models;  /* --model DIR (embedding model), --models DIR (both twins) */
  const char *embed, *rerank;  /* --embed DIR, --rerank DIR                               */
  const char *home;            /* --home FILE, in SHARED/data/homes                       */
  const char *setup_sql;       /* --setup-sql SQL, NULL for none                          */
  const char *peer, *node;     /* --peer FILE (the ONNX Runtime peer), --node CMD         */
  int threads;                 /* --threads N: ONNX Runtime's intra-op threads            */
  int load_reps;               /* --load-reps N: model loads timed                        */
  double seconds;              /* --seconds S: measuring time of one measurement          */
  int batches[8], n_batches;   /* --batches LIST: texts per batch (no common default)     */
} bench_args;

enum {
  ARG_SO = 1 << 0, ARG_SHARED = 1 << 1, ARG_OUT = 1 << 2, ARG_PLOT = 1 << 3, ARG_MODEL = 1 << 4,
  ARG_MODELS = 1 << 5, ARG_EMBED = 1 << 6, ARG_RERANK = 1 << 7, ARG_HOME = 1 << 8, ARG_SETUP_SQL = 1 << 9,
  ARG_PEER = 1 << 10, ARG_NODE = 1 << 11, ARG_THREADS = 1 << 12, ARG_LOAD_REPS = 1 << 13, ARG_SECONDS = 1 << 14,
  ARG_BATCHES = 1 << 15,
  /* the options of a bench that runs an ONNX Runtime peer (bench/peers) */
  ARG_ORT_PEER = ARG_PEER | ARG_NODE | ARG_THREADS | ARG_LOAD_REPS,
};

extern bench_args args;

/* A bench's own options. */
typedef enum {
  OPT_STR,     /* const char **                */
  OPT_INT,     /* int *, atoi                   */
  OPT_LONG,    /* long *, atol                  */
  OPT_DOUBLE,  /* double *, atof                */
  OPT_FLAG,    /* int *, set to 1; no value     */
  OPT_INTS,    /* int[max], count in *n: a comma-separated list of positive integers */
  OPT_LONGS,   /* long[max], likewise           */
} opt_kind;

typedef struct bench_opt {
  const char *name;      /* "--sizes"; the table ends with a NULL name */
  opt_kind kind;
  void *p;
  const char *arg;       /* the value's name in the usage text ("LIST"), NULL for a flag */
  const char *help;      /* usage text; the usage adds the default, the value before parsing */
  int *n, max;           /* lists: where the count goes, the most values */
} bench_opt;

/* Table rows: an option, a list option, the end. */
#define OPT(name, kind, p, arg, help) { name, kind, p, arg, help, NULL, 0 }
#define OPT_LIST(name, kind, p, arg, help, n, max) { name, kind, p, arg, help, n, max }
#define OPT_END { NULL, OPT_FLAG, NULL, NULL, NULL, NULL, 0 }

/* Sets `args` (the shared options in `shared`) and the bench's own options (`own`, NULL for
** none) from argv; an unknown option, a missing value or a bad list prints the usage and
** exits. */
void parse_args(int argc, char **argv, const char *synopsis, unsigned shared, const bench_opt *own);
/* The usage of the last parse_args on stderr, then exit with the failure status. */
_Noreturn void usage_exit(void);

/* ---------------------------------------------------------------- SQLite and models */

/* Opens path (":memory:" too) and loads the extension ext (none when NULL) at its entry
** point (SQLite's default from the file name when NULL). */
sqlite3 *open_db(const char *path, const char *ext, const char *entry);
void exec_sql(sqlite3 *db, const char *sql);           /* dies, naming the SQL */
sqlite3_stmt *prep(sqlite3 *db, const char *sql);      /* dies, naming the SQL */
/* Runs one statement to completion (with one optional TEXT parameter) and returns the first
** column of its last row as an integer; *ms, when not NULL, its wall time. */
sqlite3_int64 run_sql(sqlite3 *db, const char *sql, const char *param, double *ms);
/* semlite_model_load(name, dir[, {"dtype": dtype}]) (no options when dtype is NULL);
** returns its wall time in ms. */
double load_model(sqlite3 *db, const char *name, const char *dir, const char *dtype);
void unload_model(sqlite3 *db, const char *name);
/* json_extract through SQLite's JSON parser, at a path made with printf's format:
** NaN / NULL (free() it) when absent. */
double jnum(sqlite3 *db, const char *json, const char *path, ...) BENCH_PRINTF(3, 4);
char *jtext(sqlite3 *db, const char *json, const char *path, ...) BENCH_PRINTF(3, 4);
/* The numbers of the JSON array at path, appended to *out (realloc'd; *n counts them). */
void jdoubles(sqlite3 *db, const char *json, double **out, int *n, const char *path, ...) BENCH_PRINTF(5, 6);

/* ---------------------------------------------------------------- the machine */

/* What the machine and this process (with its waited-for children) have spent on CPU. */
typedef struct cpu_sample { double t, busy, own; } cpu_sample;
cpu_sample cpu_now(void);
/* CPUs other processes kept busy on average between two samples (0 = nothing else ran);
** NaN where /proc/stat cannot be read. */
double other_cpus(cpu_sample a, cpu_sample b);
/* The 1-minute load average, NaN when unknown; la (when not NULL) gets 1, 5 and 15 min. */
double load_average(double la[3]);

/* ---------------------------------------------------------------- other programs */

/* Runs a peer's shell command line and returns what it printed on stdout, or NULL when it
** failed or printed nothing (said on stderr; its own messages are above). */
char *run_peer(const char *cmd);
/* gnuplot -e assignments script (both quoted for the shell; string values in assignments
** quoted with fmt's %q). Returns 1 when the PNG was written. */
int gnuplot(const char *script, const char *assignments);

#endif
