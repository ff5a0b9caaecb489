# bench/synergy.mk: the synergy benches, included from the top Makefile after bench/bench.mk
# (`include bench/synergy.mk`), which defines CC, SHARED, MODELS, SO (build/release/semlite.so), twins, and
# (bench/common.mk) BENCH_OUT, BENCH_BIN and the rule that builds both programs.
#
#   make bench-synergy            homes of 10..200 devices and the whole giom home x depth 2..5,
#                                 fp32 then int8 (each in its own process, for its peak RSS);
#                                 ~3-5 minutes on 2 cores
#   make bench-synergy-quality    recall@10/20/50 and MRR of the homes' real automations, hidden
#                                 from the input; a few seconds (plus ~1 minute with the twins)
#
# Results: bench/out/synergy.csv, bench/out/synergy.png; bench/out/synergy_quality.csv.

BENCH_SYNERGY_FLAGS ?=

.PHONY: bench-synergy bench-synergy-quality
bench: bench-synergy bench-synergy-quality

bench-synergy: $(SO) twins $(BENCH_BIN)/bench_synergy
	@mkdir -p $(BENCH_OUT)
	$(BENCH_BIN)/bench_synergy --so $(SO) --models $(MODELS) --shared $(SHARED) --out $(BENCH_OUT) \
	  --dtype fp32 $(BENCH_SYNERGY_FLAGS)
	$(BENCH_BIN)/bench_synergy --so $(SO) --models $(MODELS) --shared $(SHARED) --out $(BENCH_OUT) \
	  --dtype int8 --append $(BENCH_SYNERGY_FLAGS)
	gnuplot -e "datafile='$(BENCH_OUT)/synergy.csv'; outfile='$(BENCH_OUT)/synergy.png'" bench/synergy/plot.gp

bench-synergy-quality: $(SO) twins $(BENCH_BIN)/bench_synergy_quality
	@mkdir -p $(BENCH_OUT)
	$(BENCH_BIN)/bench_synergy_quality --so $(SO) --models $(MODELS) --shared $(SHARED) --out $(BENCH_OUT)
