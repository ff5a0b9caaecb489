/*
** kernels_avx2.c: the AVX2 + FMA kernel table: kernels_simd.h at 8 float lanes (the
** Makefile compiles this file with -mavx2 -mfma -mf16c; dispatch.c hands it out only
** when cpuid and the OS say the YMM state is usable). NULL off x86.
*/
#define SL_SIMD_AVX512 0
#include "kernels_simd.h"

const sl_kernels *const sl_kernels_avx2_table = KERNELS_SIMD_TABLE;
