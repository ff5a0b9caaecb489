/* gemm_avx2.c: placeholder, the scalar table stays in place. */
#include "gemm_isa.h"
void sl_gemm_fill_avx2(sl_gemm_kernels *t) { (void)t; }
