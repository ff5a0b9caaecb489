/*
** run.h: one synergy run, with no SQLite (run.c). The caller gives it the home as read
** from its tables: the config rows, the nodes (sorted by id), the capability rules and
** the (trigger, action) member pairs of existing automations. The run then chooses the
** models the config names, embeds the node descriptors, builds and scores the links,
** reranks the best hops with the cross-encoder, marks the pairs automations already
** cover, and records the synergy metrics. The two model steps go through the one cache
** protocol of ext/ops/cache.h with the caller's stores (sl_syn_steps). ext/sql/synergy/
** reads the tables into it, keeps the stores, and turns the result (run->graph,
** run->home) into rows.
*/
#ifndef SEMLITE_SYNERGY_RUN_H
#define SEMLITE_SYNERGY_RUN_H

#include <stddef.h>

#include "../base/status.h"
#include "../ops/cache.h"
#include "synergy.h"

/* A value of synergy_config, as its storage class gave it: i and d are the value read
** as an integer and as a number whatever the class (SQLite's conversions). */
typedef enum sl_syn_type { SL_SYN_NULL, SL_SYN_INTEGER, SL_SYN_REAL, SL_SYN_TEXT, SL_SYN_BLOB } sl_syn_type;

typedef struct sl_syn_value {
  sl_syn_type type;
  long long i;
  double d;
  const char *s;                /* SL_SYN_TEXT */
} sl_syn_value;

/* A trigger member and an action member of one existing automation: an entity, a device,
** or both may be given (NULL when not). */
typedef struct sl_syn_pair {
  const char *trigger_entity, *trigger_device, *action_entity, *action_device;
} sl_syn_pair;

/* The ops of the two model steps in the cache's content addresses. In semlite_metrics a
** step is one synergy_embed / synergy_rerank call per run, and its forward passes are
** embed_each / rerank_each calls. */
#define SL_SYN_OP_EMBED "synergy_descriptor"
#define SL_SYN_OP_RERANK "synergy_hop"

/* The caches of the two model steps (ext/ops/cache.h stores; NULL: not cached): the
** descriptors' embeddings (op SL_SYN_OP_EMBED, the descriptor text as the one input) and
** the hop statements' logits (op SL_SYN_OP_RERANK, the query and the statement). */
typedef struct sl_syn_steps sl_syn_steps;
struct sl_syn_steps {
  sl_l2 *descriptors;
  sl_l2 *hops;
  /* May be NULL. Called before the descriptors are looked up: keys[i] is the address
  ** under which the descriptor texts[i] of nodes[i] is cached, so that the store can say
  ** whose descriptor a row it writes holds. The arrays stay valid until the descriptors
  ** are all looked up and stored. */
  void (*name_descriptors)(sl_syn_steps *s, size_t n, const sl_syn_node *nodes, const char *const *texts,
                           const sl_cache_key *keys);
};

/* A row of synergy_history as read: the signal of a pair of entity ids. */
typedef struct sl_syn_history_row {
  const char *trigger_entity, *action_entity;
  double lift;
  long long support;
} sl_syn_history_row;

typedef struct sl_syn_run {
  /* The home: nodes and rules (sl_syn_run_node, sl_syn_run_rule) and, after
  ** sl_syn_run_score, the descriptor embeddings (home.vecs, unit length). */
  sl_syn_home home;
  sl_syn_node *nodes;
  sl_syn_rule *rules;
  sl_syn_pair *pairs;
  size_t n_pairs;
  sl_syn_area *areas;
  size_t n_areas;
  sl_syn_history_row *hist_rows;
  size_t n_hist_rows;
  int has_history;                    /* synergy_history exists and has rows */
  sl_syn_history *history;            /* hist_rows of two nodes, as the links read them */
  /* synergy_config (sl_syn_run_config) */
  sl_syn_config cfg;
  char *embed_model, *rerank_model;   /* NULL: the first loaded model of the kind */
  int use_embedding, use_rerank;
  /* The result of sl_syn_run_score: the scored links, and which signals scored them
  ** ("capability+area+name[+embedding][+cross-encoder]"). */
  sl_syn_graph graph;
  float *vecs;
  char signals[160];
  /* What semlite_progress shows the run as: "synergy" on this target (the schema); the
  ** caller may set it before sl_syn_run_score. */
  char progress_target[64];
  /* private */
  int progress;                       /* the job's handle (ops/progress.h), 0: none */
  unsigned seen;                      /* knobs the config gave */
  size_t cap_nodes, cap_rules, cap_pairs, cap_areas, cap_hist;
  sl_syn_strings strings;
} sl_syn_run;

void sl_syn_run_init(sl_syn_run *run);
void sl_syn_run_free(sl_syn_run *run);

/* One row of synergy_config, checked: "synergy_config 'beam' must be an integer from 1
** to 1000000", "synergy_config has an unknown key 'x'". sl_syn_run_config_end checks
** that every knob was given once the rows are read. */
int sl_syn_run_config(sl_syn_run *run, const char *key, const sl_syn_value *value, sl_err *err);
int sl_syn_run_config_end(sl_syn_run *run, sl_err *err);

/* A new node, rule or pair, zeroed, to fill; NULL when out of memory (err set). Keep the
** strings they point at with sl_syn_run_keep (or make them outlive the run). */
sl_syn_node *sl_syn_run_node(sl_syn_run *run, sl_err *err);
sl_syn_rule *sl_syn_run_rule(sl_syn_run *run, sl_err *err);
sl_syn_pair *sl_syn_run_pair(sl_syn_run *run, sl_err *err);
sl_syn_area *sl_syn_run_area(sl_syn_run *run, sl_err *err);
sl_syn_history_row *sl_syn_run_history(sl_syn_run *run, sl_err *err);
/* A copy of s owned by the run (see sl_syn_keep). */
const char *sl_syn_run_keep(sl_syn_run *run, const char *s, int *fail);

/* The run proper, once the home is read: SL_ERROR with the problem in err (no function
** name in front), e.g. "no model named 'x' (load one with semlite_model_load)". */
int sl_syn_run_score(sl_syn_run *run, sl_syn_steps *steps, sl_err *err);

#endif
