# SPDX-License-Identifier: MIT OR Apache-2.0
"""The sqlite-utils plugin (entry point group `sqlite_utils`): sqlite-utils 3.34 and
newer call prepare_connection() on every connection they open, so semlite's functions
are there in `sqlite-utils query`, `insert`, ... without --load-extension. Older
sqlite-utils has no plugin hooks: use --load-extension "$(python -m semlite)"."""
from . import load

try:
    from sqlite_utils import hookimpl
except ImportError:  # sqlite-utils < 3.34 (or absent): no hooks to mark
    def hookimpl(fn):
        return fn


@hookimpl
def prepare_connection(conn):
    load(conn)
