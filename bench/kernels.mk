# bench/kernels.mk: the kernel bench (bench/kernels/bench_kernels.c), included from the top
# Makefile after bench/bench.mk (`include bench/kernels.mk`), which defines CC, BUILD, LIB_SRC,
# obj, and (bench/common.mk) BENCH_OUT, BENCH_BIN and the rule that builds
# $(BENCH_BIN)/bench_kernels.
#
#   make bench-kernels                                  GEMM and distance kernels at every ISA
#                                                       level, one core: ~10 s
#   make bench-kernels BENCH_KERNELS_FLAGS='--seconds 0.2'   each figure the best of 0.2 s of calls
#
# Results: bench/out/kernels.csv, bench/out/kernels.png.

BENCH_KERNELS_FLAGS ?=

.PHONY: bench-kernels
bench: bench-kernels

# The kernels are called directly, not through SQL: the program also links the objects of
# every ext/ source outside the SQL layer, as the test runner does (LIB_SRC in the top Makefile).
$(BENCH_BIN)/bench_kernels: $(call obj,$(LIB_SRC))
$(BENCH_BIN)/bench_kernels: BENCH_LDLIBS = $(YAML_LIB) -lpthread

bench-kernels: $(BENCH_BIN)/bench_kernels
	@mkdir -p $(BENCH_OUT)
	$(BENCH_BIN)/bench_kernels --out $(BENCH_OUT) $(BENCH_KERNELS_FLAGS)
