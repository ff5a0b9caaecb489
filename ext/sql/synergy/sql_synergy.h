/*
** sql_synergy.h: the SQLite side of a synergy run, as the two virtual tables share it:
** the synergy tables of 'main' read into an sl_syn_run (sql_synergy_read.c) and the run
** (ext/synergy/run.c) scored with the step caches kept in synergy_descriptors and
** synergy_hop_scores (sql_synergy_steps.c).
*/
#ifndef SEMLITE_SQL_SYNERGY_H
#define SEMLITE_SQL_SYNERGY_H

#include "../../synergy/run.h"
#include "../sql.h"

/* Reads the tables of the 'main' schema into run and scores it. SL_ERROR with the
** problem in err (no function name in front); run is then empty. Free it with
** sl_syn_run_free. */
int sl_synergy_run_prepare(sqlite3 *db, sl_syn_run *run, sl_err *err);

/* The step caches over the tables of 'main' (sql_synergy_steps.c). */
typedef struct sl_synergy_steps {
  sl_syn_steps base;
  sqlite3 *db;
} sl_synergy_steps;

void sl_synergy_steps_init(sl_synergy_steps *s, sqlite3 *db);

#endif
