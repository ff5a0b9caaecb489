# plot.gp: bench/cache's PNG, drawn from the .dat file bench_cache writes next to cache.csv:
#   gnuplot -e "datafile='bench/out/cache-plot.dat'; outfile='bench/out/cache.png'; entries=1000000; hitrate=95" bench/cache/plot.gp
# Block 0: "label" us_per_call for the embed() latencies; block 1: "label" us_per_insert at
# the eviction bench's size. Latencies on a log scale: a miss and an L1 hit differ by
# three orders of magnitude.

if (!exists("datafile")) datafile = 'bench/out/cache-plot.dat'
if (!exists("outfile")) outfile = 'bench/out/cache.png'
if (!exists("entries")) entries = 1000000
if (!exists("hitrate")) hitrate = 0

set terminal pngcairo size 1200,560 font ",10" noenhanced
set output outfile
set multiplot layout 1,2 title sprintf("semlite inference cache (re-run hit rate after one rename: %.1f%%)", hitrate)

set style fill solid 0.85 border -1
set boxwidth 0.8
set grid ytics
set xtics rotate by -30 nomirror
set ytics nomirror
unset key

set logscale y
set title "embed() of a 16-token text: microseconds per call (lower is better)"
plot datafile index 0 using 0:2:xtic(1) with boxes lc rgb "#1f77b4", \
     '' index 0 using 0:2:(sprintf("%.1f", $2)) with labels offset 0,1 notitle

unset logscale y
set yrange [0:*]
set title sprintf("insert into a cache of %d entries: microseconds per insert", entries)
plot datafile index 1 using 0:2:xtic(1) with boxes lc rgb "#ff7f0e", \
     '' index 1 using 0:2:(sprintf("%.1f", $2)) with labels offset 0,1 notitle

unset multiplot
