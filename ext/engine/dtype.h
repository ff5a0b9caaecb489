/*
** dtype.h: the compute dtypes a model can be loaded with, by name. Apart from
** quantize.c (which makes the copies) so that parsers of options and of SEMLITE_PRELOAD
** need nothing of the kernels.
*/
#ifndef SEMLITE_DTYPE_H
#define SEMLITE_DTYPE_H

#include "../base/status.h"

typedef enum sl_compute_dtype { SL_COMPUTE_F32, SL_COMPUTE_INT8, SL_COMPUTE_BF16 } sl_compute_dtype;

/* "fp32", "int8", "bf16" */
const char *sl_compute_dtype_name(sl_compute_dtype d);
/* Parses a name; SL_ERROR for anything else. */
int sl_compute_dtype_parse(const char *name, sl_compute_dtype *out, sl_err *err);

#endif
