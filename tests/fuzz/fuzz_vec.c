/*
** fuzz_vec.c: libFuzzer target for the vector formats (ext/sql/sql_vec.c, the one
** reader of vector BLOBs and JSON), driven through SQL as a user drives them. The SQL
** functions are registered on a plain connection by fuzz_vec_init.c (the extension's
** API pointer lives there).
**
** The first input byte picks the statement and whether the rest is bound as a BLOB or
** as TEXT. Checks besides the sanitizers: a statement either returns one row or fails
** with a message naming its function; a float32 vector has 4 bytes per dimension.
*/
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int fuzz_vec_init(sqlite3 *db, char **errmsg, const sqlite3_api_routines *api);

static sqlite3 *db;

static const struct { const char *sql, *fn; } stmts[] = {
  {"SELECT vec_f32(?1)", "vec_f32"},
  {"SELECT vec_int8(?1)", "vec_int8"},
  {"SELECT vec_bit(?1)", "vec_bit"},
  {"SELECT vec_length(?1)", "vec_length"},
  {"SELECT vec_to_json(?1)", "vec_to_json"},
  {"SELECT vec_to_json(vec_int8(?1))", "vec_"},
  {"SELECT vec_to_json(vec_bit(?1))", "vec_"},
  {"SELECT vec_length(vec_f32(?1)) * 4 = length(vec_f32(?1))", "vec_"},
};
#define N_STMTS (sizeof stmts / sizeof stmts[0])

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  if (sqlite3_auto_extension((void (*)(void))fuzz_vec_init) != SQLITE_OK ||
      sqlite3_open(":memory:", &db) != SQLITE_OK)
    abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sqlite3_stmt *st;
  size_t pick;
  int rc;
  if (size < 1) return 0;
  pick = data[0] % N_STMTS;
  if (sqlite3_prepare_v2(db, stmts[pick].sql, -1, &st, NULL) != SQLITE_OK) abort();
  if (data[0] & 0x80) sqlite3_bind_blob(st, 1, data + 1, (int)(size - 1), SQLITE_TRANSIENT);
  else sqlite3_bind_text(st, 1, (const char *)data + 1, (int)(size - 1), SQLITE_TRANSIENT);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    /* A float32 vector has 4 bytes per dimension, whichever form it came in. */
    if (pick == N_STMTS - 1 && sqlite3_column_type(st, 0) != SQLITE_NULL && sqlite3_column_int(st, 0) != 1) abort();
    if (sqlite3_step(st) != SQLITE_DONE) abort();
  } else if (strncmp(sqlite3_errmsg(db), stmts[pick].fn, strlen(stmts[pick].fn)) != 0) {
    abort();
  }
  sqlite3_finalize(st);
  return 0;
}
