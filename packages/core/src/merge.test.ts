import { describe, expect, it } from 'vitest';
import { mergeOuterGradient, tokenWeight, type Contribution, type MergeMode, type TensorRange } from './merge';
import { ConfigError } from './result';
import { makeRng, type Rng } from './rng';

const dense = (dstOffset: number, size: number): TensorRange => ({ kind: 'dense', dstOffset, size });
const emb = (dstOffset: number, size: number): TensorRange => ({ kind: 'embedding', dstOffset, size });
const c = (values: number[], weight: number): Contribution => ({ delta: Float32Array.from(values), weight });
const norm = (v: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
};

/** Naive float64 oracle written straight from the formulas of docs/method.md §5. */
function reference(contribs: readonly Contribution[], ranges: readonly TensorRange[], mode: MergeMode): Float64Array {
  const n = contribs[0]!.delta.length;
  const M = contribs.length;
  const total = contribs.reduce((s, x) => s + x.weight, 0);
  const w = contribs.map((x) => (mode === 'mean' || total === 0 ? 1 / M : x.weight / total));
  const out = new Float64Array(n);
  const covered = new Array<boolean>(n).fill(false);
  const mean = (lo: number, hi: number): void => {
    for (let i = lo; i < hi; i++) out[i] = contribs.reduce((s, x, m) => s + w[m]! * x.delta[i]!, 0);
  };
  for (const r of ranges) {
    const lo = r.dstOffset, hi = r.dstOffset + r.size;
    for (let i = lo; i < hi; i++) covered[i] = true;
    if (mode !== 'rda' || r.kind === 'embedding') { mean(lo, hi); continue; }
    const slices = contribs.map((x) => Array.from(x.delta.subarray(lo, hi)));
    const norms = slices.map(norm);
    const phi = slices.map((s, m) => s.map((v) => (norms[m]! === 0 ? 0 : v / norms[m]!)));
    const radius = norms.reduce((s, x, m) => s + w[m]! * x, 0);
    const u = new Array<number>(hi - lo).fill(0).map((_, j) => phi.reduce((s, p, m) => s + w[m]! * p[j]!, 0));
    const reach = norms.reduce((s, x, m) => s + (x > 0 ? w[m]! : 0), 0);
    if (norm(u) <= 1e-6 * reach) { mean(lo, hi); continue; }
    for (let j = 0; j < u.length; j++) out[lo + j] = (radius * u[j]!) / norm(u);
  }
  for (let i = 0; i < n; i++) if (!covered[i]) mean(i, i + 1);
  return out;
}

/**
 * The straightforward element-major merge (for each element, over contributors) in 'rda' mode, with
 * the same float64 additions in the same order as merge.ts: its output must match bit for bit.
 */
function elementMajorRda(contribs: readonly Contribution[], ranges: readonly TensorRange[]): Float32Array {
  const n = contribs[0]!.delta.length, M = contribs.length;
  const total = contribs.reduce((s, x) => s + x.weight, 0);
  const w = contribs.map((x) => (total === 0 ? 1 / M : x.weight / total));
  const out = new Float32Array(n);
  const mean = (lo: number, hi: number): void => {
    for (let i = lo; i < hi; i++) {
      let s = 0;
      for (let m = 0; m < M; m++) s += w[m]! * contribs[m]!.delta[i]!;
      out[i] = s;
    }
  };
  mean(0, n);
  for (const r of ranges) {
    if (r.kind !== 'dense') continue;
    const lo = r.dstOffset, hi = r.dstOffset + r.size;
    let radius = 0, reach = 0, uSq = 0;
    const coef = contribs.map((c, m) => {
      let sq = 0;
      for (let i = lo; i < hi; i++) sq += c.delta[i]! * c.delta[i]!;
      const norm = Math.sqrt(sq);
      radius += w[m]! * norm;
      if (norm > 0) reach += w[m]!;
      return norm > 0 ? w[m]! / norm : 0;
    });
    for (let i = lo; i < hi; i++) {
      let s = 0;
      for (let m = 0; m < M; m++) s += coef[m]! * contribs[m]!.delta[i]!;
      out[i] = s;
      uSq += s * s;
    }
    const uNorm = Math.sqrt(uSq);
    if (!(uNorm > 1e-6 * reach)) { mean(lo, hi); continue; }
    for (let i = lo; i < hi; i++) out[i] = out[i]! * (radius / uNorm);
  }
  return out;
}

const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

function randomDelta(rng: Rng, n: number, scale: number): Float32Array {
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = rng.normal() * scale;
  return d;
}

function expectClose(got: Float32Array, want: ArrayLike<number>, rel: number): void {
  expect(got.length).toBe(want.length);
  let maxAbs = 0;
  for (let i = 0; i < want.length; i++) maxAbs = Math.max(maxAbs, Math.abs(want[i]!));
  for (let i = 0; i < want.length; i++) {
    expect(Number.isFinite(got[i]!)).toBe(true);
    if (Math.abs(got[i]! - want[i]!) > rel * maxAbs + 1e-30) {
      throw new Error(`element ${i}: got ${got[i]} want ${want[i]} (tolerance ${rel} × ${maxAbs})`);
    }
  }
}

describe('tokenWeight', () => {
  it('is c_tokens² / c_steps below the cap', () => {
    expect(tokenWeight(1000, 10, 48)).toBe(100_000); // 100 tokens/step, 10 steps → 100² · 10
    expect(tokenWeight(500, 10, 48)).toBe(25_000); // half the batch: a quarter of the weight
    expect(tokenWeight(4800, 48, 48)).toBe(480_000); // exactly at the cap: unchanged
    expect(tokenWeight(1000, 10, Infinity)).toBe(100_000);
  });
  it('caps the steps counted while keeping tokens per step', () => {
    // 100 steps of 100 tokens, cap 48 (= 2H, H = 24): counts as 48 steps of 100 tokens.
    expect(tokenWeight(10_000, 100, 48)).toBe(480_000);
    expect(tokenWeight(10_000, 100, Infinity)).toBe(1_000_000);
    // Past the cap, training longer offline no longer increases the weight.
    expect(tokenWeight(100_000, 1000, 48)).toBe(tokenWeight(4800, 48, 48));
  });
  it('is 0 without steps or tokens, and refuses a bad cap', () => {
    expect(tokenWeight(0, 10, 48)).toBe(0);
    expect(tokenWeight(1000, 0, 48)).toBe(0);
    expect(tokenWeight(-5, 10, 48)).toBe(0);
    expect(tokenWeight(1000, -1, 48)).toBe(0);
    expect(tokenWeight(NaN, 10, 48)).toBe(0);
    expect(tokenWeight(1000, Infinity, 48)).toBe(0);
    expect(() => tokenWeight(1000, 10, 0)).toThrow(ConfigError);
    expect(() => tokenWeight(1000, 10, NaN)).toThrow(ConfigError);
  });
});

describe('mergeOuterGradient: hand-worked two learners', () => {
  // Δ1 = [3, 4 | 1, 2], w1 = 1 (‖dense‖ = 5);  Δ2 = [0, 2 | 5, −2], w2 = 3 (‖dense‖ = 2).
  // Normalised weights 0.25, 0.75. Dense tensor at [0, 2), embedding at [2, 4).
  const contribs = [c([3, 4, 1, 2], 1), c([0, 2, 5, -2], 3)];
  const ranges = [dense(0, 2), emb(2, 2)];

  it('weighted-mean', () => {
    // 0.25·[3, 4, 1, 2] + 0.75·[0, 2, 5, −2] = [0.75, 2.5, 4, −1]
    expect(Array.from(mergeOuterGradient(contribs, ranges, 'weighted-mean'))).toEqual([0.75, 2.5, 4, -1]);
  });
  it('mean ignores weights', () => {
    // 0.5·[3, 4, 1, 2] + 0.5·[0, 2, 5, −2] = [1.5, 3, 3, 0]
    expect(Array.from(mergeOuterGradient(contribs, ranges, 'mean'))).toEqual([1.5, 3, 3, 0]);
  });
  it('rda on the dense tensor, weighted mean on the embedding', () => {
    // R = 0.25·5 + 0.75·2 = 2.75;  u = 0.25·[0.6, 0.8] + 0.75·[0, 1] = [0.15, 0.95];  ‖u‖ = √0.925
    // D = 2.75·[0.15, 0.95]/√0.925 = [0.428897…, 2.716348…];  embedding = [4, −1] as in weighted-mean.
    const got = mergeOuterGradient(contribs, ranges, 'rda');
    expect(got[0]).toBeCloseTo(0.42889707705077995, 6);
    expect(got[1]).toBeCloseTo(2.7163481546549395, 6);
    expect(Array.from(got.subarray(2))).toEqual([4, -1]);
    expect(norm(got.subarray(0, 2))).toBeCloseTo(2.75, 6); // radius = weighted mean of norms
  });
});

describe('mergeOuterGradient: oracle', () => {
  it('matches a naive float64 implementation on seeded random inputs', () => {
    const rng = makeRng(20240601);
    for (let trial = 0; trial < 60; trial++) {
      const M = 1 + rng.int(6);
      // A layout with tensors of mixed kinds, listed out of order, leaving gaps between some.
      const ranges: TensorRange[] = [];
      let at = rng.int(3);
      for (let t = 0; t < 1 + rng.int(5); t++) {
        const size = rng.int(40);
        ranges.push({ kind: rng.next() < 0.3 ? 'embedding' : 'dense', dstOffset: at, size });
        at += size + (rng.next() < 0.3 ? rng.int(4) : 0);
      }
      const n = at + rng.int(3);
      ranges.reverse();
      const scale = 10 ** (rng.int(7) - 4); // outer gradients from 1e-4 to 1e2
      const contribs = Array.from({ length: M }, () => ({
        delta: randomDelta(rng, n, scale * (0.2 + rng.next())),
        weight: rng.next() < 0.15 ? 0 : rng.next() * 1e4,
      }));
      for (const mode of ['rda', 'weighted-mean', 'mean'] as const) {
        expectClose(mergeOuterGradient(contribs, ranges, mode), reference(contribs, ranges, mode), 1e-5);
      }
      // The means are the oracle's in-order float64 sums exactly, rounded once to fp32.
      for (const mode of ['weighted-mean', 'mean'] as const) {
        expect(bits(mergeOuterGradient(contribs, ranges, mode))).toEqual(bits(Float32Array.from(reference(contribs, ranges, mode))));
      }
      expect(bits(mergeOuterGradient(contribs, ranges, 'rda'))).toEqual(bits(elementMajorRda(contribs, ranges)));
    }
  });

  it('gives the element-major bits on tensors spanning several accumulation chunks', () => {
    const rng = makeRng(4242);
    const n = 9000; // chunks of 2,048: ranges start and end inside chunks
    const contribs = [0, 1, 2, 3, 4].map(() => ({ delta: randomDelta(rng, n, 1e-3), weight: rng.next() }));
    const ranges = [dense(0, 4100), emb(4100, 1500), dense(5600, 3000)]; // elements 8600.. uncovered
    for (const M of [1, 3, 4, 5]) {
      const cs = contribs.slice(0, M);
      expect(bits(mergeOuterGradient(cs, ranges, 'rda'))).toEqual(bits(elementMajorRda(cs, ranges)));
      expect(bits(mergeOuterGradient(cs, ranges, 'weighted-mean'))).toEqual(bits(Float32Array.from(reference(cs, ranges, 'weighted-mean'))));
    }
  });

  it('uses equal weights when every weight is 0', () => {
    const rng = makeRng(7);
    const contribs = [0, 1, 2].map(() => ({ delta: randomDelta(rng, 50, 1), weight: 0 }));
    const ranges = [dense(0, 30), emb(30, 20)];
    const equal = contribs.map((x) => ({ ...x, weight: 1 }));
    for (const mode of ['rda', 'weighted-mean'] as const) {
      expect(mergeOuterGradient(contribs, ranges, mode)).toEqual(mergeOuterGradient(equal, ranges, mode));
    }
    expect(mergeOuterGradient(contribs, ranges, 'weighted-mean')).toEqual(mergeOuterGradient(equal, ranges, 'mean'));
  });

  it('is invariant to scaling all weights', () => {
    const rng = makeRng(99);
    const contribs = [0, 1, 2, 3].map(() => ({ delta: randomDelta(rng, 300, 0.01), weight: 1 + rng.int(1000) }));
    const scaled = contribs.map((x) => ({ ...x, weight: x.weight * 7 }));
    const ranges = [dense(0, 100), emb(100, 100), dense(200, 100)];
    for (const mode of ['rda', 'weighted-mean', 'mean'] as const) {
      const a = mergeOuterGradient(contribs, ranges, mode);
      const b = mergeOuterGradient(scaled, ranges, mode);
      expectClose(b, a, 1e-7);
    }
  });

  it('is deterministic and writes into a supplied buffer', () => {
    const rng = makeRng(3);
    const contribs = [0, 1, 2].map(() => ({ delta: randomDelta(rng, 1000, 1), weight: rng.next() }));
    const ranges = [dense(0, 600), emb(600, 400)];
    const out = new Float32Array(1000).fill(NaN);
    const a = mergeOuterGradient(contribs, ranges, 'rda', out);
    expect(a).toBe(out);
    const b = mergeOuterGradient(contribs, ranges, 'rda');
    expect(new Uint32Array(b.buffer)).toEqual(new Uint32Array(a.buffer));
  });
});

describe('mergeOuterGradient: RDA properties', () => {
  it.each([2, 4, 8, 16])('keeps the norm of %i near-orthogonal deltas, where the mean shrinks by √M', (M) => {
    const rng = makeRng(1000 + M);
    const dim = 10_000, R = 3;
    const contribs = Array.from({ length: M }, () => {
      const d = randomDelta(rng, dim, 1);
      const k = R / norm(d);
      for (let i = 0; i < dim; i++) d[i] = d[i]! * k;
      return { delta: d, weight: 0.5 + rng.next() };
    });
    const ranges = [dense(0, dim)];
    const rdaNorm = norm(mergeOuterGradient(contribs, ranges, 'rda'));
    const meanNorm = norm(mergeOuterGradient(contribs, ranges, 'mean'));
    expect(Math.abs(rdaNorm - R) / R).toBeLessThan(0.02);
    expect(Math.abs(meanNorm - R / Math.sqrt(M)) / (R / Math.sqrt(M))).toBeLessThan(0.05);
  });

  it('falls back to the weighted mean when directions cancel, never NaN', () => {
    // Opposite equal deltas: mean direction is exactly 0 → weighted mean = 0.
    const z = mergeOuterGradient([c([1, -2, 3], 1), c([-1, 2, -3], 1)], [dense(0, 3)], 'rda');
    expect(Array.from(z)).toEqual([0, 0, 0]);
    // Opposite directions of different norms: direction cancels, weighted mean does not.
    const f = mergeOuterGradient([c([1, 2], 1), c([-2, -4], 1)], [dense(0, 2)], 'rda');
    expect(Array.from(f)).toEqual([-0.5, -1]);
    // All-zero deltas (e.g. a frozen tensor): zeros.
    const zeros = mergeOuterGradient([c([0, 0], 1), c([0, 0], 2)], [dense(0, 2)], 'rda');
    expect(Array.from(zeros)).toEqual([0, 0]);
  });

  it('treats a zero delta as φ(0) = 0 that still counts in the radius', () => {
    // Δ1 = [3, 4] (w 1), Δ2 = 0 (w 1): R = 2.5, direction φ([3, 4]) → [1.5, 2].
    const got = mergeOuterGradient([c([3, 4], 1), c([0, 0], 1)], [dense(0, 2)], 'rda');
    expect(got[0]).toBeCloseTo(1.5, 6);
    expect(got[1]).toBeCloseTo(2, 6);
  });

  it('uses the weighted mean on embedding ranges in rda mode, bit for bit', () => {
    const rng = makeRng(5);
    const contribs = [0, 1, 2, 3].map(() => ({ delta: randomDelta(rng, 200, 1), weight: rng.next() }));
    const ranges = [emb(0, 120), dense(120, 80)];
    const rda = mergeOuterGradient(contribs, ranges, 'rda');
    const wm = mergeOuterGradient(contribs, ranges, 'weighted-mean');
    expect(rda.subarray(0, 120)).toEqual(wm.subarray(0, 120));
    expect(rda.subarray(120)).not.toEqual(wm.subarray(120));
  });

  it('normalises per tensor, not per fragment', () => {
    // Two dense tensors with very different scales: each keeps its own radius.
    const contribs = [c([1, 0, 100, 0], 1), c([0, 1, 0, 100], 1)];
    const got = mergeOuterGradient(contribs, [dense(0, 2), dense(2, 2)], 'rda');
    expect(norm(got.subarray(0, 2))).toBeCloseTo(1, 6);
    expect(norm(got.subarray(2, 4))).toBeCloseTo(100, 4);
  });
});

describe('mergeOuterGradient: layout edge cases', () => {
  it('accepts empty tensors anywhere and merges uncovered elements with the weighted mean', () => {
    const contribs = [c([3, 4, 8], 1), c([0, 2, 0], 3)];
    // [0, 2) dense with an empty tensor at offset 0 and 2; element 2 belongs to no range.
    const got = mergeOuterGradient(contribs, [dense(0, 0), dense(0, 2), emb(2, 0)], 'rda');
    expect(got[0]).toBeCloseTo(0.42889707705077995, 6);
    expect(got[2]).toBe(2); // 0.25·8 + 0.75·0
    expect(Array.from(mergeOuterGradient(contribs, [], 'weighted-mean'))).toEqual([0.75, 2.5, 2]);
  });
});

describe('mergeOuterGradient: caller bugs', () => {
  const ok = [c([1, 2], 1), c([3, 4], 1)];
  it('throws ConfigError', () => {
    expect(() => mergeOuterGradient([], [], 'rda')).toThrow(ConfigError);
    expect(() => mergeOuterGradient([c([1, 2], 1), c([1], 1)], [], 'rda')).toThrow(ConfigError);
    expect(() => mergeOuterGradient([c([1, 2], -1), c([3, 4], 1)], [], 'rda')).toThrow(ConfigError);
    expect(() => mergeOuterGradient([c([1, 2], NaN), c([3, 4], 1)], [], 'rda')).toThrow(ConfigError);
    expect(() => mergeOuterGradient(ok, [dense(0, 3)], 'rda')).toThrow(ConfigError);
    expect(() => mergeOuterGradient(ok, [dense(0, 2), dense(1, 1)], 'rda')).toThrow(ConfigError);
    expect(() => mergeOuterGradient(ok, [dense(0.5, 1)], 'rda')).toThrow(ConfigError);
    expect(() => mergeOuterGradient(ok, [], 'rda', new Float32Array(3))).toThrow(ConfigError);
    expect(() => mergeOuterGradient(ok, [], 'rda', ok[0]!.delta)).toThrow(ConfigError);
  });
});
