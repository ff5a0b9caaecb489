#!/bin/sh
# test_shell.sh: the sqlite3 shell binding test: `.load` of the release semlite.so and
# the values the C tests assert, computed in SQL: the reference token ids and embeddings
# of ../shared/reference (121 texts, 1e-5 per component), the reference cross-encoder
# logits (56 pairs, 1e-5), sqlite-vec's distances, NULL handling and the exact error.
#
# Environment (set by `make test-bindings`): SEMLITE_SO, SEMLITE_SHARED, SEMLITE_MODELS,
# SEMLITE_VERSION. Prints "shell: N passed, N failed"; exits 1 on a failure.
# tests/dist/clean_env.sh also runs it with an empty environment where no BLAS is installed.
set -eu
ref="$SEMLITE_SHARED/reference"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# JSON Lines are read whole, one line a row: ASCII mode's unit separator never occurs in
# them and it does not treat quotes specially, as CSV mode would.
sqlite3 -batch -bail :memory: >"$out/got" 2>&1 <<SQL || true
.load $SEMLITE_SO
CREATE TABLE ref(line TEXT);
CREATE TABLE pairs(line TEXT);
.mode ascii
.separator "\037" "\n"
.import $ref/embed.jsonl ref
.import $ref/rerank.jsonl pairs
.mode list
.separator "=" "\n"
SELECT 'version', semlite_version();
SELECT 'build', json_extract(semlite_build_info(), '\$.build') || ' ' || typeof(json_extract(semlite_build_info(), '\$.isa.gemm_f32'));
SELECT 'load', semlite_model_load('minilm', '$SEMLITE_MODELS/minilm-l6-embed');
SELECT 'load ce', semlite_model_load('ce', '$SEMLITE_MODELS/minilm-l6-rerank');
SELECT 'tokenize', semlite_tokenize('minilm', 'Lumière salon');
SELECT 'embed rows', count(*) FROM ref;
SELECT 'ids differ', count(*) FROM ref WHERE semlite_tokenize('minilm', line ->> 'text') <> json(line -> 'ids');
CREATE TABLE got AS SELECT line ->> 'id' AS id, embed('minilm', line ->> 'text') AS v, line -> 'embedding' AS want FROM ref;
SELECT 'embed dims', group_concat(DISTINCT vec_length(v)) FROM got;
SELECT 'embed within 1e-5', sum(ok) || '/' || count(*) FROM (
  SELECT max(abs(a.value - b.value)) <= 1e-5 AS ok
    FROM got, json_each(vec_to_json(got.v)) a JOIN json_each(got.want) b ON a.key = b.key GROUP BY got.id);
SELECT 'cosine of embeddings', abs(vec_distance_cosine(x.v, y.v) - (1 - (
    SELECT sum(a.value * b.value) / sqrt(sum(a.value * a.value) * sum(b.value * b.value))
      FROM json_each(x.want) a JOIN json_each(y.want) b ON a.key = b.key))) <= 1e-5
  FROM got x, got y WHERE x.id = 'v-home-en-sentence' AND y.id = 'v-home-fr-lumiere';
SELECT 'vec_distance_l2', vec_distance_l2('[0, 0]', '[3, 4]');
SELECT 'vec_to_json', vec_to_json(vec_f32('[1, 2.5]'));
SELECT 'rerank rows', count(*) FROM pairs;
SELECT 'rerank within 1e-5', sum(abs(rerank('ce', line ->> 'query', line ->> 'doc') - (line ->> 'score')) <= 1e-5) FROM pairs;
SELECT 'NULL text', typeof(embed('minilm', NULL));
SELECT embed('nope', 'x');
SQL

cat >"$out/want" <<EOF
version=$SEMLITE_VERSION
build=loadable text
load=minilm
load ce=ce
tokenize=[101,11320,9856,2890,11090,102]
embed rows=121
ids differ=0
embed dims=384
embed within 1e-5=121/121
cosine of embeddings=1
vec_distance_l2=5.0
vec_to_json=[1.000000,2.500000]
rerank rows=56
rerank within 1e-5=56
NULL text=null
error=embed: no model named 'nope' (load one with semlite_model_load)
EOF

# One check a line: count the lines that match, show those that do not. The shell
# reports the error with the script's line number in front; the message is what counts.
sed -i 's/^Runtime error near line [0-9]*: /error=/' "$out/got"
passed=0 failed=0
exec 3<"$out/got"
while IFS= read -r want; do
  got=$(IFS= read -r line <&3 && printf '%s' "$line" || printf '(missing)')
  if [ "$got" = "$want" ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL want: $want"; echo "      got: $got"; fi
done <"$out/want"
extra=$(cat <&3)
[ -z "$extra" ] || { failed=$((failed + 1)); echo "FAIL unexpected output: $extra"; }
echo "shell: $passed passed, $failed failed"
[ "$failed" = 0 ]
