/*
** synergy.h: the part of synergy_paths and synergy_links that knows nothing of SQLite:
** a home as plain arrays (nodes, capability rules, optional embeddings), the texts built
** from it (descriptors, hop statements), the scored links between nodes and the beam
** search for chains of them. run.h runs the whole pipeline over them (models included),
** ha_import.h reads a home's documents; ext/sql/synergy/ only reads and writes the
** tables and turns the results into rows. docs/synergy.md has the formulas.
*/
#ifndef SEMLITE_SYNERGY_H
#define SEMLITE_SYNERGY_H

#include <stddef.h>
#include <stdint.h>

#include "../base/status.h"

#define SL_SYN_MIN_DEPTH 2
#define SL_SYN_MAX_DEPTH 5

/* One entity that can take part in a suggestion (or a whole device that only fires
** device triggers, a remote: id "device:<device_id>"). Strings belong to the caller;
** those that may be absent are NULL. */
typedef struct sl_syn_node {
  const char *id, *domain, *name;
  const char *device_class, *unit, *area_id, *area_name, *device_id, *device_name;
  const char *group_id;       /* a group helper (synergy_groups) it is a member of, or NULL */
  int area_inferred;          /* area_id came from the names (sl_syn_infer_areas) */
} sl_syn_node;

/* An area of the home (synergy_areas). */
typedef struct sl_syn_area {
  const char *id, *name;
} sl_syn_area;

/* What the recorder says of a (trigger, action) pair of nodes (synergy_history), as a
** signal in [0, 1]. Sorted by (t, a). */
typedef struct sl_syn_history {
  uint32_t t, a;
  float value;
} sl_syn_history;

/* A row of synergy_capabilities. trigger_class and action_domain may be "*". */
typedef struct sl_syn_rule {
  const char *trigger_domain, *trigger_class, *action_domain, *phrase, *verb;
  double weight;
} sl_syn_rule;

/* synergy_config, already checked (weights >= 0, counts >= 1). */
typedef struct sl_syn_config {
  double w_capability, w_area, w_name, w_embedding, w_rerank, w_history;
  double area_unknown, min_hop, depth_penalty;
  double embedding_spread;    /* the cosines' spread that earns the embedding its weight */
  double rerank_spread;       /* the logits' spread that earns the cross-encoder its weight */
  size_t candidates, rerank_top, beam;
  size_t per_trigger;         /* rows per trigger unit and depth (rank.c) */
} sl_syn_config;

/* The home: nodes sorted by id (ties in scores resolve by this order), the rules, and
** per node an embedding of its descriptor (unit length, dim floats) or vecs NULL. */
typedef struct sl_syn_home {
  const sl_syn_node *nodes;
  size_t n;
  const sl_syn_rule *rules;
  size_t n_rules;
  const float *vecs;
  size_t dim;
  /* The recorder's signal per pair (NULL, 0 when the home has no history rows). */
  const sl_syn_history *history;
  size_t n_history;
  int has_history;
  /* Asked every few milliseconds of the quadratic work: nonzero stops it with an
  ** error (the SQL layer answers sqlite3_interrupt). NULL: never stops. */
  int (*interrupted)(void *ctx);
  void *interrupt_ctx;
} sl_syn_home;

/* SQLite's code for an interrupted call, which the SQL layer returns as such. */
#define SL_SYN_INTERRUPTED 9

/* A scored hop: trigger node t can drive action node a. The signals are in [0, 1];
** rerank is the cross-encoder's logit, NAN when the link was not among those scored. */
typedef struct sl_syn_link {
  uint32_t t, a;
  uint32_t rule;              /* index in home->rules */
  float capability, area, name, embedding, rerank, history;
  float cheap;                /* the score before the cross-encoder */
  float score;                /* the hop score, cheap or blended with the cross-encoder */
  int automated;              /* set by the caller: an existing automation covers it */
} sl_syn_link;

/* Links grouped by trigger: those of node t are links[first[t] .. first[t + 1]), best
** score first (ties: action node order). */
typedef struct sl_syn_graph {
  sl_syn_link *links;
  size_t n_links;
  size_t *first;              /* n + 1 offsets */
  size_t n;
  double cheap_weight;        /* total weight of the cheap signals in use */
  double w_embedding, w_rerank; /* the model signals' weights as scaled (sl_syn_links_scale) */
} sl_syn_graph;

/* ---- texts (descriptor.c); malloc'd, NULL when out of memory ---- */

/* "Basement stairs light: light in Basement (device Basement stairs light)". */
char *sl_syn_descriptor(const sl_syn_node *node);
/* A hop in words, as the cross-encoder reads it and the rows explain it:
** "When Hall motion detects motion, turn on Hall light (light) in Hall". */
char *sl_syn_statement(const sl_syn_node *t, const sl_syn_node *a, const sl_syn_rule *rule);

/* ---- explanations (explain.c); malloc'd, NULL when out of memory ---- */

/* name without a word repeated right after itself: "Garage Light Light" -> "Garage Light". */
char *sl_syn_display_name(const char *name);
/* A hop in words for a home owner: what happens, both ends' areas, why (no model numbers). */
char *sl_syn_explain(const sl_syn_home *home, const sl_syn_link *link);

/* ---- links (links.c) ---- */

/* The next word of *name that the name signal compares (lower-cased ASCII, 3+ bytes or
** an acronym of two capitals, no stop word such as "light" or "sensor"), into buf (cap
** bytes, truncated); its length, 0 at the end. *name moves past it. */
size_t sl_syn_name_word(const char **name, char *buf, size_t cap);

/* Scores every (trigger, action) pair the rules allow (capability weight > 0, two
** different devices) with the cheap signals and keeps the `candidates` best per trigger.
** The result has score = cheap and rerank NAN; free it with sl_syn_graph_free. */
int sl_syn_links_build(const sl_syn_home *home, const sl_syn_config *cfg, sl_syn_graph *g,
                       sl_err *err);

/* Indices into g->links of the cfg->rerank_top best links by cheap score, in link order
** (grouped by trigger), into idx (g->n_links entries); returns how many. */
size_t sl_syn_rerank_pick(const sl_syn_graph *g, const sl_syn_config *cfg, size_t *idx);

/* Blends the logits the caller stored in links[].rerank into the scores and orders
** each trigger's links by the new score. */
void sl_syn_links_finish(sl_syn_graph *g, const sl_syn_config *cfg);

void sl_syn_graph_free(sl_syn_graph *g);

/* ---- paths (search.c) ---- */

typedef struct sl_syn_path {
  uint32_t node[SL_SYN_MAX_DEPTH];
  uint32_t link[SL_SYN_MAX_DEPTH - 1];   /* indices into graph->links */
  int depth;                             /* nodes: 2 .. SL_SYN_MAX_DEPTH */
  int automated;                         /* hops covered by existing automations */
  double score;
} sl_syn_path;

/* Chains of 2 .. max_depth nodes, best first (ties: node ids in order), see
** docs/synergy.md: every link is a path of depth 2; each deeper level extends the
** cfg->beam best paths of the level before through hops scoring at least min_hop,
** never revisiting a node or a device. *out (malloc'd) receives them all, sorted. */
int sl_syn_search(const sl_syn_home *home, const sl_syn_graph *g, const sl_syn_config *cfg,
                  int max_depth, sl_syn_path **out, size_t *n_out, sl_err *err);

/* score of a path from its hop scores: geometric mean times depth_penalty^(hops - 1). */
double sl_syn_path_score(const float *hops, int n_hops, double depth_penalty);

/* ---- areas (areas.c) ---- */

/* Gives each node without an area the area named in its name, else in its device's name
** (whole words, the longest area name), and marks it area_inferred. */
void sl_syn_infer_areas(sl_syn_node *nodes, size_t n, const sl_syn_area *areas, size_t n_areas);

/* ---- rows (rank.c) ---- */

/* The rows a user reads: rows[i] best first, and its alternatives (the other paths of the
** same unit sequence, best first) alts[alt_first[i] .. alt_first[i + 1]). */
typedef struct sl_syn_rows {
  sl_syn_path *rows;
  size_t n;
  size_t *alt_first;          /* n + 1 offsets */
  sl_syn_path *alts;
  size_t n_alts;
} sl_syn_rows;

/* Of paths sorted best first (sl_syn_search's order): one row per sequence of units (a
** unit: a node's device, else the node; a member of a group that is a node: the group's
** unit), the rest of that sequence its alternatives, at most cfg->per_trigger rows per
** trigger unit and depth. Free *out with sl_syn_rows_free. */
/* The index of the node of id, or -1 (nodes are sorted by id). */
long sl_syn_node_index(const sl_syn_home *home, const char *id);

int sl_syn_rank(const sl_syn_home *home, const sl_syn_config *cfg, const sl_syn_path *paths, size_t n,
                sl_syn_rows *out, sl_err *err);
void sl_syn_rows_free(sl_syn_rows *rows);

/* ---- YAML (yaml.c) ---- */

/* The path's hops as Home Assistant automations to paste into automations.yaml: a YAML
** list, one automation per hop, every value double-quoted. malloc'd, NULL when out of
** memory. */
char *sl_syn_yaml(const sl_syn_home *home, const sl_syn_graph *g, const sl_syn_path *path);

/* ---- memory (arena.c) ---- */

/* Strings kept until sl_syn_strings_free, for rows that point at them. */
typedef struct sl_syn_strings {
  char **s;
  size_t n, cap;
} sl_syn_strings;

/* A copy of s kept in k; NULL when s is NULL or *fail is set, and on running out of
** memory, which sets *fail (so a row's fields can be kept one after another and the
** failure checked once). sl_syn_keep_n copies s[0..len) (no NUL in it). */
const char *sl_syn_keep(sl_syn_strings *k, const char *s, int *fail);
const char *sl_syn_keep_n(sl_syn_strings *k, const char *s, size_t len, int *fail);
void sl_syn_strings_free(sl_syn_strings *k);

/* A growing string; `failed` once out of memory (every later add is then a no-op). */
typedef struct sl_syn_text {
  char *s;
  size_t n, cap;
  int failed;
} sl_syn_text;

void sl_syn_text_put(sl_syn_text *t, const char *s, size_t len);
void sl_syn_text_add(sl_syn_text *t, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 2, 3)))
#endif
  ;
/* The string (malloc'd, "" when nothing was added), or NULL when out of memory. */
char *sl_syn_text_finish(sl_syn_text *t);

/* Room for one more item in an array of n items of size bytes (*cap allocated): the
** array, grown when full, or NULL when out of memory (items is then left as it was). */
void *sl_syn_grow(void *items, size_t n, size_t *cap, size_t size);

#endif
