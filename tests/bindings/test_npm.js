// test_npm.js APP_DIR: the npm package as a user gets it. APP_DIR is a scratch project
// that installed the packed tarball; `require('semlite')` resolves from there, its
// getLoadablePath() must point into APP_DIR/node_modules/semlite at a byte-for-byte copy of
// the release file, load(db) must load it into better-sqlite3, and the loaded extension
// must report the package's version and pass the same checks as test_node.js.
// Prints "npm: N passed, N failed"; exits 1 on a failure.
'use strict';
const fs = require('fs');
const path = require('path');
const Database = require('better-sqlite3');
const { runChecks, report } = require('./reference.js');

const app = process.argv[2];
const semlite = require(require.resolve('semlite', { paths: [app] }));
const pkg = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', 'semlite', 'package.json'), 'utf8'));
let passed = 0, failed = 0;
const check = (name, ok, detail) => {
  if (ok) passed++;
  else { failed++; console.log(`FAIL ${name}: ${JSON.stringify(detail)}`); }
};

const so = semlite.getLoadablePath();
check('path', so === path.join(app, 'node_modules', 'semlite', 'semlite.so'), so);
check('same file', fs.readFileSync(so).equals(fs.readFileSync(process.env.SEMLITE_SO)), so);
check('package version', pkg.version === process.env.SEMLITE_VERSION, pkg.version);

check('licence', pkg.license === 'MIT OR Apache-2.0', pkg.license);
check('licence files', ['LICENSE-MIT', 'LICENSE-APACHE'].every((f) => fs.existsSync(path.join(app, 'node_modules', 'semlite', f))));

const db = new Database(':memory:');
semlite.load(db);
const one = (sql, ...args) => db.prepare(sql).pluck().get(...args);
check('serializeFloat32', semlite.serializeFloat32([1, -2.5, 3e-3]).equals(one("SELECT vec_f32('[1,-2.5,3e-3]')")));
check('serializeInt8', semlite.serializeInt8([1, -128, 127]).equals(one("SELECT vec_int8('[1,-128,127]')")));
const [p, f] = runChecks(db, 'npm');
// runChecks loaded 'minilm' and 'ce' (reference.js).
const texts = ['hallway light', 'kitchen sensor', null, 'bedroom lamp', 'garage door'];
let calls = [];
const blobs = [...semlite.embedMany(db, 'minilm', texts, { batchSize: 2, progress: (d, t) => calls.push([d, t]) })];
check('embedMany = embed()', blobs.length === 5 && blobs[2] === null &&
  texts.every((t, i) => t === null || blobs[i].equals(one("SELECT embed('minilm', ?)", t))), blobs.length);
check('embedMany progress', JSON.stringify(calls) === '[[2,5],[4,5],[5,5]]', calls);
calls = [];
const scores = [...semlite.rerankMany(db, 'ce', 'dim the hallway light', texts, { batchSize: 3, progress: (d, t) => calls.push([d, t]) })];
check('rerankMany = rerank()', scores[2] === null &&
  texts.every((t, i) => t === null || scores[i] === one("SELECT rerank('ce', 'dim the hallway light', ?)", t)), scores);
check('rerankMany progress', JSON.stringify(calls) === '[[3,5],[5,5]]', calls);
db.close();
report('npm', [passed + p, failed + f]);
