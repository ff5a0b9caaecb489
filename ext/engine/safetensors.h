/*
** safetensors.h: read-only access to a .safetensors file, read whole into memory.
**
** Format: u64 little-endian header length N, N bytes of JSON header
** {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the
** data area. Offsets are relative to the data area. The header is validated completely
** before any tensor is handed out: dtypes, shapes, byte sizes equal to the element
** count times the dtype width, offsets inside the file, no two tensors overlapping.
** A truncated, corrupt or hostile file is an error message, never a crash.
**
** The file is copied into private memory at open (file.h), not mapped: a file replaced,
** rewritten or truncated while the model is loaded changes nothing in the copy and
** cannot fault it (a mapping of a truncated file raises SIGBUS on access).
*/
#ifndef SEMLITE_SAFETENSORS_H
#define SEMLITE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "../base/file.h"
#include "../base/status.h"

#define SL_ST_MAX_DIMS 8
/* Largest model.safetensors accepted: it is read into memory whole. A BERT-large in
** float32 is 1.3 GB; the bound only stops absurd sizes (a sparse file) early. */
#define SL_ST_MAX_FILE ((size_t)16 << 30)
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
  const void *data;          /* points into the file's image; may be unaligned */
} sl_tensor;

typedef struct sl_safetensors {
  sl_tensor *tensors;        /* sorted by name */
  size_t n_tensors;
  size_t file_bytes;
  const void *image;         /* the whole file, file_bytes long */
  /* private */
  sl_file file;              /* the image when read here (page-aligned, read-only), else empty */
  char *names;               /* storage of tensor names */
} sl_safetensors;

/* Reads dir/name (name alone when dir is NULL) into memory through sl_file_read (a
** regular file of at most SL_ST_MAX_FILE bytes, recorded in log when not NULL) and
** parses it. The image is page-aligned, so a tensor is aligned in memory as its offset
** is in the file. Parse errors are prefixed with the file's path. */
int sl_st_load(const char *dir, const char *name, sl_file_log *log, sl_safetensors **out,
               sl_err *err);

/* sl_st_load(NULL, path, NULL, out, err). */
int sl_st_open(const char *path, sl_safetensors **out, sl_err *err);

/* Parses a file image already in memory (borrowed: buf must outlive the result).
** This is what the fuzzer drives. */
int sl_st_parse(const void *buf, size_t len, sl_safetensors **out, sl_err *err);

/* Tensor by exact name, or NULL. */
const sl_tensor *sl_st_find(const sl_safetensors *st, const char *name);

/* Gives back the pages of the image that lie wholly inside [p, p + len) to the system:
** for weights whose quantized copy replaced them. Those bytes read as zeros afterwards,
** so nothing may use them again (hash the image first). No effect outside the image or
** on a parsed buffer. */
void sl_st_release(const sl_safetensors *st, const void *p, size_t len);

/* Bytes of the image in RAM now (file_bytes for a parsed buffer). */
size_t sl_st_resident(const sl_safetensors *st);

void sl_st_close(sl_safetensors *st);

const char *sl_dtype_name(sl_dtype dt);
size_t sl_dtype_size(sl_dtype dt);

#endif
