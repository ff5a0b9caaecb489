/*
** safetensors.h: read-only access to a .safetensors file through mmap.
**
** Format: u64 little-endian header length N, N bytes of JSON header
** {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the
** data area. Offsets are relative to the data area. The header is validated completely
** before any tensor is handed out: dtypes, shapes, byte sizes equal to the element
** count times the dtype width, offsets inside the file, no two tensors overlapping.
** A truncated, corrupt or hostile file is an error message, never a crash.
*/
#ifndef SEMLITE_SAFETENSORS_H
#define SEMLITE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "../base/status.h"

#define SL_ST_MAX_DIMS 8
/* The reference implementation allows 100 MB, but the JSON tree costs up to ~50 bytes
** per header byte on hostile input; real headers are 20 KB (BERT) to a few MB. */
#define SL_ST_MAX_HEADER (16u << 20)

typedef enum sl_dtype { SL_DT_F32, SL_DT_F16, SL_DT_BF16, SL_DT_I64 } sl_dtype;

typedef struct sl_tensor {
  const char *name;          /* NUL-terminated, owned by the sl_safetensors */
  sl_dtype dtype;
  int ndim;
  int64_t shape[SL_ST_MAX_DIMS];
  size_t n_elems;
  size_t nbytes;
  const void *data;          /* points into the mapping; may be unaligned */
} sl_tensor;

typedef struct sl_safetensors {
  sl_tensor *tensors;        /* sorted by name */
  size_t n_tensors;
  size_t file_bytes;
  /* private */
  void *map;
  size_t map_len;
  int mapped;                /* 1 when map is an mmap to munmap, 0 when borrowed memory */
  char *names;               /* storage of tensor names */
} sl_safetensors;

/* Maps the file at path read-only and parses it. */
int sl_st_open(const char *path, sl_safetensors **out, sl_err *err);

/* Parses a file image already in memory (borrowed: buf must outlive the result).
** This is what the fuzzer drives. */
int sl_st_parse(const void *buf, size_t len, sl_safetensors **out, sl_err *err);

/* Tensor by exact name, or NULL. */
const sl_tensor *sl_st_find(const sl_safetensors *st, const char *name);

/* Drops the mapped pages that lie wholly inside [p, p + len) from the process's memory:
** they are clean file pages, read again from the file if ever touched. For weights whose
** quantized copy replaced them. No effect outside the mapping or on a parsed buffer. */
void sl_st_release(const sl_safetensors *st, const void *p, size_t len);

void sl_st_close(sl_safetensors *st);

const char *sl_dtype_name(sl_dtype dt);
size_t sl_dtype_size(sl_dtype dt);

#endif
