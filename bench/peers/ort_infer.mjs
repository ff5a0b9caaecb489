// ort_infer.mjs: the ONNX Runtime side of bench/infer (bench/infer/bench_infer.c runs it).
//
// What: runs the workloads bench_infer wrote (embedding batches and rerank batches over texts
// of a fixed token length, single embed() calls, one query against 100 TREC passages) through
// onnxruntime-node on the twins' ONNX graphs, end to end as a user would: text -> Hugging Face
// tokenizer -> one padded ORT batch -> pooling (embed) or the raw logit (rerank).
// Why its own script beside ort_embed.mjs: that one is bench/embed's (embed graph only, its own
// JSON contract); this one adds the cross-encoder graph and pairs. What the two share (scratch
// folder, session options, padding, pooling, percentiles, the timed loop) is in common.mjs.
// Best settings for ORT on this machine, as the issue asks: CPU execution provider, graph
// optimisation 'all', intra-op threads --threads (2), inter-op 1, sequential.
//
//   node bench/peers/ort_infer.mjs --embed-model DIR --rerank-model DIR --onnx-dir DIR
//        --scratch DIR --workload FILE [--threads 2] [--load-reps 3] [--serve 1 --threads-list 1,2]
//
// Prints one JSON object on stdout (progress on stderr); exit 1 on any error.
// --serve 1: a session per task and intra-op thread count of --threads-list, then one JSON
// line ({"ready": true, versions, load: {embed: {"1": {p50_ms, ...}, ...}, ...}}), then a
// loop over stdin: "run I T" runs workload I (its warm-up and timed loop) on the sessions of
// T threads and answers one JSON line with that workload's result; "quit" (or the end of
// stdin) ends it. That lets bench_infer alternate engines cell by cell.

import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  ort, Tokenizer, die, say, parseArgs, prepareScratch, sessionOptions, versions, makeFeeds, poolNormalize,
  percentile, timeLoop, run,
} from './common.mjs';

function parseOptions(argv) {
  const a = parseArgs('ort_infer', argv, {
    '--embed-model': ['embedModel', String], '--rerank-model': ['rerankModel', String],
    '--onnx-dir': ['onnxDir', String], '--scratch': ['scratch', String], '--workload': ['workload', String],
    '--threads': ['threads', Number], '--load-reps': ['loadReps', Number], '--serve': ['serve', Number],
    '--threads-list': ['threadsList', String],
  }, { threads: 2, loadReps: 3, serve: 0, threadsList: '' }, ['embedModel', 'rerankModel', 'onnxDir', 'scratch', 'workload']);
  if (!(a.threads >= 1) || !(a.loadReps >= 1)) die('--threads and --load-reps must be >= 1');
  return a;
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

  const { iters, samples, seconds, first } = await timeLoop(w, (i) => call(pick(i)));
  // embed: the first text's embedding; rerank: every score of the first call
  const result = w.task === 'embed' ? Array.from(first.out[0]) : first.out.map(Number);
  return {
    name: w.name, iters, items_per_iter: perIter, seconds, items_per_s: (iters * perIter) / seconds,
    p50_ms: percentile(samples, 50), p95_ms: percentile(samples, 95), tokens, lens,
    result,
  };
}

// Sessions for every task at each thread count; load (tokenizer + session) timed at each.
async function loadAll(a, counts) {
  const models = {}, load = {};
  for (const [task, dir, file] of [['embed', a.embedModel, 'minilm-l6-embed.onnx'], ['rerank', a.rerankModel, 'minilm-l6-rerank.onnx']]) {
    const graph = prepareScratch(dir, path.join(a.onnxDir, file), path.join(a.scratch, task));
    load[task] = {};
    for (const t of counts) {
      const times = [];
      let m = null;
      for (let r = 0; r < a.loadReps; r++) {
        if (m) await m.session.release();
        const t0 = performance.now();
        const tok = loadTokenizer(dir);
        const session = await ort.InferenceSession.create(graph, sessionOptions(t));
        times.push(performance.now() - t0);
        m = { tok, session };
      }
      (models[t] ??= {})[task] = m;
      load[task][t] = { reps_ms: times, p50_ms: percentile([...times].sort((x, y) => x - y), 50) };
    }
  }
  return { models, load };
}

async function serve(a, spec) {
  const counts = a.threadsList.split(',').map(Number);
  if (!counts.length || counts.some((t) => !(t >= 1))) die('--threads-list: thread counts >= 1, comma-separated');
  const { models, load } = await loadAll(a, counts);
  process.stdout.write(JSON.stringify({ ready: true, engine: 'onnxruntime-node', versions: versions(),
    threads: { intra_op: counts, inter_op: 1, execution_mode: 'sequential' }, graph_optimization: 'all', load }) + '\n');
  const readline = await import('node:readline');
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  for await (const line of rl) {
    const [cmd, i, t] = line.trim().split(/\s+/);
    if (cmd === 'quit') break;
    if (cmd !== 'run' || !spec.workloads[Number(i)] || !models[Number(t)]) die(`bad command: ${line}`);
    const r = await runWorkload(models[Number(t)], spec.workloads[Number(i)]);
    process.stdout.write(JSON.stringify(r) + '\n');
  }
  for (const byTask of Object.values(models)) for (const m of Object.values(byTask)) await m.session.release();
}

async function main() {
  const a = parseOptions(process.argv.slice(2));
  if (a.serve) return serve(a, JSON.parse(fs.readFileSync(a.workload, 'utf8')));
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
    versions: versions(),
    threads: { intra_op: a.threads, inter_op: 1, execution_mode: 'sequential' },
    graph_optimization: 'all', load, workloads: [],
  };
  for (const w of spec.workloads) {
    say(w.name);
    out.workloads.push(await runWorkload(models, w));
  }
  for (const m of Object.values(models)) await m.session.release();
  process.stdout.write(JSON.stringify(out) + '\n');
}

run(main);
