/*
** gemm_f32_avx2.c: the AVX2 + FMA versions of gemm_f32.h's products (gemm_f32_simd.h at 8
** float lanes; compiled with -mavx2 -mfma -mf16c, filled in when the YMM state is usable).
** A no-op off x86.
*/
#define SL_SIMD_AVX512 0
#include "gemm_f32_simd.h"

void sl_f32_fill_avx2(sl_f32_kernels *t) { f32_fill(t); }
