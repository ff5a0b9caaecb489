# plot.gp: bench/synergy's PNG, drawn from bench/out/synergy.csv (bench_synergy writes it):
#   gnuplot -e "datafile='bench/out/synergy.csv'; outfile='bench/out/synergy.png'" bench/synergy/plot.gp
# Four panels: cold and warm end-to-end time against home size, one line per depth, for fp32
# and int8 (log scales: warm runs are ~100x faster than cold ones); the targets as dashed lines.
# The whole home ("all") is plotted at its device count (208, next to the 200 sample).

if (!exists("datafile")) datafile = 'bench/out/synergy.csv'
if (!exists("outfile")) outfile = 'bench/out/synergy.png'

set datafile separator ","
set terminal pngcairo size 1400,1000 font ",10" noenhanced
set output outfile
set multiplot layout 2,2 title "synergy_paths: import + models + search, giom home sampled by devices (synthetic twins)"
set logscale xy
set grid
set key top left font ",8"
set xrange [8:300]
set xlabel "devices"
set ylabel "ms"
# The rows of one dtype and depth, by awk, so that each line is drawn without gaps.
rows(dt, d) = sprintf("< awk -F, 'NR > 1 && $2 == \"%s\" && $7 == %d' %s", dt, d, datafile)

do for [dt in "fp32 int8"] {
  set yrange [100:20000]
  set title "cold (import, model load, embed, rerank, search): " . dt
  plot for [d=2:5] rows(dt, d) using 3:15 with linespoints title sprintf("depth %d", d), \
       500 dt 2 lc rgb "gray" title "0.5 s (20 devices, depth 3)", 3000 dt 2 lc rgb "black" title "3 s (100 devices, depth 4)", \
       10000 dt 3 lc rgb "red" title "10 s (whole home, depth 5)"
  set yrange [0.5:300]
  set title "warm (caches filled): " . dt
  plot for [d=2:5] rows(dt, d) using 3:16 with linespoints title sprintf("depth %d", d), \
       50 dt 2 lc rgb "gray" title "50 ms (20 devices, depth 3)"
}
unset multiplot
