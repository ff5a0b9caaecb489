# bench/infer.mk: make rules of bench/infer (batched embed/rerank, fp32/bf16/int8, vs ONNX
# Runtime, as fractions of the machine's peak) and bench/peak (that peak). Included from the
# top Makefile after bench/bench.mk (`include bench/infer.mk`), which defines CC, SHARED, MODELS,
# SO (build/release/semlite.so), twins, bench-peers, and (bench/common.mk) BENCH_OUT, BENCH_BIN, BENCH_THREADS and
# the rule that builds $(BENCH_BIN)/bench_infer.
#
#   make bench-peak                      fp32 FMA / int8 VNNI / bf16 peak -> $(BENCH_OUT)/peak.txt (~3 s)
#   make bench-infer                     the whole matrix: ORT at 1 and 2 threads, semlite per path
#                                        (avx512, avx2), dtype and 1 or 2 threads; ~40 min quiet
#   make bench-infer BENCH_INFER_FLAGS='--batches 1,32 --lengths 16 --paths avx512 --dtypes fp32'   a subset
#
# Results: $(BENCH_OUT)/infer.csv, infer.png (throughput), infer-latency.png (p50),
# infer-ort.json (the peer's raw output), infer-workload.json (the exact texts).

BENCH_INFER_SECONDS ?= 0.2
BENCH_INFER_FLAGS   ?=

.PHONY: bench-infer bench-peak

# The peak kernels are AVX-512 F + VNNI + BF16 only: this program is for machines that have
# them (it says so and exits 1 elsewhere), unlike semlite, which dispatches at run time. Only
# peak.c gets the ISA flags; bench/common.o is the one every bench links.
$(BENCH_BIN)/peak: bench/peak/peak.c bench/common.h $(BENCH_BIN)/common.o
	$(CC) $(BENCH_CFLAGS) -mavx512f -mavx512vnni -mavx512bf16 -o $@ $< $(BENCH_BIN)/common.o -lsqlite3 -lm

# Always re-measured (no file target): the peak of this machine now, not of an old run.
bench-peak: $(BENCH_BIN)/peak
	@mkdir -p $(BENCH_OUT)
	$(BENCH_BIN)/peak | tee $(BENCH_OUT)/peak.txt

# The bench loads a private copy of $(SO): a rebuild during the minutes of a run rewrote
# the mapped library in place and turned it into a SIGBUS.
# Same file name, so SQLite finds the same entry point (sqlite3_semlite_init).
bench-infer: $(SO) twins $(BENCH_BIN)/bench_infer bench-peers bench-peak
	cp $(SO) $(BENCH_OUT)/semlite.so
	$(BENCH_BIN)/bench_infer --so $(BENCH_OUT)/semlite.so --embed $(MODELS)/minilm-l6-embed \
	  --rerank $(MODELS)/minilm-l6-rerank --shared $(SHARED) --out $(BENCH_OUT) \
	  --peak $(BENCH_OUT)/peak.txt --seconds $(BENCH_INFER_SECONDS) \
	  $(BENCH_INFER_FLAGS)
