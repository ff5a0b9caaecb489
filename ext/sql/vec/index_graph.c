/*
** index_graph.c: the in-memory image of an HNSW index (index_graph.h) and the node store
** callbacks vector/hnsw.c runs on. Level-0 links are one flat array (the hot part of a
** search); upper levels, which few nodes have, are allocated per node.
*/
#include "../../base/alloc.h"
#include "index_graph.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../vector/quant.h"

static size_t l0_stride(const vv_graph *g) { return 1 + 2 * (size_t)g->p.m; }
static size_t up_stride(const vv_graph *g) { return 1 + (size_t)g->p.m; }

vv_graph *vv_graph_new(size_t dims, sl_metric metric, const sl_hnsw_params *p) {
  vv_graph *g = sl_calloc(1, sizeof *g);
  if (!g) return NULL;
  g->p = *p;
  g->top.entry = SL_HNSW_NONE;
  g->top.max_level = -1;
  sl_chunk_layout_init(&g->code_lay, SL_VEC_F32, dims, metric, SL_QUANT_INT8, 1);
  g->code_bytes = g->code_lay.qvec_bytes + g->code_lay.qparam_bytes;
  g->dot = metric == SL_METRIC_COSINE ? sl_distance_for(SL_VEC_I8, SL_METRIC_DOT) : NULL;
  return g;
}

void vv_graph_free(vv_graph *g) {
  if (!g) return;
  for (uint32_t i = 0; i < g->cap; i++) sl_free(g->upper[i]);
  sl_free(g->level), sl_free(g->dead), sl_free(g->rowid), sl_free(g->chunk), sl_free(g->slot), sl_free(g->l0), sl_free(g->upper);
  sl_free(g->codes), sl_free(g->free_ids), sl_free(g->hkeys), sl_free(g->hvals), sl_free(g->dirty), sl_free(g->dirty_list);
  sl_free(g);
}

size_t vv_graph_bytes(const vv_graph *g) {
  size_t per = sizeof(int8_t) + 2 * sizeof(uint8_t) + 2 * sizeof(int64_t) + sizeof(int32_t) + sizeof(uint32_t *) +
               sizeof(uint32_t) + l0_stride(g) * sizeof(uint32_t) + g->code_bytes;
  size_t b = sizeof *g + (size_t)g->cap * per + g->hcap * (sizeof(int64_t) + sizeof(uint32_t)) +
             g->cap_dirty * sizeof(uint32_t);
  for (uint32_t i = 0; i < g->cap; i++)
    if (g->level[i] > 0) b += (size_t)g->level[i] * up_stride(g) * sizeof(uint32_t);
  return b;
}

/* ---- the rowid map ---- */

static size_t hslot(const vv_graph *g, int64_t rowid) {
  uint64_t h = (uint64_t)rowid * 0x9e3779b97f4a7c15ull;
  return (size_t)(h >> 17) & (g->hcap - 1);
}

uint32_t vv_graph_find(const vv_graph *g, int64_t rowid) {
  if (!g->hcap) return SL_HNSW_NONE;
  for (size_t i = hslot(g, rowid);; i = (i + 1) & (g->hcap - 1)) {
    if (g->hvals[i] == SL_HNSW_NONE) return SL_HNSW_NONE;
    if (g->hkeys[i] == rowid) return g->hvals[i];
  }
}

static void hput(vv_graph *g, int64_t rowid, uint32_t node) {
  size_t i = hslot(g, rowid);
  while (g->hvals[i] != SL_HNSW_NONE && g->hkeys[i] != rowid) i = (i + 1) & (g->hcap - 1);
  if (g->hvals[i] == SL_HNSW_NONE) g->hn++;
  g->hkeys[i] = rowid;
  g->hvals[i] = node;
}

static int hgrow(vv_graph *g) {
  size_t cap = g->hcap ? g->hcap * 2 : 1024, old = g->hcap;
  int64_t *k = sl_malloc(cap * sizeof *k), *ok = g->hkeys;
  uint32_t *v = sl_malloc(cap * sizeof *v), *ov = g->hvals;
  if (!k || !v) {
    sl_free(k), sl_free(v);
    return -1;
  }
  for (size_t i = 0; i < cap; i++) v[i] = SL_HNSW_NONE;
  g->hkeys = k, g->hvals = v, g->hcap = cap, g->hn = 0;
  for (size_t i = 0; i < old; i++)
    if (ov[i] != SL_HNSW_NONE) hput(g, ok[i], ov[i]);
  sl_free(ok), sl_free(ov);
  return 0;
}

/* Linear probing deletion by backward shift. */
static void hdel(vv_graph *g, int64_t rowid) {
  size_t i, j;
  if (!g->hcap) return;
  for (i = hslot(g, rowid);; i = (i + 1) & (g->hcap - 1)) {
    if (g->hvals[i] == SL_HNSW_NONE) return;
    if (g->hkeys[i] == rowid) break;
  }
  g->hvals[i] = SL_HNSW_NONE;
  g->hn--;
  for (j = (i + 1) & (g->hcap - 1); g->hvals[j] != SL_HNSW_NONE; j = (j + 1) & (g->hcap - 1)) {
    size_t home = hslot(g, g->hkeys[j]);
    /* j's entry may move to i when i lies cyclically in [home, j) */
    if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
      g->hkeys[i] = g->hkeys[j];
      g->hvals[i] = g->hvals[j];
      g->hvals[j] = SL_HNSW_NONE;
      i = j;
    }
  }
}

/* Filled to at most 3/4 (12-24 bytes per row at 12 bytes a slot). */
static int hadd(vv_graph *g, int64_t rowid, uint32_t node) {
  if ((g->hn + 1) * 4 > g->hcap * 3 && hgrow(g)) return -1;
  hput(g, rowid, node);
  return 0;
}

/* ---- nodes ---- */

/* Room for node ids below need. The arrays grow by a quarter (at most a fifth of the
** slots unused, so bytes per vector stay near a node's own; realloc of large blocks
** moves pages, not bytes); a load trims them to its nodes (vv_graph_loaded). */
static int resize(vv_graph *g, uint32_t cap);

static int ensure(vv_graph *g, uint32_t need) {
  uint32_t cap = g->cap ? g->cap : 256;
  if (need <= g->cap) return 0;
  while (cap < need) cap = cap + cap / 4 > cap ? cap + cap / 4 : UINT32_MAX;
  return resize(g, cap);
}

/* A failed shrink keeps the larger block, which serves as well: only growing can fail. */
static int resize(vv_graph *g, uint32_t cap) {
  uint32_t old = g->cap;
  const int shrink = cap < old;
#define RESIZE(field, bytes) \
  do { void *p_ = sl_realloc(g->field, bytes); if (p_) g->field = p_; else if (!shrink) return -1; } while (0)
  RESIZE(level, cap * sizeof *g->level); RESIZE(dead, cap * sizeof *g->dead);
  RESIZE(rowid, cap * sizeof *g->rowid); RESIZE(chunk, cap * sizeof *g->chunk);
  RESIZE(slot, cap * sizeof *g->slot); RESIZE(upper, cap * sizeof *g->upper); RESIZE(dirty, cap * sizeof *g->dirty);
  RESIZE(l0, (size_t)cap * l0_stride(g) * sizeof *g->l0);
  RESIZE(codes, (size_t)cap * g->code_bytes);
#undef RESIZE
  for (uint32_t i = old; i < cap; i++) {
    g->level[i] = -1;
    g->dead[i] = g->dirty[i] = 0;
    g->upper[i] = NULL;
    g->l0[(size_t)i * l0_stride(g)] = 0;
  }
  g->cap = cap;
  return 0;
}

void vv_graph_touch(vv_graph *g, uint32_t node) {
  /* (reads only when node is marked or all is to be written: sl_hnsw_insert_batch's
  ** parallel step relies on that) */
  if (g->dirty[node] || (g->top_dirty & 2)) return;
  if (g->n_dirty == g->cap_dirty) {
    size_t cap = g->cap_dirty ? 2 * g->cap_dirty : 256;
    uint32_t *p = sl_realloc(g->dirty_list, cap * sizeof *p);
    if (!p) { g->top_dirty |= 2; return; }  /* 2: everything must be written */
    g->dirty_list = p;
    g->cap_dirty = cap;
  }
  g->dirty[node] = 1;
  g->dirty_list[g->n_dirty++] = node;
}

void vv_graph_clean(vv_graph *g) {
  for (size_t i = 0; i < g->n_dirty; i++) g->dirty[g->dirty_list[i]] = 0;
  if (g->cap_dirty > 4096) {  /* a bulk change's list: not kept in the cached image */
    sl_free(g->dirty_list);
    g->dirty_list = NULL;
    g->cap_dirty = 0;
  }
  g->n_dirty = 0;
  g->top_dirty = 0;
}

/* A node at id with its level set and its lists empty. */
static int place(vv_graph *g, uint32_t id, int64_t rowid, int level) {
  if (level > 0 && !(g->upper[id] = sl_calloc((size_t)level * up_stride(g), sizeof(uint32_t)))) return -1;
  g->level[id] = (int8_t)level;
  g->rowid[id] = rowid;
  g->chunk[id] = -1;
  g->slot[id] = -1;
  g->dead[id] = 0;
  g->l0[(size_t)id * l0_stride(g)] = 0;
  g->n_nodes++;
  return 0;
}

int vv_graph_add(vv_graph *g, int64_t rowid, int64_t chunk, int32_t slot, const float *vec, int level,
                 uint32_t *node, sl_err *err) {
  /* ids in use and free ids make up [0, n_nodes + n_free) */
  uint32_t id = g->n_free ? g->free_ids[g->n_free - 1] : g->n_nodes;
  if (ensure(g, id + 1) || place(g, id, rowid, level)) return sl_oom(err);
  if (hadd(g, rowid, id)) {
    sl_free(g->upper[id]);
    g->upper[id] = NULL;
    g->level[id] = -1;
    g->n_nodes--;
    return sl_oom(err);
  }
  if (g->n_free) g->n_free--;
  g->chunk[id] = chunk;
  g->slot[id] = slot;
  sl_quantize(&g->code_lay, vec, g->codes + (size_t)id * g->code_bytes);
  vv_graph_touch(g, id);
  *node = id;
  return SL_OK;
}

int vv_graph_loaded(vv_graph *g, sl_err *err) {
  uint32_t end = 0;
  for (uint32_t i = 0; i < g->cap; i++)
    if (g->level[i] >= 0) end = i + 1;
  /* no slack after a load: the image is often only read */
  if (end && end < g->cap && resize(g, end)) return sl_oom(err);
  g->n_free = 0;
  for (uint32_t i = 0; i < end; i++) {
    if (g->level[i] >= 0) continue;
    uint32_t *f = sl_realloc(g->free_ids, (g->n_free + 1) * sizeof *f);
    if (!f) return sl_oom(err);
    g->free_ids = f;
    f[g->n_free++] = i;
  }
  return SL_OK;
}

int vv_graph_put_node(vv_graph *g, uint32_t node, int64_t rowid, int dead, int level, const unsigned char *code,
                      const unsigned char *links, size_t links_bytes, sl_err *err) {
  size_t at = 0;
  if (node == SL_HNSW_NONE || level < 0 || level > SL_HNSW_MAX_LEVEL) return sl_fail(err, "node %u has level %d", node, level);
  if (ensure(g, node + 1)) return sl_oom(err);
  if (g->level[node] >= 0) return sl_fail(err, "node %u is stored twice", node);
  if (place(g, node, rowid, level)) return sl_oom(err);
  if (dead) g->dead[node] = 1, g->n_dead++;
  else if (vv_graph_find(g, rowid) != SL_HNSW_NONE) return sl_fail(err, "row %lld has two nodes", (long long)rowid);
  else if (hadd(g, rowid, node)) return sl_oom(err);
  memcpy(g->codes + (size_t)node * g->code_bytes, code, g->code_bytes);
  for (int l = 0; l <= level; l++) {
    uint32_t n, *dst;
    const size_t max = l ? (size_t)g->p.m : 2 * (size_t)g->p.m;
    if (at + 4 > links_bytes) return sl_fail(err, "node %u: links end before level %d", node, l);
    n = (uint32_t)links[at] | (uint32_t)links[at + 1] << 8 | (uint32_t)links[at + 2] << 16 | (uint32_t)links[at + 3] << 24;
    at += 4;
    if (n > max) return sl_fail(err, "node %u has %u links on level %d, over %zu", node, n, l, max);
    if (at + 4 * (size_t)n > links_bytes) return sl_fail(err, "node %u: links end inside level %d", node, l);
    dst = l ? g->upper[node] + (size_t)(l - 1) * up_stride(g) : g->l0 + (size_t)node * l0_stride(g);
    dst[0] = n;
    for (uint32_t i = 0; i < n; i++, at += 4)
      dst[1 + i] = (uint32_t)links[at] | (uint32_t)links[at + 1] << 8 | (uint32_t)links[at + 2] << 16 |
                   (uint32_t)links[at + 3] << 24;
  }
  if (at != links_bytes) return sl_fail(err, "node %u: %zu bytes of links after level %d", node, links_bytes - at, level);
  return SL_OK;
}

void vv_graph_set_pos(vv_graph *g, uint32_t node, int64_t chunk, int32_t slot) {
  g->chunk[node] = chunk;
  g->slot[node] = slot;
}

void vv_graph_kill(vv_graph *g, uint32_t node) {
  if (g->dead[node]) return;
  hdel(g, g->rowid[node]);
  g->dead[node] = 1;
  g->n_dead++;
  vv_graph_touch(g, node);
}

int vv_graph_rename(vv_graph *g, uint32_t node, int64_t rowid, sl_err *err) {
  hdel(g, g->rowid[node]);
  if (hadd(g, rowid, node)) return sl_oom(err);
  g->rowid[node] = rowid;
  vv_graph_touch(g, node);
  return SL_OK;
}

size_t vv_graph_links_max(const vv_graph *g) {
  return 4 * (l0_stride(g) + (size_t)SL_HNSW_MAX_LEVEL * up_stride(g));
}

static void put32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8), p[2] = (unsigned char)(v >> 16), p[3] = (unsigned char)(v >> 24);
}

size_t vv_graph_links_encode(const vv_graph *g, uint32_t node, unsigned char *buf) {
  size_t at = 0;
  for (int l = 0; l <= g->level[node]; l++) {
    const uint32_t *ln = l ? g->upper[node] + (size_t)(l - 1) * up_stride(g) : g->l0 + (size_t)node * l0_stride(g);
    for (uint32_t i = 0; i <= ln[0]; i++, at += 4) put32(buf + at, ln[i]);
  }
  return at;
}

vv_graph *vv_graph_clone(const vv_graph *g) {
  vv_graph *c = vv_graph_new(g->code_lay.dims, g->code_lay.metric, &g->p);
  if (!c) return NULL;
  if (ensure(c, g->cap) || (g->hcap && !(c->hkeys = sl_malloc(g->hcap * sizeof *c->hkeys))) ||
      (g->hcap && !(c->hvals = sl_malloc(g->hcap * sizeof *c->hvals))) ||
      (g->n_free && !(c->free_ids = sl_malloc(g->n_free * sizeof *c->free_ids)))) {
    vv_graph_free(c);
    return NULL;
  }
  c->top = g->top;
  c->n_nodes = g->n_nodes, c->n_dead = g->n_dead, c->n_free = g->n_free, c->hcap = g->hcap, c->hn = g->hn;
  memcpy(c->level, g->level, g->cap), memcpy(c->dead, g->dead, g->cap);
  memcpy(c->rowid, g->rowid, g->cap * sizeof *c->rowid), memcpy(c->chunk, g->chunk, g->cap * sizeof *c->chunk);
  memcpy(c->slot, g->slot, g->cap * sizeof *c->slot);
  memcpy(c->l0, g->l0, (size_t)g->cap * l0_stride(g) * sizeof *c->l0);
  memcpy(c->codes, g->codes, (size_t)g->cap * g->code_bytes);
  if (g->hcap) memcpy(c->hkeys, g->hkeys, g->hcap * sizeof *c->hkeys), memcpy(c->hvals, g->hvals, g->hcap * sizeof *c->hvals);
  if (g->n_free) memcpy(c->free_ids, g->free_ids, g->n_free * sizeof *c->free_ids);
  for (uint32_t i = 0; i < g->cap; i++) {
    if (g->level[i] <= 0) continue;
    size_t n = (size_t)g->level[i] * up_stride(g) * sizeof(uint32_t);
    if (!(c->upper[i] = sl_malloc(n))) {
      vv_graph_free(c);
      return NULL;
    }
    memcpy(c->upper[i], g->upper[i], n);
  }
  return c;
}

/* ---- the node store ---- */

static uint32_t st_capacity(void *ctx) { return ((vv_graph *)ctx)->cap; }

static int st_level(void *ctx, uint32_t node) {
  vv_graph *g = ctx;
  return node < g->cap ? g->level[node] : -1;
}

static int st_live(void *ctx, uint32_t node) {
  vv_graph *g = ctx;
  return node < g->cap && g->level[node] >= 0 && !g->dead[node];
}

static const uint32_t *st_links(void *ctx, uint32_t node, int level, uint32_t *n) {
  vv_graph *g = ctx;
  const uint32_t *ln = level ? g->upper[node] + (size_t)(level - 1) * up_stride(g) : g->l0 + (size_t)node * l0_stride(g);
  *n = ln[0];
  return ln + 1;
}

static int st_set_links(void *ctx, uint32_t node, int level, const uint32_t *ids, uint32_t n, sl_err *err) {
  vv_graph *g = ctx;
  uint32_t *ln = level ? g->upper[node] + (size_t)(level - 1) * up_stride(g) : g->l0 + (size_t)node * l0_stride(g);
  (void)err;
  ln[0] = n;
  memmove(ln + 1, ids, n * sizeof *ids);
  vv_graph_touch(g, node);
  return SL_OK;
}

static const void *st_code(void *ctx, uint32_t node) {
  vv_graph *g = ctx;
  return g->codes + (size_t)node * g->code_bytes;
}

/* The int8 estimate of quant.h. Cosine, the common case, in one dot product: the codes
** carry their sums of squares (the int8 cosine kernel would compute both norms again). */
static float st_distance(void *ctx, const void *query, uint32_t node) {
  vv_graph *g = ctx;
  const unsigned char *code = g->codes + (size_t)node * g->code_bytes;
  float d = 0;
  sl_err err;
  if (g->dot) {
    float qp[2], cp[2];
    memcpy(qp, (const unsigned char *)query + g->code_lay.qvec_bytes, sizeof qp);
    memcpy(cp, code + g->code_lay.qvec_bytes, sizeof cp);
    if (qp[1] <= 0 || cp[1] <= 0) return 1.0f;
    return 1.0f + g->dot(query, code, g->code_lay.dims) / sqrtf(qp[1] * cp[1]);
  }
  sl_quant_distances(&g->code_lay, query, code, 0, 1, &d, &err);
  return d;
}

static int st_remove(void *ctx, uint32_t node, sl_err *err) {
  vv_graph *g = ctx;
  uint32_t *f = sl_realloc(g->free_ids, (g->n_free + 1) * sizeof *f);
  if (!f) return sl_oom(err);
  g->free_ids = f;
  f[g->n_free++] = node;
  sl_free(g->upper[node]);
  g->upper[node] = NULL;
  if (g->dead[node]) g->n_dead--;
  else hdel(g, g->rowid[node]);
  g->level[node] = -1;
  g->dead[node] = 0;
  g->n_nodes--;
  vv_graph_touch(g, node);
  return SL_OK;
}

void vv_graph_store(vv_graph *g, sl_hnsw_store *s) {
  s->ctx = g;
  s->top = &g->top;
  s->capacity = st_capacity;
  s->level = st_level;
  s->live = st_live;
  s->links = st_links;
  s->set_links = st_set_links;
  s->code = st_code;
  s->distance = st_distance;
  s->remove = st_remove;
}
