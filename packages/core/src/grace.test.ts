import { describe, expect, it } from 'vitest';
import { arrivalsWindowMs, checkGraceConfig, DEFAULT_GRACE, Ema, eq3WindowMs, graceCapMs, NO_GRACE, ResponseTime, type GraceConfig } from './grace';
import { ConfigError } from './result';

describe('Ema', () => {
  it('starts at the first sample, then mixes with alpha', () => {
    const e = new Ema(0.5);
    expect(e.value).toBeUndefined();
    expect(e.update(10)).toBe(10);
    expect(e.update(20)).toBe(15); // 0.5·20 + 0.5·10
    expect(e.update(0)).toBe(7.5); // 0.5·0 + 0.5·15
    expect(e.value).toBe(7.5);
  });

  it('with alpha 0.3', () => {
    const e = new Ema(0.3);
    e.update(100);
    expect(e.update(200)).toBeCloseTo(130, 10); // 0.3·200 + 0.7·100
    expect(e.update(100)).toBeCloseTo(121, 10); // 0.3·100 + 0.7·130
  });

  it('alpha 1 keeps the last sample; bad alpha or samples are caller bugs', () => {
    const e = new Ema(1);
    e.update(3);
    expect(e.update(8)).toBe(8);
    expect(() => new Ema(0)).toThrow(ConfigError);
    expect(() => new Ema(1.5)).toThrow(ConfigError);
    expect(() => new Ema(NaN)).toThrow(ConfigError);
    expect(() => e.update(NaN)).toThrow(ConfigError);
    expect(() => e.update(Infinity)).toThrow(ConfigError);
    expect(e.value).toBe(8);
  });
});

describe('eq3WindowMs (the paper\'s Eq. 3)', () => {
  const cfg: GraceConfig = { ...DEFAULT_GRACE, gamma: 0.5, capMs: 1000, capSteps: 1 };

  it('is γ·(τ·ξ_step − ξ_quorum − ξ_sync) inside the clamp', () => {
    // 0.5·(2·100 − 30 − 20) = 75; cap = min(1000, 1·100) = 100
    expect(eq3WindowMs(cfg, 2, 100, 30, 20)).toBe(75);
    // 0.5·(2·300 − 100 − 50) = 225; cap = 300
    expect(eq3WindowMs(cfg, 2, 300, 100, 50)).toBe(225);
  });

  it('is 0 at browser timings: a 20 ms step against a 40 ms sync (the bug the arrivals rule fixes)', () => {
    // 0.5·(2·20 − 15 − 40) = −7.5 → 0
    expect(eq3WindowMs(DEFAULT_GRACE, 2, 20, 15, 40)).toBe(0);
    expect(eq3WindowMs(cfg, 0, 100, 0, 0)).toBe(0);
  });

  it('clamps to capSteps step times and to capMs', () => {
    // 0.9·(2·100 − 0 − 10) = 171 → one step = 100
    expect(eq3WindowMs({ ...cfg, gamma: 0.9 }, 2, 100, 0, 10)).toBe(100);
    // two steps allowed: 171 stays
    expect(eq3WindowMs({ ...cfg, gamma: 0.9, capSteps: 2 }, 2, 100, 0, 10)).toBeCloseTo(171, 10);
    // 0.5·(2·400 − 10 − 10) = 390; cap = min(250, 400) = 250
    expect(eq3WindowMs({ ...cfg, capMs: 250 }, 2, 400, 10, 10)).toBe(250);
    expect(eq3WindowMs(cfg, 2, 5000, 0, 0)).toBe(1000);
  });

  it('counts unknown ξ_quorum / ξ_sync as 0, and uses capMs until ξ_step is known', () => {
    expect(eq3WindowMs(cfg, 2, 80, undefined, undefined)).toBe(80);
    expect(eq3WindowMs(cfg, 2, 200, 40, undefined)).toBe(180);
    expect(eq3WindowMs(cfg, 2, undefined, 30, 20)).toBe(1000);
    expect(eq3WindowMs(cfg, 2, NaN, 30, 20)).toBe(1000);
  });

  it('refuses γ ≥ 1 and other bad settings', () => {
    expect(() => eq3WindowMs({ ...cfg, gamma: 1 }, 2, 100, 0, 0)).toThrow(ConfigError);
    expect(() => eq3WindowMs({ ...cfg, gamma: -0.1 }, 2, 100, 0, 0)).toThrow(ConfigError);
    expect(() => eq3WindowMs({ ...cfg, capMs: NaN }, 2, 100, 0, 0)).toThrow(ConfigError);
    expect(() => eq3WindowMs({ ...cfg, capSteps: 0 }, 2, 100, 0, 0)).toThrow(ConfigError);
    expect(() => eq3WindowMs({ ...cfg, emaAlpha: 0 }, 2, 100, 0, 0)).toThrow(ConfigError);
    expect(() => checkGraceConfig({ ...cfg, rule: 'sometimes' as 'off' })).toThrow(ConfigError);
  });
});

describe('graceCapMs', () => {
  it('is min(capMs, capSteps · ξ_step), capMs while no step time is known', () => {
    expect(graceCapMs(DEFAULT_GRACE, 20)).toBe(40); // 2 steps of 20 ms
    expect(graceCapMs(DEFAULT_GRACE, 5000)).toBe(2000);
    expect(graceCapMs(DEFAULT_GRACE, undefined)).toBe(2000);
  });
});

describe('ResponseTime', () => {
  it('bounds by srtt + max(4·rttvar, slack) (Jacobson/Karels), hand-worked', () => {
    const r = new ResponseTime();
    expect(r.bound(5)).toBeUndefined();
    r.update(8); // srtt 8, rttvar 4 → 24
    expect(r.bound(5)).toBe(24);
    r.update(16); // rttvar 4 + (|16 − 8| − 4)/4 = 5; srtt 8 + 8/8 = 9 → 29
    expect(r.bound(5)).toBe(29);
    r.update(9); // rttvar 5 + (0 − 5)/4 = 3.75; srtt 9 → 24
    expect(r.bound(5)).toBe(24);
    // Identical answers: rttvar decays toward 0, and the slack keeps a margin
    for (let i = 0; i < 200; i++) r.update(10);
    expect(r.bound(5)).toBeCloseTo(15, 6);
    expect(r.bound(0)).toBeCloseTo(10, 6);
    expect(() => r.update(-1)).toThrow(ConfigError);
    expect(() => r.update(NaN)).toThrow(ConfigError);
  });
});

describe('arrivalsWindowMs', () => {
  it('waits until the latest expected push, never past the cap', () => {
    // quorum at 105; the others are expected at 110 and 120 → 15 ms
    expect(arrivalsWindowMs(40, 105, [110, 120])).toBe(15);
    // one expected at 300: a straggler beyond the 40 ms cap → 40
    expect(arrivalsWindowMs(40, 105, [110, 300])).toBe(40);
    // a learner with no response time yet may take the whole cap
    expect(arrivalsWindowMs(40, 105, [110, undefined])).toBe(40);
    // nobody left to wait for, or all expected before the quorum → 0
    expect(arrivalsWindowMs(40, 105, [])).toBe(0);
    expect(arrivalsWindowMs(40, 105, [100])).toBe(0);
  });

  it('defaults: the arrivals rule, γ = 0.5, 2 steps, 2 s', () => {
    expect(DEFAULT_GRACE).toEqual({ rule: 'arrivals', gamma: 0.5, capMs: 2000, capSteps: 2, slackMs: 5, emaAlpha: 0.3 });
    expect(NO_GRACE.rule).toBe('off');
  });
});
