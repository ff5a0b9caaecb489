/*
** test_model_files.c: what a model folder's files can do to a loaded model and to a load
** (issue 20, items 3 and 4), through SQL on the real semlite.so.
**
** A loaded model keeps its results when its weights are truncated or overwritten (it
** computes with a copy in memory); a folder whose files changed is loaded anew instead
** of being shared; a FIFO, a device or an oversized file in a folder is refused by name,
** promptly. Whatever could kill or hang the process on a regression runs in a forked
** child with a deadline, so that it fails this test instead of the runner: the child
** runs its forward passes on its own thread (threads limit 1), since the worker pool's
** threads are not in it.
*/
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../ext/engine/safetensors.h"
#include "test.h"

#define EMBED_BYTES (384 * 4)
#define CHILD_SECONDS 20

static const char text[] = "open the garage door when the car arrives";

/* ---- folders ---- */

/* Removes a test folder: its entries (symlinks are unlinked, never followed), then the
** folder. One level of real subfolder (1_Pooling made real) is removed too. */
static void remove_folder(const char *dir) {
  static const char *const names[] = {"config.json", "vocab.txt", "model.safetensors", "tokenizer_config.json",
                                      "special_tokens_map.json", "sentence_bert_config.json", "modules.json",
                                      "config_sentence_transformers.json", "tokenizer.json", "1_Pooling"};
  char path[1200], sub[1300];
  struct stat st;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    if (lstat(path, &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      snprintf(sub, sizeof sub, "%s/config.json", path);
      unlink(sub);
      rmdir(path);
    } else {
      unlink(path);
    }
  }
  rmdir(dir);
}

static int copy_file(const char *from, const char *to, int flags) {
  char buf[1 << 16];
  int in = open(from, O_RDONLY), out = open(to, O_WRONLY | flags, 0600), ok = in >= 0 && out >= 0;
  ssize_t n;
  while (ok && (n = read(in, buf, sizeof buf)) > 0) ok = write(out, buf, (size_t)n) == n;
  if (in >= 0) close(in);
  if (out >= 0 && close(out) != 0) ok = 0;
  return ok;
}

/* The embedding twin as a folder of symlinks (t_model_alias), with model.safetensors a
** real copy when copy_weights: the test may then change it without touching the twin. */
static const char *make_folder(char *dir, size_t cap, const char *tag, int copy_weights) {
  char from[1024], to[1200];
  t_model_alias(dir, cap, "minilm-l6-embed", tag);
  if (copy_weights) {
    snprintf(from, sizeof from, "%s/minilm-l6-embed/model.safetensors", sl_test_models_dir());
    snprintf(to, sizeof to, "%s/model.safetensors", dir);
    CHECK(unlink(to) == 0);
    CHECK_MSG(copy_file(from, to, O_CREAT | O_EXCL), "cannot copy %s", from);
  }
  return dir;
}

/* Replaces the folder's entry `name` (a symlink into the twin) by what make does. */
static void replace_entry(const char *dir, const char *name, const char *how, const char *target) {
  char path[1200];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  unlink(path);
  if (strcmp(how, "fifo") == 0) CHECK_MSG(mkfifo(path, 0600) == 0, "mkfifo %s: %s", path, strerror(errno));
  else if (strcmp(how, "symlink") == 0) CHECK_MSG(symlink(target, path) == 0, "symlink %s", path);
  else if (strcmp(how, "dir") == 0) CHECK_MSG(mkdir(path, 0700) == 0, "mkdir %s", path);
  else if (strcmp(how, "sparse") == 0) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    CHECK_MSG(fd >= 0 && ftruncate(fd, (off_t)strtoull(target, NULL, 10)) == 0, "sparse %s", path);
    if (fd >= 0) close(fd);
  } else {
    FILE *f = fopen(path, "w");
    CHECK_MSG(f != NULL, "cannot write %s", path);
    if (f) { fputs(target, f); fclose(f); }
  }
}

/* 1_Pooling is a symlink into the twin: a real folder with a copy of its config. */
static void real_pooling(const char *dir) {
  char path[1200], from[1024];
  snprintf(path, sizeof path, "%s/1_Pooling", dir);
  unlink(path);
  CHECK(mkdir(path, 0700) == 0);
  snprintf(from, sizeof from, "%s/minilm-l6-embed/1_Pooling/config.json", sl_test_models_dir());
  snprintf(path, sizeof path, "%s/1_Pooling/config.json", dir);
  CHECK(copy_file(from, path, O_CREAT | O_EXCL));
}

/* ---- SQL ---- */

/* embed(model, t) into out (EMBED_BYTES); 0 when it failed (message in out). */
static int embed_bytes(sqlite3 *db, const char *model, const char *t, unsigned char *out) {
  sqlite3_stmt *st;
  int ok;
  sqlite3_prepare_v2(db, "SELECT embed(?1, ?2)", -1, &st, NULL);
  sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, t, -1, SQLITE_STATIC);
  ok = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == EMBED_BYTES;
  if (ok) memcpy(out, sqlite3_column_blob(st, 0), EMBED_BYTES);
  else snprintf((char *)out, EMBED_BYTES, "%s", sqlite3_errmsg(db));
  sqlite3_finalize(st);
  return ok;
}

/* ---- children ---- */

typedef struct child_run {
  int status;                /* from waitpid */
  int timed_out;             /* killed after CHILD_SECONDS */
  char out[2048];            /* what the child wrote */
} child_run;

/* Runs fn(arg, fd) in a child process, which writes its findings to fd; its return
** value is the child's exit status. The child is killed after CHILD_SECONDS. */
static void run_child(int (*fn)(void *arg, int fd), void *arg, child_run *r) {
  int fds[2];
  pid_t pid;
  size_t got = 0;
  ssize_t n;
  struct timespec t0, now;
  memset(r, 0, sizeof *r);
  CHECK(pipe(fds) == 0);
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    close(fds[0]);
    alarm(CHILD_SECONDS + 10);     /* in case the parent is gone */
    _exit(fn(arg, fds[1]));
  }
  close(fds[1]);
  CHECK(pid > 0);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  while (pid > 0 && waitpid(pid, &r->status, WNOHANG) != pid) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - t0.tv_sec >= CHILD_SECONDS) {
      r->timed_out = 1;
      kill(pid, SIGKILL);
      waitpid(pid, &r->status, 0);
      break;
    }
    usleep(5000);
  }
  while (got < sizeof r->out - 1 && (n = read(fds[0], r->out + got, sizeof r->out - 1 - got)) > 0) got += (size_t)n;
  r->out[got] = 0;
  close(fds[0]);
}

/* Checks that the child ended by itself with status 0. */
#define CHECK_CHILD(r) \
  CHECK_MSG(!(r).timed_out && WIFEXITED((r).status) && WEXITSTATUS((r).status) == 0, \
            "the child %s%s (it wrote \"%s\")", (r).timed_out ? "was still running after the deadline" : \
            WIFSIGNALED((r).status) ? "was killed by " : "exited with an error", \
            !(r).timed_out && WIFSIGNALED((r).status) ? strsignal(WTERMSIG((r).status)) : "", (r).out)

/* A connection for a child: forward passes on the calling thread only. */
static sqlite3 *child_open(void) {
  sqlite3 *db = t_open();
  t_exec(db, "UPDATE semlite_limits SET value = 1 WHERE name = 'threads'");
  return db;
}

static void put(int fd, const char *s) {
  if (write(fd, s, strlen(s)) < 0) _exit(9);
}

/* Caps the child's heap at what it has now plus 1 GB, so that a regression reading
** /dev/zero fails in the child instead of eating the machine's memory. Not under
** AddressSanitizer, whose shadow memory counts as data. */
static void cap_memory(void) {
#if !defined(__SANITIZE_ADDRESS__)
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  unsigned long long kb = 0;
  struct rlimit rl;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmData: %llu kB", &kb) == 1) break;
  if (f) fclose(f);
  rl.rlim_cur = rl.rlim_max = (rlim_t)(kb * 1024 + (1ull << 30));
  setrlimit(RLIMIT_DATA, &rl);
#endif
}

/* ---- a loaded model survives its files ---- */

/* In the child: load, embed, then truncate the weights to half, to nothing, and copy
** another model over them (cp truncates, then writes), embedding after each. */
static int truncate_child(void *arg, int fd) {
  const char *dir = arg;
  char weights[1200], other[1024], msg[EMBED_BYTES + 100];
  unsigned char before[EMBED_BYTES], after[EMBED_BYTES];
  struct stat st;
  static const char *const steps[] = {"truncated to half", "truncated to 0 bytes", "overwritten by another model"};
  sqlite3 *db = child_open();
  char *loaded = t_query(db, "SELECT semlite_model_load('m', ?1)", dir, NULL);
  if (strcmp(loaded, "m") != 0) {
    put(fd, loaded);
    return 1;
  }
  sqlite3_free(loaded);
  if (!embed_bytes(db, "m", text, before)) {
    put(fd, (char *)before);
    return 1;
  }
  snprintf(weights, sizeof weights, "%s/model.safetensors", dir);
  snprintf(other, sizeof other, "%s/minilm-l6-rerank/model.safetensors", sl_test_models_dir());
  if (stat(weights, &st) != 0) return 2;
  for (int step = 0; step < 3; step++) {
    int changed = step == 0 ? truncate(weights, st.st_size / 2) == 0
                : step == 1 ? truncate(weights, 0) == 0
                : copy_file(other, weights, O_TRUNC);
    if (!changed) return 3;
    if (!embed_bytes(db, "m", text, after)) {
      snprintf(msg, sizeof msg, "after the weights were %s: %s", steps[step], (char *)after);
      put(fd, msg);
      return 4;
    }
    if (memcmp(before, after, EMBED_BYTES) != 0) {
      snprintf(msg, sizeof msg, "embed() changed after the weights were %s", steps[step]);
      put(fd, msg);
      return 5;
    }
  }
  put(fd, "same bits");
  sqlite3_close(db);
  return 0;
}

static void test_truncated_while_loaded(void) {
  char dir[256];
  child_run r;
  make_folder(dir, sizeof dir, "trunc", 1);
  run_child(truncate_child, dir, &r);
  CHECK_CHILD(r);
  CHECK_STR(r.out, "same bits");
  remove_folder(dir);
}

/* Multiplies the values of one float32 tensor of the weights file in place: the file
** keeps its size, its bytes change. */
static void rewrite_tensor(const char *weights, const char *name) {
  sl_safetensors *st = NULL;
  sl_err err;
  const sl_tensor *t;
  char full[128];
  struct stat sb;
  unsigned char *image = NULL;
  int fd = open(weights, O_RDWR);
  CHECK(fd >= 0 && fstat(fd, &sb) == 0 && (image = malloc((size_t)sb.st_size)) != NULL &&
        pread(fd, image, (size_t)sb.st_size, 0) == sb.st_size);
  snprintf(full, sizeof full, "bert.%s", name);
  if (image) CHECK_MSG(sl_st_parse(image, (size_t)sb.st_size, &st, &err) == SL_OK, "%s", err.msg);
  t = st ? sl_st_find(st, full) : NULL;
  if (st && !t) t = sl_st_find(st, name);
  CHECK(t && t->dtype == SL_DT_F32);
  if (t && t->dtype == SL_DT_F32) {
    float *v = malloc(t->nbytes);
    memcpy(v, t->data, t->nbytes);
    for (size_t i = 0; i < t->n_elems; i++) v[i] *= 1.5f;
    CHECK(pwrite(fd, v, t->nbytes, (const unsigned char *)t->data - image) == (ssize_t)t->nbytes);
    free(v);
  }
  sl_st_close(st);
  free(image);
  if (fd >= 0) close(fd);
}

static double load_ms(sqlite3 *db, const char *name) {
  char sql[200];
  sqlite3_stmt *st;
  double v = -1;
  snprintf(sql, sizeof sql, "SELECT load_ms FROM semlite_models WHERE name = '%s'", name);
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_double(st, 0);
  sqlite3_finalize(st);
  return v;
}

/* A same-size rewrite of the weights: the loaded model keeps its results; loading the
** folder again (another name, or the same one) gives the new weights, under their own
** identity, so the cache cannot hand the old results out for them. */
static void test_rewritten_same_size(void) {
  char dir[256], weights[300];
  unsigned char a[EMBED_BYTES], a2[EMBED_BYTES], b[EMBED_BYTES], cached[EMBED_BYTES], fresh[EMBED_BYTES];
  sqlite3 *db = t_open(), *cdb = t_open();
  make_folder(dir, sizeof dir, "rewrite", 1);
  snprintf(weights, sizeof weights, "%s/model.safetensors", dir);
  CHECK_QUERY(db, "SELECT semlite_model_load('fa', ?1)", dir, NULL, "fa");
  /* Loading the same name and folder again, nothing changed: a no-op; another name shares. */
  CHECK_QUERY(db, "SELECT semlite_model_load('fa', ?1)", dir, NULL, "fa");
  CHECK_QUERY(db, "SELECT semlite_model_load('fs', ?1)", dir, NULL, "fs");
  CHECK(load_ms(db, "fa") == load_ms(db, "fs"));
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_models WHERE name IN ('fa', 'fs')", NULL, NULL, "2");
  CHECK_QUERY(db, "SELECT semlite_model_unload('fs')", NULL, NULL, "1");
  CHECK(embed_bytes(db, "fa", text, a));
  /* The cache on another connection, filled with fa's result. */
  CHECK_QUERY(cdb, "SELECT semlite_cache_enable()", NULL, NULL, "1");
  CHECK(embed_bytes(cdb, "fa", text, cached) && memcmp(cached, a, EMBED_BYTES) == 0);

  usleep(20000);                   /* a modification time of its own, however coarse */
  rewrite_tensor(weights, "embeddings.LayerNorm.weight");
  CHECK_MSG(embed_bytes(db, "fa", text, a2) && memcmp(a, a2, EMBED_BYTES) == 0,
            "the loaded model's result changed with its file");

  CHECK_QUERY(db, "SELECT semlite_model_load('fb', ?1)", dir, NULL, "fb");
  CHECK(load_ms(db, "fa") != load_ms(db, "fb"));
  CHECK(embed_bytes(db, "fb", text, b));
  CHECK_MSG(memcmp(a, b, EMBED_BYTES) != 0, "a second name for the changed folder shares the old model");
  CHECK(embed_bytes(cdb, "fb", text, cached));
  CHECK_MSG(memcmp(cached, b, EMBED_BYTES) == 0, "the cache gave the old weights' result for the new ones");
  CHECK(embed_bytes(cdb, "fa", text, cached) && memcmp(cached, a, EMBED_BYTES) == 0);
  /* fb's files are unchanged since it loaded: another name shares it. */
  CHECK_QUERY(db, "SELECT semlite_model_load('fc', ?1)", dir, NULL, "fc");
  CHECK(load_ms(db, "fb") == load_ms(db, "fc"));

  /* The same name again, after its files changed: it moves to the folder as it is now. */
  CHECK_QUERY(db, "SELECT semlite_model_load('fa', ?1)", dir, NULL, "fa");
  CHECK(embed_bytes(db, "fa", text, a2) && memcmp(a2, b, EMBED_BYTES) == 0);
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_models WHERE name IN ('fa', 'fb', 'fc')", NULL, NULL, "3");

  /* The new results are the new file's: a fresh load of it computes the same. */
  CHECK_QUERY(db, "SELECT semlite_model_unload('fa') + semlite_model_unload('fb') + semlite_model_unload('fc')",
              NULL, NULL, "3");
  CHECK_QUERY(db, "SELECT semlite_model_load('fd', ?1)", dir, NULL, "fd");
  CHECK(embed_bytes(db, "fd", text, fresh) && memcmp(fresh, b, EMBED_BYTES) == 0);
  CHECK_QUERY(db, "SELECT semlite_model_unload('fd')", NULL, NULL, "1");
  sqlite3_close(cdb);
  sqlite3_close(db);
  remove_folder(dir);
}

/* A configuration file that appears or changes is noticed as the weights are: here
** tokenizer_config.json turns lower-casing off. */
static void test_config_changed(void) {
  char dir[256];
  char *before, *after;
  sqlite3 *db = t_open();
  make_folder(dir, sizeof dir, "config", 0);
  CHECK_QUERY(db, "SELECT semlite_model_load('ca', ?1)", dir, NULL, "ca");
  usleep(20000);
  replace_entry(dir, "tokenizer_config.json", "file", "{\"do_lower_case\": false}");
  CHECK_QUERY(db, "SELECT semlite_model_load('cb', ?1)", dir, NULL, "cb");
  before = t_query(db, "SELECT semlite_tokenize('ca', 'Hello World')", NULL, NULL);
  after = t_query(db, "SELECT semlite_tokenize('cb', 'Hello World')", NULL, NULL);
  CHECK_STR(before, "[101,7592,2088,102]");
  CHECK_MSG(strcmp(before, after) != 0, "the changed tokenizer_config.json was not read: %s", after);
  sqlite3_free(before);
  sqlite3_free(after);
  CHECK_QUERY(db, "SELECT semlite_model_unload('ca') + semlite_model_unload('cb')", NULL, NULL, "2");
  sqlite3_close(db);
  remove_folder(dir);
}

/* ---- files that are not regular, or too large ---- */

static int load_child(void *arg, int fd) {
  sqlite3 *db;
  char *got;
  cap_memory();
  db = child_open();
  got = t_query(db, "SELECT semlite_model_load('m', ?1)", (const char *)arg, NULL);
  put(fd, got);
  sqlite3_free(got);
  sqlite3_close(db);
  return 0;
}

static void test_not_regular(void) {
  static const struct { const char *entry, *how, *target, *error; } cases[] = {
    {"vocab.txt", "symlink", "/dev/zero", "vocab.txt is not a regular file"},
    {"model.safetensors", "symlink", "/dev/zero", "model.safetensors is not a regular file"},
    {"config.json", "fifo", NULL, "config.json is not a regular file"},
    {"vocab.txt", "fifo", NULL, "vocab.txt is not a regular file"},
    {"model.safetensors", "fifo", NULL, "model.safetensors is not a regular file"},
    {"tokenizer_config.json", "fifo", NULL, "tokenizer_config.json is not a regular file"},
    {"modules.json", "fifo", NULL, "modules.json is not a regular file"},
    {"1_Pooling/config.json", "fifo", NULL, "1_Pooling/config.json is not a regular file"},
    {"config.json", "dir", NULL, "config.json is not a regular file"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char dir[256], want[300];
    child_run r;
    struct timespec t0, t1;
    make_folder(dir, sizeof dir, "special", 0);
    if (strncmp(cases[i].entry, "1_Pooling/", 10) == 0) real_pooling(dir);
    replace_entry(dir, cases[i].entry, cases[i].how, cases[i].target);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    run_child(load_child, dir, &r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK_CHILD(r);
    snprintf(want, sizeof want, "ERROR: semlite_model_load: %s", cases[i].error);
    CHECK_MSG(strcmp(r.out, want) == 0, "%s as a %s: \"%s\", expected \"%s\"", cases[i].entry, cases[i].how,
              r.out, want);
    CHECK_MSG(t1.tv_sec - t0.tv_sec < 5, "%s as a %s: the load took %ld s", cases[i].entry, cases[i].how,
              (long)(t1.tv_sec - t0.tv_sec));
    remove_folder(dir);
  }
}

/* Sizes over the limits are refused before a byte is read (the files are sparse). */
static void test_too_large(void) {
  static const struct { const char *entry, *size, *error; } cases[] = {
    {"config.json", "4194305", "config.json is larger than the 4 MB limit"},
    {"special_tokens_map.json", "4194305", "special_tokens_map.json is larger than the 4 MB limit"},
    {"vocab.txt", "67108865", "vocab.txt is larger than the 64 MB limit"},
    {"model.safetensors", "17179869185", "model.safetensors is larger than the 16 GB limit"},
  };
  sqlite3 *db = t_open();
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char dir[256], want[300];
    make_folder(dir, sizeof dir, "large", 0);
    replace_entry(dir, cases[i].entry, "sparse", cases[i].size);
    snprintf(want, sizeof want, "ERROR: semlite_model_load: %s", cases[i].error);
    CHECK_QUERY(db, "SELECT semlite_model_load('big', ?1)", dir, NULL, want);
    remove_folder(dir);
  }
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_models WHERE name = 'big'", NULL, NULL, "0");
  sqlite3_close(db);
}

/* SEMLITE_PRELOAD loads through the same reader: a FIFO cannot block the extension's
** loading either. The sqlite3 shell is the fresh process (release builds only: it
** cannot load a sanitized .so). */
static void test_preload_fifo(void) {
  char dir[256], entry[300], cmd[2048], out[1024] = "", want[1024];
  FILE *p;
  size_t n;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  sl_test_skip("the sqlite3 shell cannot load a sanitized .so");
  return;
#endif
  make_folder(dir, sizeof dir, "preload", 0);
  replace_entry(dir, "config.json", "fifo", NULL);
  snprintf(cmd, sizeof cmd, "SEMLITE_PRELOAD='pf=%s' timeout %d sqlite3 -batch -cmd '.load %s' :memory: "
           "'SELECT 1' 2>&1", dir, CHILD_SECONDS, sl_test_so_path());
  p = popen(cmd, "r");
  CHECK(p != NULL);
  if (p) {
    n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    while (n && out[n - 1] == '\n') out[--n] = 0;
    pclose(p);
  }
  snprintf(entry, sizeof entry, "pf=%s", dir);
  snprintf(want, sizeof want, "Error: error during initialization: semlite: SEMLITE_PRELOAD: entry 1 ('%.64s'): "
           "config.json is not a regular file\n1", entry);
  CHECK_STR(out, want);
  remove_folder(dir);
}

const sl_test model_files_tests[] = {
  {"truncated_while_loaded", test_truncated_while_loaded},
  {"rewritten_same_size", test_rewritten_same_size},
  {"config_changed", test_config_changed},
  {"not_regular", test_not_regular},
  {"too_large", test_too_large},
  {"preload_fifo", test_preload_fifo},
  {0, 0},
};
