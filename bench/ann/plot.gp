# plot.gp: bench/ann's PNG, drawn from the .dat file bench_ann writes next to ann.csv:
#   gnuplot -e "datafile='bench/out/ann-plot.dat'; outfile='bench/out/ann.png'; nblocks=10" bench/ann/plot.gp
# Data: one block (gnuplot index) per data set and engine, a header line (recall10 qps
# "label") then recall10 qps "label" per point. The
# recall/queries-per-second curves the field uses (one point per ef_search; exact
# searches are single points at recall 1), queries/s on a log scale.

if (!exists("datafile")) datafile = 'bench/out/ann-plot.dat'
if (!exists("outfile")) outfile = 'bench/out/ann.png'
if (!exists("nblocks")) nblocks = 1
if (!exists("title")) title = ''

set terminal pngcairo size 1000,640 font ",10" noenhanced
set output outfile
set title "recall@10 vs queries per CPU-second, one query at a time, " . title . " (up and right is better)"
set xlabel "recall@10"
set ylabel "queries per CPU-second"
set logscale y
set grid
set key outside right
set xrange [*:1.005]
plot for [i=0:nblocks-1] datafile index i using 1:2 with linespoints pt 7 title columnhead(3)
