/*
** gemm_f32_avx512.c: the AVX-512 versions of gemm_f32.h's products (gemm_f32_simd.h at 16
** float lanes; the Makefile compiles this file with the AVX-512 flags, gemm_f32.c fills
** them in only when dispatch.c says the ZMM state is usable). A no-op off x86.
*/
#define SL_SIMD_AVX512 1
#include "gemm_f32_simd.h"

void sl_f32_fill_avx512(sl_f32_kernels *t) { f32_fill(t); }
