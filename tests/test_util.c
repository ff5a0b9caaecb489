/*
** test_util.c: helpers shared by the test suites (see test.h).
*/
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <limits.h>
#include <stdlib.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

/* ---- an allocator aligned to 8 and never to 16: the least SQLite promises ---- */

static sqlite3_mem_methods base_mem;

/* q = the first address 8 mod 16 at least 8 bytes into p; q[-1] holds q - p. */
static void *a8_place(char *p) {
  char *q;
  if (!p) return NULL;
  q = p + (((uintptr_t)p % 16 == 0) ? 8 : 16 - (uintptr_t)p % 16 + 8);
  q[-1] = (char)(q - p);
  return q;
}
static char *a8_block(void *q) { return (char *)q - ((char *)q)[-1]; }
static void *a8_malloc(int n) { return a8_place(base_mem.xMalloc(n + 24)); }
static void a8_free(void *q) { base_mem.xFree(a8_block(q)); }
static void *a8_realloc(void *q, int n) {
  char *p = a8_block(q), *p2;
  int off = (int)((char *)q - p), size = base_mem.xSize(p) - off;
  /* A fresh block and a copy: the realloc'd one could move the offset. */
  if (!(p2 = base_mem.xMalloc(n + 24))) return NULL;
  q = memcpy(a8_place(p2), q, (size_t)(size < n ? size : n));
  base_mem.xFree(p);
  return q;
}
static int a8_size(void *q) { return base_mem.xSize(a8_block(q)) - (int)((char *)q - a8_block(q)); }
static int a8_roundup(int n) { return base_mem.xRoundup(n + 24) - 24; }
static int a8_init(void *app) { return base_mem.xInit(app); }
static void a8_shutdown(void *app) { base_mem.xShutdown(app); }

void t_allocator_align8(void) {
  sqlite3_mem_methods m;
  sqlite3_config(SQLITE_CONFIG_GETMALLOC, &base_mem);
  m = (sqlite3_mem_methods){a8_malloc, a8_free, a8_realloc, a8_size, a8_roundup, a8_init, a8_shutdown,
                            base_mem.pAppData};
  sqlite3_config(SQLITE_CONFIG_MALLOC, &m);
}

long long t_kill_writer(const char *path, void (*child)(const char *path, int fd), int commits, int delay_ms,
                        int *killed) {
  int fds[2], status = 0;
  long long done = 0;
  char buf[256];
  struct timespec delay = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
  pid_t pid;
  *killed = 0;
  if (pipe(fds) != 0) return 0;
  fflush(stdout);
  if ((pid = fork()) == 0) {
    close(fds[0]);
    child(path, fds[1]);
    _exit(0);
  }
  close(fds[1]);
  /* let it commit a few transactions, then kill it wherever it is */
  while (done < commits) {
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    done += n;
  }
  nanosleep(&delay, NULL);
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) done += n;
  close(fds[0]);
  *killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  return done;
}

uint64_t t_splitmix(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

sqlite3 *t_open_v2(const char *path, int flags, const char *vfs) {
  sqlite3 *db = NULL;
  char *err = NULL;
  if (sqlite3_open_v2(path, &db, flags, vfs) != SQLITE_OK) {
    sl_test_fail(__FILE__, __LINE__, "cannot open %s: %s", path, sqlite3_errmsg(db));
    return db;
  }
  sqlite3_enable_load_extension(db, 1);
  if (sqlite3_load_extension(db, sl_test_so_path(), NULL, &err) != SQLITE_OK) {
    sl_test_fail(__FILE__, __LINE__, "cannot load %s: %s", sl_test_so_path(), err ? err : "?");
    sqlite3_free(err);
  }
  return db;
}

sqlite3 *t_open_path(const char *path) { return t_open_v2(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL); }

sqlite3 *t_open(void) { return t_open_path(":memory:"); }

char *t_query(sqlite3 *db, const char *sql, const char *p1, const char *p2) {
  sqlite3_stmt *st;
  char *out;
  int rc;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    return sqlite3_mprintf("ERROR: %s", sqlite3_errmsg(db));
  if (p1) sqlite3_bind_text(st, 1, p1, -1, SQLITE_TRANSIENT);
  if (p2) sqlite3_bind_text(st, 2, p2, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    out = sqlite3_column_type(st, 0) == SQLITE_NULL
        ? sqlite3_mprintf("NULL")
        : sqlite3_mprintf("%s", (const char *)sqlite3_column_text(st, 0));
  else if (rc == SQLITE_DONE)
    out = sqlite3_mprintf("NO ROW");
  else
    out = sqlite3_mprintf("ERROR: %s", sqlite3_errmsg(db));
  sqlite3_finalize(st);
  return out;
}

int t_exec(sqlite3 *db, const char *sql) {
  char *err = NULL;
  int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
  if (rc != SQLITE_OK) sl_test_fail(__FILE__, __LINE__, "%s: %s", sql, err ? err : "?");
  sqlite3_free(err);
  return rc;
}

int t_each_line(const char *path, void (*fn)(const char *line, size_t len, void *arg), void *arg) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t cap = 0;
  ssize_t n;
  int count = 0;
  if (!f) {
    sl_test_fail(__FILE__, __LINE__, "cannot open %s", path);
    return 0;
  }
  while ((n = getdelim(&buf, &cap, '\n', f)) > 0) {
    if (buf[n - 1] == '\n') buf[--n] = 0;
    if (n == 0) continue;
    fn(buf, (size_t)n, arg);
    count++;
  }
  free(buf);
  fclose(f);
  return count;
}

char *t_read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  long n;
  CHECK_MSG(f != NULL, "cannot open %s", path);
  if (!f) return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
      (buf = malloc((size_t)n + 1)) != NULL) {
    CHECK(fread(buf, 1, (size_t)n, f) == (size_t)n);
    buf[n] = 0;
  }
  fclose(f);
  return buf;
}

const char *t_model_path(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "%s/%s", sl_test_models_dir(), name);
  return buf;
}

int t_write_temp(char *path, size_t cap, const void *data, size_t len) {
  const char *dir = getenv("TMPDIR");
  int fd;
  snprintf(path, cap, "%s/semlite_test_XXXXXX", dir && *dir ? dir : "/tmp");
  fd = mkstemp(path);
  if (fd < 0) return -1;
  if (write(fd, data, len) != (ssize_t)len) {
    close(fd);
    unlink(path);
    return -1;
  }
  close(fd);
  return 0;
}

const char *t_model_alias(char *dir, size_t cap, const char *twin, const char *tag) {
  char src[1024], real[PATH_MAX];
  DIR *d;
  struct dirent *e;
  snprintf(dir, cap, "/tmp/semlite-alias-%s-%d", tag, (int)getpid());
  t_model_alias_remove(dir);
  if (!realpath(t_model_path(src, sizeof src, twin), real) || mkdir(dir, 0700) != 0 || !(d = opendir(real))) {
    sl_test_fail(__FILE__, __LINE__, "cannot make the alias folder %s", dir);
    return dir;
  }
  while ((e = readdir(d)) != NULL) {
    char from[PATH_MAX + 256], to[PATH_MAX + 256];
    if (e->d_name[0] == '.') continue;
    snprintf(from, sizeof from, "%s/%s", real, e->d_name);
    snprintf(to, sizeof to, "%s/%s", dir, e->d_name);
    if (symlink(from, to) != 0) sl_test_fail(__FILE__, __LINE__, "symlink %s failed", to);
  }
  closedir(d);
  return dir;
}

void t_model_alias_remove(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  if (!d) return;
  while ((e = readdir(d)) != NULL) {
    char path[PATH_MAX + 256];
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    unlink(path);
  }
  closedir(d);
  rmdir(dir);
}

long long t_query_int(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st;
  long long v = -1;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
  if (rc != SQLITE_ROW) sl_test_fail(__FILE__, __LINE__, "%s -> %s", sql, sqlite3_errmsg(db));
  sqlite3_finalize(st);
  return v;
}

void t_remove_db(const char *path) {
  static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
  char p[1100];
  for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
    snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
    unlink(p);
  }
}
