/*
** kernels_avx512.c: the AVX-512 kernel table: kernels_simd.h at 16 float lanes (the
** Makefile compiles this file with -mavx512f -mavx512bw -mavx512vl -mavx512dq; dispatch.c
** hands it out only when cpuid and the OS say the ZMM state is usable). NULL off x86.
*/
#define SL_SIMD_AVX512 1
#include "kernels_simd.h"

const sl_kernels *const sl_kernels_avx512_table = KERNELS_SIMD_TABLE;
