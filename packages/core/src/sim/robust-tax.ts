import type { MergeMode } from '../merge';
import { qualitySwarm, type QualityOptions } from './quality';
import { runSwarm } from './swarm';

/**
 * The robustness tax (docs/fault-tolerance.md §3): what a robust merge costs when nobody attacks.
 * Decoupled DiLoCo (K=1 + grace, the quality table's row) with each merge mode on the same seeds; the
 * first mode is the baseline. The relative cost is taken on the held-out cross-entropy L, not on the
 * excess loss: the excess is a difference of two ~1 nat numbers on 2,000 held-out examples and can sit
 * at or below 0 for a converged run, where a ratio of excesses means nothing.
 */
export interface RobustTaxRow {
  merge: MergeMode;
  /** Held-out cross-entropy per seed (nats). */
  evalLoss: number[];
  /** Held-out cross-entropy − the teacher's Bayes-optimal cross-entropy, per seed (nats). */
  excess: number[];
  meanExcess: number;
  /** (L − L_base) / L_base per seed, and of the means over seeds. */
  relCost: number[];
  meanRelCost: number;
  contributorsPerMerge: number;
}

export function robustnessTax(o: QualityOptions, merges: readonly MergeMode[] = ['rda', 'centered-clip']): RobustTaxRow[] {
  const runs = merges.map((merge) => o.seeds.map((seed) => runSwarm(qualitySwarm(o, seed, { K: 1, merge }))));
  const base = runs[0]!.map((r) => r.evalLoss);
  return merges.map((merge, k) => {
    const rs = runs[k]!;
    const evalLoss = rs.map((r) => r.evalLoss);
    const excess = rs.map((r) => r.evalLoss - r.bayesLoss);
    const mergeCount = rs.reduce((s, r) => s + r.merges, 0);
    return {
      merge, evalLoss, excess, meanExcess: mean(excess),
      relCost: evalLoss.map((l, i) => (l - base[i]!) / base[i]!),
      meanRelCost: (mean(evalLoss) - mean(base)) / mean(base),
      contributorsPerMerge: rs.reduce((s, r) => s + r.contributorsPerMerge * r.merges, 0) / Math.max(1, mergeCount),
    };
  });
}

export function formatRobustTaxTable(rows: readonly RobustTaxRow[], o: QualityOptions): string {
  const f = (x: number): string => x.toFixed(4).padStart(8);
  const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(2)}%`.padStart(8);
  return [
    `Robustness tax without attackers: Decoupled DiLoCo (K=1 + grace) by merge mode (${o.tokens.toLocaleString('en')} examples, ` +
      `M=${o.learners}, non-i.i.d. skew ${o.nonIid}, seeds ${o.seeds.join(',')})`,
    `${'merge'.padEnd(14)} ${'excess loss per seed (nats)'.padStart(28)} ${'mean'.padStart(8)} ${'ΔL/L per seed'.padStart(28)} ${'ΔL/L'.padStart(8)} ${'contrib/merge'.padStart(14)}`,
    '-'.repeat(106),
    ...rows.map((r) =>
      `${r.merge.padEnd(14)} ${r.excess.map(f).join(' ').padStart(28)} ${f(r.meanExcess)} ` +
        `${r.relCost.map(pct).join(' ').padStart(28)} ${pct(r.meanRelCost)} ${r.contributorsPerMerge.toFixed(2).padStart(14)}`),
    `ΔL/L = (L − L_${rows[0]?.merge ?? '?'}) / L_${rows[0]?.merge ?? '?'} on held-out cross-entropy L; the mean column uses the seeds' mean L`,
  ].join('\n');
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
