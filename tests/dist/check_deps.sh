#!/bin/sh
# check_deps.sh SO: the release file needs nothing at run time but the C library: its
# NEEDED entries are only libc, libm and libpthread (glibc 2.34+ has folded libpthread
# into libc, so it may not appear), and it exports only the extension's entry point (and its alias sqlite3_vec_init), so
# nothing in it can meet the host's symbols. Prints the size and `ldd`, the
# figures the release notes quote. Prints "dist: N passed, N failed"; exits 1 on a failure.
set -eu
so="$1"
passed=0 failed=0
check() {  # name, ok (0/1), detail
  if [ "$2" = 1 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $1: $3"; fi
}

echo "$so: $(stat -c %s "$so") bytes"
ldd "$so"

needed=$(readelf -d "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
extra=$(printf '%s\n' $needed | grep -v -x -e 'libc.so.6' -e 'libm.so.6' -e 'libpthread.so.0' || true)
check "needed" "$([ -z "$extra" ] && [ -n "$needed" ] && echo 1 || echo 0)" "NEEDED $needed"

# ldd resolves every dependency, transitively: nothing may be "not found", and nothing
# but the C library, the loader and the vDSO may be loaded.
resolved=$(ldd "$so" | awk '{print $1}' | grep -v -x -e 'linux-vdso.so.1' -e 'libc.so.6' -e 'libm.so.6' \
  -e 'libpthread.so.0' -e '/lib64/ld-linux-x86-64.so.2' || true)
check "ldd" "$([ -z "$resolved" ] && echo 1 || echo 0)" "also loads: $resolved"

exports=$(nm -D --defined-only "$so" | awk '{print $3}' | tr '\n' ' ')
# sqlite3_vec_init: the same entry point under sqlite-vec's name, so code that loads
# "vec0" (SQLite derives the entry point from the file name) can load semlite instead.
check "exports" "$([ "$exports" = "sqlite3_semlite_init sqlite3_vec_init " ] && echo 1 || echo 0)" "exports: $exports"

check "stripped" "$(readelf -S "$so" | grep -q -e '\.symtab' -e '\.debug_' && echo 0 || echo 1)" "has a symbol table or debug info"

echo "dist: $passed passed, $failed failed"
[ "$failed" = 0 ]
