/**
 * fp16 (id 1): IEEE binary16, round to nearest, ties to even, 2 bytes LE per value.
 *
 * Overflow choice: values beyond ±65504 (the largest finite half) are clamped to ±65504 instead of
 * becoming ±Infinity, so an encoded message is always finite and decodable; outer deltas that large
 * mean training has already diverged, and the clamp error is reported by errorBound.
 * Error bound per element, a = |x|:
 *   a > 65504            → a − 65504 (clamp)
 *   2^-14 ≤ a ≤ 65504    → a · 2^-11 (half an ulp of an 11-bit significand, relative)
 *   a < 2^-14 (subnormal) → 2^-25 (half the subnormal spacing 2^-24, absolute)
 * Decoding is exact into float32, and refuses half Infinity / NaN patterns ('non-finite').
 */
import type { Codec } from './codec';
import { HEADER_BYTES, nonFiniteInput, readHeader, writeHeader } from './format';
import { fail, ok } from '../result';

const HALF_MAX = 65504;
const MIN_NORMAL = 2 ** -14;
const ABS_65504 = 0x477fe000;   // float32 bits of 65504
const ABS_MIN_NORMAL = 0x38800000; // float32 bits of 2^-14
const ABS_INF = 0x7f800000;

/** Half bits of a float32 given as its raw bits `b` and its value `x` (the subnormal path needs it). */
function halfFromFloatBits(b: number, x: number): number {
  const sign = (b >>> 16) & 0x8000;
  const abs = b & 0x7fffffff;
  if (abs > ABS_65504) return sign | 0x7bff; // clamp (callers have already refused Infinity / NaN)
  if (abs >= ABS_MIN_NORMAL) {
    // Re-bias the exponent (127 → 15: subtract 112 << 10) and keep the top 10 mantissa bits.
    let h = (abs >>> 13) - 0x1c000;
    const rest = abs & 0x1fff; // the 13 dropped bits; 0x1000 is exactly half an ulp
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++; // a carry into the exponent is correct rounding
    return sign | h;
  }
  // Subnormal half: units of 2^-24; |x| · 2^24 < 1024 is exact in a double.
  const a = Math.abs(x) * 16777216;
  let r = Math.floor(a);
  const d = a - r;
  if (d > 0.5 || (d === 0.5 && (r & 1) === 1)) r++; // r = 1024 is the smallest normal: still correct
  return sign | r;
}

const scratchF = new Float32Array(1);
const scratchU = new Uint32Array(scratchF.buffer);

/** Half-precision bit pattern of x (rounded to float32 first, then RNE, clamped to ±65504). */
export function toHalf(x: number): number {
  scratchF[0] = x;
  const b = scratchU[0] ?? 0;
  if ((b & 0x7fffffff) >= ABS_INF) nonFiniteInput(0, x);
  return halfFromFloatBits(b, scratchF[0] ?? 0);
}

/** Value of a half bit pattern (Infinity / NaN patterns included). */
export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m === 0 ? sign * Infinity : NaN;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

let table: Float32Array | undefined;
/** 65536-entry decode table (256 kB), built on first decode: a lookup beats bit surgery per value. */
export function halfTable(): Float32Array {
  if (table === undefined) {
    table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = fromHalf(h);
  }
  return table;
}

export const fp16: Codec = {
  id: 1,
  name: 'fp16',
  bits: 16,
  encode(values) {
    const n = values.length;
    const bits = new Uint32Array(values.buffer, values.byteOffset, n); // Float32Array offsets are 4-aligned
    const out = new Uint8Array(HEADER_BYTES + 2 * n);
    writeHeader(out, 1, 0, n);
    for (let i = 0, o = HEADER_BYTES; i < n; i++, o += 2) {
      const b = bits[i] ?? 0;
      if ((b & 0x7fffffff) >= ABS_INF) nonFiniteInput(i, values[i] ?? 0);
      const h = halfFromFloatBits(b, values[i] ?? 0);
      out[o] = h & 0xff;
      out[o + 1] = h >>> 8;
    }
    return out;
  },
  decode(bytes, expectedLength) {
    const hdr = readHeader(bytes, 1, expectedLength, false, ({ count }) => 2 * count);
    if (!hdr.ok) return hdr;
    const n = hdr.value.count;
    const t = halfTable();
    const out = new Float32Array(n);
    for (let i = 0, o = HEADER_BYTES; i < n; i++, o += 2) {
      const h = (bytes[o] ?? 0) | ((bytes[o + 1] ?? 0) << 8);
      if ((h & 0x7c00) === 0x7c00) return fail('non-finite', `fp16 pattern 0x${h.toString(16)} at ${i}`);
      out[i] = t[h] ?? 0;
    }
    return ok(out);
  },
  errorBound(values) {
    let worst = 0;
    for (let i = 0; i < values.length; i++) {
      const a = Math.abs(values[i] ?? 0);
      const e = a > HALF_MAX ? a - HALF_MAX : a >= MIN_NORMAL ? a * 2 ** -11 : a === 0 ? 0 : 2 ** -25;
      if (e > worst) worst = e;
    }
    return worst;
  },
};
