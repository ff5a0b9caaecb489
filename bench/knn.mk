# bench/knn.mk: the vector-search bench (semlite_vec vs sqlite-vec's vec0), included from the
# top Makefile after bench/bench.mk and tests/vec0.mk (`include bench/knn.mk`), which define
# CC, SHARED, MODELS, SO (build/release/semlite.so), twins, vec0, and (bench/common.mk) BENCH_OUT, BENCH_BIN and
# the rule that builds $(BENCH_BIN)/bench_knn.
#
#   make bench-knn                                   10k and 100k x 384, ~1 min (+ ~5 min
#                                                    the first time: embedding the corpus)
#   make bench-knn BENCH_KNN_SIZES=10000,100000,1000000   adds 1M (1.5-1.9 GB database per
#                                                    table, one at a time; ~10 minutes in all)
#   make bench-knn BENCH_KNN_FLAGS='--int8-os 2 --binary-os 8'   extra bench_knn options
#
# Results: bench/out/knn.csv, bench/out/knn.png; the corpus embeddings are cached in
# bench/out/knn-corpus.db (delete it to embed again).

BENCH_KNN_SIZES ?= 10000,100000
BENCH_KNN_FLAGS ?=

.PHONY: bench-knn
bench: bench-knn

bench-knn: $(SO) twins vec0 $(BENCH_BIN)/bench_knn
	$(BENCH_BIN)/bench_knn --so $(SO) --vec0 $(VEC0) --model $(MODELS)/minilm-l6-embed \
	  --shared $(SHARED) --out $(BENCH_OUT) --sizes $(BENCH_KNN_SIZES) $(BENCH_KNN_FLAGS)
