/*
** distance_avx2.c: the AVX2 + FMA distance functions: distance_simd.h at 8 float lanes
** and 32-byte blocks (compiled with -mavx2 -mfma; distance.c fills them in only when
** cpuid and the OS say the YMM state is usable). A no-op off x86.
*/
#define SL_SIMD_AVX512 0
#include "distance_simd.h"

void sl_distance_fill_avx2(sl_distance_table *t) { distance_fill(t); }
