/*
** run.c: one synergy run (run.h): the config checked, the models chosen, the descriptors
** embedded, the links built and scored, the best hops reranked, the automated pairs
** marked. The model steps go through sl_op_run_list (ext/ops/infer.h): address, L1, the
** caller's store, compute the misses, store them. In the metrics each step is one
** synergy_embed / synergy_rerank call per run, its forward passes embed_each /
** rerank_each calls.
**
** Models: synergy_config's embed_model / rerank_model name one (an error if it is not
** loaded); NULL means the first loaded model of the kind, and when there is none the
** signal is left out and its weight with it (the `signals` column says what was used).
*/
#include "../base/alloc.h"
#include "run.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/kernels.h"
#include "../ops/infer.h"
#include "../ops/limits.h"
#include "../ops/metrics.h"
#include "../ops/progress.h"

/* What every hop statement is scored against: one query for all of them, so the picked
** links go through the cross-encoder in packed batches (a few forward passes in all)
** rather than one pass per trigger. */
static const char rerank_query[] = "a useful smart home automation";

/* ---- config ---- */

/* Knobs with a default (`fallback` >= 0) may be missing: a database created by an older
** version has no row for them, and gets the default of sql/synergy.sql. */
static const struct { const char *key; int is_count; size_t off; double fallback; } knobs[] = {
  {"w_capability", 0, offsetof(sl_syn_config, w_capability), -1},
  {"w_area", 0, offsetof(sl_syn_config, w_area), -1},
  {"w_name", 0, offsetof(sl_syn_config, w_name), -1},
  {"w_embedding", 0, offsetof(sl_syn_config, w_embedding), -1},
  {"w_rerank", 0, offsetof(sl_syn_config, w_rerank), -1},
  {"area_unknown", 0, offsetof(sl_syn_config, area_unknown), -1},
  {"min_hop", 0, offsetof(sl_syn_config, min_hop), -1},
  {"depth_penalty", 0, offsetof(sl_syn_config, depth_penalty), -1},
  {"candidates", 1, offsetof(sl_syn_config, candidates), -1},
  {"rerank_top", 1, offsetof(sl_syn_config, rerank_top), -1},
  {"beam", 1, offsetof(sl_syn_config, beam), -1},
  {"per_trigger", 1, offsetof(sl_syn_config, per_trigger), 5},
  {"w_history", 0, offsetof(sl_syn_config, w_history), 0.2},
  {"embedding_spread", 0, offsetof(sl_syn_config, embedding_spread), 0.1},
  {"rerank_spread", 0, offsetof(sl_syn_config, rerank_spread), 1.0},
};
#define N_KNOBS (sizeof knobs / sizeof knobs[0])

/* A weight or knob: counts are integers in [1, 1e6]; weights >= 0; depth_penalty in
** (0, 1]; min_hop and area_unknown in [0, 1]. */
static int set_knob(sl_syn_run *run, size_t k, const char *key, const sl_syn_value *v, sl_err *err) {
  int numeric = v->type == SL_SYN_INTEGER || v->type == SL_SYN_REAL;
  run->seen |= 1u << k;
  if (knobs[k].is_count) {
    if (v->type != SL_SYN_INTEGER || v->i < 1 || v->i > 1000000)
      return sl_fail(err, "synergy_config '%s' must be an integer from 1 to 1000000", key);
    *(size_t *)((char *)&run->cfg + knobs[k].off) = (size_t)v->i;
    return SL_OK;
  }
  if (!numeric || !(v->d >= 0) || (strcmp(key, "depth_penalty") == 0 && !(v->d > 0 && v->d <= 1)) ||
      ((strcmp(key, "min_hop") == 0 || strcmp(key, "area_unknown") == 0) &&
       v->d > 1))
    return sl_fail(err, "synergy_config '%s' must be a number %s", key,
                   strcmp(key, "depth_penalty") == 0 ? "in (0, 1]" : strncmp(key, "w_", 2) == 0 ? ">= 0" : "in [0, 1]");
  *(double *)((char *)&run->cfg + knobs[k].off) = v->d;
  return SL_OK;
}

int sl_syn_run_config(sl_syn_run *run, const char *key, const sl_syn_value *v, sl_err *err) {
  size_t k = 0;
  for (; k < N_KNOBS && strcmp(knobs[k].key, key) != 0; k++) {}
  if (k < N_KNOBS) return set_knob(run, k, key, v, err);
  if (strcmp(key, "embed_model") == 0 || strcmp(key, "rerank_model") == 0) {
    char **dst = key[0] == 'e' ? &run->embed_model : &run->rerank_model;
    if (v->type == SL_SYN_NULL) return SL_OK;
    if (v->type != SL_SYN_TEXT) return sl_fail(err, "synergy_config '%s' must be a model name or NULL", key);
    sl_free(*dst);
    if (!(*dst = sl_strdup(v->s))) return sl_oom(err);
    return SL_OK;
  }
  if (strcmp(key, "use_embedding") == 0 || strcmp(key, "use_rerank") == 0) {
    *(key[4] == 'e' ? &run->use_embedding : &run->use_rerank) = (int)v->i != 0;
    return SL_OK;
  }
  return sl_fail(err, "synergy_config has an unknown key '%s'", key);
}

int sl_syn_run_config_end(sl_syn_run *run, sl_err *err) {
  for (size_t k = 0; k < N_KNOBS; k++) {
    if (run->seen & (1u << k)) continue;
    if (knobs[k].fallback < 0) return sl_fail(err, "synergy_config has no '%s'", knobs[k].key);
    if (knobs[k].is_count) *(size_t *)((char *)&run->cfg + knobs[k].off) = (size_t)knobs[k].fallback;
    else *(double *)((char *)&run->cfg + knobs[k].off) = knobs[k].fallback;
  }
  return SL_OK;
}

/* ---- the home ---- */

void sl_syn_run_init(sl_syn_run *run) {
  memset(run, 0, sizeof *run);
  run->use_embedding = run->use_rerank = 1;
}

const char *sl_syn_run_keep(sl_syn_run *run, const char *s, int *fail) {
  return sl_syn_keep(&run->strings, s, fail);
}

/* A zeroed item appended to *items (*n of them, *cap allocated); NULL when out of memory. */
static void *append(void *items, size_t *n, size_t *cap, size_t size, void **grown, sl_err *err) {
  char *g = sl_syn_grow(items, *n, cap, size);
  if (!g) return sl_oom(err), NULL;
  *grown = g;
  memset(g + *n * size, 0, size);
  return g + (*n)++ * size;
}

sl_syn_node *sl_syn_run_node(sl_syn_run *run, sl_err *err) {
  void *g = run->nodes;
  sl_syn_node *n = append(run->nodes, &run->home.n, &run->cap_nodes, sizeof *n, &g, err);
  run->home.nodes = run->nodes = g;
  return n;
}

sl_syn_rule *sl_syn_run_rule(sl_syn_run *run, sl_err *err) {
  void *g = run->rules;
  sl_syn_rule *r = append(run->rules, &run->home.n_rules, &run->cap_rules, sizeof *r, &g, err);
  run->home.rules = run->rules = g;
  return r;
}

sl_syn_pair *sl_syn_run_pair(sl_syn_run *run, sl_err *err) {
  void *g = run->pairs;
  sl_syn_pair *p = append(run->pairs, &run->n_pairs, &run->cap_pairs, sizeof *p, &g, err);
  run->pairs = g;
  return p;
}

sl_syn_area *sl_syn_run_area(sl_syn_run *run, sl_err *err) {
  void *g = run->areas;
  sl_syn_area *a = append(run->areas, &run->n_areas, &run->cap_areas, sizeof *a, &g, err);
  run->areas = g;
  return a;
}

sl_syn_history_row *sl_syn_run_history(sl_syn_run *run, sl_err *err) {
  void *g = run->hist_rows;
  sl_syn_history_row *h = append(run->hist_rows, &run->n_hist_rows, &run->cap_hist, sizeof *h, &g, err);
  run->hist_rows = g;
  return h;
}

/* ---- the recorder's signal ---- */

static int by_pair(const void *x, const void *y) {
  const sl_syn_history *a = x, *b = y;
  if (a->t != b->t) return a->t < b->t ? -1 : 1;
  return a->a < b->a ? -1 : a->a > b->a;
}

/* The history rows of two nodes as signals in [0, 1], sorted by pair: (1 - 1/lift) for a
** lift above chance, times min(1, support / 10) so that a handful of changes counts less. */
static int history_build(sl_syn_run *run, sl_err *err) {
  size_t n = 0;
  run->home.has_history = run->has_history;
  if (!run->n_hist_rows) return SL_OK;
  if (!(run->history = sl_malloc(run->n_hist_rows * sizeof *run->history))) return sl_oom(err);
  for (size_t i = 0; i < run->n_hist_rows; i++) {
    const sl_syn_history_row *r = &run->hist_rows[i];
    long t = sl_syn_node_index(&run->home, r->trigger_entity), a = sl_syn_node_index(&run->home, r->action_entity);
    if (t < 0 || a < 0 || !(r->lift > 1)) continue;
    run->history[n].t = (uint32_t)t;
    run->history[n].a = (uint32_t)a;
    run->history[n++].value = (float)((1 - 1 / r->lift) * (r->support >= 10 ? 1 : (double)r->support / 10));
  }
  qsort(run->history, n, sizeof *run->history, by_pair);
  run->home.history = run->history;
  run->home.n_history = n;
  return SL_OK;
}

/* ---- the model steps ---- */

/* Texts per sl_op_run_list call: the run's progress moves between them (a call packs its
** texts into passes of its own, so slices this size cost no extra passes worth counting). */
#define PROGRESS_SLICE 256

/* The results of n texts (with query, of the pairs (query, texts[i])) through the cache
** protocol: sl_op_run_list over the store l2, its forward passes counted as `metric`; each
** slice done is added to the run's progress. */
static int run_texts(sl_syn_run *run, sl_l2 *l2, const char *op, sl_op metric, sl_model *m, const char *query,
                     size_t n, char *const *texts, float *out, sl_err *err) {
  size_t *lens = sl_malloc((n ? n : 1) * sizeof *lens), width = sl_op_width(m);
  int rc = SL_OK;
  if (!lens) return sl_oom(err);
  for (size_t i = 0; i < n; i++) lens[i] = strlen(texts[i]);
  for (size_t at = 0; at < n && rc == SL_OK; at += PROGRESS_SLICE) {
    size_t k = n - at < PROGRESS_SLICE ? n - at : PROGRESS_SLICE;
    rc = sl_op_run_list(l2, op, metric, m, query, query ? strlen(query) : 0, k, (const char *const *)texts + at,
                        lens + at, out + at * width, err);
    if (rc == SL_OK) sl_progress_add(run->progress, (int64_t)k, 0);
  }
  sl_free(lens);
  return rc;
}

static void free_texts(char **texts, size_t n) {
  for (size_t i = 0; texts && i < n; i++) sl_free(texts[i]);
  sl_free(texts);
}

/* Tells the descriptor store which node's descriptor each address holds; the keys (NULL
** when there is nothing to tell) stay valid until the step ends. The address is the one
** sl_op_run_list gives a text of a list without a query (ext/ops/infer.c): the model's
** identity, the op and the text as one part. */
static int name_descriptors(sl_syn_steps *steps, sl_model *m, size_t n, const sl_syn_node *nodes,
                            char *const *texts, sl_cache_key **keys, sl_err *err) {
  unsigned char id[16];
  *keys = NULL;
  if (!steps->descriptors || !steps->name_descriptors || n == 0) return SL_OK;
  if (!(*keys = sl_malloc(n * sizeof **keys))) return sl_oom(err);
  sl_op_identity(m, id);
  for (size_t i = 0; i < n; i++) sl_op_address(id, SL_SYN_OP_EMBED, NULL, 0, texts[i], strlen(texts[i]), &(*keys)[i]);
  steps->name_descriptors(steps, n, nodes, (const char *const *)texts, *keys);
  return SL_OK;
}

/* Fills run->vecs, one unit vector per node: the descriptors' embeddings, through the
** descriptor store. Unit length, so a dot product is the cosine whatever the pooling. */
static int embed_descriptors(sl_syn_run *run, sl_syn_steps *steps, sl_model *m, sl_err *err) {
  size_t n = run->home.n, dim = sl_op_width(m);
  char **texts = sl_calloc(n ? n : 1, sizeof *texts);
  sl_cache_key *keys = NULL;
  int rc = SL_ERROR;

  run->vecs = sl_malloc((n ? n : 1) * dim * sizeof *run->vecs);
  if (!texts || !run->vecs) {
    sl_oom(err);
    goto done;
  }
  for (size_t i = 0; i < n; i++)
    if (!(texts[i] = sl_syn_descriptor(&run->nodes[i]))) {
      sl_oom(err);
      goto done;
    }
  if (name_descriptors(steps, m, n, run->nodes, texts, &keys, err) ||
      run_texts(run, steps->descriptors, SL_SYN_OP_EMBED, SL_OP_EMBED_EACH, m, NULL, n, texts, run->vecs, err))
    goto done;
  for (size_t i = 0; i < n; i++) sl_kernels_normalize(sl_kernels_get(), run->vecs + i * dim, dim);
  run->home.vecs = run->vecs;
  run->home.dim = dim;
  rc = SL_OK;
done:
  free_texts(texts, n);
  sl_free(keys);
  return rc;
}

/* Logits into links[].rerank for the rerank_top links the cheap score picks, scored as
** hop statements against the one query, through the hop store. */
static int rerank_links(sl_syn_run *run, sl_syn_steps *steps, sl_model *m, sl_err *err) {
  sl_syn_graph *g = &run->graph;
  size_t *idx = sl_malloc((g->n_links ? g->n_links : 1) * sizeof *idx), k = 0;
  char **texts = NULL;
  float *scores = NULL;
  int rc = SL_ERROR;

  if (idx) {
    k = sl_syn_rerank_pick(g, &run->cfg, idx);
    texts = sl_calloc(k ? k : 1, sizeof *texts);
    scores = sl_malloc((k ? k : 1) * sizeof *scores);
  }
  if (!idx || !texts || !scores) {
    sl_oom(err);
    goto done;
  }
  for (size_t i = 0; i < k; i++) {
    const sl_syn_link *l = &g->links[idx[i]];
    if (!(texts[i] = sl_syn_statement(&run->nodes[l->t], &run->nodes[l->a], &run->rules[l->rule]))) {
      sl_oom(err);
      goto done;
    }
  }
  sl_progress_add(run->progress, 0, (int64_t)k);
  if (run_texts(run, steps->hops, SL_SYN_OP_RERANK, SL_OP_RERANK_EACH, m, rerank_query, k, texts, scores, err))
    goto done;
  for (size_t i = 0; i < k; i++) g->links[idx[i]].rerank = scores[i];
  rc = SL_OK;
done:
  free_texts(texts, k);
  sl_free(scores);
  sl_free(idx);
  return rc;
}

/* ---- existing automations ---- */

static int eq_opt(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

/* A link is automated when one automation has its trigger (the entity or its device)
** among its triggers and its action (likewise) among its actions. */
static void mark_automated(sl_syn_run *run) {
  for (size_t p = 0; p < run->n_pairs; p++) {
    const sl_syn_pair *q = &run->pairs[p];
    for (size_t i = 0; i < run->graph.n_links; i++) {
      sl_syn_link *l = &run->graph.links[i];
      const sl_syn_node *t = &run->nodes[l->t], *a = &run->nodes[l->a];
      if ((eq_opt(t->id, q->trigger_entity) || eq_opt(t->device_id, q->trigger_device)) &&
          (eq_opt(a->id, q->action_entity) || eq_opt(a->device_id, q->action_device)))
        l->automated = 1;
    }
  }
}

/* ---- the run ---- */

/* A model step timed as its synergy operation in the metrics: one call per run. */
static int timed(sl_op op, int (*step)(sl_syn_run *, sl_syn_steps *, sl_model *, sl_err *), sl_syn_run *run,
                 sl_syn_steps *steps, sl_model *m, sl_err *err) {
  uint64_t t0 = sl_metrics_now();
  int failed = step(run, steps, m, err);
  sl_metrics_record(op, t0, 0, failed);
  return failed;
}

int sl_syn_run_score(sl_syn_run *run, sl_syn_steps *steps, sl_err *err) {
  sl_model *em = NULL, *rm = NULL;
  long long most = sl_limit_get(SL_LIMIT_SYNERGY_MAX_NODES);
  int rc = SL_ERROR;

  if (run->home.n > (unsigned long long)most)
    return sl_fail(err, "the home has %zu entities and devices, over the synergy_max_nodes limit of %lld "
                   "(semlite_limits)", run->home.n, most);
  sl_syn_infer_areas(run->nodes, run->home.n, run->areas, run->n_areas);
  if (history_build(run, err)) return SL_ERROR;
  /* The model the config names, else the first loaded of the kind, else none. */
  if ((run->use_embedding && run->cfg.w_embedding > 0 &&
       sl_op_pin_optional(run->embed_model, SL_KIND_EMBED, &em, err)) ||
      (run->use_rerank && run->cfg.w_rerank > 0 && sl_op_pin_optional(run->rerank_model, SL_KIND_RERANK, &rm, err)))
    goto done;
  /* In semlite_progress: the descriptors to embed, then the hops to rerank once picked. */
  run->progress = sl_progress_begin("synergy", run->progress_target[0] ? run->progress_target : "main",
                                    em ? (int64_t)run->home.n : 0);
  if (em && timed(SL_OP_SYNERGY_EMBED, embed_descriptors, run, steps, em, err)) goto done;
  if (sl_syn_links_build(&run->home, &run->cfg, &run->graph, err)) goto done;
  if (rm && timed(SL_OP_SYNERGY_RERANK, rerank_links, run, steps, rm, err)) goto done;
  sl_syn_links_finish(&run->graph, &run->cfg);
  mark_automated(run);
  /* The model signals with the weight they earned in this home (links.c). */
  {
    char e[48] = "", r[48] = "";
    if (em) snprintf(e, sizeof e, "+embedding(%.2f)", run->graph.w_embedding);
    if (rm) snprintf(r, sizeof r, "+cross-encoder(%.2f)", run->graph.w_rerank);
    snprintf(run->signals, sizeof run->signals, "capability+area+name%s%s%s", e, r,
             run->home.has_history ? "+history" : "");
  }
  rc = SL_OK;
done:
  sl_progress_end(run->progress);
  run->progress = 0;
  sl_op_release(em);
  sl_op_release(rm);
  return rc;
}

void sl_syn_run_free(sl_syn_run *run) {
  sl_syn_graph_free(&run->graph);
  sl_syn_strings_free(&run->strings);
  sl_free(run->nodes);
  sl_free(run->rules);
  sl_free(run->pairs);
  sl_free(run->areas);
  sl_free(run->hist_rows);
  sl_free(run->history);
  sl_free(run->vecs);
  sl_free(run->embed_model);
  sl_free(run->rerank_model);
  sl_syn_run_init(run);
}
