# plot.gp: bench/embed's PNG (owned by the embedding bench), drawn from the .dat file that
# bench_embed writes next to embed.csv. Kept as a script rather than inline in the C program so
# the figure can be restyled and redrawn from an existing run: 
#   gnuplot -e "datafile='bench/out/embed-plot.dat'; outfile='bench/out/embed.png'; plottitle='...'" bench/embed/plot.gp
# Data: index 0 = one row per workload
#   (name semlite_sps ort_sps semlite_p50 semlite_p95 ort_p50 ort_p95), index 1 = the load row.
# Axes are logarithmic: short calls and 128-sentence batches differ by orders of magnitude.

if (!exists("datafile")) datafile = 'bench/out/embed-plot.dat'
if (!exists("outfile")) outfile = 'bench/out/embed.png'
if (!exists("plottitle")) plottitle = 'semlite vs ONNX Runtime'

set terminal pngcairo size 1500,520 font ",10"
set output outfile
set multiplot layout 1,3 title plottitle

set datafile missing "nan"
set style data histograms
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key below horizontal
set logscale y
set xtics nomirror
set ytics nomirror

# fixed lower bounds: log autoscale would start at the smallest bar's decade and hide it
set yrange [0.1:*]
set title "throughput (sentences/s, higher is better)"
set style histogram clustered gap 1
plot datafile index 0 using 2:xtic(1) title "semlite" lc rgb "#1f77b4", \
     ''       index 0 using 3:xtic(1) title "ORT" lc rgb "#ff7f0e"

set yrange [0.1:*]
set title "latency per call/statement: bar p50, whisker to p95 (ms)"
set style histogram errorbars gap 1 lw 1
plot datafile index 0 using 4:4:5:xtic(1) title "semlite" lc rgb "#1f77b4", \
     ''       index 0 using 6:6:7:xtic(1) title "ORT" lc rgb "#ff7f0e"

set title "model load, p50 (ms)"
unset logscale y
set yrange [0:*]
set style histogram clustered gap 1
plot datafile index 1 using 4:xtic(1) title "semlite" lc rgb "#1f77b4", \
     ''       index 1 using 6:xtic(1) title "ORT" lc rgb "#ff7f0e"

unset multiplot
