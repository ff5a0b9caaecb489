#!/bin/sh
# clean_env.sh CMD...: runs CMD where no BLAS library is reachable, with an empty
# environment but for PATH and SEMLITE_*: what a machine with only libc and SQLite gives.
#
# A private mount namespace (unshare -m; -r maps an unprivileged user to root there)
# hides every BLAS library the dynamic loader knows: the Debian alternatives folders
# (openblas-pthread/, blas/, ...) under an empty directory, any other file under
# /dev/null. Nothing outside the namespace changes and nothing needs undoing.
#
# semlite needs no BLAS (its own GEMM kernels); an earlier build linked OpenBLAS, and this
# test keeps any such dependency from coming back unnoticed beside check_deps.sh's ldd.
# A full debootstrap chroot would also do, at the cost of a minute or more of downloads
# per CI run; the namespace tests the same thing, what the release file needs from disk.
set -eu
if [ "${SEMLITE_CLEAN_ENV_INSIDE:-}" != 1 ]; then
  if [ "$(id -u)" = 0 ]; then flags=-m; else flags=-rm; fi
  exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin SEMLITE_CLEAN_ENV_INSIDE=1 \
    $(env | grep '^SEMLITE_' | grep -v '^SEMLITE_CLEAN_ENV_INSIDE=') \
    unshare $flags sh "$0" "$@"
fi

empty=$(mktemp -d)
hidden=""
for lib in $(ldconfig -p | awk '/lib(open)?blas|liblapack/ {print $NF}'); do
  real=$(readlink -f "$lib") || continue
  [ -e "$real" ] || continue
  dir=$(dirname "$real")
  case "$(basename "$dir")" in
    *blas*|*lapack*) mount --bind "$empty" "$dir"; real="$dir/" ;;
    *) mount --bind /dev/null "$real" ;;
  esac
  hidden="$hidden $real"
done
echo "clean_env: hid${hidden:- nothing (no BLAS library installed)}"
"$@"
