# plot.gp: bench/knn's PNG, drawn from the .dat file that bench_knn writes next to knn.csv.
# A script rather than inline in the C program so the figure can be restyled and redrawn
# from an existing run:
#   gnuplot -e "datafile='bench/out/knn-plot.dat'; outfile='bench/out/knn.png'; nsizes=2; sizes='10000 100000'" bench/knn/plot.gp
# Data: one block (gnuplot index) per table size, one row per engine and configuration:
#   "label" qps p50_ms p95_ms recall10 insert_rows_per_s
# One panel of queries/second per size (log scale: exact and quantized differ by an order of
# magnitude), sqlite-vec in orange, semlite in blue; then recall@10 and insert rate for the
# largest size, since quantized speed means nothing without its recall.

if (!exists("datafile")) datafile = 'bench/out/knn-plot.dat'
if (!exists("outfile")) outfile = 'bench/out/knn.png'
if (!exists("nsizes")) nsizes = 2
if (!exists("sizes")) sizes = ""
label(i) = words(sizes) > i ? word(sizes, i + 1) . " rows" : sprintf("size %d", i + 1)

set terminal pngcairo size 600*(nsizes+2),560 font ",10" noenhanced
set output outfile
set multiplot layout 1,nsizes+2 title "k=10 nearest neighbours, 384 dims: semlite_vec vs sqlite-vec vec0 0.1.9"

set style fill solid 0.85 border -1
set boxwidth 0.8
set grid ytics
set xtics rotate by -45 nomirror
set ytics nomirror
unset key
color(s) = strstrt(s, "vec0") > 0 ? 0xff7f0e : 0x1f77b4

set logscale y
do for [i=0:nsizes-1] {
  set title "queries/s at " . label(i) . " (higher is better)"
  plot datafile index i using 0:2:(color(strcol(1))):xtic(1) with boxes lc rgb variable
}

last = nsizes - 1
unset logscale y
set yrange [0:1.05]
set title "recall@10 vs exact search, " . label(last)
plot datafile index last using 0:5:(color(strcol(1))):xtic(1) with boxes lc rgb variable

set yrange [0:*]
set title "inserts/s, " . label(last)
plot datafile index last using 0:6:(color(strcol(1))):xtic(1) with boxes lc rgb variable

unset multiplot
