import { describe, expect, it } from 'vitest';
import { DEFAULT_OUTER, makeOuterState, outerStep, type OuterChoice, type OuterStepConfig } from './outer';
import { ConfigError } from './result';
import { makeRng, type Rng } from './rng';

const nesterov = (lr: number, momentum: number): OuterStepConfig => ({ lr, momentum, kind: 'nesterov', delayPeriod: 1 });
const dn = (lr: number, momentum: number, delayPeriod: number): OuterStepConfig =>
  ({ lr, momentum, kind: 'delayed-nesterov', delayPeriod });

function run(cfg: OuterStepConfig, theta0: number[], deltas: number[][]): { theta: number[]; buf: number[]; count: number }[] {
  const theta = Float32Array.from(theta0);
  const state = makeOuterState(theta.length, cfg);
  return deltas.map((d) => {
    outerStep(theta, state, Float32Array.from(d), cfg);
    return { theta: Array.from(theta), buf: Array.from(state.buf), count: state.count };
  });
}

/**
 * Float64 oracle, straight from the formulas in outer.ts: each step has its own mode and period N
 * (1 for Nesterov); a step whose cycle count reaches its N closes the cycle with the cycle's mean Δ.
 */
function reference(cfg: OuterStepConfig, theta0: Float32Array, deltas: Float32Array[], choices?: OuterChoice[]): Float64Array {
  const n = theta0.length;
  const theta = Float64Array.from(theta0), b = new Float64Array(n), acc = new Float64Array(n);
  let count = 0;
  deltas.forEach((d, k) => {
    const c = choices?.[k] ?? cfg;
    const N = c.kind === 'nesterov' ? 1 : c.delayPeriod;
    count++;
    for (let i = 0; i < n; i++) acc[i] = acc[i]! + d[i]!;
    if (count < N) {
      for (let i = 0; i < n; i++) theta[i] = theta[i]! - (cfg.lr * d[i]!) / N;
    } else {
      for (let i = 0; i < n; i++) {
        b[i] = cfg.momentum * b[i]! + acc[i]! / count;
        theta[i] = theta[i]! - cfg.lr * (d[i]! / N + cfg.momentum * b[i]!);
        acc[i] = 0;
      }
      count = 0;
    }
  });
  return theta;
}

const randomVec = (rng: Rng, n: number, scale: number): Float32Array =>
  Float32Array.from({ length: n }, () => rng.normal() * scale);

describe('outerStep: nesterov', () => {
  it('matches three hand-worked scalar steps', () => {
    // η = 0.5, μ = 0.5, Θ = 10, Δ = 2, 4, −2
    // 1: b = 2;              Θ = 10 − 0.5·(2 + 1)      = 8.5
    // 2: b = 1 + 4 = 5;      Θ = 8.5 − 0.5·(4 + 2.5)   = 5.25
    // 3: b = 2.5 − 2 = 0.5;  Θ = 5.25 − 0.5·(−2 + 0.25) = 6.125
    const steps = run(nesterov(0.5, 0.5), [10], [[2], [4], [-2]]);
    expect(steps.map((s) => s.theta[0])).toEqual([8.5, 5.25, 6.125]);
    expect(steps.map((s) => s.buf[0])).toEqual([2, 5, 0.5]);
    expect(steps.map((s) => s.count)).toEqual([0, 0, 0]);
  });

  it('uses DiLoCo defaults η = 0.7, μ = 0.9', () => {
    // b = 1; Θ = 0 − 0.7·(1 + 0.9) = −1.33, then b = 0.9 + 1 = 1.9; Θ = −1.33 − 0.7·(1 + 1.71) = −3.227
    expect(DEFAULT_OUTER.kind).toBe('auto');
    const steps = run({ ...DEFAULT_OUTER, kind: 'nesterov', delayPeriod: 1 }, [0], [[1], [1]]);
    expect(steps[0]!.theta[0]).toBeCloseTo(-1.33, 6);
    expect(steps[1]!.theta[0]).toBeCloseTo(-3.227, 5);
  });

  it('matches a float64 reference on random vectors', () => {
    const rng = makeRng(11);
    const cfg = nesterov(0.7, 0.9);
    const theta = randomVec(rng, 5000, 0.1);
    const deltas = Array.from({ length: 20 }, () => randomVec(rng, 5000, 0.01));
    const want = reference(cfg, theta, deltas);
    const state = makeOuterState(theta.length, cfg);
    for (const d of deltas) outerStep(theta, state, d, cfg);
    expect(state.acc).toBeNull();
    for (let i = 0; i < theta.length; i++) expect(Math.abs(theta[i]! - want[i]!)).toBeLessThan(1e-5 * 0.1 + 1e-6 * Math.abs(want[i]!));
  });
});

describe('outerStep: delayed-nesterov', () => {
  it('matches hand-worked scalar steps (N = 2)', () => {
    // η = 0.5, μ = 0.5, N = 2, Θ = 10, Δ = 2, 4, 6, 8
    // 1 (plain):     acc = 2;   Θ = 10 − 0.5·2/2 = 9.5
    // 2 (momentum):  acc = 6;   b = 0 + 6/2 = 3;     Θ = 9.5 − 0.5·(4/2 + 0.5·3) = 7.75   (net −0.5·(3 + 1.5))
    // 3 (plain):     acc = 6;   Θ = 7.75 − 0.5·6/2 = 6.25
    // 4 (momentum):  acc = 14;  b = 1.5 + 7 = 8.5;   Θ = 6.25 − 0.5·(8/2 + 0.5·8.5) = 2.125
    const steps = run(dn(0.5, 0.5, 2), [10], [[2], [4], [6], [8]]);
    expect(steps.map((s) => s.theta[0])).toEqual([9.5, 7.75, 6.25, 2.125]);
    expect(steps.map((s) => s.buf[0])).toEqual([0, 3, 3, 8.5]);
    expect(steps.map((s) => s.count)).toEqual([1, 0, 1, 0]);
  });

  it('over N merges equals one Nesterov step on their mean', () => {
    // Θ = 1, b = 0, Δ = 3, 6, 9 with N = 3: Nesterov on mean 6 gives b = 6, Θ = 1 − 0.4·(6 + 0.8·6) = −3.32
    const viaDn = run(dn(0.4, 0.8, 3), [1], [[3], [6], [9]]);
    const viaMean = run(nesterov(0.4, 0.8), [1], [[6]]);
    expect(viaDn[2]!.theta[0]).toBeCloseTo(viaMean[0]!.theta[0]!, 6);
    expect(viaDn[2]!.buf[0]).toBe(viaMean[0]!.buf[0]);
  });

  it('with N = 1 is plain Nesterov, bit for bit', () => {
    const rng = makeRng(12);
    const t1 = randomVec(rng, 1000, 1), t2 = Float32Array.from(t1);
    const s1 = makeOuterState(1000, nesterov(0.7, 0.9)), s2 = makeOuterState(1000, dn(0.7, 0.9, 1));
    for (let k = 0; k < 10; k++) {
      const d = randomVec(rng, 1000, 0.05);
      outerStep(t1, s1, d, nesterov(0.7, 0.9));
      outerStep(t2, s2, d, dn(0.7, 0.9, 1));
    }
    expect(new Uint32Array(t2.buffer)).toEqual(new Uint32Array(t1.buffer));
    expect(new Uint32Array(s2.buf.buffer)).toEqual(new Uint32Array(s1.buf.buffer));
  });

  it('matches a float64 reference on random vectors', () => {
    const rng = makeRng(13);
    for (const N of [2, 3, 4]) {
      const cfg = dn(0.7, 0.9, N);
      const theta = randomVec(rng, 3000, 0.1);
      const deltas = Array.from({ length: 17 }, () => randomVec(rng, 3000, 0.01));
      const want = reference(cfg, theta, deltas);
      const state = makeOuterState(theta.length, cfg);
      for (const d of deltas) outerStep(theta, state, d, cfg);
      expect(state.count).toBe(17 % N);
      for (let i = 0; i < theta.length; i++) expect(Math.abs(theta[i]! - want[i]!)).toBeLessThan(1e-6 + 1e-6 * Math.abs(want[i]!));
    }
  });
});

describe('outerStep: modes alternating on one fragment', () => {
  const steps = (choices: OuterChoice[], deltas: number[]): Array<{ theta: number; buf: number; count: number }> => {
    const theta = Float32Array.from([10]), state = makeOuterState(1, { ...DEFAULT_OUTER, lr: 0.5, momentum: 0.5 });
    return choices.map((c, k) => {
      outerStep(theta, state, Float32Array.from([deltas[k]!]), { lr: 0.5, momentum: 0.5, ...c });
      return { theta: theta[0]!, buf: state.buf[0]!, count: state.count };
    });
  };
  const N1: OuterChoice = { kind: 'nesterov', delayPeriod: 1 };
  const DN = (delayPeriod: number): OuterChoice => ({ kind: 'delayed-nesterov', delayPeriod });

  it('closes an open cycle with its mean at a Nesterov merge or when N shrinks (hand-worked)', () => {
    // η = 0.5, μ = 0.5, Θ = 10
    // 1 DN N=2, Δ=2:  plain, acc = 2, count 1;          Θ = 10 − 0.5·2/2              = 9.5
    // 2 Nesterov Δ=4: closes (count 2): b = (2+4)/2 = 3;  Θ = 9.5 − 0.5·(4 + 0.5·3)     = 6.75
    // 3 DN N=4, Δ=8:  plain, acc = 8, count 1;          Θ = 6.75 − 0.5·8/4            = 5.75
    // 4 DN N=2, Δ=−4: count 2 = N closes: b = 1.5 + (8−4)/2 = 3.5; Θ = 5.75 − 0.5·(−2 + 1.75) = 5.875
    // 5 Nesterov Δ=1, no open cycle: b = 1.75 + 1 = 2.75; Θ = 5.875 − 0.5·(1 + 1.375)  = 4.6875
    const s = steps([DN(2), N1, DN(4), DN(2), N1], [2, 4, 8, -4, 1]);
    expect(s.map((x) => x.theta)).toEqual([9.5, 6.75, 5.75, 5.875, 4.6875]);
    expect(s.map((x) => x.buf)).toEqual([0, 3, 3, 3.5, 2.75]);
    expect(s.map((x) => x.count)).toEqual([1, 0, 1, 0, 0]);
  });

  it('matches the float64 reference on random alternations', () => {
    const rng = makeRng(14);
    const cfg = nesterov(0.7, 0.9);
    const theta = randomVec(rng, 2000, 0.1);
    const deltas = Array.from({ length: 40 }, () => randomVec(rng, 2000, 0.01));
    const choices = deltas.map((): OuterChoice => (rng.next() < 0.4 ? N1 : DN(1 + rng.int(5))));
    const want = reference(cfg, theta, deltas, choices);
    const state = makeOuterState(theta.length, { ...cfg, kind: 'auto' });
    deltas.forEach((d, k) => outerStep(theta, state, d, { ...cfg, ...choices[k]! }));
    for (let i = 0; i < theta.length; i++) expect(Math.abs(theta[i]! - want[i]!)).toBeLessThan(1e-6 + 1e-6 * Math.abs(want[i]!));
  });

  it('gets its accumulator at the first cycle it opens, and refuses an open cycle without one', () => {
    const s = makeOuterState(2, DEFAULT_OUTER), theta = Float32Array.from([1, 1]);
    outerStep(theta, s, Float32Array.from([1, 2]), nesterov(0.5, 0.5));
    expect(s.acc).toBeNull();
    outerStep(theta, s, Float32Array.from([1, 2]), dn(0.5, 0.5, 2));
    expect([s.acc && [...s.acc], s.count]).toEqual([[1, 2], 1]);
    expect(() => outerStep(theta, { ...s, acc: null }, Float32Array.from([1, 2]), dn(0.5, 0.5, 2))).toThrow(ConfigError);
    expect(() => outerStep(theta, s, Float32Array.from([1, 2]), DEFAULT_OUTER as OuterStepConfig)).toThrow(ConfigError);
  });
});

describe('outerStep: determinism and errors', () => {
  it('is deterministic', () => {
    const go = (): Float32Array => {
      const rng = makeRng(42);
      const cfg = dn(0.7, 0.9, 3);
      const theta = randomVec(rng, 2000, 1);
      const state = makeOuterState(2000, cfg);
      for (let k = 0; k < 8; k++) outerStep(theta, state, randomVec(rng, 2000, 0.01), cfg);
      return theta;
    };
    expect(new Uint32Array(go().buffer)).toEqual(new Uint32Array(go().buffer));
  });

  it('throws ConfigError on caller bugs', () => {
    const cfg = nesterov(0.7, 0.9);
    const s = makeOuterState(3, cfg);
    expect(() => outerStep(new Float32Array(3), s, new Float32Array(2), cfg)).toThrow(ConfigError);
    expect(() => outerStep(new Float32Array(4), s, new Float32Array(4), cfg)).toThrow(ConfigError);
    expect(() => makeOuterState(3, nesterov(0.7, 1))).toThrow(ConfigError);
    expect(() => makeOuterState(3, nesterov(-1, 0.9))).toThrow(ConfigError);
    expect(() => makeOuterState(3, dn(0.7, 0.9, 0))).toThrow(ConfigError);
    expect(() => makeOuterState(3, dn(0.7, 0.9, 1.5))).toThrow(ConfigError);
    expect(() => makeOuterState(-1, cfg)).toThrow(ConfigError);
  });
});
