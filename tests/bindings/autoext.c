/*
** autoext.c: an application that ships SQLite itself and links semlite statically
** (libsemlite.a, compiled with SQLITE_CORE): one sqlite3_auto_extension call before the
** first sqlite3_open makes semlite's functions part of every connection, with no
** loadable extension and no sqlite3_enable_load_extension.
**
** As a test it checks the values the C tests assert: the reference token ids and
** embeddings of ../shared/reference (121 texts, 1e-5 per component), the reference
** cross-encoder logits (56 pairs, 1e-5), and that semlite_build_info() says "static".
** Environment: SEMLITE_SHARED, SEMLITE_MODELS, SEMLITE_VERSION.
** Prints "autoext: N passed, N failed"; exits 1 on a failure.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

int sqlite3_semlite_init(sqlite3 *db, char **errmsg, const sqlite3_api_routines *api);

static int passed, failed;

static void check(const char *name, int ok, const char *got) {
  if (ok) passed++;
  else { failed++; printf("FAIL %s: got %s\n", name, got ? got : "NULL"); }
}

/* The first column of the first row of sql with text parameter ?1, as text, or the
** error message; the caller frees it with sqlite3_free. */
static char *query(sqlite3 *db, const char *sql, const char *arg) {
  sqlite3_stmt *st;
  char *out = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return sqlite3_mprintf("%s", sqlite3_errmsg(db));
  sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    const unsigned char *t = sqlite3_column_text(st, 0);
    out = t ? sqlite3_mprintf("%s", t) : NULL;
  } else {
    out = sqlite3_mprintf("%s", sqlite3_errmsg(db));
  }
  sqlite3_finalize(st);
  return out;
}

static void check_query(sqlite3 *db, const char *name, const char *sql, const char *arg, const char *want) {
  char *got = query(db, sql, arg);
  check(name, got && strcmp(got, want) == 0, got);
  sqlite3_free(got);
}

/* Runs `sql` (which returns 1 when the row is right) on every line of a reference file. */
static void check_lines(sqlite3 *db, const char *file, const char *sql, int want_rows) {
  char path[4096], *line = NULL, count[32];
  size_t cap = 0;
  int rows = 0;
  snprintf(path, sizeof path, "%s/reference/%s", getenv("SEMLITE_SHARED"), file);
  FILE *f = fopen(path, "r");
  if (!f) { check(path, 0, "cannot open"); return; }
  while (getline(&line, &cap, f) > 0) {
    check_query(db, file, sql, line, "1");
    rows++;
  }
  free(line);
  fclose(f);
  snprintf(count, sizeof count, "%d rows", rows);
  check(file, rows == want_rows, count);
}

int main(void) {
  char path[4096];
  sqlite3 *db;
  const char *models = getenv("SEMLITE_MODELS");

  sqlite3_auto_extension((void (*)(void))sqlite3_semlite_init);
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) { puts("autoext: cannot open a database"); return 1; }

  check_query(db, "version", "SELECT semlite_version()", NULL, getenv("SEMLITE_VERSION"));
  check_query(db, "build", "SELECT json_extract(semlite_build_info(), '$.build')", NULL, "static");
  snprintf(path, sizeof path, "%s/minilm-l6-embed", models);
  check_query(db, "load", "SELECT semlite_model_load('minilm', ?1)", path, "minilm");
  snprintf(path, sizeof path, "%s/minilm-l6-rerank", models);
  check_query(db, "load ce", "SELECT semlite_model_load('ce', ?1)", path, "ce");
  check_query(db, "tokenize", "SELECT semlite_tokenize('minilm', ?1)", "Lumière salon",
              "[101,11320,9856,2890,11090,102]");
  check_lines(db, "embed.jsonl",
              "SELECT semlite_tokenize('minilm', ?1 ->> 'text') = json(?1 -> 'ids') AND ("
              "  SELECT max(abs(a.value - b.value)) <= 1e-5 AND count(*) = 384"
              "    FROM json_each(vec_to_json(embed('minilm', ?1 ->> 'text'))) a"
              "    JOIN json_each(?1 -> 'embedding') b ON a.key = b.key)", 121);
  check_lines(db, "rerank.jsonl",
              "SELECT abs(rerank('ce', ?1 ->> 'query', ?1 ->> 'doc') - (?1 ->> 'score')) <= 1e-5", 56);
  check_query(db, "error", "SELECT embed('nope', 'x')", NULL,
              "embed: no model named 'nope' (load one with semlite_model_load)");
  sqlite3_close(db);

  printf("autoext: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
