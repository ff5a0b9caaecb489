/*
** amx.h: Intel AMX tiles for the packed int8 and bf16 products (gemm_amx_avx512.c), and
** the decision whether they run (private to ext/kernels/, the tests and the benches).
**
** AMX runs only when all of these hold, checked once per process at the first
** sl_gemm_get(): the kernel level is avx512 and SEMLITE_ISA does not name a level (any
** named level caps it: avx512 means no AMX); cpuid reports AMX-TILE and AMX-INT8; XCR0
** has the tile state; Linux grants XTILEDATA to the process (arch_prctl
** ARCH_REQ_XCOMP_PERM, refused by old kernels, some seccomp policies and small signal
** stacks); and a self-test of a few awkward shapes gives bit for bit the products of the
** AVX-512 VNNI path (int8) and agrees to rounding with vdpbf16ps (bf16). Any failure
** leaves the AVX-512 table in place, and the reason is what semlite_build_info() shows.
*/
#ifndef SEMLITE_AMX_H
#define SEMLITE_AMX_H

#include "gemm.h"

/* Reasons, exactly as reported. */
#define SL_AMX_ON "amx: on"
#define SL_AMX_ON_INT8 "amx: on (int8 only: no AMX-BF16)"
#define SL_AMX_CAPPED "amx: capped by SEMLITE_ISA"
#define SL_AMX_NO_CPU "amx: not on this CPU"
#define SL_AMX_NO_OS "amx: the OS has not enabled the tile state"
#define SL_AMX_REFUSED "amx: kernel refused XTILEDATA"
#define SL_AMX_SELFTEST "amx: self-test failed"

/* Whether the CPU reports AMX-TILE and AMX-INT8 (and, *bf16, AMX-BF16). */
int sl_amx_cpu(int *bf16);

/* Tries AMX over a copy of the table t (the avx512 level): on success overwrites t's
** packed products (and the int8/bf16 names, so results cached under the AVX-512 names
** are not mixed with AMX bf16 ones) and returns SL_AMX_ON or SL_AMX_ON_INT8; otherwise
** leaves t alone and returns one of the other reasons. Once per process (gemm.c). */
const char *sl_amx_enable(sl_gemm_kernels *t);

/* The self-test: the AMX products of amx against ref's in-place ones on fixed awkward
** shapes. 0 when every int8 output has the same bits and every bf16 one is within
** rounding; the tests run it again on AMX machines. */
int sl_amx_self_test(const sl_gemm_kernels *amx, const sl_gemm_kernels *ref);

/* The table sl_gemm_get() uses and why (gemm.c): the AMX one when it runs, else NULL;
** the reason is never NULL. */
const sl_gemm_kernels *sl_gemm_amx(void);
const char *sl_gemm_amx_state(void);

#endif
