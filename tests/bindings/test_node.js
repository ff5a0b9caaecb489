// test_node.js: Node binding test: better-sqlite3 loads the release semlite.so by path
// (db.loadExtension) and gets the values the C tests assert (reference.js).
// Environment (set by `make test-bindings`): SEMLITE_SO, SEMLITE_SHARED, SEMLITE_MODELS,
// SEMLITE_VERSION. Prints "node: N passed, N failed"; exits 1 on a failure.
'use strict';
const Database = require('better-sqlite3');
const { runChecks, report } = require('./reference.js');

const db = new Database(':memory:');
db.loadExtension(process.env.SEMLITE_SO);
report('node', runChecks(db, 'node'));
db.close();
