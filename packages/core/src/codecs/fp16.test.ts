import { describe, expect, it } from 'vitest';
import { fp16, fromHalf, toHalf } from './fp16';
import { ConfigError } from '../result';
import { makeRng } from '../rng';

/** Naive reference: nearest finite positive half by binary search over all patterns, ties to the even pattern. */
const positives = Array.from({ length: 0x7c00 }, (_, h) => fromHalf(h)); // 0x0000..0x7BFF, increasing
function referenceHalf(x: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.min(Math.abs(x), 65504);
  let lo = 0, hi = positives.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((positives[mid] ?? 0) <= a) lo = mid; else hi = mid;
  }
  const dl = a - (positives[lo] ?? 0), dh = (positives[hi] ?? 0) - a;
  const h = dl < dh ? lo : dh < dl ? hi : lo % 2 === 0 ? lo : hi;
  return sign | h;
}

describe('fp16 bit patterns (hand-worked)', () => {
  it.each([
    [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [2 ** -24, 0x0001], [0.1, 0x2e66],
    [0, 0x0000], [-0, 0x8000], [2 ** -14, 0x0400], [0.5, 0x3800], [-1.5, 0xbe00],
    [1 + 2 ** -11, 0x3c00],      // tie between 0x3C00 and 0x3C01: to even
    [1 + 3 * 2 ** -11, 0x3c02],  // tie between 0x3C01 and 0x3C02: to even
    [2 ** -25, 0x0000],          // subnormal tie between 0 and 1: to even
    [3 * 2 ** -25, 0x0002],
    [2 ** -14 - 2 ** -26, 0x0400], // largest subnormal region rounds up into the first normal
    [65519, 0x7bff],             // rounds down under RNE anyway
    [65520, 0x7bff], [1e6, 0x7bff], [-1e30, 0xfbff], // clamped instead of ±Infinity
  ])('%s → 0x%s', (x, h) => {
    expect(toHalf(x).toString(16)).toBe(h.toString(16));
  });

  it('decodes hand-worked patterns', () => {
    expect([0x3c00, 0xc000, 0x7bff, 0x0001, 0x0400, 0x8000].map(fromHalf)).toEqual([1, -2, 65504, 2 ** -24, 2 ** -14, -0]);
    expect(fromHalf(0x2e66)).toBe(0.0999755859375);
  });

  it('matches a brute-force nearest-half reference on seeded values, midpoints included', () => {
    const rng = makeRng(16);
    for (let i = 0; i < 20000; i++) {
      let x: number;
      if (i % 3 === 0) {
        const h = rng.int(0x7bff); // exact midpoint between two neighbouring halves
        x = ((fromHalf(h) + fromHalf(h + 1)) / 2) * (rng.next() < 0.5 ? -1 : 1);
      } else {
        x = rng.normal() * 2 ** (rng.int(50) - 30);
      }
      x = Math.fround(x);
      expect(toHalf(x)).toBe(referenceHalf(x));
    }
  });

  it('throws ConfigError on non-finite input', () => {
    expect(() => toHalf(NaN)).toThrow(ConfigError);
    expect(() => fp16.encode(Float32Array.from([1, Infinity]))).toThrow(ConfigError);
  });

  it('encodes little-endian after the 12-byte header', () => {
    const bytes = fp16.encode(Float32Array.from([1, -2]));
    expect(Array.from(bytes)).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0x00, 0x3c, 0x00, 0xc0]);
  });
});
