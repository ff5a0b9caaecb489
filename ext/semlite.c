/*
** semlite.c: the extension's entry point and its one registration table.
**
** Every SQL function is listed here with its flags, so what is deterministic and what
** may only be called from top-level SQL is visible in one place:
**   DETERMINISTIC|INNOCUOUS  pure functions of their arguments (given a loaded model)
**   DETERMINISTIC|DIRECTONLY pure results, but they may write the inference cache
**                            (docs/cache.md), so not from triggers, views or schema
**   DIRECTONLY               functions that read files or change process state
**
** The connection's cache state (sql_cache.h) is created here and passed as user data
** to the functions and modules marked CACHE; the last of them to go frees it.
** It also preloads the models SEMLITE_PRELOAD names (ext/ops/preload.h), after making
** SQLite's allocator semlite's own (ext/base/alloc.h).
*/
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

#include "base/alloc.h"
#include "ops/preload.h"
#include "sql/sql.h"
#include "sql/sql_cache.h"

#define PURE (SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS)
#define DIRECT (SQLITE_UTF8 | SQLITE_DIRECTONLY)
#define WRITES_CACHE (SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY)

/* The vec_* functions read their arguments' subtypes and set their results' (sqlite-vec's
** element types): SQLite 3.45+ must be told, or it may drop them (and with
** SQLITE_STRICT_SUBTYPE refuses the calls). Older SQLite ignores both flags. */
#ifndef SQLITE_RESULT_SUBTYPE
#define SQLITE_RESULT_SUBTYPE 0x001000000
#endif
#define VEC (PURE | SQLITE_SUBTYPE | SQLITE_RESULT_SUBTYPE)

/* Not a SQLite flag: the function's user data is the connection's sl_cache. Masked out
** before registration. */
#define CACHE 0x40000000
/* A module under sqlite-vec's name: registered unless the connection already has one of
** that name (sqlite-vec's vec0.so loaded first keeps its tables working beside semlite). */
#define PEER 0x20000000

static const struct {
  const char *name;
  int n_arg;
  int flags;
  void (*fn)(sqlite3_context *, int, sqlite3_value **);
} functions[] = {
  {"semlite_model_load", 2, DIRECT, sl_sql_model_load},
  {"semlite_model_load", 3, DIRECT, sl_sql_model_load},
  {"semlite_model_unload", 1, DIRECT, sl_sql_model_unload},
  {"embed", 1, WRITES_CACHE | SQLITE_RESULT_SUBTYPE | CACHE, sl_sql_embed},
  {"embed", 2, WRITES_CACHE | SQLITE_RESULT_SUBTYPE | CACHE, sl_sql_embed},
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
  {"vec_type", 1, VEC, sl_sql_vec_type},
  {"vec_version", 0, PURE, sl_sql_vec_version},
  {"vec_debug", 0, PURE, sl_sql_vec_debug},
  {"rerank", 2, WRITES_CACHE | CACHE, sl_sql_rerank},
  {"rerank", 3, WRITES_CACHE | CACHE, sl_sql_rerank},
  {"semlite_vec_check", 1, DIRECT, sl_sql_vec_check},
  {"semlite_vec_migrate", 1, DIRECT, sl_sql_vec_migrate},
  {"semlite_cache_enable", 0, DIRECT | CACHE, sl_sql_cache_enable},
  {"semlite_cache_enable", 1, DIRECT | CACHE, sl_sql_cache_enable},
  {"semlite_cache_disable", 0, DIRECT | CACHE, sl_sql_cache_disable},
  {"semlite_cache_disable", 1, DIRECT | CACHE, sl_sql_cache_disable},
  {"semlite_cache_clear_expired", 0, DIRECT | CACHE, sl_sql_cache_clear_expired},
  {"semlite_cache_clock", 1, DIRECT | CACHE, sl_sql_cache_clock},
  {"semlite_ha_import", -1, DIRECT, sl_sql_ha_import},
  {"semlite_ha_history", -1, DIRECT, sl_sql_ha_history},
  {"semlite_version", 0, PURE, sl_sql_version},
  {"semlite_progress_report", 1, DIRECT, sl_sql_progress_report},
  /* Reads the CPU and the environment and starts the worker pool: not a pure function. */
  {"semlite_build_info", 0, DIRECT | SQLITE_RESULT_SUBTYPE, sl_sql_build_info},
};

static const struct {
  const char *name;
  const sqlite3_module *module;
  int flags;            /* CACHE: pAux is the connection's sl_cache; PEER (above) */
} modules[] = {
  {"semlite_models", &sl_models_module, 0},
  {"embed_each", &sl_embed_each_module, CACHE},
  {"rerank_each", &sl_rerank_each_module, CACHE},
  {"semlite_vec", &sl_vec_module, CACHE},
  {"vec0", &sl_vec0_module, CACHE | PEER},
  {"vec_each", &sl_vec_each_module, PEER},
  {"vec_npy_each", &sl_vec_npy_each_module, PEER},
  {"semlite_cache_stats", &sl_cache_stats_module, CACHE},
  {"semlite_metrics", &sl_metrics_module, 0},
  {"semlite_memory", &sl_memory_module, 0},
  {"semlite_limits", &sl_limits_module, 0},
  {"semlite_progress", &sl_progress_module, 0},
  {"synergy_links", &sl_synergy_links_module, 0},
  {"synergy_paths", &sl_synergy_paths_module, 0},
};

/* SEMLITE_PRELOAD is read once per process, by the first connection that loads the
** extension; a failure is reported to every load, so that no connection runs without
** the models the operator asked for. */
static pthread_once_t preload_once = PTHREAD_ONCE_INIT;
static char preload_error[SL_ERR_MAX];

/* SQLite's allocator, taken from the API table once: every later load of the extension
** stores that table's pointer again (SQLITE_EXTENSION_INIT2), and a read of it on another
** thread at that moment would be a data race, however benign. */
static void *(*api_malloc64)(sqlite3_uint64);
static void *(*api_realloc64)(void *, sqlite3_uint64);
static void (*api_free)(void *);

static void *sqlite_malloc(size_t n) { return api_malloc64(n); }
static void *sqlite_realloc(void *p, size_t n) { return api_realloc64(p, n); }
static void sqlite_free(void *p) { api_free(p); }

/* Once per process: SQLite's allocator for semlite's own memory, then the preload. */
static void preload(void) {
  static const sl_allocator sqlite_allocator = {sqlite_malloc, sqlite_realloc, sqlite_free};
  const char *spec = getenv("SEMLITE_PRELOAD");
  sl_err err;
  api_malloc64 = sqlite3_malloc64;
  api_realloc64 = sqlite3_realloc64;
  api_free = sqlite3_free;
  sl_alloc_install(&sqlite_allocator);
  if (spec && *spec && sl_preload(spec, &err)) snprintf(preload_error, sizeof preload_error, "%s", err.msg);
}

/* Whether the connection has a module of that name (pragma_module_list; a SQLite built
** without it answers no). */
static int module_exists(sqlite3 *db, const char *name) {
  sqlite3_stmt *st;
  int found = 0;
  if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_module_list WHERE name = ?1", -1, &st, NULL) != SQLITE_OK) return 0;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  found = sqlite3_step(st) == SQLITE_ROW;
  sqlite3_finalize(st);
  return found;
}

#ifdef _WIN32
__declspec(dllexport)
#else
__attribute__((visibility("default")))
#endif
int sqlite3_semlite_init(sqlite3 *db, char **errmsg, const sqlite3_api_routines *api) {
  sl_cache *cache;
  int vec0_peer;
  SQLITE_EXTENSION_INIT2(api);
  pthread_once(&preload_once, preload);
  if (preload_error[0]) {
    *errmsg = sqlite3_mprintf("semlite: SEMLITE_PRELOAD: %s", preload_error);
    return SQLITE_ERROR;
  }
  if (!(cache = sl_cache_new(db))) return SQLITE_NOMEM;
  /* Held while registering, so that a failed registration's xDestroy cannot free it. */
  sl_cache_retain(cache);
  vec0_peer = module_exists(db, "vec0");
  for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) {
    int rc, uses_cache = (functions[i].flags & CACHE) != 0;
    if (uses_cache) sl_cache_retain(cache);
    rc = sqlite3_create_function_v2(db, functions[i].name, functions[i].n_arg,
                                    functions[i].flags & ~CACHE, uses_cache ? cache : NULL,
                                    functions[i].fn, NULL, NULL, uses_cache ? sl_cache_release : NULL);
    if (rc != SQLITE_OK) {
      sl_cache_release(cache);
      *errmsg = sqlite3_mprintf("semlite: cannot register %s: %s", functions[i].name, sqlite3_errmsg(db));
      return rc;
    }
  }
  for (size_t i = 0; i < sizeof modules / sizeof modules[0]; i++) {
    int rc, uses_cache = (modules[i].flags & CACHE) != 0;
    if ((modules[i].flags & PEER) && module_exists(db, modules[i].name)) continue;
    if (uses_cache) sl_cache_retain(cache);
    rc = sqlite3_create_module_v2(db, modules[i].name, modules[i].module,
                                  uses_cache ? cache : NULL,
                                  uses_cache ? sl_cache_release : NULL);
    if (rc != SQLITE_OK) {
      sl_cache_release(cache);
      *errmsg = sqlite3_mprintf("semlite: cannot register %s: %s", modules[i].name, sqlite3_errmsg(db));
      return rc;
    }
  }
  sl_cache_release(cache);
  /* vec0 is ours (vec0.so was not loaded first): its tables that vec0.so wrote become
  ** semlite's now, while no statement of the connection runs (vec/migrate.c) */
  if (!vec0_peer) sl_vec_migrate_on_load(db);
  return SQLITE_OK;
}

/* sqlite-vec's entry point: SQLite derives it from the letters of the file name (vec0.so:
** sqlite3_vec_init), so a semlite.so copied over vec0.so, or loaded as "vec0", registers
** the same way. Not in the static library (SQLITE_CORE), where an app may link
** sqlite-vec's own sqlite3_vec_init beside it. */
#ifndef SQLITE_CORE
#ifdef _WIN32
__declspec(dllexport)
#else
__attribute__((visibility("default")))
#endif
int sqlite3_vec_init(sqlite3 *db, char **errmsg, const sqlite3_api_routines *api) {
  return sqlite3_semlite_init(db, errmsg, api);
}
#endif
