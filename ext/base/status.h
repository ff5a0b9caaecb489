/*
** status.h: the one error convention of semlite's C code.
**
** Every function that can fail returns SL_OK or SL_ERROR and, on error, writes a
** human-readable message into a caller-owned sl_err. The caller decides what to do
** with it; the SQL layer prefixes the SQL function's name and hands it to
** sqlite3_result_error(). Messages never end with a period or newline.
*/
#ifndef SEMLITE_STATUS_H
#define SEMLITE_STATUS_H

#include <stdarg.h>

#define SL_OK    0
#define SL_ERROR 1

#define SL_ERR_MAX 512

/* code: 0, or the SQLite result code a failure of the database under a request
** carries up to the SQL function (an I/O error, a full disk), set with sl_fail_code. */
typedef struct sl_err {
  int code;
  char msg[SL_ERR_MAX];
} sl_err;

/* Formats the message into err (when err is not NULL) and returns SL_ERROR,
** so that failing paths read `return sl_fail(err, "...", ...);`. */
int sl_fail(sl_err *err, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 2, 3)))
#endif
  ;

/* SQLite's code for a failed allocation, which the SQL layer returns as such. */
#define SL_CODE_NOMEM 7

/* "out of memory" with SL_CODE_NOMEM: every allocation failure reports this way. */
int sl_oom(sl_err *err);

/* Same, with a code for the SQL layer to return (see sl_err). */
int sl_fail_code(sl_err *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 3, 4)))
#endif
  ;

/* Same as sl_fail, with a va_list. */
int sl_vfail(sl_err *err, const char *fmt, va_list ap);

/* Puts a prefix in front of an existing message: "prefix: old message". */
void sl_err_prefix(sl_err *err, const char *prefix);

#endif
