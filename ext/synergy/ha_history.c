/*
** ha_history.c: the lift of each (trigger, action) pair of series (ha_history.h). Every
** action change goes into one list sorted by time; each trigger change scans the part of
** it inside its window once, counting each action at most once per trigger change. The
** cost is the number of action changes met in windows, bounded by max_work.
*/
#include "../base/alloc.h"
#include "ha_history.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct event {
  double t;
  size_t series;
} event;

static int cmp_event(const void *x, const void *y) {
  const event *a = x, *b = y;
  if (a->t != b->t) return a->t < b->t ? -1 : 1;
  return a->series < b->series ? -1 : a->series > b->series;
}

/* The first event after t. */
static size_t after(const event *e, size_t n, double t) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (e[mid].t <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

int sl_ha_history_pairs(const sl_ha_series *s, size_t n, const sl_ha_history_opts *o, sl_ha_pair **out,
                        size_t *n_out, sl_err *err) {
  event *ev = NULL;
  long long *count = NULL, work = 0;
  size_t *stamp = NULL, n_ev = 0, n_pairs = 0, cap = 0, polls = 0;
  sl_ha_pair *pairs = NULL;
  int rc = SL_OK;
  *out = NULL;
  *n_out = 0;
  for (size_t i = 0; i < n; i++)
    if (s[i].action) n_ev += s[i].n;
  if (!(ev = sl_malloc((n_ev + 1) * sizeof *ev)) || !(count = sl_calloc(n + 1, sizeof *count)) ||
      !(stamp = sl_calloc(n + 1, sizeof *stamp))) {
    rc = sl_oom(err);
    goto done;
  }
  n_ev = 0;
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; s[i].action && k < s[i].n; k++) ev[n_ev++] = (event){s[i].times[k], i};
  qsort(ev, n_ev, sizeof *ev, cmp_event);
  for (size_t t = 0; t < n && rc == SL_OK; t++) {
    if (!s[t].trigger || s[t].n == 0 || (long long)s[t].n < o->min_support) continue;
    memset(count, 0, n * sizeof *count);
    for (size_t k = 0; k < s[t].n && rc == SL_OK; k++) {
      double x = s[t].times[k];
      if ((++polls & 1023) == 0 && o->interrupted && o->interrupted(o->ctx)) {
        rc = sl_fail(err, "interrupted");
        break;
      }
      /* stamp: 1 + the index of the trigger change that last counted the series */
      for (size_t j = after(ev, n_ev, x); j < n_ev && ev[j].t <= x + o->window_s; j++) {
        size_t a = ev[j].series;
        if (++work > o->max_work) {
          rc = sl_fail(err, "more than %lld action changes in the windows (max_work): the recorder holds too "
                            "much for one call; shorten the span with \"days\" or raise \"max_work\"", o->max_work);
          break;
        }
        if (a != t && stamp[a] != k + 1) {
          stamp[a] = k + 1;
          count[a]++;
        }
      }
    }
    for (size_t a = 0; a < n && rc == SL_OK; a++) {
      sl_ha_pair *p;
      stamp[a] = 0;
      if (!count[a]) continue;
      if (n_pairs == cap) {
        size_t want = cap ? cap * 2 : 64;
        sl_ha_pair *grown = sl_realloc(pairs, want * sizeof *pairs);
        if (!grown) {
          rc = sl_oom(err);
          break;
        }
        pairs = grown;
        cap = want;
      }
      p = &pairs[n_pairs++];
      p->trigger = t;
      p->action = a;
      p->support = (long long)s[t].n;
      p->observed = count[a];
      p->expected = (double)s[t].n * -expm1(-(double)s[a].n * o->window_s / o->span_s);
      p->lift = (double)p->observed / p->expected;
    }
  }
done:
  sl_free(ev);
  sl_free(count);
  sl_free(stamp);
  if (rc) {
    sl_free(pairs);
    return SL_ERROR;
  }
  *out = pairs;
  *n_out = n_pairs;
  return SL_OK;
}
