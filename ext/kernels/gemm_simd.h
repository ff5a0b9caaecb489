/*
** gemm_simd.h: the SIMD versions of gemm.h's kernels, written once in simd.h's
** vocabulary and compiled per level by gemm_avx2.c and gemm_avx512.c; gemm.c fills them
** in over the level below when dispatch.c says the level's state is usable.
**
** Products are dot products over K with W read in place, in its [out][in] layout
** (float32 K need not be a multiple of W: its last step loads masked). A block of
** MR = 4 rows of X by NR rows of W keeps MR x NR accumulators (AVX-512: NR = 4, 16
** vectors of 16 lanes; AVX2: NR = 2, 8 vectors of 8 lanes, which with their operands
** fill the 16 YMM registers). Each step of K loads NR + MR vectors; at the end one
** transposing reduction (per level: reduce_block) turns the partial sums into one vector
** whose lane NR*i+j is output (row i, column j), so the epilogue (scales, bias) runs on
** whole vectors and each row stores NR floats. The blocks are visited by gemm_isa.h's
** SL_GEMM_FOR_BLOCKS (chunks of X that stay in L1). Edges: rows of a block past M keep
** zero accumulators and are not stored; columns past n1 read the last valid row of W
** again and are masked off at the store.
**
** What each level multiplies with (the *_OP blocks below):
** float32  one FMA per W products, at both levels, in order.h's order: 16 partial sums
**          per output, one vector on AVX-512, two on AVX2 (whose float32 blocks are
**          therefore MR x 1: 8 accumulators), folded in halves, so that both levels and
**          the scalar one give the same bits.
** int8     AVX-512: vpdpbusd (AVX512_VNNI), 4 unsigned x signed byte products into each
**          int32 lane; the sums are of xu*wq, so 128 * wsum comes off (gemm_isa.h).
**          AVX2: vpmaddubsw multiplies unsigned by signed bytes but saturates its pair
**          sums (255 * 127 * 2 > 32767), so it is fed |xq| and wq * sign(xq) instead of
**          xu and wq: |xq| <= 128 and |wq| <= 127 give pair sums of at most 32512,
**          exact. vpmaddwd by 1 widens them to int32. This forms sum xq*wq directly, the
**          same integer as sum xu*wq - 128 * wsum, so wsum is not read. (wq = -128 would
**          break vpsignb; the header keeps wq in [-127, 127].)
** bf16     AVX-512: vdpbf16ps (AVX512_BF16), 2 products into each float lane.
**          AVX2: each 32-bit word holds two bf16 values; masking off the low half gives
**          the upper one as a float, shifting left by 16 the lower one, so two FMAs
**          consume 2W values with no unpacking. Products of two bf16 are exact in
**          float; only the sums round.
** The AVX-512 int8 and bf16 products are compiled for their extension alone and filled
** in only when cpuid reports it (otherwise the AVX2 versions stay in the table).
** On AVX-512 the reduction costs about 45 vector operations per 16 outputs against K/64
** vpdpbusd per output, which is why K = 384 runs at about 65% of the vpdpbusd peak and
** K = 1536 at about 80%; the engine therefore runs the packed products of
** gemm_packed_avx512.c where the CPU has VNNI / BF16, and these where W is in place.
**
** quantize_rows and to_bf16 follow gemm_isa.h exactly, W lanes at a time with masked
** tails, so their output equals the scalar one bit for bit.
**
** Defines gemm_fill(t, has_i8, has_bf16), which overwrites the entries this level
** implements (has_*: the CPU has what this level's int8 / bf16 product needs); a no-op
** off x86.
*/
#include "gemm_isa.h"
#include "order.h"
#include "simd.h"

#include <math.h>

#if SL_SIMD_X86

#define MR SL_GEMM_MR      /* rows of X per block */
#define L1_BUDGET 16384    /* bytes of X kept in L1 across the column blocks */

#define INLINE static inline __attribute__((always_inline))

/* ---- quantize_rows, to_bf16 ---------------------------------------------------------- */

/* round(clamp(x * inv)) of one vector as int32, gemm_isa.h's rule: a NaN product is 0,
** and cvtps2dq rounds to nearest even (MXCSR). */
static inline VI quantize(VF x, VF inv) {
  VF v = vf_zero_nan(vf_mul(x, inv));
  v = vf_min(vf_max(v, vf_set1(-127.0f)), vf_set1(127.0f));
  return vf_to_i32(v);
}

/* One row, gemm_isa.h's rule on r - c when centered (c: the row's centre), else on r. */
INLINE void quantize_row(const int centered, const float *r, size_t K, float c, uint8_t *q,
                         size_t ldq, float *xs) {
  const VI absmask = vi_set1_i32(0x7fffffff);
  const VF cv = vf_set1(c);
  /* |x| as integers: NaN patterns are above inf, so a NaN wins the max */
  VI amax = vi_zero();
  uint32_t abits;
  if (!centered) {
    for (size_t k = 0; k < K; k += W)
      amax = vi_max_i32(amax, vi_and(vi_maskz_load_i32(lanes(K - k), r + k), absmask));
    abits = (uint32_t)vi_reduce_max_i32(amax);
  } else {
    /* the masked tail would read 0 - c: the last W values again instead (a max does not
    ** mind repeats), or, in a row shorter than W, one value at a time */
    size_t k = 0;
    for (; k + W <= K; k += W) amax = vi_max_i32(amax, vi_and(vf_as_vi(vf_sub(vf_loadu(r + k), cv)), absmask));
    if (k < K && K >= W) amax = vi_max_i32(amax, vi_and(vf_as_vi(vf_sub(vf_loadu(r + K - W), cv)), absmask));
    abits = (uint32_t)vi_reduce_max_i32(amax);
    if (K < W)
      for (; k < K; k++) {
        uint32_t a = sl_f32_bits(r[k] - c) & 0x7fffffffu;
        if (a > abits) abits = a;
      }
  }
  float a;
  memcpy(&a, &abits, sizeof a);
  *xs = a / 127.0f;
  const VF inv = vf_set1(a > 0.0f ? 127.0f / a : 0.0f);
#define CENTER(v) (centered ? vf_sub(v, cv) : (v))
  size_t k = 0;
  /* 4W at a time: saturating packs (the values are in [-127, 127], so nothing
  ** saturates) to signed bytes, and the zero point added by flipping the top bit */
  for (; k + 4 * W <= K; k += 4 * W) {
    VI b = vi_pack_i32x4_i8(quantize(CENTER(vf_loadu(r + k)), inv), quantize(CENTER(vf_loadu(r + k + W)), inv),
                            quantize(CENTER(vf_loadu(r + k + 2 * W)), inv),
                            quantize(CENTER(vf_loadu(r + k + 3 * W)), inv));
    vi_storeu(q + k, vi_xor(b, vi_set1_i8((char)0x80)));
  }
  for (; k < K; k += W) {
    VI i = quantize(CENTER(vf_maskz_loadu(lanes(K - k), r + k)), inv);
    vi_store_i32_u8(q + k, K - k, vi_add_i32(i, vi_set1_i32(128)));
  }
#undef CENTER
  memset(q + K, 128, ldq - K);
}

static void quantize_rows(const float *x, size_t ldx, size_t M, size_t K, uint8_t *xu,
                          size_t ldq, float *xs) {
  for (size_t m = 0; m < M; m++) quantize_row(0, x + m * ldx, K, 0.0f, xu + m * ldq, ldq, xs + m);
}

/* min and max with the data as the first operand: a NaN gives back the running value
** (minps / maxps return their second operand when either is NaN), as gemm_isa.h's
** x < lo ? x : lo does; the tail reads the last W values again. */
static void quantize_rows_centered(const float *x, size_t ldx, size_t M, size_t K, uint8_t *xu,
                                   size_t ldq, float *xs, float *xc) {
  for (size_t m = 0; m < M; m++) {
    const float *r = x + m * ldx;
    float lo = INFINITY, hi = -INFINITY;
    size_t k = 0;
    if (K >= W) {
      VF vlo = vf_set1(INFINITY), vhi = vf_set1(-INFINITY);
      for (; k + W <= K; k += W) {
        const VF v = vf_loadu(r + k);
        vlo = vf_min(v, vlo), vhi = vf_max(v, vhi);
      }
      if (k < K) {
        const VF v = vf_loadu(r + K - W);
        vlo = vf_min(v, vlo), vhi = vf_max(v, vhi);
      }
      lo = vf_reduce_min(vlo), hi = vf_reduce_max(vhi);
      k = K;
    }
    for (; k < K; k++) {
      lo = r[k] < lo ? r[k] : lo;
      hi = r[k] > hi ? r[k] : hi;
    }
    xc[m] = sl_row_center(lo, hi);
    quantize_row(1, r, K, xc[m], xu + m * ldq, ldq, xs + m);
  }
}

static void to_bf16(const float *x, size_t n, uint16_t *out) {
  const VI absmask = vi_set1_i32(0x7fffffff), inf = vi_set1_i32(0x7f800000);
  const VI half = vi_set1_i32(0x7fff), one = vi_set1_i32(1);
  const VI quiet = vi_set1_i32(0x40);
  for (size_t i = 0; i < n; i += W) {
    VI u = vi_maskz_load_i32(lanes(n - i), x + i), top = vi_srli_i32(u, 16);
    VM nan = vi_cmpgt_i32(vi_and(u, absmask), inf);
    VI r = vi_add_i32(u, vi_add_i32(half, vi_and(top, one)));
    r = vi_mask_or(vi_srli_i32(r, 16), nan, top, quiet);
    vi_store_i32_u16(out + i, n - i, r);
  }
}

/* ---- each level's block layout and products ------------------------------------------
** reduce_block(fp, acc)   acc[i][j] (int32 or, fp, float partial sums) -> one vector whose
**                         lane NR*i+j is the sum of acc[i][j]
** col_pattern(v, nr)      v[0..nr) in every group of NR lanes (lane NR*i+j = v[j]), 0 past nr
** row_pattern(xs, mr)     xs[i] in the lanes of row i (lane NR*i+j = xs[i])
** store_rows(y, ...)      row i's lanes of v to row i of y, columns [0, nr)
** P_X, P_W, P_PREP_X/W    a product's operands, made from each loaded vector of X and W
** P_OP(acc, x, w)         one step's products of a row of X and a row of W added to acc
** P_FP, P_TARGET          float (1) or int32 (0) lanes; the extension it is compiled for
** P_NR, P_V               columns of W per block; vectors of partial sums per output
** P_REDUCE(acc)           reduce_block (or, float32 on AVX2, reduce_rows) for P_NR
** P_COLS(v, nr), P_STORE  col_pattern and store_rows for P_NR */

/* float32: order.h's order, 16 partial sums per output over k mod 16, one FMA each:
** F32_V vectors hold them (AVX-512: 1, AVX2: 2), folded in halves; reduce_block folds
** the lanes in halves too, so every level (scalar included) gives the same bits. */
typedef VF F32_X;
typedef VF F32_W;
#define F32_PREP_X vi_as_vf
#define F32_PREP_W vi_as_vf
#define F32_OP(acc, x, w) vf_as_vi(vf_fmadd(x, w, vi_as_vf(acc)))
#define F32_FP 1
#define F32_TARGET
#define F32_V (SL_ORDER_LANES / W)
#define I8_V 1
#define BF16_V 1

#if SL_SIMD_AVX512

#define NR 4
#define I8_NAME "avx512-vnni"
#define BF16_NAME "avx512-bf16"

/* a + b as int32 or float lanes. */
INLINE VI add_lanes(int fp, VI a, VI b) {
  if (!fp) return _mm512_add_epi32(a, b);
  return _mm512_castps_si512(_mm512_add_ps(_mm512_castsi512_ps(a), _mm512_castsi512_ps(b)));
}

/* First, per column j, the four 128-bit quarters of each row fold into one (c[j], its
** quarter i for row i); then the columns are interleaved and added within quarters. */
INLINE VI reduce_block(int fp, VI acc[MR][NR]) {
  VI c[NR];
#pragma GCC unroll 4
  for (int j = 0; j < NR; j++) {
    VI b01 = add_lanes(fp, _mm512_shuffle_i32x4(acc[0][j], acc[1][j], _MM_SHUFFLE(1, 0, 1, 0)),
                       _mm512_shuffle_i32x4(acc[0][j], acc[1][j], _MM_SHUFFLE(3, 2, 3, 2)));
    VI b23 = add_lanes(fp, _mm512_shuffle_i32x4(acc[2][j], acc[3][j], _MM_SHUFFLE(1, 0, 1, 0)),
                       _mm512_shuffle_i32x4(acc[2][j], acc[3][j], _MM_SHUFFLE(3, 2, 3, 2)));
    c[j] = add_lanes(fp, _mm512_shuffle_i32x4(b01, b23, _MM_SHUFFLE(2, 0, 2, 0)),
                     _mm512_shuffle_i32x4(b01, b23, _MM_SHUFFLE(3, 1, 3, 1)));
  }
  VI u01 = add_lanes(fp, _mm512_unpacklo_epi32(c[0], c[1]), _mm512_unpackhi_epi32(c[0], c[1]));
  VI u23 = add_lanes(fp, _mm512_unpacklo_epi32(c[2], c[3]), _mm512_unpackhi_epi32(c[2], c[3]));
  return add_lanes(fp, _mm512_unpacklo_epi64(u01, u23), _mm512_unpackhi_epi64(u01, u23));
}

INLINE VI col_pattern(const void *v, size_t nr) {
  return _mm512_broadcast_i32x4(_mm_maskz_loadu_epi32((__mmask8)((1u << nr) - 1), v));
}

INLINE VF row_pattern(const float *xs, size_t mr) {
  const VI idx = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
  return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(_mm_maskz_loadu_ps((__mmask8)((1u << mr) - 1), xs)));
}

INLINE void store_rows(float *y, size_t ldy, size_t mr, size_t nr, VF v) {
  const __mmask8 nrmask = (__mmask8)((1u << nr) - 1);
  _mm_mask_storeu_ps(y, nrmask, _mm512_castps512_ps128(v));
  if (mr > 1) _mm_mask_storeu_ps(y + ldy, nrmask, _mm512_extractf32x4_ps(v, 1));
  if (mr > 2) _mm_mask_storeu_ps(y + 2 * ldy, nrmask, _mm512_extractf32x4_ps(v, 2));
  if (mr > 3) _mm_mask_storeu_ps(y + 3 * ldy, nrmask, _mm512_extractf32x4_ps(v, 3));
}

/* int8: vpdpbusd of xu and wq as they are. */
typedef VI I8_X;
typedef VI I8_W;
#define I8_PREP_X(v) (v)
#define I8_PREP_W(v) (v)
#define I8_OP(acc, x, w) _mm512_dpbusd_epi32(acc, x, w)
#define I8_FP 0
#define I8_TARGET __attribute__((target("avx512vnni")))

/* bf16: vdpbf16ps of the pairs as they are. */
typedef VI BF16_X;
typedef VI BF16_W;
#define BF16_PREP_X(v) (v)
#define BF16_PREP_W(v) (v)
#define BF16_OP(acc, x, w) \
  _mm512_castps_si512(_mm512_dpbf16_ps(_mm512_castsi512_ps(acc), (__m512bh)(x), (__m512bh)(w)))
#define BF16_FP 1
#define BF16_TARGET __attribute__((target("avx512bf16")))

#define I8_NR NR
#define BF16_NR NR
#define F32_NR NR
#define I8_REDUCE(acc) reduce_block(0, acc)
#define BF16_REDUCE(acc) reduce_block(1, acc)
#define F32_REDUCE(acc) reduce_block(1, acc)
#define F32_COLS col_pattern
#define F32_STORE store_rows

#else /* AVX2 */

#define NR 2
#define I8_NAME "avx2"
#define BF16_NAME "avx2"

/* Two rounds of horizontal adds leave rows 0-1 in g01 and rows 2-3 in g23, each with
** its two 128-bit halves still to be added. (Pairs of neighbours: not order.h's fold,
** which the integer sums do not need and bf16 does not promise.) */
INLINE VI reduce_block(int fp, VI acc[MR][NR]) {
#define HADD(a, b) (fp ? _mm256_castps_si256(_mm256_hadd_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b))) \
                       : _mm256_hadd_epi32(a, b))
  VI g01 = HADD(HADD(acc[0][0], acc[0][1]), HADD(acc[1][0], acc[1][1]));
  VI g23 = HADD(HADD(acc[2][0], acc[2][1]), HADD(acc[3][0], acc[3][1]));
#undef HADD
  VI a = _mm256_permute2x128_si256(g01, g23, 0x20), b = _mm256_permute2x128_si256(g01, g23, 0x31);
  if (!fp) return _mm256_add_epi32(a, b);
  return _mm256_castps_si256(_mm256_add_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b)));
}

INLINE VI col_pattern(const void *v, size_t nr) {
  __m128 p = nr > 1 ? _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)v)) : _mm_load_ss(v);
  return _mm256_castpd_si256(_mm256_broadcastsd_pd(_mm_castps_pd(p)));
}

INLINE VF row_pattern(const float *xs, size_t mr) {
  __m128 p = _mm_maskload_ps(xs, _mm256_castsi256_si128(lanes(mr)));
  return _mm256_permutevar8x32_ps(_mm256_castps128_ps256(p), _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3));
}

INLINE void store_rows(float *y, size_t ldy, size_t mr, size_t nr, VF v) {
  float t[W];
  _mm256_storeu_ps(t, v);
  for (size_t i = 0; i < mr; i++) {
    y[i * ldy] = t[2 * i];
    if (nr > 1) y[i * ldy + 1] = t[2 * i + 1];
  }
}

/* int8: x as |xq| (unsigned) and xq, the weights as they are. */
typedef struct { VI a, s; } I8_X;
typedef VI I8_W;
INLINE I8_X I8_PREP_X(VI xv) {
  I8_X r;
  r.s = _mm256_xor_si256(xv, _mm256_set1_epi8((char)0x80));
  r.a = _mm256_abs_epi8(r.s);
  return r;
}
#define I8_PREP_W(v) (v)
#define I8_OP(acc, x, w)                                                                    \
  _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16((x).a, _mm256_sign_epi8(w, (x).s)), \
                                          _mm256_set1_epi16(1)))
#define I8_FP 0
#define I8_TARGET

/* bf16: the upper and the lower value of each word as floats. */
typedef struct { VF hi, lo; } BF16_X;
typedef BF16_X BF16_W;
INLINE BF16_X BF16_PREP_X(VI v) {
  BF16_X r;
  r.hi = _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32((int)0xffff0000)));
  r.lo = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
  return r;
}
#define BF16_PREP_W BF16_PREP_X
#define BF16_OP(acc, x, w) \
  _mm256_castps_si256(_mm256_fmadd_ps((x).lo, (w).lo, _mm256_fmadd_ps((x).hi, (w).hi, _mm256_castsi256_ps(acc))))
#define BF16_FP 1
#define BF16_TARGET

/* float32: one column of W per block, since each output keeps two vectors of partial
** sums (16 of MR x 2 x 2 would not leave a register for the operands); lane i of the
** reduced vector is row i. reduce_rows folds each row's 8 lanes in halves (order.h):
** the 128-bit halves, then the 64-bit ones, then the neighbours. */
INLINE VI reduce_rows(VI acc[MR][1]) {
  VF h[MR];
#pragma GCC unroll 4
  for (int i = 0; i < MR; i++) h[i] = vi_as_vf(acc[i][0]);
  VF q01 = _mm256_add_ps(_mm256_permute2f128_ps(h[0], h[1], 0x20), _mm256_permute2f128_ps(h[0], h[1], 0x31));
  VF q23 = _mm256_add_ps(_mm256_permute2f128_ps(h[2], h[3], 0x20), _mm256_permute2f128_ps(h[2], h[3], 0x31));
  /* 128-bit lane 0: rows 0 and 2, lane 1: rows 1 and 3, two partial sums each */
  VF r = _mm256_add_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(q01), _mm256_castps_pd(q23))),
                       _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(q01), _mm256_castps_pd(q23))));
  r = _mm256_add_ps(r, _mm256_movehdup_ps(r));
  return vf_as_vi(_mm256_permutevar8x32_ps(r, _mm256_setr_epi32(0, 4, 2, 6, 0, 4, 2, 6)));
}

INLINE VI col1(const void *v, size_t nr) {
  (void)nr;
  return vf_as_vi(_mm256_set1_ps(*(const float *)v));
}

INLINE void store_rows1(float *y, size_t ldy, size_t mr, size_t nr, VF v) {
  float t[W];
  (void)nr;
  _mm256_storeu_ps(t, v);
  for (size_t i = 0; i < mr; i++) y[i * ldy] = t[i];
}

#define I8_NR NR
#define BF16_NR NR
#define F32_NR 1
#define I8_REDUCE(acc) reduce_block(0, acc)
#define BF16_REDUCE(acc) reduce_block(1, acc)
#define F32_REDUCE(acc) reduce_rows(acc)
#define F32_COLS col1
#define F32_STORE store_rows1

#endif

/* ---- the products -------------------------------------------------------------------- */

/* The inner loop of the three products: acc[i][j] = P_OP(acc[i][j], x row i, w row j)
** over `bytes` bytes of each row, SL_SIMD_BYTES a step, then the reduction. A macro
** because the products differ only in their operations and each must be compiled for
** its own extension alone (a function with both targets could run a BF16 instruction on
** a CPU without it). The empty asm after the loop pins each accumulator in a register:
** without it GCC 12 copies all of them on every step, because the reduction reads them
** as parts. The function is then instantiated once per row count (noinline), which keeps
** each loop small enough for the register allocator and hands it mr as a constant. */
/* One step of K: P_V vectors of each row (LOAD reads vector v of a row; the tail's masks
** off the rest). */
#define DOT_STEP(P, LOAD)                                                                      \
  do {                                                                                         \
    _Pragma("GCC unroll 2") for (int v = 0; v < P##_V; v++) {                                  \
      const size_t kv = k + (size_t)v * SL_SIMD_BYTES;                                         \
      P##_W wv[P##_NR];                                                                        \
      _Pragma("GCC unroll 4") for (int j = 0; j < P##_NR; j++)                                 \
        wv[j] = P##_PREP_W(LOAD((const char *)w[j] + kv, v));                                  \
      _Pragma("GCC unroll 4") for (size_t i = 0; i < mr; i++) {                                \
        const P##_X xv = P##_PREP_X(LOAD(x + i * ldx + kv, v));                                \
        _Pragma("GCC unroll 4") for (int j = 0; j < P##_NR; j++)                               \
          acc[i][j][v] = P##_OP(acc[i][j][v], xv, wv[j]);                                      \
      }                                                                                        \
    }                                                                                          \
  } while (0)
#define LOAD_FULL(p, v) vi_loadu(p)
#define LOAD_TAIL(p, v) vi_maskz_load_i32(tail[v], p)

#define DOT_INSTANCE(name, P, mr)                                                              \
  static __attribute__((noinline)) P##_TARGET VI name##_##mr(const char *x, size_t ldx,       \
                                                           const void *const w[P##_NR],        \
                                                           size_t bytes) {                     \
    return name(mr, x, ldx, w, bytes);                                                         \
  }
/* The P_V vectors of an output's partial sums are folded in halves (order.h) before the
** reduction. */
#define DEFINE_DOT(name, P)                                                                    \
  INLINE P##_TARGET VI name(const size_t mr, const char *x, size_t ldx,                        \
                            const void *const w[P##_NR], size_t bytes) {                       \
    VI acc[MR][P##_NR][P##_V], sums[MR][P##_NR];                                               \
    const size_t step = P##_V * SL_SIMD_BYTES;                                                 \
    size_t k = 0;                                                                              \
    _Pragma("GCC unroll 4") for (int i = 0; i < MR; i++)                                       \
      _Pragma("GCC unroll 4") for (int j = 0; j < P##_NR; j++)                                 \
        _Pragma("GCC unroll 2") for (int v = 0; v < P##_V; v++) acc[i][j][v] = vi_zero();      \
    for (; k + step <= bytes; k += step) DOT_STEP(P, LOAD_FULL);                               \
    if (k < bytes) { /* float32 only: the int8 and bf16 rows are padded */                     \
      VM tail[P##_V];                                                                          \
      const size_t left = (bytes - k) / 4;                                                     \
      _Pragma("GCC unroll 2") for (int v = 0; v < P##_V; v++)                                  \
        tail[v] = lanes(left > (size_t)v * W ? left - (size_t)v * W : 0);                      \
      DOT_STEP(P, LOAD_TAIL);                                                                  \
    }                                                                                          \
    _Pragma("GCC unroll 4") for (int i = 0; i < MR; i++)                                       \
      _Pragma("GCC unroll 4") for (int j = 0; j < P##_NR; j++)                                 \
        _Pragma("GCC unroll 2") for (int v = 0; v < P##_V; v++) __asm__("" : "+v"(acc[i][j][v])); \
    _Pragma("GCC unroll 4") for (int i = 0; i < MR; i++)                                       \
      _Pragma("GCC unroll 4") for (int j = 0; j < P##_NR; j++) {                               \
        for (int h = P##_V / 2; h >= 1; h /= 2)                                                \
          for (int v = 0; v < h; v++)                                                          \
            acc[i][j][v] = P##_FP ? vf_as_vi(vf_add(vi_as_vf(acc[i][j][v]), vi_as_vf(acc[i][j][v + h]))) \
                                  : vi_add_i32(acc[i][j][v], acc[i][j][v + h]);                \
        sums[i][j] = acc[i][j][0];                                                             \
      }                                                                                        \
    return P##_REDUCE(sums);                                                                   \
  }                                                                                            \
  DOT_INSTANCE(name, P, 1)                                                                     \
  DOT_INSTANCE(name, P, 2)                                                                     \
  DOT_INSTANCE(name, P, 3)                                                                     \
  DOT_INSTANCE(name, P, 4)

DEFINE_DOT(dot_i8, I8)
DEFINE_DOT(dot_f32, F32)
DEFINE_DOT(dot_bf16, BF16)

/* The reduced block for mr rows, through the instance for that count. */
#define DOT(name, mr, x, ldx, w, bytes)                                      \
  ((mr) == 1   ? name##_1(x, ldx, w, bytes)                                 \
   : (mr) == 2 ? name##_2(x, ldx, w, bytes)                                 \
   : (mr) == 3 ? name##_3(x, ldx, w, bytes) : name##_4(x, ldx, w, bytes))

/* Rows [m, m+mr) by columns [n, n+nr): the sums, then gemm_isa.h's epilogue. */
INLINE void block_i8(const size_t mr, const uint8_t *x, size_t ldq, const float *xs,
                     const void *const w[I8_NR], const float *ws, const int32_t *wsum,
                     const float *bias, size_t K, float *y, size_t ldy, size_t nr) {
  VI s = DOT(dot_i8, mr, (const char *)x, ldq, w, K);
#if SL_SIMD_AVX512 /* vpdpbusd summed xu*wq */
  s = _mm512_sub_epi32(s, _mm512_slli_epi32(col_pattern(wsum, nr), 7));
#else /* the sums are already sum xq*wq */
  (void)wsum;
#endif
  VF scale = vf_mul(row_pattern(xs, mr), vi_as_vf(col_pattern(ws, nr)));
  VF b = bias ? vi_as_vf(col_pattern(bias, nr)) : vf_zero();
  store_rows(y, ldy, mr, nr, vf_add(vf_mul(vf_cvt_i32(s), scale), b));
}

static void gemm_i8(const uint8_t *xu, size_t ldq, const float *xs, size_t M, const int8_t *wq,
                    const float *ws, const int32_t *wsum, const float *bias, size_t n0, size_t n1,
                    size_t K, float *y, size_t ldy) {
#define BLOCK_I8(mr) \
  block_i8(mr, xu + m * ldq, ldq, xs + m, w, ws + n, wsum + n, bias ? bias + n : NULL, K, \
           y + m * ldy + n, ldy, nr)
  SL_GEMM_FOR_BLOCKS(NR, L1_BUDGET, 1, wq, K, K, M, n0, n1, BLOCK_I8);
#undef BLOCK_I8
}

INLINE void block_f32(const size_t mr, const float *x, size_t ldx, const void *const w[F32_NR],
                      const float *bias, size_t K, float *y, size_t ldy, size_t nr) {
  VF s = vi_as_vf(DOT(dot_f32, mr, (const char *)x, 4 * ldx, w, 4 * K));
  VF b = bias ? vi_as_vf(F32_COLS(bias, nr)) : vf_zero();
  F32_STORE(y, ldy, mr, nr, vf_add(s, b));
}

static void gemm_f32(const float *x, size_t ldx, size_t M, const float *wf, size_t ldw,
                     const float *bias, size_t n0, size_t n1, size_t K, float *y, size_t ldy) {
#define BLOCK_F32(mr) \
  block_f32(mr, x + m * ldx, ldx, w, bias ? bias + n : NULL, K, y + m * ldy + n, ldy, nr)
  SL_GEMM_FOR_BLOCKS(F32_NR, L1_BUDGET, 4, wf, ldw, K, M, n0, n1, BLOCK_F32);
#undef BLOCK_F32
}

INLINE void block_bf16(const size_t mr, const uint16_t *x, size_t ldx, const void *const w[BF16_NR],
                       const float *bias, size_t K, float *y, size_t ldy, size_t nr) {
  VF s = vi_as_vf(DOT(dot_bf16, mr, (const char *)x, 2 * ldx, w, 2 * K));
  VF b = bias ? vi_as_vf(col_pattern(bias, nr)) : vf_zero();
  store_rows(y, ldy, mr, nr, vf_add(s, b));
}

static void gemm_bf16(const uint16_t *xb, size_t ldx, size_t M, const uint16_t *wb,
                      const float *bias, size_t n0, size_t n1, size_t K, float *y, size_t ldy) {
#define BLOCK_BF16(mr) \
  block_bf16(mr, xb + m * ldx, ldx, w, bias ? bias + n : NULL, K, y + m * ldy + n, ldy, nr)
  SL_GEMM_FOR_BLOCKS(NR, L1_BUDGET, 2, wb, K, K, M, n0, n1, BLOCK_BF16);
#undef BLOCK_BF16
}

static void gemm_fill(sl_gemm_kernels *t, int has_i8, int has_bf16) {
  t->f32_name = SL_SIMD_NAME;
  t->gemm_f32 = gemm_f32;
  t->quantize_rows = quantize_rows;
  t->quantize_rows_centered = quantize_rows_centered;
  t->to_bf16 = to_bf16;
  if (has_i8) t->gemm_i8 = gemm_i8, t->i8_name = I8_NAME;
  if (has_bf16) t->gemm_bf16 = gemm_bf16, t->bf16_name = BF16_NAME;
}

#else
static void gemm_fill(sl_gemm_kernels *t, int has_i8, int has_bf16) {
  (void)t, (void)has_i8, (void)has_bf16;
}
#endif
