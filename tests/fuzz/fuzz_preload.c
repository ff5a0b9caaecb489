/*
** fuzz_preload.c: libFuzzer target for SEMLITE_PRELOAD's parser (ext/ops/preload.c),
** with a callback in place of loading. Checks: every entry handed over has a non-empty
** name without '=', ':' or ';' and a non-empty folder without ';'; a refusal names the
** entry ("entry N (...)"); the number of entries accepted never exceeds the number of
** '='.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../ext/engine/registry.h"
#include "../../ext/kernels/gemm.h"
#include "../../ext/ops/preload.h"

/* What preload.c and quantize.c link against but the parser never reaches: loading a
** model, and the kernels of quantizing one. */
int sl_registry_load(const char *name, const char *dir, sl_compute_dtype dtype, sl_err *err) {
  (void)name, (void)dir, (void)dtype, (void)err;
  abort();
}
const sl_gemm_kernels *sl_gemm_get(void) { abort(); }

static int entries;

static int check_entry(void *ctx, const char *name, sl_compute_dtype dtype, const char *dir, sl_err *err) {
  (void)ctx, (void)err;
  if (!name[0] || strpbrk(name, "=:;") || !dir[0] || strchr(dir, ';')) abort();
  if (dtype != SL_COMPUTE_F32 && dtype != SL_COMPUTE_INT8 && dtype != SL_COMPUTE_BF16) abort();
  entries++;
  return SL_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *spec = malloc(size + 1);
  size_t eqs = 0;
  sl_err err;
  if (!spec) abort();
  memcpy(spec, data, size);
  spec[size] = 0;                 /* an environment variable ends at its first NUL */
  for (const char *p = spec; *p; p++) eqs += *p == '=';
  entries = 0;
  if (sl_preload_parse(spec, check_entry, NULL, &err) != SL_OK && strncmp(err.msg, "entry ", 6) != 0) abort();
  if ((size_t)entries > eqs) abort();
  free(spec);
  return 0;
}
