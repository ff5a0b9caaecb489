/*
** peak.c: this machine's arithmetic peak, for bench/infer to express its throughput as a
** fraction of what the cores can do at all.
**
** Measures, on 1 thread and on N threads (default: every online CPU):
**   fp32  AVX-512 vfmadd231ps zmm   16 lanes x 2 flops per instruction  -> GFLOPS
**   int8  AVX-512 VNNI vpdpbusd zmm 64 u8*s8 products + adds, 128 ops    -> GOPS
**   bf16  AVX-512 vdpbf16ps zmm     32 bf16 products + adds, 64 flops    -> GFLOPS
** Why independent chains: one chain is latency-bound (4-5 cycles per FMA); 12 accumulators
** per thread are more than latency x issue width, so the loop is bound by throughput only.
** Why the results are stored: so the compiler cannot drop the loop.
** Each thread's rate is its operations over its own CPU time (CLOCK_THREAD_CPUTIME_ID), summed
** over the threads: on a shared machine the wall clock would count the time other processes
** held the core, and the peak is a property of the core, not of the load. The wall-clock
** figure is printed too (it equals the CPU-time one on a quiet machine). Best of 5 runs.
**
**   make bench-peak    (bench/infer.mk: this file with AVX-512 flags, bench/common.c without)
**   build/bench/peak [threads]
*/
#include "../common.h"

#include <immintrin.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define CHAINS 12
#define ITERS 4000000L    /* x 12 instructions: ~0.1-0.2 s per thread at ~1 instr/cycle */

static double thread_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static volatile float sink_f;
static volatile int sink_i;

/* One thread's loop: CHAINS accumulators of type T, each updated ITERS times by
** acc = STEP(acc, x, y) (unrolled: the accumulators must live in registers, not in a[] on
** the stack), summed with ADD and reduced into SINK so the compiler keeps the loop; *arg
** gets the thread's CPU seconds. */
#define PEAK_THREAD(fn, T, T_IN, x_init, y_init, acc_init, STEP, ADD, REDUCE, SINK) \
  static void *fn(void *arg) {                                                     \
    double t0 = thread_cpu_s();                                                    \
    T a[CHAINS];                                                                   \
    const T_IN x = x_init, y = y_init;                                             \
    for (int c = 0; c < CHAINS; c++) a[c] = acc_init;                              \
    for (long i = 0; i < ITERS; i++)                                               \
      _Pragma("GCC unroll 12")                                                     \
      for (int c = 0; c < CHAINS; c++) a[c] = STEP(a[c], x, y);                    \
    T s = a[0];                                                                    \
    for (int c = 1; c < CHAINS; c++) s = ADD(s, a[c]);                             \
    SINK = REDUCE(s);                                                              \
    *(double *)arg = thread_cpu_s() - t0;                                          \
    return NULL;                                                                   \
  }

PEAK_THREAD(run_fma, __m512, __m512, _mm512_set1_ps(0.999999f), _mm512_set1_ps(1e-7f), _mm512_set1_ps((float)c),
            _mm512_fmadd_ps, _mm512_add_ps, _mm512_reduce_add_ps, sink_f)
PEAK_THREAD(run_vnni, __m512i, __m512i, _mm512_set1_epi8(3), _mm512_set1_epi8(-2), _mm512_set1_epi32(c),
            _mm512_dpbusd_epi32, _mm512_add_epi32, _mm512_reduce_add_epi32, sink_i)
PEAK_THREAD(run_bf16, __m512, __m512bh, (__m512bh)_mm512_set1_epi16(0x3f80), (__m512bh)_mm512_set1_epi16(0x3380),
            _mm512_set1_ps((float)c), _mm512_dpbf16_ps, _mm512_add_ps, _mm512_reduce_add_ps, sink_f)

/* Best of 5, in 1e9 operations per second: *wall over the wall clock, the return value over
** each thread's CPU time (summed over threads). */
static double measure(void *(*fn)(void *), int threads, double ops_per_instr, double *wall) {
  double best = 0, best_wall = 0, cpu[64];
  pthread_t t[64];
  const double ops = (double)ITERS * CHAINS * ops_per_instr;
  for (int rep = 0; rep < 5; rep++) {
    double t0 = now_s();
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, fn, &cpu[i]);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    double w = threads * ops / (now_s() - t0) / 1e9, g = 0;
    for (int i = 0; i < threads; i++) g += ops / cpu[i] / 1e9;
    if (g > best) best = g;
    if (w > best_wall) best_wall = w;
  }
  *wall = best_wall;
  return best;
}

int main(int argc, char **argv) {
  bench_init("peak", 1);
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  int n = argc > 1 ? atoi(argv[1]) : (int)online;
  if (n < 1 || n > 64) { fprintf(stderr, "usage: peak [threads 1..64]\n"); return 1; }
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512vnni")) die("needs AVX-512 F and VNNI");
  int bf16 = __builtin_cpu_supports("avx512bf16");
  /* machine-readable lines: kind threads value unit wall-clock-value */
  printf("# kind threads peak unit wall_clock\n");
  int ts[2] = { 1, n };
  double w, g;
  for (int k = 0; k < (n > 1 ? 2 : 1); k++) {
    g = measure(run_fma, ts[k], 16 * 2, &w);
    printf("fp32_fma %d %.1f GFLOPS %.1f\n", ts[k], g, w);
    g = measure(run_vnni, ts[k], 64 * 2, &w);
    printf("int8_vnni %d %.1f GOPS %.1f\n", ts[k], g, w);
    if (bf16) {
      g = measure(run_bf16, ts[k], 32 * 2, &w);
      printf("bf16_dpbf16 %d %.1f GFLOPS %.1f\n", ts[k], g, w);
    }
    fflush(stdout);
  }
  return 0;
}
