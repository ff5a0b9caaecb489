/*
** test.h: the tiny test harness every tests/test_*.c file uses.
**
** A suite is a NULL-terminated array of {name, function}; tests/main.c lists the
** suites and prints one line per failure and the summary `N passed, N failed` (and
** `, N skipped`). A test fails when any CHECK in it fails; it keeps running to report
** all of them. A test that cannot run here (a peer or a CPU feature this machine
** lacks) calls sl_test_skip and returns: it counts as skipped, never as passed.
*/
#ifndef SEMLITE_TEST_H
#define SEMLITE_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct sl_test {
  const char *name;
  void (*fn)(void);
} sl_test;

/* Failures recorded in the running test (reset by main.c before each test). */
extern int sl_test_failures;
void sl_test_fail(const char *file, int line, const char *fmt, ...);
/* Marks the running test skipped, with the reason printed beside it. */
void sl_test_skip(const char *fmt, ...);

/* Directory of ../shared (fixtures) and of the generated twins, from the environment
** (SEMLITE_SHARED, SEMLITE_MODELS) with defaults set by the Makefile. */
const char *sl_test_shared_dir(void);
const char *sl_test_models_dir(void);
/* Path to the semlite.so under test (SEMLITE_SO). */
const char *sl_test_so_path(void);

#define CHECK(cond) \
  do { if (!(cond)) sl_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond); } while (0)

#define CHECK_MSG(cond, ...) \
  do { if (!(cond)) sl_test_fail(__FILE__, __LINE__, __VA_ARGS__); } while (0)

#define CHECK_INT(a, b) \
  do { long long a_ = (long long)(a), b_ = (long long)(b); \
       if (a_ != b_) sl_test_fail(__FILE__, __LINE__, "%s == %lld, expected %lld", #a, a_, b_); } while (0)

#define CHECK_STR(a, b) \
  do { const char *a_ = (a), *b_ = (b); \
       if (!a_ || !b_ || strcmp(a_, b_) != 0) \
         sl_test_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } while (0)

/* Writes data to a new temporary file; its name goes to path. 0 on success. */
int t_write_temp(char *path, size_t cap, const void *data, size_t len);

/* ---- SQL helpers (tests/test_util.c) ---- */
#include <sqlite3.h>

/* A fresh in-memory connection with semlite.so loaded through sqlite3_load_extension,
** as a user would. */
sqlite3 *t_open(void);
/* The same for a database file (sqlite3_open_v2's path, flags and VFS name, NULL: the default). */
sqlite3 *t_open_v2(const char *path, int flags, const char *vfs);
/* The same on a database file. */
sqlite3 *t_open_path(const char *path);
/* Forks child(path, fd), a writer that sends one byte down fd per committed transaction
** and never returns, lets it commit `commits` transactions, waits delay_ms more and kills
** it (SIGKILL). Returns the commits it reported; *killed: SIGKILL ended it. */
long long t_kill_writer(const char *path, void (*child)(const char *path, int fd), int commits, int delay_ms,
                        int *killed);
/* splitmix64: the next seeded number (tests that draw data use it). */
uint64_t t_splitmix(uint64_t *state);

/* First column of the first row of sql (with up to two TEXT parameters), as text;
** "ERROR: <message>" when the statement fails; "NULL" for SQL NULL. Caller frees with
** sqlite3_free. */
char *t_query(sqlite3 *db, const char *sql, const char *p1, const char *p2);
/* Makes SQLite's allocator (so semlite's heap, ext/base/alloc.h) give blocks aligned to 8
** and never to 16, the least SQLite promises; before anything initializes SQLite. */
void t_allocator_align8(void);
/* A whole file, NUL-terminated (free()), or NULL with a failure recorded. */
char *t_read_file(const char *path);

/* Runs one statement; CHECK-fails (and returns non-zero) when it errors. */
int t_exec(sqlite3 *db, const char *sql);

/* Calls fn(line, arg) for every '\n'-terminated line of the file, returns the count. */
int t_each_line(const char *path, void (*fn)(const char *line, size_t len, void *arg), void *arg);

/* Path of a twin folder: "<models dir>/<name>". Static buffer per call site not needed:
** writes into buf. */
const char *t_model_path(char *buf, size_t cap, const char *name);

/* A folder under /tmp whose entries are symlinks to the twin's: the same model under
** another real path, so the registry loads (and unloading frees) a model of its own.
** Remove it with t_model_alias_remove. */
const char *t_model_alias(char *dir, size_t cap, const char *twin, const char *tag);
void t_model_alias_remove(const char *dir);

/* Deletes a database file and its -wal, -shm and -journal files. */
void t_remove_db(const char *path);

/* First column of the first row of sql as an integer; a failing statement fails the test (-1). */
long long t_query_int(sqlite3 *db, const char *sql);

#define CHECK_QUERY(db, sql, p1, p2, expected) \
  do { char *got_ = t_query(db, sql, p1, p2); \
       CHECK_MSG(got_ && strcmp(got_, expected) == 0, "%s -> \"%s\", expected \"%s\"", sql, got_ ? got_ : "(null)", expected); \
       sqlite3_free(got_); } while (0)

#endif
