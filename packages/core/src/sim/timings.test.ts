import { describe, expect, it } from 'vitest';
import { ConfigError } from '../result';
import { makeRng } from '../rng';
import { commitMs, parseTimings, stepPeriodMs, TIMINGS } from './timings';

const mean = (n: number, draw: () => number): number => Array.from({ length: n }, draw).reduce((a, b) => a + b, 0) / n;

describe('timing presets', () => {
  // The calibration targets of the browser preset, as measured by `npm run swarm` (timings.ts): a step
  // period of 32.2 ms from the step counters, and a mean commit of 53 ms (the coordinator's commit EMA).
  it('browser: the mean step period and the mean commit are the measured ones', () => {
    const t = TIMINGS.browser, rng = makeRng(5);
    expect(mean(40_000, () => stepPeriodMs(t, t.stepMs, rng)) / 32.2).toBeCloseTo(1, 1);
    expect(mean(40_000, () => commitMs(t, rng)) / 53).toBeCloseTo(1, 1);
  });

  it('paper: steps within ±10% of the median, instant commits that draw nothing', () => {
    const t = TIMINGS.paper, rng = makeRng(5), twin = makeRng(5);
    const steps = Array.from({ length: 1000 }, () => stepPeriodMs(t, 100, rng));
    expect(Math.min(...steps)).toBeGreaterThanOrEqual(90);
    expect(Math.max(...steps)).toBeLessThan(110);
    for (let i = 0; i < 1000; i++) twin.next();
    expect(commitMs(t, rng)).toBe(0);
    expect(rng.next()).toBe(twin.next());
  });

  it('parses the preset names and refuses others', () => {
    expect(parseTimings('browser')).toBe('browser');
    expect(() => parseTimings('fast')).toThrow(ConfigError);
  });
});
