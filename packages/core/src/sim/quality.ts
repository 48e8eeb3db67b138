import { NO_GRACE } from '../grace';
import { makeRng } from '../rng';
import { DEFAULT_ADAMW } from './adamw';
import { AdamW } from './adamw';
import { makeMlp } from './mlp';
import { DEFAULT_LR, lrAt } from '../schedule';
import { runSwarm, type SwarmOptions, type SwarmResult } from './swarm';
import { makeTask } from './task';
import { TIMINGS, type TimingsName } from './timings';

/**
 * Training quality at equal tokens (docs/method.md §5): Decoupled DiLoCo (K=1 + grace) against synchronous
 * DiLoCo (K=M: every merge waits for everyone) and synchronous data-parallel (one model, M·batch per
 * step, the gold standard). Reported as excess loss over the task's Bayes optimum.
 */
export interface QualityOptions {
  seeds: number[];
  learners: number;
  tokens: number;
  batch: number;
  stepMs: number;
  speedSpread: number;
  nonIid: number;
  H: number;
  P: number;
  /** Step, commit and network timings of the swarms (timings.ts), 'paper' unless given; stepMs is the
   * fastest learner's median step time either way. */
  timings?: TimingsName;
}

export const DEFAULT_QUALITY: QualityOptions = {
  seeds: [1, 2, 3], learners: 4, tokens: 400_000, batch: 32, stepMs: 100, speedSpread: 2, nonIid: 0, H: 24, P: 2, timings: 'paper',
};

/** The same comparison at another preset: only the timings (and the step time they measure) change. */
export function qualityAt(timings: TimingsName, o: QualityOptions = DEFAULT_QUALITY): QualityOptions {
  return { ...o, timings, stepMs: TIMINGS[timings].stepMs };
}

export interface QualityRow {
  method: string;
  excess: number[];
  meanExcess: number;
  simMinutes: number;
  contributorsPerMerge: number;
  /** Tokens merged into the global model / tokens trained (1 for data-parallel: nothing is discarded). */
  mergedFraction: number;
  bytesPerStep: number;
}

/** Data-parallel: the same model and AdamW, gradients of M·batch examples per step (exact all-reduce). */
export function runDataParallel(seed: number, o: QualityOptions): { evalLoss: number; bayesLoss: number; simMs: number } {
  const task = makeTask(makeRng(seed ^ 0x5eed));
  const mlp = makeMlp(task.dim, 32, task.classes);
  const params = mlp.init(makeRng(seed ^ 0x1417));
  const heldOut = task.sample(makeRng(seed ^ 0xe7a1), 2000);
  const rng = makeRng(seed);
  const adam = new AdamW(mlp.size, DEFAULT_ADAMW);
  const grad = new Float32Array(mlp.size);
  const global = o.batch * o.learners;
  const steps = Math.ceil(o.tokens / global);
  for (let s = 0; s < steps; s++) {
    mlp.loss(params, task.sample(rng, global), grad);
    adam.step(params, grad, lrAt(s / steps, { ...DEFAULT_LR, peak: DEFAULT_ADAMW.lr }));
  }
  // Each DP step waits for the slowest learner: wall time is steps × (slowest median step + loop overhead).
  const stepMs = o.stepMs * o.speedSpread + TIMINGS[o.timings ?? 'paper'].overheadMs;
  return { evalLoss: mlp.loss(params, heldOut), bayesLoss: task.bayesLoss(heldOut), simMs: steps * stepMs };
}

/** The swarm every quality row runs, for one seed; `sync` adds to H and P (K, grace, merge…). */
export function qualitySwarm(o: QualityOptions, seed: number, sync: SwarmOptions['sync']): SwarmOptions {
  return {
    seed, learners: o.learners, tokens: o.tokens, batch: o.batch, stepMs: o.stepMs, speedSpread: o.speedSpread,
    nonIid: o.nonIid, timings: o.timings, sync: { H: o.H, P: o.P, ...sync },
  };
}

export function qualityComparison(o: QualityOptions = DEFAULT_QUALITY): QualityRow[] {
  const swarm = (K: number, graceOn: boolean) => (seed: number): SwarmResult =>
    runSwarm(qualitySwarm(o, seed, { K, ...(graceOn ? {} : { grace: NO_GRACE }) }));
  const row = (method: string, runs: SwarmResult[]): QualityRow => {
    const excess = runs.map((r) => r.evalLoss - r.bayesLoss);
    const merges = runs.reduce((s, r) => s + r.merges, 0);
    return {
      method, excess, meanExcess: mean(excess), simMinutes: mean(runs.map((r) => r.simMs)) / 60_000,
      contributorsPerMerge: runs.reduce((s, r) => s + r.contributorsPerMerge * r.merges, 0) / Math.max(1, merges),
      mergedFraction: mean(runs.map((r) => r.tokensMerged / r.tokensTrained)),
      bytesPerStep: mean(runs.map((r) => (r.bytesUp + r.bytesDown) / (r.tokensTrained / o.batch))),
    };
  };
  const dp = o.seeds.map((s) => runDataParallel(s, o));
  const dpParams = makeMlp(16, 32, 4).size;
  return [
    {
      method: 'data-parallel (sync, every step)', excess: dp.map((r) => r.evalLoss - r.bayesLoss),
      meanExcess: mean(dp.map((r) => r.evalLoss - r.bayesLoss)), simMinutes: mean(dp.map((r) => r.simMs)) / 60_000,
      contributorsPerMerge: o.learners, mergedFraction: 1,
      bytesPerStep: 2 * 4 * dpParams, // fp32 gradient up + fp32 parameters (or all-reduced gradient) down, per learner-step
    },
    row(`sync DiLoCo (K=M=${o.learners})`, o.seeds.map(swarm(o.learners, true))),
    row('Decoupled DiLoCo (K=1, no grace)', o.seeds.map(swarm(1, false))),
    row('Decoupled DiLoCo (K=1 + grace)', o.seeds.map(swarm(1, true))),
  ];
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
