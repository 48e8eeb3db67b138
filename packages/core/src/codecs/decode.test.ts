import { describe, expect, it } from 'vitest';
import { codecByName, type Codec } from './codec';
import { HEADER_BYTES } from './format';
import { REASONS, type Result } from '../result';
import { makeRng } from '../rng';

const NAMES = ['fp32', 'fp16', 'int8', 'int4', 'int2', 'int1'];
const N = 21; // 3 blocks of 8 (last partial), odd so the packed codes end mid-byte
const rng = makeRng(99);
const x = Float32Array.from({ length: N }, () => rng.normal());

/** decode wrapped so a throw fails the test with the thrown message instead of passing silently. */
function reasonOf(codec: Codec, bytes: Uint8Array, len = N): string {
  let r: Result<Float32Array>;
  try {
    r = codec.decode(bytes, len);
  } catch (e) {
    return `threw ${String(e)}`;
  }
  return r.ok ? 'ok' : r.reason;
}

const setF32 = (b: Uint8Array, off: number, v: number): void => new DataView(b.buffer, b.byteOffset).setFloat32(off, v, true);
const setU32 = (b: Uint8Array, off: number, v: number): void => new DataView(b.buffer, b.byteOffset).setUint32(off, v, true);

describe.each(NAMES)('%s decode refuses corruption', (name) => {
  const codec = codecByName(name);
  const good = codec.encode(x, 8);
  const blocked = codec.bits < 16;
  const codesAt = HEADER_BYTES + (blocked ? 4 * Math.ceil(N / 8) : 0);

  it('accepts the untouched message', () => expect(reasonOf(codec, good)).toBe('ok'));

  it('truncated at every byte → truncated', () => {
    for (let len = 0; len < good.length; len++) expect(reasonOf(codec, good.slice(0, len))).toBe('truncated');
  });

  it('one extra byte → trailing-bytes', () => {
    const b = new Uint8Array(good.length + 1);
    b.set(good);
    expect(reasonOf(codec, b)).toBe('trailing-bytes');
  });

  it('another codec id → bad-codec', () => {
    for (const id of [0, 1, 2, 3, 4, 5, 6, 255]) {
      if (id === codec.id) continue;
      const b = good.slice();
      b[0] = id;
      expect(reasonOf(codec, b)).toBe('bad-codec');
    }
  });

  it('wrong expected length → length-mismatch', () => {
    for (const len of [N - 1, N + 1, 0, 2 ** 32]) expect(reasonOf(codec, good, len)).toBe('length-mismatch');
  });

  it('reserved header byte set → bad-field', () => {
    const b = good.slice();
    b[2] = 1;
    expect(reasonOf(codec, b)).toBe('bad-field');
  });

  it('illegal block size → bad-codec', () => {
    for (const block of blocked ? [0, 7, 65537, 0xffffffff] : [8, 128]) {
      const b = good.slice();
      setU32(b, 4, block);
      expect(reasonOf(codec, b)).toBe('bad-codec');
    }
  });

  if (blocked) {
    it('NaN / Infinity scale → non-finite, negative scale → bad-field', () => {
      for (const [v, reason] of [[NaN, 'non-finite'], [Infinity, 'non-finite'], [-Infinity, 'non-finite'], [-1, 'bad-field']] as const) {
        const b = good.slice();
        setF32(b, HEADER_BYTES + 4 * 2, v); // the last block's scale
        expect(reasonOf(codec, b)).toBe(reason);
      }
    });

    // int8 codes fill whole bytes; the others end mid-byte at N = 21
    if (codec.bits !== 8) {
      it('padding bits after the last element → bad-field', () => {
        const b = good.slice();
        b[b.length - 1] = (b[b.length - 1] ?? 0) | 0x80;
        expect(reasonOf(codec, b)).toBe('bad-field');
      });
    }
  } else {
    it('a non-finite value → non-finite', () => {
      const b = good.slice();
      if (name === 'fp32') setF32(b, codesAt + 4 * 3, NaN);
      else { b[codesAt + 6] = 0x00; b[codesAt + 7] = 0x7c; } // half +Infinity at element 3
      expect(reasonOf(codec, b)).toBe('non-finite');
    });
  }

  it('never throws on random corruption, and any accepted output is finite and the right length', () => {
    const r = makeRng(codec.id + 1);
    for (let trial = 0; trial < 2000; trial++) {
      const b = good.slice(0, r.next() < 0.1 ? r.int(good.length + 1) : good.length);
      const flips = 1 + r.int(4);
      for (let k = 0; k < flips && b.length > 0; k++) b[r.int(b.length)] = r.int(256);
      const res = codec.decode(b, N);
      if (res.ok) {
        expect(res.value.length).toBe(N);
        expect(res.value.every(Number.isFinite)).toBe(true);
      } else {
        expect(REASONS).toContain(res.reason);
      }
    }
  });
});

describe('illegal codes → bad-field', () => {
  it.each([
    ['int8', 0xff], // code 255 = q 128 > qmax
    ['int4', 0x0f], // low nibble 15 = q 8 > qmax
    ['int2', 0x03], // code 3 = q 2 > qmax
  ])('%s byte 0x%s in the first code byte', (name, byte) => {
    const codec = codecByName(name);
    const b = codec.encode(x, 8);
    const at = HEADER_BYTES + 4 * Math.ceil(N / 8);
    b[at] = ((b[at] ?? 0) & ~byte) | byte;
    expect(reasonOf(codec, b)).toBe('bad-field');
  });
});
