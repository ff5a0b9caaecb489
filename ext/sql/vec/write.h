/*
** write.h: xUpdate of a semlite_vec table and its embed-on-insert (write.c), and the
** rows waiting for their embeddings, which the module flushes before anything could
** read them.
*/
#ifndef SEMLITE_SQL_VEC_WRITE_H
#define SEMLITE_SQL_VEC_WRITE_H

#include "vec.h"

int vv_update(sqlite3_vtab *vtab, int argc, sqlite3_value **argv, sqlite3_int64 *rowid);

/* Embeds the pending rows' texts and writes their vectors. Called before anything could
** see those slots: a scan, another write, a savepoint, xSync. On failure the rows stay
** pending, so the transaction cannot commit them without vectors. From xSync and
** xSavepoint, vv_flush_uncached: no inference-cache statement runs inside SQLite's commit
** or savepoint (write.c). */
int vv_flush(vv_table *t);
int vv_flush_uncached(vv_table *t);
/* Forgets the pending rows (ROLLBACK, ROLLBACK TO: their rows are gone). */
void vv_discard(vv_table *t);
/* Ends the transaction's embed-on-insert row in semlite_progress (commit, rollback, close). */
void vv_progress_end(vv_table *t);
/* Whether model= names a loaded embedding model that makes vectors of the column's
** size; sets the table's error if not. */
int vv_model_check(vv_table *t);

#endif
