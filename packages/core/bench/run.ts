/**
 * `npm run bench`: core throughput on one core, written to reports/bench/core.json with a short table.
 * Codecs and merge in MB/s of fp32 input (4 bytes per parameter); the simulator in learner-steps per
 * wall-clock second at M = 1,000. Each figure is the median of several repetitions after a warm-up.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fp16, int4, int8, type Codec } from '../src/codecs';
import { makeRng } from '../src/rng';
import { mergeOuterGradient } from '../src/merge';
import { runSwarm } from '../src/sim/swarm';

const quick = process.argv.includes('--quick');
const sizes = quick ? [1_000_000] : [1_000_000, 4_000_000, 10_000_000];
const reps = quick ? 3 : 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
function timeMs(fn: () => void): number {
  fn(); // warm-up: JIT and allocation
  return median(Array.from({ length: reps }, () => { const t = performance.now(); fn(); return performance.now() - t; }));
}
const mbps = (n: number, ms: number): number => (4 * n) / 1e6 / (ms / 1e3);

function randomDelta(n: number, seed: number): Float32Array {
  const rng = makeRng(seed), x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 1e-3 * rng.normal();
  return x;
}

const rows: Array<{ what: string; params: number; mbPerS: number; ms: number }> = [];
for (const n of sizes) {
  const x = randomDelta(n, n);
  for (const codec of [fp16, int8, int4] as Codec[]) {
    let bytes: Uint8Array = new Uint8Array(0);
    const enc = timeMs(() => { bytes = codec.encode(x, 128); });
    const dec = timeMs(() => { codec.decode(bytes, n); });
    rows.push({ what: `${codec.name} encode`, params: n, mbPerS: mbps(n, enc), ms: enc });
    rows.push({ what: `${codec.name} decode`, params: n, mbPerS: mbps(n, dec), ms: dec });
  }
  const M = 4;
  const contribs = Array.from({ length: M }, (_, i) => ({ delta: randomDelta(n, i), weight: 1 + i }));
  const ranges = [{ kind: 'dense' as const, dstOffset: 0, size: n }];
  const out = new Float32Array(n);
  for (const mode of ['rda', 'weighted-mean'] as const) {
    const ms = timeMs(() => mergeOuterGradient(contribs, ranges, mode, out));
    // Merge input is M deltas: throughput counts all of them.
    rows.push({ what: `merge ${mode} (M=${M})`, params: n, mbPerS: mbps(n * M, ms), ms });
  }
}

const M = 1000, t0 = performance.now();
const sim = runSwarm({ seed: 1, learners: M, tokens: quick ? 128_000 : 512_000, batch: 16, stepMs: 100, latencyMs: 5, sync: { P: 2, H: 8, K: 1 } });
const simMs = performance.now() - t0;
const steps = sim.tokensTrained / 16;
const simRow = { learners: M, learnerSteps: steps, wallMs: simMs, learnerStepsPerS: steps / (simMs / 1e3), merges: sim.merges };

console.log('what'.padEnd(28) + 'params'.padStart(12) + 'MB/s'.padStart(10) + 'ms'.padStart(10));
for (const r of rows) console.log(r.what.padEnd(28) + r.params.toLocaleString('en').padStart(12) + r.mbPerS.toFixed(0).padStart(10) + r.ms.toFixed(1).padStart(10));
console.log(`\nsimulator: M=${M} learners, ${steps} learner-steps in ${(simMs / 1e3).toFixed(1)} s = ${simRow.learnerStepsPerS.toFixed(0)} learner-steps/s (${sim.merges} merges)`);

mkdirSync('reports/bench', { recursive: true });
writeFileSync('reports/bench/core.json', JSON.stringify({ node: process.version, quick, codecsAndMerge: rows, simulator: simRow }, null, 2));
console.log('wrote reports/bench/core.json');
