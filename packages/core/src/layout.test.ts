import { describe, expect, it } from 'vitest';
import { fnv1a64, layoutMismatch, makeLayout, type TensorSpec } from './layout';
import { ConfigError } from './result';

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

const specs: TensorSpec[] = [
  { name: 'tok', shape: [65, 16], kind: 'embedding' },
  { name: 'b0.w', shape: [16, 48], kind: 'dense', layer: 0 },
  { name: 'b0.b', shape: [48], kind: 'dense', layer: 0 },
  { name: 'ln', shape: [16], kind: 'dense' },
];

describe('fnv1a64', () => {
  it('matches the published FNV-1a 64 test vectors', () => {
    expect(fnv1a64(ascii(''))).toBe('cbf29ce484222325');
    expect(fnv1a64(ascii('a'))).toBe('af63dc4c8601ec8c');
    expect(fnv1a64(ascii('foobar'))).toBe('85944171f73967e8');
  });
});

describe('makeLayout', () => {
  it('lays tensors back to back (hand-worked offsets)', () => {
    const l = makeLayout(specs);
    expect(l.tensors.map((t) => [t.name, t.size, t.offset])).toEqual([
      ['tok', 1040, 0], ['b0.w', 768, 1040], ['b0.b', 48, 1808], ['ln', 16, 1856],
    ]);
    expect(l.totalSize).toBe(1872);
    expect(l.tensors[1]?.layer).toBe(0);
    expect('layer' in (l.tensors[0] ?? {})).toBe(false);
    expect(l.hash).toMatch(/^[0-9a-f]{16}$/);
  });

  it('hashes deterministically and is sensitive to names, shapes, kinds, layers and order', () => {
    const h = makeLayout(specs).hash;
    expect(makeLayout(specs.map((s) => ({ ...s, shape: [...s.shape] }))).hash).toBe(h);
    const variants: TensorSpec[][] = [
      specs.map((s, i) => (i === 0 ? { ...s, name: 'tok2' } : s)),
      specs.map((s, i) => (i === 1 ? { ...s, shape: [48, 16] } : s)),        // same size, other shape
      specs.map((s, i) => (i === 1 ? { ...s, shape: [16, 48, 1] } : s)),     // same size, other rank
      specs.map((s, i) => (i === 0 ? { ...s, kind: 'dense' as const } : s)),
      specs.map((s, i) => (i === 3 ? { ...s, layer: 0 } : s)),
      [specs[1], specs[0], specs[2], specs[3]] as TensorSpec[],
      specs.slice(0, 3),
    ];
    const hashes = new Set([h, ...variants.map((v) => makeLayout(v).hash)]);
    expect(hashes.size).toBe(variants.length + 1);
  });

  it('does not let name boundaries alias (length prefixes)', () => {
    const a = makeLayout([{ name: 'ab', shape: [1], kind: 'dense' }, { name: 'c', shape: [1], kind: 'dense' }]);
    const b = makeLayout([{ name: 'a', shape: [1], kind: 'dense' }, { name: 'bc', shape: [1], kind: 'dense' }]);
    expect(a.hash).not.toBe(b.hash);
  });

  it.each([
    ['no tensors', []],
    ['duplicate names', [specs[0], specs[0]]],
    ['empty shape', [{ name: 'x', shape: [], kind: 'dense' }]],
    ['zero dim', [{ name: 'x', shape: [3, 0], kind: 'dense' }]],
    ['negative dim', [{ name: 'x', shape: [-2], kind: 'dense' }]],
    ['fractional dim', [{ name: 'x', shape: [1.5], kind: 'dense' }]],
    ['NaN dim', [{ name: 'x', shape: [NaN], kind: 'dense' }]],
    ['empty name', [{ name: '', shape: [1], kind: 'dense' }]],
    ['negative layer', [{ name: 'x', shape: [1], kind: 'dense', layer: -1 }]],
    ['unknown kind', [{ name: 'x', shape: [1], kind: 'conv' }]],
  ])('throws ConfigError on %s', (_label, bad) => {
    expect(() => makeLayout(bad as TensorSpec[])).toThrow(ConfigError);
  });
});

describe('layoutMismatch', () => {
  it('accepts the same hash and refuses another with layout-mismatch', () => {
    const l = makeLayout(specs);
    expect(layoutMismatch(l, l.hash)).toEqual({ ok: true, value: true });
    const other = makeLayout(specs.slice(1)).hash;
    const r = layoutMismatch(l, other);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBe('layout-mismatch');
  });
});
