/*
** main.c: the test runner. Runs every suite, prints each failure as it happens and
** one closing line `N passed, N failed` (`, N skipped` when tests were skipped). Exit
** status 0 only when nothing failed and at least one test passed. Arguments select
** tests (see selected()).
*/
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>

#include "test.h"

extern const sl_test json_tests[], safetensors_tests[], tokenizer_tests[], kernels_tests[],
    gemm_tests[], embed_tests[], quant_tests[], rerank_tests[], vec_tests[], vtab_vec_tests[], vtab_hnsw_tests[], vtab_ivf_tests[],
    metrics_tests[], cache_tests[], replicated_tests[], synergy_tests[], version_tests[], stress_tests[],
    faults_tests[], model_files_tests[], progress_tests[], identity_tests[], ha_yaml_tests[], ha_history_tests[],
    bitexact_tests[], amx_tests[];

static const struct { const char *name; const sl_test *tests; } suites[] = {
  {"json", json_tests},
  {"safetensors", safetensors_tests},
  {"tokenizer", tokenizer_tests},
  {"kernels", kernels_tests},
  {"gemm", gemm_tests},
  {"amx", amx_tests},
  {"embed", embed_tests},
  {"model_files", model_files_tests},
  {"quant", quant_tests},
  {"rerank", rerank_tests},
  {"bitexact", bitexact_tests},
  {"vec", vec_tests},
  {"vtab_vec", vtab_vec_tests},
  {"vtab_hnsw", vtab_hnsw_tests},
  {"vtab_ivf", vtab_ivf_tests},
  {"metrics", metrics_tests},
  {"cache", cache_tests},
  {"replicated", replicated_tests},
  {"synergy", synergy_tests},
  {"ha_yaml", ha_yaml_tests},
  {"ha_history", ha_history_tests},
  {"version", version_tests},
  {"progress", progress_tests},
  {"identity", identity_tests},
  {"stress", stress_tests},
  {"faults", faults_tests},
};

int sl_test_failures;
static const char *current_test;
static char skip_reason[256];

void sl_test_fail(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  if (sl_test_failures++ >= 20) return; /* one broken loop must not flood the log */
  fprintf(stdout, "  FAIL %s (%s:%d): ", current_test, file, line);
  va_start(ap, fmt);
  vfprintf(stdout, fmt, ap);
  va_end(ap);
  fputc('\n', stdout);
  fflush(stdout);
}

void sl_test_skip(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(skip_reason, sizeof skip_reason, fmt, ap);
  va_end(ap);
  if (!skip_reason[0]) snprintf(skip_reason, sizeof skip_reason, "skipped");
}

static const char *env_or(const char *name, const char *fallback) {
  const char *v = getenv(name);
  return v && *v ? v : fallback;
}
const char *sl_test_shared_dir(void) { return env_or("SEMLITE_SHARED", "../shared"); }
const char *sl_test_models_dir(void) { return env_or("SEMLITE_MODELS", "models/synthetic"); }
const char *sl_test_so_path(void) { return env_or("SEMLITE_SO", "build/release/semlite.so"); }

static int starts_with(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Arguments select tests by a prefix of their full name (suite.test: "embed",
** "embed.errors"); an argument starting with '-' excludes instead. With no including
** argument, every test is in. */
static int selected(const char *name, int argc, char **argv) {
  int any_include = 0, included = 0;
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] == '-') {
      if (starts_with(name, argv[i] + 1)) return 0;
    } else {
      any_include = 1;
      if (starts_with(name, argv[i])) included = 1;
    }
  }
  return !any_include || included;
}

int main(int argc, char **argv) {
  int passed = 0, failed = 0, skipped = 0;
  /* Every test runs on an allocator no better aligned than SQLite promises (UBSan reports
  ** a misaligned access under make asan-test). */
  t_allocator_align8();
  for (size_t s = 0; s < sizeof suites / sizeof suites[0]; s++) {
    for (const sl_test *t = suites[s].tests; t->name; t++) {
      char full[256];
      snprintf(full, sizeof full, "%s.%s", suites[s].name, t->name);
      if (!selected(full, argc, argv)) continue;
      current_test = full;
      sl_test_failures = 0;
      skip_reason[0] = 0;
      struct timespec t0, t1;
      clock_gettime(CLOCK_MONOTONIC, &t0);
      t->fn();
      clock_gettime(CLOCK_MONOTONIC, &t1);
      double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
      if (sl_test_failures) {
        failed++;
        printf("not ok %s (%d failures)\n", full, sl_test_failures);
      } else if (skip_reason[0]) {
        skipped++;
        printf("skip %s (%s)\n", full, skip_reason);
      } else {
        passed++;
        printf("ok %s (%.0f ms)\n", full, ms);
      }
      fflush(stdout);
    }
  }
  if (skipped) printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  else printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}
