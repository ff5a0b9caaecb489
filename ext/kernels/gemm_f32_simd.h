/*
** gemm_f32_simd.h: the SIMD versions of gemm_f32.h's products, written once in simd.h's
** vocabulary and compiled per level by gemm_f32_avx2.c and gemm_f32_avx512.c.
**
** gemm_packed (dot form, order.h's 16 partial sums per output in one AVX-512 vector or
** two AVX2 ones): AVX-512 blocks 4 rows x 4 columns (one panel): each step of 16 k loads
** the panel's 4 contiguous vectors and 4 vectors of X for 16 FMAs; a transposing fold
** (reduce4x4, order.h's halves) turns the 16 accumulators into one vector whose lane 4i+j
** is output (row i, column j). AVX2 blocks 4 rows x 1 column (8 accumulators). Rows of X
** are taken in chunks of about L1_BUDGET bytes that stay in L1 while the task's panels
** stream past them from L2 (the panels of a task are one contiguous range, which the
** hardware prefetcher follows from memory; on AVX-512 the first chunk also asks for the
** next panel into L2 while it works on this one, which took a short text's products over
** weights from memory from 8-9 ms to 6-6.5 ms per 47 MB). Rows of a block past M keep zero
** accumulators and are not stored; columns past n1 are computed from the panel's zero
** padding or its real columns and masked off at the store.
**
** gemm_kn (leaf form): KN_R rows (AVX-512 4, AVX2 2) by one vector of columns. For the
** 8 pairs of partial sums (l, l + 8), in the order the fold consumes them (l = 0, 4, 2,
** 6, 1, 5, 3, 7), both chains run at once (k = l, l + 16, ... and l + 8, l + 24, ...:
** one broadcast of X and one row of B per product), then p[l] + p[l+8] and the fold's
** further sums as soon as both halves exist; B's rows are masked past N. A chain's rows
** are bt apart: with B leaf-major they are consecutive.
*/
#include "gemm_f32.h"
#include "order.h"
#include "simd.h"

#if SL_SIMD_X86

#define INLINE static inline __attribute__((always_inline))
#define LANES SL_ORDER_LANES
#define PANEL SL_F32_PANEL
#define L1_BUDGET 16384   /* bytes of X kept in L1 across a task's panels */

/* ---- gemm_packed --------------------------------------------------------------------- */

#if SL_SIMD_AVX512

/* acc[i][j]: the 16 partial sums of (row i, column j) -> lane 4i+j holds their fold. First,
** per column, the 256-bit halves of each row are added (p[l] + p[l+8]) and then its 128-bit
** quarters (p[l] + p[l+4]), leaving row i in quarter i; then columns are interleaved and
** added within quarters (+2, then +1). Exactly gemm_simd.h's reduce_block for float. */
INLINE VF reduce4x4(VF acc[4][4]) {
  VF c[4];
#pragma GCC unroll 4
  for (int j = 0; j < 4; j++) {
    VF b01 = _mm512_add_ps(_mm512_shuffle_f32x4(acc[0][j], acc[1][j], _MM_SHUFFLE(1, 0, 1, 0)),
                           _mm512_shuffle_f32x4(acc[0][j], acc[1][j], _MM_SHUFFLE(3, 2, 3, 2)));
    VF b23 = _mm512_add_ps(_mm512_shuffle_f32x4(acc[2][j], acc[3][j], _MM_SHUFFLE(1, 0, 1, 0)),
                           _mm512_shuffle_f32x4(acc[2][j], acc[3][j], _MM_SHUFFLE(3, 2, 3, 2)));
    c[j] = _mm512_add_ps(_mm512_shuffle_f32x4(b01, b23, _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(b01, b23, _MM_SHUFFLE(3, 1, 3, 1)));
  }
  VF u01 = _mm512_add_ps(_mm512_unpacklo_ps(c[0], c[1]), _mm512_unpackhi_ps(c[0], c[1]));
  VF u23 = _mm512_add_ps(_mm512_unpacklo_ps(c[2], c[3]), _mm512_unpackhi_ps(c[2], c[3]));
  return _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(u01), _mm512_castps_pd(u23))),
                       _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(u01), _mm512_castps_pd(u23))));
}

/* Rows [0, mr) of x against one panel (w: its first chunk): the reduced 4 x 4 block. The
** empty asm pins the accumulators in registers (GCC 12 otherwise copies them every step,
** as gemm_simd.h explains); one noinline instance per row count. */
INLINE VF dot_panel(const size_t mr, const float *x, size_t ldx, const float *w, size_t K) {
  VF acc[4][4];
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++)
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) acc[i][j] = vf_zero();
  const size_t full = K / LANES;
  for (size_t c = 0; c < full; c++, w += PANEL * LANES) {
    VF wv[4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) wv[j] = vf_loadu(w + j * LANES);
#pragma GCC unroll 4
    for (size_t i = 0; i < mr; i++) {
      const VF xv = vf_loadu(x + i * ldx + c * LANES);
#pragma GCC unroll 4
      for (int j = 0; j < 4; j++) acc[i][j] = vf_fmadd(xv, wv[j], acc[i][j]);
    }
  }
  if (K % LANES) { /* the panel is zero past K; X is masked there */
    const VM tail = lanes(K % LANES);
    VF wv[4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) wv[j] = vf_loadu(w + j * LANES);
#pragma GCC unroll 4
    for (size_t i = 0; i < mr; i++) {
      const VF xv = vf_maskz_loadu(tail, x + i * ldx + full * LANES);
#pragma GCC unroll 4
      for (int j = 0; j < 4; j++) acc[i][j] = vf_fmadd(xv, wv[j], acc[i][j]);
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++)
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) __asm__("" : "+v"(acc[i][j]));
  return reduce4x4(acc);
}

#define DOT_PANEL_N(mr)                                                                        \
  static __attribute__((noinline)) VF dot_panel_##mr(const float *x, size_t ldx, const float *w, \
                                                     size_t K) {                               \
    return dot_panel(mr, x, ldx, w, K);                                                        \
  }
DOT_PANEL_N(1)
DOT_PANEL_N(2)
DOT_PANEL_N(3)
DOT_PANEL_N(4)

/* bias[0..nr) in every group of 4 lanes, 0 past nr. */
INLINE VF col_pattern(const float *v, size_t nr) {
  return _mm512_broadcast_f32x4(_mm_maskz_loadu_ps((__mmask8)((1u << nr) - 1), v));
}

/* Row i's lanes (quarter i) to row i of y, columns [0, nr). */
INLINE void store_rows(float *y, size_t ldy, size_t mr, size_t nr, VF v) {
  const __mmask8 m = (__mmask8)((1u << nr) - 1);
  _mm_mask_storeu_ps(y, m, _mm512_castps512_ps128(v));
  if (mr > 1) _mm_mask_storeu_ps(y + ldy, m, _mm512_extractf32x4_ps(v, 1));
  if (mr > 2) _mm_mask_storeu_ps(y + 2 * ldy, m, _mm512_extractf32x4_ps(v, 2));
  if (mr > 3) _mm_mask_storeu_ps(y + 3 * ldy, m, _mm512_extractf32x4_ps(v, 3));
}

static void gemm_packed(const float *x, size_t ldx, size_t M, const float *wp, size_t K, const float *bias,
                        size_t n0, size_t n1, float *y, size_t ldy) {
  const size_t pstride = (K + LANES - 1) / LANES * PANEL * LANES;
  size_t mc = L1_BUDGET / (K * sizeof(float) + 1) / 4 * 4;
  if (mc < 4) mc = 4;
  for (size_t m0 = 0; m0 < M; m0 += mc) {
    const size_t m1 = M - m0 < mc ? M : m0 + mc;
    for (size_t n = n0; n < n1; n += PANEL) {
      const size_t nr = n1 - n < PANEL ? n1 - n : PANEL;
      const float *w = wp + n / PANEL * pstride;
      const VF b = bias ? col_pattern(bias + n, nr) : vf_zero();
      /* the next panel, a share per row block, into L2: its memory latency then overlaps
      ** this panel's products (the hardware prefetcher alone leaves the first row block
      ** of each panel waiting for memory) */
      const size_t blocks = (m1 - m0 + 3) / 4, lines = pstride * sizeof(float) / 64;
      const char *next = n + PANEL < n1 ? (const char *)(w + pstride) : NULL;
      for (size_t m = m0; m < m1; m += 4) {
        const float *xm = x + m * ldx;
        VF s;
        if (next && m0 == 0) {
          const size_t bi = (m - m0) / 4, l0 = lines * bi / blocks, l1 = lines * (bi + 1) / blocks;
          for (size_t l = l0; l < l1; l++) _mm_prefetch(next + 64 * l, _MM_HINT_T1);
        }
        switch (m1 - m) {
          case 1: s = dot_panel_1(xm, ldx, w, K); store_rows(y + m * ldy + n, ldy, 1, nr, vf_add(s, b)); break;
          case 2: s = dot_panel_2(xm, ldx, w, K); store_rows(y + m * ldy + n, ldy, 2, nr, vf_add(s, b)); break;
          case 3: s = dot_panel_3(xm, ldx, w, K); store_rows(y + m * ldy + n, ldy, 3, nr, vf_add(s, b)); break;
          default: s = dot_panel_4(xm, ldx, w, K); store_rows(y + m * ldy + n, ldy, 4, nr, vf_add(s, b)); break;
        }
      }
    }
  }
}

#else /* AVX2: 4 rows x 1 column, two vectors of partial sums per output */

/* acc[i][0..1]: row i's 16 partial sums (lanes l < 8, then l >= 8) -> lane i holds their
** fold: p[l] + p[l+8] vertically, then gemm_simd.h's reduce_rows (+4, +2, +1). */
INLINE VF reduce_rows(VF acc[4][2]) {
  VF h[4];
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++) h[i] = _mm256_add_ps(acc[i][0], acc[i][1]);
  VF q01 = _mm256_add_ps(_mm256_permute2f128_ps(h[0], h[1], 0x20), _mm256_permute2f128_ps(h[0], h[1], 0x31));
  VF q23 = _mm256_add_ps(_mm256_permute2f128_ps(h[2], h[3], 0x20), _mm256_permute2f128_ps(h[2], h[3], 0x31));
  VF r = _mm256_add_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(q01), _mm256_castps_pd(q23))),
                       _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(q01), _mm256_castps_pd(q23))));
  r = _mm256_add_ps(r, _mm256_movehdup_ps(r));
  return _mm256_permutevar8x32_ps(r, _mm256_setr_epi32(0, 4, 2, 6, 0, 4, 2, 6));
}

/* Rows [0, mr) against one column (w: its first chunk, chunks PANEL * LANES apart). */
INLINE VF dot_col(const size_t mr, const float *x, size_t ldx, const float *w, size_t K) {
  VF acc[4][2];
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++) acc[i][0] = acc[i][1] = vf_zero();
  const size_t full = K / LANES;
  for (size_t c = 0; c < full; c++, w += PANEL * LANES) {
    const VF w0 = vf_loadu(w), w1 = vf_loadu(w + 8);
#pragma GCC unroll 4
    for (size_t i = 0; i < mr; i++) {
      acc[i][0] = vf_fmadd(vf_loadu(x + i * ldx + c * LANES), w0, acc[i][0]);
      acc[i][1] = vf_fmadd(vf_loadu(x + i * ldx + c * LANES + 8), w1, acc[i][1]);
    }
  }
  if (K % LANES) {
    const size_t left = K % LANES;
    const VM t0 = lanes(left), t1 = lanes(left > 8 ? left - 8 : 0);
    const VF w0 = vf_loadu(w), w1 = vf_loadu(w + 8);
#pragma GCC unroll 4
    for (size_t i = 0; i < mr; i++) {
      acc[i][0] = vf_fmadd(vf_maskz_loadu(t0, x + i * ldx + full * LANES), w0, acc[i][0]);
      acc[i][1] = vf_fmadd(vf_maskz_loadu(t1, x + i * ldx + full * LANES + 8), w1, acc[i][1]);
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++) __asm__("" : "+x"(acc[i][0]), "+x"(acc[i][1]));
  return reduce_rows(acc);
}

#define DOT_COL_N(mr)                                                                          \
  static __attribute__((noinline)) VF dot_col_##mr(const float *x, size_t ldx, const float *w,  \
                                                   size_t K) {                                 \
    return dot_col(mr, x, ldx, w, K);                                                          \
  }
DOT_COL_N(1)
DOT_COL_N(2)
DOT_COL_N(3)
DOT_COL_N(4)

static void gemm_packed(const float *x, size_t ldx, size_t M, const float *wp, size_t K, const float *bias,
                        size_t n0, size_t n1, float *y, size_t ldy) {
  const size_t pstride = (K + LANES - 1) / LANES * PANEL * LANES;
  size_t mc = L1_BUDGET / (K * sizeof(float) + 1) / 4 * 4;
  if (mc < 4) mc = 4;
  for (size_t m0 = 0; m0 < M; m0 += mc) {
    const size_t m1 = M - m0 < mc ? M : m0 + mc;
    for (size_t n = n0; n < n1; n++) {
      const float *w = wp + n / PANEL * pstride + n % PANEL * LANES;
      const VF b = vf_set1(bias ? bias[n] : 0.0f);
      for (size_t m = m0; m < m1; m += 4) {
        const float *xm = x + m * ldx;
        const size_t mr = m1 - m < 4 ? m1 - m : 4;
        VF s = mr == 1 ? dot_col_1(xm, ldx, w, K) : mr == 2 ? dot_col_2(xm, ldx, w, K)
             : mr == 3 ? dot_col_3(xm, ldx, w, K) : dot_col_4(xm, ldx, w, K);
        float t[8];
        vf_storeu(t, vf_add(s, b));
        for (size_t i = 0; i < mr; i++) y[(m + i) * ldy + n] = t[i];
      }
    }
  }
}

#endif

/* ---- gemm_kn ------------------------------------------------------------------------- */

#if SL_SIMD_AVX512
#define KN_R 4
#else
#define KN_R 2
#endif

/* Rows [0, r) of x by the columns of B in cm (one vector): out[i] = row i's outputs. */
INLINE void kn_block(const size_t r, const float *x, size_t ldx, const float *b, size_t bl, size_t bt, size_t K,
                     VM cm, VF out[KN_R]) {
  VF bs[KN_R], cs[KN_R], ds[KN_R];
#pragma GCC unroll 8
  for (int q = 0; q < 8; q++) {
    const size_t l = (size_t)(((q & 1) << 2) | (q & 2) | ((q >> 2) & 1));   /* 0 4 2 6 1 5 3 7 */
    VF a0[KN_R], a1[KN_R];
#pragma GCC unroll 4
    for (size_t i = 0; i < r; i++) a0[i] = a1[i] = vf_zero();
    size_t k = l;
    const float *b0 = b + l * bl, *b1 = b + (l + 8) * bl;
    for (; k + 8 < K; k += LANES, b0 += bt, b1 += bt) {
      const VF w0 = vf_maskz_loadu(cm, b0), w1 = vf_maskz_loadu(cm, b1);
#pragma GCC unroll 4
      for (size_t i = 0; i < r; i++) {
        a0[i] = vf_fmadd(vf_set1(x[i * ldx + k]), w0, a0[i]);
        a1[i] = vf_fmadd(vf_set1(x[i * ldx + k + 8]), w1, a1[i]);
      }
    }
    if (k < K) { /* p[l] has one term more than p[l+8] */
      const VF w0 = vf_maskz_loadu(cm, b0);
#pragma GCC unroll 4
      for (size_t i = 0; i < r; i++) a0[i] = vf_fmadd(vf_set1(x[i * ldx + k]), w0, a0[i]);
    }
    /* B_l = p[l] + p[l+8]; C_l = B_l + B_{l+4}; D_l = C_l + C_{l+2}; out = D_0 + D_1 */
#pragma GCC unroll 4
    for (size_t i = 0; i < r; i++) {
      const VF s = vf_add(a0[i], a1[i]);
      if (q == 1) cs[i] = vf_add(bs[i], s);
      else if (q == 3) ds[i] = vf_add(cs[i], vf_add(bs[i], s));
      else if (q == 5) cs[i] = vf_add(bs[i], s);
      else if (q == 7) out[i] = vf_add(ds[i], vf_add(cs[i], vf_add(bs[i], s)));
      else bs[i] = s;
    }
  }
}

#define KN_N(r)                                                                                    \
  static __attribute__((noinline)) void kn_block_##r(const float *x, size_t ldx, const float *b,   \
                                                     size_t bl, size_t bt, size_t K, VM cm,        \
                                                     VF out[KN_R]) {                               \
    kn_block(r, x, ldx, b, bl, bt, K, cm, out);                                                    \
  }
KN_N(1)
KN_N(2)
#if KN_R > 2
KN_N(3)
KN_N(4)
#endif

static void gemm_kn(const float *x, size_t ldx, size_t M, const float *b, size_t bl, size_t bt, size_t N,
                    size_t K, float *y, size_t ldy) {
  for (size_t n = 0; n < N; n += W) {
    const VM cm = lanes(N - n);
    for (size_t m = 0; m < M; m += KN_R) {
      const size_t r = M - m < KN_R ? M - m : KN_R;
      const float *xm = x + m * ldx;
      VF out[KN_R];
      switch (r) {
        case 1: kn_block_1(xm, ldx, b + n, bl, bt, K, cm, out); break;
#if KN_R > 2
        case 2: kn_block_2(xm, ldx, b + n, bl, bt, K, cm, out); break;
        case 3: kn_block_3(xm, ldx, b + n, bl, bt, K, cm, out); break;
        default: kn_block_4(xm, ldx, b + n, bl, bt, K, cm, out); break;
#else
        default: kn_block_2(xm, ldx, b + n, bl, bt, K, cm, out); break;
#endif
      }
      for (size_t i = 0; i < r; i++) vf_mask_storeu(y + (m + i) * ldy + n, cm, out[i]);
    }
  }
}

static void f32_fill(sl_f32_kernels *t) {
  t->name = SL_SIMD_NAME;
  t->gemm_packed = gemm_packed;
  t->gemm_kn = gemm_kn;
}

#else
static void f32_fill(sl_f32_kernels *t) { (void)t; }
#endif
