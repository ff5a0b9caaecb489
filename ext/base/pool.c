/*
** pool.c: the worker pool behind sl_parallel_for (see pool.h).
**
** One job slot. A caller that finds it free publishes its job and wakes the workers;
** everyone claims chunks with an atomic counter. A caller that finds the slot taken runs
** its job alone. Workers spin briefly after a job before sleeping, because one forward
** pass issues its parallel regions back to back (dozens per pass) and a futex wake per
** region would cost more than the short regions themselves. The threads limit
** (sl_pool_set_threads) caps how many workers join one job: the ones past it leave it at
** once.
*/
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 63
#define SPIN_NS 200000   /* how long an idle worker polls before it sleeps */

typedef struct job {
  void (*fn)(void *, size_t, size_t);
  void *ctx;
  size_t n, grain;
  atomic_size_t next;        /* first unclaimed index */
  int max_helpers;           /* workers allowed in (the threads limit) */
  atomic_int helpers;        /* workers that came */
} job;

static pthread_once_t start_once = PTHREAD_ONCE_INIT;
static int n_workers;
static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slot_cond = PTHREAD_COND_INITIALIZER;
static job *_Atomic current;            /* the published job, or NULL */
static atomic_uint generation;          /* bumped at each publish */
static atomic_int busy_workers;         /* workers inside the current job */
static atomic_flag slot_taken = ATOMIC_FLAG_INIT;
static atomic_int max_threads = 0;      /* sl_pool_set_threads; 0: every core */

static void run_chunks(job *j) {
  size_t b;
  while ((b = atomic_fetch_add_explicit(&j->next, j->grain, memory_order_relaxed)) < j->n) {
    size_t e = b + j->grain < j->n ? b + j->grain : j->n;
    j->fn(j->ctx, b, e);
  }
}

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *worker_main(void *arg) {
  unsigned seen = 0;
  (void)arg;
  for (;;) {
    long long spin_until = now_ns() + SPIN_NS;
    unsigned gen;
    while ((gen = atomic_load_explicit(&generation, memory_order_acquire)) == seen) {
      if (now_ns() > spin_until) {
        pthread_mutex_lock(&slot_lock);
        while (atomic_load(&generation) == seen) pthread_cond_wait(&slot_cond, &slot_lock);
        pthread_mutex_unlock(&slot_lock);
      } else {
        sched_yield();
      }
    }
    seen = gen;
    /* Register before looking at the job, so the caller cannot retire it under us. */
    atomic_fetch_add(&busy_workers, 1);
    job *j = atomic_load(&current);
    if (j && atomic_fetch_add(&j->helpers, 1) < j->max_helpers) run_chunks(j);
    atomic_fetch_sub(&busy_workers, 1);
  }
  return NULL;
}

static void start_workers(void) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  int want = cores > 1 ? (int)(cores - 1) : 0;
  if (want > MAX_WORKERS) want = MAX_WORKERS;
  for (int i = 0; i < want; i++) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, worker_main, NULL) == 0) n_workers++;
    pthread_attr_destroy(&attr);
  }
}

int sl_pool_workers(void) {
  pthread_once(&start_once, start_workers);
  return n_workers;
}

void sl_pool_set_threads(int n) {
  atomic_store(&max_threads, n);
}

void sl_parallel_for(size_t n, size_t grain, void (*fn)(void *, size_t, size_t), void *ctx) {
  int limit = atomic_load_explicit(&max_threads, memory_order_relaxed);
  job j = {fn, ctx, n, grain ? grain : 1, 0, sl_pool_workers(), 0};
  if (n == 0) return;
  if (limit > 0 && limit - 1 < j.max_helpers) j.max_helpers = limit - 1;
  if (n <= j.grain || j.max_helpers == 0 || atomic_flag_test_and_set(&slot_taken)) {
    run_chunks(&j);                    /* alone: too small, no helpers allowed, or the pool is busy */
    return;
  }
  atomic_store(&current, &j);
  pthread_mutex_lock(&slot_lock);
  atomic_fetch_add_explicit(&generation, 1, memory_order_release);
  pthread_cond_broadcast(&slot_cond);
  pthread_mutex_unlock(&slot_lock);
  run_chunks(&j);
  /* Retire the job: no new worker may pick it up, then wait for those inside it. */
  atomic_store(&current, NULL);
  while (atomic_load(&busy_workers) > 0) sched_yield();
  atomic_flag_clear(&slot_taken);
}
