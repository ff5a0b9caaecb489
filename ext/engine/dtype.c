/*
** dtype.c: compute dtype names (dtype.h).
*/
#include "dtype.h"

#include <string.h>

const char *sl_compute_dtype_name(sl_compute_dtype d) {
  switch (d) {
    case SL_COMPUTE_INT8: return "int8";
    case SL_COMPUTE_BF16: return "bf16";
    default: return "fp32";
  }
}

int sl_compute_dtype_parse(const char *name, sl_compute_dtype *out, sl_err *err) {
  static const sl_compute_dtype all[] = {SL_COMPUTE_F32, SL_COMPUTE_INT8, SL_COMPUTE_BF16};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    if (strcmp(name, sl_compute_dtype_name(all[i])) == 0) {
      *out = all[i];
      return SL_OK;
    }
  }
  return sl_fail(err, "unknown dtype '%s' (fp32, int8 or bf16)", name);
}
