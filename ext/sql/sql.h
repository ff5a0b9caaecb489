/*
** sql.h: what the SQL-surface files share: the SQLite extension API pointer, the
** functions and modules each file registers, and argument helpers that produce the
** uniform error messages ("fn: problem").
*/
#ifndef SEMLITE_SQL_H
#define SEMLITE_SQL_H

#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT3

#include "../common/status.h"

/* sqlite-vec's subtype for float32 vectors, so BLOBs move between the two unchanged. */
#define SL_SUBTYPE_F32 223

/* sqlite3_result_error with "fn: " in front of the message. */
void sl_sql_error(sqlite3_context *ctx, const char *fn, const sl_err *err);
void sl_sql_errorf(sqlite3_context *ctx, const char *fn, const char *fmt, ...);

/* Name of a value's storage class for messages: "NULL", "INTEGER", "REAL", "TEXT", "BLOB". */
const char *sl_sql_type_name(sqlite3_value *v);

/* Returns the TEXT of argument v, or sets an error "fn: the <what> must be TEXT, got X"
** and returns NULL. NULL input is reported through *is_null without an error. */
const char *sl_sql_text_arg(sqlite3_context *ctx, const char *fn, const char *what,
                            sqlite3_value *v, int *is_null);

/* SQL functions */
void sl_sql_model_load(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_model_unload(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_embed(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_tokenize(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_vec_f32(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_vec_to_json(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_vec_length(sqlite3_context *ctx, int argc, sqlite3_value **argv);

/* Virtual tables */
extern sqlite3_module sl_models_module;

#endif
