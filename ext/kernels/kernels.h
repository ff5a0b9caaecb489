/*
** kernels.h: the numeric kernels of the forward pass, one function table per ISA
** level, chosen once at run time from cpuid (dispatch.c).
**
** Kernels know nothing of SQLite, models or allocation policy: they work in place on
** row-major float32 matrices the caller owns. The scalar table is the reference every
** SIMD table is tested against (tests/test_kernels.c).
*/
#ifndef SEMLITE_KERNELS_H
#define SEMLITE_KERNELS_H

#include <stddef.h>

typedef enum sl_isa { SL_ISA_SCALAR = 0, SL_ISA_AVX2 = 1, SL_ISA_AVX512 = 2 } sl_isa;

typedef struct sl_kernels {
  sl_isa isa;
  const char *name;                              /* "scalar", "avx2", "avx512" */

  /* x[r][:] = gelu(x[r][:]) with the exact erf form 0.5*x*(1+erf(x/sqrt 2)). */
  void (*gelu)(float *x, size_t n);

  /* Each of `rows` rows of x (length cols, row stride ld): x = softmax(scale * x). */
  void (*softmax_rows)(float *x, size_t rows, size_t cols, size_t ld, float scale);

  /* Each row of x (rows x dim, contiguous): x = LayerNorm(x + residual) * gamma + beta,
  ** mean and biased variance over the row, eps inside the square root.
  ** residual may be NULL (plain LayerNorm). */
  void (*add_layernorm)(float *x, const float *residual, size_t rows, size_t dim,
                        const float *gamma, const float *beta, float eps);

  /* out[d] = sum over rows of x[r][d] (rows x dim, contiguous); out is overwritten. */
  void (*sum_rows)(const float *x, size_t rows, size_t dim, float *out);

  /* out[d] = max over rows of x[r][d]; rows >= 1; out is overwritten. */
  void (*max_rows)(const float *x, size_t rows, size_t dim, float *out);

  /* x[i] *= s */
  void (*scale)(float *x, size_t n, float s);

  /* sum x[i]*y[i], accumulated in float lanes then reduced (order.h) */
  float (*dot)(const float *x, const float *y, size_t n);

  /* x[i] = tanh(x[i]) (simd_math.h's, not libm's, so that it is the same everywhere) */
  void (*tanh)(float *x, size_t n);
} sl_kernels;

/* x /= max(|x|, 1e-12), as torch.nn.functional.normalize, on k's dot and scale. */
void sl_kernels_normalize(const sl_kernels *k, float *x, size_t n);

/* The table for the best ISA this CPU supports, capped by the environment variable
** SEMLITE_ISA=avx512|avx2|scalar when set. Thread-safe; resolved once. */
const sl_kernels *sl_kernels_get(void);

/* The table for one ISA level, or NULL when this CPU (or this build) lacks it. */
const sl_kernels *sl_kernels_for(sl_isa isa);

/* What the CPU supports, independent of SEMLITE_ISA. */
sl_isa sl_cpu_best_isa(void);

/* Whether this build has the level's kernels (all three on x86, scalar elsewhere),
** whatever the CPU; and the level's name ("scalar", "avx2", "avx512"). */
int sl_isa_compiled(sl_isa isa);
const char *sl_isa_name(sl_isa isa);

/* The SEMLITE_ISA rule, pure so tests can check it without the environment: the level
** named by value (NULL, empty or unknown: best), never above best. */
sl_isa sl_isa_from_env(const char *value, sl_isa best);
/* Whether SEMLITE_ISA names a level (scalar, avx2, avx512): a named level also rules out
** AMX (amx.h); unset, empty, "amx" or unknown leave the best path. */
int sl_isa_env_caps(void);

#endif
