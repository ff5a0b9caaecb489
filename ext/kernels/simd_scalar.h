/*
** simd_scalar.h: simd_math.h's vocabulary on one float lane, so that the scalar kernel
** table computes exp and GELU with the very operations of the SIMD tables, lane by lane,
** and gives the same bits (order.h). Each operation is one IEEE operation rounded once:
** sl_fmaf is fused (order.h: exact without FMA hardware too), nearbyintf rounds
** to nearest even as roundscale does, ldexpf rounds once as scalef does; vf_min/vf_max
** keep x86's rule (the second operand when either is NaN). Compiled with
** -ffp-contract=off, as every file is, so no product is fused that is not written so.
*/
#ifndef SEMLITE_SIMD_SCALAR_H
#define SEMLITE_SIMD_SCALAR_H

#include <math.h>

#include "order.h"

typedef float VF;
typedef int VM;

static inline VF vf_set1(float c) { return c; }
static inline VF vf_add(VF a, VF b) { return a + b; }
static inline VF vf_sub(VF a, VF b) { return a - b; }
static inline VF vf_mul(VF a, VF b) { return a * b; }
static inline VF vf_div(VF a, VF b) { return a / b; }
static inline VF vf_min(VF a, VF b) { return a < b ? a : b; }
static inline VF vf_max(VF a, VF b) { return a > b ? a : b; }
static inline VF vf_fmadd(VF a, VF b, VF c) { return sl_fmaf(a, b, c); }
static inline VF vf_abs(VF x) { return fabsf(x); }
static inline VF vf_round(VF x) { return nearbyintf(x); }
/* n is integral and in [-150, 128] (simd_math.h), or NaN when y is NaN too */
static inline VF vf_ldexp(VF y, VF n) { return ldexpf(y, n == n ? (int)n : 0); }
static inline VM vf_lt(VF a, VF b) { return a < b; }
static inline VF vf_select(VM m, VF a, VF b) { return m ? a : b; }

#include "simd_math.h"

#endif
