# bench/cache.mk: the inference cache bench, included from the top Makefile after bench/bench.mk
# (`include bench/cache.mk`), which defines CC, SHARED, MODELS, SO (build/release/semlite.so), twins, and
# (bench/common.mk) BENCH_OUT, BENCH_BIN and the rule that builds $(BENCH_BIN)/bench_cache.
#
#   make bench-cache                             latency, re-run hit rate, eviction at 1M
#                                                entries (~2-4 minutes, 150 MB scratch file)
#   make bench-cache BENCH_CACHE_FLAGS='--entries 100000 --repeat 1'   quicker
#
# Results: bench/out/cache.csv, bench/out/cache.png.

BENCH_CACHE_FLAGS ?=

.PHONY: bench-cache
bench: bench-cache

bench-cache: $(SO) twins $(BENCH_BIN)/bench_cache
	$(BENCH_BIN)/bench_cache --so $(SO) --model $(MODELS)/minilm-l6-embed \
	  --shared $(SHARED) --out $(BENCH_OUT) $(BENCH_CACHE_FLAGS)
