import { makeLayout, type Fragment } from '@tabswarm/core';
import { describe, expect, it } from 'vitest';
import { checkFragment, ownBuffer } from './buffers';
import { FRAG_B, SPECS } from './trainer-fixtures';

describe('helpers', () => {
  it('ownBuffer transfers a whole buffer as is and copies a view', () => {
    const whole = new Float32Array([1, 2]);
    expect(ownBuffer(whole)).toBe(whole.buffer);
    const view = new Float32Array([1, 2, 3, 4]).subarray(1, 3);
    const b = ownBuffer(view);
    expect(b.byteLength).toBe(8);
    expect([...new Float32Array(b)]).toEqual([2, 3]);
  });

  it("checkFragment wants segments that fit the model's layout and tile the fragment", () => {
    const layout = makeLayout(SPECS);
    expect(() => checkFragment(FRAG_B, layout)).not.toThrow();
    // row 1 of w (elements 3..5) and rows [1, 3) of b: slices of split tensors are fine
    const slices: Fragment = { index: 0, size: 5, segments: [
      { name: 'w', kind: 'dense', srcOffset: 3, dstOffset: 0, size: 3, rowStart: 1, rows: 1 },
      { name: 'b', kind: 'dense', srcOffset: 7, dstOffset: 3, size: 2, rowStart: 1, rows: 2 }] };
    expect(() => checkFragment(slices, layout)).not.toThrow();
    expect(() => checkFragment(FRAG_B, makeLayout([{ name: 'b', shape: [3], kind: 'dense' }]))).toThrow(/bad-argument: .*rows \[0, \+4\) are outside the tensor's 3/);
    expect(() => checkFragment({ ...FRAG_B, segments: [{ ...FRAG_B.segments[0]!, srcOffset: 5 }] }, layout)).toThrow(/outside the parameters/);
    expect(() => checkFragment({ ...FRAG_B, size: 5 }, layout)).toThrow(/cover 4 of 5/);
    expect(() => checkFragment({ index: 0, size: 0, segments: [] }, layout)).toThrow(/malformed/);
  });
});
