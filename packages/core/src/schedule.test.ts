import { describe, expect, it } from 'vitest';
import { DEFAULT_LR, localWarmup, lrAt, meanLocalWarmup } from './schedule';

describe('lrAt', () => {
  const s = { peak: 1e-3, warmup: 0.1, floor: 0.1, start: 0 };
  it('warms up linearly, follows a cosine to the floor, then stays there (hand-worked values)', () => {
    expect(lrAt(0, s)).toBe(0);
    expect(lrAt(0.05, s)).toBeCloseTo(5e-4, 12);
    expect(lrAt(0.1, s)).toBeCloseTo(1e-3, 12);
    expect(lrAt(0.55, s)).toBeCloseTo(5.5e-4, 12); // cosine midpoint: (peak + floor) / 2
    expect(lrAt(1, s)).toBeCloseTo(1e-4, 12);
    expect(lrAt(3, s)).toBeCloseTo(1e-4, 12);
    expect(lrAt(0, { ...s, warmup: 0 })).toBeCloseTo(1e-3, 12); // no warmup
  });
  it('never returns 0 during warmup when start > 0', () => {
    expect(lrAt(0, { ...s, start: 0.05 })).toBeCloseTo(5e-5, 12);
    expect(lrAt(0.05, { ...s, start: 0.05 })).toBeCloseTo(5e-4, 12); // past start, the ramp rules
    expect(lrAt(0)).toBeCloseTo(DEFAULT_LR.peak * DEFAULT_LR.start, 12);
  });
  it('refuses nonsense with the name of what is wrong', () => {
    expect(() => lrAt(Number.NaN, s)).toThrow(/progress/);
    expect(() => lrAt(-0.1, s)).toThrow(/progress/);
    expect(() => lrAt(0.5, { ...s, warmup: 1 })).toThrow(/warmup/);
    expect(() => lrAt(0.5, { ...s, floor: 2 })).toThrow(/floor/);
    expect(() => lrAt(0.5, { ...s, peak: 0 })).toThrow(/peak/);
  });
});

describe('local warmup', () => {
  it('ramps from 1/W to 1 over W steps (hand-worked, W = 50)', () => {
    expect(localWarmup(0)).toBeCloseTo(0.02, 12);
    expect(localWarmup(24)).toBeCloseTo(0.5, 12);
    expect(localWarmup(49)).toBe(1);
    expect(localWarmup(1000)).toBe(1);
    // Steps 0–3 of W = 4: (1 + 2 + 3 + 4) / 4 / 4 = 0.625.
    expect(meanLocalWarmup(4, 4, 4)).toBeCloseTo(0.625, 12);
  });
  it('has the mean of the per-step factors, for any window (closed form against a loop)', () => {
    for (const W of [1, 2, 7, 50]) {
      for (let t = 0; t < 130; t += 3) {
        for (const n of [1, 4, 16, 33, 200]) {
          const ks = Array.from({ length: n }, (_, i) => t - n + i).filter((k) => k >= 0);
          const want = ks.length ? ks.reduce((s, k) => s + localWarmup(k, W), 0) / ks.length : 1;
          expect(meanLocalWarmup(t, n, W)).toBeCloseTo(want, 12);
        }
      }
    }
    expect(meanLocalWarmup(2 ** 32 - 1, 2 ** 32 - 1)).toBeGreaterThan(0.99); // no loop over a hostile claim
  });
});

