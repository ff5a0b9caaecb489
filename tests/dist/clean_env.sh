#!/bin/sh
# clean_env.sh SHARED_BLAS_SO CMD...: runs CMD where no OpenBLAS (nor any other BLAS) is
# installed, with an empty environment but for PATH and SEMLITE_*.
#
# A private mount namespace (unshare -m; -r maps an unprivileged user to root there)
# hides every BLAS library the dynamic loader knows: the Debian alternatives folders
# (openblas-pthread/, blas/, ...) under an empty directory, any other file under
# /dev/null. Nothing outside the namespace changes and nothing needs undoing.
#
# SHARED_BLAS_SO is the development build (linked to libopenblas.so.0): it must FAIL to
# load in there, which proves the libraries really are out of reach; then CMD runs, e.g.
# the sqlite3 shell's binding test on the release file. A full debootstrap chroot would
# also do, at the cost of a minute or more of downloads per CI run; the namespace tests the
# same thing, what the release file needs from the disk.
set -eu
if [ "${SEMLITE_CLEAN_ENV_INSIDE:-}" != 1 ]; then
  if [ "$(id -u)" = 0 ]; then flags=-m; else flags=-rm; fi
  exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin SEMLITE_CLEAN_ENV_INSIDE=1 \
    $(env | grep '^SEMLITE_' | grep -v '^SEMLITE_CLEAN_ENV_INSIDE=') \
    unshare $flags sh "$0" "$@"
fi

dev_so="$1"; shift
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
[ -n "$hidden" ] || { echo "clean_env: found no BLAS library to hide (is libopenblas installed?)"; exit 1; }
echo "clean_env: hid$hidden"

# Without its suffix: the shell tries the name, then name.so, and reports the last error.
if out=$(sqlite3 :memory: ".load ${dev_so%.so}" 2>&1); then
  echo "clean_env: FAIL: $dev_so still loads, so OpenBLAS is not hidden"; exit 1
fi
case "$out" in
  *libopenblas*) echo "clean_env: the shared-OpenBLAS build cannot load here: $out" ;;
  *) echo "clean_env: FAIL: $dev_so failed for another reason: $out"; exit 1 ;;
esac
"$@"
