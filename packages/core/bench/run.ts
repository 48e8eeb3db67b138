/**
 * `npm run bench`: core throughput on one core, written to reports/bench/core.json with a short table.
 * Codecs (each direction) and merge in MB/s of fp32 input (4 bytes per parameter; a merge reads M
 * deltas, so it counts all of them), against the target of TARGET_MB_S; the simulator in learner-steps
 * per wall-clock second at M = 1,000. Each figure is the median of several repetitions after a warm-up;
 * the best repetition is shown too, because on a shared machine the gap between the two is the noise.
 *
 * The row "fresh Float32Array(n), written" is not a target: it is the cost of the memory every decoder
 * returns (and fp32 encode fills), so a decode row can be read against what the machine allows.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fp16, fp32, int1, int2, int4, int8, type Codec } from '../src/codecs';
import { makeRng } from '../src/rng';
import { mergeOuterGradient } from '../src/merge';
import { runSwarm } from '../src/sim/swarm';

/** Issue #9 item 5: encoders, decoders and a merge of M = 4 at ≥ 1 GB/s of fp32 per core. */
const TARGET_MB_S = 1000;
const quick = process.argv.includes('--quick');
const sizes = quick ? [1_000_000] : [1_000_000, 4_000_000, 10_000_000];
const reps = quick ? 5 : 7;
const load = { before: loadavg()[0]!, after: 0 };

function sorted(xs: number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}
/** Median and best wall time of `reps` calls after one warm-up call (JIT and allocation). */
function timeMs(fn: () => void): { median: number; best: number } {
  fn();
  const t = sorted(Array.from({ length: reps }, () => { const t0 = performance.now(); fn(); return performance.now() - t0; }));
  return { median: t[Math.floor(t.length / 2)]!, best: t[0]! };
}
const mbps = (bytes: number, ms: number): number => bytes / 1e6 / (ms / 1e3);

function randomDelta(n: number, seed: number): Float32Array {
  const rng = makeRng(seed), x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 1e-3 * rng.normal();
  return x;
}

interface Row { what: string; params: number; mbPerS: number; bestMbPerS: number; ms: number; targetMbPerS: number | null; pass: boolean | null }
const rows: Row[] = [];
function record(what: string, params: number, inputBytes: number, t: { median: number; best: number }, target: boolean): void {
  const mbPerS = mbps(inputBytes, t.median);
  rows.push({
    what, params, mbPerS, bestMbPerS: mbps(inputBytes, t.best), ms: t.median,
    targetMbPerS: target ? TARGET_MB_S : null, pass: target ? mbPerS >= TARGET_MB_S : null,
  });
}

for (const n of sizes) {
  const x = randomDelta(n, n);
  record('fresh Float32Array(n), written', n, 4 * n, timeMs(() => { new Float32Array(n).fill(1); }), false);
  for (const codec of [fp32, fp16, int8, int4, int2, int1] as Codec[]) {
    let bytes: Uint8Array = new Uint8Array(0);
    record(`${codec.name} encode`, n, 4 * n, timeMs(() => { bytes = codec.encode(x, 128); }), true);
    record(`${codec.name} decode`, n, 4 * n, timeMs(() => { codec.decode(bytes, n); }), true);
  }
  const M = 4;
  const contribs = Array.from({ length: M }, (_, i) => ({ delta: randomDelta(n, i), weight: 1 + i }));
  const ranges = [{ kind: 'dense' as const, dstOffset: 0, size: n }];
  const out = new Float32Array(n);
  for (const mode of ['rda', 'weighted-mean'] as const) {
    record(`merge ${mode} (M=${M})`, n, 4 * n * M, timeMs(() => mergeOuterGradient(contribs, ranges, mode, out)), true);
  }
  // Not a target: the robust merge sorts M values per element for its median (robust.ts), opt-in.
  record(`merge centered-clip (M=${M})`, n, 4 * n * M, timeMs(() => mergeOuterGradient(contribs, ranges, 'centered-clip', out)), false);
}
load.after = loadavg()[0]!;

const M = 1000, t0 = performance.now();
const sim = runSwarm({ seed: 1, learners: M, tokens: quick ? 128_000 : 512_000, batch: 16, stepMs: 100, latencyMs: 5, sync: { P: 2, H: 8, K: 1 } });
const simMs = performance.now() - t0;
const steps = sim.tokensTrained / 16;
const simRow = { learners: M, learnerSteps: steps, wallMs: simMs, learnerStepsPerS: steps / (simMs / 1e3), merges: sim.merges };

const cols: [string, number][] = [['what', 32], ['params', 12], ['MB/s', 9], ['best', 9], ['ms', 9], ['target', 9], ['', 6]];
console.log(cols.map(([h, w], i) => (i === 0 ? h.padEnd(w) : h.padStart(w))).join(''));
for (const r of rows) {
  const cells = [r.params.toLocaleString('en'), r.mbPerS.toFixed(0), r.bestMbPerS.toFixed(0), r.ms.toFixed(2),
    r.targetMbPerS === null ? '—' : `${r.targetMbPerS}`, r.pass === null ? '' : r.pass ? 'pass' : 'FAIL'];
  console.log(r.what.padEnd(cols[0]![1]) + cells.map((c, i) => c.padStart(cols[i + 1]![1])).join(''));
}
const targeted = rows.filter((r) => r.pass !== null);
console.log(`\n${targeted.filter((r) => r.pass).length} of ${targeted.length} rows at ≥ ${TARGET_MB_S} MB/s (median); ` +
  `1-min load average ${load.before.toFixed(1)} before, ${load.after.toFixed(1)} after (other work on the machine skews medians)`);
console.log(`simulator: M=${M} learners, ${steps} learner-steps in ${(simMs / 1e3).toFixed(1)} s = ${simRow.learnerStepsPerS.toFixed(0)} learner-steps/s (${sim.merges} merges)`);

mkdirSync('reports/bench', { recursive: true });
writeFileSync('reports/bench/core.json', JSON.stringify({
  node: process.version, quick, reps, targetMbPerS: TARGET_MB_S, loadAverage: load, codecsAndMerge: rows, simulator: simRow,
}, null, 2));
console.log('wrote reports/bench/core.json');
