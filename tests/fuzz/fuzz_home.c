/*
** fuzz_home.c: libFuzzer target for the home import (ext/synergy/ha_import.c reading the
** documents, ext/sql/synergy/sql_synergy_import.c writing them), semlite_ha_import()
** driven through SQL as a user drives it: the home JSON format of
** ../shared/data/homes and Home Assistant's registry files, both untrusted input.
** fuzz_home_init.c registers the function with the extension's API pointer.
**
** The input is one document, bound as TEXT. Checks besides the sanitizers: the call
** either succeeds with a JSON object of counts, or fails with a message naming the
** function and imports nothing (one transaction: the row counts stay as they were).
*/
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int fuzz_home_init(sqlite3 *db, char **errmsg, const sqlite3_api_routines *api);

static sqlite3 *db;

static const char counts_sql[] =
  "SELECT (SELECT count(*) FROM synergy_areas) || ',' || (SELECT count(*) FROM synergy_devices) || ',' || "
  "(SELECT count(*) FROM synergy_entities) || ',' || (SELECT count(*) FROM synergy_automations) || ',' || "
  "(SELECT count(*) FROM synergy_automation_members)";

/* The tables' row counts as text, into buf. */
static void counts(char *buf, size_t cap) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, counts_sql, -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) abort();
  strncpy(buf, (const char *)sqlite3_column_text(st, 0), cap - 1);
  buf[cap - 1] = 0;
  sqlite3_finalize(st);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  if (sqlite3_auto_extension((void (*)(void))fuzz_home_init) != SQLITE_OK ||
      sqlite3_open(":memory:", &db) != SQLITE_OK ||
      sqlite3_exec(db, "SELECT semlite_ha_import()", NULL, NULL, NULL) != SQLITE_OK)
    abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char fn[] = "semlite_ha_import: ";
  char before[128], after[128];
  sqlite3_stmt *st;
  int rc;
  counts(before, sizeof before);
  if (sqlite3_prepare_v2(db, "SELECT semlite_ha_import(?1)", -1, &st, NULL) != SQLITE_OK) abort();
  sqlite3_bind_text(st, 1, (const char *)data, (int)size, SQLITE_TRANSIENT);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    const char *out = (const char *)sqlite3_column_text(st, 0);
    if (sqlite3_column_type(st, 0) != SQLITE_NULL && (!out || strncmp(out, "{\"areas\":", 9) != 0)) abort();
  } else {
    if (strncmp(sqlite3_errmsg(db), fn, sizeof fn - 1) != 0) abort();
    counts(after, sizeof after);
    if (strcmp(before, after) != 0) abort();        /* a refused document imports nothing */
  }
  sqlite3_finalize(st);
  /* the next input starts from empty tables */
  if (sqlite3_exec(db, "DELETE FROM synergy_automation_members; DELETE FROM synergy_automations;"
                       "DELETE FROM synergy_entities; DELETE FROM synergy_devices; DELETE FROM synergy_areas",
                   NULL, NULL, NULL) != SQLITE_OK)
    abort();
  return 0;
}
