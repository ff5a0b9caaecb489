/*
** fuzz_hnsw_shadow.c: libFuzzer target for damaged HNSW shadow tables (ext/sql/vec/
** index_hnsw.c's loading, index_graph.c, vector/hnsw.c on what it loaded, check.c),
** driven through SQL on the whole extension (linked in, registered by
** sqlite3_auto_extension).
**
** A template database is made once: t(e float[8] indexed by hnsw(m=4, ef_construction=16))
** with 60 seeded rows, 5 of them deleted (their nodes tombstones). Each input is a list
** of edits of a fresh copy's T_hnsw_nodes and T_hnsw_info, 3 bytes each (op, node,
** length) then length bytes: replace a node's links, code, level or rowid, overwrite
** bytes inside its links, delete it, add a node, or set an info value. Then queries,
** an insert, an update, a delete, semlite_vec_check and hnsw-purge run on it. Checks
** besides the sanitizers (and libFuzzer's timeout for hangs): every statement returns or
** fails with a message; a query returns at most k rows.
*/
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int sqlite3_semlite_init(sqlite3 *db, char **errmsg, const sqlite3_api_routines *api);

#define DIMS 8
#define N_ROWS 60

static float rows[N_ROWS + 4][DIMS];
static unsigned char *image;
static sqlite3_int64 image_size;

static void exec_or_die(sqlite3 *db, const char *sql) {
  if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  uint64_t s = 777;
  sqlite3 *db;
  sqlite3_stmt *st;
  (void)argc;
  (void)argv;
  if (sqlite3_auto_extension((void (*)(void))sqlite3_semlite_init) != SQLITE_OK) abort();
  for (int i = 0; i < N_ROWS + 4; i++)
    for (int d = 0; d < DIMS; d++) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      rows[i][d] = (float)((int)(s >> 40) % 200 - 100) / 50.0f;
    }
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) abort();
  exec_or_die(db, "CREATE VIRTUAL TABLE t USING semlite_vec(e float[8] distance_metric=cosine indexed by "
                  "hnsw(m=4, ef_construction=16), cat integer)");
  if (sqlite3_prepare_v2(db, "INSERT INTO t(rowid, e, cat) VALUES (?1, ?2, ?1 % 3)", -1, &st, NULL) != SQLITE_OK) abort();
  exec_or_die(db, "BEGIN");
  for (int i = 0; i < N_ROWS; i++) {
    sqlite3_bind_int(st, 1, i + 1);
    sqlite3_bind_blob(st, 2, rows[i], sizeof rows[i], SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) abort();
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  exec_or_die(db, "COMMIT; DELETE FROM t WHERE rowid IN (3, 17, 31, 45, 59)");
  if (!(image = sqlite3_serialize(db, "main", &image_size, 0))) abort();
  sqlite3_close(db);
  return 0;
}

/* Runs sql (?1 bound to blob when not NULL); returns the rows, or -1 when it failed, which
** must come with a message. */
static int run(sqlite3 *db, const char *sql, const void *blob, int n, sqlite3_int64 i2, int has_i2) {
  sqlite3_stmt *st;
  int rc, rows_n = 0;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
    if (!*sqlite3_errmsg(db)) abort();
    return -1;
  }
  if (blob) sqlite3_bind_blob(st, 1, blob, n, SQLITE_STATIC);
  if (has_i2) sqlite3_bind_int64(st, 2, i2);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) rows_n++;
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    if (!*sqlite3_errmsg(db)) abort();
    return -1;
  }
  return rows_n;
}

static sqlite3_int64 int_of(const uint8_t *p, size_t n) {
  uint64_t v = 0;
  if (n == 0) return 0;
  for (size_t i = 0; i < n && i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
  return n >= 8 ? (sqlite3_int64)v : (sqlite3_int64)(int64_t)(v << (64 - 8 * n)) >> (64 - 8 * n);
}

static void edit(sqlite3 *db, int op, int node, const uint8_t *p, size_t n) {
  static const char *const keys[] = {"m", "ef_construction", "ef_search", "entry", "max_level", "filter_exact_pct"};
  switch (op) {
  case 0: run(db, "UPDATE t_hnsw_nodes SET links = ?1 WHERE node = ?2", p, (int)n, node, 1); break;
  case 1: run(db, "UPDATE t_hnsw_nodes SET code = ?1 WHERE node = ?2", p, (int)n, node, 1); break;
  case 2: {
      char sql[96];
      sqlite3_snprintf(sizeof sql, sql, "UPDATE t_hnsw_nodes SET level = %lld WHERE node = %d", int_of(p, n), node);
      run(db, sql, NULL, 0, 0, 0);
      break;
    }
  case 3: {
    char sql[96];
    if (n) sqlite3_snprintf(sizeof sql, sql, "UPDATE t_hnsw_nodes SET rowid = %lld WHERE node = %d", int_of(p, n), node);
    else sqlite3_snprintf(sizeof sql, sql, "UPDATE t_hnsw_nodes SET rowid = NULL WHERE node = %d", node);
    run(db, sql, NULL, 0, 0, 0);
    break;
  }
  case 4: run(db, "DELETE FROM t_hnsw_nodes WHERE node = ?2", NULL, 0, node, 1); break;
  case 5: {
    char sql[128];
    sqlite3_snprintf(sizeof sql, sql, "UPDATE t_hnsw_info SET value = %lld WHERE key = '%s'", int_of(p, n),
                     keys[node % 6]);
    run(db, sql, NULL, 0, 0, 0);
    break;
  }
  case 6: run(db, "UPDATE t_hnsw_info SET value = ?1 WHERE key = 'version'", p, (int)n, 0, 0); break;
  case 7: /* overwrite bytes inside the links, at an offset from the first byte */
    if (n) run(db, "UPDATE t_hnsw_nodes SET links = substr(links, 1, ?2 % (length(links) + 1)) || ?1 || "
                   "substr(links, ?2 % (length(links) + 1) + 1 + length(?1)) WHERE node = (SELECT min(node) FROM "
                   "t_hnsw_nodes WHERE node >= ?2 % 64)", p, (int)n, node, 1);
    break;
  default: /* a node more: the code and links of node, under a new id and this rowid */
    {
      char sql[200];
      sqlite3_snprintf(sizeof sql, sql, "INSERT OR REPLACE INTO t_hnsw_nodes SELECT %d, %lld, level, code, links FROM "
                       "t_hnsw_nodes WHERE node = %d", 60 + node % 8, n ? int_of(p, n) : 1, node);
      run(db, sql, NULL, 0, 0, 0);
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sqlite3 *db;
  unsigned char *copy = sqlite3_malloc64((sqlite3_uint64)image_size);
  size_t at = 0;
  if (!copy) abort();
  memcpy(copy, image, (size_t)image_size);
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) abort();
  if (sqlite3_deserialize(db, "main", copy, image_size, image_size,
                          SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE) != SQLITE_OK)
    abort();
  while (at + 3 <= size) {
    int op = data[at] % 9, node = data[at + 1] % 64;
    size_t n = data[at + 2] % 64;
    at += 3;
    if (n > size - at) n = size - at;
    edit(db, op, node, data + at, n);
    at += n;
  }
  for (int i = 0; i < 2; i++)
    if (run(db, "SELECT rowid FROM t WHERE e MATCH ?1 AND k = 5", rows[i * 7], sizeof rows[0], 0, 0) > 5) abort();
  if (run(db, "SELECT rowid FROM t WHERE e MATCH ?1 AND k = 4 AND cat = 1", rows[9], sizeof rows[0], 0, 0) > 4) abort();
  run(db, "INSERT INTO t(rowid, e, cat) VALUES (?2, ?1, 0)", rows[N_ROWS], sizeof rows[0], 1000, 1);
  run(db, "UPDATE t SET e = ?1 WHERE rowid = ?2", rows[N_ROWS + 1], sizeof rows[0], 10, 1);
  run(db, "DELETE FROM t WHERE rowid = ?2", NULL, 0, 20, 1);
  run(db, "SELECT semlite_vec_check('t')", NULL, 0, 0, 0);
  run(db, "INSERT INTO t(t) VALUES ('hnsw-purge')", NULL, 0, 0, 0);
  if (run(db, "SELECT rowid FROM t WHERE e MATCH ?1 AND k = 5", rows[N_ROWS + 2], sizeof rows[0], 0, 0) > 5) abort();
  sqlite3_close(db);
  return 0;
}
