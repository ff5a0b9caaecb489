# plot.gp: bench/kernels' PNG, drawn from the .dat file bench_kernels writes next to
# kernels.csv; redraw from an existing run with
#   gnuplot -e "datafile='bench/out/kernels-plot.dat'; outfile='bench/out/kernels.png'; ngemm=18; nlevels=3" bench/kernels/plot.gp
# Data: index 0 = one row per GEMM shape, GOPS per level and kind (ngemm columns after the
# label); index 1 = one row per distance, ns per level (nlevels columns). Each block starts
# with its column names, which become the legend.

if (!exists("datafile")) datafile = 'bench/out/kernels-plot.dat'
if (!exists("outfile")) outfile = 'bench/out/kernels.png'
if (!exists("ngemm")) ngemm = 18
if (!exists("nlevels")) nlevels = 3

set terminal pngcairo size 1500,560 font ",10" noenhanced
set output outfile
set multiplot layout 1,2 title "semlite's kernels, one core, best call (bench/kernels)"

set datafile missing "nan"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key below horizontal
set xtics nomirror
set ytics nomirror
set yrange [0:*]

# one hue per level (scalar grey, avx2 blue, avx512 orange), light to dark for fp32, fp32p,
# int8, bf16, int8 packed, bf16 packed (no bars where a level has no packed product)
gemmcolors = "#f0f0f0 #d9d9d9 #bdbdbd #969696 #636363 #252525 #deebf7 #c6dbef #9ecae1 #4292c6 #2171b5 #08306b #fee6ce #fdd0a2 #fdae6b #f16913 #d94801 #7f2704"
levelcolors = "#737373 #4292c6 #f16913"

set title "GEMM, M x N x K (GOPS, higher is better; scalar skips shapes of more than 12 rows)"
plot for [i=2:ngemm+1] datafile index 0 using i:xtic(1) title columnhead(i) lc rgb word(gemmcolors, i-1)

set title "distance of 384 dimensions (ns, lower is better)"
set logscale y
set yrange [1:*]
plot for [i=2:nlevels+1] datafile index 1 using i:xtic(1) title columnhead(i) lc rgb word(levelcolors, i-1)

unset multiplot
