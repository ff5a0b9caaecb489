/*
** sql_synergy_run.c: one synergy run from the tables (see sql_synergy.h): read the home,
** the rules and the config, embed the descriptors (through the synergy_descriptors cache),
** build and score the links (ext/synergy/links.c), run the cross-encoder on the best of
** them (through the synergy_hop_scores cache), and mark the pairs existing automations
** already cover.
**
** Models: synergy_config's embed_model / rerank_model name one (an error if it is not
** loaded); NULL means the first loaded model of the kind, and when there is none the
** signal is left out and its weight with it (the `signals` column says what was used).
** Cache keys name the model by folder and dtype (an int8 copy computes other numbers).
** The two caches are one function each (embed_descriptors, rerank_links), the places to
** route through a general cache.
*/
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "../../ops/metrics.h"
#include "../../ops/infer.h"
#include "sql_synergy.h"

/* ---- strings the run owns ---- */

static const char *keep(sl_synergy_run *run, const unsigned char *s, sl_err *err, int *fail) {
  char *copy;
  if (!s || *fail) return NULL;
  if (run->n_strings == run->cap_strings) {
    size_t cap = run->cap_strings ? run->cap_strings * 2 : 256;
    char **grown = realloc(run->strings, cap * sizeof *grown);
    if (!grown) return *fail = sl_fail(err, "out of memory"), NULL;
    run->strings = grown;
    run->cap_strings = cap;
  }
  if (!(copy = strdup((const char *)s))) return *fail = sl_fail(err, "out of memory"), NULL;
  return run->strings[run->n_strings++] = copy;
}

static int db_fail(sqlite3 *db, sl_err *err) { return sl_fail(err, "%s", sqlite3_errmsg(db)); }

/* Runs a cache write. A read-only database (or PRAGMA query_only) only loses the cache:
** the run goes on without it (*caching set to 0) and gives the same rows. */
static int cache_write(sqlite3 *db, sqlite3_stmt *st, int *caching, sl_err *err) {
  int rc;
  if (!*caching) return SL_OK;
  rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc == SQLITE_DONE) return SL_OK;
  if ((sqlite3_extended_errcode(db) & 0xff) == SQLITE_READONLY) {
    *caching = 0;
    return SL_OK;
  }
  return db_fail(db, err);
}

/* ---- config ---- */

static int read_config(sqlite3 *db, sl_syn_config *cfg, char **embed_model, char **rerank_model,
                       int *use_embedding, int *use_rerank, sl_err *err) {
  static const struct { const char *key; int is_count; size_t off; } knobs[] = {
    {"w_capability", 0, offsetof(sl_syn_config, w_capability)},
    {"w_area", 0, offsetof(sl_syn_config, w_area)},
    {"w_name", 0, offsetof(sl_syn_config, w_name)},
    {"w_embedding", 0, offsetof(sl_syn_config, w_embedding)},
    {"w_rerank", 0, offsetof(sl_syn_config, w_rerank)},
    {"area_unknown", 0, offsetof(sl_syn_config, area_unknown)},
    {"min_hop", 0, offsetof(sl_syn_config, min_hop)},
    {"depth_penalty", 0, offsetof(sl_syn_config, depth_penalty)},
    {"candidates", 1, offsetof(sl_syn_config, candidates)},
    {"rerank_top", 1, offsetof(sl_syn_config, rerank_top)},
    {"beam", 1, offsetof(sl_syn_config, beam)},
  };
  sqlite3_stmt *st;
  int rc = SL_OK;
  unsigned seen = 0;

  *embed_model = *rerank_model = NULL;
  *use_embedding = *use_rerank = 1;
  if (sqlite3_prepare_v2(db, "SELECT key, value FROM main.synergy_config", -1, &st, NULL) != SQLITE_OK)
    return db_fail(db, err);
  while (rc == SL_OK && sqlite3_step(st) == SQLITE_ROW) {
    const char *key = (const char *)sqlite3_column_text(st, 0);
    int type = sqlite3_column_type(st, 1);
    size_t k = 0;
    if (!key) continue;
    for (; k < sizeof knobs / sizeof knobs[0] && strcmp(knobs[k].key, key) != 0; k++) {}
    if (k < sizeof knobs / sizeof knobs[0]) {
      double v = sqlite3_column_double(st, 1);
      int numeric = type == SQLITE_INTEGER || type == SQLITE_FLOAT;
      if (knobs[k].is_count) {
        if (type != SQLITE_INTEGER || sqlite3_column_int64(st, 1) < 1 || sqlite3_column_int64(st, 1) > 1000000)
          rc = sl_fail(err, "synergy_config '%s' must be an integer from 1 to 1000000", key);
        else
          *(size_t *)((char *)cfg + knobs[k].off) = (size_t)sqlite3_column_int64(st, 1);
      } else if (!numeric || !(v >= 0) || (strcmp(key, "depth_penalty") == 0 && !(v > 0 && v <= 1)) ||
                 ((strcmp(key, "min_hop") == 0 || strcmp(key, "area_unknown") == 0) && v > 1)) {
        rc = sl_fail(err, "synergy_config '%s' must be a number %s", key,
                     strcmp(key, "depth_penalty") == 0 ? "in (0, 1]"
                     : strncmp(key, "w_", 2) == 0  ? ">= 0" : "in [0, 1]");
      } else {
        *(double *)((char *)cfg + knobs[k].off) = v;
      }
      seen |= 1u << k;
    } else if (strcmp(key, "embed_model") == 0 || strcmp(key, "rerank_model") == 0) {
      char **dst = key[0] == 'e' ? embed_model : rerank_model;
      if (type == SQLITE_NULL) continue;
      if (type != SQLITE_TEXT) rc = sl_fail(err, "synergy_config '%s' must be a model name or NULL", key);
      else if (!(*dst = strdup((const char *)sqlite3_column_text(st, 1)))) rc = sl_fail(err, "out of memory");
    } else if (strcmp(key, "use_embedding") == 0 || strcmp(key, "use_rerank") == 0) {
      *(key[4] == 'e' ? use_embedding : use_rerank) = sqlite3_column_int(st, 1) != 0;
    } else {
      rc = sl_fail(err, "synergy_config has an unknown key '%s'", key);
    }
  }
  sqlite3_finalize(st);
  for (size_t k = 0; rc == SL_OK && k < sizeof knobs / sizeof knobs[0]; k++)
    if (!(seen & (1u << k))) rc = sl_fail(err, "synergy_config has no '%s'", knobs[k].key);
  if (rc) {
    free(*embed_model);
    free(*rerank_model);
    *embed_model = *rerank_model = NULL;
  }
  return rc;
}

/* ---- the home ---- */

/* Live entities of domains some rule can use, and remotes: battery devices with no live
** entity but diagnostics, whose presses reach HA only as device triggers. Sorted by id. */
static const char nodes_sql[] =
  "WITH live AS (SELECT e.* FROM main.synergy_entities e"
  "  LEFT JOIN main.synergy_devices d ON d.device_id = e.device_id"
  "  WHERE e.disabled = 0 AND e.hidden = 0 AND coalesce(d.disabled, 0) = 0"
  "    AND coalesce(e.entity_category, '') NOT IN ('config', 'diagnostic')),"
  " used AS (SELECT trigger_domain AS domain FROM main.synergy_capabilities WHERE weight > 0"
  "  UNION SELECT action_domain FROM main.synergy_capabilities WHERE weight > 0)"
  "SELECT e.entity_id, e.domain, e.name, e.device_class, e.unit, e.area_id, a.name, e.device_id, d.name"
  "  FROM live e LEFT JOIN main.synergy_areas a ON a.area_id = e.area_id"
  "  LEFT JOIN main.synergy_devices d ON d.device_id = e.device_id"
  "  WHERE e.domain IN used OR EXISTS (SELECT 1 FROM used WHERE domain = '*')"
  " UNION ALL "
  "SELECT 'device:' || d.device_id, 'remote', d.name, 'device_trigger', NULL, d.area_id, a.name,"
  "       d.device_id, d.name"
  "  FROM main.synergy_devices d LEFT JOIN main.synergy_areas a ON a.area_id = d.area_id"
  "  WHERE d.disabled = 0"
  "    AND EXISTS (SELECT 1 FROM main.synergy_entities b WHERE b.device_id = d.device_id"
  "                AND b.domain = 'sensor' AND b.device_class = 'battery')"
  "    AND NOT EXISTS (SELECT 1 FROM live x WHERE x.device_id = d.device_id"
  "                AND (x.domain NOT IN ('sensor', 'button', 'update', 'select', 'number')"
  "                     OR (x.domain = 'sensor' AND x.device_class IS NOT NULL"
  "                         AND x.device_class NOT IN ('battery', 'signal_strength', 'voltage'))))"
  " ORDER BY 1";

static int read_nodes(sqlite3 *db, sl_synergy_run *run, sl_err *err) {
  sqlite3_stmt *st;
  size_t cap = 0;
  int fail = 0, rc;
  if (sqlite3_prepare_v2(db, nodes_sql, -1, &st, NULL) != SQLITE_OK) return db_fail(db, err);
  while (!fail && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    sl_syn_node *n;
    if (run->home.n == cap) {
      sl_syn_node *grown;
      cap = cap ? cap * 2 : 64;
      if (!(grown = realloc(run->nodes, cap * sizeof *grown))) {
        fail = sl_fail(err, "out of memory");
        break;
      }
      run->nodes = grown;
    }
    n = &run->nodes[run->home.n++];
    n->id = keep(run, sqlite3_column_text(st, 0), err, &fail);
    n->domain = keep(run, sqlite3_column_text(st, 1), err, &fail);
    n->name = keep(run, sqlite3_column_text(st, 2), err, &fail);
    n->device_class = keep(run, sqlite3_column_text(st, 3), err, &fail);
    n->unit = keep(run, sqlite3_column_text(st, 4), err, &fail);
    n->area_id = keep(run, sqlite3_column_text(st, 5), err, &fail);
    n->area_name = keep(run, sqlite3_column_text(st, 6), err, &fail);
    n->device_id = keep(run, sqlite3_column_text(st, 7), err, &fail);
    n->device_name = keep(run, sqlite3_column_text(st, 8), err, &fail);
  }
  if (!fail && rc != SQLITE_DONE) fail = db_fail(db, err);
  sqlite3_finalize(st);
  run->home.nodes = run->nodes;
  return fail ? SL_ERROR : SL_OK;
}

static int read_rules(sqlite3 *db, sl_synergy_run *run, sl_err *err) {
  sqlite3_stmt *st;
  size_t cap = 0;
  int fail = 0, rc;
  if (sqlite3_prepare_v2(db,
                         "SELECT trigger_domain, trigger_class, action_domain, weight, phrase, verb"
                         " FROM main.synergy_capabilities ORDER BY trigger_domain, trigger_class, action_domain",
                         -1, &st, NULL) != SQLITE_OK)
    return db_fail(db, err);
  while (!fail && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    sl_syn_rule *r;
    if (run->home.n_rules == cap) {
      sl_syn_rule *grown;
      cap = cap ? cap * 2 : 64;
      if (!(grown = realloc(run->rules, cap * sizeof *grown))) {
        fail = sl_fail(err, "out of memory");
        break;
      }
      run->rules = grown;
    }
    r = &run->rules[run->home.n_rules++];
    r->trigger_domain = keep(run, sqlite3_column_text(st, 0), err, &fail);
    r->trigger_class = keep(run, sqlite3_column_text(st, 1), err, &fail);
    r->action_domain = keep(run, sqlite3_column_text(st, 2), err, &fail);
    r->weight = sqlite3_column_double(st, 3);
    r->phrase = keep(run, sqlite3_column_text(st, 4), err, &fail);
    r->verb = keep(run, sqlite3_column_text(st, 5), err, &fail);
  }
  if (!fail && rc != SQLITE_DONE) fail = db_fail(db, err);
  sqlite3_finalize(st);
  run->home.rules = run->rules;
  return fail ? SL_ERROR : SL_OK;
}

/* ---- embeddings of the descriptors, cached by text hash and model ---- */

static sqlite3_int64 hash_text(const char *a, const char *b, const char *c) {
  XXH3_state_t st;
  XXH3_64bits_reset(&st);
  XXH3_64bits_update(&st, a, strlen(a) + 1);
  if (b) XXH3_64bits_update(&st, b, strlen(b) + 1);
  if (c) XXH3_64bits_update(&st, c, strlen(c) + 1);
  return (sqlite3_int64)XXH3_64bits_digest(&st);
}

/* Fills run->vecs (one unit vector per node): rows of synergy_descriptors whose hash and
** model match are reused, the rest embedded in packed batches and stored. */
static int embed_descriptors(sqlite3 *db, sl_synergy_run *run, sl_model *m,
                             const char *model_key, sl_err *err) {
  size_t n = run->home.n, dim = sl_op_width(m), n_miss = 0;
  char **texts = calloc(n ? n : 1, sizeof *texts);
  size_t *miss = malloc((n ? n : 1) * sizeof *miss), *lens = malloc((n ? n : 1) * sizeof *lens);
  const char **miss_texts = malloc((n ? n : 1) * sizeof *miss_texts);
  sqlite3_int64 *hashes = malloc((n ? n : 1) * sizeof *hashes);
  float *batch = NULL;
  sqlite3_stmt *get = NULL, *put = NULL, *stale = NULL;
  int rc = SL_ERROR, caching = 1;

  run->vecs = malloc((n ? n : 1) * dim * sizeof *run->vecs);
  if (!texts || !miss || !lens || !miss_texts || !hashes || !run->vecs) {
    sl_fail(err, "out of memory");
    goto done;
  }
  if (sqlite3_prepare_v2(db, "SELECT hash, model, embedding FROM main.synergy_descriptors WHERE entity_id = ?1",
                         -1, &get, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO main.synergy_descriptors(entity_id, hash, model, text, embedding)"
                         " VALUES (?1, ?2, ?3, ?4, ?5)", -1, &put, NULL) != SQLITE_OK) {
    db_fail(db, err);
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    int hit = 0;
    if (!(texts[i] = sl_syn_descriptor(&run->nodes[i]))) {
      sl_fail(err, "out of memory");
      goto done;
    }
    hashes[i] = hash_text(texts[i], NULL, NULL);
    sqlite3_bind_text(get, 1, run->nodes[i].id, -1, SQLITE_STATIC);
    if (sqlite3_step(get) == SQLITE_ROW && sqlite3_column_int64(get, 0) == hashes[i] &&
        sqlite3_column_text(get, 1) && strcmp((const char *)sqlite3_column_text(get, 1), model_key) == 0 &&
        (size_t)sqlite3_column_bytes(get, 2) == dim * sizeof(float)) {
      memcpy(run->vecs + i * dim, sqlite3_column_blob(get, 2), dim * sizeof(float));
      hit = 1;
    }
    sqlite3_reset(get);
    if (!hit) {
      miss[n_miss] = i;
      miss_texts[n_miss] = texts[i];
      lens[n_miss++] = strlen(texts[i]);
    }
  }
  for (size_t done_n = 0, got = 0; done_n < n_miss; done_n += got) {
    /* One pass's rows land in run->vecs through `batch`, then go to the cache. */
    if (!batch && !(batch = malloc(n_miss * dim * sizeof *batch))) {
      sl_fail(err, "out of memory");
      goto done;
    }
    got = n_miss - done_n;
    if (sl_op_run_list(NULL, "synergy_descriptor", SL_OP_EMBED_EACH, m, NULL, 0, got, miss_texts + done_n,
                       lens + done_n, batch, err))
      goto done;
    for (size_t k = 0; k < got; k++) {
      size_t i = miss[done_n + k];
      memcpy(run->vecs + i * dim, batch + k * dim, dim * sizeof *batch);
      sqlite3_bind_text(put, 1, run->nodes[i].id, -1, SQLITE_STATIC);
      sqlite3_bind_int64(put, 2, hashes[i]);
      sqlite3_bind_text(put, 3, model_key, -1, SQLITE_STATIC);
      sqlite3_bind_text(put, 4, texts[i], -1, SQLITE_STATIC);
      sqlite3_bind_blob(put, 5, batch + k * dim, (int)(dim * sizeof *batch), SQLITE_STATIC);
      if (cache_write(db, put, &caching, err)) goto done;
    }
  }
  /* Rows of entities and devices no longer in the home go when anything changed. */
  if (n_miss && caching) {
    if (sqlite3_prepare_v2(db,
                           "DELETE FROM main.synergy_descriptors WHERE entity_id NOT IN"
                           " (SELECT entity_id FROM main.synergy_entities UNION ALL"
                           "  SELECT 'device:' || device_id FROM main.synergy_devices)",
                           -1, &stale, NULL) != SQLITE_OK ||
        cache_write(db, stale, &caching, err)) {
      if (!stale) db_fail(db, err);
      goto done;
    }
  }
  /* Unit length, so a dot product is the cosine whatever the model's pooling. */
  for (size_t i = 0; i < n; i++) {
    float *v = run->vecs + i * dim, s = 0;
    for (size_t k = 0; k < dim; k++) s += v[k] * v[k];
    s = s > 0 ? 1.0f / sqrtf(s) : 0;
    for (size_t k = 0; k < dim; k++) v[k] *= s;
  }
  run->home.vecs = run->vecs;
  run->home.dim = dim;
  rc = SL_OK;
done:
  sqlite3_finalize(get);
  sqlite3_finalize(put);
  sqlite3_finalize(stale);
  for (size_t i = 0; texts && i < n; i++) free(texts[i]);
  free(texts);
  free(miss);
  free(lens);
  free(miss_texts);
  free(hashes);
  free(batch);
  return rc;
}

/* ---- the cross-encoder on the best links, cached by statement hash ---- */

/* What every hop statement is scored against: one query for all of them, so the picked
** links go through the cross-encoder in packed batches (a few forward passes in all)
** rather than one pass per trigger. */
static const char rerank_query[] = "a useful smart home automation";

/* Logits into links[].rerank for the picked links: cached ones from synergy_hop_scores,
** the others in packed batches of their statements. */
static int rerank_links(sqlite3 *db, sl_synergy_run *run, sl_model *m,
                        const char *model_key, sl_err *err) {
  sl_syn_graph *g = &run->graph;
  size_t *idx = malloc((g->n_links ? g->n_links : 1) * sizeof *idx), k, n_todo = 0;
  char **texts = NULL;
  const char **todo = NULL;
  size_t *lens = NULL, *which = NULL;
  sqlite3_int64 *hashes = NULL;
  sqlite3_stmt *get = NULL, *put = NULL;
  float *scores = NULL;
  int rc = SL_ERROR, caching = 1;

  if (!idx) return sl_fail(err, "out of memory");
  k = sl_syn_rerank_pick(g, &run->cfg, idx);
  texts = calloc(k ? k : 1, sizeof *texts);
  todo = malloc((k ? k : 1) * sizeof *todo);
  lens = malloc((k ? k : 1) * sizeof *lens);
  which = malloc((k ? k : 1) * sizeof *which);
  hashes = malloc((k ? k : 1) * sizeof *hashes);
  scores = malloc((k ? k : 1) * sizeof *scores);
  if (!texts || !todo || !lens || !which || !hashes || !scores) {
    sl_fail(err, "out of memory");
    goto done;
  }
  if (sqlite3_prepare_v2(db, "SELECT logit FROM main.synergy_hop_scores WHERE hash = ?1", -1, &get, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO main.synergy_hop_scores(hash, logit) VALUES (?1, ?2)", -1, &put,
                         NULL) != SQLITE_OK) {
    db_fail(db, err);
    goto done;
  }
  for (size_t i = 0; i < k; i++) {
    sl_syn_link *l = &g->links[idx[i]];
    if (!(texts[i] = sl_syn_statement(&run->nodes[l->t], &run->nodes[l->a], &run->rules[l->rule]))) {
      sl_fail(err, "out of memory");
      goto done;
    }
    hashes[i] = hash_text(model_key, rerank_query, texts[i]);
    sqlite3_bind_int64(get, 1, hashes[i]);
    if (sqlite3_step(get) == SQLITE_ROW) {
      l->rerank = (float)sqlite3_column_double(get, 0);
    } else {
      which[n_todo] = i;
      todo[n_todo] = texts[i];
      lens[n_todo++] = strlen(texts[i]);
    }
    sqlite3_reset(get);
  }
  if (sl_op_run_list(NULL, "synergy_hop", SL_OP_RERANK_EACH, m, rerank_query, strlen(rerank_query), n_todo,
                     todo, lens, scores, err))
    goto done;
  for (size_t t = 0; t < n_todo; t++) {
    size_t i = which[t];
    g->links[idx[i]].rerank = scores[t];
    sqlite3_bind_int64(put, 1, hashes[i]);
    sqlite3_bind_double(put, 2, scores[t]);
    if (cache_write(db, put, &caching, err)) goto done;
  }
  rc = SL_OK;
done:
  sqlite3_finalize(get);
  sqlite3_finalize(put);
  for (size_t i = 0; texts && i < k; i++) free(texts[i]);
  free(texts);
  free(todo);
  free(lens);
  free(which);
  free(hashes);
  free(scores);
  free(idx);
  return rc;
}

/* ---- existing automations ---- */

static int eq_opt(const char *a, const unsigned char *b) {
  return a && b && strcmp(a, (const char *)b) == 0;
}

/* A link is automated when one automation has its trigger (the entity or its device)
** among its triggers and its action (likewise) among its actions. */
static int mark_automated(sqlite3 *db, sl_synergy_run *run, sl_err *err) {
  sqlite3_stmt *st;
  int rc;
  if (sqlite3_prepare_v2(db,
                         "SELECT t.entity_id, t.device_id, a.entity_id, a.device_id"
                         " FROM main.synergy_automation_members t JOIN main.synergy_automation_members a"
                         "   ON a.automation_id = t.automation_id AND a.role = 'action'"
                         " WHERE t.role = 'trigger'",
                         -1, &st, NULL) != SQLITE_OK)
    return db_fail(db, err);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const unsigned char *te = sqlite3_column_text(st, 0), *td = sqlite3_column_text(st, 1);
    const unsigned char *ae = sqlite3_column_text(st, 2), *ad = sqlite3_column_text(st, 3);
    for (size_t i = 0; i < run->graph.n_links; i++) {
      sl_syn_link *l = &run->graph.links[i];
      const sl_syn_node *t = &run->nodes[l->t], *a = &run->nodes[l->a];
      if ((eq_opt(t->id, te) || eq_opt(t->device_id, td)) && (eq_opt(a->id, ae) || eq_opt(a->device_id, ad)))
        l->automated = 1;
    }
  }
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? SL_OK : db_fail(db, err);
}

/* ---- the run ---- */

/* The cache rows' name of a model: its identity in hex (weights, vocabulary, config,
** dtype), so that a folder re-downloaded with other weights is not served stale rows. */
static void model_key(sl_model *m, char out[33]) {
  unsigned char id[16];
  sl_op_identity(m, id);
  for (int i = 0; i < 16; i++) snprintf(out + 2 * i, 3, "%02x", id[i]);
}

int sl_synergy_run_prepare(sqlite3 *db, sl_synergy_run *run, sl_err *err) {
  char *embed_name = NULL, *rerank_name = NULL, key[33];
  int use_embedding, use_rerank, rc = SL_ERROR;
  sl_model *em = NULL, *rm = NULL;

  memset(run, 0, sizeof *run);
  if (sqlite3_table_column_metadata(db, "main", "synergy_entities", NULL, NULL, NULL, NULL, NULL, NULL) != SQLITE_OK ||
      sqlite3_table_column_metadata(db, "main", "synergy_hop_scores", NULL, NULL, NULL, NULL, NULL, NULL) != SQLITE_OK)
    return sl_fail(err, "no synergy tables in 'main' (create them with semlite_ha_import)");
  if (read_config(db, &run->cfg, &embed_name, &rerank_name, &use_embedding, &use_rerank, err) ||
      read_nodes(db, run, err) || read_rules(db, run, err))
    goto done;
  if ((use_embedding && run->cfg.w_embedding > 0 && sl_op_pin_optional(embed_name, SL_KIND_EMBED, &em, err)) ||
      (use_rerank && run->cfg.w_rerank > 0 && sl_op_pin_optional(rerank_name, SL_KIND_RERANK, &rm, err)))
    goto done;
  if (em) {
    uint64_t t0 = sl_metrics_now();
    model_key(em, key);
    int failed = embed_descriptors(db, run, em, key, err);
    sl_metrics_record(SL_OP_SYNERGY_EMBED, t0, 0, failed);
    if (failed) goto done;
  }
  if (sl_syn_links_build(&run->home, &run->cfg, &run->graph, err)) goto done;
  if (rm) {
    uint64_t t0 = sl_metrics_now();
    model_key(rm, key);
    int failed = rerank_links(db, run, rm, key, err);
    sl_metrics_record(SL_OP_SYNERGY_RERANK, t0, 0, failed);
    if (failed) goto done;
  }
  sl_syn_links_finish(&run->graph, &run->cfg);
  if (mark_automated(db, run, err)) goto done;
  snprintf(run->signals, sizeof run->signals, "capability+area+name%s%s", em ? "+embedding" : "",
           rm ? "+cross-encoder" : "");
  rc = SL_OK;
done:
  sl_op_release(em);
  sl_op_release(rm);
  free(embed_name);
  free(rerank_name);
  if (rc) sl_synergy_run_free(run);
  return rc;
}

void sl_synergy_run_free(sl_synergy_run *run) {
  sl_syn_graph_free(&run->graph);
  for (size_t i = 0; i < run->n_strings; i++) free(run->strings[i]);
  free(run->strings);
  free(run->nodes);
  free(run->rules);
  free(run->vecs);
  memset(run, 0, sizeof *run);
}
