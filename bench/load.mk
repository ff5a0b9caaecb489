# bench/load.mk: the concurrency bench (bench/load/bench_load.c), included from the top
# Makefile (`include bench/load.mk`), which defines CC, MODELS, semlite.so and twins.
#
#   make bench-load                              1, 2, 4, 8, 16 connections, 5 s each, two
#                                                workloads: ~1 minute
#   make bench-load BENCH_LOAD_FLAGS='--seconds 10 --conns 1,16,32'
#
# Results: bench/out/load.csv, bench/out/load.png.

BENCH_OUT        ?= bench/out
BENCH_LOAD_FLAGS ?=
BENCH_LOAD_BIN    = build/bench

.PHONY: bench-load
bench: bench-load

$(BENCH_LOAD_BIN)/bench_load: bench/load/bench_load.c
	@mkdir -p $(BENCH_LOAD_BIN)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -pthread -o $@ $< -lsqlite3 -lm

# A private copy of the .so, as bench-infer does: a rebuild during the run must not
# replace the mapped library (bench_load names the entry point, so the copy's name is free).
bench-load: semlite.so twins $(BENCH_LOAD_BIN)/bench_load
	@mkdir -p $(BENCH_OUT)
	cp semlite.so $(BENCH_OUT)/semlite-load.so
	$(BENCH_LOAD_BIN)/bench_load --so $(abspath $(BENCH_OUT)/semlite-load.so) --embed $(MODELS)/minilm-l6-embed \
	  --rerank $(MODELS)/minilm-l6-rerank --out $(BENCH_OUT) $(BENCH_LOAD_FLAGS)
