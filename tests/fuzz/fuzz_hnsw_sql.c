/*
** fuzz_hnsw_sql.c: libFuzzer target for semlite_vec's approximate indexes, `indexed by
** hnsw(...)` and `indexed by ivf(...)`: declarations and commands (ext/sql/vec/config.c,
** index_hnsw.c, index_ivf.c; the ivf* seeds train, probe and clear IVF lists), driven
** through SQL on the whole extension (linked in, registered by sqlite3_auto_extension).
**
** The input is lines: the first completes `CREATE VIRTUAL TABLE t USING semlite_vec(e
** float[8] ...)` (options, `indexed by hnsw(...)` and more columns); when the table is
** made, 40 seeded rows go in, then each further line is a command `INSERT INTO t(t)
** VALUES (line)`, each followed by a 5-NN query, a delete and an insert. Checks besides
** the sanitizers: a failed CREATE or command has a message; a query returns at most 5
** rows; semlite_vec_check('t') says ok at the end.
*/
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int sqlite3_semlite_init(sqlite3 *db, char **errmsg, const sqlite3_api_routines *api);

#define DIMS 8
#define MAX_LINES 8

static float rows[64][DIMS];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  uint64_t s = 12345;
  (void)argc;
  (void)argv;
  if (sqlite3_auto_extension((void (*)(void))sqlite3_semlite_init) != SQLITE_OK) abort();
  for (int i = 0; i < 64; i++)
    for (int d = 0; d < DIMS; d++) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      rows[i][d] = (float)((int)(s >> 40) % 200 - 100) / 50.0f;
    }
  return 0;
}

/* Runs sql with one optional vector or text parameter; returns the rows it gave, or -1
** when it failed (which must carry a message). */
static int run(sqlite3 *db, const char *sql, const float *vec, const char *text) {
  sqlite3_stmt *st;
  int rc, n = 0;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
    if (!*sqlite3_errmsg(db)) abort();
    return -1;
  }
  if (vec) sqlite3_bind_blob(st, 1, vec, DIMS * sizeof *vec, SQLITE_STATIC);
  if (text) sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) n++;
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    if (!*sqlite3_errmsg(db)) abort();
    return -1;
  }
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1), *lines[MAX_LINES], *sql;
  int n_lines = 0;
  sqlite3 *db;
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = 0;
  for (char *p = text; n_lines < MAX_LINES;) {
    char *nl = strchr(p, '\n');
    lines[n_lines++] = p;
    if (!nl) break;
    *nl = 0;
    p = nl + 1;
  }
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) abort();
  sql = sqlite3_mprintf("CREATE VIRTUAL TABLE t USING semlite_vec(e float[%d] %s)", DIMS, lines[0]);
  if (run(db, sql, NULL, NULL) == 0) {
    for (int i = 0; i < 40; i++) {
      char *ins = sqlite3_mprintf("INSERT INTO t(rowid, e) VALUES (%d, ?1)", i + 1);
      run(db, ins, rows[i], NULL);
      sqlite3_free(ins);
    }
    for (int l = 1; l < n_lines; l++) {
      char *ins = sqlite3_mprintf("INSERT OR REPLACE INTO t(rowid, e) VALUES (%d, ?1)", 41 + l);
      run(db, "INSERT INTO t(t) VALUES (?1)", NULL, lines[l]);
      if (run(db, "SELECT rowid FROM t WHERE e MATCH ?1 AND k = 5", rows[l], NULL) > 5) abort();
      run(db, "DELETE FROM t WHERE rowid IN (SELECT rowid FROM t ORDER BY rowid LIMIT 3)", NULL, NULL);
      run(db, ins, rows[40 + l], NULL);
      sqlite3_free(ins);
    }
    {
      sqlite3_stmt *st;
      const char *ok;
      if (sqlite3_prepare_v2(db, "SELECT semlite_vec_check('t')", -1, &st, NULL) != SQLITE_OK) abort();
      if (sqlite3_step(st) != SQLITE_ROW) abort();
      ok = (const char *)sqlite3_column_text(st, 0);
      if (!ok || strcmp(ok, "ok") != 0) abort();
      sqlite3_finalize(st);
    }
  }
  sqlite3_free(sql);
  sqlite3_close(db);
  free(text);
  return 0;
}
