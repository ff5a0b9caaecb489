/*
** ha_history.h: which entity changes tend to follow which, from a home's recorded state
** changes, with no SQLite (ext/sql/synergy/sql_synergy_history.c reads HA's recorder
** into series and writes the pairs into synergy_history).
**
** For a trigger series t (n_t changes) and an action series a (n_a changes) over a span
** of T seconds, with a window of W seconds:
**   observed = the changes of t followed by at least one change of a within (0, W]
**   expected = n_t * (1 - exp(-n_a * W / T))   (a's changes as a Poisson process)
**   lift = observed / expected, support = n_t.
** Pairs with observed = 0 or support < min_support are left out. docs/synergy.md
** ("History") says what this can and cannot find.
*/
#ifndef SEMLITE_HA_HISTORY_H
#define SEMLITE_HA_HISTORY_H

#include <stddef.h>

#include "../base/status.h"

/* One entity's state changes, times in seconds (ascending). */
typedef struct sl_ha_series {
  const char *entity_id;
  int trigger, action;          /* may start a pair / end one */
  const double *times;
  size_t n;
} sl_ha_series;

typedef struct sl_ha_history_opts {
  double window_s;              /* W, > 0 */
  long long min_support;        /* pairs whose trigger changed fewer times are left out */
  long long max_work;           /* action changes looked at in all windows together */
  double span_s;                /* T: the time the series cover, > 0 */
  int (*interrupted)(void *ctx);  /* polled now and then: non-zero stops with an error */
  void *ctx;
} sl_ha_history_opts;

typedef struct sl_ha_pair {
  size_t trigger, action;       /* indexes into the series */
  long long support, observed;
  double expected, lift;
} sl_ha_pair;

/* The pairs, ordered by trigger then action series. *out is malloc'ed (free it); on an
** error it is NULL: "interrupted", or "more than N action changes in the windows
** (max_work): ...". */
int sl_ha_history_pairs(const sl_ha_series *s, size_t n, const sl_ha_history_opts *o, sl_ha_pair **out,
                        size_t *n_out, sl_err *err);

#endif
