/*
** sql.h: what the SQL-surface files share: the SQLite extension API pointer, the
** functions and modules each file registers, and argument helpers that produce the
** uniform error messages ("fn: problem").
*/
#ifndef SEMLITE_SQL_H
#define SEMLITE_SQL_H

#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT3

#include "../base/status.h"
#include "../kernels/distance.h"

/* sqlite-vec's subtypes for float32, bit and int8 vectors, so BLOBs move between the two
** unchanged, and SQLite's for JSON text (vec_to_json, as sqlite-vec). */
#define SL_SUBTYPE_F32 223
#define SL_SUBTYPE_BIT 224
#define SL_SUBTYPE_I8 225
#define SL_SUBTYPE_JSON 74

/* A vector argument (sql_vec.c, the one reader of the BLOB and JSON formats). data is
** aligned for its element type; it points into the SQL value or into `owned`. */
typedef struct sl_sql_vec {
  sl_vec_type type;
  size_t n;             /* dimensions (bits for SL_VEC_BIT) */
  const void *data;
  void *owned;          /* sqlite3_malloc'd copy or parse, or NULL */
} sl_sql_vec;

/* sl_sql_vec_read's type for "as the value's subtype says" (sqlite-vec's rule). */
#define SL_SQL_VEC_ANY (-1)

/* Reads a non-NULL BLOB or JSON TEXT as `type`, or by subtype with SL_SQL_VEC_ANY.
** SL_OK, or SL_ERROR with the problem in err. Free with sl_sql_vec_free. */
int sl_sql_vec_read(sqlite3_value *v, int type, sl_sql_vec *out, sl_err *err);
void sl_sql_vec_free(sl_sql_vec *vec);

/* Reads a vector that must be exactly type[dims] (a semlite_vec column's value, a MATCH
** vector) into out, sl_vec_bytes(type, dims) bytes; float elements must be finite. A
** BLOB whose subtype names another type is refused. Messages start with `what`
** ("embedding: expected float[384], got float[3]"). SL_OK or SL_ERROR. */
int sl_sql_vec_read_exact(sqlite3_value *v, sl_vec_type type, size_t dims, const char *what, void *out,
                          sl_err *err);

/* "float32", "int8" or "bit", for messages. */
const char *sl_sql_vec_type_name(sl_vec_type type);

/* Reads the first nvec of argv as vectors (two must agree in type and dimensions).
** Returns 1, or 0 with the result set: NULL when any argument is NULL, else the error. */
int sl_sql_vec_args(sqlite3_context *ctx, const char *fn, int argc, sqlite3_value **argv,
                    int nvec, int type, sl_sql_vec *vecs);

/* The result: n elements of type in buf (sqlite3_malloc'd; ownership passes), with the
** type's subtype. */
void sl_sql_vec_result(sqlite3_context *ctx, sl_vec_type type, void *buf, size_t n);

/* sqlite3_result_error with "fn: " in front of the message. */
void sl_sql_error(sqlite3_context *ctx, const char *fn, const sl_err *err);
void sl_sql_errorf(sqlite3_context *ctx, const char *fn, const char *fmt, ...);

/* Statements a function or virtual table runs nested in the caller's statement, for
** the inference cache and synergy's step tables, which must never end the caller's
** transaction (docs/security.md). sl_sql_nested_write steps a write (st, bound) inside
** a SAVEPOINT when the caller is in a transaction, released or rolled back on its own;
** *written says whether it took effect (a read-only database, a busy lock or a failing
** trigger just lose the write). Both return SL_ERROR, with the SQLite code in err->code,
** only when SQLite ended the caller's transaction anyway (some I/O errors, a full disk,
** RAISE(ROLLBACK)): the caller must then fail instead of returning a result.
** sl_sql_nested_read steps a read once (*row: it gave a row; in_txn: the caller was in a
** transaction before the read, !sqlite3_get_autocommit). */
int sl_sql_nested_write(sqlite3 *db, sqlite3_stmt *st, int *written, sl_err *err);
int sl_sql_nested_read(sqlite3 *db, sqlite3_stmt *st, int in_txn, int *row, sl_err *err);

/* May the statement now running write `schema` (docs/deployment.md, "EXEC versus QUERY")?
** A replicated database (its file is on a VFS whose name starts "dqlite": dqlite
** replicates only the pages a write request sent as EXEC writes) takes writes only while
** a write statement runs on the connection (one that sqlite3_stmt_readonly says writes:
** INSERT, UPDATE, ...); a read statement that wrote it would leave a transaction no
** request commits or replicates. SL_OK, or SL_ERROR with the reason in err (no "fn: "
** prefix). Read-only databases are not judged here: SQLite refuses their writes itself.
** sl_sql_replicated says whether schema's file is replicated, *vfs its VFS's name. */
int sl_sql_replicated(sqlite3 *db, const char *schema, const char **vfs);
int sl_sql_write_allowed(sqlite3 *db, const char *schema, sl_err *err);

/* A block of writes a function makes atomic (semlite_ha_import, semlite_vec_migrate, the
** cache's tables): SAVEPOINT name, released or rolled back by sl_sql_block_end (ok: keep
** the writes). Bare while a write statement runs in autocommit mode (INSERT INTO t
** SELECT fn(...), the form a replicated database needs): SQLite opens no savepoint then,
** and that statement's transaction is the block, rolled back whole when the function
** fails it. sl_sql_block_begin returns SQLite's code; *bare says which it took. */
int sl_sql_block_begin(sqlite3 *db, const char *name, int *bare);
/* Is a write statement running on db (one sqlite3_stmt_readonly says writes, busy)? */
int sl_sql_write_running(sqlite3 *db);
void sl_sql_block_end(sqlite3 *db, const char *name, int bare, int ok);

/* A virtual table's error: replaces (and frees) vtab->zErrMsg with "fn_prefix: message"
** (just the message when fn_prefix is NULL). fmt is C's printf, as sl_fail's (%zu; not
** SQLite's printf, whose %z frees its argument). Returns SQLITE_ERROR, or SQLITE_NOMEM
** when the message cannot be allocated, so failing paths read
** `return sl_vtab_error(vtab, name, "...", ...);`. */
int sl_vtab_error(sqlite3_vtab *vtab, const char *fn_prefix, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 3, 4)))
#endif
  ;

/* sl_vtab_error with a failed call's message, returning its code when it carries one
** (SQLITE_NOMEM, or the error that ended the caller's transaction). */
int sl_vtab_fail(sqlite3_vtab *vtab, const char *fn_prefix, const sl_err *err);

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
void sl_sql_vec_int8(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_vec_bit(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_vec_distance_l2(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_vec_distance_l1(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_vec_distance_cosine(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_vec_distance_dot(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_vec_distance_hamming(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_vec_quantize_int8(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_vec_quantize_binary(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_vec_normalize(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_vec_slice(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_vec_add(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_vec_sub(sqlite3_context *ctx, int argc, sqlite3_value **argv);
/* sqlite-vec's vec_version, vec_debug, vec_type (sql_vec_compat.c) */
void sl_sql_vec_version(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_vec_debug(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_vec_type(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_rerank(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_vec_check(sqlite3_context *ctx, int argc, sqlite3_value **argv);
/* semlite_vec_migrate(table): a vec0 table written by sqlite-vec's vec0.so into semlite's storage (vec/migrate.c) */
void sl_sql_vec_migrate(sqlite3_context *ctx, int argc, sqlite3_value **argv);
/* Converts, at extension load, every vec0 table of the main schema that vec0.so wrote
** (nothing on a read-only connection or a replicated read; vec/migrate.c). */
void sl_vec_migrate_on_load(sqlite3 *db);
void sl_sql_ha_import(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_ha_history(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_version(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_build_info(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void sl_sql_progress_report(sqlite3_context *ctx, int argc, sqlite3_value **argv);  /* sql_progress.c */

/* Virtual tables */
extern sqlite3_module sl_models_module;
extern sqlite3_module sl_embed_each_module, sl_rerank_each_module;
extern sqlite3_module sl_vec_module;           /* semlite_vec (vec/module.c) */
extern sqlite3_module sl_vec_each_module;      /* vec_each(v) (sql_vec_compat.c) */
extern sqlite3_module sl_vec_npy_each_module;  /* vec_npy_each(array) (sql_vec_compat.c) */
extern sqlite3_module sl_vec0_module;          /* the same under sqlite-vec's name vec0, in its dialect */
extern sqlite3_module sl_metrics_module, sl_memory_module, sl_limits_module;  /* sql_metrics.c */
extern sqlite3_module sl_progress_module;      /* sql_progress.c */
extern sqlite3_module sl_synergy_links_module, sl_synergy_paths_module;   /* vtab_synergy.c */

#endif
