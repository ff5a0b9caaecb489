/*
** dispatch.c: picks the kernel table once per process.
**
** The level is the best of scalar < avx2 < avx512 that both the CPU and the OS support:
** cpuid says what the CPU has, xgetbv whether the OS saves the YMM/ZMM state on a
** context switch (without that the instructions exist but fault or corrupt registers).
**   avx2   = AVX, AVX2, FMA, F16C; XCR0 has SSE and AVX state.
**   avx512 = avx2 plus AVX-512 F, DQ, BW, VL; XCR0 also has opmask and both ZMM states.
**
** SEMLITE_ISA=avx512|avx2|scalar caps the level (read once, at the first
** sl_kernels_get()). A level above what this CPU supports, an empty or an unknown value
** fall back to the best available: the variable is a knob for testing and benchmarking,
** and a typo in it must not stop the extension from loading.
**
** A named level also rules AMX out (sl_isa_env_caps; amx.h): SEMLITE_ISA=avx512 runs the
** AVX-512 products on an AMX machine, so the tests can cover both there.
**
** On other architectures the SIMD files compile to NULL tables and everything resolves
** to scalar.
*/
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#define SL_X86 1
#endif

/* Defined by kernels_{scalar,avx2,avx512}.c; the SIMD ones are NULL off x86. */
extern const sl_kernels *const sl_kernels_scalar_table;
extern const sl_kernels *const sl_kernels_avx2_table;
extern const sl_kernels *const sl_kernels_avx512_table;

#ifdef SL_X86
static uint64_t xgetbv0(void) {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}
#endif

sl_isa sl_cpu_best_isa(void) {
#ifdef SL_X86
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return SL_ISA_SCALAR;
  const unsigned need1 = bit_OSXSAVE | bit_AVX | bit_FMA | bit_F16C;
  if ((c & need1) != need1) return SL_ISA_SCALAR;
  const uint64_t xcr0 = xgetbv0();
  if ((xcr0 & 0x6) != 0x6) return SL_ISA_SCALAR;                 /* XMM, YMM */
  if (__get_cpuid_max(0, NULL) < 7) return SL_ISA_SCALAR;
  __cpuid_count(7, 0, a, b, c, d);
  if (!(b & bit_AVX2)) return SL_ISA_SCALAR;
  const unsigned need7 = bit_AVX512F | bit_AVX512DQ | bit_AVX512BW | bit_AVX512VL;
  if ((b & need7) != need7 || (xcr0 & 0xe6) != 0xe6) return SL_ISA_AVX2; /* + opmask, ZMM */
  return SL_ISA_AVX512;
#else
  return SL_ISA_SCALAR;
#endif
}

static const struct { const char *name; sl_isa isa; } names[] = {
  {"scalar", SL_ISA_SCALAR}, {"avx2", SL_ISA_AVX2}, {"avx512", SL_ISA_AVX512},
};

const char *sl_isa_name(sl_isa isa) {
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (names[i].isa == isa) return names[i].name;
  return "unknown";
}

sl_isa sl_isa_from_env(const char *value, sl_isa best) {
  if (!value) return best;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(value, names[i].name) == 0) return names[i].isa < best ? names[i].isa : best;
  return best;
}

int sl_isa_compiled(sl_isa isa) {
  switch (isa) {
  case SL_ISA_SCALAR: return sl_kernels_scalar_table != NULL;
  case SL_ISA_AVX2: return sl_kernels_avx2_table != NULL;
  case SL_ISA_AVX512: return sl_kernels_avx512_table != NULL;
  }
  return 0;
}

const sl_kernels *sl_kernels_for(sl_isa isa) {
  if (isa > sl_cpu_best_isa()) return NULL;
  switch (isa) {
  case SL_ISA_SCALAR: return sl_kernels_scalar_table;
  case SL_ISA_AVX2: return sl_kernels_avx2_table;
  case SL_ISA_AVX512: return sl_kernels_avx512_table;
  }
  return NULL;
}

int sl_isa_env_caps(void) {
  const char *v = getenv("SEMLITE_ISA");
  if (!v) return 0;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(v, names[i].name) == 0) return 1;
  return 0;
}

static const sl_kernels *resolved;
static pthread_once_t resolve_once = PTHREAD_ONCE_INIT;

static void resolve(void) {
  resolved = sl_kernels_for(sl_isa_from_env(getenv("SEMLITE_ISA"), sl_cpu_best_isa()));
  if (!resolved) resolved = sl_kernels_scalar_table;
}

const sl_kernels *sl_kernels_get(void) {
  pthread_once(&resolve_once, resolve);
  return resolved;
}
