/*
** status.c: formatting of sl_err messages (see status.h).
*/
#include "status.h"

#include <stdio.h>
#include <string.h>

int sl_vfail(sl_err *err, const char *fmt, va_list ap) {
  if (err) vsnprintf(err->msg, sizeof err->msg, fmt, ap);
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
  char old[SL_ERR_MAX];
  if (!err) return;
  memcpy(old, err->msg, sizeof old);
  snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
}
