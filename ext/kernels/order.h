/*
** order.h: the one summation order every kernel level uses for a float sum that reaches
** an embedding or a logit, so that scalar, AVX2 and AVX-512 give the same bits
** (docs/deployment.md: statements replayed on another machine write the same bytes).
**
** A sum of n terms t[0..n) is kept as SL_ORDER_LANES (16) partial sums, p[l] holding the
** terms with index = l mod 16 added in index order; then the partial sums are folded in
** halves: p[l] += p[l + 8] (l < 8), p[l] += p[l + 4] (l < 4), p[l] += p[l + 2] (l < 2),
** p[0] + p[1]. Products are fused (one rounding for a*b + p, FMA on the SIMD levels,
** fmaf/fma in the scalar one); additions are plain. Partial sums start at +0 and so are
** never -0: a missing term and a term of +0 (a masked lane) leave them equal.
**
** sl_fmaf is the scalar table's fused product: fmaf itself where the CPU has FMA, else
** the exact product in double plus one correction of the rare double rounding (glibc's
** fmaf without FMA hardware is a slow call: 70 times slower in the scalar GEMM).
**
** On AVX-512 the 16 partial sums are the lanes of one vector; on AVX2 two vectors of 8
** (terms l < 8 and l >= 8 of each block of 16); the scalar table keeps an array of 16.
** Nothing here depends on the number of rows, the columns asked for or the threads: a
** parallel split is by output, never along a sum.
**
** Sums in double (LayerNorm's mean and variance) follow the same order in double.
*/
#ifndef SEMLITE_ORDER_H
#define SEMLITE_ORDER_H

#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define SL_ORDER_LANES 16

/* a*b + c rounded once to float (round to nearest even, the default mode). Without FMA
** hardware: a*b is exact in double (48 bits); a*b + c rounded to double and then to
** float is right unless the double lands exactly halfway between two floats without
** being exact, where it is moved one double ulp toward the exact sum (musl's fmaf does
** the same). Results that are float subnormals (where the halfway bit is elsewhere),
** NaN and inf go to fmaf. */
static inline float sl_fmaf(float a, float b, float c) {
#if defined(__FP_FAST_FMAF) || defined(FP_FAST_FMAF)
  return fmaf(a, b, c);
#else
  const double p = (double)a * b, r = p + c;
  uint64_t u;
  memcpy(&u, &r, sizeof u);
  const unsigned e = (unsigned)(u >> 52) & 0x7ff;
  if ((u & 0x1fffffff) != 0x10000000 && e >= 0x3ff - 126 && e != 0x7ff) return (float)r;
  if (e < 0x3ff - 126 || e == 0x7ff) return fmaf(a, b, c);
  if (r - p == c && r - c == p) return (float)r; /* exact: a true tie, rounded to even */
  const int neg = (int)(u >> 63);
  const double err = neg == (c > p) ? p - r + c : c - r + p;
  if (neg == (err < 0)) u++;
  else u--;
  double adj;
  memcpy(&adj, &u, sizeof adj);
  return (float)adj;
#endif
}

/* s[l] = sl_fmaf(a[l], b[l], s[l]) for the 16 lanes of one block. Without FMA hardware
** on x86-64 (SSE2 is its baseline) the 16 double sums and the test for the cases
** sl_fmaf corrects run two lanes a vector, and only a block that has one goes lane by
** lane through sl_fmaf. */
static inline void sl_fma16(const float *a, const float *b, float s[SL_ORDER_LANES]) {
#if defined(__FP_FAST_FMAF) || defined(FP_FAST_FMAF) || !defined(__SSE2__)
  for (int l = 0; l < SL_ORDER_LANES; l++) s[l] = sl_fmaf(a[l], b[l], s[l]);
#else
  const __m128i low = _mm_set_epi32(0, 0x1fffffff, 0, 0x1fffffff);
  const __m128i half = _mm_set_epi32(-1, 0x10000000, -1, 0x10000000);
  const __m128d absmask = _mm_castsi128_pd(_mm_set1_epi64x(0x7fffffffffffffffLL));
  const __m128d tiny = _mm_set1_pd(0x1p-126), big = _mm_set1_pd(0x1p+1023);
  __m128d r[SL_ORDER_LANES / 2];
  __m128i odd = _mm_setzero_si128();
  for (int i = 0; i < SL_ORDER_LANES / 2; i++) {
    __m128d x = _mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)(a + 2 * i))));
    __m128d y = _mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)(b + 2 * i))));
    __m128d z = _mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)(s + 2 * i))));
    r[i] = _mm_add_pd(_mm_mul_pd(x, y), z);
    /* halfway: the low 29 bits are 1 then zeros (the high word compares with -1: never) */
    odd = _mm_or_si128(odd, _mm_cmpeq_epi32(_mm_and_si128(_mm_castpd_si128(r[i]), low), half));
    __m128d m = _mm_and_pd(r[i], absmask);   /* below FLT_MIN (or 0), inf, NaN */
    odd = _mm_or_si128(odd, _mm_castpd_si128(_mm_or_pd(_mm_cmplt_pd(m, tiny), _mm_cmpnlt_pd(m, big))));
  }
  if (_mm_movemask_epi8(odd) == 0) {
    for (int i = 0; i < SL_ORDER_LANES / 2; i++)
      _mm_storel_pi((__m64 *)(s + 2 * i), _mm_cvtpd_ps(r[i]));
  } else {
    for (int l = 0; l < SL_ORDER_LANES; l++) s[l] = sl_fmaf(a[l], b[l], s[l]);
  }
#endif
}

/* The fold of 16 float partial sums (p is overwritten). */
static inline float sl_order_fold(float p[SL_ORDER_LANES]) {
  for (int h = SL_ORDER_LANES / 2; h >= 1; h /= 2)
    for (int l = 0; l < h; l++) p[l] += p[l + h];
  return p[0];
}

/* The same in double. */
static inline double sl_order_fold_d(double p[SL_ORDER_LANES]) {
  for (int h = SL_ORDER_LANES / 2; h >= 1; h /= 2)
    for (int l = 0; l < h; l++) p[l] += p[l + h];
  return p[0];
}

#endif
