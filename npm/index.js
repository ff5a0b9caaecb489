// semlite for Node: where the packaged semlite.so is, and a helper that loads it into a
// connection. Works with any driver that has loadExtension(path), e.g. better-sqlite3
// (the one the tests use).
'use strict';
const fs = require('fs');
const path = require('path');

const SUPPORTED = 'linux-x64';

// The absolute path of semlite.so in this package, for db.loadExtension(). Throws when
// this platform has no build in the package or the file is missing.
function getLoadablePath() {
  const platform = `${process.platform}-${process.arch}`;
  if (platform !== SUPPORTED) {
    throw new Error(`semlite: no build for ${platform} in this package (it has ${SUPPORTED})`);
  }
  const file = path.join(__dirname, 'semlite.so');
  if (!fs.existsSync(file)) {
    throw new Error(`semlite: ${file} is missing; reinstall the package`);
  }
  return file;
}

// Loads semlite into db (any object with loadExtension(path)).
function load(db) {
  db.loadExtension(getLoadablePath());
}

module.exports = { getLoadablePath, load };
