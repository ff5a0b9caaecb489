/*
** gemm_avx2.c: the AVX2 + FMA versions of gemm.h's kernels: gemm_simd.h at 8 float lanes
** (the Makefile compiles this file with -mavx2 -mfma -mf16c; gemm.c fills them in when
** dispatch.c says the YMM state is usable). They also serve AVX-512 CPUs without VNNI or
** AVX512_BF16. A no-op off x86.
*/
#define SL_SIMD_AVX512 0
#include "gemm_simd.h"

/* The AVX2 int8 and bf16 products need no extension beyond AVX2. */
void sl_gemm_fill_avx2(sl_gemm_kernels *t) { gemm_fill(t, 1, 1); }
