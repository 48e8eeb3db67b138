import { planFragments } from '../fragments';
import { makeLayout } from '../layout';
import type { Downlink } from '../downlink';
import { makeMlp } from './mlp';
import { qualitySwarm, type QualityOptions } from './quality';
import { runSwarm } from './swarm';

/**
 * What the quantised downlink saves and costs (docs/method.md §6): Decoupled DiLoCo (K=1 + grace, the
 * quality table's row) with each downlink on the same seeds. Bytes are every byte the syncer sent (broadcasts,
 * pulls, acks, join snapshots) and every byte the learners sent, per learner step; bytes per parameter per
 * commit divide the downlink by the values it delivered (each commit's fragment size × the M recipients).
 */
export interface DownlinkRow {
  downlink: Downlink;
  bytesDownPerStep: number;
  bytesUpPerStep: number;
  /** Downlink bytes / (Σ over commits of fragment size × M): 4 + framing for fp32. */
  bytesPerParamCommit: number;
  /** Held-out cross-entropy per seed (nats), and its excess over the teacher's Bayes optimum. */
  evalLoss: number[];
  excess: number[];
  meanExcess: number;
}

export function downlinkComparison(o: QualityOptions, downlinks: readonly Downlink[] = ['fp32', 'fp16', 'int8', 'int4']): DownlinkRow[] {
  const sizes = planFragments(makeLayout(makeMlp(16, 32, 4).specs), o.P).map((f) => f.size); // runSwarm's default MLP
  return downlinks.map((downlink) => {
    const runs = o.seeds.map((seed) => runSwarm(qualitySwarm(o, seed, { K: 1, downlink })));
    const steps = runs.map((r) => r.tokensTrained / o.batch);
    const delivered = runs.map((r) => o.learners * r.mergeLog.reduce((s, e) => s + sizes[e.fragment]!, 0));
    const excess = runs.map((r) => r.evalLoss - r.bayesLoss);
    return {
      downlink,
      bytesDownPerStep: mean(runs.map((r, i) => r.bytesDown / steps[i]!)),
      bytesUpPerStep: mean(runs.map((r, i) => r.bytesUp / steps[i]!)),
      bytesPerParamCommit: mean(runs.map((r, i) => r.bytesDown / delivered[i]!)),
      evalLoss: runs.map((r) => r.evalLoss),
      excess,
      meanExcess: mean(excess),
    };
  });
}

export function formatDownlinkTable(rows: readonly DownlinkRow[], o: QualityOptions): string {
  const fp32 = rows.find((r) => r.downlink === 'fp32');
  return [
    `Downlink: Decoupled DiLoCo (K=1 + grace), ${o.tokens.toLocaleString('en')} examples, M=${o.learners}, H=${o.H}, P=${o.P}, seeds ${o.seeds.join(',')}`,
    `${'downlink'.padEnd(9)} ${'down B/step'.padStart(12)} ${'vs fp32'.padStart(8)} ${'up B/step'.padStart(10)} ${'down B/param/commit'.padStart(20)} ${'excess loss per seed (nats)'.padStart(28)} ${'mean'.padStart(8)}`,
    '-'.repeat(101),
    ...rows.map((r) =>
      `${r.downlink.padEnd(9)} ${Math.round(r.bytesDownPerStep).toLocaleString('en').padStart(12)} ` +
        `${(fp32 ? `${(r.bytesDownPerStep / fp32.bytesDownPerStep).toFixed(3)}×` : '-').padStart(8)} ${Math.round(r.bytesUpPerStep).toLocaleString('en').padStart(10)} ` +
        `${r.bytesPerParamCommit.toFixed(3).padStart(20)} ${r.excess.map((x) => x.toFixed(4).padStart(8)).join(' ').padStart(28)} ${r.meanExcess.toFixed(4).padStart(8)}`),
    'bytes include every message (broadcasts, pulls, acks, snapshots on join); B/param/commit = downlink bytes / (commits\' fragment sizes × M)',
  ].join('\n');
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
