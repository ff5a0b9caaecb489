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
**   cc -std=c11 -O2 -pthread -mavx512f -mavx512vnni -mavx512bf16 -o build/bench/peak bench/peak/peak.c
**   build/bench/peak [threads]
*/
#define _POSIX_C_SOURCE 200809L
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define CHAINS 12
#define ITERS 4000000L    /* x 12 instructions: ~0.1-0.2 s per thread at ~1 instr/cycle */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double thread_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static volatile float sink_f;
static volatile int sink_i;

static void *run_fma(void *arg) {
  double t0 = thread_cpu_s();
  __m512 a[CHAINS];
  const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
  for (int c = 0; c < CHAINS; c++) a[c] = _mm512_set1_ps((float)c);
  for (long i = 0; i < ITERS; i++)
/* unrolled: the accumulators must live in registers, not in a[] on the stack */
#pragma GCC unroll 12
    for (int c = 0; c < CHAINS; c++) a[c] = _mm512_fmadd_ps(a[c], x, y);
  __m512 s = a[0];
  for (int c = 1; c < CHAINS; c++) s = _mm512_add_ps(s, a[c]);
  sink_f = _mm512_reduce_add_ps(s);
  *(double *)arg = thread_cpu_s() - t0;
  return NULL;
}

static void *run_vnni(void *arg) {
  double t0 = thread_cpu_s();
  __m512i a[CHAINS];
  const __m512i x = _mm512_set1_epi8(3), y = _mm512_set1_epi8(-2);
  for (int c = 0; c < CHAINS; c++) a[c] = _mm512_set1_epi32(c);
  for (long i = 0; i < ITERS; i++)
/* unrolled: the accumulators must live in registers, not in a[] on the stack */
#pragma GCC unroll 12
    for (int c = 0; c < CHAINS; c++) a[c] = _mm512_dpbusd_epi32(a[c], x, y);
  __m512i s = a[0];
  for (int c = 1; c < CHAINS; c++) s = _mm512_add_epi32(s, a[c]);
  sink_i = _mm512_reduce_add_epi32(s);
  *(double *)arg = thread_cpu_s() - t0;
  return NULL;
}

static void *run_bf16(void *arg) {
  double t0 = thread_cpu_s();
  __m512 a[CHAINS];
  const __m512bh x = (__m512bh)_mm512_set1_epi16(0x3f80), y = (__m512bh)_mm512_set1_epi16(0x3380);
  for (int c = 0; c < CHAINS; c++) a[c] = _mm512_set1_ps((float)c);
  for (long i = 0; i < ITERS; i++)
/* unrolled: the accumulators must live in registers, not in a[] on the stack */
#pragma GCC unroll 12
    for (int c = 0; c < CHAINS; c++) a[c] = _mm512_dpbf16_ps(a[c], x, y);
  __m512 s = a[0];
  for (int c = 1; c < CHAINS; c++) s = _mm512_add_ps(s, a[c]);
  sink_f = _mm512_reduce_add_ps(s);
  *(double *)arg = thread_cpu_s() - t0;
  return NULL;
}

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
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  int n = argc > 1 ? atoi(argv[1]) : (int)online;
  if (n < 1 || n > 64) { fprintf(stderr, "usage: peak [threads 1..64]\n"); return 1; }
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512vnni")) {
    fprintf(stderr, "peak: needs AVX-512 F and VNNI\n");
    return 1;
  }
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
