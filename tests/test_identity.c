/*
** test_identity.c: models the database remembers, through SQL on the real semlite.so.
** semlite_models as a way to load and unload (INSERT / DELETE, sqlite-lembed's habit)
** with the functions' checks; a semlite_vec table created with model= records the
** model's folder, kind, dimension, dtype and weights hash in T_info, and later inserts
** (after reopening the database) name the folder to load when the model is missing and
** refuse a different model under the same name.
*/
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "test.h"

/* Hex XXH3-128 of the files' bytes in order, as a table records a model's weights. */
static void files_hash(const char *dir, const char *const *names, char hex[33]) {
  XXH3_state_t st;
  XXH128_canonical_t c;
  char path[1200], buf[65536];
  size_t n;
  XXH3_128bits_reset(&st);
  for (; *names; names++) {
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, *names);
    CHECK_MSG((f = fopen(path, "rb")) != NULL, "open %s", path);
    if (!f) continue;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) XXH3_128bits_update(&st, buf, n);
    fclose(f);
  }
  XXH128_canonicalFromHash(&c, XXH3_128bits_digest(&st));
  for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", c.digest[i]);
}

static void test_models_writes(void) {
  sqlite3 *db = t_open();
  char path[1024], real[PATH_MAX];
  t_model_path(path, sizeof path, "minilm-l6-embed");
  CHECK(realpath(path, real) != NULL);
  {
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "INSERT INTO semlite_models(name, path) VALUES ('ins_a', ?1)", -1, &st, NULL);
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    CHECK_INT(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
  }
  {
    char *want = sqlite3_mprintf("ins_a|embed|%s|fp32", real);
    CHECK_QUERY(db, "SELECT name || '|' || kind || '|' || path || '|' || dtype FROM semlite_models WHERE name = 'ins_a'",
                NULL, NULL, want);
    sqlite3_free(want);
  }
  /* sqlite-lembed's form: INSERT ... SELECT, with options */
  t_exec(db, "CREATE TEMP TABLE src(n, p)");
  {
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "INSERT INTO src VALUES ('ins_b', ?1)", -1, &st, NULL);
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    CHECK_INT(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
  }
  t_exec(db, "INSERT INTO semlite_models(name, path, options) SELECT n, p, '{\"dtype\": \"int8\"}' FROM src");
  CHECK_QUERY(db, "SELECT dtype FROM semlite_models WHERE name = 'ins_b'", NULL, NULL, "int8");
  CHECK_QUERY(db, "SELECT vec_length(embed('ins_b', 'x'))", NULL, NULL, "384");
  /* the functions' checks and messages */
  CHECK_QUERY(db, "INSERT INTO semlite_models(name, path) VALUES ('ins_c', '/nonexistent/folder')", NULL, NULL,
              "ERROR: semlite_models: cannot open model folder '/nonexistent/folder': No such file or directory");
  CHECK_QUERY(db, "INSERT INTO semlite_models(name, path) VALUES (NULL, 'x')", NULL, NULL,
              "ERROR: semlite_models: the model name must be TEXT, got NULL");
  CHECK_QUERY(db, "INSERT INTO semlite_models(name, path) VALUES ('ins_c', 3)", NULL, NULL,
              "ERROR: semlite_models: the model folder (path) must be TEXT, got INTEGER");
  CHECK_QUERY(db, "INSERT INTO semlite_models(name, path, options) VALUES ('ins_c', 'x', 1)", NULL, NULL,
              "ERROR: semlite_models: the options must be TEXT, got INTEGER");
  CHECK_QUERY(db, "INSERT INTO semlite_models(name, kind, path) VALUES ('ins_c', 'embed', 'x')", NULL, NULL,
              "ERROR: semlite_models: only name, path and options can be given (the other columns describe the loaded model)");
  CHECK_QUERY(db, "INSERT INTO semlite_models(name, path, options) SELECT 'ins_c', p, '{\"dtype\": \"f16\"}' FROM src",
              NULL, NULL, "ERROR: semlite_models: unknown dtype 'f16' (fp32, int8 or bf16)");
  CHECK_QUERY(db, "UPDATE semlite_models SET path = 'x' WHERE name = 'ins_a'", NULL, NULL,
              "ERROR: semlite_models: rows cannot be updated; DELETE the name and INSERT it again");
  /* DELETE unloads */
  t_exec(db, "DELETE FROM semlite_models WHERE name IN ('ins_a', 'ins_b')");
  CHECK_QUERY(db, "SELECT count(*) FROM semlite_models WHERE name LIKE 'ins_%'", NULL, NULL, "0");
  CHECK_QUERY(db, "SELECT embed('ins_a', 'x')", NULL, NULL,
              "ERROR: embed: no model named 'ins_a' (load one with semlite_model_load)");
  /* the hidden column stays out of SELECT * */
  CHECK_QUERY(db, "SELECT count(*) FROM pragma_table_info('semlite_models') WHERE name = 'options'", NULL, NULL, "0");
  /* DIRECTONLY: not from a view or trigger of the database */
  t_exec(db, "CREATE VIEW mv AS SELECT name FROM semlite_models");
  CHECK_QUERY(db, "SELECT count(*) FROM mv", NULL, NULL, "ERROR: unsafe use of virtual table \"semlite_models\"");
  sqlite3_close(db);
}

static char *info_value(sqlite3 *db, const char *key) {
  return t_query(db, "SELECT value FROM it_info WHERE key = ?1", key, NULL);
}

static void test_table_remembers(void) {
  char path[1024], real[PATH_MAX], file[64], alias[256];
  sqlite3 *db;
  char *weights, *want, disk[33];
  static const char *const files[] = {"model.safetensors", "vocab.txt", NULL};
  snprintf(file, sizeof file, "/tmp/semlite-identity-%d.db", (int)getpid());
  unlink(file);
  t_model_path(path, sizeof path, "minilm-l6-embed");
  CHECK(realpath(path, real) != NULL);

  sqlite3_open(file, &db);
  sqlite3_enable_load_extension(db, 1);
  CHECK_INT(sqlite3_load_extension(db, sl_test_so_path(), NULL, NULL), SQLITE_OK);
  CHECK_QUERY(db, "SELECT semlite_model_load('idm', ?1)", path, NULL, "idm");
  t_exec(db, "CREATE VIRTUAL TABLE it USING semlite_vec(embedding float[384], +body text, model=idm, embed_from=body)");
  CHECK_QUERY(db, "SELECT group_concat(key, ',') FROM (SELECT key FROM it_info WHERE key LIKE 'model%' ORDER BY key)",
              NULL, NULL, "model_dim,model_dtype,model_folder,model_kind,model_weights");
  CHECK_QUERY(db, "SELECT value FROM it_info WHERE key = 'model_folder'", NULL, NULL, real);
  CHECK_QUERY(db, "SELECT group_concat(value, ',') FROM (SELECT value FROM it_info WHERE key IN ('model_dim', 'model_dtype', "
                  "'model_kind') ORDER BY key)", NULL, NULL, "384,fp32,embed");
  weights = info_value(db, "model_weights");
  /* Hashed at load from the bytes in memory, it is the hash of the files as they are. */
  files_hash(real, files, disk);
  CHECK_STR(weights ? weights : "(null)", disk);
  t_exec(db, "INSERT INTO it(rowid, body) VALUES (1, 'hallway light')");
  CHECK_QUERY(db, "SELECT semlite_model_unload('idm')", NULL, NULL, "1");
  sqlite3_close(db);

  /* Reopened, the model not loaded: the message names the folder. */
  sqlite3_open(file, &db);
  sqlite3_enable_load_extension(db, 1);
  CHECK_INT(sqlite3_load_extension(db, sl_test_so_path(), NULL, NULL), SQLITE_OK);
  want = sqlite3_mprintf("ERROR: it: model: no model named 'idm'; this table's vectors come from the folder '%s' (fp32): "
                         "load it with semlite_model_load('idm', '%s')", real, real);
  CHECK_QUERY(db, "INSERT INTO it(rowid, body) VALUES (2, 'kitchen sensor')", NULL, NULL, want);
  sqlite3_free(want);

  /* Another model under that name (the same folder computed in int8) is refused. */
  CHECK_QUERY(db, "SELECT semlite_model_load('idm', ?1, '{\"dtype\": \"int8\"}')", path, NULL, "idm");
  want = sqlite3_mprintf("ERROR: it: model 'idm' is not the model this table's vectors come from: the table has '%s' "
                         "(fp32, 384 dims, weights %.12s), 'idm' is now '%s' (int8, 384 dims, weights %.12s); load the "
                         "table's model under that name, or give the rows their vectors", real, weights, real, weights);
  CHECK_QUERY(db, "INSERT INTO it(rowid, body) VALUES (2, 'kitchen sensor')", NULL, NULL, want);
  sqlite3_free(want);
  /* A vector given explicitly needs no model. */
  t_exec(db, "INSERT INTO it(rowid, embedding, body) VALUES (3, vec_f32(zeroblob(1536)), 'given')");
  CHECK_QUERY(db, "SELECT semlite_model_unload('idm')", NULL, NULL, "1");

  /* The same weights from another folder are the same model. */
  t_model_alias(alias, sizeof alias, "minilm-l6-embed", "identity");
  CHECK_QUERY(db, "SELECT semlite_model_load('idm', ?1)", alias, NULL, "idm");
  t_exec(db, "INSERT INTO it(rowid, body) VALUES (2, 'kitchen sensor')");
  CHECK_QUERY(db, "SELECT count(*) FROM it", NULL, NULL, "3");
  CHECK_QUERY(db, "SELECT semlite_model_unload('idm')", NULL, NULL, "1");
  t_model_alias_remove(alias);

  /* A table with no record (made before semlite recorded models) is checked as before. */
  t_exec(db, "DELETE FROM it_info WHERE key LIKE 'model%'");
  CHECK_QUERY(db, "SELECT semlite_model_load('idm', ?1, '{\"dtype\": \"int8\"}')", path, NULL, "idm");
  t_exec(db, "INSERT INTO it(rowid, body) VALUES (4, 'garage door')");
  CHECK_QUERY(db, "SELECT semlite_model_unload('idm')", NULL, NULL, "1");
  CHECK_QUERY(db, "INSERT INTO it(rowid, body) VALUES (5, 'x')", NULL, NULL,
              "ERROR: it: model: no model named 'idm' (load one with semlite_model_load)");
  sqlite3_free(weights);
  sqlite3_close(db);
  unlink(file);
}

const sl_test identity_tests[] = {
  {"models_writes", test_models_writes},
  {"table_remembers", test_table_remembers},
  {NULL, NULL},
};
