# bench/ann.mk: the approximate k-NN bench (semlite_vec `indexed by hnsw` vs hnswlib, FAISS
# HNSW; `indexed by ivf` vs FAISS IVF-Flat; semlite's and sqlite-vec's exact search),
# included from the top Makefile after bench/bench.mk and tests/vec0.mk, which define SO, vec0, and (bench/common.mk) BENCH_OUT,
# BENCH_BIN and the rule that builds $(BENCH_BIN)/bench_ann.
#
#   make bench-ann                         100k x 384, clustered and uniform (~15 min on 2
#                                          busy cores: four HNSW builds of 100k)
#   make bench-ann BENCH_ANN_FLAGS='--n 20000 --ef 32,64'   a quick run
#   make bench-ann BENCH_ANN_FLAGS='--no-hnsw --nlist 256 --nprobe 1,2,4,8,16,32'   IVF only
#
# The peers need python3 with hnswlib (Debian: python3-hnswlib) and, optionally, faiss
# (python3-faiss); a peer that cannot be imported is left out. Results: bench/out/ann.csv,
# bench/out/ann.png.

BENCH_ANN_FLAGS ?=

.PHONY: bench-ann
bench: bench-ann

bench-ann: $(SO) vec0 $(BENCH_BIN)/bench_ann
	$(BENCH_BIN)/bench_ann --so $(SO) --vec0 $(VEC0) --out $(BENCH_OUT) --plot bench/ann/plot.gp $(BENCH_ANN_FLAGS)
