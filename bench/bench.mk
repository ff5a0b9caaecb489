# bench/bench.mk: the embedding bench's make rules, included from the top Makefile
# (`include bench/bench.mk`), which defines CC, SHARED, MODELS, SO (build/release/semlite.so) and twins. It
# includes bench/common.mk, the rules every bench shares, first.
#
#   make bench-embed                      semlite vs ONNX Runtime, ~1.5-3 minutes
#   make bench-embed BENCH_SECONDS=2      quicker, noisier
#   make bench-embed BENCH_EMBED_FLAGS='--setup-sql "SELECT ..."'   extra bench_embed options
#
# Results: bench/out/embed.csv, bench/out/embed.png, bench/out/embed-ort.json (the peer's raw
# output) and bench/out/embed-workload.json (the exact texts both engines ran).
# The peer's node_modules are installed from the committed lockfile with `npm ci`; the two
# ONNXRUNTIME_NODE_INSTALL* variables stop onnxruntime-node's install script from trying to
# download GPU binaries (only the npm registry is reachable; the CPU build ships in the package).

include bench/common.mk

BENCH_SECONDS     ?= 6
BENCH_EMBED_FLAGS ?=

.PHONY: bench-embed bench-peers
bench: bench-embed

# npm writes node_modules/.package-lock.json on every install: a stamp that is newer than the
# lockfile exactly when the installed tree matches it.
bench/peers/node_modules/.package-lock.json: bench/peers/package.json bench/peers/package-lock.json
	cd bench/peers && ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip \
	  npm ci --no-audit --no-fund
	@touch $@

bench-peers: bench/peers/node_modules/.package-lock.json

bench-embed: $(SO) twins $(BENCH_BIN)/bench_embed bench-peers
	$(BENCH_BIN)/bench_embed --so $(SO) --model $(MODELS)/minilm-l6-embed \
	  --shared $(SHARED) --out $(BENCH_OUT) --threads $(BENCH_THREADS) \
	  --seconds $(BENCH_SECONDS) $(BENCH_EMBED_FLAGS)
