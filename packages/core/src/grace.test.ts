import { describe, expect, it } from 'vitest';
import { DEFAULT_GRACE, Ema, graceWindowMs, type GraceConfig } from './grace';
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

describe('graceWindowMs', () => {
  const cfg: GraceConfig = { gamma: 0.5, tau: 2, capMs: 1000, emaAlpha: 0.3 };

  it('is γ·(τ·ξ_step − ξ_quorum − ξ_sync) inside the clamp', () => {
    // 0.5·(2·100 − 30 − 20) = 75; cap = min(1000, 100) = 100
    expect(graceWindowMs(cfg, 100, 30, 20)).toBe(75);
    // 0.5·(2·300 − 100 − 50) = 225; cap = 300
    expect(graceWindowMs(cfg, 300, 100, 50)).toBe(225);
  });

  it('clamps to 0 when quorum and sync eat the overlap', () => {
    // 0.5·(2·100 − 150 − 100) = −25 → 0
    expect(graceWindowMs(cfg, 100, 150, 100)).toBe(0);
    expect(graceWindowMs({ ...cfg, tau: 0 }, 100, 0, 0)).toBe(0);
  });

  it('clamps to one step time and to capMs', () => {
    // 0.9·(2·100 − 0 − 10) = 171 → one step = 100
    expect(graceWindowMs({ ...cfg, gamma: 0.9 }, 100, 0, 10)).toBe(100);
    // 0.5·(2·400 − 10 − 10) = 390; cap = min(250, 400) = 250
    expect(graceWindowMs({ ...cfg, capMs: 250 }, 400, 10, 10)).toBe(250);
    // A very slow learner cannot stretch the window past capMs: 0.5·(2·5000) = 5000 → 1000
    expect(graceWindowMs(cfg, 5000, 0, 0)).toBe(1000);
  });

  it('counts unknown ξ_quorum / ξ_sync as 0, and uses the cap until ξ_step is known', () => {
    // 0.5·(2·80 − 0 − 0) = 80; cap = 80
    expect(graceWindowMs(cfg, 80, undefined, undefined)).toBe(80);
    // 0.5·(2·200 − 40 − 0) = 180
    expect(graceWindowMs(cfg, 200, 40, undefined)).toBe(180);
    expect(graceWindowMs(cfg, undefined, 30, 20)).toBe(1000);
    expect(graceWindowMs({ ...cfg, capMs: 300 }, undefined, undefined, undefined)).toBe(300);
    expect(graceWindowMs(cfg, NaN, 30, 20)).toBe(1000);
  });

  it('is off with γ = 0, and refuses γ ≥ 1 or other bad settings', () => {
    expect(graceWindowMs({ ...cfg, gamma: 0 }, 100, 0, 0)).toBe(0);
    expect(graceWindowMs({ ...cfg, gamma: 0 }, undefined, undefined, undefined)).toBe(0);
    expect(() => graceWindowMs({ ...cfg, gamma: 1 }, 100, 0, 0)).toThrow(ConfigError);
    expect(() => graceWindowMs({ ...cfg, gamma: -0.1 }, 100, 0, 0)).toThrow(ConfigError);
    expect(() => graceWindowMs({ ...cfg, tau: -1 }, 100, 0, 0)).toThrow(ConfigError);
    expect(() => graceWindowMs({ ...cfg, capMs: NaN }, 100, 0, 0)).toThrow(ConfigError);
    expect(() => graceWindowMs({ ...cfg, emaAlpha: 0 }, 100, 0, 0)).toThrow(ConfigError);
  });

  it('defaults follow algorithm.md §3.2', () => {
    expect(DEFAULT_GRACE).toEqual({ gamma: 0.5, tau: 2, capMs: 1000, emaAlpha: 0.3 });
    expect(graceWindowMs(DEFAULT_GRACE, 100, 30, 20)).toBe(75);
  });
});
