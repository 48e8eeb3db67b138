/**
 * int1 (id 5): sign-based 1-bit codec. Per block, one fp32 scale s = mean |x| (rounded to float32)
 * and one bit per value: 1 for x ≥ 0 (so 0 and −0 count as positive), 0 for x < 0. Decoding gives
 * x̂ = ±s. The mean-abs scale keeps the block's L1 mass, the usual choice for sign compression.
 *
 * Error bound: max over elements of |x − sign(x)·s| with sign(0) = +1, which is computed exactly by
 * errorBound; it can reach max |x| + s, which is why 1-bit needs error feedback (§6.13).
 * Bits are packed 8 per byte, element i at bit i mod 8; set padding bits after the last element are
 * illegal ('bad-field').
 */
import type { Codec } from './codec';
import { checkBlockSize, DEFAULT_BLOCK, HEADER_BYTES, nonFiniteInput, readHeader, writeHeader, type Header } from './format';
import { fail, ok } from '../result';

const payload = ({ blockSize, count }: Header): number => 4 * Math.ceil(count / blockSize) + Math.ceil(count / 8);

/** The fp32 scale encode stores for values[start, end): mean |x|, summed in a double. */
function meanAbs(values: Float32Array, start: number, end: number, check: boolean): number {
  let sum = 0;
  for (let i = start; i < end; i++) {
    const v = values[i] ?? 0;
    if (check && v - v !== 0) nonFiniteInput(i, v);
    sum += v < 0 ? -v : v;
  }
  return Math.fround(sum / (end - start)); // ≤ max |x|, so finite
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
    const codes = out.subarray(HEADER_BYTES + 4 * blocks);
    let acc = 0, lane = 0, at = 0; // bits gathered in a register, stored once per byte, across blocks
    for (let b = 0; b < blocks; b++) {
      const start = b * blockSize;
      const end = Math.min(n, start + blockSize);
      dv.setFloat32(HEADER_BYTES + 4 * b, meanAbs(values, start, end, true), true);
      for (let i = start; i < end; i++) {
        acc |= +((values[i] ?? 0) >= 0) << lane;
        if (++lane === 8) { codes[at++] = acc; acc = 0; lane = 0; }
      }
    }
    if (lane !== 0) codes[at] = acc;
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
    if (tail !== 0 && (codes[codes.length - 1] ?? 0) >>> tail !== 0) return fail('bad-field', 'int1 padding bits set');
    const out = new Float32Array(n);
    for (let b = 0; b < blocks; b++) {
      const s = dv.getFloat32(HEADER_BYTES + 4 * b, true);
      if (s - s !== 0) return fail('non-finite', `int1 scale ${s} in block ${b}`);
      if (s < 0) return fail('bad-field', `int1 negative scale ${s} in block ${b}`);
      const start = b * blockSize;
      const end = Math.min(n, start + blockSize);
      // (2·bit − 1) · s is ±s without a data-dependent branch (signs are coin flips to a predictor).
      for (let i = start; i < end; i++) out[i] = ((((codes[i >> 3] ?? 0) >>> (i & 7)) & 1) * 2 - 1) * s;
    }
    return ok(out);
  },
  errorBound(values, blockSize = DEFAULT_BLOCK) {
    checkBlockSize(blockSize);
    let worst = 0;
    for (let start = 0; start < values.length; start += blockSize) {
      const end = Math.min(values.length, start + blockSize);
      const s = meanAbs(values, start, end, false);
      for (let i = start; i < end; i++) {
        const v = values[i] ?? 0;
        worst = Math.max(worst, Math.abs(v - (v >= 0 ? s : -s)));
      }
    }
    return worst;
  },
};
