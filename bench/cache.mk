# bench/cache.mk: the inference cache bench, included from the top Makefile after bench/bench.mk
# (`include bench/cache.mk`), which defines CC, SHARED, MODELS, semlite.so and twins.
#
#   make bench-cache                             latency, re-run hit rate, eviction at 1M
#                                                entries (~2-4 minutes, 150 MB scratch file)
#   make bench-cache BENCH_CACHE_FLAGS='--entries 100000 --repeat 1'   quicker
#
# Results: bench/out/cache.csv, bench/out/cache.png.

BENCH_OUT         ?= bench/out
BENCH_BIN         ?= build/bench
BENCH_CACHE_FLAGS ?=

.PHONY: bench-cache
bench: bench-cache

$(BENCH_BIN)/bench_cache: bench/cache/bench_cache.c
	@mkdir -p $(BENCH_BIN)
	$(CC) -std=c11 -O2 -Wall -Wextra -o $@ $< -lsqlite3 -lm

bench-cache: semlite.so twins $(BENCH_BIN)/bench_cache
	$(BENCH_BIN)/bench_cache --so ./semlite.so --model $(MODELS)/minilm-l6-embed \
	  --shared $(SHARED) --out $(BENCH_OUT) $(BENCH_CACHE_FLAGS)
