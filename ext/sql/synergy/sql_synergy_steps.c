/*
** sql_synergy_steps.c: the stores of a synergy run's two model steps (sl_l2, ext/ops/cache.h)
** over synergy's own step tables in the run's schema, both keyed by the 16-byte content address the
** cache protocol gives a result (the model's identity, the op, the inputs):
**
**   synergy_descriptors(key, entity_id, text, embedding)   a descriptor's embedding, one
**                          row per entity whose descriptor it is (sl_syn_steps'
**                          name_descriptors says whose)
**   synergy_hop_scores(key, logit)                         a hop statement's logit
**
** A model re-saved into its folder with other weights has another identity, so other
** addresses: its rows are never served for it. After a run that embedded descriptors,
** the rows of entities gone from the home are deleted.
**
** Reads and writes are statements nested in the caller's (sl_sql_nested_read/_write): a
** write runs in a savepoint inside a user's transaction and never ends it; a read-only
** database (or PRAGMA query_only), a read statement on a replicated one (nothing is
** written), a busy lock or a table of another layout only lose the cache (a miss, an
** unstored value: the same rows). The one error is a transaction SQLite ended under the
** write anyway (an I/O error, a full disk, a RAISE(ROLLBACK) trigger): the run fails
** with it.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../base/alloc.h"
#include "sql_synergy.h"

/* ---- a store over one step table ---- */

static int store_get(sl_l2 *l2, const char *op, const sl_cache_key *key, void *out, size_t len, int *hit,
                     double *expires, sl_err *err) {
  synergy_store *st = (synergy_store *)l2;
  int row = 0;
  *hit = 0;
  *expires = -1;
  sqlite3_bind_blob(st->get, 1, key->b, sizeof key->b, SQLITE_STATIC);
  if (sl_sql_nested_read(st->owner->db, st->get, st->owner->in_txn, &row, err)) return SL_ERROR;
  if (row) {
    if (sqlite3_column_type(st->get, 0) == SQLITE_BLOB && (size_t)sqlite3_column_bytes(st->get, 0) == len) {
      memcpy(out, sqlite3_column_blob(st->get, 0), len);
      *hit = 1;
    } else if (sqlite3_column_type(st->get, 0) == SQLITE_FLOAT && len == sizeof(float)) {
      float v = (float)sqlite3_column_double(st->get, 0);
      memcpy(out, &v, sizeof v);
      *hit = 1;
    }
  }
  sqlite3_reset(st->get);
  return SL_OK;
}

/* Runs one bound write of st; a lost write stops the store writing for this run. */
static int store_write(synergy_store *st, sqlite3_stmt *w, sl_err *err) {
  int written = 0;
  if (!st->writable) {
    sqlite3_reset(w);
    sqlite3_clear_bindings(w);
    return SL_OK;
  }
  if (sl_sql_nested_write(st->owner->db, w, &written, err)) return SL_ERROR;
  if (!written) {
    st->writable = 0;
    sl_cache_count_of(&st->owner->tally, st->op)->write_failures++;
  }
  return SL_OK;
}

static int store_put(sl_l2 *l2, const char *op, const sl_cache_key *key, const void *value, size_t len,
                     double *expires, sl_err *err) {
  synergy_store *st = (synergy_store *)l2;
  sl_synergy_steps *s = st->owner;
  *expires = -1;
  if (st == &s->hops) {
    float v;
    if (len != sizeof v) return SL_OK;
    memcpy(&v, value, sizeof v);
    sqlite3_bind_blob(st->put, 1, key->b, sizeof key->b, SQLITE_STATIC);
    sqlite3_bind_double(st->put, 2, v);
    return store_write(st, st->put, err);
  }
  /* A descriptor: one row per node whose descriptor has this address (once, though two
  ** nodes of one text are two misses of one request). */
  for (size_t i = 0; i < s->n_named; i++) {
    if ((s->written && s->written[i]) || memcmp(s->keys[i].b, key->b, sizeof key->b) != 0) continue;
    if (s->written) s->written[i] = 1;
    sqlite3_bind_blob(st->put, 1, key->b, sizeof key->b, SQLITE_STATIC);
    sqlite3_bind_text(st->put, 2, s->nodes[i].id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st->put, 3, s->texts[i], -1, SQLITE_STATIC);
    sqlite3_bind_blob(st->put, 4, value, (int)len, SQLITE_STATIC);
    if (store_write(st, st->put, err)) return SL_ERROR;
  }
  return SL_OK;
}

/* The step tables keep no use counts: nothing to record. */
static int store_touch(sl_l2 *l2, const sl_cache_key *key, sl_err *err) { return SL_OK; }

static double store_now(sl_l2 *l2) { return (double)time(NULL); }

/* Prepares the store's statements; 0 (the store stays off) when the table is missing or
** of another layout. */
static int store_open(sl_synergy_steps *s, synergy_store *st, const char *op, const char *get, const char *put) {
  memset(st, 0, sizeof *st);
  st->owner = s;
  st->op = op;
  st->writable = 1;
  st->base.get = store_get;
  st->base.put = store_put;
  st->base.touch = store_touch;
  st->base.now = store_now;
  st->base.tally = &s->tally;
  if (sqlite3_prepare_v2(s->db, get, -1, &st->get, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(s->db, put, -1, &st->put, NULL) != SQLITE_OK) {
    sqlite3_finalize(st->get);
    sqlite3_finalize(st->put);
    st->get = st->put = NULL;
    return 0;
  }
  return 1;
}

/* ---- the two stores ---- */

static void name_descriptors(sl_syn_steps *base, size_t n, const sl_syn_node *nodes, const char *const *texts,
                             const sl_cache_key *keys) {
  sl_synergy_steps *s = (sl_synergy_steps *)base;
  s->n_named = n;
  s->nodes = nodes;
  s->texts = texts;
  s->keys = keys;
  s->embedded = 1;
  sl_free(s->written);
  s->written = sl_calloc(n, 1);        /* without it, a shared text's rows are written twice */
}

/* store_open with the statements' {s} the quoted schema. */
static int store_open_in(sl_synergy_steps *s, synergy_store *st, const char *op, const char *schema,
                         const char *get, const char *put) {
  char *g = sqlite3_mprintf(get, schema), *p = sqlite3_mprintf(put, schema);
  int ok = g && p && store_open(s, st, op, g, p);
  sqlite3_free(g);
  sqlite3_free(p);
  return ok;
}

void sl_synergy_steps_open(sl_synergy_steps *s, sqlite3 *db, const char *schema) {
  sl_err refused;
  memset(s, 0, sizeof *s);
  s->db = db;
  s->in_txn = !sqlite3_get_autocommit(db);
  if (store_open_in(s, &s->descriptors, SL_SYN_OP_EMBED, schema,
                    "SELECT embedding FROM \"%w\".synergy_descriptors WHERE key = ?1 LIMIT 1",
                    "INSERT OR REPLACE INTO \"%w\".synergy_descriptors(key, entity_id, text, embedding)"
                    " VALUES (?1, ?2, ?3, ?4)"))
    s->base.descriptors = &s->descriptors.base;
  if (store_open_in(s, &s->hops, SL_SYN_OP_RERANK, schema,
                    "SELECT logit FROM \"%w\".synergy_hop_scores WHERE key = ?1",
                    "INSERT OR REPLACE INTO \"%w\".synergy_hop_scores(key, logit) VALUES (?1, ?2)"))
    s->base.hops = &s->hops.base;
  s->base.name_descriptors = name_descriptors;
  /* The rows of entities and devices no longer in the home. */
  s->gone_sql = sqlite3_mprintf(" FROM \"%w\".synergy_descriptors WHERE entity_id NOT IN"
                                " (SELECT entity_id FROM \"%w\".synergy_entities UNION ALL"
                                "  SELECT 'device:' || device_id FROM \"%w\".synergy_devices)",
                                schema, schema, schema);
  /* A read of a replicated database reads the steps and writes none (sl_sql_write_allowed). */
  if (sl_sql_write_allowed(db, schema, &refused)) s->descriptors.writable = s->hops.writable = 0;
}

/* Deletes the rows of entities and devices no longer in the home, when there are any (a
** warm run writes nothing). */
static int delete_gone(sl_synergy_steps *s, sl_err *err) {
  sqlite3_stmt *any = NULL, *del = NULL;
  char *sql;
  int row = 0, rc = SL_OK;
  if (!s->gone_sql) return sl_oom(err);
  if (!(sql = sqlite3_mprintf("SELECT 1%s LIMIT 1", s->gone_sql))) return sl_oom(err);
  if (sqlite3_prepare_v2(s->db, sql, -1, &any, NULL) == SQLITE_OK)
    rc = sl_sql_nested_read(s->db, any, s->in_txn, &row, err);
  sqlite3_finalize(any);
  sqlite3_free(sql);
  if (!(sql = sqlite3_mprintf("DELETE%s", s->gone_sql))) return sl_oom(err);
  if (rc == SL_OK && row && sqlite3_prepare_v2(s->db, sql, -1, &del, NULL) == SQLITE_OK)
    rc = store_write(&s->descriptors, del, err);
  sqlite3_finalize(del);
  sqlite3_free(sql);
  return rc;
}

int sl_synergy_steps_close(sl_synergy_steps *s, int ok, sl_err *err) {
  int rc = SL_OK;
  if (ok && s->embedded && s->base.descriptors && s->descriptors.writable) rc = delete_gone(s, err);
  sqlite3_finalize(s->descriptors.get);
  sqlite3_finalize(s->descriptors.put);
  sqlite3_finalize(s->hops.get);
  sqlite3_finalize(s->hops.put);
  sl_free(s->written);
  sqlite3_free(s->gone_sql);
  memset(s, 0, sizeof *s);
  return rc;
}
