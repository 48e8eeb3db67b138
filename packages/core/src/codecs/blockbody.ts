/**
 * The inner loops of the blockwise codecs (blockwise.ts), one per bit width, over the whole bytes of
 * one block: elements [i, end) with i and end multiples of the codes per byte. Byte j holds elements
 * lanes·j … lanes·j + lanes − 1, the first in the low bits (docs/method.md §6). Each is a separate
 * function so that its shifts are constants and its loop holds no per-element lane arithmetic.
 */

/** Offset codes of values[i, end) at scale factor k (code = trunc(x · k + half)) into their bytes. */
export type EncodeBody = (values: Float32Array, codes: Uint8Array, i: number, end: number, k: number, half: number) => void;

/**
 * Writes the decoded values of elements [i, end) into out and returns the OR of (code + 1) over them,
 * which exceeds the all-ones code iff one of the codes is that (illegal) code. `lut` is scratch of
 * 2^bits entries for the value of each code, (code − qmax) · step rounded to float32 as a direct store
 * would round it; int8 computes the value per element instead (256 entries would outnumber a block).
 */
export type DecodeBody = (codes: Uint8Array, out: Float32Array, i: number, end: number, qmax: number, step: number,
  lut: Float32Array) => number;

function encode8(values: Float32Array, codes: Uint8Array, i: number, end: number, k: number, half: number): void {
  for (; i < end; i++) codes[i] = (values[i]! * k + half) | 0;
}

function encode4(values: Float32Array, codes: Uint8Array, i: number, end: number, k: number, half: number): void {
  for (; i < end; i += 2) codes[i >>> 1] = ((values[i]! * k + half) | 0) | (((values[i + 1]! * k + half) | 0) << 4);
}

function encode2(values: Float32Array, codes: Uint8Array, i: number, end: number, k: number, half: number): void {
  for (; i < end; i += 4) {
    codes[i >>> 2] = ((values[i]! * k + half) | 0) | (((values[i + 1]! * k + half) | 0) << 2) |
      (((values[i + 2]! * k + half) | 0) << 4) | (((values[i + 3]! * k + half) | 0) << 6);
  }
}

function decode8(codes: Uint8Array, out: Float32Array, i: number, end: number, qmax: number, step: number): number {
  let bad = 0;
  for (; i < end; i++) {
    const c = codes[i]!;
    bad |= c + 1;
    out[i] = (c - qmax) * step;
  }
  return bad;
}

function decode4(codes: Uint8Array, out: Float32Array, i: number, end: number, qmax: number, step: number,
  lut: Float32Array): number {
  for (let c = 0; c < 16; c++) lut[c] = (c - qmax) * step;
  let bad = 0;
  for (; i < end; i += 2) {
    const p = codes[i >>> 1]!;
    bad |= ((p & 15) + 1) | ((p >>> 4) + 1);
    out[i] = lut[p & 15]!;
    out[i + 1] = lut[p >>> 4]!;
  }
  return bad;
}

function decode2(codes: Uint8Array, out: Float32Array, i: number, end: number, qmax: number, step: number,
  lut: Float32Array): number {
  for (let c = 0; c < 4; c++) lut[c] = (c - qmax) * step;
  let bad = 0;
  for (; i < end; i += 4) {
    const p = codes[i >>> 2]!;
    // A 2-bit code is illegal iff both its bits are set: p & (p >>> 1) has bit 2j set for each such code.
    bad |= p & (p >>> 1) & 0x55;
    out[i] = lut[p & 3]!;
    out[i + 1] = lut[(p >>> 2) & 3]!;
    out[i + 2] = lut[(p >>> 4) & 3]!;
    out[i + 3] = lut[p >>> 6]!;
  }
  return bad === 0 ? 0 : 4; // 4 = illegal + 1: the same signal as the per-element OR of (code + 1)
}

export const ENCODE_BODY: Record<8 | 4 | 2, EncodeBody> = { 8: encode8, 4: encode4, 2: encode2 };
export const DECODE_BODY: Record<8 | 4 | 2, DecodeBody> = { 8: decode8, 4: decode4, 2: decode2 };
