/**
 * int1 (id 5): sign-based 1-bit codec. Per block, one fp32 scale s = mean |x| (rounded to float32)
 * and one bit per value: 1 for x ≥ 0 (so 0 and −0 count as positive), 0 for x < 0. Decoding gives
 * x̂ = ±s. The mean-abs scale keeps the block's L1 mass, the usual choice for sign compression.
 *
 * Error bound: max over elements of |x − sign(x)·s| with sign(0) = +1, which is computed exactly by
 * errorBound; it can reach max |x| + s, which is why 1-bit needs error feedback (docs/method.md §6).
 * Bits are packed 8 per byte, element i at bit i mod 8; set padding bits after the last element are
 * illegal ('bad-field').
 *
 * Speed (docs/method.md §6): the sign bits do not depend on the blocks, so they are packed 8 to a byte
 * in one pass over the whole vector; scales take a separate branch-free pass (the sum of |x| is finite
 * iff every x is, so non-finite input is looked for only when a block's sum says there is some).
 */
import type { Codec } from './codec';
import { throwFirstNonFinite } from './bits';
import { checkBlockSize, DEFAULT_BLOCK, HEADER_BYTES, readHeader, writeHeader, type Header } from './format';
import { fail, ok } from '../result';

const payload = ({ blockSize, count }: Header): number => 4 * Math.ceil(count / blockSize) + Math.ceil(count / 8);

/** The fp32 scale encode stores for values[start, end): mean |x|, summed in a double. */
function meanAbs(values: Float32Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += Math.abs(values[i]!);
  return Math.fround(sum / (end - start)); // ≤ max |x|, so finite when sum is
}

/**
 * out[i] = ±s by the sign bit of element i, for i in [start, end): whole bytes 8 values at a time, each
 * value a lookup in lut = [−s, +s] (what (2·bit − 1) · s rounds to), so no data-dependent branch.
 */
function decodeSigns(codes: Uint8Array, out: Float32Array, start: number, end: number, lut: Float32Array): void {
  let i = start;
  for (; i < end && (i & 7) !== 0; i++) out[i] = lut[(codes[i >>> 3]! >>> (i & 7)) & 1]!;
  const whole = i + ((end - i) & ~7);
  for (; i < whole; i += 8) {
    const p = codes[i >>> 3]!;
    out[i] = lut[p & 1]!;
    out[i + 1] = lut[(p >>> 1) & 1]!;
    out[i + 2] = lut[(p >>> 2) & 1]!;
    out[i + 3] = lut[(p >>> 3) & 1]!;
    out[i + 4] = lut[(p >>> 4) & 1]!;
    out[i + 5] = lut[(p >>> 5) & 1]!;
    out[i + 6] = lut[(p >>> 6) & 1]!;
    out[i + 7] = lut[p >>> 7]!;
  }
  for (; i < end; i++) out[i] = lut[(codes[i >>> 3]! >>> (i & 7)) & 1]!;
}

/** Code bytes per call of packSigns: many short calls are what JS engines optimise best (see fp16.ts). */
const BYTES_PER_CALL = 512;

/** codes[j] = the sign bits of values[8j, 8j + 8) for j in [lo, hi); +(v >= 0) is a compare-and-set, not a branch. */
function packSigns(values: Float32Array, codes: Uint8Array, lo: number, hi: number): void {
  for (let j = lo, i = 8 * lo; j < hi; j++, i += 8) {
    codes[j] = +(values[i]! >= 0) | (+(values[i + 1]! >= 0) << 1) | (+(values[i + 2]! >= 0) << 2) |
      (+(values[i + 3]! >= 0) << 3) | (+(values[i + 4]! >= 0) << 4) | (+(values[i + 5]! >= 0) << 5) |
      (+(values[i + 6]! >= 0) << 6) | (+(values[i + 7]! >= 0) << 7);
  }
}

export const int1: Codec = {
  id: 5,
  name: 'int1',
  bits: 1,
  encode(values, blockSize = DEFAULT_BLOCK) {
    checkBlockSize(blockSize);
    const n = values.length;
    const blocks = Math.ceil(n / blockSize);
    const out = new Uint8Array(HEADER_BYTES + payload({ blockSize, count: n }));
    writeHeader(out, 5, blockSize, n);
    const dv = new DataView(out.buffer);
    for (let b = 0; b < blocks; b++) {
      const start = b * blockSize;
      const end = Math.min(n, start + blockSize);
      const s = meanAbs(values, start, end);
      if (s - s !== 0) throwFirstNonFinite(values, start, end); // n · float32 max is far below double max
      dv.setFloat32(HEADER_BYTES + 4 * b, s, true);
    }
    const codes = out.subarray(HEADER_BYTES + 4 * blocks);
    const whole = n >>> 3;
    for (let j = 0; j < whole; j += BYTES_PER_CALL) packSigns(values, codes, j, Math.min(whole, j + BYTES_PER_CALL));
    if (whole * 8 < n) {
      let acc = 0;
      for (let i = whole * 8; i < n; i++) acc |= +(values[i]! >= 0) << (i & 7);
      codes[whole] = acc;
    }
    return out;
  },
  decode(bytes, expectedLength) {
    const h = readHeader(bytes, 5, expectedLength, true, payload);
    if (!h.ok) return h;
    const { blockSize, count: n } = h.value;
    const blocks = Math.ceil(n / blockSize);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const codes = bytes.subarray(HEADER_BYTES + 4 * blocks);
    const tail = n & 7;
    if (tail !== 0 && codes[codes.length - 1]! >>> tail !== 0) return fail('bad-field', 'int1 padding bits set');
    const out = new Float32Array(n);
    const lut = new Float32Array(2);
    for (let b = 0; b < blocks; b++) {
      const s = dv.getFloat32(HEADER_BYTES + 4 * b, true);
      if (s - s !== 0) return fail('non-finite', `int1 scale ${s} in block ${b}`);
      if (s < 0) return fail('bad-field', `int1 negative scale ${s} in block ${b}`);
      lut[0] = -s;
      lut[1] = s;
      decodeSigns(codes, out, b * blockSize, Math.min(n, (b + 1) * blockSize), lut);
    }
    return ok(out);
  },
  errorBound(values, blockSize = DEFAULT_BLOCK) {
    checkBlockSize(blockSize);
    let worst = 0;
    for (let start = 0; start < values.length; start += blockSize) {
      const end = Math.min(values.length, start + blockSize);
      const s = meanAbs(values, start, end);
      for (let i = start; i < end; i++) {
        const v = values[i] ?? 0;
        worst = Math.max(worst, Math.abs(v - (v >= 0 ? s : -s)));
      }
    }
    return worst;
  },
};
