/**
 * fp32 (id 0): the values as IEEE single precision, little-endian. Exact: error bound 0.
 *
 * Speed (docs/method.md §6): one pass copies the float bits as int32 words and ORs up
 * (bits & 0x7F800000) + 0x800000, which carries into the sign bit only for an all-ones exponent
 * (Infinity / NaN); the rare refusal is located afterwards, so the loop has no data-dependent branch.
 */
import type { Codec } from './codec';
import { HOST_LE, int32View, throwFirstNonFinite } from './bits';
import { HEADER_BYTES, readHeader, writeHeader } from './format';
import { fail, ok } from '../result';

/** Words per call of copyWords: many short calls are what JS engines optimise best (see fp16.ts). */
const CHUNK = 4096;

/** dst[i] = src[i] for i in [lo, hi); returns the OR of (word & 0x7F800000) + 0x800000 over them. */
function copyWords(src: Int32Array, dst: Int32Array, lo: number, hi: number): number {
  let bad = 0;
  for (let i = lo; i < hi; i++) {
    const b = src[i]!;
    bad |= (b & 0x7f800000) + 0x800000;
    dst[i] = b;
  }
  return bad;
}

/** Copies src to dst (same length); true iff some word is the bit pattern of an Infinity or a NaN. */
function copyFinite(src: Int32Array, dst: Int32Array): boolean {
  let bad = 0;
  for (let lo = 0; lo < src.length; lo += CHUNK) bad |= copyWords(src, dst, lo, Math.min(src.length, lo + CHUNK));
  return bad < 0;
}

export const fp32: Codec = {
  id: 0,
  name: 'fp32',
  bits: 32,
  encode(values) {
    const n = values.length;
    const out = new Uint8Array(HEADER_BYTES + 4 * n);
    writeHeader(out, 0, 0, n);
    if (HOST_LE) {
      // A fresh buffer: offset 12 is 4-aligned.
      if (copyFinite(int32View(values), new Int32Array(out.buffer, HEADER_BYTES, n))) throwFirstNonFinite(values, 0, n);
    } else {
      const dv = new DataView(out.buffer);
      for (let i = 0; i < n; i++) {
        const v = values[i]!;
        if (v - v !== 0) throwFirstNonFinite(values, i, n); // NaN and ±Infinity are the only v with v − v ≠ 0
        dv.setFloat32(HEADER_BYTES + 4 * i, v, true);
      }
    }
    return out;
  },
  decode(bytes, expectedLength) {
    const h = readHeader(bytes, 0, expectedLength, false, ({ count }) => 4 * count);
    if (!h.ok) return h;
    const n = h.value.count;
    const out = new Float32Array(n);
    const at = bytes.byteOffset + HEADER_BYTES;
    let bad = false;
    if (HOST_LE) {
      const words = int32View(out);
      if (at % 4 === 0) {
        bad = copyFinite(new Int32Array(bytes.buffer, at, n), words);
      } else { // a misaligned view: copy the bytes, then check in place
        new Uint8Array(out.buffer).set(bytes.subarray(HEADER_BYTES));
        bad = copyFinite(words, words);
      }
    } else {
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = 0; i < n; i++) {
        const v = dv.getFloat32(HEADER_BYTES + 4 * i, true);
        bad ||= v - v !== 0;
        out[i] = v;
      }
    }
    if (bad) {
      let i = 0;
      while (out[i]! - out[i]! === 0) i++;
      return fail('non-finite', `fp32 value ${out[i]} at ${i}`);
    }
    return ok(out);
  },
  errorBound() {
    return 0;
  },
};
