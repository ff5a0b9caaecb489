# bench/common.mk: what the benches' make rules share, included by bench/bench.mk (the first
# bench file the top Makefile includes), which the top Makefile gives CC, SHARED and MODELS:
# the output and binary folders, bench/common.c compiled once, and the one rule that builds
# every bench program bench/NAME/bench_NAME.c as $(BENCH_BIN)/bench_NAME, linked with
# bench/common.o and any other object a bench's .mk adds as a prerequisite (and the
# libraries it sets in a target-specific BENCH_LDLIBS).

BENCH_OUT     ?= bench/out
BENCH_BIN     ?= build/bench
BENCH_THREADS ?= 2
BENCH_CFLAGS   = -std=c11 -O2 -Wall -Wextra -Wshadow -pthread

.PHONY: bench

$(BENCH_BIN)/common.o: bench/common.c bench/common.h
	@mkdir -p $(BENCH_BIN)
	$(CC) $(BENCH_CFLAGS) -c -o $@ $<

define bench_program
$(BENCH_BIN)/$(basename $(notdir $(1))): $(1) bench/common.h $(BENCH_BIN)/common.o
	$$(CC) $$(BENCH_CFLAGS) -o $$@ $$< $$(filter %.o,$$^) -lsqlite3 $$(BENCH_LDLIBS) -lm
endef
$(foreach src,$(wildcard bench/*/bench_*.c),$(eval $(call bench_program,$(src))))
