/*
** hnsw.c: the HNSW graph algorithm (hnsw.h): greedy descent through the upper levels,
** the best-first beam search of one level (hnswlib's searchBaseLayerST, with its filter
** and tombstone rules), insertion in deterministic parallel batches with the neighbour
** selection heuristic of the paper's Algorithm 4 (hnswlib's getNeighborsByHeuristic2), and
** the purge of tombstones.
** All state is in the caller's store; scratch memory is the caller's too.
*/
#include "../base/alloc.h"
#include "../base/pool.h"
#include "hnsw.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static void workers_free(struct sl_hnsw_workers *w);

void sl_hnsw_scratch_free(sl_hnsw_scratch *sc) {
  workers_free(sc->workers);
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
    /* the unvisited neighbours first, their codes' first bytes fetched ahead (as hnswlib
    ** does): the memory latency of one overlaps the distances of the others */
    if (grow((void **)&sc->ids, &sc->cap_ids, cnt + 1, sizeof *sc->ids)) return sl_oom(err);
    {
      uint32_t m = 0;
      for (uint32_t i = 0; i < cnt; i++)
        if (!visited(sc, ln[i])) {
          sc->ids[m++] = ln[i];
          __builtin_prefetch(s->code(s->ctx, ln[i]));
        }
      cnt = m;
    }
    for (uint32_t i = 0; i < cnt; i++) {
      uint32_t id = sc->ids[i];
      float d;
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

/* ---- bulk insertion ---- */

/* One thread's working memory during a batch. */
typedef struct batch_worker {
  sl_hnsw_scratch sc;
  float *bd;                  /* distances to the batch's earlier nodes */
  sl_hnsw_cand *m;            /* candidates of one level */
  size_t cap_bd, cap_m;
  sl_err err;
} batch_worker;

/* The threads' memory, kept in the caller's scratch between calls. */
struct sl_hnsw_workers {
  int n;
  batch_worker w[];
};

static void workers_free(struct sl_hnsw_workers *ws) {
  if (!ws) return;
  for (int k = 0; k < ws->n; k++) {
    sl_hnsw_scratch_free(&ws->w[k].sc);
    sl_free(ws->w[k].bd), sl_free(ws->w[k].m);
  }
  sl_free(ws);
}

/* A link back: target gets node on level (step 3). */
typedef struct link_pair {
  uint32_t target, node;
  int level;
  uint32_t order;             /* the node's place in the batch */
} link_pair;

typedef struct batch_run {
  const sl_hnsw_store *s;
  const sl_hnsw_params *p;
  const uint32_t *nodes;      /* this batch */
  size_t n;
  sl_hnsw_top top;            /* as before the batch */
  int *lvl;                   /* per batch node */
  size_t *base;               /* per batch node: its first (node, level) slot */
  uint32_t *chosen;           /* per slot: m ids */
  uint32_t *n_chosen;         /* per slot */
  link_pair *pairs;
  size_t *groups;             /* starts of the runs of pairs with one (target, level), then the end */
  size_t n_groups;
  batch_worker *w;
  atomic_int *busy;
  int n_w;
  atomic_int failed;          /* 1 + the worker whose err says why, or 0 */
} batch_run;

static int worker_take(batch_run *r) {
  for (;;)
    for (int k = 0; k < r->n_w; k++)
      if (!atomic_exchange(&r->busy[k], 1)) return k;
}

static void worker_fail(batch_run *r, int k) {
  int none = 0;
  atomic_compare_exchange_strong(&r->failed, &none, k + 1);
}

/* Step 1 for batch node i: its links on each of its levels, into r->chosen. */
static int plan_node(batch_run *r, batch_worker *w, size_t i) {
  const sl_hnsw_store *s = r->s;
  const uint32_t node = r->nodes[i];
  const int level = r->lvl[i];
  const void *q = s->code(s->ctx, node);
  uint32_t cur = r->top.entry;
  float d = 0;
  if (grow((void **)&w->bd, &w->cap_bd, i + 1, sizeof *w->bd)) return sl_oom(&w->err);
  for (size_t j = 0; j < i; j++) w->bd[j] = s->distance(s->ctx, q, r->nodes[j]);
  if (cur != SL_HNSW_NONE) {
    d = s->distance(s->ctx, q, cur);
    descend(s, &w->sc, q, r->top.max_level, level, &cur, &d);
  }
  for (int l = level; l >= 0; l--) {
    size_t n = 0, m = 0, kept;
    uint32_t *out = r->chosen + (r->base[i] + (size_t)l) * (size_t)r->p->m;
    if (cur != SL_HNSW_NONE && l <= r->top.max_level) {
      if (search_level(s, &w->sc, q, cur, d, (size_t)r->p->ef_construction, l, 1, NULL, NULL, &n, &w->err))
        return SL_ERROR;
      qsort(w->sc.res, n, sizeof *w->sc.res, cand_cmp);
    }
    if (grow((void **)&w->m, &w->cap_m, n + i + 1, sizeof *w->m)) return sl_oom(&w->err);
    for (size_t k = 0; k < n; k++)
      if (w->sc.res[k].id != node && s->live(s->ctx, w->sc.res[k].id)) w->m[m++] = w->sc.res[k];
    if (m) cur = w->m[0].id, d = w->m[0].d;
    for (size_t j = 0; j < i; j++)
      if (r->lvl[j] >= l) w->m[m++] = (sl_hnsw_cand){w->bd[j], r->nodes[j]};
    qsort(w->m, m, sizeof *w->m, cand_cmp);
    kept = select_neighbours(s, w->m, m, (size_t)r->p->m);
    for (size_t k = 0; k < kept; k++) out[k] = w->m[k].id;
    r->n_chosen[r->base[i] + (size_t)l] = (uint32_t)kept;
  }
  return SL_OK;
}

static void plan_range(void *ctx, size_t begin, size_t end) {
  batch_run *r = ctx;
  int k = worker_take(r);
  for (size_t i = begin; i < end && !atomic_load(&r->failed); i++)
    if (plan_node(r, &r->w[k], i)) worker_fail(r, k);
  atomic_store(&r->busy[k], 0);
}

/* Step 3 for the groups [begin, end). */
static void link_range(void *ctx, size_t begin, size_t end) {
  batch_run *r = ctx;
  int k = worker_take(r);
  for (size_t g = begin; g < end && !atomic_load(&r->failed); g++)
    for (size_t i = r->groups[g]; i < r->groups[g + 1]; i++) {
      const link_pair *lp = &r->pairs[i];
      if (link_back(r->s, r->p, &r->w[k].sc, lp->target, lp->node, lp->level, &r->w[k].err)) {
        worker_fail(r, k);
        break;
      }
    }
  atomic_store(&r->busy[k], 0);
}

static int pair_cmp(const void *a, const void *b) {
  const link_pair *x = a, *y = b;
  if (x->target != y->target) return x->target < y->target ? -1 : 1;
  if (x->level != y->level) return x->level < y->level ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* Steps 2 and 3 (steps: sl_hnsw_insert_batch in hnsw.h). */
static int link_batch(batch_run *r, sl_err *err) {
  const sl_hnsw_store *s = r->s;
  size_t np = 0;
  for (size_t i = 0; i < r->n; i++) {
    for (int l = 0; l <= r->lvl[i]; l++) {
      const size_t slot = r->base[i] + (size_t)l;
      const uint32_t *ids = r->chosen + slot * (size_t)r->p->m;
      if (s->set_links(s->ctx, r->nodes[i], l, ids, r->n_chosen[slot], err)) return SL_ERROR;
      for (uint32_t k = 0; k < r->n_chosen[slot]; k++)
        r->pairs[np++] = (link_pair){ids[k], r->nodes[i], l, (uint32_t)i};
    }
    if (s->top->entry == SL_HNSW_NONE || r->lvl[i] > s->top->max_level) {
      s->top->entry = r->nodes[i];
      s->top->max_level = r->lvl[i];
    }
  }
  qsort(r->pairs, np, sizeof *r->pairs, pair_cmp);
  r->n_groups = 0;
  for (size_t i = 0; i < np; i++) {
    if (i && r->pairs[i].target == r->pairs[i - 1].target && r->pairs[i].level == r->pairs[i - 1].level) continue;
    uint32_t cnt;
    const uint32_t *ln = s->links(s->ctx, r->pairs[i].target, r->pairs[i].level, &cnt);
    if (s->set_links(s->ctx, r->pairs[i].target, r->pairs[i].level, ln, cnt, err)) return SL_ERROR;
    r->groups[r->n_groups++] = i;
  }
  r->groups[r->n_groups] = np;
  sl_parallel_for(r->n_groups, 8, link_range, r);
  return SL_OK;
}

int sl_hnsw_insert_batch(const sl_hnsw_store *s, const sl_hnsw_params *p, sl_hnsw_scratch *sc, const uint32_t *nodes,
                         size_t n, void (*done)(void *arg, size_t linked), void *arg, sl_err *err) {
  batch_run r = {.s = s, .p = p};
  size_t cap_chosen = 0, cap_n_chosen = 0, cap_pairs = 0, cap_groups = 0;
  int rc = SL_OK;
  r.n_w = sl_pool_workers() + 1;
  if (sc->workers && sc->workers->n != r.n_w) workers_free(sc->workers), sc->workers = NULL;
  if (!sc->workers && (sc->workers = sl_calloc(1, sizeof *sc->workers + (size_t)r.n_w * sizeof(batch_worker))))
    sc->workers->n = r.n_w;
  r.lvl = sl_malloc(SL_HNSW_BATCH * sizeof *r.lvl);
  r.base = sl_malloc(SL_HNSW_BATCH * sizeof *r.base);
  r.w = sc->workers ? sc->workers->w : NULL;
  r.busy = sl_calloc((size_t)r.n_w, sizeof *r.busy);
  if (!r.lvl || !r.base || !r.w || !r.busy) rc = sl_oom(err);
  for (int k = 0; r.busy && k < r.n_w; k++) atomic_init(&r.busy[k], 0);
  for (size_t at = 0; rc == SL_OK && at < n; at += r.n) {
    size_t slot = 0, links;
    r.nodes = nodes + at;
    r.n = n - at < SL_HNSW_BATCH ? n - at : SL_HNSW_BATCH;
    r.top = *s->top;
    atomic_init(&r.failed, 0);
    for (size_t i = 0; i < r.n; i++) {
      r.lvl[i] = s->level(s->ctx, r.nodes[i]);
      r.base[i] = slot;
      slot += (size_t)r.lvl[i] + 1;
    }
    links = slot * (size_t)p->m;
    if (grow((void **)&r.chosen, &cap_chosen, links, sizeof *r.chosen) ||
        grow((void **)&r.n_chosen, &cap_n_chosen, slot, sizeof *r.n_chosen) ||
        grow((void **)&r.pairs, &cap_pairs, links, sizeof *r.pairs) ||
        grow((void **)&r.groups, &cap_groups, links + 1, sizeof *r.groups)) {
      rc = sl_oom(err);
      break;
    }
    sl_parallel_for(r.n, 4, plan_range, &r);
    if (!atomic_load(&r.failed)) rc = link_batch(&r, err);
    if (rc == SL_OK && atomic_load(&r.failed)) {
      const sl_err *e = &r.w[atomic_load(&r.failed) - 1].err;
      rc = sl_fail(err, "%s", e->msg);
    }
    if (rc == SL_OK && done) done(arg, at + r.n);
  }
  sl_free(r.lvl), sl_free(r.base), sl_free(r.chosen), sl_free(r.n_chosen), sl_free(r.pairs), sl_free(r.groups);
  sl_free((void *)r.busy);
  return rc;
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
