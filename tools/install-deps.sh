#!/bin/sh
# Installs the Debian packages semlite builds, tests, fuzzes and benches with. The one list of
# them: README's commands and .ci/run both call this script.
set -eu
PACKAGES="build-essential ca-certificates curl libsqlite3-dev sqlite3 libxxhash-dev libyaml-dev gnuplot-nox python3 clang libclang-rt-14-dev"
# The Python package test (make test-wheel): a fresh venv with pip (offline, from the
# wheels python3-venv brings), and Debian's sqlite-utils to run it with.
PACKAGES="$PACKAGES python3-venv sqlite-utils"
PACKAGES="$PACKAGES libdqlite-dev"   # make test-dqlite: its nodes link libdqlite (docs/deployment.md)
# npm fetches the peers the tests and benches compare against (sqlite-vec, ONNX Runtime);
# a machine that already has node and npm keeps its own.
command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES nodejs npm"
# The Node binding test builds better-sqlite3 from source against Node's headers: Debian
# ships them in libnode-dev (NodeSource's nodejs carries its own).
[ -f /usr/include/node/node_api.h ] || PACKAGES="$PACKAGES libnode-dev"
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
