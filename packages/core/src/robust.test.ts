import { describe, expect, it } from 'vitest';
import { mergeOuterGradient, type Contribution, type TensorRange } from './merge';
import { CC_ITERATIONS, weightedMedian } from './robust';
import { makeRng, type Rng } from './rng';

const c = (values: number[], weight: number): Contribution => ({ delta: Float32Array.from(values), weight });
const dist = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
};

/** Lower weighted median, straight from its definition: the smallest x whose "≤" weight reaches half. */
function naiveMedian(x: readonly number[], w: readonly number[]): number {
  const half = w.reduce((s, v) => s + v, 0) / 2;
  const below = (c: number): number => x.reduce((s, v, i) => (v <= c ? s + w[i]! : s), 0);
  return [...x].sort((a, b) => a - b).find((c) => below(c) >= half)!;
}

/** Naive float64 oracle, straight from the formulas in robust.ts (plain arrays, sort-based medians). */
function reference(contribs: readonly Contribution[]): number[] {
  const n = contribs[0]!.delta.length;
  const total = contribs.reduce((s, x) => s + x.weight, 0);
  const w = contribs.map((x) => (total === 0 ? 1 / contribs.length : x.weight / total));
  const ds = contribs.map((x) => Array.from(x.delta));
  if (w.filter((x) => x > 0).length <= 2) return new Array<number>(n).fill(0).map((_, j) => ds.reduce((s, d, i) => s + w[i]! * d[j]!, 0));
  let v = new Array<number>(n).fill(0).map((_, j) => naiveMedian(ds.map((d) => d[j]!), w));
  const tau = naiveMedian(ds.map((d) => dist(d, v)), w);
  for (let it = 0; it < 3; it++) {
    const clipped = ds.map((d) => {
      const x = d.map((dj, j) => dj - v[j]!);
      const norm = Math.hypot(...x);
      return norm > tau ? x.map((xj) => (xj * tau) / norm) : x;
    });
    v = v.map((vj, j) => vj + clipped.reduce((s, x, i) => s + w[i]! * x[j]!, 0));
  }
  return v;
}

function gaussian(rng: Rng, n: number, scale: number): Float32Array {
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = rng.normal() * scale;
  return d;
}

describe('centered clipping: hand-worked', () => {
  it('four equal weights, an outlier at 10: median centre, τ from it, three clips', () => {
    // Δ_i = x_i·u, x = 0, 1, 2, 10, u = [0.6, 0.8], weights 1/4 each. Scaling by u keeps each
    // coordinate's order, so per coordinate the lower weighted median is 1·u ("≤ 1" holds 1/2).
    // Distances to it: 1, 0, 1, 9 → τ = 1 ("≤ 1" holds 3/4, "≤ 0" only 1/4). Along u:
    // it 1: v = 1 + (−1 + 0 + 1 + clip(9 → 1))/4 = 5/4;  it 2: 5/4 + (−1 − 1/4 + 3/4 + 1)/4 = 11/8;
    // it 3: 11/8 + (−1 − 3/8 + 5/8 + 1)/4 = 23/16. The weighted mean is 13/4; the honest mean 1.
    expect(CC_ITERATIONS).toBe(3);
    const got = mergeOuterGradient([0, 1, 2, 10].map((x) => c([0.6 * x, 0.8 * x], 1)), [], 'centered-clip');
    expect(got[0]).toBeCloseTo((23 / 16) * 0.6, 6);
    expect(got[1]).toBeCloseTo((23 / 16) * 0.8, 6);
  });

  it('three equal weights, one outlier: the median is the honest value, τ = 0, the outlier counts for nothing', () => {
    // Δ1 = Δ2 = 0, Δ3 = 3·u: each coordinate's median is 0, distances 0, 0, 3 → τ = 0, every clip is 0.
    // (The old centre, the weighted mean, gave 14/27 · 3u here.)
    const got = mergeOuterGradient([c([0, 0], 2), c([0, 0], 2), c([1.8, 2.4], 2)], [], 'centered-clip');
    expect(Array.from(got)).toEqual([0, 0]);
  });

  it('weighted median picks the lower median and never a zero-weight entry', () => {
    const x = Float64Array.from([5, 1, 3, 2]);
    expect(weightedMedian(x, Float64Array.from([0.25, 0.25, 0.25, 0.25]))).toBe(2); // 1, 2 reach 1/2
    expect(weightedMedian(x, Float64Array.from([0.6, 0.1, 0.1, 0.2]))).toBe(5); // 1, 2, 3 hold 0.4
    expect(weightedMedian(x, Float64Array.from([0.5, 0, 0, 0.5]))).toBe(2);
    expect(weightedMedian(x, Float64Array.from([0, 0.5, 0, 0]))).toBe(1); // total 0.5: 1 reaches 0.25
    expect(weightedMedian(Float64Array.from([4, 4, 1, 4]), Float64Array.from([0.2, 0.2, 0.4, 0.2]))).toBe(4); // ties
  });

  it('weighted median matches its definition on seeded random inputs, ties and zero weights included', () => {
    const rng = makeRng(77);
    for (let trial = 0; trial < 200; trial++) {
      const M = 1 + rng.int(60); // both sorts: insertion up to 32 values, the engine's above
      const x = Array.from({ length: M }, () => (rng.next() < 0.3 ? rng.int(3) : rng.normal())); // ties included
      const w = Array.from({ length: M }, () => (rng.next() < 0.2 ? 0 : rng.next()));
      if (!w.some((v) => v > 0)) w[0] = 1;
      expect(weightedMedian(Float64Array.from(x), Float64Array.from(w))).toBe(naiveMedian(x, w));
    }
  });
});

describe('centered clipping: oracle', () => {
  it('matches a naive float64 implementation on seeded random inputs with outliers', () => {
    const rng = makeRng(424242);
    let clipped = 0; // trials where the clip changed the result: the oracle must test more than the mean
    for (let trial = 0; trial < 60; trial++) {
      const M = 1 + rng.int(8), n = 1 + rng.int(60);
      const scale = 10 ** (rng.int(7) - 4); // outer gradients from 1e-4 to 1e2
      const centre = gaussian(rng, n, scale);
      const contribs = Array.from({ length: M }, () => {
        const d = gaussian(rng, n, scale * rng.next());
        const boost = rng.next() < 0.2 ? 50 : 1; // some outliers so the clip is exercised
        for (let i = 0; i < n; i++) d[i] = centre[i]! + boost * d[i]!;
        return { delta: d, weight: rng.next() < 0.15 ? 0 : rng.next() * 1e4 };
      });
      const got = mergeOuterGradient(contribs, [], 'centered-clip');
      const want = reference(contribs);
      const maxAbs = Math.max(...want.map(Math.abs));
      for (let i = 0; i < n; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-5 * maxAbs + 1e-30);
      const mean = mergeOuterGradient(contribs, [], 'weighted-mean');
      if (dist(got, mean) > 1e-3 * dist(mean, new Float32Array(n))) clipped++;
    }
    expect(clipped).toBeGreaterThanOrEqual(20);
  });

  it('ignores tensor ranges, is deterministic and writes into a supplied buffer', () => {
    const rng = makeRng(8);
    const contribs = [0, 1, 2, 3, 4].map(() => ({ delta: gaussian(rng, 500, 1), weight: rng.next() }));
    const ranges: TensorRange[] = [{ kind: 'dense', dstOffset: 0, size: 300 }, { kind: 'embedding', dstOffset: 300, size: 200 }];
    const out = new Float32Array(500).fill(NaN);
    expect(mergeOuterGradient(contribs, ranges, 'centered-clip', out)).toBe(out);
    const again = mergeOuterGradient(contribs, [], 'centered-clip');
    expect(new Uint32Array(again.buffer)).toEqual(new Uint32Array(out.buffer));
  });
});

describe('centered clipping: properties', () => {
  const n = 2000;
  /** Five honest deltas h + 1e-3·noise (weights 1–2 tokens² / step), then the attacker's delta. */
  const swarm = (attack: (h: Float32Array) => Float32Array): { contribs: Contribution[]; honestMean: Float64Array } => {
    const rng = makeRng(31);
    const h = gaussian(rng, n, 0.01);
    const contribs: Contribution[] = [0, 1, 2, 3, 4].map(() => {
      const d = gaussian(rng, n, 1e-5);
      for (let i = 0; i < n; i++) d[i] = h[i]! + d[i]!;
      return { delta: d, weight: 1 + rng.next() };
    });
    const total = contribs.reduce((s, x) => s + x.weight, 0);
    const honestMean = new Float64Array(n);
    for (const x of contribs) for (let i = 0; i < n; i++) honestMean[i] = honestMean[i]! + (x.weight / total) * x.delta[i]!;
    contribs.push({ delta: attack(h), weight: total / 5 }); // the attacker holds an average share, 1/6
    return { contribs, honestMean };
  };

  // robust.ts' bound: with honest weight > 1/2, ‖v − h̄‖ ≤ (√k + L(1 + √k))·ρ whatever the attackers send,
  // ρ the honest spread; the weighted mean moves a·‖A‖, without a bound.
  it.each([
    ['×100 scaled', (h: Float32Array) => h.map((x) => 100 * x)],
    ['sign-flipped', (h: Float32Array) => h.map((x) => -x)],
    ['sign-flipped ×1e6', (h: Float32Array) => h.map((x) => -1e6 * x)],
  ])('one %s attacker among 5 honest stays within the honest-spread bound, far inside the mean\'s pull', (_, attack) => {
    const { contribs, honestMean } = swarm(attack);
    const rho = Math.max(...contribs.slice(0, 5).map((x) => dist(x.delta, honestMean)));
    const cc = dist(mergeOuterGradient(contribs, [], 'centered-clip'), honestMean);
    const wm = dist(mergeOuterGradient(contribs, [], 'weighted-mean'), honestMean);
    const k = 5;
    expect(cc).toBeLessThanOrEqual((Math.sqrt(k) + CC_ITERATIONS * (1 + Math.sqrt(k))) * rho);
    expect(cc).toBeLessThan(0.01 * wm);
  });

  it('with honest deltas all equal, returns them exactly at any attack norm (two attackers of weight 1/3)', () => {
    const h = gaussian(makeRng(5), n, 0.01);
    for (const s of [1, 4, 1e3, 1e30]) {
      const bad = h.map((x) => -s * x);
      const got = mergeOuterGradient([c(Array.from(bad), 1), ...[0, 1, 2, 3].map(() => ({ delta: h, weight: 1 })), c(Array.from(bad), 1)], [], 'centered-clip');
      expect(new Uint32Array(got.buffer)).toEqual(new Uint32Array(h.buffer));
    }
  });

  it('returns identical deltas unchanged, within 1e-6', () => {
    const d = gaussian(makeRng(2), n, 0.05);
    const got = mergeOuterGradient([1, 3, 0.5, 7].map((w) => ({ delta: d, weight: w })), [], 'centered-clip');
    for (let i = 0; i < n; i++) expect(Math.abs(got[i]! - d[i]!)).toBeLessThanOrEqual(1e-6);
  });

  it('is the weighted mean, bit for bit, with two contributors or fewer of positive weight', () => {
    // With two, the median distance is the heavier one's, so clipping would only pull toward it.
    const rng = makeRng(12);
    const sets = [
      [{ delta: gaussian(rng, 300, 1), weight: 3 }],
      [{ delta: gaussian(rng, 300, 1), weight: 1 }, { delta: gaussian(rng, 300, 50), weight: 4 }],
      [{ delta: gaussian(rng, 300, 1), weight: 2 }, { delta: gaussian(rng, 300, 1), weight: 0 }, { delta: gaussian(rng, 300, 9), weight: 1 }],
    ];
    for (const cs of sets) {
      expect(mergeOuterGradient(cs, [], 'centered-clip')).toEqual(mergeOuterGradient(cs, [], 'weighted-mean'));
    }
  });
});

describe('centered clipping with absent votes (merge-round.ts absentVotes)', () => {
  it('2 attackers at -4h of 3 pushes, padded to K = 5 with zeros, move the merge to -0.392h (hand-worked), not -4h', () => {
    // Votes -4h, -4h, 0, 0, h: every coordinate's median is 0, τ = ‖h‖ (the third smallest distance);
    // the three iterations give v = -0.2h, -0.32h, -0.392h. Unpadded, the median is -4h and τ = 0.
    const h = [0.1, 0.2, -0.3];
    const at = (k: number): number[] => h.map((x) => k * x);
    const padded = mergeOuterGradient([c(at(-4), 1), c(at(-4), 1), c(h, 1), c(at(0), 1), c(at(0), 1)], [], 'centered-clip');
    Array.from(padded).forEach((x, j) => expect(x).toBeCloseTo(-0.392 * h[j]!, 6));
    const unpadded = mergeOuterGradient([c(at(-4), 1), c(at(-4), 1), c(h, 1)], [], 'centered-clip');
    Array.from(unpadded).forEach((x, j) => expect(x).toBeCloseTo(-4 * h[j]!, 6));
  });

  it('3 agreeing pushes of K = 5 merge exactly (the 2 zeros are the minority), 2 of them merge to nothing', () => {
    const h = [0.1, 0.2, -0.3];
    const zero = [0, 0, 0];
    expect(Array.from(mergeOuterGradient([c(h, 1), c(h, 1), c(h, 1), c(zero, 1), c(zero, 1)], [], 'centered-clip'))).toEqual(Array.from(Float32Array.from(h)));
    expect(Array.from(mergeOuterGradient([c(h, 1), c(h, 1), c(zero, 1), c(zero, 1), c(zero, 1)], [], 'centered-clip'))).toEqual([0, 0, 0]);
  });
});
