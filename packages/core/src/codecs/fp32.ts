/** fp32 (id 0): the values as IEEE single precision, little-endian. Exact: error bound 0. */
import type { Codec } from './codec';
import { HEADER_BYTES, nonFiniteInput, readHeader, writeHeader } from './format';
import { fail, ok } from '../result';

/** Every browser and Node platform we target is little-endian; the DataView path keeps others correct. */
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export const fp32: Codec = {
  id: 0,
  name: 'fp32',
  bits: 32,
  encode(values) {
    const n = values.length;
    for (let i = 0; i < n; i++) {
      const v = values[i] ?? 0;
      if (v - v !== 0) nonFiniteInput(i, v); // NaN and ±Infinity are the only numbers with v − v ≠ 0
    }
    const out = new Uint8Array(HEADER_BYTES + 4 * n);
    writeHeader(out, 0, 0, n);
    if (HOST_LE) {
      out.set(new Uint8Array(values.buffer, values.byteOffset, 4 * n), HEADER_BYTES);
    } else {
      const dv = new DataView(out.buffer);
      for (let i = 0; i < n; i++) dv.setFloat32(HEADER_BYTES + 4 * i, values[i] ?? 0, true);
    }
    return out;
  },
  decode(bytes, expectedLength) {
    const h = readHeader(bytes, 0, expectedLength, false, ({ count }) => 4 * count);
    if (!h.ok) return h;
    const n = h.value.count;
    const out = new Float32Array(n);
    if (HOST_LE) {
      new Uint8Array(out.buffer).set(bytes.subarray(HEADER_BYTES));
    } else {
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(HEADER_BYTES + 4 * i, true);
    }
    for (let i = 0; i < n; i++) {
      const v = out[i] ?? 0;
      if (v - v !== 0) return fail('non-finite', `fp32 value ${v} at ${i}`);
    }
    return ok(out);
  },
  errorBound() {
    return 0;
  },
};
