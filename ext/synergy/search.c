/*
** search.c: chains of links, best first, in a beam (docs/synergy.md, "Paths").
**
** Level by level: every link is a path of 2 nodes; the `beam` best paths of each level
** whose hops all score at least min_hop are extended by the out-links of their last node
** (at most `candidates` each, already best first, so the scan stops at the first hop
** under min_hop), never to a node or a device already on the path; the `beam` best
** extensions form the next level. Work per level is O(beam x candidates x depth) plus a
** sort of as many paths; memory O(links + beam x candidates x depth). The order is total
** (score, then depth, then the node sequence), so the same home gives the same rows.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../base/alloc.h"
#include "synergy.h"

double sl_syn_path_score(const float *hops, int n_hops, double depth_penalty) {
  double prod = 1;
  for (int i = 0; i < n_hops; i++) prod *= hops[i] > 0 ? hops[i] : 0;
  return pow(prod, 1.0 / n_hops) * pow(depth_penalty, n_hops - 1);
}

static int path_cmp(const void *x, const void *y) {
  const sl_syn_path *a = x, *b = y;
  if (a->score != b->score) return a->score > b->score ? -1 : 1;
  if (a->depth != b->depth) return a->depth < b->depth ? -1 : 1;
  for (int i = 0; i < a->depth; i++)
    if (a->node[i] != b->node[i]) return a->node[i] < b->node[i] ? -1 : 1;
  return 0;
}

static int same_device(const sl_syn_node *x, const sl_syn_node *y) {
  return x->device_id && y->device_id && strcmp(x->device_id, y->device_id) == 0;
}

/* Whether node a may follow path p: not on it, and not on a device already on it. */
static int may_extend(const sl_syn_home *h, const sl_syn_path *p, uint32_t a) {
  for (int i = 0; i < p->depth; i++)
    if (p->node[i] == a || same_device(&h->nodes[p->node[i]], &h->nodes[a])) return 0;
  return 1;
}

static int all_hops_at_least(const sl_syn_graph *g, const sl_syn_path *p, double min_hop) {
  for (int i = 0; i < p->depth - 1; i++)
    if (g->links[p->link[i]].score < min_hop) return 0;
  return 1;
}

int sl_syn_search(const sl_syn_home *h, const sl_syn_graph *g, const sl_syn_config *cfg,
                  int max_depth, sl_syn_path **out, size_t *n_out, sl_err *err) {
  size_t cap = g->n_links + (size_t)(max_depth - 2) * cfg->beam, n = 0;
  size_t frontier_at, frontier_n;
  sl_syn_path *paths, *next = NULL;

  *out = NULL;
  *n_out = 0;
  if (max_depth < SL_SYN_MIN_DEPTH || max_depth > SL_SYN_MAX_DEPTH)
    return sl_fail(err, "max_depth must be between %d and %d, got %d", SL_SYN_MIN_DEPTH,
                   SL_SYN_MAX_DEPTH, max_depth);
  paths = sl_malloc((cap ? cap : 1) * sizeof *paths);
  if (!paths) return sl_oom(err);

  for (size_t i = 0; i < g->n_links; i++) {
    const sl_syn_link *l = &g->links[i];
    sl_syn_path *p = &paths[n++];
    memset(p, 0, sizeof *p);
    p->depth = 2;
    p->node[0] = l->t;
    p->node[1] = l->a;
    p->link[0] = (uint32_t)i;
    p->automated = l->automated != 0;
    p->score = l->score;
  }
  qsort(paths, n, sizeof *paths, path_cmp);
  frontier_at = 0;
  frontier_n = n;

  if (max_depth > 2) {
    next = sl_malloc((cfg->beam * cfg->candidates + 1) * sizeof *next);
    if (!next) {
      sl_free(paths);
      return sl_oom(err);
    }
  }
  for (int depth = 3; depth <= max_depth; depth++) {
    size_t m = 0, taken = 0;
    /* The beam: the best paths of the level before whose hops all pass min_hop. */
    for (size_t f = frontier_at; f < frontier_at + frontier_n && taken < cfg->beam; f++) {
      const sl_syn_path *p = &paths[f];
      uint32_t last = p->node[p->depth - 1];
      if (!all_hops_at_least(g, p, cfg->min_hop)) continue;
      taken++;
      for (size_t li = g->first[last]; li < g->first[last + 1]; li++) {
        const sl_syn_link *l = &g->links[li];
        float hops[SL_SYN_MAX_DEPTH - 1];
        if (l->score < cfg->min_hop) break;
        if (!may_extend(h, p, l->a)) continue;
        sl_syn_path *q = &next[m++];
        *q = *p;
        q->node[q->depth] = l->a;
        q->link[q->depth - 1] = (uint32_t)li;
        q->depth++;
        q->automated += l->automated != 0;
        for (int k = 0; k < q->depth - 1; k++) hops[k] = g->links[q->link[k]].score;
        q->score = sl_syn_path_score(hops, q->depth - 1, cfg->depth_penalty);
      }
    }
    qsort(next, m, sizeof *next, path_cmp);
    if (m > cfg->beam) m = cfg->beam;
    memcpy(paths + n, next, m * sizeof *next);
    frontier_at = n;
    frontier_n = m;
    n += m;
    if (m == 0) break;
  }
  sl_free(next);
  qsort(paths, n, sizeof *paths, path_cmp);
  *out = paths;
  *n_out = n;
  return SL_OK;
}
