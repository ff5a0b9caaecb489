/*
** hnsw.c: the HNSW graph algorithm (hnsw.h): greedy descent through the upper levels,
** the best-first beam search of one level (hnswlib's searchBaseLayerST, with its filter
** and tombstone rules), insertion with the neighbour selection heuristic of the paper's
** Algorithm 4 (hnswlib's getNeighborsByHeuristic2), and the purge of tombstones.
** All state is in the caller's store; scratch memory is the caller's too.
*/
#include "../base/alloc.h"
#include "hnsw.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void sl_hnsw_scratch_free(sl_hnsw_scratch *sc) {
  sl_free(sc->mark);
  sl_free(sc->cand);
  sl_free(sc->res);
  sl_free(sc->tmp);
  sl_free(sc->ids);
  memset(sc, 0, sizeof *sc);
}

static int grow(void **p, size_t *cap, size_t need, size_t size) {
  void *q;
  size_t n;
  if (need <= *cap) return 0;
  n = *cap ? *cap : 64;
  while (n < need) n *= 2;
  if (!(q = sl_realloc(*p, n * size))) return -1;
  *p = q;
  *cap = n;
  return 0;
}

/* A fresh visited set over the store's ids. */
static int visit_begin(const sl_hnsw_store *s, sl_hnsw_scratch *sc, sl_err *err) {
  uint32_t n = s->capacity(s->ctx);
  if (n > sc->n_mark) {
    uint32_t *m = sl_realloc(sc->mark, (size_t)n * sizeof *m);
    if (!m) return sl_oom(err);
    memset(m + sc->n_mark, 0, (size_t)(n - sc->n_mark) * sizeof *m);
    sc->mark = m;
    sc->n_mark = n;
  }
  if (++sc->epoch == 0) {  /* wrapped: old marks could collide */
    memset(sc->mark, 0, (size_t)sc->n_mark * sizeof *sc->mark);
    sc->epoch = 1;
  }
  sc->visits = 0;
  return SL_OK;
}

static int visited(sl_hnsw_scratch *sc, uint32_t id) {
  if (id >= sc->n_mark || sc->mark[id] == sc->epoch) return 1;
  sc->mark[id] = sc->epoch;
  return 0;
}

/* ---- heaps of candidates: min-heap (nearest on top) and max-heap (farthest on top) ---- */

static int before(sl_hnsw_cand a, sl_hnsw_cand b, int max) {
  if (a.d != b.d) return max ? a.d > b.d : a.d < b.d;
  return max ? a.id > b.id : a.id < b.id;
}

static void heap_push(sl_hnsw_cand *h, size_t *n, sl_hnsw_cand c, int max) {
  size_t i = (*n)++;
  while (i > 0) {
    size_t up = (i - 1) / 2;
    if (!before(c, h[up], max)) break;
    h[i] = h[up];
    i = up;
  }
  h[i] = c;
}

static sl_hnsw_cand heap_pop(sl_hnsw_cand *h, size_t *n, int max) {
  sl_hnsw_cand top = h[0], last = h[--(*n)];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, best = i;
    sl_hnsw_cand b = last;
    if (l < *n && before(h[l], b, max)) best = l, b = h[l];
    if (r < *n && before(h[r], b, max)) best = r;
    if (best == i) break;
    h[i] = h[best];
    i = best;
  }
  if (*n) h[i] = last;
  return top;
}

static int cand_cmp(const void *a, const void *b) {
  const sl_hnsw_cand *x = a, *y = b;
  if (x->d != y->d) return x->d < y->d ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

/* ---- searching ---- */

/* Greedy descent from *cur (at distance *d) through levels top..stop+1. */
static void descend(const sl_hnsw_store *s, sl_hnsw_scratch *sc, const void *q, int top, int stop, uint32_t *cur,
                    float *d) {
  for (int l = top; l > stop; l--) {
    int changed = 1;
    while (changed) {
      uint32_t n;
      const uint32_t *ln = s->links(s->ctx, *cur, l, &n);
      changed = 0;
      for (uint32_t i = 0; i < n; i++) {
        float nd = s->distance(s->ctx, q, ln[i]);
        sc->visits++;
        if (nd < *d) *d = nd, *cur = ln[i], changed = 1;
      }
    }
  }
}

/* The beam search of one level from ep: keeps the ef best nodes that may be returned
** (live and accepted; every node when all is set) in sc->res as a max-heap of *n_res. */
static int search_level(const sl_hnsw_store *s, sl_hnsw_scratch *sc, const void *q, uint32_t ep, float ep_d,
                        size_t ef, int level, int all, sl_hnsw_accept accept, void *arg, size_t *n_res,
                        sl_err *err) {
  size_t n_cand = 0, n = 0;
  float bound;
  int rc;
  if ((rc = visit_begin(s, sc, err)) != SL_OK) return rc;
  if (grow((void **)&sc->res, &sc->cap_res, ef + 1, sizeof *sc->res) ||
      grow((void **)&sc->cand, &sc->cap_cand, 64, sizeof *sc->cand))
    return sl_oom(err);
  visited(sc, ep);
  if (all || (s->live(s->ctx, ep) && (!accept || accept(arg, ep)))) {
    heap_push(sc->res, &n, (sl_hnsw_cand){ep_d, ep}, 1);
    bound = ep_d;
  } else {
    bound = INFINITY;
  }
  heap_push(sc->cand, &n_cand, (sl_hnsw_cand){ep_d, ep}, 0);
  while (n_cand) {
    sl_hnsw_cand c = heap_pop(sc->cand, &n_cand, 0);
    uint32_t cnt;
    const uint32_t *ln;
    if (c.d > bound && n == ef) break;
    ln = s->links(s->ctx, c.id, level, &cnt);
    for (uint32_t i = 0; i < cnt; i++) {
      uint32_t id = ln[i];
      float d;
      if (visited(sc, id)) continue;
      d = s->distance(s->ctx, q, id);
      sc->visits++;
      if (n < ef || d < bound) {
        if (grow((void **)&sc->cand, &sc->cap_cand, n_cand + 1, sizeof *sc->cand)) return sl_oom(err);
        heap_push(sc->cand, &n_cand, (sl_hnsw_cand){d, id}, 0);
        if (all || (s->live(s->ctx, id) && (!accept || accept(arg, id)))) {
          heap_push(sc->res, &n, (sl_hnsw_cand){d, id}, 1);
          if (n > ef) heap_pop(sc->res, &n, 1);
          if (n) bound = sc->res[0].d;
        }
      }
    }
  }
  *n_res = n;
  return SL_OK;
}

int sl_hnsw_search(const sl_hnsw_store *s, sl_hnsw_scratch *sc, const void *query, size_t ef,
                   sl_hnsw_accept accept, void *arg, sl_hnsw_cand *out, size_t *n_out, sl_err *err) {
  uint32_t cur = s->top->entry;
  float d;
  size_t n = 0;
  int rc;
  *n_out = 0;
  if (cur == SL_HNSW_NONE || ef == 0) return SL_OK;
  d = s->distance(s->ctx, query, cur);
  sc->visits = 1;
  descend(s, sc, query, s->top->max_level, 0, &cur, &d);
  if ((rc = search_level(s, sc, query, cur, d, ef, 0, 0, accept, arg, &n, err)) != SL_OK) return rc;
  memcpy(out, sc->res, n * sizeof *out);
  qsort(out, n, sizeof *out, cand_cmp);
  *n_out = n;
  return SL_OK;
}

/* ---- linking ---- */

/* Algorithm 4: from c[0..n) sorted nearest first (distances to the base node), keeps a
** candidate only if it is nearer the base than every candidate kept so far; at most
** max. Returns the number kept, moved to the front of c. */
static size_t select_neighbours(const sl_hnsw_store *s, sl_hnsw_cand *c, size_t n, size_t max) {
  size_t kept = 0;
  if (n <= max) return n;
  for (size_t i = 0; i < n && kept < max; i++) {
    const void *ci = s->code(s->ctx, c[i].id);
    int good = 1;
    for (size_t j = 0; j < kept && good; j++)
      if (s->distance(s->ctx, ci, c[j].id) < c[i].d) good = 0;
    if (good) c[kept++] = c[i];
  }
  return kept;
}

static size_t max_links(const sl_hnsw_params *p, int level) { return (size_t)(level == 0 ? 2 * p->m : p->m); }

/* Writes c[0..n)'s ids as node's links at level. */
static int set_from(const sl_hnsw_store *s, sl_hnsw_scratch *sc, uint32_t node, int level, const sl_hnsw_cand *c,
                    size_t n, sl_err *err) {
  if (grow((void **)&sc->ids, &sc->cap_ids, n + 1, sizeof *sc->ids)) return sl_oom(err);
  for (size_t i = 0; i < n; i++) sc->ids[i] = c[i].id;
  return s->set_links(s->ctx, node, level, sc->ids, (uint32_t)n, err);
}

/* Adds node to other's links at level, shrinking the list by the heuristic when full. */
static int link_back(const sl_hnsw_store *s, const sl_hnsw_params *p, sl_hnsw_scratch *sc, uint32_t other,
                     uint32_t node, int level, sl_err *err) {
  uint32_t n;
  const uint32_t *ln = s->links(s->ctx, other, level, &n);
  const size_t max = max_links(p, level);
  const void *oc;
  size_t m = 0;
  for (uint32_t i = 0; i < n; i++)
    if (ln[i] == node) return SL_OK;
  if (grow((void **)&sc->tmp, &sc->cap_tmp, (size_t)n + 1, sizeof *sc->tmp)) return sl_oom(err);
  if (n < max) {
    for (uint32_t i = 0; i < n; i++) sc->tmp[i].id = ln[i];
    sc->tmp[n].id = node;
    return set_from(s, sc, other, level, sc->tmp, (size_t)n + 1, err);
  }
  oc = s->code(s->ctx, other);
  for (uint32_t i = 0; i < n; i++)
    if (s->live(s->ctx, ln[i])) sc->tmp[m++] = (sl_hnsw_cand){s->distance(s->ctx, oc, ln[i]), ln[i]};
  sc->tmp[m++] = (sl_hnsw_cand){s->distance(s->ctx, oc, node), node};
  qsort(sc->tmp, m, sizeof *sc->tmp, cand_cmp);
  m = select_neighbours(s, sc->tmp, m, max);
  return set_from(s, sc, other, level, sc->tmp, m, err);
}

int sl_hnsw_random_level(uint64_t key, uint64_t seed, int m) {
  /* splitmix64 of key and seed, then 53 bits as U in (0,1] */
  uint64_t z = key + seed + 0x9e3779b97f4a7c15ull;
  double u;
  int level;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  u = ((double)(z >> 11) + 1.0) / 9007199254740992.0;
  level = (int)(-log(u) / log((double)(m < 2 ? 2 : m)));
  return level > SL_HNSW_MAX_LEVEL ? SL_HNSW_MAX_LEVEL : level;
}

int sl_hnsw_insert(const sl_hnsw_store *s, const sl_hnsw_params *p, sl_hnsw_scratch *sc, uint32_t node,
                   sl_err *err) {
  sl_hnsw_top *top = s->top;
  const int level = s->level(s->ctx, node);
  const void *q = s->code(s->ctx, node);
  uint32_t cur = top->entry;
  float d;
  int rc;
  if (cur == SL_HNSW_NONE) {
    top->entry = node;
    top->max_level = level;
    return SL_OK;
  }
  d = s->distance(s->ctx, q, cur);
  descend(s, sc, q, top->max_level, level, &cur, &d);
  for (int l = level < top->max_level ? level : top->max_level; l >= 0; l--) {
    size_t n = 0, m = 0;
    if ((rc = search_level(s, sc, q, cur, d, (size_t)p->ef_construction, l, 1, NULL, NULL, &n, err)) != SL_OK)
      return rc;
    /* the candidates nearest first; tombstones route but get no new links */
    qsort(sc->res, n, sizeof *sc->res, cand_cmp);
    for (size_t i = 0; i < n; i++)
      if (sc->res[i].id != node && s->live(s->ctx, sc->res[i].id)) sc->res[m++] = sc->res[i];
    if (m) cur = sc->res[0].id, d = sc->res[0].d;
    m = select_neighbours(s, sc->res, m, (size_t)p->m);
    if ((rc = set_from(s, sc, node, l, sc->res, m, err)) != SL_OK) return rc;
    /* sc->res is reused by link_back's heuristic: keep the chosen ids aside */
    {
      uint32_t chosen[2 * SL_HNSW_MAX_M];
      for (size_t i = 0; i < m; i++) chosen[i] = sc->res[i].id;
      for (size_t i = 0; i < m; i++)
        if ((rc = link_back(s, p, sc, chosen[i], node, l, err)) != SL_OK) return rc;
    }
  }
  if (level > top->max_level) {
    top->entry = node;
    top->max_level = level;
  }
  return SL_OK;
}

/* ---- tombstones ---- */

/* The live links of node at level, plus the live links of the tombstones it names,
** chosen again by the heuristic; *changed when the list named a tombstone. */
static int repair(const sl_hnsw_store *s, const sl_hnsw_params *p, sl_hnsw_scratch *sc, uint32_t node, int level,
                  sl_err *err) {
  uint32_t n;
  const uint32_t *ln = s->links(s->ctx, node, level, &n);
  const void *nc = s->code(s->ctx, node);
  size_t m = 0, dead = 0;
  for (uint32_t i = 0; i < n; i++) dead += !s->live(s->ctx, ln[i]);
  if (!dead) return SL_OK;
  if (visit_begin(s, sc, err)) return SL_ERROR;
  visited(sc, node);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t id = ln[i], n2;
    const uint32_t *l2;
    if (s->live(s->ctx, id)) {
      if (visited(sc, id)) continue;
      if (grow((void **)&sc->tmp, &sc->cap_tmp, m + 1, sizeof *sc->tmp)) return sl_oom(err);
      sc->tmp[m++] = (sl_hnsw_cand){s->distance(s->ctx, nc, id), id};
      continue;
    }
    l2 = s->links(s->ctx, id, level, &n2);
    for (uint32_t j = 0; j < n2; j++) {
      if (!s->live(s->ctx, l2[j]) || visited(sc, l2[j])) continue;
      if (grow((void **)&sc->tmp, &sc->cap_tmp, m + 1, sizeof *sc->tmp)) return sl_oom(err);
      sc->tmp[m++] = (sl_hnsw_cand){s->distance(s->ctx, nc, l2[j]), l2[j]};
    }
  }
  qsort(sc->tmp, m, sizeof *sc->tmp, cand_cmp);
  m = select_neighbours(s, sc->tmp, m, max_links(p, level));
  if (set_from(s, sc, node, level, sc->tmp, m, err)) return SL_ERROR;
  /* the new links are made both ways, as an insertion makes them */
  {
    uint32_t chosen[2 * SL_HNSW_MAX_M];
    for (size_t i = 0; i < m; i++) chosen[i] = sc->tmp[i].id;
    for (size_t i = 0; i < m; i++)
      if (link_back(s, p, sc, chosen[i], node, level, err)) return SL_ERROR;
  }
  return SL_OK;
}

int sl_hnsw_purge(const sl_hnsw_store *s, const sl_hnsw_params *p, sl_hnsw_scratch *sc, sl_err *err) {
  const uint32_t cap = s->capacity(s->ctx);
  sl_hnsw_top *top = s->top;
  int rc;
  for (uint32_t id = 0; id < cap; id++) {
    int level = s->level(s->ctx, id);
    if (level < 0 || !s->live(s->ctx, id)) continue;
    for (int l = 0; l <= level; l++)
      if ((rc = repair(s, p, sc, id, l, err)) != SL_OK) return rc;
  }
  for (uint32_t id = 0; id < cap; id++)
    if (s->level(s->ctx, id) >= 0 && !s->live(s->ctx, id) && (rc = s->remove(s->ctx, id, err)) != SL_OK) return rc;
  if (top->entry != SL_HNSW_NONE && s->level(s->ctx, top->entry) < 0) {
    top->entry = SL_HNSW_NONE;
    top->max_level = -1;
    for (uint32_t id = 0; id < cap; id++) {
      int level = s->level(s->ctx, id);
      if (level > top->max_level) top->entry = id, top->max_level = level;
    }
  }
  return SL_OK;
}
