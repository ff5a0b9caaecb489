/*
** gemm_avx512.c: the AVX-512 versions of gemm.h's kernels: gemm_simd.h at 16 float
** lanes, with vpdpbusd (AVX512_VNNI) for int8 and vdpbf16ps (AVX512_BF16) for bf16 (the
** Makefile compiles this file with -mavx512f -mavx512bw -mavx512vl -mavx512dq; gemm.c
** fills them in only when dispatch.c says the ZMM state is usable, and the two products
** only when cpuid reports their extension). A no-op off x86.
*/
#define SL_SIMD_AVX512 1
#include "gemm_simd.h"

void sl_gemm_fill_avx512(sl_gemm_kernels *t, int vnni, int bf16) { gemm_fill(t, vnni, bf16); }
