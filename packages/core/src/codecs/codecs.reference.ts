/**
 * Test oracle: the straightforward per-element codecs that the optimised ones in fp16.ts, blockwise.ts,
 * sign.ts and fp32.ts replaced, kept verbatim in behaviour (same bytes, same values, same refusals).
 * Tests compare the fast codecs against these bit for bit; nothing outside tests imports this file.
 */
import type { CodecId } from './codec';
import { checkBlockSize, DEFAULT_BLOCK, HEADER_BYTES, nonFiniteInput, readHeader, writeHeader, type Header } from './format';
import { fail, ok, type Result } from '../result';

export interface ReferenceCodec {
  encode(values: Float32Array, blockSize?: number): Uint8Array;
  decode(bytes: Uint8Array, expectedLength: number): Result<Float32Array>;
}

const ABS_65504 = 0x477fe000;
const ABS_MIN_NORMAL = 0x38800000;
const ABS_INF = 0x7f800000;

function halfFromFloatBits(b: number, x: number): number {
  const sign = (b >>> 16) & 0x8000;
  const abs = b & 0x7fffffff;
  if (abs > ABS_65504) return sign | 0x7bff;
  if (abs >= ABS_MIN_NORMAL) {
    let h = (abs >>> 13) - 0x1c000;
    const rest = abs & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
    return sign | h;
  }
  const a = Math.abs(x) * 16777216;
  let r = Math.floor(a);
  const d = a - r;
  if (d > 0.5 || (d === 0.5 && (r & 1) === 1)) r++;
  return sign | r;
}

function valueOfHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m === 0 ? sign * Infinity : NaN;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

export const referenceFp16: ReferenceCodec = {
  encode(values) {
    const n = values.length;
    const bits = new Uint32Array(values.buffer, values.byteOffset, n);
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
    const out = new Float32Array(n);
    for (let i = 0, o = HEADER_BYTES; i < n; i++, o += 2) {
      const h = (bytes[o] ?? 0) | ((bytes[o + 1] ?? 0) << 8);
      if ((h & 0x7c00) === 0x7c00) return fail('non-finite', `fp16 pattern 0x${h.toString(16)} at ${i}`);
      out[i] = valueOfHalf(h);
    }
    return ok(out);
  },
};

function referenceBlockwise(id: CodecId, name: string, bits: 8 | 4 | 2): ReferenceCodec {
  const qmax = (1 << (bits - 1)) - 1;
  const lanes = 8 / bits;
  const laneMask = lanes - 1;
  const byteShift = Math.log2(lanes);
  const codeMask = (1 << bits) - 1;
  const payload = ({ blockSize, count }: Header): number => 4 * Math.ceil(count / blockSize) + Math.ceil((count * bits) / 8);
  return {
    encode(values, blockSize = DEFAULT_BLOCK) {
      checkBlockSize(blockSize);
      const n = values.length;
      const blocks = Math.ceil(n / blockSize);
      const out = new Uint8Array(HEADER_BYTES + payload({ blockSize, count: n }));
      writeHeader(out, id, blockSize, n);
      const dv = new DataView(out.buffer);
      const codes = out.subarray(HEADER_BYTES + 4 * blocks);
      let acc = 0, lane = 0, at = 0;
      const half = qmax + 0.5;
      for (let b = 0; b < blocks; b++) {
        const start = b * blockSize;
        const end = Math.min(n, start + blockSize);
        let s = 0;
        for (let i = start; i < end; i++) {
          const v = values[i] ?? 0;
          if (v - v !== 0) nonFiniteInput(i, v);
          const a = v < 0 ? -v : v;
          if (a > s) s = a;
        }
        dv.setFloat32(HEADER_BYTES + 4 * b, s, true);
        const k = s > 0 ? qmax / s : 0;
        for (let i = start; i < end; i++) {
          acc |= (((values[i] ?? 0) * k + half) | 0) << (lane * bits);
          if (++lane === lanes) { codes[at++] = acc; acc = 0; lane = 0; }
        }
      }
      if (lane !== 0) codes[at] = acc;
      return out;
    },
    decode(bytes, expectedLength) {
      const h = readHeader(bytes, id, expectedLength, true, payload);
      if (!h.ok) return h;
      const { blockSize, count: n } = h.value;
      const blocks = Math.ceil(n / blockSize);
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const codes = bytes.subarray(HEADER_BYTES + 4 * blocks);
      const tail = n & laneMask;
      if (tail !== 0 && (codes[codes.length - 1] ?? 0) >>> (tail * bits) !== 0) return fail('bad-field', `${name} padding bits set`);
      const out = new Float32Array(n);
      for (let b = 0; b < blocks; b++) {
        const s = dv.getFloat32(HEADER_BYTES + 4 * b, true);
        if (s - s !== 0) return fail('non-finite', `${name} scale ${s} in block ${b}`);
        if (s < 0) return fail('bad-field', `${name} negative scale ${s} in block ${b}`);
        const step = s / qmax;
        const start = b * blockSize;
        const end = Math.min(n, start + blockSize);
        for (let i = start; i < end; i++) {
          const c = ((codes[i >> byteShift] ?? 0) >>> ((i & laneMask) * bits)) & codeMask;
          if (c > 2 * qmax) return fail('bad-field', `${name} code ${c} at ${i}`);
          out[i] = (c - qmax) * step;
        }
      }
      return ok(out);
    },
  };
}

export const referenceInt8 = referenceBlockwise(2, 'int8', 8);
export const referenceInt4 = referenceBlockwise(3, 'int4', 4);
export const referenceInt2 = referenceBlockwise(4, 'int2', 2);

const signPayload = ({ blockSize, count }: Header): number => 4 * Math.ceil(count / blockSize) + Math.ceil(count / 8);

function meanAbs(values: Float32Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i++) {
    const v = values[i] ?? 0;
    if (v - v !== 0) nonFiniteInput(i, v);
    sum += v < 0 ? -v : v;
  }
  return Math.fround(sum / (end - start));
}

export const referenceInt1: ReferenceCodec = {
  encode(values, blockSize = DEFAULT_BLOCK) {
    checkBlockSize(blockSize);
    const n = values.length;
    const blocks = Math.ceil(n / blockSize);
    const out = new Uint8Array(HEADER_BYTES + signPayload({ blockSize, count: n }));
    writeHeader(out, 5, blockSize, n);
    const dv = new DataView(out.buffer);
    const codes = out.subarray(HEADER_BYTES + 4 * blocks);
    let acc = 0, lane = 0, at = 0;
    for (let b = 0; b < blocks; b++) {
      const start = b * blockSize;
      const end = Math.min(n, start + blockSize);
      dv.setFloat32(HEADER_BYTES + 4 * b, meanAbs(values, start, end), true);
      for (let i = start; i < end; i++) {
        acc |= +((values[i] ?? 0) >= 0) << lane;
        if (++lane === 8) { codes[at++] = acc; acc = 0; lane = 0; }
      }
    }
    if (lane !== 0) codes[at] = acc;
    return out;
  },
  decode(bytes, expectedLength) {
    const h = readHeader(bytes, 5, expectedLength, true, signPayload);
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
      for (let i = start; i < end; i++) out[i] = ((((codes[i >> 3] ?? 0) >>> (i & 7)) & 1) * 2 - 1) * s;
    }
    return ok(out);
  },
};

export const referenceFp32: ReferenceCodec = {
  encode(values) {
    const n = values.length;
    const out = new Uint8Array(HEADER_BYTES + 4 * n);
    writeHeader(out, 0, 0, n);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < n; i++) {
      const v = values[i] ?? 0;
      if (v - v !== 0) nonFiniteInput(i, v);
      dv.setFloat32(HEADER_BYTES + 4 * i, v, true);
    }
    return out;
  },
  decode(bytes, expectedLength) {
    const h = readHeader(bytes, 0, expectedLength, false, ({ count }) => 4 * count);
    if (!h.ok) return h;
    const n = h.value.count;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const v = dv.getFloat32(HEADER_BYTES + 4 * i, true);
      if (v - v !== 0) return fail('non-finite', `fp32 value ${v} at ${i}`);
      out[i] = v;
    }
    return ok(out);
  },
};
