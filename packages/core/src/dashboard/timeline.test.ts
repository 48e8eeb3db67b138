import { describe, expect, it } from 'vitest';
import { Timeline, type TimelineInput } from './timeline';

const at = (nowMs: number, o: Partial<TimelineInput> = {}): TimelineInput => ({
  nowMs, mergedTokens: 0, goodput: null, merges: 0, contributorsTotal: 0, bytesIn: 0, bytesOut: 0, learners: [], ...o,
});

describe('Timeline', () => {
  it('takes one point per period with rates over that period', () => {
    const t = new Timeline(1000);
    expect(t.offer(at(0))).toBe(true);
    expect(t.offer(at(500, { bytesIn: 1e6 }))).toBe(false); // within the period: no point
    expect(t.offer(at(2000, { bytesIn: 4000, bytesOut: 10_000, merges: 4, contributorsTotal: 10, goodput: 0.5, learners: [{ id: 'a', tokens: 7 }] }))).toBe(true);
    const p = t.points[1]!;
    expect(p).toEqual({ s: 2, mergedTokens: 0, goodputPct: 50, contributors: 2.5, inKBps: 2, outKBps: 5, learners: { a: 7 } });
    expect(t.points[0]!.contributors).toBeNull();
  });

  it('stays within maxPoints by halving its resolution', () => {
    const t = new Timeline(1000, 10);
    for (let s = 0; s <= 100; s++) t.offer(at(1000 * s, { mergedTokens: s }));
    expect(t.points.length).toBeLessThanOrEqual(10);
    expect(t.points[0]!.s).toBe(0);
    expect(t.points.at(-1)!.s).toBeGreaterThan(80); // the recent end is kept
    const gaps = t.points.slice(1).map((p, i) => p.s - t.points[i]!.s);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(16);
  });

  it('refuses a period that is not positive', () => {
    expect(() => new Timeline(0)).toThrow(/want > 0/);
  });
});
