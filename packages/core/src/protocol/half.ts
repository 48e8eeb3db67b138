/**
 * IEEE 754 binary16 <-> binary32 conversion for fp16 broadcasts. Round to nearest, ties to even,
 * subnormals handled; converting a half to fp32 and back gives the same 16 bits for every finite half.
 */
const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** fp32 value (any JS number, first rounded to fp32) -> half bits. Overflow gives ±Infinity bits. */
export function f32ToHalfBits(v: number): number {
  F32[0] = v;
  const x = U32[0] ?? 0;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: ±0
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (h & 1) === 1)) h++;
    return sign | h; // a carry into bit 10 is exactly the smallest normal
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++; // a carry may reach 0x7c00 = Infinity
  return sign | h;
}

let table: Float32Array | null = null;

/** Half bits -> number (exact). NaN and ±Infinity come out as such; callers check finiteness. */
export function halfBitsToF32(h: number): number {
  if (table === null) {
    table = new Float32Array(65536);
    for (let b = 0; b < 65536; b++) {
      const s = (b & 0x8000) !== 0 ? -1 : 1;
      const e = (b >>> 10) & 0x1f;
      const m = b & 0x3ff;
      table[b] = e === 0 ? s * m * 2 ** -24 : e === 0x1f ? (m !== 0 ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
    }
  }
  return table[h & 0xffff] ?? NaN;
}
