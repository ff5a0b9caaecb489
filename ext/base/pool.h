/*
** pool.h: data parallelism for one forward pass on the machine's cores.
**
** sl_parallel_for splits [0, n) into chunks that the calling thread and the pool's idle
** workers take in turn. The caller always works, so a call never waits for the pool:
** when another forward pass already has the workers (many connections embedding at
** once), the caller simply runs all its chunks itself. That gives both cores to a lone
** call and no oversubscription under concurrency. The pool has (cores - 1) workers,
** started on first use; it is process-wide state next to the model registry.
*/
#ifndef SEMLITE_POOL_H
#define SEMLITE_POOL_H

#include <stddef.h>

/* Runs fn(ctx, begin, end) over disjoint ranges covering [0, n), each at most grain
** long. Returns when every range is done. fn must not call sl_parallel_for. */
void sl_parallel_for(size_t n, size_t grain, void (*fn)(void *ctx, size_t begin, size_t end),
                     void *ctx);

/* Workers the pool runs (0 on a single-core machine). */
int sl_pool_workers(void);

/* Caps the threads one sl_parallel_for uses, the caller included (the `threads` limit):
** n >= 1; above sl_pool_workers() + 1 it has no further effect. Calls already running
** keep the helpers they have. */
void sl_pool_set_threads(int n);

#endif
