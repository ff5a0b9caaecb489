/*
** semlite.c: the extension's entry point and its one registration table.
**
** Every SQL function is listed here with its flags, so what is deterministic and what
** may only be called from top-level SQL is visible in one place:
**   DETERMINISTIC|INNOCUOUS  pure functions of their arguments (given a loaded model)
**   DIRECTONLY               functions that read files or change process state
*/
#include <stddef.h>

#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

#include "sql/sql.h"

#define PURE (SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS)
#define DIRECT (SQLITE_UTF8 | SQLITE_DIRECTONLY)

/* The vec_* functions read their arguments' subtypes and set their results' (sqlite-vec's
** element types): SQLite 3.45+ must be told, or it may drop them (and with
** SQLITE_STRICT_SUBTYPE refuses the calls). Older SQLite ignores both flags. */
#ifndef SQLITE_RESULT_SUBTYPE
#define SQLITE_RESULT_SUBTYPE 0x001000000
#endif
#define VEC (PURE | SQLITE_SUBTYPE | SQLITE_RESULT_SUBTYPE)

static const struct {
  const char *name;
  int n_arg;
  int flags;
  void (*fn)(sqlite3_context *, int, sqlite3_value **);
} functions[] = {
  {"semlite_model_load", 2, DIRECT, sl_sql_model_load},
  {"semlite_model_load", 3, DIRECT, sl_sql_model_load},
  {"semlite_model_unload", 1, DIRECT, sl_sql_model_unload},
  {"embed", 1, PURE | SQLITE_RESULT_SUBTYPE, sl_sql_embed},
  {"embed", 2, PURE | SQLITE_RESULT_SUBTYPE, sl_sql_embed},
  {"semlite_tokenize", 1, PURE, sl_sql_tokenize},
  {"semlite_tokenize", 2, PURE, sl_sql_tokenize},
  {"vec_f32", 1, VEC, sl_sql_vec_f32},
  {"vec_int8", 1, VEC, sl_sql_vec_int8},
  {"vec_bit", 1, VEC, sl_sql_vec_bit},
  {"vec_to_json", 1, VEC, sl_sql_vec_to_json},
  {"vec_length", 1, VEC, sl_sql_vec_length},
  {"vec_distance_l2", 2, VEC, sl_sql_vec_distance_l2},
  {"vec_distance_l1", 2, VEC, sl_sql_vec_distance_l1},
  {"vec_distance_cosine", 2, VEC, sl_sql_vec_distance_cosine},
  {"vec_distance_dot", 2, VEC, sl_sql_vec_distance_dot},
  {"vec_distance_hamming", 2, VEC, sl_sql_vec_distance_hamming},
  {"vec_quantize_int8", 2, VEC, sl_sql_vec_quantize_int8},
  {"vec_quantize_binary", 1, VEC, sl_sql_vec_quantize_binary},
  {"vec_normalize", 1, VEC, sl_sql_vec_normalize},
  {"vec_slice", 3, VEC, sl_sql_vec_slice},
  {"vec_add", 2, VEC, sl_sql_vec_add},
  {"vec_sub", 2, VEC, sl_sql_vec_sub},
  {"rerank", 2, PURE, sl_sql_rerank},
  {"rerank", 3, PURE, sl_sql_rerank},
  {"semlite_vec_check", 1, DIRECT, sl_sql_vec_check},
  {"semlite_version", 0, PURE, sl_sql_version},
  /* Reads the CPU and the environment and starts the worker pool: not a pure function. */
  {"semlite_build_info", 0, DIRECT | SQLITE_RESULT_SUBTYPE, sl_sql_build_info},
};

static const struct {
  const char *name;
  const sqlite3_module *module;
} modules[] = {
  {"semlite_models", &sl_models_module},
  {"embed_each", &sl_embed_each_module},
  {"rerank_each", &sl_rerank_each_module},
  {"semlite_vec", &sl_vec_module},
};

#ifdef _WIN32
__declspec(dllexport)
#else
__attribute__((visibility("default")))
#endif
int sqlite3_semlite_init(sqlite3 *db, char **errmsg, const sqlite3_api_routines *api) {
  SQLITE_EXTENSION_INIT2(api);
  for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) {
    int rc = sqlite3_create_function_v2(db, functions[i].name, functions[i].n_arg,
                                        functions[i].flags, NULL, functions[i].fn, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
      *errmsg = sqlite3_mprintf("semlite: cannot register %s: %s", functions[i].name, sqlite3_errmsg(db));
      return rc;
    }
  }
  for (size_t i = 0; i < sizeof modules / sizeof modules[0]; i++) {
    int rc = sqlite3_create_module_v2(db, modules[i].name, modules[i].module, NULL, NULL);
    if (rc != SQLITE_OK) {
      *errmsg = sqlite3_mprintf("semlite: cannot register %s: %s", modules[i].name, sqlite3_errmsg(db));
      return rc;
    }
  }
  return SQLITE_OK;
}
