# fuzz.mk: libFuzzer targets for the parsers of untrusted input (tests/fuzz/README.md).
#
# Included from the top Makefile. `make fuzz` builds each fuzzer with clang (libFuzzer,
# ASan and UBSan) under build/fuzz/ and runs it for FUZZ_SECONDS seconds. The fuzzer
# works in build/fuzz/corpus/NAME, a copy of the committed seeds in
# tests/fuzz/corpus/NAME, so what it discovers stays out of git (and is kept across
# runs until `make clean`). A finding stops the run with a non-zero status and leaves
# the input in build/fuzz/ as crash-*, leak-* or timeout-*.
#
#   make fuzz                      60 s per fuzzer
#   make fuzz FUZZ_SECONDS=600     longer
#   make fuzz FUZZ_ARGS=-jobs=2    any extra libFuzzer flags
#   make fuzz-ci                   every fuzzer FUZZ_CI_SECONDS (10 s) each, as CI runs them

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_ARGS    ?=
FUZZ_OUT     := build/fuzz
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Wshadow \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Wshadow -Wno-unused-parameter \
                   -fvisibility=hidden -pthread -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_CI_SECONDS ?= 10
FUZZ_NAMES   := json safetensors config vocab tokenize vec preload home yaml hnsw_sql hnsw_shadow
FUZZ_HDRS    := $(wildcard ext/*/*.h ext/*/*/*.h)
# file.c: the one file reader, which json.c (sl_json_parse_file) and the tokenizer
# (sl_tokenizer_load) call.
FUZZ_TOKENIZER := ext/engine/tokenizer.c ext/engine/unicode.c ext/engine/unicode_tables.c ext/base/file.c
FUZZ_SRC_json        := tests/fuzz/fuzz_json.c ext/base/json.c ext/base/file.c ext/base/status.c ext/base/alloc.c
FUZZ_SRC_safetensors := tests/fuzz/fuzz_safetensors.c ext/engine/safetensors.c \
                        ext/base/json.c ext/base/file.c ext/base/status.c ext/base/alloc.c
FUZZ_SRC_config      := tests/fuzz/fuzz_config.c ext/engine/model_config.c ext/base/json.c \
                        $(FUZZ_TOKENIZER) ext/base/status.c ext/base/alloc.c
FUZZ_SRC_vocab       := tests/fuzz/fuzz_vocab.c $(FUZZ_TOKENIZER) ext/base/status.c ext/base/alloc.c
FUZZ_SRC_tokenize    := tests/fuzz/fuzz_tokenize.c $(FUZZ_TOKENIZER) ext/base/status.c ext/base/alloc.c
FUZZ_SRC_vec         := tests/fuzz/fuzz_vec.c tests/fuzz/fuzz_vec_init.c ext/sql/sql_vec.c \
                        ext/sql/sql_util.c ext/vector/layout.c ext/kernels/distance.c ext/base/json.c ext/base/file.c \
                        ext/base/status.c ext/base/alloc.c
FUZZ_SRC_preload     := tests/fuzz/fuzz_preload.c ext/ops/preload.c ext/engine/dtype.c \
                        ext/base/status.c ext/base/alloc.c
# The import reads sql/synergy.sql as compiled into the .so (build/release/gen).
FUZZ_HA_SRC          := ext/synergy/ha_import.c ext/synergy/ha_config.c ext/synergy/ha_yaml.c ext/synergy/arena.c
FUZZ_SRC_home        := tests/fuzz/fuzz_home.c tests/fuzz/fuzz_home_init.c ext/sql/synergy/sql_synergy_import.c \
                        $(FUZZ_HA_SRC) ext/ops/limits.c ext/ops/cache_l1.c \
                        ext/base/pool.c ext/vector/chunk_cache.c ext/vector/ann_cache.c \
                        ext/sql/sql_util.c ext/base/json.c ext/base/file.c ext/base/status.c ext/base/alloc.c \
                        build/release/gen/sql_scripts.c
# HA's YAML without SQLite (ha_import.c's document limit reads ext/ops/limits.c).
FUZZ_SRC_yaml        := tests/fuzz/fuzz_yaml.c $(FUZZ_HA_SRC) ext/ops/limits.c ext/ops/cache_l1.c ext/base/pool.c \
                        ext/vector/chunk_cache.c ext/vector/ann_cache.c ext/base/json.c ext/base/file.c ext/base/status.c ext/base/alloc.c
# The HNSW fuzzers drive semlite_vec through SQL: the whole extension, linked in and
# registered with sqlite3_auto_extension. Its objects are built once under
# $(FUZZ_OUT)/obj with coverage (fuzzer-no-link) and each SIMD kernel with its ISA flags.
FUZZ_EXT_OBJ         := $(patsubst %.c,$(FUZZ_OUT)/obj/%.o,$(EXT_SRC) build/release/gen/sql_scripts.c)
FUZZ_SRC_hnsw_sql    := tests/fuzz/fuzz_hnsw_sql.c $(FUZZ_EXT_OBJ)
FUZZ_SRC_hnsw_shadow := tests/fuzz/fuzz_hnsw_shadow.c $(FUZZ_EXT_OBJ)
FUZZ_LIBS_hnsw_sql   := -lsqlite3 -l:libyaml.a -lm -lpthread
FUZZ_LIBS_hnsw_shadow := -lsqlite3 -l:libyaml.a -lm -lpthread

$(FUZZ_OUT)/obj/%.o: %.c $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_OBJ_CFLAGS) $(call isa_flags,$<) -Iext -c $< -o $@

# Libraries a target needs besides libc (libyaml statically, as the extension links it;
# it is not instrumented, so coverage guides the fuzzer through semlite's side only).
FUZZ_LIBS_vec        := -lsqlite3 -lm
FUZZ_LIBS_preload    := -lm
FUZZ_LIBS_home       := -lsqlite3 -l:libyaml.a -lm -lpthread
FUZZ_LIBS_yaml       := -l:libyaml.a -lm -lpthread

.PHONY: fuzz fuzz-build fuzz-ci
fuzz-build: $(FUZZ_NAMES:%=$(FUZZ_OUT)/fuzz_%)

.SECONDEXPANSION:
$(FUZZ_OUT)/fuzz_%: $$(FUZZ_SRC_$$*) $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Iext -o $@ $(FUZZ_SRC_$*) $(FUZZ_LIBS_$*)

# -timeout catches inputs that take seconds (a quadratic path); -print_final_stats
# reports the exec count; the last "cov:" line of each run is its coverage.
fuzz: fuzz-build
	@set -e; for f in $(FUZZ_NAMES); do \
	  mkdir -p $(FUZZ_OUT)/corpus/$$f; \
	  cp tests/fuzz/corpus/$$f/* $(FUZZ_OUT)/corpus/$$f/; \
	  echo "fuzz_$$f: $(FUZZ_SECONDS) s"; \
	  $(FUZZ_OUT)/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
	    $$([ -f tests/fuzz/$$f.dict ] && echo -dict=tests/fuzz/$$f.dict) -artifact_prefix=$(FUZZ_OUT)/ \
	    $(FUZZ_ARGS) $(FUZZ_OUT)/corpus/$$f; \
	done

# CI's bounded run: every target a few seconds from its committed seeds. fuzz_tokenize
# reads the twin's vocab.txt, hence twins.
fuzz-ci: twins
	$(MAKE) fuzz FUZZ_SECONDS=$(FUZZ_CI_SECONDS)
