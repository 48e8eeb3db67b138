import { describe, expect, it } from 'vitest';
import { compareRuns, lossAtTokens, secondsToLoss, trainedCurve, type LossPoint } from './compare-runs';

const curve = (pts: Array<[number, number, number]>): LossPoint[] => pts.map(([tokens, loss, s]) => ({ tokens, loss, at: 1000 * s }));

describe('comparing swarm runs', () => {
  const fast = curve([[0, 2.3, 0], [100, 1.3, 10], [300, 0.9, 20]]);
  const slow = curve([[0, 2.3, 0], [200, 1.5, 40], [250, 1.0, 80]]);

  it('interpolates loss linearly in merged tokens, and says nothing past a curve\'s end', () => {
    expect(lossAtTokens(fast, 50)).toBeCloseTo(1.8, 12); // halfway from 2.3 to 1.3
    expect(lossAtTokens(fast, 200)).toBeCloseTo(1.1, 12);
    expect(lossAtTokens(fast, 0)).toBe(2.3);
    expect(lossAtTokens(fast, 301)).toBeUndefined();
  });

  it('times the first evaluation at or below the target from the first evaluation', () => {
    expect(secondsToLoss(slow, 1.5)).toBe(40);
    expect(secondsToLoss(slow, 0.5)).toBeNull();
  });

  it('compares at the merged tokens every run reached, and the worst best loss by default', () => {
    const c = compareRuns([{ name: 'fast', curve: fast }, { name: 'slow', curve: slow }]);
    expect(c.atTokens).toBe(250);
    expect(c.target).toBe(1.0);
    expect(c.runs.map((r) => [r.name, r.lossAtTokens, r.secondsToTarget])).toEqual([['fast', expect.closeTo(1.0, 12), 20], ['slow', 1.0, 80]]);
    expect(compareRuns([{ name: 'fast', curve: fast }], 1.3).runs[0]!.secondsToTarget).toBe(10);
    expect(() => compareRuns([{ name: 'x', curve: fast.slice(0, 1) }])).toThrow(/two evaluations/);
  });

  it('re-indexes a curve by trained tokens between samples, and drops evaluations past the last sample', () => {
    // Merged 100 while 200 were trained, then 300 merged of 400 trained: 50 merged is halfway to the first sample.
    const progress = [{ merged: 100, trained: 200 }, { merged: 300, trained: 400 }];
    const t = trainedCurve(curve([[0, 2.3, 0], [50, 2.0, 5], [200, 1.1, 15], [300, 0.9, 20], [350, 0.8, 25]]), progress);
    expect(t.map((p) => [p.tokens, p.loss])).toEqual([[0, 2.3], [100, 2.0], [300, 1.1], [400, 0.9]]);
  });

  it('compares at the trained tokens every run reached when every run has samples', () => {
    // fast trained twice what it merged; slow trained what it merged: at 250 trained tokens fast has merged 125.
    const c = compareRuns([
      { name: 'fast', curve: fast, progress: [{ merged: 300, trained: 600 }] },
      { name: 'slow', curve: slow, progress: [{ merged: 250, trained: 250 }] },
    ]);
    expect(c.atTrained).toBe(250);
    expect(c.runs[0]!.lossAtTrained).toBeCloseTo(lossAtTokens(fast, 125)!, 12); // 1.3 - 0.4 * 25/200 = 1.25
    expect(c.runs[0]!.lossAtTrained).toBeCloseTo(1.25, 12);
    expect(c.runs[1]!.lossAtTrained).toBe(1.0);
    expect(compareRuns([{ name: 'fast', curve: fast }]).atTrained).toBeUndefined();
  });

  it('compares at a stated token count when asked, and refuses one past a run\'s end', () => {
    const c = compareRuns([{ name: 'fast', curve: fast, progress: [{ merged: 300, trained: 600 }] }, { name: 'slow', curve: slow, progress: [{ merged: 250, trained: 250 }] }], undefined, 200);
    expect([c.atTokens, c.atTrained]).toEqual([200, 200]);
    expect(c.runs.map((r) => r.lossAtTokens)).toEqual([expect.closeTo(1.1, 12), 1.5]);
    expect(c.runs[0]!.lossAtTrained).toBeCloseTo(1.3, 12); // 200 trained = 100 merged
    expect(() => compareRuns([{ name: 'slow', curve: slow }], undefined, 251)).toThrow(/past the 250 merged tokens/);
  });
});
