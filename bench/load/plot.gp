# plot.gp: bench/load's PNG from load.csv (bench_load writes both). Redraw an old run with
#   gnuplot -e "datafile='bench/out/load.csv'; outfile='bench/out/load.png'" bench/load/plot.gp
# Left: requests/second against concurrent connections; right: p95 latency (log scale),
# with the 2 s line the seeds asked a search to stay under. One line per workload.

if (!exists("datafile")) datafile = 'bench/out/load.csv'
if (!exists("outfile")) outfile = 'bench/out/load.png'

set datafile separator ","
set terminal pngcairo size 1200,520 font ",10" noenhanced
set output outfile
set multiplot layout 1,2 title "semlite under concurrent connections (closed loop, one thread per connection)"
set grid
set key top left
set xlabel "concurrent connections"
set logscale x 2
set xrange [0.8:20]
set xtics (1, 2, 4, 8, 16)

set ylabel "requests / s"
plot datafile using ($2):(strcol(1) eq "embed" ? $5 : 1/0) every ::1 with linespoints lw 2 title "embed (one query)", \
     datafile using ($2):(strcol(1) eq "search" ? $5 : 1/0) every ::1 with linespoints lw 2 title "search (embed + k-NN + rerank 20)"

set ylabel "p95 latency (ms)"
set logscale y
plot datafile using ($2):(strcol(1) eq "embed" ? $7 : 1/0) every ::1 with linespoints lw 2 title "embed p95", \
     datafile using ($2):(strcol(1) eq "search" ? $7 : 1/0) every ::1 with linespoints lw 2 title "search p95", \
     2000 with lines dt 2 lc rgb "red" title "2 s"
unset multiplot
