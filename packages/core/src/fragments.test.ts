import { describe, expect, it } from 'vitest';
import { gather, peakToIdeal, planFragments, scatter, type Fragment, type FragmentStrategy } from './fragments';
import { makeLayout, type ParamLayout, type TensorSpec } from './layout';
import { ConfigError } from './result';
import { makeRng, type Rng } from './rng';

const STRATEGIES: FragmentStrategy[] = ['balanced', 'layer', 'tensor'];
const dense = (name: string, n: number, layer?: number): TensorSpec =>
  layer === undefined ? { name, shape: [n], kind: 'dense' } : { name, shape: [n], kind: 'dense', layer };

/** Every element of the flat vector lies in exactly one segment; segments are whole tensors. */
function expectPartition(layout: ParamLayout, frags: Fragment[], P: number): void {
  expect(frags.map((f) => f.index)).toEqual(Array.from({ length: P }, (_, i) => i));
  const hits = new Uint8Array(layout.totalSize);
  const byName = new Map(layout.tensors.map((t) => [t.name, t]));
  let seen = 0;
  for (const f of frags) {
    expect(f.segments.length).toBeGreaterThan(0);
    let dst = 0;
    let lastSrc = -1;
    for (const s of f.segments) {
      const t = byName.get(s.name);
      expect(t).toBeDefined();
      expect([s.srcOffset, s.size, s.kind]).toEqual([t?.offset, t?.size, t?.kind]);
      expect(s.dstOffset).toBe(dst);
      expect(s.srcOffset).toBeGreaterThan(lastSrc); // layout order inside a fragment
      lastSrc = s.srcOffset;
      dst += s.size;
      for (let k = s.srcOffset; k < s.srcOffset + s.size; k++) hits[k] = (hits[k] ?? 0) + 1;
      seen++;
    }
    expect(f.size).toBe(dst);
  }
  expect(seen).toBe(layout.tensors.length);
  expect(hits.every((h) => h === 1)).toBe(true);
}

function randomLayout(rng: Rng): ParamLayout {
  const n = 1 + rng.int(14);
  const specs: TensorSpec[] = [];
  let layer = 0;
  for (let i = 0; i < n; i++) {
    const shape = Array.from({ length: 1 + rng.int(3) }, () => 1 + rng.int(12));
    if (rng.next() < 0.3) layer++;
    const spec: TensorSpec = { name: `t${rng.int(4)}_${i}`, shape, kind: rng.next() < 0.2 ? 'embedding' : 'dense' };
    if (rng.next() < 0.8) spec.layer = layer;
    specs.push(spec);
  }
  return makeLayout(specs);
}

/** The reference greedy packer of algorithm.md §2.2, with code-unit name order. */
function referenceBalanced(tensors: { name: string; size: number }[], P: number): string[][] {
  const sorted = [...tensors].sort((a, b) => b.size - a.size || (a.name < b.name ? -1 : 1));
  const bins = Array.from({ length: P }, () => ({ total: 0, names: [] as string[] }));
  for (const t of sorted) {
    let best = 0;
    for (let i = 1; i < P; i++) if ((bins[i]?.total ?? 0) < (bins[best]?.total ?? 0)) best = i;
    const bin = bins[best];
    if (bin) { bin.total += t.size; bin.names.push(t.name); }
  }
  return bins.map((b) => b.names);
}

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

const names = (frags: Fragment[]): string[][] => frags.map((f) => f.segments.map((s) => s.name));

describe('planFragments invariants', () => {
  it('covers every parameter exactly once with no empty fragment, for every strategy and P (seeded layouts)', () => {
    const rng = makeRng(7);
    for (let trial = 0; trial < 100; trial++) {
      const layout = randomLayout(rng);
      for (const strategy of STRATEGIES) {
        for (let P = 1; P <= layout.tensors.length; P++) expectPartition(layout, planFragments(layout, P, strategy), P);
      }
    }
  });

  it('is deterministic: the same layout built twice gives identical plans', () => {
    const rng = makeRng(11);
    for (let trial = 0; trial < 30; trial++) {
      const a = randomLayout(rng);
      const b = makeLayout(a.tensors.map((t) => ({ ...t, shape: [...t.shape] })));
      for (const strategy of STRATEGIES) {
        const P = 1 + rng.int(a.tensors.length);
        expect(planFragments(b, P, strategy)).toEqual(planFragments(a, P, strategy));
      }
    }
  });

  it('throws ConfigError for P outside [1, #tensors] or an unknown strategy', () => {
    const l = makeLayout([dense('a', 3), dense('b', 4)]);
    for (const P of [0, -1, 3, 1.5, NaN]) expect(() => planFragments(l, P)).toThrow(ConfigError);
    expect(() => planFragments(l, 1, 'rows' as FragmentStrategy)).toThrow(ConfigError);
  });
});

describe("'balanced'", () => {
  // layout order e a c b d; sizes 3 10 5 7 4 (offsets 0 3 13 18 25)
  const specs = [dense('e', 3), { name: 'a', shape: [2, 5], kind: 'dense' as const }, dense('c', 5), dense('b', 7), dense('d', 4)];

  it('packs largest first into the smallest bin (hand-worked, P = 2)', () => {
    // a10→0, b7→1, c5→1 (12), d4→0 (14), e3→1 (15)
    const frags = planFragments(makeLayout(specs), 2);
    expect(frags).toEqual([
      { index: 0, size: 14, segments: [
        { name: 'a', kind: 'dense', srcOffset: 3, dstOffset: 0, size: 10 },
        { name: 'd', kind: 'dense', srcOffset: 25, dstOffset: 10, size: 4 }] },
      { index: 1, size: 15, segments: [
        { name: 'e', kind: 'dense', srcOffset: 0, dstOffset: 0, size: 3 },
        { name: 'c', kind: 'dense', srcOffset: 13, dstOffset: 3, size: 5 },
        { name: 'b', kind: 'dense', srcOffset: 18, dstOffset: 8, size: 7 }] },
    ]);
    expect(peakToIdeal(frags)).toBeCloseTo(15 / (29 / 2), 12);
  });

  it('isolates embeddings into the first bins (hand-worked)', () => {
    const withEmb = [{ name: 'tok', shape: [20], kind: 'embedding' as const }, ...specs, { name: 'pos', shape: [4], kind: 'embedding' as const }];
    const l = makeLayout(withEmb); // embeddings 24 of 53
    // P = 3: e = round(3·24/53 = 1.36) = 1
    expect(names(planFragments(l, 3))).toEqual([['tok', 'pos'], ['a', 'd'], ['e', 'c', 'b']]);
    // P = 4: e = round(4·24/53 = 1.81) = 2
    expect(names(planFragments(l, 4))).toEqual([['tok'], ['pos'], ['a', 'd'], ['e', 'c', 'b']]);
    // P = 6: round(2.72) = 3 exceeds #embedding, clamped down to 2; e3 joins the smallest dense bin (d4)
    expect(names(planFragments(l, 6))).toEqual([['tok'], ['pos'], ['a'], ['b'], ['c'], ['e', 'd']]);
    // P = 7: one tensor each
    expect(names(planFragments(l, 7))).toEqual([['tok'], ['pos'], ['a'], ['b'], ['c'], ['d'], ['e']]);
    // tiny embeddings: round(2·1/30) = 0, clamped up to 1
    const tiny = makeLayout([{ name: 'emb', shape: [1], kind: 'embedding' }, ...specs]);
    expect(names(planFragments(tiny, 2))).toEqual([['emb'], ['e', 'a', 'c', 'b', 'd']]);
    // P = 1: nothing to isolate into
    expect(names(planFragments(l, 1))).toEqual([['tok', 'e', 'a', 'c', 'b', 'd', 'pos']]);
  });

  it('never mixes kinds in a fragment when P >= 2 and both kinds exist (seeded layouts)', () => {
    const rng = makeRng(3);
    for (let trial = 0; trial < 100; trial++) {
      const l = randomLayout(rng);
      const kinds = new Set(l.tensors.map((t) => t.kind));
      for (let P = 2; P <= l.tensors.length; P++) {
        for (const f of planFragments(l, P)) {
          if (kinds.size === 2) expect(new Set(f.segments.map((s) => s.kind)).size).toBe(1);
        }
      }
    }
  });

  it('equals the reference greedy packer of algorithm.md on all-dense layouts (seeded)', () => {
    const rng = makeRng(5);
    for (let trial = 0; trial < 100; trial++) {
      const l = makeLayout(randomLayout(rng).tensors.map((t) => ({ ...t, kind: 'dense' as const })));
      const P = 1 + rng.int(l.tensors.length);
      const ref = referenceBalanced([...l.tensors], P).map((bin) =>
        l.tensors.filter((t) => bin.includes(t.name)).map((t) => t.name));
      expect(names(planFragments(l, P))).toEqual(ref);
    }
  });

  it('keeps the peak within 4/3 of ideal on a transformer-like layout (4 blocks, d = 256, P = 4)', () => {
    const d = 256, vocab = 65, ctx = 256;
    const specs: TensorSpec[] = [
      { name: 'tok_emb', shape: [vocab, d], kind: 'embedding' },
      { name: 'pos_emb', shape: [ctx, d], kind: 'embedding' },
    ];
    for (let b = 0; b < 4; b++) {
      const m = (name: string, shape: number[]): TensorSpec => ({ name: `h${b}.${name}`, shape, kind: 'dense', layer: b });
      specs.push(m('ln1.g', [d]), m('ln1.b', [d]), m('wq', [d, d]), m('wk', [d, d]), m('wv', [d, d]), m('wo', [d, d]),
        m('ln2.g', [d]), m('ln2.b', [d]), m('w1', [d, 4 * d]), m('b1', [4 * d]), m('w2', [4 * d, d]), m('b2', [d]));
    }
    specs.push({ name: 'lnf.g', shape: [d], kind: 'dense' }, { name: 'lnf.b', shape: [d], kind: 'dense' },
      { name: 'head', shape: [d, vocab], kind: 'embedding' });
    const l = makeLayout(specs);
    const frags = planFragments(l, 4);
    expectPartition(l, frags, 4);
    expect(peakToIdeal(frags)).toBeLessThanOrEqual(4 / 3);
    expect(peakToIdeal(frags)).toBeGreaterThanOrEqual(1);
    // 'tensor' round robin is far worse here, which is why 'balanced' is the default
    expect(peakToIdeal(planFragments(l, 4, 'tensor'))).toBeGreaterThan(peakToIdeal(frags));
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
  it('gather reads each segment from its offsets, and scatter of every gather rebuilds the vector', () => {
    const rng = makeRng(21);
    for (let trial = 0; trial < 40; trial++) {
      const l = randomLayout(rng);
      const flat = Float32Array.from({ length: l.totalSize }, () => rng.normal());
      const rebuilt = new Float32Array(l.totalSize).fill(NaN);
      for (const strategy of STRATEGIES) {
        rebuilt.fill(NaN);
        for (const f of planFragments(l, 1 + rng.int(l.tensors.length), strategy)) {
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
