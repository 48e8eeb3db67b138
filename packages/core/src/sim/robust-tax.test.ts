import { describe, expect, it } from 'vitest';
import { DEFAULT_QUALITY, qualityComparison } from './quality';
import { robustnessTax } from './robust-tax';

describe('robustness tax', () => {
  const o = { ...DEFAULT_QUALITY, seeds: [5, 6], tokens: 20_000 };
  const rows = robustnessTax(o);

  it('runs the quality table\'s Decoupled DiLoCo (K=1 + grace) row as its rda baseline, seed for seed', () => {
    const grace = qualityComparison(o).find((r) => r.method === 'Decoupled DiLoCo (K=1 + grace)')!;
    expect(rows.map((r) => r.merge)).toEqual(['rda', 'centered-clip']);
    expect(rows[0]!.excess).toEqual(grace.excess);
  });

  it('reports the relative cost on held-out loss against the baseline', () => {
    const [rda, cc] = rows as [typeof rows[0], typeof rows[0]];
    expect(rda.relCost).toEqual([0, 0]);
    expect(rda.meanRelCost).toBe(0);
    const [a, b] = cc.evalLoss as [number, number];
    const [ra, rb] = rda.evalLoss as [number, number];
    expect(cc.relCost[0]).toBeCloseTo((a - ra) / ra, 12);
    expect(cc.meanRelCost).toBeCloseTo((a + b - ra - rb) / (ra + rb), 12);
    expect(cc.evalLoss).not.toEqual(rda.evalLoss); // the merge mode reached the syncer
  });
});
