/*
** preload.h: models loaded when the extension first loads in a process, from the
** environment: SEMLITE_PRELOAD='minilm=/models/minilm;ce:int8=/models/ce'.
**
** Entries are separated by ';' (empty entries are skipped); each is NAME=FOLDER or
** NAME:DTYPE=FOLDER (dtype fp32, int8 or bf16; fp32 when absent). The folder is the rest
** of the entry after the first '=', so it may hold '=' but not ';'. A preloaded model is
** an ordinary registry entry: semlite_model_unload removes it.
*/
#ifndef SEMLITE_PRELOAD_H
#define SEMLITE_PRELOAD_H

#include "../base/status.h"
#include "../engine/dtype.h"

/* Calls fn for every entry of spec, in order, stopping at the first error (a malformed
** entry, or fn's). Messages name the entry: "entry 2 ('x'): ...". */
int sl_preload_parse(const char *spec,
                     int (*fn)(void *ctx, const char *name, sl_compute_dtype dtype,
                               const char *dir, sl_err *err),
                     void *ctx, sl_err *err);

/* Loads every entry of spec into the model registry. */
int sl_preload(const char *spec, sl_err *err);

#endif
