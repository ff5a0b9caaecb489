#!/bin/sh
# run.sh: make test-dqlite's driver (docs/deployment.md, "dqlite: the tested path"). Starts three
# nodes (node.c) on free ports of 127.0.0.1 in a temporary folder, drives them with the
# wire-protocol client (client.c) and checks, in order:
#
#   join            node 1 bootstraps, ADD + ASSIGN make 2 and 3 voters, CLUSTER lists three
#   embed_on_insert a semlite_vec table filled by embed-on-insert through EXEC, 200 rows in
#                   statements of 50; one statement of replicated_max_rows (64) rows, and
#                   the refusal of 65 with the limit's name (timed)
#   cache_reads     the inference cache enabled in the replicated database (a write sent as
#                   EXEC), then used by reads (QUERY: embed(), a k-NN MATCH embed()) that
#                   write nothing and leave the leader up; writers refused in a read; a
#                   local (attached, in-memory) cache filled by reads
#   synergy         semlite_ha_import of a home from $SEMLITE_SHARED/data/homes (EXEC),
#                   synergy_links with both models in a read
#   reads_never_write every semlite function that touches a database, sent as a read:
#                   no byte changes, writers refuse, the leader stays up
#   vec_check       semlite_vec_check
#   failover        kill -9 of the leader; a new leader answers within 10 s (timed)
#   identical       every table and three k-NN results, byte for byte, on the new leader
#   writes_after    inserts go on there
#   restart         the killed node comes back with its folder and catches up
#   transfer        TRANSFER gives it the leadership back; the same bytes there; writes go on
#
# Prints "ok dqlite.NAME (ms)" or "FAIL" lines and "N passed, N failed" like tests/main.c;
# exits non-zero on any failure. Every process it starts is killed on exit (trap).
set -u
BIN=${1:?usage: run.sh BUILD_DIR}
CLIENT=$BIN/client
MODELS=${SEMLITE_MODELS:?}
SHARED=${SEMLITE_SHARED:?}
HOME_JSON=$SHARED/data/homes/salamandar-fr-small.json
DIR=$(mktemp -d /tmp/semlite-dqlite.XXXXXX)
PASSED=0
FAILED=0

# The models every node loads at its first connection: the same on each, or embed-on-insert
# fails on a new leader after a failover.
export SEMLITE_PRELOAD="minilm=$MODELS/minilm-l6-embed;ce=$MODELS/minilm-l6-rerank"

cleanup() {
  for i in 1 2 3; do
    [ -f "$DIR/n$i.pid" ] && kill -9 "$(cat "$DIR/n$i.pid")" 2>/dev/null
  done
  wait 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

now_ms() { date +%s%3N; }

# ---- results ----

TEST=""
TEST_START=0
TEST_FAILS=0
begin() {
  TEST=$1
  TEST_START=$(now_ms)
  TEST_FAILS=0
}
end() {
  if [ "$TEST_FAILS" -eq 0 ]; then
    echo "ok dqlite.$TEST ($(( $(now_ms) - TEST_START )) ms)"
    PASSED=$((PASSED + 1))
  else
    echo "not ok dqlite.$TEST ($TEST_FAILS failures)"
    FAILED=$((FAILED + 1))
  fi
}
# check WHAT GOT EXPECTED
check() {
  if [ "$2" != "$3" ]; then
    printf '  FAIL dqlite.%s: %s -> "%s", expected "%s"\n' "$TEST" "$1" "$2" "$3"
    TEST_FAILS=$((TEST_FAILS + 1))
  fi
}

# ---- nodes and requests ----

for i in 1 2 3; do
  eval "PORT$i=$($CLIENT free-port)"
  mkdir -p "$DIR/n$i"
done
addr() { eval "echo 127.0.0.1:\$PORT$1"; }

start_node() {
  "$BIN/node" "$1" "$(addr "$1")" "$DIR/n$1" >>"$DIR/n$1.log" 2>&1 &
  echo $! >"$DIR/n$1.pid"
}
alive() { kill -0 "$(cat "$DIR/n$1.pid")" 2>/dev/null && echo up || echo down; }

# Requests (client.c's lines on stdin) to node $1, database "semlite" opened when $2 is "db".
send() {
  if [ "${2:-}" = db ]; then timeout 60 "$CLIENT" "$(addr "$1")" semlite; else timeout 20 "$CLIENT" "$(addr "$1")"; fi
}
# The leader node $1 knows (0: none).
leader_of() { echo leader | send "$1" 2>/dev/null | sed -n 's/^leader \([0-9]*\) .*/\1/p'; }
# One statement on the leader $LEADER: q (QUERY) and x (EXEC), with an optional file parameter.
q() { printf 'query %s\n' "$1" | send "$LEADER" db; }
x() { printf 'exec %s\n' "$1" | send "$LEADER" db; }
qp() { printf 'param %s\nquery %s\n' "$2" "$1" | send "$LEADER" db; }
xp() { printf 'param %s\nexec %s\n' "$2" "$1" | send "$LEADER" db; }

# Waits until every node in "$@" names the same leader, one of them; sets LEADER. 0 or 1.
await_leader() {
  deadline=$(( $(now_ms) + ${WAIT_MS:-10000} ))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    first=$(leader_of "$1")
    same=1
    for n in "$@"; do [ "$(leader_of "$n")" = "$first" ] || same=0; done
    case " $* " in *" $first "*) [ $same = 1 ] && { LEADER=$first; return 0; } ;; esac
    sleep 0.1
  done
  return 1
}

# Every table of the database, then three k-NN results: what must be byte-identical
# wherever the database is read.
dump() {
  for t in $(q "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"); do
    echo "== $t"
    q "SELECT * FROM \"$t\""
  done
  for text in 'heating in the kitchen' 'water the plants' 'note 42'; do
    echo "== knn $text"
    q "SELECT rowid, distance FROM notes WHERE v MATCH embed('minilm', '$text') AND k = 10"
  done
}

# An INSERT of notes $1..$2 (embed-on-insert).
insert_notes() {
  i=$1
  values=""
  while [ "$i" -le "$2" ]; do
    values="$values${values:+, }('note $i about the heating, the lights and the plants of room $((i % 7))')"
    i=$((i + 1))
  done
  x "INSERT INTO notes(body) VALUES $values"
}

# ---- the run ----

begin join
for i in 1 2 3; do start_node $i; done
sleep 0.3
WAIT_MS=10000 await_leader 1 || check "node 1 leads" "no leader" "1"
LEADER=1
got=$(printf 'add 2 %s\nassign 2 0\nadd 3 %s\nassign 3 0\n' "$(addr 2)" "$(addr 3)" | send 1)
check "add, assign" "$(echo $got)" "ok ok ok ok"
check "cluster" "$(echo cluster | send 1 | tr '\n' ';')" "1 $(addr 1) 0;2 $(addr 2) 0;3 $(addr 3) 0;"
await_leader 1 2 3 || check "one leader" "none" "all agree"
# The first write after a join can meet a leader still catching the new voters up.
deadline=$(( $(now_ms) + 10000 ))
until [ "$(x 'CREATE TABLE IF NOT EXISTS log(x)')" = "ok 0 0" ] || [ "$(now_ms)" -gt "$deadline" ]; do
  sleep 0.2
  await_leader 1 2 3
done
check "first write" "$(q "SELECT count(*) FROM sqlite_schema WHERE name = 'log'")" "1"
end

begin embed_on_insert
got=$(x "CREATE VIRTUAL TABLE notes USING semlite_vec(body TEXT, v float[384], model=minilm, embed_from=body)")
check "create" "${got%% *}" "ok"
for from in 1 51 101 151; do
  t0=$(now_ms)
  check "insert from $from" "$(insert_notes $from $((from + 49)))" "ok $((from + 49)) 50"
  echo "  50 rows embedded on insert in $(( $(now_ms) - t0 )) ms"
done
t0=$(now_ms)
check "64 rows" "$(insert_notes 201 264)" "ok 264 64"
echo "  64 rows (replicated_max_rows) embedded on insert in $(( $(now_ms) - t0 )) ms"
check "65 rows" "$(insert_notes 265 329)" "error 1: notes: one statement embeds at most 64 rows on a replicated database (VFS 'dqlite-1'): the replicated_max_rows limit; insert in smaller statements or raise it in semlite_limits"
check "rows" "$(q 'SELECT count(*), count(v) FROM notes')" "$(printf '264\t264')"
check "delete" "$(x 'DELETE FROM notes WHERE rowid > 200')" "ok 0 64"
check "leader kept" "$(leader_of "$LEADER")" "$LEADER"
end

begin cache_reads
check "enable (EXEC)" "$(x 'INSERT INTO log SELECT semlite_cache_enable()')" "ok 1 1"
REFUSAL="a read statement must not write it: run it inside a write statement sent as EXEC (INSERT INTO t SELECT ...)"
# Each connection enables the cache for itself; a read may, as the cache is there already.
got=$(printf '%s\n' "query SELECT semlite_cache_enable()" "query SELECT length(embed('minilm', 'cached text'))" \
  "query SELECT length(embed('minilm', 'cached text'))" \
  "query SELECT rowid FROM notes WHERE v MATCH embed('minilm', 'note 7 about the heating, the lights and the plants of room 0') AND k = 1" \
  "query SELECT count(*) FROM semlite_cache" \
  "query SELECT hits, misses, write_failures FROM semlite_cache_stats WHERE op = 'embed'" \
  "query SELECT semlite_cache_clear_expired()" | send "$LEADER" db | tr '\t\n' ' ;')
check "reads" "$got" "1;1536;1536;7;0;1 2 2;error 1: semlite_cache_clear_expired: database 'main' is replicated (VFS 'dqlite-1') and $REFUSAL;"
check "import in a read" "$(qp 'SELECT semlite_ha_import(?)' "$HOME_JSON")" "error 1: semlite_ha_import: database 'main' is replicated (VFS 'dqlite-1') and $REFUSAL"
got=$(printf '%s\n' "exec ATTACH ':memory:' AS localcache" "query SELECT semlite_cache_enable('localcache')" \
  "query SELECT length(embed('minilm', 'local text'))" "query SELECT count(*) FROM localcache.semlite_cache" |
  send "$LEADER" db | tr '\n' ';')
check "local cache" "$got" "ok 0 0;1;1536;1;"
check "leader up" "$(alive "$LEADER") $(leader_of "$LEADER")" "up $LEADER"
check "write after reads" "$(x "INSERT INTO log VALUES ('after reads')")" "ok 2 1"
end

begin synergy
check "import (EXEC)" "$(xp 'INSERT INTO log SELECT semlite_ha_import(?)' "$HOME_JSON")" "ok 3 1"
check "import result" "$(q 'SELECT x FROM log WHERE rowid = 3')" '{"areas":5,"devices":9,"entities":38,"automations":1}'
x "UPDATE synergy_config SET value = 'minilm' WHERE key = 'embed_model'" >/dev/null
x "UPDATE synergy_config SET value = 'ce' WHERE key = 'rerank_model'" >/dev/null
check "links (QUERY)" "$(q 'SELECT count(*), count(embedding), count(rerank) > 0 FROM synergy_links')" "$(printf '12\t12\t1')"
check "no steps written by a read" "$(q 'SELECT (SELECT count(*) FROM synergy_descriptors) + (SELECT count(*) FROM synergy_hop_scores)')" "0"
check "leader up" "$(alive "$LEADER") $(leader_of "$LEADER")" "up $LEADER"
end

begin reads_never_write
# Every semlite function that touches a database, sent as a read on a connection with the
# cache enabled: nothing changes (the dump is byte-identical) and the leader stays up.
dump >"$DIR/before_reads"
got=$(printf '%s\n' "query SELECT semlite_cache_enable()" "query SELECT semlite_cache_clock(1)" \
  "query SELECT length(embed('minilm', 'another text'))" "query SELECT round(rerank('ce', 'lights', 'turn on the lights'), 3) IS NOT NULL" \
  "query SELECT count(*) FROM embed_each('minilm', '[\"one\", \"two\"]')" \
  "query SELECT count(*) FROM rerank_each('ce', 'q', '[\"one\", \"two\"]')" \
  "query SELECT count(*) FROM synergy_paths WHERE max_depth = 2" "query SELECT semlite_vec_check('notes')" \
  "query SELECT count(*) FROM notes WHERE v MATCH embed('minilm', 'yet another text') AND k = 3" \
  "query SELECT semlite_vec_migrate('notes')" "query SELECT semlite_cache_clear_expired()" \
  "query SELECT semlite_cache_disable()" "param $HOME_JSON" "query SELECT semlite_ha_import(?)" |
  send "$LEADER" db | sed 's/^error 1: \([a-z_]*\): .*a read statement must not write it.*/refused \1/' | tr '\n' ';')
check "reads" "$got" "1;1;1536;1;2;2;12;ok;3;refused semlite_vec_migrate;refused semlite_cache_clear_expired;refused semlite_cache_disable;refused semlite_ha_import;"
dump >"$DIR/after_reads"
check "nothing changed" "$(cmp -s "$DIR/before_reads" "$DIR/after_reads" && echo same)" "same"
check "leader up" "$(alive "$LEADER") $(leader_of "$LEADER")" "up $LEADER"
check "write after" "$(x "INSERT INTO log VALUES ('after every read')")" "ok 4 1"
end

begin vec_check
check "check" "$(q "SELECT semlite_vec_check('notes')")" "ok"
end

dump >"$DIR/before"

begin failover
await_leader 1 2 3 || check "one leader" "none" "all agree"
OLD=$LEADER
kill -9 "$(cat "$DIR/n$OLD.pid")"
t0=$(now_ms)
others=""
for i in 1 2 3; do [ $i = "$OLD" ] || others="$others $i"; done
# shellcheck disable=SC2086
WAIT_MS=10000 await_leader $others || check "a new leader" "none" "one of$others"
until [ "$(q 'SELECT count(*) FROM notes' 2>/dev/null)" = 200 ] || [ $(( $(now_ms) - t0 )) -gt 10000 ]; do sleep 0.1; done
ELECTED=$(( $(now_ms) - t0 ))
check "new leader" "$([ "$LEADER" != "$OLD" ] && echo other)" "other"
check "answers within 10 s" "$([ $ELECTED -le 10000 ] && echo yes)" "yes"
echo "  node $OLD killed; node $LEADER leads and answers $ELECTED ms later"
end

begin identical
dump >"$DIR/after"
check "tables and k-NN" "$(cmp -s "$DIR/before" "$DIR/after" && echo same)" "same"
check "bytes" "$(sha256sum <"$DIR/after" | cut -c1-16)" "$(sha256sum <"$DIR/before" | cut -c1-16)"
check "dump not empty" "$([ "$(grep -c '^== ' "$DIR/before")" -gt 10 ] && echo yes)" "yes"
end

begin writes_after
check "insert" "$(insert_notes 201 250)" "ok 250 50"
check "rows" "$(q 'SELECT count(*), count(v) FROM notes')" "$(printf '250\t250')"
check "check" "$(q "SELECT semlite_vec_check('notes')")" "ok"
end

begin restart
start_node "$OLD"
NEW=$LEADER
WAIT_MS=15000 await_leader 1 2 3 || check "rejoined" "no agreement" "all name $NEW"
check "leader unchanged" "$LEADER" "$NEW"
end

begin transfer
dump >"$DIR/before_transfer"
check "transfer" "$(echo "transfer $OLD" | send "$LEADER")" "ok"
WAIT_MS=10000 await_leader 1 2 3
check "leader" "$LEADER" "$OLD"
dump >"$DIR/after_transfer"
check "same bytes" "$(cmp -s "$DIR/before_transfer" "$DIR/after_transfer" && echo same)" "same"
check "insert" "$(insert_notes 251 300)" "ok 300 50"
check "rows" "$(q 'SELECT count(*), count(v) FROM notes')" "$(printf '300\t300')"
end

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
