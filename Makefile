# semlite: build the loadable extension, its tests, sanitizer builds, fuzzers and benches.
#
#   make              build/release/semlite.so (nothing at the root: a Python package `semlite`
#                     run from here would be shadowed by ./semlite.so)
#   make test         build everything the tests need (twins included) and run them
#   make asan-test    the same tests against an ASan+UBSan build
#   make valgrind     most tests under valgrind (memcheck)
#   make tsan-test    the multi-threaded tests under ThreadSanitizer
#   make demo         the README's demo
#   make fuzz         run every fuzzer for FUZZ_SECONDS each (clang + libFuzzer)
#   make fuzz-ci      every fuzzer FUZZ_CI_SECONDS (10 s) each, as CI does
#   make bench-load   throughput and p95 under 1-16 concurrent connections
#   make dist         dist/semlite.so, self-contained (dist.mk: test-dist, test-bindings, test-npm)
#   make test-dqlite  semlite on a 3-node dqlite cluster on 127.0.0.1, failover included
#                     (tests/dqlite/dqlite.mk; needs libdqlite-dev)

CC      ?= cc
SHARED  ?= $(abspath ../shared)
MODELS  ?= $(abspath models/synthetic)
OPT     ?= -O2
CFLAGS_BASE = -std=c11 -D_GNU_SOURCE -fPIC -Wall -Wextra -Wshadow -Wno-unused-parameter \
              -fvisibility=hidden -ffp-contract=off -g -pthread
# libyaml (Debian libyaml-dev) is linked statically and its symbols kept local, so the
# release .so still needs only libc and libm (docs/synergy.md, "Why libyaml").
YAML_LIB = -l:libyaml.a
LIBS    = $(YAML_LIB) -lm -lpthread
DEFS    ?=
BUILD   ?= build/release
# The development build of the extension (tests, demo, benches); the release file is dist/.
SO      = build/release/semlite.so
SAN     =

EXT_SRC   := $(wildcard ext/*.c ext/*/*.c ext/*/*/*.c)
LIB_SRC   := $(filter-out ext/semlite.c ext/sql/%,$(EXT_SRC))
TEST_SRC  := $(wildcard tests/*.c)
SQL_FILES := $(sort $(wildcard sql/*.sql))
SQL_GEN   := $(BUILD)/gen/sql_scripts.o

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

# SIMD kernels are compiled for their ISA only; dispatch.c decides at run time which runs.
ISA_FLAGS_avx2   = -mavx2 -mfma -mf16c
ISA_FLAGS_avx512 = -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx2 -mfma -mf16c
isa_flags = $(if $(findstring _avx512,$(1)),$(ISA_FLAGS_avx512),$(if $(findstring _avx2,$(1)),$(ISA_FLAGS_avx2)))

.PHONY: all test test-isa faults-full valgrind tsan tsan-test asan asan-test demo clean twins bench
all: $(BUILD)/semlite.so

# -z nodelete: the model registry is process-wide, so the .so must outlive the
# connections that loaded it (SQLite dlcloses an extension when its connection closes).
$(BUILD)/semlite.so: $(call obj,$(EXT_SRC)) $(SQL_GEN)
	$(CC) -shared $(SAN) -o $@ $^ $(LIBS) -Wl,--no-undefined -Wl,-Bsymbolic -Wl,-z,nodelete \
	  -Wl,--exclude-libs,libyaml.a

$(BUILD)/%.o: %.c $(wildcard ext/*.h ext/*/*.h ext/*/*/*.h tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(DEFS) $(OPT) $(SAN) $(call isa_flags,$<) -c $< -o $@

# sql/*.sql compiled in as strings (tools/embed_sql.c; ext/sql/sql_scripts.h).
build/embed_sql: tools/embed_sql.c
	@mkdir -p build
	$(CC) -std=c11 -O2 -Wall -Wextra -o $@ $<

$(BUILD)/gen/sql_scripts.c: build/embed_sql $(SQL_FILES)
	@mkdir -p $(dir $@)
	build/embed_sql $@ $(SQL_FILES)

$(SQL_GEN): $(BUILD)/gen/sql_scripts.c ext/sql/sql_scripts.h
	$(CC) $(CFLAGS_BASE) $(DEFS) $(OPT) $(SAN) -Iext -c $< -o $@

$(BUILD)/tests/run: $(call obj,$(TEST_SRC) $(LIB_SRC))
	$(CC) $(SAN) -pthread -o $@ $^ -lsqlite3 $(LIBS) -ldl

# The synthetic twins the tests and benches run on (see models/README.md).
TWINS = $(MODELS)/minilm-l6-embed/model.safetensors $(MODELS)/minilm-l6-rerank/model.safetensors
twins: $(TWINS)
$(TWINS) &: models/gen_twins.c
	@mkdir -p build
	$(CC) -std=c11 -O2 -ffp-contract=off -o build/gen_twins models/gen_twins.c -lm
	build/gen_twins $(SHARED)/models $(MODELS)
	cd $(MODELS) && sha256sum --quiet -c $(SHARED)/models/synthetic/SHA256SUMS

TEST_ENV = SEMLITE_SHARED=$(SHARED) SEMLITE_MODELS=$(MODELS) SEMLITE_SO=$(abspath $(BUILD)/semlite.so) $(VEC0_ENV)
test: $(BUILD)/semlite.so $(BUILD)/tests/run twins vec0
	$(TEST_ENV) $(BUILD)/tests/run

# The reference embeddings, int8/bf16 accuracy and sqlite-vec compatibility again with
# each lower kernel level forced (SEMLITE_ISA).
test-isa: $(BUILD)/semlite.so $(BUILD)/tests/run twins vec0
	for isa in avx2 scalar; do SEMLITE_ISA=$$isa $(TEST_ENV) $(BUILD)/tests/run embed.reference quant.reference vec.compat || exit 1; done

# Valgrind over every test but those that run hundreds of forward passes or build large
# graphs (they run under ASan in CI), the two that drive sqlite-vec's own vec0.so, whose
# definite leaks are its own (ASan's leak check covers semlite's side of them), and
# model_files.truncated_while_loaded, whose child misses its deadline at valgrind's
# speed; about 15 minutes.
VALGRIND_TESTS = json safetensors tokenizer kernels ha_yaml ha_history embed.blob embed.nulls embed.errors \
                 embed.wrong embed.flags embed.models embed.pooling embed.corrupt embed.bad_config \
                 quant.option_errors vec vtab_vec -vtab_vec.vec0_compat -vtab_vec.vec0_migrate \
                 -vtab_vec.embed_on_insert -vtab_vec.embed_batches rerank.sql rerank.num_labels \
                 cache -cache.each -cache.killed_writer -cache.two_connections -cache.threads \
                 synergy -synergy.real_home -synergy.models -synergy.large_home version vtab_ivf identity replicated \
                 model_files -model_files.truncated_while_loaded amx
valgrind: $(BUILD)/semlite.so $(BUILD)/tests/run twins vec0
	$(TEST_ENV) valgrind --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite -q \
	  $(BUILD)/tests/run $(VALGRIND_TESTS)

# ThreadSanitizer over the tests that run many threads at once.
TSAN_TESTS = kernels.dispatch_threads tokenizer.threads embed.threads embed.load_unload_race \
             metrics.exact_counts_threads cache.threads progress.threads vtab_hnsw.bulk stress
# One round of the stress test under TSan (every case overlaps every other in it).
TSAN_STRESS_ROUNDS = 1
tsan:
	$(MAKE) BUILD=build/tsan OPT=-O1 SAN="-fsanitize=thread" build/tsan/semlite.so build/tsan/tests/run

tsan-test: tsan twins
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(abspath tests/tsan.supp)" \
	  SEMLITE_SHARED=$(SHARED) SEMLITE_MODELS=$(MODELS) SEMLITE_SO=$(abspath build/tsan/semlite.so) \
	  SEMLITE_STRESS_ROUNDS=$(TSAN_STRESS_ROUNDS) build/tsan/tests/run $(TSAN_TESTS)

asan:
	$(MAKE) BUILD=build/asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" build/asan/semlite.so build/asan/tests/run

# The .so is loaded by a sanitized test binary, so the runtime is already in place.
# Skipped under ASan: 2,400 cross-encoder passes that check accuracy, not memory safety
# (the release run covers them; the same code paths run in the other quant tests); and
# cache.killed_writer and metrics.limits_defaults, whose sqlite3 shell cannot load a
# sanitized .so; bitexact.avx2 (7 minutes of whole-model passes under ASan on 2 cores that
# compare bytes across levels: the release run covers it, and bitexact.avx512 and
# kernels.levels_exact run the same kernels here).
ASAN_SKIP = -quant.rerank_spearman -cache.killed_writer -metrics.limits_defaults -bitexact.avx2
asan-test: asan twins vec0
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(VEC0_ENV) \
	  SEMLITE_SHARED=$(SHARED) SEMLITE_MODELS=$(MODELS) SEMLITE_SO=$(abspath build/asan/semlite.so) \
	  build/asan/tests/run $(ASAN_SKIP)

# Every fault point of faults.io and faults.oom (the test run samples the allocations).
faults-full: $(BUILD)/semlite.so $(BUILD)/tests/run twins
	SEMLITE_OOM_STEP=1 $(TEST_ENV) $(BUILD)/tests/run faults

demo: $(SO)
	sh tools/demo.sh

clean:
	rm -rf build dist semlite.so   # ./semlite.so: left by builds from before it moved to build/

include tests/fuzz/fuzz.mk
include tests/vec0.mk
include bench/bench.mk
include bench/infer.mk
include bench/knn.mk
include bench/ann.mk
include bench/load.mk
include bench/cache.mk
include bench/synergy.mk
include bench/kernels.mk
include dist.mk
include tests/dqlite/dqlite.mk
