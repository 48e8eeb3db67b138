import type { Reason } from '../result';
import type { SyncConfig } from './config';

/**
 * Guards against hostile or broken learners (docs/fault-tolerance.md §3): an adaptive cap on update norms, a cap
 * on what a learner may claim to have done, and a cap on any one learner's share of a merge. Pure
 * functions of their inputs, so the merge log's weights replay exactly.
 */

/**
 * Median of the last `capacity` update norms of one fragment (SyncConfig.normCapFactor says which). The
 * norm cap is a multiple of it: a minority of boosted or scaled updates (×100, model replacement) cannot
 * move a median, and honest norms stay within a few × of it. Below `warmup` samples the median is
 * undefined and only the absolute cap applies (absoluteNormCap). The window is part of every durable
 * commit (`window`, `restore`), so a coordinator reload does not reopen the unguarded warmup.
 */
export class RunningMedian {
  private values: number[] = [];

  constructor(private readonly capacity: number, private readonly warmup: number) {}

  push(v: number): void {
    this.values.push(v);
    if (this.values.length > this.capacity) this.values.shift();
  }

  /** The window, oldest first: what a commit persists. */
  get window(): number[] {
    return [...this.values];
  }

  /** Take back a persisted window; only finite norms ≥ 0 count, and at most the last `capacity`. */
  restore(values: readonly number[]): void {
    this.values = values.filter((v) => Number.isFinite(v) && v >= 0).slice(-this.capacity);
  }

  /** The median, or undefined while fewer than `warmup` values have been seen. */
  get median(): number | undefined {
    const n = this.values.length;
    return n < this.warmup || n === 0 ? undefined : median(this.values);
  }
}

/**
 * The norm cap that needs no history (SyncConfig.stepBound): an honest push of `cSteps` inner steps on a
 * fragment of n values moved each value by at most stepBound × the learning rate per step, so its delta
 * per unit of the scheduled learning rate (the unit admit.ts measures norms in) is at most
 * stepBound · peak · √n · steps. Steps: the claim capped at stepsCapFactor·H (a longer claim earns no
 * more weight either), plus H for steps taken while a round was in flight and kept by eager adoption
 * (docs/method.md §4); × 2 for the learner's schedule lagging the coordinator's. 20–60× above measured
 * honest norms, so it only bites on a magnitude no optimizer step makes (−3e38, ×1e6).
 */
export function absoluteNormCap(cfg: SyncConfig, n: number, cSteps: number): number {
  const steps = Math.min(cSteps, cfg.stepsCapFactor * cfg.H) + cfg.H;
  return 2 * cfg.stepBound * cfg.innerLr.peak * Math.sqrt(n) * steps;
}

/** The median of a non-empty list (mean of the middle two for an even length). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b), n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** Euclidean norm, float64 accumulator, elements ascending. */
export function l2(v: Float32Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

/** Relative tolerance of capShares' level: far above float64 rounding, far below any weight that matters. */
const LEVEL_ROUNDING = 1e-9;

/**
 * Cap every weight's share of the total at `maxShare` by lowering only the capped ones (water-filling):
 * the result has max wᵢ/Σw ≤ maxShare (up to LEVEL_ROUNDING) and keeps the order and ratios of the uncapped weights. When the cap
 * cannot be met (n·maxShare ≤ 1, or the rest of the weights are 0), all weights become equal.
 */
export function capShares(weights: readonly number[], maxShare: number): number[] {
  const n = weights.length;
  if (n <= 1 || maxShare >= 1) return [...weights];
  if (n * maxShare <= 1 || weights.every((w) => w === 0)) return weights.map(() => 1);
  const w = [...weights];
  const capped = new Set<number>();
  for (;;) {
    // With k capped weights at level c each and the rest summing to R: c = maxShare·(R + k·c) ⇒
    // c = maxShare·R / (1 − k·maxShare). Raise k until no uncapped weight exceeds c.
    const R = w.reduce((a, x, i) => (capped.has(i) ? a : a + x), 0);
    const c = (maxShare * R) / (1 - capped.size * maxShare);
    if (c === 0) return weights.map(() => 1); // only zero weights are left to balance the capped ones
    // A weight within rounding of the level is at it, not over: once (k + 1)·maxShare = 1 the exact level
    // is ≥ R, but its rounding can fall a hair below the last weight, and capping that gave c = 0/0.
    const over = w.findIndex((x, i) => !capped.has(i) && x > c * (1 + LEVEL_ROUNDING));
    if (over < 0) return w.map((x, i) => (capped.has(i) ? c : x));
    // Cap the largest uncapped weight first, so the result does not depend on input order.
    let big = over;
    w.forEach((x, i) => { if (!capped.has(i) && x > w[big]!) big = i; });
    capped.add(big);
  }
}

/**
 * Which badput bucket a refused push's tokens fall in (docs/fault-tolerance.md §1), or null when they are counted
 * elsewhere: a push late for its round was already counted as superseded when the round closed without
 * it, and a duplicate's tokens belong to the push it repeats.
 */
export function badputCause(r: Reason): 'stale' | 'filtered' | 'invalid' | null {
  if (r === 'round-closed' || r === 'round-unknown' || r === 'duplicate' || r === 'no-steps') return null;
  if (r === 'stale-base' || r === 'stale-epoch') return 'stale';
  return r === 'norm-outlier' || r === 'token-claim' ? 'filtered' : 'invalid';
}
