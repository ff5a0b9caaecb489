# SPDX-License-Identifier: MIT OR Apache-2.0
"""The Python package as a user gets it: run by tests/bindings/test_wheel.sh with a fresh
venv's python that installed dist/semlite-*.whl, from the repository root and as a script
read from stdin, so the current directory comes first on sys.path and a stray
./semlite.so there would shadow the package (ImportError: dynamic module does not
define module export function). Checks the package's helpers against the extension's
own results: load(), loadable_path() (the release file, byte for byte), the serializers
against vec_f32/vec_int8, embed_many/rerank_many (batches, order, NULLs, progress)
against embed()/rerank(), the sqlite-utils plugin hook and `python -m semlite`.

Environment: SEMLITE_SO (dist/semlite.so), SEMLITE_MODELS, SEMLITE_VERSION.
Prints "package: N passed, N failed"; exits 1 on a failure."""
import importlib.metadata
import os
import sqlite3
import subprocess
import sys

import semlite
import semlite.sqlite_utils_plugin

env = os.environ
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}: {detail!r}")


check("import from the venv", semlite.__file__.startswith(sys.prefix + os.sep), semlite.__file__)
check("version", semlite.__version__ == env["SEMLITE_VERSION"], semlite.__version__)
so = semlite.loadable_path()
check("loadable_path", so == os.path.join(os.path.dirname(semlite.__file__), "semlite.so"), so)
with open(so, "rb") as a, open(env["SEMLITE_SO"], "rb") as b:
    check("same file as the release", a.read() == b.read())
meta = importlib.metadata.metadata("semlite")
check("licence", meta["License"] == "MIT OR Apache-2.0", meta["License"])
eps = [e for e in importlib.metadata.entry_points(group="sqlite_utils") if e.name == "semlite"]
check("sqlite_utils entry point", [e.value for e in eps] == ["semlite.sqlite_utils_plugin"], eps)
out = subprocess.run([sys.executable, "-m", "semlite"], capture_output=True, text=True)
check("python -m semlite", out.returncode == 0 and out.stdout == so + "\n", out)

db = sqlite3.connect(":memory:")
semlite.load(db)
one = lambda sql, *args: db.execute(sql, args).fetchone()[0]
check("loaded", one("SELECT semlite_version()") == env["SEMLITE_VERSION"])
try:
    db.load_extension(so)
    check("loading switched off after load()", False)
except sqlite3.OperationalError as e:
    check("loading switched off after load()", "not authorized" in str(e), str(e))

check("serialize_float32", semlite.serialize_float32([1, -2.5, 3e-3]) == one("SELECT vec_f32('[1,-2.5,3e-3]')"))
check("serialize_int8", semlite.serialize_int8([1, -128, 127]) == one("SELECT vec_int8('[1,-128,127]')"))
check("deserialize_float32", semlite.deserialize_float32(semlite.serialize_float32([0.5, -1.0])) == [0.5, -1.0])
check("serialized vector in SQL", one("SELECT vec_to_json(?)", semlite.serialize_float32([0.5, -1.0])) == "[0.500000,-1.000000]",
      one("SELECT vec_to_json(?)", semlite.serialize_float32([0.5, -1.0])))

models = env["SEMLITE_MODELS"]
one("SELECT semlite_model_load('minilm', ?)", f"{models}/minilm-l6-embed")
one("SELECT semlite_model_load('ce', ?)", f"{models}/minilm-l6-rerank")
texts = [f"text number {i} about the hallway light" for i in range(9)] + [None]
calls = []
blobs = list(semlite.embed_many(db, "minilm", texts, batch_size=4, progress=lambda d, t: calls.append((d, t))))
check("embed_many count", len(blobs) == 10, len(blobs))
check("embed_many = embed()", all(b == one("SELECT embed('minilm', ?)", t) for b, t in zip(blobs[:9], texts)))
check("embed_many NULL", blobs[9] is None, blobs[9])
check("embed_many progress", calls == [(4, 10), (8, 10), (10, 10)], calls)
calls = []
gen = list(semlite.embed_many(db, "minilm", (t for t in texts[:3]), batch_size=2, progress=lambda d, t: calls.append((d, t))))
check("embed_many iterator", gen == blobs[:3] and calls == [(2, None), (3, None)], calls)
check("embed_many lazy", next(semlite.embed_many(db, "minilm", iter(texts), batch_size=1)) == blobs[0])
try:
    next(semlite.embed_many(db, "nope", ["x"]))
    check("embed_many error", False)
except sqlite3.OperationalError as e:
    check("embed_many error", "no model named 'nope'" in str(e), str(e))
docs = ["Set the hallway dimmer to 30%", "close the shutters", None, "dim the light"]
calls = []
scores = list(semlite.rerank_many(db, "ce", "how do I dim the hallway light", docs, batch_size=3,
                                  progress=lambda d, t: calls.append((d, t))))
check("rerank_many = rerank()", [s for i, s in enumerate(scores) if i != 2] ==
      [one("SELECT rerank('ce', 'how do I dim the hallway light', ?)", d) for d in docs if d is not None], scores)
check("rerank_many NULL", scores[2] is None, scores)
check("rerank_many progress", calls == [(3, 4), (4, 4)], calls)
db.close()

db = sqlite3.connect(":memory:")
semlite.sqlite_utils_plugin.prepare_connection(db)
check("plugin hook loads", db.execute("SELECT vec_length(embed('minilm', 'x'))").fetchone()[0] == 384)
db.close()

print(f"package: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
