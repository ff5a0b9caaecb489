// ort_infer.mjs: the ONNX Runtime side of bench/infer (bench/infer/bench_infer.c runs it).
//
// What: runs the workloads bench_infer wrote (embedding batches and rerank batches over texts
// of a fixed token length, single embed() calls, one query against 100 TREC passages) through
// onnxruntime-node on the twins' ONNX graphs, end to end as a user would: text -> Hugging Face
// tokenizer -> one padded ORT batch -> pooling (embed) or the raw logit (rerank).
// Why its own script beside ort_embed.mjs: that one is bench/embed's (embed graph only, its own
// JSON contract); this one adds the cross-encoder graph and pairs. The helpers it shares with
// ort_embed.mjs (scratch folder, tokenizer set-up, padding, pooling) are copied on purpose so
// the two benches can change independently.
// Best settings for ORT on this machine, as the issue asks: CPU execution provider, graph
// optimisation 'all', intra-op threads --threads (2), inter-op 1, sequential.
//
//   node bench/peers/ort_infer.mjs --embed-model DIR --rerank-model DIR --onnx-dir DIR
//        --scratch DIR --workload FILE [--threads 2] [--load-reps 3]
//
// Prints one JSON object on stdout (progress on stderr); exit 1 on any error.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');
const { Tokenizer } = require('tokenizers');

function die(msg) {
  process.stderr.write(`ort_infer: ${msg}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const a = { threads: 2, loadReps: 3 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i], v = argv[i + 1];
    const need = () => { if (v === undefined) die(`${k} needs a value`); i++; return v; };
    switch (k) {
      case '--embed-model': a.embedModel = need(); break;
      case '--rerank-model': a.rerankModel = need(); break;
      case '--onnx-dir': a.onnxDir = need(); break;
      case '--scratch': a.scratch = need(); break;
      case '--workload': a.workload = need(); break;
      case '--threads': a.threads = Number(need()); break;
      case '--load-reps': a.loadReps = Number(need()); break;
      default: die(`unknown argument ${k}`);
    }
  }
  for (const k of ['embedModel', 'rerankModel', 'onnxDir', 'scratch', 'workload']) if (!a[k]) die(`--${k} is required`);
  if (!(a.threads >= 1) || !(a.loadReps >= 1)) die('--threads and --load-reps must be >= 1');
  return a;
}

// Graph + weights in a scratch folder of their own: ORT resolves external data relative to the
// graph and refuses symlinks leaving its folder, and both twins call their weights
// model.safetensors, so each graph gets its own folder with a hard link (or a copy).
function prepareScratch(modelDir, onnxPath, scratch) {
  fs.mkdirSync(scratch, { recursive: true });
  const graph = path.join(scratch, path.basename(onnxPath));
  fs.rmSync(graph, { force: true });
  fs.copyFileSync(onnxPath, graph);
  const weights = path.join(scratch, 'model.safetensors');
  fs.rmSync(weights, { force: true });
  const src = path.resolve(modelDir, 'model.safetensors');
  try { fs.linkSync(src, weights); } catch { fs.copyFileSync(src, weights); }
  return graph;
}

function maxLength(modelDir) {
  // sentence-transformers' max_seq_length (embed: 256) wins over the tokenizer's; a
  // cross-encoder uses tokenizer_config's model_max_length (512), as Hugging Face does.
  const st = path.join(modelDir, 'sentence_bert_config.json');
  if (fs.existsSync(st)) return JSON.parse(fs.readFileSync(st, 'utf8')).max_seq_length ?? 512;
  const tc = path.join(modelDir, 'tokenizer_config.json');
  if (fs.existsSync(tc)) return Math.min(JSON.parse(fs.readFileSync(tc, 'utf8')).model_max_length ?? 512, 512);
  return 512;
}

function loadTokenizer(modelDir) {
  const tok = Tokenizer.fromFile(path.join(modelDir, 'tokenizer.json'));
  tok.disablePadding();                                   // we pad each batch to its longest
  tok.setTruncation(maxLength(modelDir), { strategy: 'LongestFirst' });
  return tok;
}

const sessionOptions = (threads) => ({
  executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1,
  executionMode: 'sequential', graphOptimizationLevel: 'all',
});

// One padded batch (zeros are [PAD] ids, mask 0, type 0): what a user feeds ORT.
function makeFeeds(encs) {
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
    L,
  };
}

// Mean over real tokens, then L2 normalisation (sentence-transformers Pooling + Normalize).
function poolNormalize(hidden, encs, L) {
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

async function embedBatch(m, texts) {
  const encs = texts.length === 1 ? [await m.tok.encode(texts[0])] : await m.tok.encodeBatch(texts);
  const { feeds, L } = makeFeeds(encs);
  const res = await m.session.run(feeds, ['last_hidden_state']);
  return { out: poolNormalize(res.last_hidden_state, encs, L), encs, L };
}

async function rerankBatch(m, query, docs) {
  // encodeBatch of this tokenizers build takes single texts only, so pairs go one by one
  // (concurrently: each encode is an async call into the Rust tokenizer)
  const encs = await Promise.all(docs.map((d) => m.tok.encode(query, d)));
  const { feeds, L } = makeFeeds(encs);
  const res = await m.session.run(feeds, ['logits']);
  return { out: Array.from(res.logits.data), encs, L };   // [B, 1]: one raw logit per pair
}

function percentile(sorted, p) {   // nearest rank, as bench_infer.c
  if (!sorted.length) return NaN;
  const r = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(Math.max(r, 1), sorted.length) - 1];
}

async function runWorkload(models, w) {
  const m = models[w.task];
  const single = w.mode === 'single';
  const call = (texts) => (w.task === 'embed' ? embedBatch(m, texts) : rerankBatch(m, w.query, texts));
  const pick = (i) => (single ? [w.texts[i % w.texts.length]] : w.texts);
  const perIter = single ? 1 : w.texts.length;

  // exact token counts of what ran (pairs included), padded length of the batch
  const encs = w.task === 'embed' ? await m.tok.encodeBatch(w.texts)
                                  : await Promise.all(w.texts.map((d) => m.tok.encode(w.query, d)));
  const lens = encs.map((e) => e.getIds().length);
  const tokens = { min: Math.min(...lens), max: Math.max(...lens), sum: lens.reduce((s, x) => s + x, 0) };

  let first = null;
  for (let i = 0; i < w.warmup; i++) await call(pick(i));
  const samples = [];
  const t0 = performance.now();
  let i = 0;
  for (; i < w.max_iters; i++) {
    if (i >= w.min_iters && performance.now() - t0 >= w.seconds * 1000) break;
    const s = performance.now();
    const r = await call(pick(i));
    samples.push(performance.now() - s);
    if (!first) first = r.out;
  }
  const total = (performance.now() - t0) / 1000;
  samples.sort((x, y) => x - y);
  // embed: the first text's embedding; rerank: every score of the first iteration
  const result = w.task === 'embed' ? Array.from(first[0]) : first.map(Number);
  return {
    name: w.name, iters: i, items_per_iter: perIter, seconds: total, items_per_s: (i * perIter) / total,
    p50_ms: percentile(samples, 50), p95_ms: percentile(samples, 95), tokens, lens,
    result,
  };
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const spec = JSON.parse(fs.readFileSync(a.workload, 'utf8'));
  const models = {}, load = {};
  for (const [task, dir, file] of [['embed', a.embedModel, 'minilm-l6-embed.onnx'], ['rerank', a.rerankModel, 'minilm-l6-rerank.onnx']]) {
    const graph = prepareScratch(dir, path.join(a.onnxDir, file), path.join(a.scratch, task));
    // load = tokenizer + session creation, the user's wait before the first call
    const times = [];
    let m = null;
    for (let r = 0; r < a.loadReps; r++) {
      if (m) await m.session.release();
      const t0 = performance.now();
      const tok = loadTokenizer(dir);
      const session = await ort.InferenceSession.create(graph, sessionOptions(a.threads));
      times.push(performance.now() - t0);
      m = { tok, session };
    }
    models[task] = m;
    load[task] = { reps_ms: times, p50_ms: percentile([...times].sort((x, y) => x - y), 50) };
  }
  const out = {
    engine: 'onnxruntime-node',
    versions: { onnxruntime_node: require('onnxruntime-node/package.json').version,
                tokenizers: require('tokenizers/package.json').version, node: process.versions.node },
    threads: { intra_op: a.threads, inter_op: 1, execution_mode: 'sequential' },
    graph_optimization: 'all', load, workloads: [],
  };
  for (const w of spec.workloads) {
    process.stderr.write(`ort_infer: ${w.name}\n`);
    out.workloads.push(await runWorkload(models, w));
  }
  for (const m of Object.values(models)) await m.session.release();
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => die(e && e.stack ? e.stack : String(e)));
