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
 *
 * Speed (docs/method.md §6): encoding is table-driven on the float32 exponent, so normal and subnormal
 * halves take the same branch-free path; decoding is one lookup in a 65,536-entry table per value.
 */
import type { Codec } from './codec';
import { bitsOfFloat, floatFromBits, hostToWire16, int32View, wireU16 } from './bits';
import { HEADER_BYTES, nonFiniteInput, readHeader, writeHeader } from './format';
import { fail, ok } from '../result';

const HALF_MAX = 65504;
const MIN_NORMAL = 2 ** -14;
const ABS_65504 = 0x477fe000; // float32 bits of 65504
// Local rather than imported from bits.ts: the encoder's loop reads it per value, and under a CommonJS
// transform (tsx in Node) an imported binding is a property read through a getter, ~1 ns each.
const ABS_INF = 0x7f800000;

/*
 * Rounding tables indexed by the float32 biased exponent e, for |x| ≤ 65504 (e ≤ 142). With the
 * implicit bit restored, m = mantissa | 2^23 holds |x| in units of 2^(e − 150); the half holds it in
 * units of its own ulp, 2^(e − 137) for a normal half (e ≥ 113) and 2^-24 below. So the half is m shifted
 * right by SHIFT[e] (13 for normals, 126 − e for subnormals, capped at 25 where everything rounds to 0),
 * rounded to nearest-even by adding BIAS[e] = 2^(SHIFT−1) − 1 plus the lowest kept bit, plus BASE[e],
 * the half exponent field less the implicit bit's 1 << 10 (0 for subnormals). A rounding carry lands in
 * the exponent, which is the correctly rounded result (up to the next binade, or the smallest normal).
 */
const BASE = new Int32Array(256);
const SHIFT = new Int32Array(256);
const BIAS = new Int32Array(256);
for (let e = 0; e < 256; e++) {
  const shift = e >= 113 ? 13 : Math.min(25, 126 - e);
  SHIFT[e] = shift;
  BIAS[e] = (1 << (shift - 1)) - 1;
  BASE[e] = e >= 113 ? (e - 113) << 10 : 0; // entries above 142 go unused: those values are clamped
}

/** Half bits of the finite float32 with bits `b`: RNE through the tables, or the clamp to ±65504. */
function halfOfFinite(b: number): number {
  const e = (b >>> 23) & 0xff;
  const shift = SHIFT[e]!;
  const m = (b & 0x7fffff) | 0x800000;
  const h = (b & 0x7fffffff) > ABS_65504 ? 0x7bff : BASE[e]! + ((m + BIAS[e]! + ((m >>> shift) & 1)) >>> shift);
  return ((b >>> 16) & 0x8000) | h;
}

/** Half-precision bit pattern of x (rounded to float32 first, then RNE, clamped to ±65504). */
export function toHalf(x: number): number {
  const b = bitsOfFloat(x);
  if ((b & 0x7fffffff) >= ABS_INF) nonFiniteInput(0, x);
  return halfOfFinite(b);
}

/** Values per call of encodeHalves and decodeHalves: the hot loops run in many short calls (see there). */
const CHUNK = 4096;

/**
 * halves[i] = toHalf(x_i) for i in [lo, hi), x given by its float32 bits; throws on the first
 * non-finite value. A small function called once per CHUNK values is what JS engines optimise as a
 * whole, where one loop over a whole message runs as on-stack-replacement code that V8 (Node 20)
 * re-enters and deoptimises on every call.
 */
function encodeHalves(bits: Int32Array, halves: Uint16Array, lo: number, hi: number): void {
  for (let i = lo; i < hi; i++) {
    const b = bits[i]!;
    if ((b & 0x7fffffff) >= ABS_INF) nonFiniteInput(i, floatFromBits(b));
    halves[i] = halfOfFinite(b);
  }
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

/**
 * out[i] = t[halves[i]] for i in [lo, hi); returns the OR of (h & 0x7C00) + 0x400 over them, which
 * carries into bit 15 only for an all-ones exponent (Infinity / NaN). OR-ing it up keeps a
 * data-dependent branch out of the loop; the caller locates the rare failure afterwards.
 */
function decodeHalves(halves: Uint16Array, t: Float32Array, out: Float32Array, lo: number, hi: number): number {
  let bad = 0;
  for (let i = lo; i < hi; i++) {
    const h = halves[i]!;
    bad |= (h & 0x7c00) + 0x400;
    out[i] = t[h]!;
  }
  return bad;
}

export const fp16: Codec = {
  id: 1,
  name: 'fp16',
  bits: 16,
  encode(values) {
    const n = values.length;
    const bits = int32View(values);
    const out = new Uint8Array(HEADER_BYTES + 2 * n);
    writeHeader(out, 1, 0, n);
    const halves = new Uint16Array(out.buffer, HEADER_BYTES, n); // a fresh buffer: offset 12 is 2-aligned
    for (let lo = 0; lo < n; lo += CHUNK) encodeHalves(bits, halves, lo, Math.min(n, lo + CHUNK));
    hostToWire16(halves);
    return out;
  },
  decode(bytes, expectedLength) {
    const hdr = readHeader(bytes, 1, expectedLength, false, ({ count }) => 2 * count);
    if (!hdr.ok) return hdr;
    const n = hdr.value.count;
    const halves = wireU16(bytes, HEADER_BYTES, n);
    const t = halfTable();
    const out = new Float32Array(n);
    let bad = 0;
    for (let lo = 0; lo < n; lo += CHUNK) bad |= decodeHalves(halves, t, out, lo, Math.min(n, lo + CHUNK));
    if ((bad & 0x8000) !== 0) {
      let i = 0;
      while ((halves[i]! & 0x7c00) !== 0x7c00) i++;
      return fail('non-finite', `fp16 pattern 0x${halves[i]!.toString(16)} at ${i}`);
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
