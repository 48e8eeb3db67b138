/**
 * The optimised codecs against the straightforward ones they replaced (codecs.reference.ts): the same
 * bytes out of encode, the same float32 bits out of decode, the same refusals with the same details.
 */
import { describe, expect, it } from 'vitest';
import { codecByName, type Codec } from './codec';
import { fromHalf, toHalf } from './fp16';
import { HEADER_BYTES } from './format';
import { hostToWire16, wireU16 } from './bits';
import * as ref from './codecs.reference';
import { makeRng, type Rng } from '../rng';
import type { Result } from '../result';

const PAIRS: [string, ref.ReferenceCodec][] = [
  ['fp32', ref.referenceFp32], ['fp16', ref.referenceFp16], ['int8', ref.referenceInt8],
  ['int4', ref.referenceInt4], ['int2', ref.referenceInt2], ['int1', ref.referenceInt1],
];

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const fromBits = (b: number): number => { u32[0] = b >>> 0; return f32[0]!; };
const bitsOf = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** Seeded inputs of every shape the fast paths special-case. */
function inputs(rng: Rng, n: number): [string, Float32Array][] {
  const at = (f: (i: number) => number): Float32Array => Float32Array.from({ length: n }, (_, i) => f(i));
  const scale = (s: number) => at(() => rng.normal() * s);
  return [
    ['normal ×1e-3', scale(1e-3)],
    ['normal ×1', scale(1)],
    ['normal ×4e4 (fp16 clamps)', scale(4e4)],
    ['normal ×1e-6 (fp16 subnormals)', scale(1e-6)],
    ['normal ×1e-30', scale(1e-30)],
    ['normal ×1e30', scale(1e30)],
    ['float32 denormals', at(() => fromBits((rng.next() < 0.5 ? 0x80000000 : 0) | rng.int(0x800000)))],
    ['any finite bit pattern', at(() => { let b; do b = rng.int(2 ** 32); while ((b & 0x7f800000) === 0x7f800000); return fromBits(b); })],
    ['zeros and −0', at((i) => (i % 3 === 0 ? -0 : 0))],
    ['all equal', at(() => 0.375)],
    ['all equal negative', at(() => -2.5e-4)],
    ['fp16 ties and ±65504 edges', at(() => {
      const h = rng.int(0x7bff);
      const picks = [(fromHalf(h) + fromHalf(h + 1)) / 2, 65504, 65519.99, 65520, 1e6, 2 ** -25, 3 * 2 ** -25, 2 ** -14 - 2 ** -26];
      return picks[rng.int(picks.length)]! * (rng.next() < 0.5 ? -1 : 1);
    })],
    ['one outlier per 100', at(() => (rng.next() < 0.01 ? 1e3 : rng.normal() * 1e-2))],
    ['float32 extremes', at((i) => [3.4028234663852886e38, -3.4028234663852886e38, 1e-45, -1e-38, 0, 1][i % 6]!)],
  ];
}

const sameResult = (got: Result<Float32Array>, want: Result<Float32Array>): void => {
  if (!want.ok) {
    expect(got.ok ? 'ok' : `${got.reason}: ${got.detail}`).toBe(`${want.reason}: ${want.detail}`);
  } else {
    expect(got.ok ? bitsOf(got.value) : got).toEqual(bitsOf(want.value));
  }
};

describe.each(PAIRS)('%s matches its reference implementation', (name, reference) => {
  const codec: Codec = codecByName(name);
  const sizes = [0, 1, 3, 7, 8, 9, 31, 127, 128, 129, 1000, 4099];
  const blocks = codec.bits >= 16 ? [0] : [8, 9, 10, 11, 12, 16, 33, 64, 127, 128, 129, 256];

  it('bit for bit on seeded inputs, every size and block size (last block partial included)', () => {
    const rng = makeRng(7 + codec.id);
    for (const n of sizes) {
      for (const [label, x] of inputs(rng, n)) {
        for (const block of blocks) {
          const bs = block === 0 ? undefined : block;
          const want = reference.encode(x, bs);
          const got = codec.encode(x, bs);
          if (got.length !== want.length || got.some((v, i) => v !== want[i])) {
            throw new Error(`${name} ${label}, n ${n}, block ${block}: encodings differ`);
          }
          sameResult(codec.decode(got, n), reference.decode(want, n));
        }
      }
    }
  });

  it('refuses the same NaN / Infinity input with the same message', () => {
    const rng = makeRng(70 + codec.id);
    for (let trial = 0; trial < 40; trial++) {
      const n = 1 + rng.int(300);
      const x = Float32Array.from({ length: n }, () => rng.normal());
      const bad = [NaN, Infinity, -Infinity][trial % 3]!;
      x[rng.int(n)] = bad;
      if (trial % 4 === 0) x[rng.int(n)] = -bad; // sometimes a second one, before or after the first
      const block = 8 + rng.int(100);
      const message = (f: () => unknown): string => { try { f(); return 'no throw'; } catch (e) { return String(e); } };
      const want = message(() => reference.encode(x, block));
      expect(want).toMatch(/ConfigError.*non-finite input/);
      expect(message(() => codec.encode(x, block))).toBe(want);
    }
  });

  it('gives the same result as the reference on corrupted and misaligned messages', () => {
    const rng = makeRng(700 + codec.id);
    for (let trial = 0; trial < 1500; trial++) {
      const n = rng.int(70);
      const x = Float32Array.from({ length: n }, () => rng.normal() * 10 ** (rng.int(6) - 3));
      const good = codec.encode(x, 8 + rng.int(12));
      const b = good.slice();
      for (let k = rng.int(4); k > 0 && b.length > HEADER_BYTES; k--) b[HEADER_BYTES + rng.int(b.length - HEADER_BYTES)] = rng.int(256);
      // Sometimes a view at an odd or 2-mod-4 offset inside a larger buffer, as a frame parser might hand over.
      const shift = rng.int(4);
      const host = new Uint8Array(b.length + shift);
      host.set(b, shift);
      sameResult(codec.decode(host.subarray(shift), n), reference.decode(b, n));
    }
  });
});

describe('fp16 conversion tables', () => {
  it('round every float32 exponent like the reference, at the rounding edges of the mantissa', () => {
    // For each sign and biased exponent: mantissas at 0, the ends, and around the half-ulp tie of
    // every shift the tables use (13 for normal halves, 14 … 25 for subnormal ones).
    const mantissas = new Set<number>([0, 1, 0x7fffff, 0x400000, 0x3fffff]);
    for (let s = 13; s <= 25; s++) {
      for (const base of [0, 1 << s, 3 << s]) {
        for (const d of [-1, 0, 1]) {
          const m = base + (1 << (s - 1)) + d;
          if (m >= 0 && m < 0x800000) mantissas.add(m);
        }
      }
    }
    const want = (b: number): number => {
      const x = ref.referenceFp16.encode(Float32Array.of(fromBits(b)));
      return x[HEADER_BYTES]! | (x[HEADER_BYTES + 1]! << 8);
    };
    for (const sign of [0, 0x80000000]) {
      for (let e = 0; e < 255; e++) {
        for (const m of mantissas) {
          const b = (sign | (e << 23) | m) >>> 0;
          if (toHalf(fromBits(b)) !== want(b)) throw new Error(`float32 bits 0x${b.toString(16)}`);
        }
      }
    }
  });

  it('decode all 63,488 finite half patterns in one message exactly as the reference', () => {
    const finite = Array.from({ length: 65536 }, (_, h) => h).filter((h) => (h & 0x7c00) !== 0x7c00);
    const bytes = new Uint8Array(HEADER_BYTES + 2 * finite.length);
    bytes.set(ref.referenceFp16.encode(new Float32Array(finite.length)).subarray(0, HEADER_BYTES));
    finite.forEach((h, i) => { bytes[HEADER_BYTES + 2 * i] = h & 0xff; bytes[HEADER_BYTES + 2 * i + 1] = h >>> 8; });
    sameResult(codecByName('fp16').decode(bytes, finite.length), ref.referenceFp16.decode(bytes, finite.length));
  });
});

describe('wire byte order helpers', () => {
  it('read little-endian u16 words in place or, misaligned, as a copy with the same values', () => {
    const host = Uint8Array.from([9, 0x34, 0x12, 0xff, 0x00, 0x01, 0x80]);
    expect(Array.from(wireU16(host, 1, 3))).toEqual([0x1234, 0x00ff, 0x8001]);
    expect(Array.from(wireU16(host.subarray(1), 0, 3))).toEqual([0x1234, 0x00ff, 0x8001]);
    const aligned = wireU16(host, 1 + 1, 2); // byte offset 2: a view, sharing the buffer
    expect(Array.from(aligned)).toEqual([0xff12, 0x0100]);
  });

  it('leave words in little-endian order once written in host order', () => {
    const words = Uint16Array.from([0x1234, 0xabcd]);
    hostToWire16(words);
    expect(Array.from(new Uint8Array(words.buffer))).toEqual([0x34, 0x12, 0xcd, 0xab]);
  });
});
