/*
** sql_progress.c: semlite_progress, the long work in flight in this process
** (ext/ops/progress.h), readable from any connection while another one runs it, and
** semlite_progress_report(interval_ms), which prints the same to stderr for the sqlite3
** shell (docs/operations.md, "Watching long work").
**
**   semlite_progress(id, op, target, done, total, elapsed_ms, rate, eta_ms)
**
** total is NULL when unknown (embed-on-insert: it grows while the INSERT reads its
** source); rate is done per second; eta_ms is NULL without a total or a rate.
*/
#include <stdlib.h>

#include "../base/alloc.h"
#include "../ops/progress.h"
#include "sql_snapshot.h"

enum { P_ID, P_OP, P_TARGET, P_DONE, P_TOTAL, P_ELAPSED, P_RATE, P_ETA };

static int progress_snapshot(void *aux, void **rows, size_t *n, sl_err *err) {
  sl_progress_row *r = sl_malloc(SL_PROGRESS_MAX * sizeof *r);
  if (!r) return sl_oom(err);
  *n = sl_progress_snapshot(r);
  *rows = r;
  return SL_OK;
}

static void progress_column(const void *rows, size_t i, sqlite3_context *ctx, int col) {
  const sl_progress_row *r = (const sl_progress_row *)rows + i;
  double rate = r->elapsed_ms > 0 ? (double)r->done * 1000.0 / r->elapsed_ms : 0;
  switch (col) {
    case P_ID: sqlite3_result_int64(ctx, r->id); break;
    case P_OP: sqlite3_result_text(ctx, r->op, -1, SQLITE_TRANSIENT); break;
    case P_TARGET: sqlite3_result_text(ctx, r->target, -1, SQLITE_TRANSIENT); break;
    case P_DONE: sqlite3_result_int64(ctx, r->done); break;
    case P_TOTAL:
      if (r->total >= 0) sqlite3_result_int64(ctx, r->total);
      else sqlite3_result_null(ctx);
      break;
    case P_ELAPSED: sqlite3_result_double(ctx, r->elapsed_ms); break;
    case P_RATE:
      if (r->elapsed_ms > 0) sqlite3_result_double(ctx, rate);
      else sqlite3_result_null(ctx);
      break;
    case P_ETA:
      if (r->total >= 0 && rate > 0) sqlite3_result_double(ctx, (double)(r->total - r->done) * 1000.0 / rate);
      else sqlite3_result_null(ctx);
      break;
  }
}

static const sl_snapshot_def progress_def = {
  "semlite_progress",
  "CREATE TABLE x(id INTEGER, op TEXT, target TEXT, done INTEGER, total INTEGER, elapsed_ms REAL, "
  "rate REAL, eta_ms REAL)",
  SQLITE_VTAB_INNOCUOUS, progress_snapshot, progress_column, NULL,
  "it lists long work in flight; rows go when the work ends (semlite_progress_report(ms) prints them "
  "to stderr)"};

SL_SNAPSHOT_MODULE(sl_progress_module, progress_def, sl_snapshot_read_only);

/* semlite_progress_report(interval_ms): 0 turns it off; returns interval_ms. */
void sl_sql_progress_report(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  if (sqlite3_value_type(argv[0]) != SQLITE_INTEGER) {
    sl_sql_errorf(ctx, "semlite_progress_report", "the interval must be an INTEGER of milliseconds, got %s",
                  sl_sql_type_name(argv[0]));
    return;
  }
  if (sqlite3_value_int64(argv[0]) < 0) {
    sl_sql_errorf(ctx, "semlite_progress_report", "the interval must be >= 0 (0 turns reporting off)");
    return;
  }
  sl_progress_report(sqlite3_value_int64(argv[0]));
  sqlite3_result_int64(ctx, sqlite3_value_int64(argv[0]));
}
