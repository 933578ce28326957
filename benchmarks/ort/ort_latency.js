// SPDX-License-Identifier: MIT
// Batch-1, one-thread latency of ONNX models in ONNX Runtime (npm onnxruntime-node), the comparison
// the kernels issue asks for. Not part of the build or CI: see benchmarks/ort/README.md.
// usage: node ort_latency.js [--runs N] [--warmup W] model.onnx...
'use strict';
const ort = require('onnxruntime-node');

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function main() {
  const args = process.argv.slice(2);
  let runs = 100, warmup = 10;
  const models = [];
  for (let i = 0; i < args.length; ++i) {
    if (args[i] === '--runs') runs = Number(args[++i]);
    else if (args[i] === '--warmup') warmup = Number(args[++i]);
    else models.push(args[i]);
  }
  if (models.length === 0) throw new Error('usage: node ort_latency.js [--runs N] [--warmup W] model.onnx...');
  for (const path of models) {
    const session = await ort.InferenceSession.create(path, {
      intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
    });
    const meta = session.inputNames[0];
    const dims = [1, 3, 224, 224];
    const data = new Float32Array(dims.reduce((a, b) => a * b));
    for (let i = 0; i < data.length; ++i) data[i] = Math.sin(i) * 0.5;
    const feeds = {[meta]: new ort.Tensor('float32', data, dims)};
    for (let i = 0; i < warmup; ++i) await session.run(feeds);
    const times = [];
    for (let i = 0; i < runs; ++i) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    console.log(`${path}: median ${percentile(times, 0.5).toFixed(3)} ms, min ${times[0].toFixed(3)}, ` +
                `p10 ${percentile(times, 0.1).toFixed(3)}, p90 ${percentile(times, 0.9).toFixed(3)} (${runs} runs)`);
  }
}
main().catch((e) => { console.error(e.message || e); process.exit(1); });
