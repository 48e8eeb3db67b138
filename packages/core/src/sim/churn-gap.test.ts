import { describe, expect, it } from 'vitest';
import { lossAtMerged } from '../loss-curve';
import { churnGap, DEFAULT_CHURN_GAP, tCritical95 } from './churn-gap';

describe('churn loss gap (docs/fault-tolerance.md §6, in the simulator)', () => {
  it('interpolates the loss curve by merged tokens (hand-worked)', () => {
    const curve = [{ tokens: 0, merged: 0, loss: 2 }, { tokens: 10, merged: 4, loss: 1 }, { tokens: 20, merged: 8, loss: 0.5 }];
    expect(lossAtMerged(curve, 2)).toBeCloseTo(1.5, 12);
    expect(lossAtMerged(curve, 6)).toBeCloseTo(0.75, 12);
    expect(lossAtMerged(curve, 99)).toBe(0.5);
    expect(tCritical95(2)).toBe(4.303);
    expect(tCritical95(100)).toBe(1.96);
  });

  // Three seeds here (≈20 s); `npm run sim -- --churn` runs ten. Killing half the learners every 270 steps
  // must cost no more than max(5%, 2σ) of held-out loss at equal committed tokens, on the mean of the seeds.
  const o = { ...DEFAULT_CHURN_GAP, seeds: [1, 2, 3] };
  const r = churnGap(o);

  it('churns for real: many sessions contribute, none of them honest pushes refused as outliers', () => {
    // 4 learners, 2 replaced every 27 s for ≈270 s: 4 + 2·9 = 22 or more sessions can push.
    for (const p of r.pairs) expect(p.sessions).toBeGreaterThanOrEqual(20);
    // A fresh tab's first pushes are small (local warmup): the norm cap must not then lock out full ones.
    expect(r.pairs.map((p) => p.normOutliers)).toEqual([0, 0, 0]);
    for (const p of r.pairs) expect(p.merged).toBeGreaterThan(0.9 * o.tokens);
  });

  it('keeps the loss at equal committed tokens within max(5%, 2σ) of the fault-free run', () => {
    expect(r.limit).toBeGreaterThanOrEqual(0.05);
    expect(Math.abs(r.meanGap)).toBeLessThanOrEqual(r.limit);
    expect(r.pass).toBe(true);
  });
});
