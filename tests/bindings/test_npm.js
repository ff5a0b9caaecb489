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

const db = new Database(':memory:');
semlite.load(db);
const [p, f] = runChecks(db, 'npm');
db.close();
report('npm', [passed + p, failed + f]);
