// ort_embed.mjs: the ONNX Runtime peer of bench/embed (owned by the embedding bench).
//
// Does what a user of ONNX Runtime does end to end, so that bench_embed.c can put semlite
// next to it in the same run: text -> token ids (Hugging Face's Rust tokenizer, npm
// `tokenizers`, on the model's own tokenizer.json) -> onnxruntime-node (CPU) -> mean pooling
// over the attention mask -> L2 normalisation. Versions are pinned in package.json.
//
//   node ort_embed.mjs --model DIR --onnx FILE --scratch DIR [--threads N]
//        [--workload FILE] [--reference embed.jsonl] [--check all|ID,ID,...] [--load-reps N]
//
// --model    the twin (or real) folder: model.safetensors, tokenizer.json, sentence_bert_config.json
// --onnx     the graph; its initializers are external data named "model.safetensors", which ORT
//            resolves next to the graph, so the graph is copied into --scratch beside a hard link
//            to the folder's model.safetensors (a copy if the link fails; ORT 1.30 refuses a
//            symlink that points out of the graph's directory). The model folder is never written.
// --threads  ORT intra-op threads (default 2); inter-op is 1 and execution sequential: one graph,
//            one request at a time, as in the semlite runs it is compared with.
// --workload JSON written by bench_embed.c: {"workloads":[{"name","mode":"single"|"batch",
//            "texts":[...],"warmup","seconds","min_iters","max_iters"}]}. "single": one text per
//            call, cycling through texts; "batch": all texts in one run, padded to the longest.
// --reference  shared/reference/embed.jsonl: rows whose ids and embeddings the peer must reproduce
//            (token ids exactly, components to ~1e-6) before its timings mean anything.
//
// Prints one JSON object on stdout (progress goes to stderr). Exit status 1 on bad arguments,
// 2 when the reference check fails (wrong ids or max abs diff above --tolerance).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  ort, Tokenizer, die, say, parseArgs, prepareScratch, sessionOptions, versions, makeFeeds, poolNormalize,
  percentile, timeLoop, run,
} from './common.mjs';

function parseOptions(argv) {
  const a = parseArgs('ort_embed', argv, {
    '--model': ['model', String], '--onnx': ['onnx', String], '--scratch': ['scratch', String],
    '--threads': ['threads', Number], '--workload': ['workload', String], '--reference': ['reference', String],
    '--check': ['check', String], '--tolerance': ['tolerance', Number], '--load-reps': ['loadReps', Number],
  }, { threads: 2, check: 'v-home-en-sentence,v-wordpiece,v-case-mixed,v-code-sql,v-acc-sentence,v-cjk-chinese,v-long-300,v-long-multilingual',
       tolerance: 1e-6, loadReps: 3 }, ['model', 'onnx', 'scratch']);
  if (!(a.threads >= 1)) die('--threads must be >= 1');
  if (!(a.loadReps >= 1)) die('--load-reps must be >= 1');
  return a;
}

function maxSeqLength(modelDir) {
  // sentence-transformers' max_seq_length overrides the tokenizer.json's own truncation (128).
  const f = path.join(modelDir, 'sentence_bert_config.json');
  if (!fs.existsSync(f)) return 512;
  return JSON.parse(fs.readFileSync(f, 'utf8')).max_seq_length ?? 512;
}

function loadTokenizer(modelDir, maxLen) {
  const tok = Tokenizer.fromFile(path.join(modelDir, 'tokenizer.json'));
  tok.disablePadding();          // the file pads every input to 128; we pad batches ourselves
  tok.setTruncation(maxLen);     // [CLS] + first maxLen-2 tokens + [SEP], as sentence-transformers
  return tok;
}

async function embedBatch(session, tok, texts) {
  const encs = texts.length === 1 ? [await tok.encode(texts[0])] : await tok.encodeBatch(texts);
  const { feeds, L } = makeFeeds(encs);
  const res = await session.run(feeds, ['last_hidden_state']);
  const vecs = poolNormalize(res.last_hidden_state, encs, L);
  return { vecs, encs, L };
}

async function runWorkload(session, tok, w) {
  const batch = w.mode === 'batch';
  const perIter = batch ? w.texts.length : 1;
  const pick = (i) => (batch ? w.texts : [w.texts[i % w.texts.length]]);

  // token statistics of what was actually run (after truncation), for the report
  const encs = await tok.encodeBatch(w.texts);
  const lens = encs.map((e) => e.getIds().length);
  const tokens = { min: Math.min(...lens), max: Math.max(...lens), mean: lens.reduce((s, x) => s + x, 0) / lens.length };

  const { iters, samples, seconds, first } = await timeLoop(w, (i) => embedBatch(session, tok, pick(i)));
  return {
    name: w.name, mode: w.mode, iters, sentences_per_iter: perIter, seconds,
    sentences_per_s: (iters * perIter) / seconds,
    p50_ms: percentile(samples, 50), p95_ms: percentile(samples, 95),
    mean_ms: samples.reduce((s, x) => s + x, 0) / samples.length,
    tokens, padded_len: batch ? tokens.max : undefined,
    first_embedding: Array.from(first ? first.vecs[0] : []),
  };
}

// Reproduce the float64 reference on a few rows: same ids, same embedding to float32 precision.
async function referenceCheck(session, tok, file, which, tolerance) {
  const rows = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length).map((l) => JSON.parse(l));
  const want = which === 'all' ? null : new Set(which.split(','));
  const picked = want ? rows.filter((r) => want.has(r.id)) : rows;
  if (want && picked.length !== want.size) die(`reference rows not found: ${[...want].filter((id) => !rows.some((r) => r.id === id)).join(',')}`);
  let maxDiff = 0, worst = null, idsEqual = 0;
  const idMismatch = [];
  for (const r of picked) {
    const { vecs, encs } = await embedBatch(session, tok, [r.text]);
    const ids = encs[0].getIds();
    if (ids.length === r.ids.length && ids.every((x, k) => x === r.ids[k])) idsEqual++; else idMismatch.push(r.id);
    for (let h = 0; h < r.embedding.length; h++) {
      const d = Math.abs(vecs[0][h] - r.embedding[h]);
      if (d > maxDiff) { maxDiff = d; worst = r.id; }
    }
  }
  return { rows: picked.length, ids_equal: idsEqual, id_mismatch: idMismatch, max_abs_diff: maxDiff, worst_row: worst,
           ok: idMismatch.length === 0 && maxDiff <= tolerance };
}

async function main() {
  const a = parseOptions(process.argv.slice(2));
  const graph = prepareScratch(a.model, a.onnx, a.scratch);
  const maxLen = maxSeqLength(a.model);

  // Load time: tokenizer + session creation, repeated so one cold outlier does not decide it.
  // The files are in the page cache after the first repetition (and usually before: the same
  // run has just loaded them into semlite).
  const loads = [];
  let tok, session;
  for (let r = 0; r < a.loadReps; r++) {
    if (session) await session.release();
    const t0 = performance.now();
    tok = loadTokenizer(a.model, maxLen);
    const t1 = performance.now();
    session = await ort.InferenceSession.create(graph, sessionOptions(a.threads));
    const t2 = performance.now();
    loads.push({ tokenizer_ms: t1 - t0, session_ms: t2 - t1, total_ms: t2 - t0 });
  }
  const sortedTotals = loads.map((l) => l.total_ms).sort((x, y) => x - y);

  // Time to the first embedding of a fresh session: ORT allocates its arena and plans on the
  // first run, which a user waits for as much as for the load itself.
  const spec = a.workload ? JSON.parse(fs.readFileSync(a.workload, 'utf8')) : null;
  let firstEmbedMs = null;
  if (spec && spec.workloads.length && spec.workloads[0].texts.length) {
    const t0 = performance.now();
    await embedBatch(session, tok, [spec.workloads[0].texts[0]]);
    firstEmbedMs = performance.now() - t0;
  }

  const out = {
    engine: 'onnxruntime-node',
    versions: versions(),
    cpus: os.cpus().length,
    threads: { intra_op: a.threads, inter_op: 1, execution_mode: 'sequential' },
    graph_optimization: 'all',
    max_seq_length: maxLen,
    load: { reps: loads, p50_ms: percentile(sortedTotals, 50), first_ms: loads[0].total_ms,
            first_embed_ms: firstEmbedMs },
  };

  if (a.reference) {
    out.reference_check = await referenceCheck(session, tok, a.reference, a.check, a.tolerance);
    say(`reference check ${out.reference_check.ok ? 'ok' : 'FAILED'}: ` +
      `${out.reference_check.rows} rows, ids equal ${out.reference_check.ids_equal}, ` +
      `max abs diff ${out.reference_check.max_abs_diff.toExponential(2)}`);
  }

  out.workloads = [];
  if (spec) {
    for (const w of spec.workloads) {
      say(`${w.name} ...`);
      out.workloads.push(await runWorkload(session, tok, w));
    }
  }
  await session.release();
  process.stdout.write(JSON.stringify(out) + '\n');
  if (out.reference_check && !out.reference_check.ok) process.exit(2);
}

run(main);
