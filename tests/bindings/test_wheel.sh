#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# test_wheel.sh WHEEL: the Python wheel installed as a user installs it, offline: a fresh
# venv of Debian's python3 (stdlib sqlite3), `pip install --no-index WHEEL`, then
# tests/bindings/test_package.py from the repository root (see there why), then
# sqlite-utils (Debian's 3.30, seen from a second venv with --system-site-packages) running
# embed() with the package's .so. sqlite-utils 3.34+ would load it through the plugin
# entry point alone; 3.30 has no plugin hooks, so it is given --load-extension.
# Environment: SEMLITE_SO, SEMLITE_MODELS, SEMLITE_VERSION; BINDINGS_PYTHON (python3).
set -eu
wheel=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
py=${BINDINGS_PYTHON:-/usr/bin/python3}
work=$root/build/py
rm -rf "$work" && mkdir -p "$work"

"$py" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --no-index --disable-pip-version-check "$wheel"
cd "$root"
[ ! -e semlite.so ] || { echo "FAIL: ./semlite.so at the repository root shadows the package"; exit 1; }
"$work/venv/bin/python" - < tests/bindings/test_package.py

if "$py" -c 'import sqlite_utils' 2>/dev/null; then
  "$py" -m venv --system-site-packages "$work/venv-su"
  "$work/venv-su/bin/python" -m pip install -q --no-index --disable-pip-version-check "$wheel"
  su="$work/venv-su/bin/python -m sqlite_utils"
  ext=$("$work/venv-su/bin/python" -m semlite)
  if "$work/venv-su/bin/python" -c 'import sys; from sqlite_utils import hookimpl' 2>/dev/null; then
    ext_opt=""     # the plugin loads it
  else
    ext_opt="--load-extension=$ext"
  fi
  # shellcheck disable=SC2086
  got=$(SEMLITE_PRELOAD="m=$SEMLITE_MODELS/minilm-l6-embed" $su query "$work/su.db" \
        "select vec_length(embed('m', 'x')) as n, semlite_version() as v" $ext_opt)
  want="[{\"n\": 384, \"v\": \"$SEMLITE_VERSION\"}]"
  if [ "$got" = "$want" ]; then echo "sqlite-utils: 1 passed, 0 failed"
  else echo "FAIL sqlite-utils: got $got, want $want"; echo "sqlite-utils: 0 passed, 1 failed"; exit 1; fi
else
  echo "FAIL sqlite-utils: not installed (tools/install-deps.sh installs it)"; exit 1
fi
