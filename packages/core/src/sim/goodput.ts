import type { ChaosConstants } from './chaos-constants';
import type { FailureSource, GroupPolicy } from './chaos-engine';
import { DEFAULT_CHAOS } from './chaos-constants';
import { poissonFailures, runChaos } from './chaos-engine';
import { makeRng } from '../rng';

/**
 * Goodput under failures: the paper's chaos grid (docs/method.md §7) as a seeded discrete-event
 * simulation. Goodput = useful chip-time / allocated chip-time, where useful means work that ends up in
 * the model; uptime = fraction of wall time the global model advances.
 *
 * The three systems differ only in who stalls when a slice fails:
 *  - 'dp': every chip, for detect + restart, then replays the work since the last checkpoint.
 *  - 'elastic-dp': every chip, for detect + downscale; the job runs one slice short until the slice
 *    returns, then every chip stalls again for upscale.
 *  - 'decoupled': the M learners are elastic groups of N/M chips. Only the failed slice's learner stalls;
 *    its surviving slices hold full replicas, so it loses just the step in flight. The syncer never waits
 *    (K = 1 + grace) and merges every learner's tokens, so other learners' work all counts. A learner
 *    whose last slice dies loses its work since its last sync (≤ H steps) and restarts from the syncer's
 *    snapshot. This reading — learners are elastic inside — is ours; it is what the paper's "M learners
 *    behave like elastic DP on M× fewer chips" implies.
 */
export type { ChaosConstants } from './chaos-constants';
export { DEFAULT_CHAOS } from './chaos-constants';

export type System = { kind: 'dp' } | { kind: 'elastic-dp' } | { kind: 'decoupled'; learners: number };

export interface GoodputResult {
  /** Useful / allocated chip-time, in [0, 1]. */
  goodput: number;
  /** Fraction of wall time the global model advances. */
  uptime: number;
  /** Chip failures over the horizon. */
  failures: number;
  /** Badput by cause, as fractions of allocated chip-time; goodput + all four = 1. */
  badput: { stalled: number; lost: number; degraded: number; straggler: number };
  /** totalChips rounded to whole slices. */
  slices: number;
}

/** Split `slices` into `m` groups as evenly as possible (the first few get one extra). */
function split(slices: number, m: number): number[] {
  const base = Math.floor(slices / m);
  return Array.from({ length: m }, (_, i) => base + (i < slices % m ? 1 : 0));
}

function policyOf(system: System, slices: number, c: ChaosConstants): GroupPolicy {
  switch (system.kind) {
    case 'dp':
      return { slices: [slices], elastic: false, persistSteps: c.checkpointSteps };
    case 'elastic-dp':
      return { slices: [slices], elastic: true, persistSteps: c.checkpointSteps };
    case 'decoupled': {
      const m = Math.max(1, Math.min(system.learners, slices));
      return { slices: split(slices, m), elastic: true, persistSteps: c.syncSteps };
    }
  }
}

/** Run one cell against an explicit failure source (tests script it; simulateGoodput draws it). */
export function simulateWithFailures(system: System, totalChips: number, c: ChaosConstants, failures: FailureSource): GoodputResult {
  const slices = Math.max(1, Math.round(totalChips / c.chipsPerSlice));
  const run = runChaos(policyOf(system, slices, c), c, failures);
  const t = run.time;
  const of = (x: number): number => (t.allocated > 0 ? x / t.allocated : 0);
  return {
    goodput: of(t.useful),
    uptime: run.upSec / (c.horizonHours * 3600),
    failures: run.failures,
    badput: { stalled: of(t.stalled), lost: of(t.lost), degraded: of(t.degraded), straggler: of(t.straggler) },
    slices,
  };
}

/** One cell of the grid: Poisson chip failures at rate 1/MTBI each, reproducible from `seed`. */
export function simulateGoodput(system: System, totalChips: number, c: ChaosConstants, seed: number): GoodputResult {
  return simulateWithFailures(system, totalChips, c, poissonFailures(c, makeRng(seed)));
}

export interface GoodputRow {
  system: System['kind'];
  M?: number;
  label: string;
  /** Goodput in [0, 1] per total chip count. */
  byChips: Record<number, number>;
  uptimeByChips: Record<number, number>;
}

export interface GoodputTable {
  chips: number[];
  rows: GoodputRow[];
  constants: ChaosConstants;
  seed: number;
}

export interface GoodputTableOptions {
  seed?: number;
  constants?: Partial<ChaosConstants>;
  /** Column chip counts; default the paper's 150k … 2.4M. */
  chips?: readonly number[];
  /** Decoupled rows; default M = 2, 4, 8, 16. */
  learners?: readonly number[];
}

export const PAPER_CHIPS: readonly number[] = [150_000, 300_000, 600_000, 1_200_000, 2_400_000];
export const PAPER_LEARNERS: readonly number[] = [2, 4, 8, 16];

/** The paper's grid: rows DP, elastic DP, Decoupled M = …; columns total chips. */
export function goodputTable(opts: GoodputTableOptions = {}): GoodputTable {
  const seed = opts.seed ?? 1;
  const constants: ChaosConstants = { ...DEFAULT_CHAOS, ...opts.constants };
  const chips = [...(opts.chips ?? PAPER_CHIPS)];
  const systems: Array<{ system: System; label: string; M?: number }> = [
    { system: { kind: 'dp' }, label: 'Data-parallel' },
    { system: { kind: 'elastic-dp' }, label: 'Elastic data-parallel' },
    ...(opts.learners ?? PAPER_LEARNERS).map((m) => ({ system: { kind: 'decoupled', learners: m } as System, label: `Decoupled M=${m}`, M: m })),
  ];
  // One derived seed per cell, drawn in row-major order, so a cell does not depend on the column set
  // of any other row and the whole grid is reproducible from `seed`.
  const master = makeRng(seed);
  const rows = systems.map(({ system, label, M }) => {
    const byChips: Record<number, number> = {};
    const uptimeByChips: Record<number, number> = {};
    for (const n of chips) {
      const r = simulateGoodput(system, n, constants, master.int(2 ** 32));
      byChips[n] = r.goodput;
      uptimeByChips[n] = r.uptime;
    }
    const row: GoodputRow = { system: system.kind, label, byChips, uptimeByChips };
    if (M !== undefined) row.M = M;
    return row;
  });
  return { chips, rows, constants, seed };
}
