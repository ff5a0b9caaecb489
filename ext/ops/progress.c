/*
** progress.c: the table of long work in flight (progress.h).
*/
#include "progress.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"

typedef struct slot {
  int used;
  int64_t id, done, total;
  uint64_t t0;             /* sl_metrics_now() at begin */
  uint64_t last_report;
  char op[24], target[128];
} slot;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static slot slots[SL_PROGRESS_MAX];
static int64_t next_id = 1;
static uint64_t report_ns;     /* sl_progress_report: 0 = off */

/* One line per job at most every report_ns, under the lock. */
static void report(slot *s, int final) {
  uint64_t now;
  double secs;
  if (!report_ns) return;
  now = sl_metrics_now();
  if (!final && now - s->last_report < report_ns) return;
  s->last_report = now;
  secs = (double)(now - s->t0) / 1e9;
  if (s->total >= 0)
    fprintf(stderr, "semlite: %s %s: %lld/%lld (%.0f/s)%s\n", s->op, s->target, (long long)s->done,
            (long long)s->total, secs > 0 ? (double)s->done / secs : 0.0, final ? " done" : "");
  else
    fprintf(stderr, "semlite: %s %s: %lld (%.0f/s)%s\n", s->op, s->target, (long long)s->done,
            secs > 0 ? (double)s->done / secs : 0.0, final ? " done" : "");
}

void sl_progress_report(int64_t interval_ms) {
  pthread_mutex_lock(&lock);
  report_ns = interval_ms > 0 ? (uint64_t)interval_ms * 1000000u : 0;
  pthread_mutex_unlock(&lock);
}

int sl_progress_begin(const char *op, const char *target, int64_t total) {
  int handle = 0;
  pthread_mutex_lock(&lock);
  for (int i = 0; i < SL_PROGRESS_MAX; i++) {
    if (slots[i].used) continue;
    slot *s = &slots[i];
    s->used = 1;
    s->id = next_id++;
    s->done = 0;
    s->total = total;
    s->t0 = s->last_report = sl_metrics_now();
    snprintf(s->op, sizeof s->op, "%s", op ? op : "");
    snprintf(s->target, sizeof s->target, "%s", target ? target : "");
    handle = i + 1;
    break;
  }
  pthread_mutex_unlock(&lock);
  return handle;
}

void sl_progress_add(int handle, int64_t done, int64_t total) {
  if (handle <= 0 || handle > SL_PROGRESS_MAX) return;
  pthread_mutex_lock(&lock);
  slots[handle - 1].done += done;
  if (slots[handle - 1].total >= 0) slots[handle - 1].total += total;
  if (done) report(&slots[handle - 1], 0);
  pthread_mutex_unlock(&lock);
}

void sl_progress_set(int handle, int64_t done) {
  if (handle <= 0 || handle > SL_PROGRESS_MAX) return;
  pthread_mutex_lock(&lock);
  slots[handle - 1].done = done;
  report(&slots[handle - 1], 0);
  pthread_mutex_unlock(&lock);
}

void sl_progress_end(int handle) {
  if (handle <= 0 || handle > SL_PROGRESS_MAX) return;
  pthread_mutex_lock(&lock);
  if (slots[handle - 1].done && sl_metrics_now() - slots[handle - 1].t0 >= report_ns) report(&slots[handle - 1], 1);
  slots[handle - 1].used = 0;
  pthread_mutex_unlock(&lock);
}

size_t sl_progress_snapshot(sl_progress_row *rows) {
  size_t n = 0;
  uint64_t now = sl_metrics_now();
  pthread_mutex_lock(&lock);
  for (int i = 0; i < SL_PROGRESS_MAX; i++) {
    const slot *s = &slots[i];
    if (!s->used) continue;
    sl_progress_row *r = &rows[n++];
    r->id = s->id;
    memcpy(r->op, s->op, sizeof r->op);
    memcpy(r->target, s->target, sizeof r->target);
    r->done = s->done;
    r->total = s->total;
    r->elapsed_ms = (double)(now - s->t0) / 1e6;
  }
  pthread_mutex_unlock(&lock);
  /* oldest first: insertion sort by id (at most SL_PROGRESS_MAX rows) */
  for (size_t i = 1; i < n; i++) {
    sl_progress_row r = rows[i];
    size_t j = i;
    for (; j > 0 && rows[j - 1].id > r.id; j--) rows[j] = rows[j - 1];
    rows[j] = r;
  }
  return n;
}
