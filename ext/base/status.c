/*
** status.c: formatting of sl_err messages (see status.h).
*/
#include "status.h"

#include <stdio.h>
#include <string.h>

int sl_vfail(sl_err *err, const char *fmt, va_list ap) {
  if (err) {
    err->code = 0;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  }
  return SL_ERROR;
}

int sl_oom(sl_err *err) { return sl_fail_code(err, SL_CODE_NOMEM, "out of memory"); }

int sl_fail_code(sl_err *err, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  sl_vfail(err, fmt, ap);
  va_end(ap);
  if (err) err->code = code;
  return SL_ERROR;
}

int sl_fail(sl_err *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  sl_vfail(err, fmt, ap);
  va_end(ap);
  return SL_ERROR;
}

void sl_err_prefix(sl_err *err, const char *prefix) {
  size_t plen, mlen;
  if (!err) return;
  /* "prefix: message", the message's tail cut when the two do not fit. */
  plen = strnlen(prefix, SL_ERR_MAX - 3);
  mlen = strnlen(err->msg, SL_ERR_MAX - 1);
  if (plen + 2 + mlen > SL_ERR_MAX - 1) mlen = SL_ERR_MAX - 1 - plen - 2;
  memmove(err->msg + plen + 2, err->msg, mlen);
  memcpy(err->msg, prefix, plen);
  err->msg[plen] = ':';
  err->msg[plen + 1] = ' ';
  err->msg[plen + 2 + mlen] = 0;
}
