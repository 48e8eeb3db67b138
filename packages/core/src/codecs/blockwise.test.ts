import { describe, expect, it } from 'vitest';
import { int2, int4, int8 } from './blockwise';
import { codecByName } from './codec';
import { int1 } from './sign';

describe('int4 (hand-worked block)', () => {
  // s = 1.75, qmax = 7 → q = round(4x): 7, −3.2→−3, 0, 1.2→1, −7, 2.4→2, 4, −0.4→0; codes q + 7
  const x = Float32Array.from([1.75, -0.8, 0, 0.3, -1.75, 0.6, 1.0, -0.1]);
  const bytes = int4.encode(x, 8);

  it('produces the expected bytes', () => {
    expect(Array.from(bytes)).toEqual([
      3, 0, 0, 0, 8, 0, 0, 0, 8, 0, 0, 0, // id, reserved, block 8, count 8
      0x00, 0x00, 0xe0, 0x3f,             // scale 1.75 as fp32 LE
      0x4e, 0x87, 0x90, 0x7b,             // codes 14,4 | 7,8 | 0,9 | 11,7 (low nibble first)
    ]);
  });

  it('decodes to q · s / 7', () => {
    const r = int4.decode(bytes, 8);
    expect(r.ok && Array.from(r.value)).toEqual([1.75, -0.75, 0, 0.25, -1.75, 0.5, 1, 0]);
    expect(int4.errorBound(x, 8)).toBeCloseTo(1.75 / 14, 6);
  });
});

describe('int1 (hand-worked block)', () => {
  it('stores the sign bits and the mean |x|', () => {
    const x = Float32Array.from([1, -3, 0, 2, -2, 0.5, -0.5, 1, -4]); // block 8 then a 1-element block
    const bytes = int1.encode(x, 8);
    // block 0: mean |x| = 10/8 = 1.25 (0x3FA00000); signs + − + + − + − + → bits 0b10101101 = 0xAD
    // block 1: mean 4 (0x40800000); sign − → 0
    expect(Array.from(bytes)).toEqual([5, 0, 0, 0, 8, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0xa0, 0x3f, 0, 0, 0x80, 0x40, 0xad, 0x00]);
    const r = int1.decode(bytes, 9);
    expect(r.ok && Array.from(r.value)).toEqual([1.25, -1.25, 1.25, 1.25, -1.25, 1.25, -1.25, 1.25, -4]);
    expect(int1.errorBound(x, 8)).toBe(1.75); // |−3 − (−1.25)|
  });
});

describe('encoded sizes', () => {
  it.each([
    ['int4', 1024, 128, 12 + 8 * 4 + 512],
    ['int8', 1000, 128, 12 + 8 * 4 + 1000],
    ['int2', 1001, 128, 12 + 8 * 4 + 251],
    ['int1', 1001, 128, 12 + 8 * 4 + 126],
    ['int4', 1, 128, 12 + 4 + 1],
    ['int4', 0, 128, 12],
    ['fp16', 1001, 128, 12 + 2002],
    ['fp32', 1001, 128, 12 + 4004],
  ])('%s of %i values, block %i = %i bytes', (name, n, block, size) => {
    expect(codecByName(name).encode(new Float32Array(n).fill(0.5), block).length).toBe(size);
  });

  it('int8 and int2 use q ∈ [−127, 127] and {−1, 0, 1}', () => {
    const x = Float32Array.from([-1, -0.6, -0.2, 0, 0.2, 0.6, 1, 0.004]);
    const d8 = int8.decode(int8.encode(x, 8), 8);
    const d2 = int2.decode(int2.encode(x, 8), 8);
    expect(d8.ok && Array.from(d8.value, (v) => Math.round(v * 127))).toEqual([-127, -76, -25, 0, 25, 76, 127, 1]);
    expect(d2.ok && Array.from(d2.value)).toEqual([-1, -1, 0, 0, 0, 1, 1, 0]);
  });
});
