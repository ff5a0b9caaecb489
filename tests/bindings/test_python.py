#!/usr/bin/env python3
"""Python binding test: the standard library's sqlite3 loads the release semlite.so
(enable_load_extension + load_extension) and gets the values the C tests assert:
the Hugging Face token ids and float64 reference embeddings of ../shared/reference
(121 texts, 1e-5 per component), the reference cross-encoder logits (56 pairs, 1e-5),
sqlite-vec's distances, NULL handling and the exact error messages.

Environment (set by `make test-bindings`): SEMLITE_SO, SEMLITE_SHARED, SEMLITE_MODELS,
SEMLITE_VERSION. Prints "python: N passed, N failed"; exits 1 on a failure.
"""
import json
import math
import os
import sqlite3
import struct
import sys

TOL = 1e-5  # the C tests' tolerance (tests/test_embed.c, tests/test_rerank.c)
env = os.environ
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}: {detail}")


def reference(name):
    with open(os.path.join(env["SEMLITE_SHARED"], "reference", name), encoding="utf-8") as f:
        return [json.loads(line) for line in f.read().split("\n") if line]


def floats(blob):
    return struct.unpack(f"<{len(blob) // 4}f", blob)


db = sqlite3.connect(":memory:")
db.enable_load_extension(True)
db.load_extension(env["SEMLITE_SO"])
db.enable_load_extension(False)
one = lambda sql, *args: db.execute(sql, args).fetchone()[0]

check("version", one("SELECT semlite_version()") == env["SEMLITE_VERSION"], one("SELECT semlite_version()"))
info = json.loads(one("SELECT semlite_build_info()"))
check("build_info", info["build"] == "loadable" and "gemm_f32" in info["isa"]
      and info["version"] == env["SEMLITE_VERSION"] and info["isa"]["selected"] in info["isa"]["compiled"], info)

models = env["SEMLITE_MODELS"]
check("load", one("SELECT semlite_model_load('minilm', ?)", f"{models}/minilm-l6-embed") == "minilm")
check("load ce", one("SELECT semlite_model_load('ce', ?)", f"{models}/minilm-l6-rerank") == "ce")
check("tokenize", one("SELECT semlite_tokenize('minilm', 'Lumière salon')") == "[101,11320,9856,2890,11090,102]")

rows = reference("embed.jsonl")
check("embed rows", len(rows) == 121, len(rows))
worst = 0.0
vectors = {}
for row in rows:
    ids = json.loads(one("SELECT semlite_tokenize('minilm', ?)", row["text"]))
    check(f"ids {row['id']}", ids == row["ids"], ids)
    blob = one("SELECT embed('minilm', ?)", row["text"])
    got = floats(blob)
    err = max(abs(g - e) for g, e in zip(got, row["embedding"]))
    check(f"embed {row['id']}", len(got) == 384 and err <= TOL, f"{len(got)} floats, max abs error {err:.3g}")
    worst = max(worst, err)
    vectors[row["id"]] = (blob, row["embedding"])
print(f"python: embed max abs error {worst:.3g} over {len(rows)} reference texts")

# A BLOB goes back in as a parameter: distances from semlite match the reference vectors'.
(a, ra), (b, rb) = vectors["v-home-en-sentence"], vectors["v-home-fr-lumiere"]
cos = sum(x * y for x, y in zip(ra, rb)) / math.sqrt(sum(x * x for x in ra) * sum(y * y for y in rb))
got = one("SELECT vec_distance_cosine(?, ?)", a, b)
check("cosine of embeddings", abs(got - (1 - cos)) <= TOL, f"{got} vs {1 - cos}")
check("vec_distance_l2", one("SELECT vec_distance_l2('[0, 0]', '[3, 4]')") == 5.0)
check("vec_to_json", one("SELECT vec_to_json(vec_f32('[1, 2.5]'))") == "[1.000000,2.500000]",
      one("SELECT vec_to_json(vec_f32('[1, 2.5]'))"))

pairs = reference("rerank.jsonl")
check("rerank rows", len(pairs) == 56, len(pairs))
for p in pairs:
    got = one("SELECT rerank('ce', ?, ?)", p["query"], p["doc"])
    check(f"rerank {p['id']}", abs(got - p["score"]) <= TOL, f"{got} vs {p['score']}")

check("NULL text", one("SELECT embed('minilm', NULL)") is None)
try:
    one("SELECT embed('nope', 'x')")
    check("error", False, "no error raised")
except sqlite3.OperationalError as e:
    check("error", str(e) == "embed: no model named 'nope' (load one with semlite_model_load)", str(e))

print(f"python: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
