/*
** test_faults.c: I/O faults under semlite's requests (issue "nothing a database file, a
** model folder or a failing disk can do may change a result or lose a committed write").
**
** A VFS shim over the default VFS fails the Nth read, write, sync or truncate of every
** file after it is armed, with SQLITE_IOERR_* or SQLITE_FULL. A user transaction that
** calls embed() with the cache enabled (its lookup and store are nested statements) and
** writes a semlite_vec table runs once per N, in rollback-journal and WAL mode, until a
** run meets no fault. After each run the file is reopened without faults and must pass
** integrity_check and semlite_vec_check, hold every row committed before, and hold the
** transaction whole or not at all; a run whose statements all succeeded must have kept
** it. SEMLITE_FAULTS_MAX bounds N per mode (CI samples; `make faults-full` runs all).
*/
#include <stdlib.h>
#include <unistd.h>

#include "test.h"

/* ---- the shim ---- */

typedef struct shim_file {
  sqlite3_file base;
  sqlite3_file *real;           /* follows this struct in the same allocation */
} shim_file;

static struct {
  int armed;                    /* counting */
  long countdown;               /* the op that reaches 0 fails */
  int full;                     /* writes fail with SQLITE_FULL rather than IOERR */
  int fired;
} fault;

static sqlite3_vfs shim_vfs, *real_vfs;

/* 1 when this op is the one to fail. */
static int faulty(void) {
  if (!fault.armed || fault.fired) return 0;
  if (--fault.countdown > 0) return 0;
  fault.fired = 1;
  return 1;
}

#define REAL(f) (((shim_file *)(f))->real)

static int shim_close(sqlite3_file *f) {
  int rc = REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
  return rc;
}
static int shim_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off) {
  if (faulty()) return SQLITE_IOERR_READ;
  return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}
static int shim_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off) {
  if (faulty()) return fault.full ? SQLITE_FULL : SQLITE_IOERR_WRITE;
  return REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
}
static int shim_truncate(sqlite3_file *f, sqlite3_int64 size) {
  if (faulty()) return SQLITE_IOERR_TRUNCATE;
  return REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int shim_sync(sqlite3_file *f, int flags) {
  if (faulty()) return SQLITE_IOERR_FSYNC;
  return REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int shim_size(sqlite3_file *f, sqlite3_int64 *size) {
  return REAL(f)->pMethods->xFileSize(REAL(f), size);
}
static int shim_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int shim_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int shim_check(sqlite3_file *f, int *out) {
  return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int shim_fcntl(sqlite3_file *f, int op, void *arg) {
  return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int shim_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int shim_caps(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int shim_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **pp) {
  return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, extend, pp);
}
static int shim_shm_lock(sqlite3_file *f, int off, int n, int flags) {
  return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void shim_shm_barrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int shim_shm_unmap(sqlite3_file *f, int del) {
  return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static const sqlite3_io_methods shim_methods = {
  2, shim_close, shim_read, shim_write, shim_truncate, shim_sync, shim_size, shim_lock,
  shim_unlock, shim_check, shim_fcntl, shim_sector, shim_caps, shim_shm_map, shim_shm_lock,
  shim_shm_barrier, shim_shm_unmap, NULL, NULL};

static int shim_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out) {
  shim_file *s = (shim_file *)f;
  int rc;
  s->real = (sqlite3_file *)(s + 1);
  rc = real_vfs->xOpen(real_vfs, name, s->real, flags, out);
  f->pMethods = s->real->pMethods ? &shim_methods : NULL;
  return rc;
}
static int shim_delete(sqlite3_vfs *vfs, const char *name, int sync) {
  return real_vfs->xDelete(real_vfs, name, sync);
}
static int shim_access(sqlite3_vfs *vfs, const char *name, int flags, int *out) {
  return real_vfs->xAccess(real_vfs, name, flags, out);
}
static int shim_full_path(sqlite3_vfs *vfs, const char *name, int n, char *out) {
  return real_vfs->xFullPathname(real_vfs, name, n, out);
}
/* Extension loading goes through the connection's VFS. */
static void *shim_dlopen(sqlite3_vfs *vfs, const char *name) { return real_vfs->xDlOpen(real_vfs, name); }
static void shim_dlerror(sqlite3_vfs *vfs, int n, char *out) { real_vfs->xDlError(real_vfs, n, out); }
static void (*shim_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void) {
  return real_vfs->xDlSym(real_vfs, h, sym);
}
static void shim_dlclose(sqlite3_vfs *vfs, void *h) { real_vfs->xDlClose(real_vfs, h); }
static int shim_random(sqlite3_vfs *vfs, int n, char *out) { return real_vfs->xRandomness(real_vfs, n, out); }
static int shim_sleep(sqlite3_vfs *vfs, int us) { return real_vfs->xSleep(real_vfs, us); }
static int shim_time(sqlite3_vfs *vfs, double *out) { return real_vfs->xCurrentTime(real_vfs, out); }
static int shim_last_error(sqlite3_vfs *vfs, int n, char *out) {
  return real_vfs->xGetLastError(real_vfs, n, out);
}

static void shim_register(void) {
  if (real_vfs) return;
  real_vfs = sqlite3_vfs_find(NULL);
  shim_vfs = (sqlite3_vfs){1, (int)sizeof(shim_file) + real_vfs->szOsFile, real_vfs->mxPathname,
                           NULL, "semlite_faults", NULL, shim_open, shim_delete, shim_access,
                           shim_full_path, shim_dlopen, shim_dlerror, shim_dlsym, shim_dlclose, shim_random, shim_sleep,
                           shim_time, shim_last_error, NULL, NULL, NULL, NULL};
  sqlite3_vfs_register(&shim_vfs, 0);
}

/* ---- the scenario ---- */

static char minilm_path[1024];

static sqlite3 *open_faulty(const char *path) {
  sqlite3 *db = NULL;
  char *err = NULL;
  sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "semlite_faults");
  sqlite3_enable_load_extension(db, 1);
  if (sqlite3_load_extension(db, sl_test_so_path(), NULL, &err) != SQLITE_OK)
    sl_test_fail(__FILE__, __LINE__, "cannot load %s: %s", sl_test_so_path(), err ? err : "?");
  sqlite3_free(err);
  return db;
}

/* Runs sql; 1 when it succeeded. */
static int step_all(sqlite3 *db, const char *sql) {
  return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
}

typedef struct outcome { int runs, faulted, rolled_back, kept; } outcome;

/* One run with the fault at op n (0: none). Returns 1 when the fault fired. */
static int run_once(const char *dir, const char *mode, long n, int full, outcome *o) {
  char path[700], sql[760];
  sqlite3 *db;
  int ok = 1, fired;
  snprintf(path, sizeof path, "%s/f-%s-%ld-%d.db", dir, mode, n, full);
  db = open_faulty(path);
  snprintf(sql, sizeof sql, "PRAGMA journal_mode = %s", mode);
  sqlite3_free(t_query(db, sql, NULL, NULL));
  CHECK_QUERY(db, "SELECT semlite_model_load('minilm', ?1)", minilm_path, NULL, "minilm");
  CHECK_QUERY(db, "SELECT semlite_cache_enable()", NULL, NULL, "1");
  t_exec(db, "CREATE TABLE notes(body TEXT)");
  t_exec(db, "CREATE VIRTUAL TABLE docs USING semlite_vec(e float[384], +body text)");
  t_exec(db, "INSERT INTO notes VALUES ('committed before')");
  t_exec(db, "INSERT INTO docs(rowid, e, body) VALUES (1, embed('minilm', 'committed before'), 'committed before')");

  fault.armed = n > 0;
  fault.countdown = n;
  fault.full = full;
  fault.fired = 0;
  ok = step_all(db, "BEGIN") && step_all(db, "INSERT INTO notes VALUES ('first half')") &&
       step_all(db, "SELECT embed('minilm', 'a new text ' || random())") &&
       step_all(db, "INSERT INTO docs(rowid, e, body) VALUES (2, embed('minilm', 'second'), 'second')") &&
       step_all(db, "INSERT INTO notes VALUES ('second half')") && step_all(db, "COMMIT");
  if (!ok && !sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  fired = fault.fired;
  fault.armed = 0;
  sqlite3_close(db);

  /* Reopened without faults. */
  db = open_faulty(path);
  CHECK_QUERY(db, "PRAGMA integrity_check", NULL, NULL, "ok");
  CHECK_QUERY(db, "SELECT semlite_vec_check('docs')", NULL, NULL, "ok");
  {
    char *got = t_query(db, "SELECT group_concat(body, '+') FROM (SELECT body FROM notes ORDER BY rowid)", NULL, NULL);
    char *vec = t_query(db, "SELECT group_concat(rowid) FROM (SELECT rowid FROM docs ORDER BY rowid)", NULL, NULL);
    int whole = strcmp(got, "committed before+first half+second half") == 0 && strcmp(vec, "1,2") == 0;
    int none = strcmp(got, "committed before") == 0 && strcmp(vec, "1") == 0;
    CHECK_MSG(whole || none, "%s fault at op %ld (%s): notes %s, docs %s: a half transaction", mode, n,
              full ? "full" : "ioerr", got, vec);
    CHECK_MSG(!ok || whole, "%s fault at op %ld: every statement succeeded but notes %s, docs %s", mode, n, got, vec);
    o->kept += whole;
    o->rolled_back += none;
    sqlite3_free(got);
    sqlite3_free(vec);
  }
  sqlite3_close(db);
  t_remove_db(path);
  o->runs++;
  o->faulted += fired;
  return fired;
}

static void test_io(void) {
  static const char *const modes[] = {"delete", "wal", "truncate"};
  const char *max_env = getenv("SEMLITE_FAULTS_MAX");
  long max = max_env && *max_env ? atol(max_env) : 100000;
  char dir[512];
  snprintf(dir, sizeof dir, "/tmp/semlite-faults-XXXXXX");
  CHECK(mkdtemp(dir) != NULL);
  shim_register();
  t_model_path(minilm_path, sizeof minilm_path, "minilm-l6-embed");
  for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
    for (int full = 0; full < 2; full++) {
      outcome o = {0};
      for (long n = 1; n <= max && run_once(dir, modes[m], n, full, &o); n++) {
        if (sl_test_failures > 10) break;
      }
      printf("  %s, %s: %d runs, %d faults injected, %d rolled back whole, %d kept whole\n", modes[m],
             full ? "SQLITE_FULL on writes" : "SQLITE_IOERR", o.runs, o.faulted, o.rolled_back, o.kept);
    }
  }
  rmdir(dir);
}


/* ---- out of memory ----
**
** SQLite's allocator (SQLITE_CONFIG_MALLOC) wrapped with a countdown: the Nth allocation
** after arming fails once. The statements below run once per N, until a run meets no
** failure. Each statement must succeed or fail with SQLITE_NOMEM (never another error,
** never a wrong result); afterwards the database passes integrity_check and
** semlite_vec_check, and the user's transaction is whole or absent. The allocator can
** only be replaced before SQLite initializes, so the test re-runs this binary for
** itself in a fresh process (SEMLITE_OOM_CHILD) and reads its exit status.
** SEMLITE_OOM_STEP samples every Nth point (default 5, as in CI); `make faults-full` runs
** every one (SEMLITE_OOM_STEP=1). SEMLITE_OOM_FROM starts later, SEMLITE_OOM_VERBOSE
** prints every statement, SEMLITE_OOM_NOCACHE leaves the cache off (for finding faults). */

static sqlite3_mem_methods real_mem;
static struct { int armed, fired; long countdown; } oom;

static int oom_now(void) {
  if (!oom.armed || oom.fired || --oom.countdown > 0) return 0;
  oom.fired = 1;
  return 1;
}
static void *oom_malloc(int n) { return oom_now() ? NULL : real_mem.xMalloc(n); }
static void *oom_realloc(void *p, int n) { return oom_now() ? NULL : real_mem.xRealloc(p, n); }
static void oom_free(void *p) { real_mem.xFree(p); }
static int oom_size(void *p) { return real_mem.xSize(p); }
static int oom_roundup(int n) { return real_mem.xRoundup(n); }
static int oom_init(void *p) { return real_mem.xInit(p); }
static void oom_shutdown(void *p) { real_mem.xShutdown(p); }

typedef struct oom_stats { long points, runs, nomem, kept, rolled_back; } oom_stats;

/* Runs sql; SQLITE_OK or its primary code, and a failure other than SQLITE_NOMEM is a
** test failure naming the point. */
static int oom_exec(sqlite3 *db, long n, const char *sql, oom_stats *st) {
  int rc = sqlite3_exec(db, sql, NULL, NULL, NULL) & 0xff;
  if (getenv("SEMLITE_OOM_VERBOSE"))
    printf("  %ld: %s -> %d (%s), fired %d, autocommit %d\n", n, sql, rc, sqlite3_errmsg(db), oom.fired,
           sqlite3_get_autocommit(db));
  if (rc == SQLITE_NOMEM) st->nomem++;
  CHECK_MSG(rc == SQLITE_OK || rc == SQLITE_NOMEM, "allocation %ld failed: %s -> %d %s", n, sql, rc,
            sqlite3_errmsg(db));
  return rc;
}

static int oom_run(long n, oom_stats *st) {
  sqlite3 *db = NULL;
  char *err = NULL, sql[256];
  int ok, fired;
  char *got;
  sqlite3_open(":memory:", &db);
  sqlite3_enable_load_extension(db, 1);
  if (sqlite3_load_extension(db, sl_test_so_path(), NULL, &err) != SQLITE_OK)
    sl_test_fail(__FILE__, __LINE__, "cannot load %s: %s", sl_test_so_path(), err ? err : "?");
  sqlite3_free(err);
  CHECK_QUERY(db, "SELECT semlite_model_load('minilm', ?1)", minilm_path, NULL, "minilm");
  t_exec(db, "CREATE TABLE notes(body TEXT)");
  t_exec(db, "CREATE VIRTUAL TABLE docs USING semlite_vec(e float[384], +body text, model=minilm, embed_from=body)");
  t_exec(db, "INSERT INTO notes VALUES ('committed before')");
  t_exec(db, "INSERT INTO docs(rowid, body) VALUES (1, 'committed before')");
  if (!getenv("SEMLITE_OOM_NOCACHE")) t_exec(db, "SELECT semlite_cache_enable()");

  oom.armed = n > 0;
  oom.countdown = n;
  oom.fired = 0;
  ok = oom_exec(db, n, "BEGIN", st) == SQLITE_OK &&
       oom_exec(db, n, "INSERT INTO notes VALUES ('first half')", st) == SQLITE_OK;
  snprintf(sql, sizeof sql, "SELECT embed('minilm', 'text %ld')", n);
  ok = ok && oom_exec(db, n, sql, st) == SQLITE_OK;
  snprintf(sql, sizeof sql, "INSERT INTO docs(rowid, body) VALUES (2, 'second %ld')", n);
  ok = ok && oom_exec(db, n, sql, st) == SQLITE_OK &&
       oom_exec(db, n, "INSERT INTO notes VALUES ('second half')", st) == SQLITE_OK &&
       oom_exec(db, n, "COMMIT", st) == SQLITE_OK;
  if (!ok && !sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  oom_exec(db, n, "SELECT count(*) FROM embed_each('minilm', '[\"a\", \"b\", null]')", st);
  oom_exec(db, n, "SELECT rowid FROM docs WHERE e MATCH embed('minilm', 'committed before') AND k = 2", st);
  {
    /* The check reports the table's problems, never its own failure as one. */
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT semlite_vec_check('docs')", -1, &q, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
      const char *r = (const char *)sqlite3_column_text(q, 0);
      CHECK_MSG(r == NULL || strcmp(r, "ok") == 0, "allocation %ld: semlite_vec_check said %s", n, r);
      rc = SQLITE_OK;
    }
    rc = (rc == SQLITE_OK ? sqlite3_finalize(q) : (sqlite3_finalize(q), rc)) & 0xff;
    CHECK_MSG(rc == SQLITE_OK || rc == SQLITE_NOMEM, "allocation %ld: semlite_vec_check -> %d %s", n, rc,
              sqlite3_errmsg(db));
  }
  oom_exec(db, n, "SELECT * FROM semlite_cache_stats", st);
  if (!getenv("SEMLITE_OOM_NOCACHE")) oom_exec(db, n, "SELECT semlite_cache_clear_expired()", st);
  oom_exec(db, n, "SELECT * FROM semlite_models", st);
  fired = oom.fired;
  oom.armed = 0;

  CHECK_QUERY(db, "PRAGMA integrity_check", NULL, NULL, "ok");
  CHECK_QUERY(db, "SELECT semlite_vec_check('docs')", NULL, NULL, "ok");
  got = t_query(db, "SELECT group_concat(body, '+') || '/' || (SELECT group_concat(rowid) FROM docs) "
                    "FROM (SELECT body FROM notes ORDER BY rowid)", NULL, NULL);
  {
    int whole = strcmp(got, "committed before+first half+second half/1,2") == 0;
    int none = strcmp(got, "committed before/1") == 0;
    CHECK_MSG(whole || none, "allocation %ld: %s: a half transaction", n, got);
    CHECK_MSG(!ok || whole, "allocation %ld: every statement succeeded but %s", n, got);
    st->kept += whole;
    st->rolled_back += none;
  }
  sqlite3_free(got);
  CHECK_INT(sqlite3_close(db), SQLITE_OK);
  st->runs++;
  return fired;
}

static void oom_child(void) {
  static sqlite3_mem_methods m;
  const char *step_env = getenv("SEMLITE_OOM_STEP"), *from_env = getenv("SEMLITE_OOM_FROM");
  long step = step_env && *step_env ? atol(step_env) : 5, from = from_env && *from_env ? atol(from_env) : 1;
  oom_stats st = {0};
  sqlite3_shutdown();
  sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real_mem);
  m = (sqlite3_mem_methods){oom_malloc, oom_free, oom_realloc, oom_size, oom_roundup, oom_init,
                            oom_shutdown, NULL};
  CHECK_INT(sqlite3_config(SQLITE_CONFIG_MALLOC, &m), SQLITE_OK);
  sqlite3_initialize();
  t_model_path(minilm_path, sizeof minilm_path, "minilm-l6-embed");
  if (step < 1) step = 1;
  for (long n = from; oom_run(n, &st) && sl_test_failures < 10; n += step) st.points++;
  printf("  %ld allocation failures injected (every %ld), %ld runs, %ld statements ended with SQLITE_NOMEM, "
         "%ld transactions kept whole, %ld rolled back whole\n",
         st.points, step, st.runs, st.nomem, st.kept, st.rolled_back);
}

static void test_oom(void) {
  char cmd[2048];
  int status;
  if (getenv("SEMLITE_OOM_CHILD")) {
    oom_child();
    return;
  }
  snprintf(cmd, sizeof cmd, "SEMLITE_OOM_CHILD=1 /proc/%d/exe faults.oom", (int)getpid());
  fflush(stdout);
  status = system(cmd);
  CHECK_MSG(status == 0, "the out-of-memory run failed (status %d)", status);
}

const sl_test faults_tests[] = {
  {"io", test_io},
  {"oom", test_oom},
  {NULL, NULL},
};
