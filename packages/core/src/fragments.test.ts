import { describe, expect, it } from 'vitest';
import { balancedPs, dense, isWhole, names, partitionProblems, randomLayout } from './fragment-fixtures';
import { gather, peakToIdeal, planFragments, planHash, scatter, validateFragment, type Fragment, type FragmentStrategy, type Segment } from './fragments';
import { makeLayout, type TensorSpec } from './layout';
import { ConfigError } from './result';
import { makeRng } from './rng';

const STRATEGIES: FragmentStrategy[] = ['balanced', 'layer', 'tensor'];

/** Brute force: smallest possible max over all ways to cut `sizes` into P contiguous non-empty groups. */
function bruteMinMax(sizes: number[], P: number): number {
  if (P === 1) return sizes.reduce((a, b) => a + b, 0);
  let best = Infinity;
  let head = 0;
  for (let i = 1; i <= sizes.length - (P - 1); i++) {
    head += sizes[i - 1] ?? 0;
    best = Math.min(best, Math.max(head, bruteMinMax(sizes.slice(i), P - 1)));
  }
  return best;
}

describe('planFragments invariants', () => {
  it('covers every parameter exactly once with no empty fragment, for every strategy and P (seeded layouts)', () => {
    const rng = makeRng(7);
    for (let trial = 0; trial < 100; trial++) {
      const layout = randomLayout(rng);
      for (const P of balancedPs(layout)) expect(partitionProblems(layout, planFragments(layout, P), P)).toEqual([]);
      for (const strategy of ['layer', 'tensor'] as const) {
        for (let P = 1; P <= layout.tensors.length; P++) {
          const frags = planFragments(layout, P, strategy);
          expect(partitionProblems(layout, frags, P)).toEqual([]);
          expect(frags.every((f) => f.segments.every((s) => isWhole(layout, s)))).toBe(true);
        }
      }
    }
  });

  it('is deterministic: the same layout built twice, or from specs with their keys in another order, gives identical plans', () => {
    const rng = makeRng(11);
    for (let trial = 0; trial < 30; trial++) {
      const a = randomLayout(rng);
      const reordered = a.tensors.map((t) => {
        const spec: TensorSpec = { name: t.name, shape: [...t.shape], kind: t.kind };
        if (t.layer !== undefined) spec.layer = t.layer;
        return Object.fromEntries(Object.entries(spec).reverse()) as unknown as TensorSpec;
      });
      const b = makeLayout(reordered);
      expect(b.hash).toBe(a.hash);
      for (const strategy of STRATEGIES) {
        const P = 1 + rng.int(a.tensors.length);
        expect(planFragments(b, P, strategy)).toEqual(planFragments(a, P, strategy));
      }
      for (const P of balancedPs(a)) expect(planFragments(b, P)).toEqual(planFragments(a, P));
    }
  });

  it('throws ConfigError for a bad P (by strategy) or an unknown strategy', () => {
    const l = makeLayout([dense('a', 3), { name: 'b', shape: [2, 4], kind: 'dense' }]); // 2 tensors, 3 + 2 rows
    for (const P of [0, -1, 6, 1.5, NaN]) expect(() => planFragments(l, P)).toThrow(ConfigError);
    expect(() => planFragments(l, 6)).toThrow(/exceeds the 5 tensor rows/);
    for (const strategy of ['layer', 'tensor'] as const) expect(() => planFragments(l, 3, strategy)).toThrow(/exceeds the 2 tensors/);
    expect(planFragments(l, 5).map((f) => f.size)).toEqual([4, 4, 1, 1, 1]); // one row each
    expect(() => planFragments(l, 1, 'rows' as FragmentStrategy)).toThrow(ConfigError);
  });
});

describe('validateFragment', () => {
  const l = makeLayout([{ name: 'w', shape: [4, 3], kind: 'dense' }, { name: 'emb', shape: [5, 2], kind: 'embedding' }]);
  // w rows [1, 3) (elements 3..8) then all of emb (elements 12..21)
  const good: Fragment = { index: 2, size: 16, segments: [
    { name: 'w', kind: 'dense', srcOffset: 3, dstOffset: 0, size: 6, rowStart: 1, rows: 2 },
    { name: 'emb', kind: 'embedding', srcOffset: 12, dstOffset: 6, size: 10, rowStart: 0, rows: 5 }] };
  const withSeg = (k: number, patch: Partial<Segment>): Fragment =>
    ({ ...good, segments: good.segments.map((s, i) => (i === k ? { ...s, ...patch } : s)) });
  const reason = (f: unknown): string => {
    const r = validateFragment(l, f as Fragment);
    return r.ok ? 'ok' : `${r.reason}: ${r.detail}`;
  };

  it('accepts a fragment that matches the layout, and every planned one (seeded layouts)', () => {
    expect(reason(good)).toBe('ok');
    const rng = makeRng(17);
    for (let trial = 0; trial < 30; trial++) {
      const r = randomLayout(rng);
      for (const f of planFragments(r, balancedPs(r).at(-1) ?? 1)) expect(validateFragment(r, f).ok).toBe(true);
    }
  });

  it("refuses, as 'bad-field' naming the problem, anything that disagrees with the layout", () => {
    expect(reason(withSeg(0, { name: 'v' }))).toMatch(/^bad-field: fragment 2: segment v names no tensor/);
    expect(reason(withSeg(0, { rowStart: 3 }))).toMatch(/rows \[3, \+2\) are outside the tensor's 4/);
    expect(reason(withSeg(0, { rows: 0 }))).toMatch(/rows \[1, \+0\)/);
    expect(reason(withSeg(0, { rowStart: 0.5 }))).toMatch(/outside the tensor/);
    expect(reason(withSeg(0, { rows: undefined as unknown as number }))).toMatch(/outside the tensor/);
    for (const patch of [{ srcOffset: 0 }, { size: 5 }, { kind: 'embedding' as const }, { dstOffset: 1 }]) {
      expect(reason(withSeg(0, patch))).toMatch(/segment w is outside the parameters or the fragment/);
    }
    expect(reason({ ...good, size: 17 })).toMatch(/segments cover 16 of 17 values/);
    expect(reason({ ...good, segments: [...good.segments, null] })).toMatch(/segment undefined names no tensor/);
    for (const f of [null, 3, { index: 0, size: 0, segments: [] }, { index: 0, size: 4 }]) expect(reason(f)).toBe('bad-field: fragment is malformed');
  });
});

describe("'tensor'", () => {
  it('deals tensors round robin in layout order', () => {
    const l = makeLayout(['a', 'b', 'c', 'd', 'e'].map((n, i) => dense(n, i + 1)));
    expect(names(planFragments(l, 2, 'tensor'))).toEqual([['a', 'c', 'e'], ['b', 'd']]);
    expect(names(planFragments(l, 5, 'tensor'))).toEqual([['a'], ['b'], ['c'], ['d'], ['e']]);
  });
});

describe("'layer'", () => {
  const blocks = makeLayout([dense('stem', 10), ...[0, 1, 2, 3].flatMap((b) => [dense(`b${b}.w`, 90, b), dense(`b${b}.b`, 10, b)]), dense('head', 10)]);

  it('cuts whole layers into contiguous groups minimising the largest (hand-worked)', () => {
    // units 10 | 100 100 100 100 | 10
    expect(names(planFragments(blocks, 2, 'layer'))).toEqual([
      ['stem', 'b0.w', 'b0.b', 'b1.w', 'b1.b'], ['b2.w', 'b2.b', 'b3.w', 'b3.b', 'head']]);
    expect(planFragments(blocks, 3, 'layer').map((f) => f.size)).toEqual([110, 200, 110]);
  });

  it('splits layers at the most even tensor boundary when there are fewer layers than P', () => {
    const l = makeLayout([dense('a', 5), dense('b', 5), dense('c', 5), dense('d', 5)]); // one unit, no layers
    expect(names(planFragments(l, 2, 'layer'))).toEqual([['a', 'b'], ['c', 'd']]);
    expect(names(planFragments(l, 4, 'layer'))).toEqual([['a'], ['b'], ['c'], ['d']]);
  });

  it('finds the optimal contiguous cut when no split is needed (brute-force oracle, seeded)', () => {
    const rng = makeRng(9);
    for (let trial = 0; trial < 200; trial++) {
      const units = 1 + rng.int(8);
      const specs = Array.from({ length: units }, (_, u) => dense(`u${u}`, 1 + rng.int(50), u));
      const l = makeLayout(specs);
      const P = 1 + rng.int(units);
      const frags = planFragments(l, P, 'layer');
      expect(Math.max(...frags.map((f) => f.size))).toBe(bruteMinMax(l.tensors.map((t) => t.size), P));
      // contiguous in layout order
      expect(frags.flatMap((f) => f.segments.map((s) => s.name))).toEqual(l.tensors.map((t) => t.name));
    }
  });
});

describe('gather / scatter', () => {
  it('gather reads each segment (row slices included) from its offsets, and scatter of every gather rebuilds the vector', () => {
    const rng = makeRng(21);
    for (let trial = 0; trial < 40; trial++) {
      const l = randomLayout(rng);
      const flat = Float32Array.from({ length: l.totalSize }, () => rng.normal());
      const rebuilt = new Float32Array(l.totalSize).fill(NaN);
      for (const strategy of STRATEGIES) {
        rebuilt.fill(NaN);
        const Ps = strategy === 'balanced' ? balancedPs(l) : [1 + rng.int(l.tensors.length)];
        for (const f of planFragments(l, Ps[rng.int(Ps.length)] ?? 1, strategy)) {
          const v = gather(flat, f);
          let wrong = 0;
          for (const s of f.segments) {
            for (let k = 0; k < s.size; k++) if (v[s.dstOffset + k] !== flat[s.srcOffset + k]) wrong++;
          }
          expect(wrong).toBe(0);
          scatter(rebuilt, f, v);
        }
        expect(rebuilt).toEqual(flat);
      }
    }
  });

  it('reuses `out` and rejects mismatched sizes with ConfigError', () => {
    const l = makeLayout([dense('a', 3), dense('b', 2)]);
    const [f0] = planFragments(l, 2);
    if (!f0) throw new Error('no fragment');
    const flat = Float32Array.from([1, 2, 3, 4, 5]);
    const out = new Float32Array(3);
    expect(gather(flat, f0, out)).toBe(out);
    expect(Array.from(out)).toEqual([1, 2, 3]);
    expect(() => gather(flat, f0, new Float32Array(2))).toThrow(ConfigError);
    expect(() => gather(new Float32Array(2), f0)).toThrow(ConfigError);
    expect(() => scatter(flat, f0, new Float32Array(4))).toThrow(ConfigError);
  });
});

describe('peakToIdeal', () => {
  it('is max / (total / P) (hand-worked) and rejects an empty plan', () => {
    const l = makeLayout([dense('a', 6), dense('b', 2), dense('c', 1), dense('d', 1)]);
    expect(peakToIdeal(planFragments(l, 2, 'tensor'))).toBeCloseTo(7 / 5, 12); // {a,c}=7, {b,d}=3
    expect(() => peakToIdeal([])).toThrow(ConfigError);
  });
});

describe('planHash', () => {
  it('names a plan: equal for the same layout and P, different for another P or another split', () => {
    const layout = makeLayout([{ name: 'w', shape: [784, 128], kind: 'dense' }, { name: 'b', shape: [128], kind: 'dense' }, { name: 'v', shape: [128, 10], kind: 'dense' }]);
    const a = planHash(planFragments(layout, 2));
    expect(planHash(planFragments(layout, 2))).toBe(a);
    expect(a).toMatch(/^[0-9a-f]{8}$/);
    expect(planHash(planFragments(layout, 3))).not.toBe(a);
    expect(planHash(planFragments(layout, 2, 'tensor'))).not.toBe(a);
  });
});
