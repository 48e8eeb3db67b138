/**
 * fp16 conversion for broadcasts, on top of the fp16 codec's (round to nearest, ties to even, subnormals).
 * The wire differs from the codec in one way: a value that rounds past the largest half is encoded as
 * ±Infinity here (and refused by the validator), never clamped, because a broadcast carries parameters.
 */
import { halfTable, toHalf } from '../codecs/fp16';

/** fp32 value (any JS number, first rounded to fp32) → half bits. Overflow gives ±Infinity bits. */
export function f32ToHalfBits(v: number): number {
  // 65520 is the first value that rounds up past 65504, the largest finite half.
  if (!(Math.abs(Math.fround(v)) < 65520)) return Number.isNaN(v) ? 0x7e00 : (v < 0 ? 0x8000 : 0) | 0x7c00;
  return toHalf(v);
}

/** Half bits → number (exact). NaN and ±Infinity come out as such; callers check finiteness. */
export function halfBitsToF32(h: number): number {
  return halfTable()[h & 0xffff]!;
}
