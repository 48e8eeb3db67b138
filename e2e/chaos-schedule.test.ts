import { describe, expect, it } from 'vitest';
import { howMany, parseChaos, parseSeed, pick, rng, timeline } from './chaos-schedule';

describe('parseChaos', () => {
  it('reads every fault of the grammar', () => {
    expect(parseChaos('kill:50%@30s,freeze:1@45s:10s,pause:1m:500ms,drop:10%')).toEqual([
      { kind: 'kill', count: { share: 0.5 }, everyMs: 30_000 },
      { kind: 'freeze', count: { tabs: 1 }, everyMs: 45_000, forMs: 10_000 },
      { kind: 'pause', everyMs: 60_000, forMs: 500 },
      { kind: 'drop', rate: 0.1 },
    ]);
  });

  it.each([
    ['kill:50%', /bad part "kill:50%": expected kill:<count>@<every>/],
    ['kill:50%@30', /"30" is not a positive duration/],
    ['kill:0@30s', /"0" is not a tab count/],
    ['kill:150%@30s', /"150%" is not a percentage/],
    ['freeze:1@45s', /bad part "freeze:1@45s": expected freeze:/],
    ['pause:5s:5s', /never lets the coordinator run/],
    ['drop:10', /"10" is not a percentage/],
    ['drop:1%,drop:2%', /drop is given more than once/],
    ['kill:1@30s,zap:1', /bad part "zap:1": unknown fault "zap"/],
    ['kill:1@30s,', /bad part "": unknown fault ""/],
  ])('rejects %s, naming the bad part', (spec, message) => {
    expect(() => parseChaos(spec)).toThrow(message);
  });

  it('rejects a seed that is not a whole number', () => {
    expect(parseSeed('7')).toBe(7);
    expect(() => parseSeed('1.5')).toThrow(/--chaos-seed: "1.5"/);
  });
});

describe('the schedule', () => {
  it('fires each periodic fault every period before the end, drop once at 0', () => {
    const at = timeline(parseChaos('kill:1@30s,drop:5%,pause:40s:1s'), 90_000).map((e) => [e.atMs, e.fault.kind]);
    expect(at).toEqual([[0, 'drop'], [30_000, 'kill'], [40_000, 'pause'], [60_000, 'kill'], [80_000, 'pause']]);
  });

  it('rounds a share to whole tabs, at least one, at most those open', () => {
    expect([howMany({ share: 0.5 }, 2), howMany({ share: 0.5 }, 5), howMany({ share: 0.1 }, 3), howMany({ tabs: 4 }, 2), howMany({ share: 1 }, 0)]).toEqual([1, 3, 1, 2, 0]);
  });

  it('picks the same distinct tabs for the same seed', () => {
    const tabs = ['a', 'b', 'c', 'd', 'e'];
    const a = pick(rng(3), tabs, 3), b = pick(rng(3), tabs, 3);
    expect(a).toEqual(b);
    expect(new Set(a).size).toBe(3);
    expect(pick(rng(4), tabs, 9)).toHaveLength(5);
    const r = rng(1);
    for (let i = 0; i < 1000; i++) expect(r()).toSatisfy((x: number) => x >= 0 && x < 1);
  });
});
