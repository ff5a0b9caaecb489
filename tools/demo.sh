#!/bin/sh
# The README's demo (`make demo`): automation suggestions for a real smart home, in the
# sqlite3 shell with build/release/semlite.so loaded. Imports a published Home Assistant home from
# ../shared/data/homes (SOURCES.md) as HA keeps it: its .storage registries and an
# automations.yaml holding its real automations (../shared keeps both as one JSON file, so
# bench/ha_import.py --write-only writes them back out), loads the embedding model and the cross-encoder,
# and prints the best chains of devices that no automation of the home links yet; then
# embeds every entity name into a semlite_vec table, with progress lines on stderr.
#
# The models are the real all-MiniLM-L6-v2 and ms-marco-MiniLM-L-6-v2 when models/ holds
# them (`sh models/fetch.sh` downloads and checks them); otherwise the SYNTHETIC TWINS
# (models/README.md): the real architecture and cost with random weights; their two
# signals hardly vary over the pairs, so they earn no weight and the ranking rests on the
# capability rules, areas and names (docs/synergy.md, "A model signal earns its weight").
#
#   sh tools/demo.sh [home]     default: giom-fr-large (208 devices, 1,745 entities, 85 automations)
set -eu
cd "$(dirname "$0")/.."

shared=${SHARED:-../shared}
home=${1:-giom-fr-large}
[ -f "$shared/data/homes/$home.json" ] || { echo "demo: no home $home in $shared/data/homes (the shared fixtures live in ../shared)"; exit 1; }
command -v sqlite3 >/dev/null || { echo "demo: needs the sqlite3 shell (apt-get install sqlite3)"; exit 1; }
make -s twins build/release/semlite.so
ha=build/demo-ha
python3 bench/ha_import.py --write-only --home "$home" --shared "$shared" --out "$ha"

if sh models/fetch.sh --check >/dev/null 2>&1; then
  embed=models/all-MiniLM-L6-v2 rerank=models/ms-marco-MiniLM-L-6-v2
  echo "demo: models: the real all-MiniLM-L6-v2 and ms-marco-MiniLM-L-6-v2"
else
  embed=models/synthetic/minilm-l6-embed rerank=models/synthetic/minilm-l6-rerank
  echo "demo: models: the SYNTHETIC TWINS (the real ones are not in models/; sh models/fetch.sh gets them)."
  echo "      Random weights: their signals do not separate pairs, so they earn no weight (see signals)."
fi
echo "demo: home $home: $ha/.storage/core.{area,device,entity}_registry and $ha/automations.yaml"
echo
sqlite3 :memory: <<SQL
.load ./build/release/semlite
.headers on
.mode box
.timer off
SELECT semlite_ha_import(readfile('$ha/.storage/core.area_registry'), readfile('$ha/.storage/core.device_registry'),
                         readfile('$ha/.storage/core.entity_registry'), readfile('$ha/automations.yaml')) AS imported;
SELECT semlite_model_load('minilm', '$embed') AS embedding_model,
       semlite_model_load('ms-marco', '$rerank') AS cross_encoder;

-- Names instead of ids: a path is a JSON array of entity ids ("device:<id>" for remotes).
CREATE TEMP VIEW label(id, name) AS
  SELECT entity_id, name FROM synergy_entities
  UNION ALL SELECT 'device:' || device_id, name || ' (remote)' FROM synergy_devices;

.print
.print Top 15 new suggestions (chains of 2 to 3 devices no automation of the home covers):
.timer on
CREATE TEMP TABLE top AS
  SELECT score, depth, path, explanation, yaml, signals FROM synergy_paths
   WHERE max_depth = 3 AND min_score = 0.4 AND automated = 0 ORDER BY score DESC LIMIT 15;
.timer off
SELECT printf('%.3f', score) AS score,
       (SELECT group_concat(coalesce(l.name, j.value), '  ->  ') FROM json_each(top.path) j
          LEFT JOIN label l ON l.id = j.value) AS suggestion
  FROM top ORDER BY score DESC;

.print
.print The best three-device chains (multi-hop: the trigger drives the first action, which drives the next):
SELECT printf('%.3f', score) AS score,
       (SELECT group_concat(coalesce(l.name, j.value), '  ->  ') FROM json_each(p.path) j
          LEFT JOIN label l ON l.id = j.value) AS suggestion
  FROM synergy_paths p WHERE max_depth = 3 AND depth = 3 AND automated = 0 ORDER BY score DESC LIMIT 5;

.print
.print Why the best one, in words, the signals that scored it, and the automation to paste into automations.yaml:
.mode list
.headers off
SELECT explanation FROM top ORDER BY score DESC LIMIT 1;
SELECT 'signals: ' || signals FROM top ORDER BY score DESC LIMIT 1;
SELECT yaml FROM top ORDER BY score DESC LIMIT 1;
.mode box
.headers on

.print
.print The same pipeline on a warm cache (descriptor embeddings and hop scores are stored):
.timer on
SELECT count(*) AS suggestions, max(depth) AS deepest FROM synergy_paths WHERE max_depth = 5;
.timer off

.print
.print Pairs the home already automates, as the hops rank them (a hub would hide these):
SELECT printf('%.3f', score) AS score, t.name AS "trigger", a.name AS action
  FROM synergy_links s JOIN label t ON t.id = s.trigger_entity JOIN label a ON a.id = s.action_entity
 WHERE s.automated = 1 ORDER BY s.score DESC LIMIT 8;

.print
.print Every entity name into a vector table, embedded on insert (progress lines from semlite_progress_report):
.output /dev/null
SELECT semlite_progress_report(1000);
.output stdout
CREATE VIRTUAL TABLE names USING semlite_vec(embedding float[384] distance_metric=cosine, +name text,
  model=minilm, embed_from=name);
.timer on
INSERT INTO names(rowid, name) SELECT rowid, name FROM synergy_entities;
.timer off
.print "The names nearest to 'motion in the hallway' (meaningful with the real model only):"
SELECT printf('%.3f', distance) AS distance, name FROM names
 WHERE embedding MATCH embed('minilm', 'motion in the hallway') AND k = 5;
SQL
