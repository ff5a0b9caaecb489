/*
** progress.h: the process-wide table of long work in flight, read by the semlite_progress
** virtual table from any connection of the process (docs/operations.md, "Watching long
** work"). A job is one long statement's work: embed_each / rerank_each over an array
** (total known), a semlite_vec table's embed-on-insert in one transaction (total = rows
** handed in so far; it grows while the INSERT reads its source).
**
** Cheap enough to call per batch or per row: one mutex, a fixed table of SL_PROGRESS_MAX
** slots. When every slot is taken a job runs unwatched (begin returns 0; the other
** calls ignore 0).
*/
#ifndef SEMLITE_PROGRESS_H
#define SEMLITE_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#define SL_PROGRESS_MAX 64

/* Starts a job: op ("embed_each", "embed-on-insert", ...), target (a model or table
** name, truncated to 127 bytes), total (-1: unknown). Returns its handle, or 0. */
int sl_progress_begin(const char *op, const char *target, int64_t total);
/* Adds to the job's done and total counts. */
void sl_progress_add(int handle, int64_t done, int64_t total);
/* Sets the job's done count. */
void sl_progress_set(int handle, int64_t done);
/* Ends the job; its row leaves semlite_progress. 0 is ignored. */
void sl_progress_end(int handle);

/* Also prints each job's progress to stderr at most every interval_ms (and once at its end,
** when it ran at least that long): "semlite: embed-on-insert notes: 12800 (61/s)".
** 0 turns it off (the default). For the sqlite3 shell, which cannot read semlite_progress
** while its one statement runs. */
void sl_progress_report(int64_t interval_ms);

typedef struct sl_progress_row {
  int64_t id;              /* a process-wide sequence number of jobs */
  char op[24];
  char target[128];
  int64_t done, total;     /* total -1: unknown */
  double elapsed_ms;
} sl_progress_row;

/* Copies the jobs in flight, oldest first, into rows (SL_PROGRESS_MAX entries); returns
** how many. */
size_t sl_progress_snapshot(sl_progress_row *rows);

#endif
