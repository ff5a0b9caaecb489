#!/bin/sh
# The README's demo: embed() inside the sqlite3 shell on the default model.
# Uses the real all-MiniLM-L6-v2 when models/all-MiniLM-L6-v2 holds it or it can be
# downloaded (models/fetch.sh checks every file's sha256); otherwise says so and runs
# the synthetic twin, whose vectors carry no meaning.
set -eu
cd "$(dirname "$0")/.."

model=models/all-MiniLM-L6-v2
if ! sh models/fetch.sh --check >/dev/null 2>&1; then
  echo "demo: fetching the real all-MiniLM-L6-v2 from Hugging Face ..."
  if ! sh models/fetch.sh >/dev/null 2>&1 && [ ! -f "$model/model.safetensors" ]; then
    model=""
  fi
fi
if [ -z "$model" ] || ! [ -f "$model/model.safetensors" ]; then
  echo "demo: the real model is not here and cannot be downloaded (offline?)."
  echo "demo: running the SYNTHETIC TWIN instead: same architecture, tokenizer and cost,"
  echo "      random weights, so the similarities below carry no meaning."
  make -s twins
  model=models/synthetic/minilm-l6-embed
fi

command -v sqlite3 >/dev/null || { echo "demo: needs the sqlite3 shell (apt-get install sqlite3)"; exit 1; }
echo "demo: model folder $model"
echo
sqlite3 -box :memory: <<SQL
.load ./semlite
SELECT semlite_model_load('minilm', '$model') AS loaded;
SELECT name, kind, dim, layers, params, dtype, round(load_ms, 1) AS load_ms FROM semlite_models;
SELECT semlite_tokenize('minilm', 'Lumière du salon') AS token_ids;
SELECT substr(vec_to_json(embed('minilm', 'motion sensor in the hallway')), 1, 60) || ' ...' AS embedding;
CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);
INSERT INTO notes(body) VALUES
  ('turn on the hallway light when motion is detected'),
  ('close the living room shutters at sunset'),
  ('the water valve closes when the flood sensor is wet'),
  ('dim the LED strip when the TV turns on');
-- Cosine similarity of unit vectors is their dot product. vec_distance_cosine arrives
-- with vector search; until then the demo computes it with json_each.
CREATE TABLE vecs AS SELECT body, vec_to_json(embed('minilm', body)) AS v FROM notes;
WITH q AS (SELECT vec_to_json(embed('minilm', 'motion in the corridor')) AS v)
SELECT vecs.body,
       round((SELECT sum(a.value * b.value) FROM json_each(q.v) a JOIN json_each(vecs.v) b USING (key)), 4) AS cosine
  FROM vecs, q ORDER BY cosine DESC;
SQL
