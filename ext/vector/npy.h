/*
** npy.h: NumPy's .npy format as vec_npy_each reads it (sqlite-vec's NumPy utility): a
** 2-D array of little-endian float32 in C order, one vector per row. Only the header is
** parsed; the rows are read in place from the caller's buffer. Nothing here knows SQLite.
**
** The format (numpy.lib.format): "\x93NUMPY", major and minor version bytes, the header
** length (uint16 LE in version 1, uint32 LE in 2 and 3), then a Python dict literal such
** as {'descr': '<f4', 'fortran_order': False, 'shape': (3, 384), } padded with spaces
** and a newline, then the data.
*/
#ifndef SEMLITE_VECTOR_NPY_H
#define SEMLITE_VECTOR_NPY_H

#include <stddef.h>

#include "../base/status.h"

typedef struct sl_npy {
  const unsigned char *data;   /* rows * dims float32, inside the caller's buffer */
  size_t rows, dims;
} sl_npy;

/* Parses buf[0..n). SL_ERROR with the problem ("not a .npy array (no \x93NUMPY magic)",
** "dtype '<f8' is not supported: only float32 ('<f4')", "data is 8 bytes, the shape
** (3, 1) needs 12", ...). */
int sl_npy_parse(const void *buf, size_t n, sl_npy *out, sl_err *err);

#endif
