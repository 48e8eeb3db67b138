import { describe, expect, it } from 'vitest';
import { codecByName, decodeAny, getCodec, type Codec } from './codec';
import { DEFAULT_BLOCK, HEADER_BYTES } from './format';
import { ConfigError } from '../result';
import { makeRng } from '../rng';

const NAMES = ['fp32', 'fp16', 'int8', 'int4', 'int2', 'int1'];
const rng = makeRng(2024);
const normal = (n: number, scale: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal() * scale);

/** Inputs every codec must round-trip within its own bound. fp16 gets its clamp range checked separately. */
function cases(name: string): [string, Float32Array, number][] {
  const mixed = normal(3 * DEFAULT_BLOCK, 1);
  mixed.fill(0, DEFAULT_BLOCK, 2 * DEFAULT_BLOCK); // an all-zero middle block
  const out: [string, Float32Array, number][] = [
    ['normal ×1, 1000 values (last block partial)', normal(1000, 1), DEFAULT_BLOCK],
    ['normal ×1e-3, block 64', normal(777, 1e-3), 64],
    ['all zeros', new Float32Array(300), DEFAULT_BLOCK],
    ['zero middle block', mixed, DEFAULT_BLOCK],
    ['single element', Float32Array.from([-0.3125]), DEFAULT_BLOCK],
    ['empty', new Float32Array(0), DEFAULT_BLOCK],
    ['odd block 9', normal(100, 1), 9],
    ['one big outlier', Float32Array.from({ length: 256 }, (_, i) => (i === 5 ? 100 : rng.normal() * 0.01)), DEFAULT_BLOCK],
  ];
  if (name === 'fp16') {
    out.push(['tiny (subnormal half) ×1e-6', normal(500, 1e-6), DEFAULT_BLOCK],
      ['large, some clamped at ±65504', normal(500, 4e4), DEFAULT_BLOCK]);
  } else {
    out.push(['tiny ×1e-30', normal(500, 1e-30), DEFAULT_BLOCK], ['big ×1e30', normal(500, 1e30), DEFAULT_BLOCK],
      ['float32 extremes', Float32Array.from([3.4028234663852886e38, -1e-45, 1, -3.4028234663852886e38, 0, 1e-38, 2, 3]), 8]);
  }
  return out;
}

describe.each(NAMES)('%s round trip', (name) => {
  const codec: Codec = codecByName(name);

  it.each(cases(name))('%s: every element within errorBound', (_label, x, block) => {
    const bytes = codec.encode(x, block);
    const r = codec.decode(bytes, x.length);
    if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`);
    expect(r.value.length).toBe(x.length);
    const bound = codec.errorBound(x, block);
    expect(Number.isFinite(bound)).toBe(true);
    let worst = 0;
    for (let i = 0; i < x.length; i++) {
      const v = r.value[i] ?? NaN;
      expect(Number.isFinite(v)).toBe(true);
      worst = Math.max(worst, Math.abs(v - (x[i] ?? 0)));
    }
    expect(worst).toBeLessThanOrEqual(bound);
    if (x.every((v) => v === 0)) expect(Array.from(r.value).every((v) => v === 0)).toBe(true);
  });

  it('is deterministic and the header names the codec, block and count', () => {
    const x = normal(300, 1);
    const a = codec.encode(x, 64);
    expect(codec.encode(x, 64)).toEqual(a);
    const dv = new DataView(a.buffer, a.byteOffset);
    expect([dv.getUint8(0), dv.getUint32(8, true)]).toEqual([codec.id, 300]);
    expect(dv.getUint32(4, true)).toBe(codec.bits >= 16 ? 0 : 64);
  });

  it('decodes from a view with a non-zero byte offset', () => {
    const x = normal(50, 1);
    const a = codec.encode(x, 16);
    const host = new Uint8Array(a.length + 7);
    host.set(a, 3);
    expect(codec.decode(host.subarray(3, 3 + a.length), 50)).toEqual(codec.decode(a, 50));
  });

  it('throws ConfigError on non-finite input and on an illegal block size', () => {
    expect(() => codec.encode(Float32Array.from([1, NaN]), 8)).toThrow(ConfigError);
    expect(() => codec.encode(Float32Array.from([-Infinity]), 8)).toThrow(ConfigError);
    if (codec.bits < 16) for (const b of [0, 7, 65537, 8.5]) expect(() => codec.encode(new Float32Array(4), b)).toThrow(ConfigError);
  });
});

describe('error bounds', () => {
  it('fp32 is exact; quantised bounds follow the bit width (s/2qmax) on a unit-absmax block', () => {
    const x = Float32Array.from({ length: 128 }, (_, i) => (i === 0 ? 1 : Math.sin(i)));
    expect(codecByName('fp32').errorBound(x)).toBe(0);
    for (const [name, qmax] of [['int8', 127], ['int4', 7], ['int2', 1]] as const) {
      expect(codecByName(name).errorBound(x)).toBeCloseTo(1 / (2 * qmax), 6);
    }
    expect(codecByName('fp16').errorBound(Float32Array.from([1, -0.5]))).toBe(2 ** -11);
    expect(codecByName('fp16').errorBound(Float32Array.from([70000]))).toBe(70000 - 65504);
  });
});

describe('registry', () => {
  it('maps ids and names both ways', () => {
    NAMES.forEach((name, id) => {
      const r = getCodec(id);
      expect(r.ok && [r.value.id, r.value.name]).toEqual([id, name]);
      expect(codecByName(name).id).toBe(id);
    });
    expect(NAMES.map((n) => codecByName(n).bits)).toEqual([32, 16, 8, 4, 2, 1]);
  });

  it('refuses unknown ids with bad-codec and unknown names with ConfigError', () => {
    for (const id of [6, -1, 1.5, NaN, 255]) {
      const r = getCodec(id);
      expect(r.ok ? 'ok' : r.reason).toBe('bad-codec');
    }
    expect(() => codecByName('bf16')).toThrow(ConfigError);
  });

  it('decodeAny dispatches on the header id', () => {
    const x = normal(40, 1);
    for (const name of NAMES) {
      const r = decodeAny(codecByName(name).encode(x, 8), 40);
      expect(r.ok && r.value.codec.name).toBe(name);
    }
    const bad = codecByName('int4').encode(x, 8);
    bad[0] = 9;
    const r = decodeAny(bad, 40);
    expect(r.ok ? 'ok' : r.reason).toBe('bad-codec');
    const empty = decodeAny(new Uint8Array(0), 0);
    expect(empty.ok ? 'ok' : empty.reason).toBe('truncated');
    expect(HEADER_BYTES).toBe(12);
  });
});
