# bench/load.mk: the concurrency bench (bench/load/bench_load.c), included from the top
# Makefile after bench/bench.mk (`include bench/load.mk`), which defines CC, MODELS,
# SO (build/release/semlite.so), twins, and (bench/common.mk) BENCH_OUT, BENCH_BIN and the rule that builds
# $(BENCH_BIN)/bench_load.
#
#   make bench-load                              1, 2, 4, 8, 16 connections, 5 s each, two
#                                                workloads: ~1 minute
#   make bench-load BENCH_LOAD_FLAGS='--seconds 10 --conns 1,16,32'
#
# Results: bench/out/load.csv, bench/out/load.png.

BENCH_LOAD_FLAGS ?=

.PHONY: bench-load
bench: bench-load

# A private copy of the .so, as bench-infer does: a rebuild during the run must not
# replace the mapped library (bench_load names the entry point, so the copy's name is free).
bench-load: $(SO) twins $(BENCH_BIN)/bench_load
	@mkdir -p $(BENCH_OUT)
	cp $(SO) $(BENCH_OUT)/semlite-load.so
	$(BENCH_BIN)/bench_load --so $(abspath $(BENCH_OUT)/semlite-load.so) --embed $(MODELS)/minilm-l6-embed \
	  --rerank $(MODELS)/minilm-l6-rerank --out $(BENCH_OUT) $(BENCH_LOAD_FLAGS)
