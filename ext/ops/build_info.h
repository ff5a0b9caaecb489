/*
** build_info.h: what this build of semlite is and what it chose on this machine: the
** facts a bug report needs (semlite_build_info() prints them as JSON).
*/
#ifndef SEMLITE_BUILD_INFO_H
#define SEMLITE_BUILD_INFO_H

#include "../kernels/kernels.h"

typedef struct sl_build_info {
  const char *version;            /* SEMLITE_VERSION */
  const char *compiler;           /* e.g. "gcc 12.2.0" */
  int isa_compiled[3];            /* indexed by sl_isa: kernels this build has */
  sl_isa isa_cpu;                 /* the best level this CPU and OS support */
  const char *isa_selected;       /* the level in use (SEMLITE_ISA may cap it) */
  const char *gemm_f32, *gemm_int8, *gemm_bf16; /* the GEMM kernels in use */
  const char *amx;                /* "amx: on", or why AMX does not run (kernels/amx.h) */
  int threads;                    /* threads a forward pass uses: the caller + pool workers */
} sl_build_info;

/* Fills *out; the strings are static. Starts the worker pool if it has not started. */
void sl_build_info_get(sl_build_info *out);

#endif
