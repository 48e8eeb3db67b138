/**
 * Bit-level helpers shared by the codecs' hot loops: reinterpreting float32 bits, byte order, and
 * the slow path that names the first non-finite input once a fast loop has seen that there is one.
 */
import { nonFiniteInput } from './format';

/** Every browser and Node platform we target is little-endian; the other paths keep big-endian hosts correct. */
export const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** float32 bits of +Infinity: |x| bits at or above it are Infinity or NaN. */
export const ABS_INF = 0x7f800000;

const scratchF = new Float32Array(1);
const scratchI = new Int32Array(scratchF.buffer);

/** The float32 whose bit pattern is `bits`. */
export function floatFromBits(bits: number): number {
  scratchI[0] = bits;
  return scratchF[0]!;
}

/** The float32 bit pattern of x (x rounded to float32 first), as a signed int32. */
export function bitsOfFloat(x: number): number {
  scratchF[0] = x;
  return scratchI[0]!;
}

/** The int32 view the fast loops read float32 bits through (a Float32Array's byteOffset is 4-aligned). */
export function int32View(values: Float32Array): Int32Array {
  return new Int32Array(values.buffer, values.byteOffset, values.length);
}

/**
 * Throws the ConfigError of the first non-finite element of values[start, end). Called only after a
 * fast loop has established that one exists, so the per-element test stays out of that loop.
 */
export function throwFirstNonFinite(values: Float32Array, start: number, end: number): never {
  let i = start;
  while (i < end - 1 && values[i]! - values[i]! === 0) i++; // NaN and ±Infinity are the only v with v − v ≠ 0
  return nonFiniteInput(i, values[i]!);
}

/**
 * The `n` little-endian u16 words at bytes[offset …]: a view in place when the host is little-endian
 * and the words are 2-aligned in memory (payloads sliced out of a frame always are), else a copy.
 */
export function wireU16(bytes: Uint8Array, offset: number, n: number): Uint16Array {
  const at = bytes.byteOffset + offset;
  if (HOST_LE && at % 2 === 0) return new Uint16Array(bytes.buffer, at, n);
  const words = new Uint16Array(n);
  for (let i = 0, o = offset; i < n; i++, o += 2) words[i] = bytes[o]! | (bytes[o + 1]! << 8);
  return words;
}

/** Puts u16 words written in host order into wire (little-endian) order, in place. */
export function hostToWire16(words: Uint16Array): void {
  if (HOST_LE) return;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    words[i] = (w >>> 8) | ((w & 0xff) << 8);
  }
}
