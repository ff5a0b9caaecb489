/*
** sql_synergy.h: the SQLite side of a synergy run, as the two virtual tables share it:
** the synergy tables of a schema read into an sl_syn_run (sql_synergy_read.c) and the run
** (ext/synergy/run.c) scored with the stores of its model steps over synergy_descriptors
** and synergy_hop_scores (sql_synergy_steps.c).
*/
#ifndef SEMLITE_SQL_SYNERGY_H
#define SEMLITE_SQL_SYNERGY_H

#include "../../synergy/run.h"
#include "../sql.h"

/* Reads the tables of schema (e.g. "main") into run and scores it. SL_ERROR with the
** problem in err (no function name in front); run is then empty. Free it with
** sl_syn_run_free. */
int sl_synergy_run_prepare(sqlite3 *db, const char *schema, sl_syn_run *run, sl_err *err);

/* The stores of the run's two model steps over synergy_descriptors and
** synergy_hop_scores (sql_synergy_steps.c). Open before the run, close after it: close
** deletes the descriptor rows of entities no longer in the home (ok: the run succeeded)
** and returns SL_ERROR only when SQLite ended the caller's transaction under a write. */
typedef struct sl_synergy_steps sl_synergy_steps;

typedef struct synergy_store {
  sl_l2 base;
  sl_synergy_steps *owner;
  const char *op;
  sqlite3_stmt *get, *put;
  int writable;                   /* 0 once a write was lost: no more tries this run */
} synergy_store;

struct sl_synergy_steps {
  sl_syn_steps base;
  sqlite3 *db;
  char *gone_sql;                 /* the rows of entities gone from the home, in the schema */
  int in_txn;                     /* the caller was in a transaction */
  synergy_store descriptors, hops;
  sl_cache_tally tally;
  /* name_descriptors: whose descriptor each address is, during the embedding step */
  size_t n_named;
  const sl_syn_node *nodes;
  const char *const *texts;
  const sl_cache_key *keys;
  unsigned char *written;         /* per named node: its row was written this run */
  int embedded;
};

void sl_synergy_steps_open(sl_synergy_steps *s, sqlite3 *db, const char *schema);
int sl_synergy_steps_close(sl_synergy_steps *s, int ok, sl_err *err);

#endif
