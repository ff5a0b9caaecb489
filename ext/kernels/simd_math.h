/*
** simd_math.h: exp, GELU and tanh for the SIMD kernel table, written once for every vector
** width. The approximations and their constants live only here; kernels_simd.h includes
** it after simd.h, which maps this vocabulary to each level's intrinsics:
**
**   VF, VM                 float vector, lane mask
**   vf_set1(c)             every lane c
**   vf_add vf_sub vf_mul vf_div vf_min vf_max
**                          lane-wise; vf_min/vf_max return the second operand when
**                          either is NaN (x86 semantics), which lets NaN pass through
**   vf_fmadd(a, b, c)      a*b + c, rounded once
**   vf_abs(x)              |x|
**   vf_round(x)            to the nearest integer, as a float
**   vf_ldexp(y, n)         y * 2^n for integral n in [-150, 128], rounded once even
**                          when the result is subnormal
**   vf_lt(a, b)            mask of a < b
**   vf_select(m, a, b)     m ? a : b
**
** Accuracy, measured over every float against long double (tests/test_kernels.c
** checks samples against looser bounds):
**   vf_exp_lo  <= 1.01 ulp on [-104, 88.7] (0.75 ulp where the result is subnormal)
**   vf_gelu    <= 7.1e-8 * (1 + |gelu(x)|) absolute everywhere, and <= 6.1 ulp
**              relative for |x| <= 12 (5.4 for |x| <= 3), the worst cases being
**              negative x, where 0.5*x*(1+erf) would have cancelled to no accuracy
*/
#ifndef SEMLITE_SIMD_MATH_H
#define SEMLITE_SIMD_MATH_H

/* exp(x + lo), lo a correction of at most an ulp or so of x (0 when x is exact). lo joins
** after the range reduction, where it is not lost to the rounding of x. */
static inline VF vf_exp_lo(VF x, VF lo) {
  /* Below -104 the result rounds to 0, from 89 up it is inf; the clamp also keeps n in
  ** vf_ldexp's range. x goes second so that NaN survives. */
  x = vf_min(vf_set1(89.0f), vf_max(vf_set1(-104.0f), x));
  VF n = vf_round(vf_mul(x, vf_set1(1.44269504088896341f)));
  /* Cody-Waite: 0.693359375 has 9 bits, so n*ln2_hi is exact. */
  VF r = vf_fmadd(n, vf_set1(-0.693359375f), x);
  r = vf_fmadd(n, vf_set1(2.12194440e-4f), r);
  r = vf_add(r, lo);
  /* Cephes expf: exp(r) = 1 + r + r^2 P(r) on |r| <= ln2/2 */
  VF p = vf_set1(1.9875691500e-4f);
  p = vf_fmadd(p, r, vf_set1(1.3981999507e-3f));
  p = vf_fmadd(p, r, vf_set1(8.3334519073e-3f));
  p = vf_fmadd(p, r, vf_set1(4.1665795894e-2f));
  p = vf_fmadd(p, r, vf_set1(1.6666665459e-1f));
  p = vf_fmadd(p, r, vf_set1(5.0000001201e-1f));
  VF y = vf_add(vf_fmadd(p, vf_mul(r, r), r), vf_set1(1.0f));
  return vf_ldexp(y, n);
}

/* exp(a*b) without the rounding error of the product, which joins as lo (exact by
** FMA). Where the product is not finite or exp is 0 or inf anyway, lo is dropped: it
** would be NaN for a*b = -inf. */
static inline VF vf_exp_mul(VF a, VF b) {
  VF p = vf_mul(a, b);
  VF lo = vf_fmadd(a, b, vf_sub(vf_set1(0.0f), p));
  return vf_exp_lo(p, vf_select(vf_lt(vf_abs(p), vf_set1(128.0f)), lo, vf_set1(0.0f)));
}

/* gelu(x) = x * Phi(x), Phi the standard normal CDF = (1 + erf(x/sqrt 2)) / 2.
** The polynomials are minimax fits (relative error) made for this file.
** |x| < 1:  Phi(x) = 1/2 + x * S(x^2), S the odd series of erf, error < 1e-9.
** |x| >= 1: Phi(-|x|) = exp(-x^2/2) * t * L(t), t = 1/(1 + |x|/2), error < 2e-8 on
**           [1, 14.5]; past 14.5 Phi(-|x|) is below the smallest subnormal.
** The tail gives Phi(x) for x < 0 directly instead of as 1 - something, so negative
** inputs keep their relative accuracy (0.5*x*(1+erf) would cancel), and -x^2/2 is
** carried as hi + lo because its rounding would cost |x|^2/2 ulps in exp. */
static inline VF vf_gelu(VF x) {
  const VF zero = vf_set1(0.0f), one = vf_set1(1.0f);
  VF a = vf_abs(x);

  VF s = vf_mul(x, x);
  VF ps = vf_set1(-7.654223510e-06f);
  ps = vf_fmadd(ps, s, vf_set1(1.134864137e-04f));
  ps = vf_fmadd(ps, s, vf_set1(-1.186329984e-03f));
  ps = vf_fmadd(ps, s, vf_set1(9.973323428e-03f));
  ps = vf_fmadd(ps, s, vf_set1(-6.649035993e-02f));
  ps = vf_fmadd(ps, s, vf_set1(3.989422801e-01f));
  VF phi_small = vf_fmadd(x, ps, vf_set1(0.5f));

  VF ac = vf_min(vf_set1(14.5f), a);
  VF t = vf_div(one, vf_fmadd(ac, vf_set1(0.5f), one));
  VF pl = vf_set1(4.997445735e-02f);
  pl = vf_fmadd(pl, t, vf_set1(-2.855642487e-01f));
  pl = vf_fmadd(pl, t, vf_set1(5.848812047e-01f));
  pl = vf_fmadd(pl, t, vf_set1(-4.960956563e-01f));
  pl = vf_fmadd(pl, t, vf_set1(7.406993009e-02f));
  pl = vf_fmadd(pl, t, vf_set1(2.021842332e-02f));
  pl = vf_fmadd(pl, t, vf_set1(1.534909435e-01f));
  pl = vf_fmadd(pl, t, vf_set1(1.991896489e-01f));
  pl = vf_fmadd(pl, t, vf_set1(1.994797511e-01f));
  VF h = vf_mul(ac, vf_set1(-0.5f));
  VF hi = vf_mul(h, ac);
  VF lo = vf_fmadd(h, ac, vf_sub(zero, hi));   /* exact: the rounding error of hi */
  VF q = vf_mul(vf_exp_lo(hi, lo), vf_mul(t, pl));
  VF phi_tail = vf_select(vf_lt(x, zero), q, vf_sub(one, q));

  return vf_mul(x, vf_select(vf_lt(a, one), phi_small, phi_tail));
}

/* tanh(x), for the cross-encoder's pooler. |x| < 0.5: x + x^3 P(x^2), the Taylor series
** to x^15 (next term below 1e-8 relative); else sign(x) (1 - 2 / (exp(2|x|) + 1)), 2|x|
** exact, clamped at 10 where the result rounds to 1. Absolute error below 1.5e-7, the
** largest just above 0.5 where the subtraction cancels a bit; tanh(+-0) = +-0, NaN
** stays NaN. */
static inline VF vf_tanh(VF x) {
  const VF zero = vf_set1(0.0f), one = vf_set1(1.0f);
  VF a = vf_min(vf_set1(10.0f), vf_abs(x));
  VF s = vf_mul(x, x);
  VF p = vf_set1(-1.455834387e-03f);
  p = vf_fmadd(p, s, vf_set1(3.592128036e-03f));
  p = vf_fmadd(p, s, vf_set1(-8.863235530e-03f));
  p = vf_fmadd(p, s, vf_set1(2.186948854e-02f));
  p = vf_fmadd(p, s, vf_set1(-5.396825397e-02f));
  p = vf_fmadd(p, s, vf_set1(1.333333333e-01f));
  p = vf_fmadd(p, s, vf_set1(-3.333333333e-01f));
  VF small = vf_fmadd(vf_mul(x, s), p, x);
  VF t = vf_sub(one, vf_div(vf_set1(2.0f), vf_add(vf_exp_lo(vf_add(a, a), zero), one)));
  VF large = vf_select(vf_lt(x, zero), vf_sub(zero, t), t);
  return vf_select(vf_lt(a, vf_set1(1e-30f)), x, vf_select(vf_lt(a, vf_set1(0.5f)), small, large));
}

#endif
