// reference.js: what the Node tests share: the C tests' expected values, read from
// ../shared/reference, and the checks every Node test runs on a better-sqlite3
// connection that has semlite loaded (test_node.js: the .so by path; test_npm.js: the
// npm package's getLoadablePath()).
'use strict';
const fs = require('fs');
const path = require('path');

const TOL = 1e-5; // the C tests' tolerance (tests/test_embed.c, tests/test_rerank.c)
const env = process.env;

function reference(name) {
  const text = fs.readFileSync(path.join(env.SEMLITE_SHARED, 'reference', name), 'utf8');
  return text.split('\n').filter((l) => l).map((l) => JSON.parse(l));
}

// Runs the checks; returns [passed, failed] and prints each failure.
function runChecks(db, lang) {
  let passed = 0, failed = 0;
  const check = (name, ok, detail) => {
    if (ok) passed++;
    else { failed++; console.log(`FAIL ${name}: ${JSON.stringify(detail)}`); }
  };
  const one = (sql, ...args) => db.prepare(sql).pluck().get(...args);

  check('version', one('SELECT semlite_version()') === env.SEMLITE_VERSION, one('SELECT semlite_version()'));
  const info = JSON.parse(one('SELECT semlite_build_info()'));
  check('build_info', info.build === 'loadable' && 'gemm_f32' in info.isa &&
        info.version === env.SEMLITE_VERSION && info.isa.compiled.includes(info.isa.selected), info);

  const models = env.SEMLITE_MODELS;
  check('load', one("SELECT semlite_model_load('minilm', ?)", `${models}/minilm-l6-embed`) === 'minilm');
  check('load ce', one("SELECT semlite_model_load('ce', ?)", `${models}/minilm-l6-rerank`) === 'ce');
  check('tokenize', one("SELECT semlite_tokenize('minilm', 'Lumière salon')") === '[101,11320,9856,2890,11090,102]');

  const rows = reference('embed.jsonl');
  check('embed rows', rows.length === 121, rows.length);
  const vectors = {};
  let worst = 0;
  for (const row of rows) {
    const ids = JSON.parse(one("SELECT semlite_tokenize('minilm', ?)", row.text));
    check(`ids ${row.id}`, JSON.stringify(ids) === JSON.stringify(row.ids), ids);
    const blob = one("SELECT embed('minilm', ?)", row.text);
    const got = new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.length));
    let err = 0;
    got.forEach((g, i) => { err = Math.max(err, Math.abs(g - row.embedding[i])); });
    check(`embed ${row.id}`, got.length === 384 && err <= TOL, { n: got.length, err });
    worst = Math.max(worst, err);
    vectors[row.id] = [blob, row.embedding];
  }
  console.log(`${lang}: embed max abs error ${worst.toPrecision(3)} over ${rows.length} reference texts`);

  // A Buffer goes back in as a parameter: distances match the reference vectors'.
  const [[a, ra], [b, rb]] = [vectors['v-home-en-sentence'], vectors['v-home-fr-lumiere']];
  let dot = 0, na = 0, nb = 0;
  ra.forEach((x, i) => { dot += x * rb[i]; na += x * x; nb += rb[i] * rb[i]; });
  const want = 1 - dot / Math.sqrt(na * nb);
  const got = one('SELECT vec_distance_cosine(?, ?)', a, b);
  check('cosine of embeddings', Math.abs(got - want) <= TOL, [got, want]);
  check('vec_distance_l2', one("SELECT vec_distance_l2('[0, 0]', '[3, 4]')") === 5);
  check('vec_to_json', one("SELECT vec_to_json(vec_f32('[1, 2.5]'))") === '[1.000000,2.500000]');

  const pairs = reference('rerank.jsonl');
  check('rerank rows', pairs.length === 56, pairs.length);
  for (const p of pairs) {
    const score = one("SELECT rerank('ce', ?, ?)", p.query, p.doc);
    check(`rerank ${p.id}`, Math.abs(score - p.score) <= TOL, [score, p.score]);
  }

  check('NULL text', one("SELECT embed('minilm', NULL)") === null);
  let message = 'no error raised';
  try { one("SELECT embed('nope', 'x')"); } catch (e) { message = e.message; }
  check('error', message === "embed: no model named 'nope' (load one with semlite_model_load)", message);
  return [passed, failed];
}

function report(lang, [passed, failed]) {
  console.log(`${lang}: ${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

module.exports = { runChecks, report };
