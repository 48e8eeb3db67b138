import type { Downlink } from '../downlink';
import { planFragments } from '../fragments';
import { makeLayout } from '../layout';
import { DEFAULT_SYNC } from '../syncer/config';
import { linkBytes, perStep, stepsPerPull } from './bytes-model';
import { makeMlp } from './mlp';
import { runSwarm, type SwarmOptions } from './swarm';
import { TIMINGS } from './timings';

/**
 * Bytes per learner step against fp32 data-parallel, over H × downlink (docs/method.md §6, issue #9), as
 * `npm run swarm` runs the browser swarm: M learners at the same pace, browser timings, K = 1 + grace,
 * int4 pushes. Two swarms per cell:
 * - bytes: the digits MLP's size (784·128 + 128 + 128·10 + 10 = 101,770 parameters), one seed, `periods`·H
 *   steps per learner at batch 1. The wire carries tokens as an f64, so the batch changes no byte; it only
 *   changes the cost of the run (the 784-wide MLP costs ~1 ms per example here).
 * - loss: held-out excess loss at equal trained tokens on the simulator's small MLP (the quality and
 *   downlink tables' model: the synthetic 784-input task is far from trained within this budget), per seed.
 */
export type Dims = NonNullable<SwarmOptions['model']>;

export interface BytesTableOptions {
  Hs: number[];
  downlinks: Downlink[];
  P: number;
  learners: number;
  /** The model whose bytes are counted, and its steps per learner in units of H. */
  bytesModel: Dims;
  periods: number;
  /** The model whose loss is compared, its batch, its token budget (all learners together) and its seeds. */
  lossModel: Dims;
  batch: number;
  tokens: number;
  seeds: number[];
  /** The row the loss column is measured against, per seed: what `npm run swarm` runs today. */
  reference: { H: number; downlink: Downlink };
}

export const DIGITS_MLP: Dims = { dim: 784, hidden: 128, classes: 10 };

export const DEFAULT_BYTES_TABLE: BytesTableOptions = {
  Hs: [12, 24, 48, 96], downlinks: ['fp32', 'int8', 'int4'], P: 2, learners: 3,
  bytesModel: DIGITS_MLP, periods: 20,
  lossModel: { dim: 16, hidden: 32, classes: 4 }, batch: 8, tokens: 60_000, seeds: [1, 2, 3],
  reference: { H: 12, downlink: 'int8' },
};

export interface BytesRow {
  H: number;
  downlink: Downlink;
  /** Every byte both ways per learner step, join snapshots excluded (as e2e/swarm-summary.ts counts). */
  bytesPerStep: number;
  /** bytes-model.ts: each fragment pulled once every stepsPerPull(H) steps (first of M at K = 1), and once every H. */
  predictedPerStep: number;
  idealPerStep: number;
  upPerParam: number;
  downPerParam: number;
  /** 2 × 4 × params / bytes per step: an fp32 gradient up and an fp32 update down per learner step. */
  ratio: number;
  predictedRatio: number;
  idealRatio: number;
  contributorsPerMerge: number;
  /** Held-out cross-entropy − Bayes optimum per seed (nats), and minus the reference row's, per seed. */
  excess: number[];
  deltaVsReference: number[];
}

export const dataParallelBytesPerStep = (params: number): number => 2 * 4 * params;

/** One cell's swarm, as the browser swarm runs it. */
export function bytesSwarm(o: BytesTableOptions, H: number, downlink: Downlink, run: { seed: number; model: Dims; batch: number; tokens: number }): SwarmOptions {
  return {
    ...run, learners: o.learners, timings: 'browser', speedSpread: 1, evalPoints: 1,
    sync: { H, P: o.P, K: 1, downlink },
  };
}

/** The analytic columns of one cell for the bytes model (bytes-model.ts): no run. */
export type BytesPrediction = Pick<BytesRow, 'predictedPerStep' | 'idealPerStep' | 'upPerParam' | 'downPerParam' | 'predictedRatio' | 'idealRatio'>;

export function predictBytes(o: BytesTableOptions, H: number, downlink: Downlink): BytesPrediction {
  const mlp = makeMlp(o.bytesModel.dim, o.bytesModel.hidden, o.bytesModel.classes);
  const sizes = planFragments(makeLayout(mlp.specs), o.P).map((f) => f.size);
  const link = linkBytes({ fragmentSizes: sizes, uplinkCodec: DEFAULT_SYNC.uplinkCodec, blockSize: DEFAULT_SYNC.blockSize, downlink });
  const predictedPerStep = perStep(link, stepsPerPull(H, o.learners, TIMINGS.browser)), idealPerStep = perStep(link, H);
  const dp = dataParallelBytesPerStep(mlp.size);
  return {
    predictedPerStep, idealPerStep, upPerParam: link.upPerParam, downPerParam: link.downPerParam,
    predictedRatio: dp / predictedPerStep, idealRatio: dp / idealPerStep,
  };
}

/** Measured bytes per learner step of one cell on the bytes model, next to its prediction (no loss). */
export type BytesMeasure = Omit<BytesRow, 'H' | 'downlink' | 'excess' | 'deltaVsReference'>;

export function measureBytes(o: BytesTableOptions, H: number, downlink: Downlink, seed = o.seeds[0] ?? 1): BytesMeasure {
  // Its loss is not reported: 100 held-out examples instead of 2,000 save ~1 s of 784-wide forward passes.
  const r = runSwarm({ ...bytesSwarm(o, H, downlink, { seed, model: o.bytesModel, batch: 1, tokens: o.learners * o.periods * H }), heldOut: 100 });
  const bytesPerStep = (r.bytesUp + r.bytesDown - (r.bytesByType.snapshot ?? 0)) / r.tokensTrained; // batch 1: tokens are steps
  const params = makeMlp(o.bytesModel.dim, o.bytesModel.hidden, o.bytesModel.classes).size;
  return { bytesPerStep, ratio: dataParallelBytesPerStep(params) / bytesPerStep, contributorsPerMerge: r.contributorsPerMerge, ...predictBytes(o, H, downlink) };
}

export function bytesTable(o: BytesTableOptions = DEFAULT_BYTES_TABLE): BytesRow[] {
  const excessOf = (H: number, downlink: Downlink): number[] => o.seeds.map((seed) => {
    const r = runSwarm(bytesSwarm(o, H, downlink, { seed, model: o.lossModel, batch: o.batch, tokens: o.tokens }));
    return r.evalLoss - r.bayesLoss;
  });
  const reference = excessOf(o.reference.H, o.reference.downlink);
  return o.Hs.flatMap((H) => o.downlinks.map((downlink) => {
    const same = H === o.reference.H && downlink === o.reference.downlink;
    const excess = same ? reference : excessOf(H, downlink);
    return { H, downlink, ...measureBytes(o, H, downlink), excess, deltaVsReference: excess.map((x, i) => x - reference[i]!) };
  }));
}

/** The table as markdown, for the README and docs/method.md §6. Marks go by the measured ratio. */
export function formatBytesTable(rows: readonly BytesRow[], o: BytesTableOptions): string {
  const params = makeMlp(o.bytesModel.dim, o.bytesModel.hidden, o.bytesModel.classes).size;
  const int = (x: number): string => Math.round(x).toLocaleString('en');
  const pm = (xs: readonly number[]): string => `${mean(xs) >= 0 ? '+' : ''}${mean(xs).toFixed(4)} ± ${sd(xs).toFixed(4)}`;
  const ref = `H=${o.reference.H} ${o.reference.downlink}`;
  return [
    `Bytes per learner step vs fp32 data-parallel (2 × 4 × ${int(params)} = ${int(dataParallelBytesPerStep(params))} B): M=${o.learners}, P=${o.P}, K=1 + grace, ` +
      `browser timings, int4 pushes (block ${DEFAULT_SYNC.blockSize}); bytes on a ${int(params)}-parameter MLP, ${o.periods}·H steps per learner, seed ${o.seeds[0]}; ` +
      `loss on the ${o.lossModel.dim}-${o.lossModel.hidden}-${o.lossModel.classes} MLP at ${int(o.tokens)} examples (batch ${o.batch}), seeds ${o.seeds.join(',')}`,
    '',
    `| H | downlink | up + down B/param | B/step | predicted B/step | × DP | × predicted | × once per H | ≥ 200× | ≥ 400× | contrib/merge | excess loss (nats) | Δ vs ${ref} (paired) |`,
    '|---:|:---|---:|---:|---:|---:|---:|---:|:---:|:---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.H} | ${r.downlink} | ${(r.upPerParam + r.downPerParam).toFixed(3)} | ${int(r.bytesPerStep)} | ${int(r.predictedPerStep)} | ` +
      `${r.ratio.toFixed(0)}× | ${r.predictedRatio.toFixed(0)}× | ${r.idealRatio.toFixed(0)}× | ${r.ratio >= 200 ? '✓' : ''} | ${r.ratio >= 400 ? '✓' : ''} | ` +
      `${r.contributorsPerMerge.toFixed(2)} | ${mean(r.excess).toFixed(4)} ± ${sd(r.excess).toFixed(4)} | ${pm(r.deltaVsReference)} |`),
    '',
    'B/step: every message both ways (META, pulls, pushes, acks, broadcasts, hellos), join snapshots excluded. Predicted: each fragment pulled once ' +
      'every H − E[max of M normals]·cv·√H steps (K=1 opens a round when the first learner reaches H; bytes-model.ts); once per H: the ideal schedule. ' +
      'Loss: mean ± sd over seeds; Δ: per-seed difference to the reference row on the same seeds.',
  ].join('\n');
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const sd = (xs: readonly number[]): number => Math.sqrt(xs.reduce((s, x) => s + (x - mean(xs)) ** 2, 0) / Math.max(1, xs.length - 1));
