/*
** sql_synergy.h: one synergy run as the two virtual tables share it (sql_synergy_run.c):
** the home read from the synergy tables, its descriptor embeddings (cached in
** synergy_descriptors), the scored links (cross-encoder logits cached in
** synergy_hop_scores) with existing automations marked.
*/
#ifndef SEMLITE_SQL_SYNERGY_H
#define SEMLITE_SQL_SYNERGY_H

#include "../../synergy/synergy.h"
#include "../sql.h"

typedef struct sl_synergy_run {
  sl_syn_home home;
  sl_syn_config cfg;
  sl_syn_graph graph;
  sl_syn_node *nodes;
  sl_syn_rule *rules;
  float *vecs;
  char **strings;             /* every string the nodes and rules point to */
  size_t n_strings, cap_strings;
  char signals[160];          /* which signals scored the links, for the rows */
} sl_synergy_run;

/* Reads the tables of the 'main' schema, embeds what changed, scores the links and
** reranks the best. SL_ERROR with the problem in err (no function name in front). */
int sl_synergy_run_prepare(sqlite3 *db, sl_synergy_run *run, sl_err *err);
void sl_synergy_run_free(sl_synergy_run *run);

#endif
