/*
** distance_isa.h: what distance.c shares with its per-ISA files (private to
** ext/kernels/ and the tests).
**
** Each level fills in the entries it has a faster version of, over the table of the
** level below: scalar first, then AVX2, then AVX-512 (whose fill also checks cpuid for
** VPOPCNTDQ). A metric a level does not speed up keeps the lower level's function, so
** no ISA file carries a copy of code that would gain nothing from its instructions.
*/
#ifndef SEMLITE_DISTANCE_ISA_H
#define SEMLITE_DISTANCE_ISA_H

#include <math.h>

#include "distance.h"
#include "kernels.h"

#define SL_VEC_NTYPES 3
#define SL_NMETRICS 5

/* Indexed [sl_vec_type][sl_metric]; NULL where the pair is not defined. */
/* sl_distance_many's work for one pair where a level has a kernel that scores many
** vectors at once faster than one call each; NULL elsewhere. Equal, bit for bit, to fn. */
typedef void (*sl_distance_many_fn)(const void *q, const void *base, size_t count, size_t n,
                                    float *out);

typedef struct sl_distance_table {
  sl_distance_fn fn[SL_VEC_NTYPES][SL_NMETRICS];
  sl_distance_many_fn many[SL_VEC_NTYPES][SL_NMETRICS];
} sl_distance_table;

/* Overwrite the entries each level implements. No-ops off x86; called only when the
** CPU and the OS support the level (dispatch.c's sl_cpu_best_isa). */
void sl_distance_fill_avx2(sl_distance_table *t);
void sl_distance_fill_avx512(sl_distance_table *t);

/* The function for a pair at one ISA level (capped at what this CPU runs), so the tests
** can check and time every level in one process; sl_distance_for() is this at
** sl_kernels_get()->isa. */
sl_distance_fn sl_distance_for_isa(sl_isa isa, sl_vec_type type, sl_metric metric);
int sl_distance_many_isa(sl_isa isa, sl_vec_type type, sl_metric metric, const void *q,
                         const void *base, size_t count, size_t n, float *out);

/* The last step of cosine at every level, in double as sqlite-vec does it, so that
** exact integer sums (int8) give the same float as sqlite-vec's. 0/0 (a zero vector)
** is NaN, which SQLite returns as NULL, as sqlite-vec does. */
static inline float sl_cosine_finish(double dot, double xx, double yy) {
  return (float)(1.0 - dot / (sqrt(xx) * sqrt(yy)));
}

#endif
