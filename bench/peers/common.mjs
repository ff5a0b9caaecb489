// common.mjs: what the ONNX Runtime peers (ort_embed.mjs for bench/embed, ort_infer.mjs for
// bench/infer) share, one copy each: errors and arguments, the scratch folder ORT needs beside
// a graph, session options, padded batches, mean pooling, the nearest-rank percentile and the
// timed loop every workload runs under (warm-up, then iterations until min_iters and seconds).

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
export const ort = require('onnxruntime-node');
export const { Tokenizer } = require('tokenizers');

let prog = 'peer';

// "prog: msg" on stderr, then exit.
export function die(msg, code = 1) {
  process.stderr.write(`${prog}: ${msg}\n`);
  process.exit(code);
}

export function say(msg) {
  process.stderr.write(`${prog}: ${msg}\n`);
}

// Every option takes a value: spec maps '--name' to [key, Number or String]. Options missing
// from defaults and listed in required must be given.
export function parseArgs(name, argv, spec, defaults, required) {
  prog = name;
  const a = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i], v = argv[i + 1];
    if (!spec[k]) die(`unknown argument ${k}`);
    if (v === undefined) die(`${k} needs a value`);
    const [key, type] = spec[k];
    a[key] = type(v);
    i++;
  }
  for (const k of required) if (!a[k]) die(`--${k} is required`);
  return a;
}

// Graph + weights in a scratch folder of their own: ORT resolves a graph's external data
// ("model.safetensors") relative to the graph and refuses symlinks that resolve outside its
// folder ("External data path escapes model directory"), so the weights are hard-linked (no
// 90 MB copy), or copied across file systems. Redone every run so a regenerated twin is never
// shadowed by a stale link. The model folder is never written.
export function prepareScratch(modelDir, onnxPath, scratch) {
  fs.mkdirSync(scratch, { recursive: true });
  const graph = path.join(scratch, path.basename(onnxPath));
  fs.rmSync(graph, { force: true });
  fs.copyFileSync(onnxPath, graph);
  const src = path.resolve(modelDir, 'model.safetensors');
  const weights = path.join(scratch, 'model.safetensors');
  fs.rmSync(weights, { force: true });
  try { fs.linkSync(src, weights); } catch { fs.copyFileSync(src, weights); }
  return graph;
}

// ORT's best settings here: CPU execution provider, every graph optimisation, intra-op threads
// as asked, inter-op 1, sequential (one graph, one request at a time, as semlite runs).
export const sessionOptions = (threads) => ({
  executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1,
  executionMode: 'sequential', graphOptimizationLevel: 'all',
});

export function versions() {
  return { onnxruntime_node: require('onnxruntime-node/package.json').version,
           tokenizers: require('tokenizers/package.json').version, node: process.versions.node };
}

// One batch padded to its longest encoding (zeros are [PAD] ids, mask 0, type 0): what a user
// feeds ORT to run a batch in one call.
export function makeFeeds(encs) {
  const B = encs.length;
  let L = 0;
  for (const e of encs) L = Math.max(L, e.getIds().length);
  const ids = new BigInt64Array(B * L), mask = new BigInt64Array(B * L), types = new BigInt64Array(B * L);
  for (let b = 0; b < B; b++) {
    const id = encs[b].getIds(), ty = encs[b].getTypeIds();
    for (let t = 0; t < id.length; t++) {
      ids[b * L + t] = BigInt(id[t]); mask[b * L + t] = 1n; types[b * L + t] = BigInt(ty[t]);
    }
  }
  return {
    feeds: {
      input_ids: new ort.Tensor('int64', ids, [B, L]),
      attention_mask: new ort.Tensor('int64', mask, [B, L]),
      token_type_ids: new ort.Tensor('int64', types, [B, L]),
    },
    B, L,
  };
}

// Mean over the real tokens, then L2 normalisation (sentence-transformers Pooling + Normalize).
export function poolNormalize(hidden, encs, L) {
  const H = hidden.dims[2], data = hidden.data, out = [];
  for (let b = 0; b < encs.length; b++) {
    const n = encs[b].getIds().length, acc = new Float64Array(H);
    for (let t = 0; t < n; t++) for (let h = 0; h < H; h++) acc[h] += data[(b * L + t) * H + h];
    let ss = 0;
    for (let h = 0; h < H; h++) { acc[h] /= n; ss += acc[h] * acc[h]; }
    const inv = 1 / Math.max(Math.sqrt(ss), 1e-12), v = new Float32Array(H);
    for (let h = 0; h < H; h++) v[h] = acc[h] * inv;
    out.push(v);
  }
  return out;
}

// Nearest rank on sorted samples: the definition bench/common.c uses.
export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  const r = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(Math.max(r, 1), sorted.length) - 1];
}

// w.warmup untimed calls, then timed ones until both w.min_iters and w.seconds are reached (at
// most w.max_iters); call(i) runs iteration i. Returns the iterations, the sorted per-call ms,
// the seconds of the timed part and the first call's result.
export async function timeLoop(w, call) {
  let first;
  for (let i = 0; i < w.warmup; i++) {
    const r = await call(i);
    if (i === 0) first = r;
  }
  const samples = [];
  const t0 = performance.now();
  let i = 0;
  for (; i < w.max_iters; i++) {
    if (i >= w.min_iters && performance.now() - t0 >= w.seconds * 1000) break;
    const s = performance.now();
    const r = await call(i);
    samples.push(performance.now() - s);
    if (first === undefined) first = r;
  }
  const seconds = (performance.now() - t0) / 1000;
  samples.sort((x, y) => x - y);
  return { iters: i, samples, seconds, first };
}

// A call's end, main's errors: the stack on stderr, exit 1.
export function run(main) {
  main().catch((e) => die(e && e.stack ? e.stack : String(e)));
}
