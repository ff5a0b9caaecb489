# SPDX-License-Identifier: MIT OR Apache-2.0
"""python -m semlite: prints the packaged semlite.so's path, for the sqlite3 shell
(sqlite3 -cmd ".load $(python -m semlite)") or sqlite-utils --load-extension."""
from . import loadable_path

print(loadable_path())
