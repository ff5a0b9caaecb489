// SPDX-License-Identifier: MIT OR Apache-2.0
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

// A vector as the little-endian float32 BLOB embed() returns and sqlite-vec reads.
function serializeFloat32(vector) {
  const out = Buffer.alloc(vector.length * 4);
  for (let i = 0; i < vector.length; i++) out.writeFloatLE(vector[i], i * 4);
  return out;
}

// Integers in [-128, 127] as an int8 BLOB (for vec_int8()).
function serializeInt8(vector) {
  return Buffer.from(Int8Array.from(vector).buffer);
}

// Runs texts through embed_each one batch at a time (better-sqlite3's prepare/all), yielding
// one float32 Buffer per text (null for a null text) in order; progress(done, total) is
// called after each batch. Same bits as embed().
function* embedMany(db, model, texts, { batchSize = 64, progress } = {}) {
  const stmt = db.prepare('SELECT embedding FROM embed_each(?, ?) ORDER BY i');
  for (let start = 0; start < texts.length; start += batchSize) {
    const batch = texts.slice(start, start + batchSize);
    const rows = stmt.all(model, JSON.stringify(batch));
    if (progress) progress(start + batch.length, texts.length);
    for (const r of rows) yield r.embedding;
  }
}

// One cross-encoder score per document (rerank_each), as embedMany.
function* rerankMany(db, model, query, docs, { batchSize = 64, progress } = {}) {
  const stmt = db.prepare('SELECT score FROM rerank_each(?, ?, ?) ORDER BY i');
  for (let start = 0; start < docs.length; start += batchSize) {
    const batch = docs.slice(start, start + batchSize);
    const rows = stmt.all(model, query, JSON.stringify(batch));
    if (progress) progress(start + batch.length, docs.length);
    for (const r of rows) yield r.score;
  }
}

module.exports = { getLoadablePath, load, serializeFloat32, serializeInt8, embedMany, rerankMany };
