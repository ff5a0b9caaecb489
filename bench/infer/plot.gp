# plot.gp: bench/infer's plots, drawn from bench/out/infer-plot.dat (written by bench_infer).
# Why: one picture of the whole grid; a panel per task (embed_each, rerank_each) and length,
# throughput (metric='ips') or p50 latency (metric='p50') against batch size, one line per
# engine and dtype, log scales because the cells span three orders of magnitude.
#   gnuplot -e "datafile='bench/out/infer-plot.dat'; outfile='x.png'; metric='ips'; lens='16 64 256'" bench/infer/plot.gp
# Columns: task(0 embed, 1 rerank) len batch, then items/s p50 p95 for ORT fp32, semlite fp32,
# bf16, int8.
if (!exists("datafile")) datafile = 'bench/out/infer-plot.dat'
if (!exists("outfile")) outfile = 'bench/out/infer.png'
if (!exists("metric")) metric = 'ips'
if (!exists("lens")) lens = '16 64 256'   # the lengths of the run, one panel column each
off = (metric eq 'ips') ? 0 : 1
ylab = (metric eq 'ips') ? 'items / s (higher is better)' : 'p50 ms per call (lower is better)'

set terminal pngcairo size 1500,900 font ",10" noenhanced   # noenhanced: "embed_each" is not a subscript
set output outfile
set datafile missing NaN
set logscale xy
set xtics (1, 8, 32, 128)
set xrange [0.8:160]
set grid
set key top left font ",8"
set multiplot layout 2,words(lens) title sprintf("semlite vs onnxruntime-node (fp32 graphs, 2 threads): %s", ylab)
tasks = "embed_each rerank_each"
do for [t = 0:1] {
  do for [li = 1:words(lens)] {
    L = int(word(lens, li))
    set title sprintf("%s, %d tokens", word(tasks, t + 1), L)
    set xlabel "batch size"
    set ylabel ylab
    plot datafile using 3:(($1 == t && $2 == L) ? column(4 + off) : NaN) with linespoints lw 2 pt 7 lc rgb "#888888" title "ORT fp32", \
         ''       using 3:(($1 == t && $2 == L) ? column(7 + off) : NaN) with linespoints lw 2 pt 5 lc rgb "#1f77b4" title "semlite fp32", \
         ''       using 3:(($1 == t && $2 == L) ? column(10 + off) : NaN) with linespoints lw 2 pt 9 lc rgb "#2ca02c" title "semlite bf16", \
         ''       using 3:(($1 == t && $2 == L) ? column(13 + off) : NaN) with linespoints lw 2 pt 11 lc rgb "#d62728" title "semlite int8"
  }
}
unset multiplot
