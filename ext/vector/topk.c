/*
** topk.c: the k best hits (a bounded max-heap ordered by distance, then rowid or slot)
** and the distance range of a query (topk.h).
*/
#include "../base/alloc.h"
#include "topk.h"

#include <math.h>
#include <stdlib.h>

/* a ranks after b: farther, or as far with a larger rowid (by_slot: in a later chunk,
** or an earlier slot of the same chunk). */
static int worse(int by_slot, const sl_knn_hit *a, const sl_knn_hit *b) {
  if (a->distance != b->distance) return a->distance > b->distance;
  if (!by_slot) return a->rowid > b->rowid;
  return a->chunk_id > b->chunk_id || (a->chunk_id == b->chunk_id && a->offset < b->offset);
}

int sl_topk_init(sl_topk *t, size_t k, sl_err *err) {
  t->k = k;
  t->n = 0;
  t->h = NULL;
  t->by_slot = 0;
  if (k && !(t->h = sl_malloc(k * sizeof *t->h))) return sl_fail_code(err, SL_CODE_NOMEM, "out of memory for k = %zu", k);
  return SL_OK;
}

void sl_topk_free(sl_topk *t) {
  sl_free(t->h);
  t->h = NULL;
  t->n = t->k = 0;
}

int sl_topk_wants(const sl_topk *t, const sl_knn_hit *hit) {
  if (t->k == 0) return 0;
  return t->n < t->k || worse(t->by_slot, &t->h[0], hit);
}

static void sift_down(int by_slot, sl_knn_hit *h, size_t n, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && worse(by_slot, &h[l], &h[m])) m = l;
    if (r < n && worse(by_slot, &h[r], &h[m])) m = r;
    if (m == i) return;
    sl_knn_hit tmp = h[i];
    h[i] = h[m];
    h[m] = tmp;
    i = m;
  }
}

void sl_topk_push(sl_topk *t, const sl_knn_hit *hit) {
  if (!sl_topk_wants(t, hit)) return;
  if (t->n < t->k) {
    size_t i = t->n++;
    t->h[i] = *hit;
    while (i > 0 && worse(t->by_slot, &t->h[i], &t->h[(i - 1) / 2])) {
      sl_knn_hit tmp = t->h[i];
      t->h[i] = t->h[(i - 1) / 2];
      t->h[(i - 1) / 2] = tmp;
      i = (i - 1) / 2;
    }
  } else {
    t->h[0] = *hit;
    sift_down(t->by_slot, t->h, t->n, 0);
  }
}

void sl_topk_sort(sl_topk *t) {
  /* Heapsort: move the worst to the end repeatedly, leaving best first. */
  for (size_t n = t->n; n > 1; n--) {
    sl_knn_hit tmp = t->h[0];
    t->h[0] = t->h[n - 1];
    t->h[n - 1] = tmp;
    sift_down(t->by_slot, t->h, n - 1, 0);
  }
}

void sl_knn_range_init(sl_knn_range *r) {
  r->lo = -INFINITY;
  r->hi = INFINITY;
  r->lo_strict = r->hi_strict = 0;
}

int sl_knn_range_has(const sl_knn_range *r, float d) {
  const double x = d;
  if (isnan(x)) return 0;
  if (r->lo_strict ? !(x > r->lo) : !(x >= r->lo)) return 0;
  if (r->hi_strict ? !(x < r->hi) : !(x <= r->hi)) return 0;
  return 1;
}
