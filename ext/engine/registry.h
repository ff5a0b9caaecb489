/*
** registry.h: the process-wide model registry, the one documented global of semlite.
**
** Names map to loaded models. One folder is loaded once per process and dtype: loading
** it again under another name shares the same sl_model, as long as the folder still
** holds the files that model read (device, inode, size, modification and change time of
** each); once they changed, the folder is loaded anew as another model, whose identity
** follows the new bytes, and the old model is never shared again. Every connection and thread sees the
** same registry. Callers pin a model for the duration of one call with acquire/release;
** unloading a name removes it at once (new calls no longer find it) and, when it was
** the model's last name, waits until in-flight calls have released the model before
** freeing it. A thread must not unload a model it has itself acquired and not released.
*/
#ifndef SEMLITE_REGISTRY_H
#define SEMLITE_REGISTRY_H

#include <stddef.h>

#include "../base/status.h"
#include "model.h"

/* Loads dir under name, computing in dtype. Loading a name again with the same folder
** and dtype is a no-op while the folder's files are unchanged; after they changed, the
** folder is loaded again and the name moves to the new model (the old one is freed once
** its in-flight calls are done, as by an unload: the caller must not hold it pinned).
** With another folder or dtype it is an error. A folder loaded in two dtypes is two
** models. */
int sl_registry_load(const char *name, const char *dir, sl_compute_dtype dtype, sl_err *err);

/* Removes name; SL_ERROR when there is no such name. */
int sl_registry_unload(const char *name, sl_err *err);

/* Pins the model loaded under name, or returns NULL when there is none. */
sl_model *sl_registry_acquire(const char *name);

/* Pins the model of this kind whose name was loaded earliest, or NULL. */
sl_model *sl_registry_acquire_first(sl_model_kind kind);

void sl_registry_release(sl_model *m);

/* One row of semlite_models. */
typedef struct sl_model_info {
  char name[128];
  sl_model_kind kind;
  char path[4096];
  int dim, layers, max_seq_len;
  size_t params, bytes;         /* bytes = file_bytes + owned_bytes */
  size_t file_bytes;            /* model.safetensors, read into memory */
  size_t file_resident;         /* of its copy, bytes in RAM now (int8/bf16 give some back) */
  size_t owned_bytes;           /* converted or quantized copies on the heap */
  char dtype[16];
  char pooling[16];
  double load_ms;
} sl_model_info;

/* A snapshot of the registry in load order; free *rows with sl_free(). */
int sl_registry_list(sl_model_info **rows, size_t *n, sl_err *err);

#endif
