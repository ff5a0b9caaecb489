/*
** gemm_avx512.c: the AVX-512 versions of gemm.h's kernels (the Makefile compiles this
** file with -mavx512f -mavx512bw -mavx512vl -mavx512dq; gemm.c fills them in only when
** dispatch.c says the ZMM state is usable). The int8 product needs AVX512_VNNI
** (vpdpbusd) and the bf16 one AVX512_BF16 (vdpbf16ps): those two functions are compiled
** for their extension alone and gemm.c installs each only when cpuid reports it;
** otherwise the AVX2 versions stay in the table.
**
** Products are dot products over K with W read in place (float32 K need not be a
** multiple of 16: its last step loads masked), in its [out][in] layout: a
** block of 4 rows of X by 4 rows of W keeps 16 accumulators of 16 lanes each, every
** 64-byte step of K loads 4 + 4 vectors for 16 vpdpbusd (or vdpbf16ps), and at the end
** one transposing reduction turns the 16 x 16 partial sums into one vector whose lane
** 4i+j is output (row i, column j), so the epilogue (scales, bias) runs 16 outputs at a
** time and each row stores 4 floats. The blocks are visited by gemm_isa.h's
** SL_GEMM_FOR_BLOCKS (chunks of X that stay in L1). Edges: rows of a block past M keep
** zero accumulators and are not stored; columns past n1 read the last valid row of W
** again and are masked off at the store.
** The reduction costs about 45 vector operations per 16 outputs against K/64 vpdpbusd
** per output, which is why K = 384 runs at about 65% of the vpdpbusd peak and K = 1536
** at about 80%; a W packed at load time for broadcast-X products would avoid it.
**
** quantize_rows and to_bf16 follow gemm_isa.h exactly, 16 lanes at a time with masked
** tails, so their output equals the scalar one bit for bit.
*/
#include "gemm_isa.h"

#if defined(__x86_64__) || defined(_M_X64)

#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VL__)
#error "gemm_avx512.c must be compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq"
#endif

#include <immintrin.h>

#define W 16
#define MR SL_GEMM_MR      /* rows of X per block */
#define NR 4              /* rows of W (output columns) per block */
#define L1_BUDGET 16384   /* bytes of X kept in L1 across the column blocks */

#define INLINE static inline __attribute__((always_inline))

/* Mask of the first min(n, W) lanes. */
static inline __mmask16 lanes(size_t n) {
  return n >= W ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}

/* ---- quantize_rows, to_bf16 ---------------------------------------------------------- */

/* round(clamp(x * inv)) of one vector as int32, gemm_isa.h's rule: a NaN product is 0,
** and cvtps2dq rounds to nearest even (MXCSR). */
static inline __m512i quantize16(__m512 x, __m512 inv) {
  __m512 v = _mm512_mul_ps(x, inv);
  v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v);
  v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(-127.0f)), _mm512_set1_ps(127.0f));
  return _mm512_cvtps_epi32(v);
}

static void quantize_rows(const float *x, size_t ldx, size_t M, size_t K, uint8_t *xu,
                          size_t ldq, float *xs) {
  const __m512i absmask = _mm512_set1_epi32(0x7fffffff);
  /* packs interleave 128-bit lanes; this puts the 4 x 16 bytes back in order */
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  for (size_t m = 0; m < M; m++) {
    const float *r = x + m * ldx;
    uint8_t *q = xu + m * ldq;
    /* |x| as integers: NaN patterns are above inf, so a NaN wins the max */
    __m512i amax = _mm512_setzero_si512();
    for (size_t k = 0; k < K; k += W) {
      __m512i v = _mm512_maskz_loadu_epi32(lanes(K - k), r + k);
      amax = _mm512_max_epi32(amax, _mm512_and_si512(v, absmask));
    }
    uint32_t abits = (uint32_t)_mm512_reduce_max_epi32(amax);
    float a;
    memcpy(&a, &abits, sizeof a);
    xs[m] = a / 127.0f;
    const __m512 inv = _mm512_set1_ps(a > 0.0f ? 127.0f / a : 0.0f);
    size_t k = 0;
    /* 64 at a time: saturating packs (the values are in [-127, 127], so nothing
    ** saturates) to signed bytes, and the zero point added by flipping the top bit */
    for (; k + 4 * W <= K; k += 4 * W) {
      __m512i ab = _mm512_packs_epi32(quantize16(_mm512_loadu_ps(r + k), inv),
                                      quantize16(_mm512_loadu_ps(r + k + W), inv));
      __m512i cd = _mm512_packs_epi32(quantize16(_mm512_loadu_ps(r + k + 2 * W), inv),
                                      quantize16(_mm512_loadu_ps(r + k + 3 * W), inv));
      __m512i b = _mm512_permutexvar_epi32(order, _mm512_packs_epi16(ab, cd));
      _mm512_storeu_si512(q + k, _mm512_xor_si512(b, _mm512_set1_epi8((char)0x80)));
    }
    for (; k < K; k += W) {
      __mmask16 mk = lanes(K - k);
      __m512i i = quantize16(_mm512_maskz_loadu_ps(mk, r + k), inv);
      _mm512_mask_cvtepi32_storeu_epi8(q + k, mk, _mm512_add_epi32(i, _mm512_set1_epi32(128)));
    }
    memset(q + K, 128, ldq - K);
  }
}

static void to_bf16(const float *x, size_t n, uint16_t *out) {
  const __m512i absmask = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000);
  const __m512i half = _mm512_set1_epi32(0x7fff), one = _mm512_set1_epi32(1);
  const __m512i quiet = _mm512_set1_epi32(0x40);
  for (size_t i = 0; i < n; i += W) {
    __mmask16 m = lanes(n - i);
    __m512i u = _mm512_maskz_loadu_epi32(m, x + i), top = _mm512_srli_epi32(u, 16);
    __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, absmask), inf);
    __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(half, _mm512_and_si512(top, one)));
    r = _mm512_mask_or_epi32(_mm512_srli_epi32(r, 16), nan, top, quiet);
    _mm512_mask_cvtepi32_storeu_epi16(out + i, m, r);
  }
}

/* ---- the shared block machinery ------------------------------------------------------ */

/* a + b as int32 or float lanes. */
INLINE __m512i add_lanes(int fp, __m512i a, __m512i b) {
  if (!fp) return _mm512_add_epi32(a, b);
  return _mm512_castps_si512(_mm512_add_ps(_mm512_castsi512_ps(a), _mm512_castsi512_ps(b)));
}

/* acc[i][j] (16 partial sums each) -> one vector whose lane 4i+j is the sum of acc[i][j].
** First, per column j, the four 128-bit quarters of each row fold into one (c[j], its
** quarter i for row i); then the columns are interleaved and added within quarters. */
INLINE __m512i reduce4x4(int fp, __m512i acc[MR][NR]) {
  __m512i c[NR];
#pragma GCC unroll 4
  for (int j = 0; j < NR; j++) {
    __m512i b01 = add_lanes(fp, _mm512_shuffle_i32x4(acc[0][j], acc[1][j], _MM_SHUFFLE(1, 0, 1, 0)),
                            _mm512_shuffle_i32x4(acc[0][j], acc[1][j], _MM_SHUFFLE(3, 2, 3, 2)));
    __m512i b23 = add_lanes(fp, _mm512_shuffle_i32x4(acc[2][j], acc[3][j], _MM_SHUFFLE(1, 0, 1, 0)),
                            _mm512_shuffle_i32x4(acc[2][j], acc[3][j], _MM_SHUFFLE(3, 2, 3, 2)));
    c[j] = add_lanes(fp, _mm512_shuffle_i32x4(b01, b23, _MM_SHUFFLE(2, 0, 2, 0)),
                     _mm512_shuffle_i32x4(b01, b23, _MM_SHUFFLE(3, 1, 3, 1)));
  }
  __m512i u01 = add_lanes(fp, _mm512_unpacklo_epi32(c[0], c[1]), _mm512_unpackhi_epi32(c[0], c[1]));
  __m512i u23 = add_lanes(fp, _mm512_unpacklo_epi32(c[2], c[3]), _mm512_unpackhi_epi32(c[2], c[3]));
  return add_lanes(fp, _mm512_unpacklo_epi64(u01, u23), _mm512_unpackhi_epi64(u01, u23));
}

/* The per-column values v[n..n+nr) in every quarter (lane 4i+j = v[n+j]); 0 past nr. */
INLINE __m512i col_pattern(const void *v, __mmask8 nrmask) {
  return _mm512_broadcast_i32x4(_mm_maskz_loadu_epi32(nrmask, v));
}

/* The per-row values xs[m..m+mr) spread over quarters (lane 4i+j = xs[m+i]). */
INLINE __m512 row_pattern(const float *xs, size_t mr) {
  const __m512i idx = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
  return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(_mm_maskz_loadu_ps((__mmask8)((1u << mr) - 1), xs)));
}

/* Stores quarter i of v to row i of y, columns [0, nr). */
INLINE void store_rows(float *y, size_t ldy, size_t mr, __mmask8 nrmask, __m512 v) {
  _mm_mask_storeu_ps(y, nrmask, _mm512_castps512_ps128(v));
  if (mr > 1) _mm_mask_storeu_ps(y + ldy, nrmask, _mm512_extractf32x4_ps(v, 1));
  if (mr > 2) _mm_mask_storeu_ps(y + 2 * ldy, nrmask, _mm512_extractf32x4_ps(v, 2));
  if (mr > 3) _mm_mask_storeu_ps(y + 3 * ldy, nrmask, _mm512_extractf32x4_ps(v, 3));
}

/* ---- the products -------------------------------------------------------------------- */

/* The inner loop of both products: acc[i][j] = OP(acc[i][j], x row i, w row j) over
** `bytes` bytes of each row, 64 a step, then the reduction. A macro because the two
** differ only in the instruction and each must be compiled for its own extension alone
** (a function with both targets could run a BF16 instruction on a CPU without it).
** The empty asm after the loop pins each accumulator in a register: without it GCC 12
** copies all 16 of them on every step, because the reduction reads them as parts. The
** function is then instantiated once per row count (noinline), which keeps each loop
** small enough for the register allocator and hands it mr as a constant. */
/* One 64-byte step of K (LOAD reads 64 bytes of a row; the tail's masks off the rest). */
#define DOT_STEP(OP, LOAD)                                                                    \
  do {                                                                                        \
    __m512i wv[NR];                                                                           \
    _Pragma("GCC unroll 4") for (int j = 0; j < NR; j++) wv[j] = LOAD((const char *)w[j] + k); \
    _Pragma("GCC unroll 4") for (size_t i = 0; i < mr; i++) {                                 \
      __m512i xv = LOAD(x + i * ldx + k);                                                     \
      _Pragma("GCC unroll 4") for (int j = 0; j < NR; j++) acc[i][j] = OP(acc[i][j], xv, wv[j]); \
    }                                                                                         \
  } while (0)
#define LOAD_FULL(p) _mm512_loadu_si512(p)
#define LOAD_TAIL(p) _mm512_maskz_loadu_epi32(tail, p)

#define DEFINE_DOT(name, isa, OP)                                                             \
  static inline __attribute__((always_inline, target(isa))) __m512i name(                     \
      const size_t mr, const char *x, size_t ldx, const void *const w[NR], size_t bytes) {    \
    __m512i acc[MR][NR];                                                                      \
    size_t k = 0;                                                                             \
    _Pragma("GCC unroll 4") for (int i = 0; i < MR; i++)                                      \
      _Pragma("GCC unroll 4") for (int j = 0; j < NR; j++) acc[i][j] = _mm512_setzero_si512(); \
    for (; k + 64 <= bytes; k += 64) DOT_STEP(OP, LOAD_FULL);                                 \
    if (k < bytes) { /* float32 only: the int8 and bf16 rows are padded */                    \
      const __mmask16 tail = lanes((bytes - k) / 4);                                          \
      DOT_STEP(OP, LOAD_TAIL);                                                                \
    }                                                                                         \
    _Pragma("GCC unroll 4") for (int i = 0; i < MR; i++)                                      \
      _Pragma("GCC unroll 4") for (int j = 0; j < NR; j++) __asm__("" : "+v"(acc[i][j]));     \
    return reduce4x4(OP##_FP, acc);                                                           \
  }                                                                                           \
  static __attribute__((noinline, target(isa))) __m512i name##_1(                             \
      const char *x, size_t ldx, const void *const w[NR], size_t bytes) {                     \
    return name(1, x, ldx, w, bytes);                                                         \
  }                                                                                           \
  static __attribute__((noinline, target(isa))) __m512i name##_2(                             \
      const char *x, size_t ldx, const void *const w[NR], size_t bytes) {                     \
    return name(2, x, ldx, w, bytes);                                                         \
  }                                                                                           \
  static __attribute__((noinline, target(isa))) __m512i name##_3(                             \
      const char *x, size_t ldx, const void *const w[NR], size_t bytes) {                     \
    return name(3, x, ldx, w, bytes);                                                         \
  }                                                                                           \
  static __attribute__((noinline, target(isa))) __m512i name##_4(                             \
      const char *x, size_t ldx, const void *const w[NR], size_t bytes) {                     \
    return name(4, x, ldx, w, bytes);                                                         \
  }

/* int8: 64 unsigned x signed byte products per vpdpbusd, 4 into each int32 lane. */
#define OP_I8(acc, x, w) _mm512_dpbusd_epi32(acc, x, w)
#define OP_I8_FP 0
DEFINE_DOT(dot_i8, "avx512vnni", OP_I8)

/* float32: 16 products per FMA. */
#define OP_F32(acc, x, w)                                                                     \
  _mm512_castps_si512(_mm512_fmadd_ps(_mm512_castsi512_ps(x), _mm512_castsi512_ps(w),          \
                                      _mm512_castsi512_ps(acc)))
#define OP_F32_FP 1
DEFINE_DOT(dot_f32, "avx512f", OP_F32)

/* bf16: 32 products per vdpbf16ps, 2 into each float lane. */
#define OP_BF16(acc, x, w) \
  _mm512_castps_si512(_mm512_dpbf16_ps(_mm512_castsi512_ps(acc), (__m512bh)(x), (__m512bh)(w)))
#define OP_BF16_FP 1
DEFINE_DOT(dot_bf16, "avx512bf16", OP_BF16)

/* The reduced block for mr rows, through the instance for that count. */
#define DOT(name, mr, x, ldx, w, bytes)                                      \
  ((mr) == 1   ? name##_1(x, ldx, w, bytes)                                 \
   : (mr) == 2 ? name##_2(x, ldx, w, bytes)                                 \
   : (mr) == 3 ? name##_3(x, ldx, w, bytes) : name##_4(x, ldx, w, bytes))

/* Rows [m, m+mr) by columns [n, n+nr): the sums, then gemm_isa.h's epilogue. */
static inline __attribute__((always_inline)) void block_i8(
    const size_t mr, const uint8_t *x, size_t ldq, const float *xs, const void *const w[NR],
    const float *ws, const int32_t *wsum, const float *bias, size_t K, float *y, size_t ldy,
    __mmask8 nrmask) {
  __m512i s = DOT(dot_i8, mr, (const char *)x, ldq, w, K);
  s = _mm512_sub_epi32(s, _mm512_slli_epi32(col_pattern(wsum, nrmask), 7));
  __m512 scale = _mm512_mul_ps(row_pattern(xs, mr), _mm512_castsi512_ps(col_pattern(ws, nrmask)));
  __m512 b = bias ? _mm512_castsi512_ps(col_pattern(bias, nrmask)) : _mm512_setzero_ps();
  store_rows(y, ldy, mr, nrmask, _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(s), scale), b));
}

static void gemm_i8(const uint8_t *xu, size_t ldq, const float *xs, size_t M, const int8_t *wq,
                    const float *ws, const int32_t *wsum, const float *bias, size_t n0, size_t n1,
                    size_t K, float *y, size_t ldy) {
#define BLOCK_I8(mr) \
  block_i8(mr, xu + m * ldq, ldq, xs + m, w, ws + n, wsum + n, bias ? bias + n : NULL, K, \
           y + m * ldy + n, ldy, (__mmask8)((1u << nr) - 1))
  SL_GEMM_FOR_BLOCKS(NR, L1_BUDGET, 1, wq, K, K, M, n0, n1, BLOCK_I8);
#undef BLOCK_I8
}

static inline __attribute__((always_inline)) void block_f32(
    const size_t mr, const float *x, size_t ldx, const void *const w[NR], const float *bias,
    size_t K, float *y, size_t ldy, __mmask8 nrmask) {
  __m512 s = _mm512_castsi512_ps(DOT(dot_f32, mr, (const char *)x, 4 * ldx, w, 4 * K));
  __m512 b = bias ? _mm512_castsi512_ps(col_pattern(bias, nrmask)) : _mm512_setzero_ps();
  store_rows(y, ldy, mr, nrmask, _mm512_add_ps(s, b));
}

static void gemm_f32(const float *x, size_t ldx, size_t M, const float *wf, size_t ldw,
                     const float *bias, size_t n0, size_t n1, size_t K, float *y, size_t ldy) {
#define BLOCK_F32(mr) \
  block_f32(mr, x + m * ldx, ldx, w, bias ? bias + n : NULL, K, y + m * ldy + n, ldy, \
            (__mmask8)((1u << nr) - 1))
  SL_GEMM_FOR_BLOCKS(NR, L1_BUDGET, 4, wf, ldw, K, M, n0, n1, BLOCK_F32);
#undef BLOCK_F32
}

static inline __attribute__((always_inline)) void block_bf16(
    const size_t mr, const uint16_t *x, size_t ldx, const void *const w[NR], const float *bias,
    size_t K, float *y, size_t ldy, __mmask8 nrmask) {
  __m512 s = _mm512_castsi512_ps(DOT(dot_bf16, mr, (const char *)x, 2 * ldx, w, 2 * K));
  __m512 b = bias ? _mm512_castsi512_ps(col_pattern(bias, nrmask)) : _mm512_setzero_ps();
  store_rows(y, ldy, mr, nrmask, _mm512_add_ps(s, b));
}

static void gemm_bf16(const uint16_t *xb, size_t ldx, size_t M, const uint16_t *wb,
                      const float *bias, size_t n0, size_t n1, size_t K, float *y, size_t ldy) {
#define BLOCK_BF16(mr) \
  block_bf16(mr, xb + m * ldx, ldx, w, bias ? bias + n : NULL, K, y + m * ldy + n, ldy, \
             (__mmask8)((1u << nr) - 1))
  SL_GEMM_FOR_BLOCKS(NR, L1_BUDGET, 2, wb, K, K, M, n0, n1, BLOCK_BF16);
#undef BLOCK_BF16
}

void sl_gemm_fill_avx512(sl_gemm_kernels *t, int vnni, int bf16) {
  t->f32_name = "avx512";
  t->gemm_f32 = gemm_f32;
  t->quantize_rows = quantize_rows;
  t->to_bf16 = to_bf16;
  if (vnni) t->gemm_i8 = gemm_i8, t->i8_name = "avx512-vnni";
  if (bf16) t->gemm_bf16 = gemm_bf16, t->bf16_name = "avx512-bf16";
}

#else
void sl_gemm_fill_avx512(sl_gemm_kernels *t, int vnni, int bf16) { (void)t, (void)vnni, (void)bf16; }
#endif
