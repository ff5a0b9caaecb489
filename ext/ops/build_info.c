/*
** build_info.c: gathers what semlite_build_info() reports from the layers that know it:
** the kernel dispatch (ISA levels), the GEMM tables (every matrix product is semlite's
** own: there is no BLAS), whether AMX tiles run the int8 and bf16 products and why not
** (kernels/amx.h: no AMX on the CPU, SEMLITE_ISA, the kernel's refusal, the self-test),
** and the worker pool.
*/
#include "build_info.h"

#include "../base/version.h"
#include "../base/pool.h"
#include "../kernels/amx.h"
#include "../kernels/gemm.h"

#if defined(__clang__)
#define SL_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define SL_COMPILER "gcc " __VERSION__
#else
#define SL_COMPILER "unknown"
#endif

void sl_build_info_get(sl_build_info *out) {
  const sl_gemm_kernels *g = sl_gemm_get();
  *out = (sl_build_info){0};
  out->version = SEMLITE_VERSION;
  out->compiler = SL_COMPILER;
  for (int isa = SL_ISA_SCALAR; isa <= SL_ISA_AVX512; isa++)
    out->isa_compiled[isa] = sl_isa_compiled((sl_isa)isa);
  out->isa_cpu = sl_cpu_best_isa();
  out->isa_selected = sl_kernels_get()->name;
  out->gemm_f32 = g->f32_name;
  out->gemm_int8 = g->i8_name;
  out->gemm_bf16 = g->bf16_name;
  out->amx = sl_gemm_amx_state();
  out->threads = 1 + sl_pool_workers();
}
