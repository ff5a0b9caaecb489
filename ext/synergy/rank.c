/*
** rank.c: the rows of synergy_links and synergy_paths as a user reads them
** (docs/synergy.md, "Rows"): of paths already sorted best first, one row per sequence of
** units (a unit is a node's device, else the node; a member of a group helper that is a
** node counts as that group's unit), the others of the same sequence kept as that row's
** alternatives, and at most cfg->per_trigger rows per trigger unit and depth; a path that
** comes back to a unit (a group and its own member) is no row. The order
** stays the search's. Cost O(P) for P paths (one hash probe each), memory O(P).
*/
#include <stdlib.h>
#include <string.h>

#include "../base/alloc.h"
#include "synergy.h"

long sl_syn_node_index(const sl_syn_home *h, const char *id) {
  size_t lo = 0, hi = h->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = strcmp(h->nodes[mid].id, id);
    if (c == 0) return (long)mid;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}

static int by_unit(const void *x, const void *y, void *arg) {
  const char *const *unit = arg;
  return strcmp(unit[*(const uint32_t *)x], unit[*(const uint32_t *)y]);
}

/* Per node a small integer naming its unit: nodes of one device share it, and a member of
** a group that is itself a node takes the group's. */
static int units_build(const sl_syn_home *h, uint32_t *of_node, uint32_t *n_units, sl_err *err) {
  const char **unit = sl_malloc((h->n ? h->n : 1) * sizeof *unit);
  uint32_t *order = sl_malloc((h->n ? h->n : 1) * sizeof *order);
  if (!unit || !order) {
    sl_free(unit);
    sl_free(order);
    return sl_oom(err);
  }
  for (size_t i = 0; i < h->n; i++) {
    const sl_syn_node *nd = &h->nodes[i];
    long g = nd->group_id ? sl_syn_node_index(h, nd->group_id) : -1;
    if (g >= 0) nd = &h->nodes[g];
    unit[i] = nd->device_id ? nd->device_id : nd->id;
    order[i] = (uint32_t)i;
  }
  qsort_r(order, h->n, sizeof *order, by_unit, unit);
  *n_units = 0;
  for (size_t k = 0; k < h->n; k++) {
    if (k > 0 && strcmp(unit[order[k]], unit[order[k - 1]]) != 0) (*n_units)++;
    of_node[order[k]] = *n_units;
  }
  if (h->n) (*n_units)++;
  sl_free(unit);
  sl_free(order);
  return SL_OK;
}

static uint64_t key_hash(const uint32_t *u, int depth) {
  uint64_t x = 1469598103934665603ull ^ (uint64_t)depth;
  for (int i = 0; i < depth; i++) x = (x ^ u[i]) * 1099511628211ull;
  return x ^ (x >> 29);
}

void sl_syn_rows_free(sl_syn_rows *r) {
  sl_free(r->rows);
  sl_free(r->alt_first);
  sl_free(r->alts);
  memset(r, 0, sizeof *r);
}

int sl_syn_rank(const sl_syn_home *h, const sl_syn_config *cfg, const sl_syn_path *paths, size_t n,
                sl_syn_rows *out, sl_err *err) {
  uint32_t *unit = sl_malloc((h->n ? h->n : 1) * sizeof *unit), n_units = 0;
  size_t cap = 16, *slot = NULL, *next_alt = NULL, *count = NULL;
  size_t *row_of = NULL;       /* per path: its row, or (size_t)-1 when capped away */
  size_t *row_src = NULL;      /* per row: its path */
  int rc = SL_ERROR;

  memset(out, 0, sizeof *out);
  while (cap < 2 * n) cap *= 2;
  if (!unit || units_build(h, unit, &n_units, err)) goto done;
  slot = sl_malloc(cap * sizeof *slot);
  count = sl_calloc((size_t)(n_units ? n_units : 1) * (SL_SYN_MAX_DEPTH + 1), sizeof *count);
  row_of = sl_malloc((n ? n : 1) * sizeof *row_of);
  row_src = sl_malloc((n ? n : 1) * sizeof *row_src);
  out->rows = sl_malloc((n ? n : 1) * sizeof *out->rows);
  out->alts = sl_malloc((n ? n : 1) * sizeof *out->alts);
  out->alt_first = sl_calloc(n + 1, sizeof *out->alt_first);
  next_alt = sl_calloc(n + 1, sizeof *next_alt);
  if (!slot || !count || !row_of || !row_src || !out->rows || !out->alts || !out->alt_first || !next_alt) {
    sl_oom(err);
    goto done;
  }
  for (size_t i = 0; i < cap; i++) slot[i] = (size_t)-1;

  /* First pass: each path is a new row, an alternative of the row of its units, or capped. */
  for (size_t p = 0; p < n; p++) {
    uint32_t u[SL_SYN_MAX_DEPTH];
    const sl_syn_path *q = &paths[p];
    size_t s;
    int repeats = 0;
    for (int i = 0; i < q->depth; i++) {
      u[i] = unit[q->node[i]];
      for (int j = 0; j < i; j++) repeats |= u[j] == u[i];
    }
    /* A group and its member are one unit: no row drives a group from itself. */
    if (repeats) {
      row_of[p] = (size_t)-1;
      continue;
    }
    for (s = key_hash(u, q->depth) & (cap - 1); slot[s] != (size_t)-1; s = (s + 1) & (cap - 1)) {
      const sl_syn_path *o = &paths[slot[s]];
      int same = o->depth == q->depth;
      for (int i = 0; same && i < q->depth; i++) same = unit[o->node[i]] == u[i];
      if (same) break;
    }
    if (slot[s] != (size_t)-1) {
      size_t r = row_of[slot[s]];
      row_of[p] = r;
      if (r != (size_t)-1) out->alt_first[r + 1]++;
      continue;
    }
    slot[s] = p;
    if (count[(size_t)u[0] * (SL_SYN_MAX_DEPTH + 1) + (size_t)q->depth]++ >= cfg->per_trigger) {
      row_of[p] = (size_t)-1;
      continue;
    }
    row_of[p] = out->n;
    row_src[out->n] = p;
    out->rows[out->n++] = *q;
  }
  /* Second pass: the alternatives of each row, best first, after its offset. */
  for (size_t r = 0; r < out->n; r++) out->alt_first[r + 1] += out->alt_first[r];
  for (size_t r = 0; r < out->n; r++) next_alt[r] = out->alt_first[r];
  for (size_t p = 0; p < n; p++) {
    size_t r = row_of[p];
    if (r == (size_t)-1 || row_src[r] == p) continue;
    out->alts[next_alt[r]++] = paths[p];
  }
  out->n_alts = out->alt_first[out->n];
  rc = SL_OK;
done:
  sl_free(unit);
  sl_free(slot);
  sl_free(count);
  sl_free(row_of);
  sl_free(row_src);
  sl_free(next_alt);
  if (rc) sl_syn_rows_free(out);
  return rc;
}
