/*
** sql_synergy_steps.c: the caches of a synergy run's two model steps (sl_syn_steps), in
** the tables of 'main': synergy_descriptors (a descriptor's embedding per entity, kept
** while its text hash and model stay the same) and synergy_hop_scores (a logit per hash
** of model, query and statement). A read-only database (or PRAGMA query_only) only loses
** the cache: the run goes on without it and gives the same rows.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "../../ops/infer.h"
#include "sql_synergy.h"

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

static sqlite3_int64 hash_text(const char *a, const char *b, const char *c) {
  XXH3_state_t st;
  XXH3_64bits_reset(&st);
  XXH3_64bits_update(&st, a, strlen(a) + 1);
  if (b) XXH3_64bits_update(&st, b, strlen(b) + 1);
  if (c) XXH3_64bits_update(&st, c, strlen(c) + 1);
  return (sqlite3_int64)XXH3_64bits_digest(&st);
}

/* The cache rows' name of a model: its folder and dtype (an int8 copy computes other
** numbers). */
static void model_key(const sl_model *m, char *key, size_t cap) {
  snprintf(key, cap, "%s|%s", m->dir, sl_bert_dtype(m->bert));
}

/* Rows of synergy_descriptors whose hash and model match are reused, the rest embedded in
** packed batches and stored; rows of entities no longer in the home go when anything
** changed. */
static int embed_step(sl_syn_steps *base, sl_model *m, size_t n, const sl_syn_node *nodes, const char *const *texts,
                      float *out, sl_err *err) {
  sqlite3 *db = ((sl_synergy_steps *)base)->db;
  size_t dim = (size_t)m->cfg.hidden, n_miss = 0;
  size_t *miss = malloc((n ? n : 1) * sizeof *miss), *lens = malloc((n ? n : 1) * sizeof *lens);
  const char **miss_texts = malloc((n ? n : 1) * sizeof *miss_texts);
  sqlite3_int64 *hashes = malloc((n ? n : 1) * sizeof *hashes);
  float *batch = NULL;
  sqlite3_stmt *get = NULL, *put = NULL, *stale = NULL;
  char key[4096 + 160];
  int rc = SL_ERROR, caching = 1;

  model_key(m, key, sizeof key);
  if (!miss || !lens || !miss_texts || !hashes) {
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
    hashes[i] = hash_text(texts[i], NULL, NULL);
    sqlite3_bind_text(get, 1, nodes[i].id, -1, SQLITE_STATIC);
    if (sqlite3_step(get) == SQLITE_ROW && sqlite3_column_int64(get, 0) == hashes[i] &&
        sqlite3_column_text(get, 1) && strcmp((const char *)sqlite3_column_text(get, 1), key) == 0 &&
        (size_t)sqlite3_column_bytes(get, 2) == dim * sizeof(float)) {
      memcpy(out + i * dim, sqlite3_column_blob(get, 2), dim * sizeof(float));
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
    /* One pass's rows land in out through `batch`, then go to the cache. */
    if (!batch && !(batch = malloc(SL_BATCH_MAX_SEQS * dim * sizeof *batch))) {
      sl_fail(err, "out of memory");
      goto done;
    }
    if (sl_op_embed_batch(m, n_miss - done_n, miss_texts + done_n, lens + done_n, batch, &got, err)) goto done;
    for (size_t k = 0; k < got; k++) {
      size_t i = miss[done_n + k];
      memcpy(out + i * dim, batch + k * dim, dim * sizeof *batch);
      sqlite3_bind_text(put, 1, nodes[i].id, -1, SQLITE_STATIC);
      sqlite3_bind_int64(put, 2, hashes[i]);
      sqlite3_bind_text(put, 3, key, -1, SQLITE_STATIC);
      sqlite3_bind_text(put, 4, texts[i], -1, SQLITE_STATIC);
      sqlite3_bind_blob(put, 5, batch + k * dim, (int)(dim * sizeof *batch), SQLITE_STATIC);
      if (cache_write(db, put, &caching, err)) goto done;
    }
  }
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
  rc = SL_OK;
done:
  sqlite3_finalize(get);
  sqlite3_finalize(put);
  sqlite3_finalize(stale);
  free(miss);
  free(lens);
  free(miss_texts);
  free(hashes);
  free(batch);
  return rc;
}

/* Logits from synergy_hop_scores, the others in packed batches of their statements. */
static int rerank_step(sl_syn_steps *base, sl_model *m, const char *query, size_t k, const char *const *texts,
                       float *out, sl_err *err) {
  sqlite3 *db = ((sl_synergy_steps *)base)->db;
  const char **todo = malloc((k ? k : 1) * sizeof *todo);
  size_t *lens = malloc((k ? k : 1) * sizeof *lens), *which = malloc((k ? k : 1) * sizeof *which), n_todo = 0;
  sqlite3_int64 *hashes = malloc((k ? k : 1) * sizeof *hashes);
  float *scores = malloc((k ? k : 1) * sizeof *scores);
  sqlite3_stmt *get = NULL, *put = NULL;
  char key[4096 + 160];
  int rc = SL_ERROR, caching = 1;

  model_key(m, key, sizeof key);
  if (!todo || !lens || !which || !hashes || !scores) {
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
    hashes[i] = hash_text(key, query, texts[i]);
    sqlite3_bind_int64(get, 1, hashes[i]);
    if (sqlite3_step(get) == SQLITE_ROW) {
      out[i] = (float)sqlite3_column_double(get, 0);
    } else {
      which[n_todo] = i;
      todo[n_todo] = texts[i];
      lens[n_todo++] = strlen(texts[i]);
    }
    sqlite3_reset(get);
  }
  for (size_t d = 0, got = 0; d < n_todo; d += got) {
    if (sl_op_rerank_batch(m, query, strlen(query), n_todo - d, todo + d, lens + d, scores + d, &got, err))
      goto done;
  }
  for (size_t t = 0; t < n_todo; t++) {
    size_t i = which[t];
    out[i] = scores[t];
    sqlite3_bind_int64(put, 1, hashes[i]);
    sqlite3_bind_double(put, 2, scores[t]);
    if (cache_write(db, put, &caching, err)) goto done;
  }
  rc = SL_OK;
done:
  sqlite3_finalize(get);
  sqlite3_finalize(put);
  free(todo);
  free(lens);
  free(which);
  free(hashes);
  free(scores);
  return rc;
}

void sl_synergy_steps_init(sl_synergy_steps *s, sqlite3 *db) {
  s->base.embed = embed_step;
  s->base.rerank = rerank_step;
  s->db = db;
}
