import type { QualityOptions } from './quality';
import { lossNear } from '../loss-curve';
import { runSwarm, type SwarmOptions } from './swarm';

/**
 * The churn loss gap (docs/fault-tolerance.md §6), measured where it can be resolved:
 * many seeds of the seeded swarm (real Syncer, real LearnerState, fresh AdamW per session), each run
 * twice, with and without churn. The browser churn spec runs one pair, and one pair cannot resolve a 5%
 * gap: its fault-free seed-to-seed spread alone is several percent.
 *
 * The shape mirrors the browser spec (e2e/specs/churn.spec.ts): 4 learners, K=2, H=16, P=2, batch 8,
 * half of the tabs that lived longest killed silently every 270 inner steps (≈30 s of a digits tab
 * there) and replaced 2 s later by fresh sessions, ten rounds in all. The options are the quality
 * table's (i.i.d. shards), plus the churn and what the gap is held to.
 */
export interface ChurnGapOptions extends Omit<QualityOptions, 'nonIid'> {
  K: number;
  churn: { everyMs: number; fraction: number; downMs: number };
  /** Tokens the run plans to merge (the LR clock's end). Set a little below what the churned run merges,
   * so both runs end annealed, where one evaluation is not noise. */
  plannedTokens: number;
  /** Peak inner learning rate. */
  lr: number;
  /** The gap's threshold before the 2σ allowance (docs/fault-tolerance.md §6: 5%). */
  threshold: number;
}

export const DEFAULT_CHURN_GAP: ChurnGapOptions = {
  seeds: Array.from({ length: 10 }, (_, i) => i + 1), learners: 4, tokens: 86_400, batch: 8, stepMs: 100, speedSpread: 1.2,
  H: 16, P: 2, K: 2, churn: { everyMs: 27_000, fraction: 0.5, downMs: 2_000 }, plannedTokens: 75_000, lr: 1e-2, threshold: 0.05,
};

export interface ChurnGapResult {
  /** Per seed: merged tokens compared at, held-out loss (mean over the last 20% of them) churned and calm,
   * learner sessions that contributed to the churned run, honest pushes refused as norm outliers (both). */
  pairs: Array<{ seed: number; merged: number; churned: number; calm: number; gap: number; sessions: number; normOutliers: number }>;
  meanGap: number;
  /** Half-width of the 95% confidence interval of the mean gap (Student t). */
  ci95: number;
  /** Seed-to-seed standard deviation of the calm runs' loss, relative to its mean. */
  calmSigma: number;
  /** max(threshold, 2 · calmSigma): the bound the mean gap is held to. */
  limit: number;
  pass: boolean;
}

export function churnGap(o: ChurnGapOptions = DEFAULT_CHURN_GAP): ChurnGapResult {
  const pairs = o.seeds.map((seed) => {
    const base: SwarmOptions = {
      seed, learners: o.learners, tokens: o.tokens, batch: o.batch, stepMs: o.stepMs, speedSpread: o.speedSpread,
      latencyMs: 5, evalPoints: 100, sync: { H: o.H, P: o.P, K: o.K, plannedTokens: o.plannedTokens }, adamw: { lr: o.lr },
    };
    const churned = runSwarm({ ...base, churn: o.churn });
    const calm = runSwarm(base);
    const merged = Math.min(churned.tokensMerged, calm.tokensMerged);
    const [lc, lq] = [lossNear(churned.curve, merged), lossNear(calm.curve, merged)];
    const sessions = new Set(churned.mergeLog.flatMap((e) => e.contributors.map((c) => `${c.id}/${c.session}`))).size;
    const normOutliers = (churned.rejections['norm-outlier'] ?? 0) + (calm.rejections['norm-outlier'] ?? 0);
    return { seed, merged, churned: lc, calm: lq, gap: (lc - lq) / lq, sessions, normOutliers };
  });
  const gaps = pairs.map((p) => p.gap);
  const calm = pairs.map((p) => p.calm);
  const calmSigma = sd(calm) / mean(calm);
  const meanGap = mean(gaps);
  const ci95 = (tCritical95(gaps.length - 1) * sd(gaps)) / Math.sqrt(gaps.length);
  const limit = Math.max(o.threshold, 2 * calmSigma);
  return { pairs, meanGap, ci95, calmSigma, limit, pass: Math.abs(meanGap) <= limit };
}

export function formatChurnGap(r: ChurnGapResult, o: ChurnGapOptions): string {
  const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(2)}%`;
  return [
    `Churn loss gap at equal committed tokens: ${o.learners} learners, K=${o.K} H=${o.H} P=${o.P} batch ${o.batch}; ` +
      `${100 * o.churn.fraction}% killed every ${o.churn.everyMs / o.stepMs} steps, back after ${o.churn.downMs / o.stepMs} steps; ` +
      `${o.tokens.toLocaleString('en')} examples trained per run`,
    `${'seed'.padStart(4)} ${'merged'.padStart(8)} ${'sessions'.padStart(8)} ${'L churned'.padStart(10)} ${'L calm'.padStart(10)} ${'gap'.padStart(9)}`,
    '-'.repeat(54),
    ...r.pairs.map((p) => `${String(p.seed).padStart(4)} ${p.merged.toFixed(0).padStart(8)} ${String(p.sessions).padStart(8)} ` +
      `${p.churned.toFixed(4).padStart(10)} ${p.calm.toFixed(4).padStart(10)} ${pct(p.gap).padStart(9)}`),
    `mean gap ${pct(r.meanGap)} ± ${(100 * r.ci95).toFixed(2)}% (95% CI, ${r.pairs.length} seeds); calm seed-to-seed σ ${(100 * r.calmSigma).toFixed(2)}%; ` +
      `limit max(${100 * o.threshold}%, 2σ) = ${(100 * r.limit).toFixed(2)}% → ${r.pass ? 'PASS' : 'FAIL'}`,
  ].join('\n');
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const sd = (xs: readonly number[]): number => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / Math.max(1, xs.length - 1));
};

/** Two-sided 95% critical value of Student's t with `df` degrees of freedom (table up to 30, then 1.96). */
export function tCritical95(df: number): number {
  const table = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
    2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042];
  if (!(df >= 1)) return Number.NaN;
  return df > table.length ? 1.96 : table[Math.floor(df) - 1]!;
}
