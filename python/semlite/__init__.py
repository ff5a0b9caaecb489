# SPDX-License-Identifier: MIT OR Apache-2.0
"""semlite: local embeddings, reranking and vector search inside SQLite.

The package ships the loadable extension (semlite.so, Linux x86-64 glibc) and a few
helpers in the style of sqlite_vec's: load(conn), loadable_path(), serialize_float32(),
serialize_int8(); embed_many() and rerank_many() run long lists through embed_each /
rerank_each one batch at a time, as generators that report progress.
"""
import json
import os
import struct

try:
    from ._version import __version__
except ImportError:  # a source checkout, not an installed wheel
    __version__ = "0+unknown"

__all__ = ["load", "loadable_path", "serialize_float32", "serialize_int8",
           "deserialize_float32", "embed_many", "rerank_many", "__version__"]


def loadable_path():
    """The absolute path of the packaged semlite.so, for conn.load_extension() or any
    driver that loads SQLite extensions."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "semlite.so")
    if not os.path.exists(path):
        raise FileNotFoundError(f"semlite: {path} is missing; reinstall the package")
    return path


def load(conn):
    """Loads semlite into a sqlite3.Connection (or anything with enable_load_extension
    and load_extension). Extension loading is switched off again afterwards."""
    if not hasattr(conn, "enable_load_extension"):
        raise RuntimeError(
            "semlite.load: this Python's sqlite3 module cannot load extensions "
            "(built without them); use the system python3 or pysqlite3")
    conn.enable_load_extension(True)
    try:
        conn.load_extension(loadable_path())
    finally:
        conn.enable_load_extension(False)


def serialize_float32(vector):
    """A sequence of numbers as the little-endian float32 BLOB embed() returns and
    sqlite-vec reads."""
    return struct.pack(f"<{len(vector)}f", *vector)


def serialize_int8(vector):
    """A sequence of integers in [-128, 127] as an int8 BLOB (use it with vec_int8())."""
    return struct.pack(f"{len(vector)}b", *vector)


def deserialize_float32(blob):
    """A float32 BLOB (embed(), vec_f32()) as a list of floats."""
    return list(struct.unpack(f"<{len(blob) // 4}f", blob))


def _batches(items, batch_size):
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def embed_many(conn, model, texts, batch_size=64, progress=None):
    """Yields one float32 BLOB per text (None for a None text), in order, computed by
    embed_each one batch of batch_size texts at a time; the results are embed()'s bits.

    progress, when given, is called after each batch as progress(done, total), total
    being len(texts) or None for an iterator. With tqdm:
        bar = tqdm(total=len(texts))
        for v in embed_many(conn, "minilm", texts, progress=lambda d, t: bar.update(d - bar.n)): ...
    """
    total = len(texts) if hasattr(texts, "__len__") else None
    done = 0
    for batch in _batches(texts, batch_size):
        rows = conn.execute("SELECT embedding FROM embed_each(?, ?) ORDER BY i",
                            (model, json.dumps(batch))).fetchall()
        done += len(batch)
        if progress is not None:
            progress(done, total)
        for (blob,) in rows:
            yield blob


def rerank_many(conn, model, query, docs, batch_size=64, progress=None):
    """Yields one cross-encoder score per document (None for a None document), in order,
    computed by rerank_each one batch at a time; progress(done, total) as embed_many."""
    total = len(docs) if hasattr(docs, "__len__") else None
    done = 0
    for batch in _batches(docs, batch_size):
        rows = conn.execute("SELECT score FROM rerank_each(?, ?, ?) ORDER BY i",
                            (model, query, json.dumps(batch))).fetchall()
        done += len(batch)
        if progress is not None:
            progress(done, total)
        for (score,) in rows:
            yield score
