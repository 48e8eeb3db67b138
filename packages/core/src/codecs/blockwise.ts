/**
 * Blockwise symmetric integer codecs int8 (id 2), int4 (id 3), int2 (id 4).
 *
 * Per block of `blockSize` values (the last block may be shorter), one fp32 scale s = max |x| and
 * codes q = round(x · qmax / s) ∈ [−qmax, qmax], qmax = 2^(b−1) − 1 (127, 7, 1; int2 is {−1, 0, 1}).
 * Decoding gives x̂ = q · s / qmax. Codes are stored offset-binary (q + qmax) in b bits, packed
 * little-end first (element i of a byte sits at bit (i mod 8/b) · b); so the all-ones code and any
 * set padding bit after the last element are illegal ('bad-field'), which keeps encodings canonical.
 *
 * Error bound per element: s / (2·qmax) (half a quantisation step) plus s · 2^-22 for rounding the
 * result to float32; errorBound returns the largest over the blocks. An all-zero block has s = 0 and
 * decodes to exact zeros.
 *
 * Speed (docs/method.md §6): a block's largest |x| is found on the float bits with integer compares;
 * then the whole bytes of the block are quantised and packed in one loop per bit width (blockbody.ts),
 * and only a block that starts or ends inside a byte (a block size that is not a multiple of the codes
 * per byte) goes through the per-element path for those few elements.
 */
import type { Codec, CodecId } from './codec';
import { ABS_INF, floatFromBits, int32View, throwFirstNonFinite } from './bits';
import { DECODE_BODY, ENCODE_BODY } from './blockbody';
import { checkBlockSize, DEFAULT_BLOCK, HEADER_BYTES, readHeader, writeHeader, type Header } from './format';
import { fail, ok } from '../result';

const ROUNDING_SLACK = 2 ** -22;

/**
 * The largest |x| bits over bits[start, end). For non-negative floats the bit patterns order like the
 * values, so this is the bits of max |x| exactly, and at or above Infinity's bits iff the range holds
 * an Infinity or a NaN.
 */
function maxAbsBits(bits: Int32Array, start: number, end: number): number {
  let m = 0;
  for (let i = start; i < end; i++) {
    const a = bits[i]! & 0x7fffffff;
    if (a > m) m = a;
  }
  return m;
}

function makeBlockwise(id: CodecId, name: string, bits: 8 | 4 | 2): Codec {
  const qmax = (1 << (bits - 1)) - 1;
  const illegal = (1 << bits) - 1; // the all-ones code, one above 2·qmax
  const lanes = 8 / bits;            // codes per byte: 1, 2, 4
  const laneMask = lanes - 1;
  const byteShift = Math.log2(lanes); // i >>> byteShift is the byte holding element i
  const encodeBody = ENCODE_BODY[bits];
  const decodeBody = DECODE_BODY[bits];
  const codeBytes = (n: number): number => Math.ceil((n * bits) / 8);
  const payload = ({ blockSize, count }: Header): number => 4 * Math.ceil(count / blockSize) + codeBytes(count);
  /** First index ≥ i that starts a byte, or `end` if sooner. */
  const byteStart = (i: number, end: number): number => Math.min(end, (i + laneMask) & ~laneMask);

  // The per-element path, for the few elements of a block that share a byte with the next or previous
  // block. Encoding ORs codes into bytes (the message starts zeroed); decoding returns the OR of
  // (code + 1), which exceeds the all-ones code only if that illegal code occurs.
  const codeAt = (codes: Uint8Array, i: number): number => (codes[i >>> byteShift]! >>> ((i & laneMask) * bits)) & illegal;
  const encodeEach = (values: Float32Array, codes: Uint8Array, i: number, end: number, k: number, half: number): void => {
    for (; i < end; i++) codes[i >>> byteShift] = codes[i >>> byteShift]! | (((values[i]! * k + half) | 0) << ((i & laneMask) * bits));
  };
  const decodeEach = (codes: Uint8Array, out: Float32Array, i: number, end: number, step: number): number => {
    let bad = 0;
    for (; i < end; i++) {
      const c = codeAt(codes, i);
      bad |= c + 1;
      out[i] = (c - qmax) * step;
    }
    return bad;
  };

  return {
    id,
    name,
    bits,
    encode(values, blockSize = DEFAULT_BLOCK) {
      checkBlockSize(blockSize);
      const n = values.length;
      const blocks = Math.ceil(n / blockSize);
      const out = new Uint8Array(HEADER_BYTES + payload({ blockSize, count: n }));
      writeHeader(out, id, blockSize, n);
      const dv = new DataView(out.buffer);
      const codes = out.subarray(HEADER_BYTES + 4 * blocks);
      const bits32 = int32View(values);
      const half = qmax + 0.5;
      for (let b = 0; b < blocks; b++) {
        const start = b * blockSize;
        const end = Math.min(n, start + blockSize);
        const m = maxAbsBits(bits32, start, end);
        if (m >= ABS_INF) throwFirstNonFinite(values, start, end);
        const s = floatFromBits(m);
        dv.setFloat32(HEADER_BYTES + 4 * b, s, true);
        // x · k ∈ [−qmax, qmax] up to one double rounding, so x · k + qmax + 0.5 ∈ (0, 2·qmax + 1) and
        // truncation is round-half-up to an offset code in [0, 2·qmax].
        const k = s > 0 ? qmax / s : 0;
        const head = byteStart(start, end);
        const whole = head + ((end - head) & ~laneMask); // [head, whole) is whole bytes
        encodeEach(values, codes, start, head, k, half);
        encodeBody(values, codes, head, whole, k, half);
        encodeEach(values, codes, whole, end, k, half);
      }
      return out;
    },
    decode(bytes, expectedLength) {
      const h = readHeader(bytes, id, expectedLength, true, payload);
      if (!h.ok) return h;
      const { blockSize, count: n } = h.value;
      const blocks = Math.ceil(n / blockSize);
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const codes = bytes.subarray(HEADER_BYTES + 4 * blocks);
      const tail = n & laneMask; // elements in a partly used last byte
      if (tail !== 0 && codes[codes.length - 1]! >>> (tail * bits) !== 0) return fail('bad-field', `${name} padding bits set`);
      const out = new Float32Array(n);
      const lut = new Float32Array(illegal + 1); // the block's decoded value per code
      for (let b = 0; b < blocks; b++) {
        const s = dv.getFloat32(HEADER_BYTES + 4 * b, true);
        if (s - s !== 0) return fail('non-finite', `${name} scale ${s} in block ${b}`);
        if (s < 0) return fail('bad-field', `${name} negative scale ${s} in block ${b}`);
        const step = s / qmax;
        const start = b * blockSize;
        const end = Math.min(n, start + blockSize);
        const head = byteStart(start, end);
        const whole = head + ((end - head) & ~laneMask);
        const bad = decodeEach(codes, out, start, head, step) | decodeBody(codes, out, head, whole, qmax, step, lut) |
          decodeEach(codes, out, whole, end, step);
        if (bad > illegal) {
          let at = start;
          while (codeAt(codes, at) !== illegal) at++;
          return fail('bad-field', `${name} code ${illegal} at ${at}`);
        }
      }
      return ok(out);
    },
    errorBound(values, blockSize = DEFAULT_BLOCK) {
      checkBlockSize(blockSize);
      let worst = 0;
      for (let start = 0; start < values.length; start += blockSize) {
        let s = 0;
        const end = Math.min(values.length, start + blockSize);
        for (let i = start; i < end; i++) s = Math.max(s, Math.abs(values[i] ?? 0));
        worst = Math.max(worst, s / (2 * qmax) + s * ROUNDING_SLACK);
      }
      return worst;
    },
  };
}

export const int8 = makeBlockwise(2, 'int8', 8);
export const int4 = makeBlockwise(3, 'int4', 4);
export const int2 = makeBlockwise(4, 'int2', 2);
