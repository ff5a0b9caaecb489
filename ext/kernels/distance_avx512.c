/*
** distance_avx512.c: the AVX-512 distance functions: distance_simd.h at 16 float lanes
** and 64-byte blocks, with VPOPCNTDQ hamming and the VNNI int8 scan where cpuid reports
** them (compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq; distance.c fills them
** in only when dispatch.c's cpuid and XCR0 checks pass). A no-op off x86.
*/
#define SL_SIMD_AVX512 1
#include "distance_simd.h"

void sl_distance_fill_avx512(sl_distance_table *t) { distance_fill(t); }
