import { describe, expect, it } from 'vitest';
import { DIGIT_SIDE, digitInput } from './digit-input';

/** A w×h canvas of ink with the rectangles given filled (255). */
function canvas(w: number, h: number, rects: Array<[number, number, number, number]>): Uint8Array {
  const ink = new Uint8Array(w * h);
  for (const [x0, y0, x1, y1] of rects) for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) ink[y * w + x] = 255;
  return ink;
}

const massCentre = (img: Float32Array): [number, number] => {
  let m = 0, mx = 0, my = 0;
  img.forEach((v, i) => { m += v; mx += v * (i % DIGIT_SIDE); my += v * Math.floor(i / DIGIT_SIDE); });
  return [mx / m, my / m];
};

describe('digitInput', () => {
  it('fits a drawing to 20 px on its long side and centres its mass, wherever it was drawn', () => {
    // A vertical bar (a "1") in the top-left corner of a 280×280 box, 20 px wide and 200 tall.
    const img = digitInput(canvas(280, 280, [[10, 10, 30, 210]]), 280, 280)!;
    expect(img).toHaveLength(784);
    const [cx, cy] = massCentre(img);
    expect(Math.abs(cx - 13.5)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(cy - 13.5)).toBeLessThanOrEqual(0.5);
    const rows = new Set([...img.keys()].filter((i) => img[i]! > 0).map((i) => Math.floor(i / 28)));
    expect(rows.size).toBe(20); // 200 source pixels tall → 20 rows
    const cols = new Set([...img.keys()].filter((i) => img[i]! > 0).map((i) => i % 28));
    expect(cols.size).toBe(2); // 20 of 200 → 2 columns: the aspect is kept
    expect(Math.max(...img)).toBe(1);
  });

  it('gives the same image for the same digit drawn at another place and scale', () => {
    const a = digitInput(canvas(280, 280, [[100, 40, 180, 60], [160, 40, 180, 240]]), 280, 280)!; // a "7"-like stroke pair
    const b = digitInput(canvas(140, 140, [[10, 5, 50, 15], [40, 5, 50, 105]]), 140, 140)!; // half the size, elsewhere
    let diff = 0;
    for (let i = 0; i < 784; i++) diff += Math.abs(a[i]! - b[i]!);
    expect(diff / a.reduce((s, v) => s + v, 0)).toBeLessThan(0.15);
  });

  it('is null for an empty box and refuses a size that does not match', () => {
    expect(digitInput(new Uint8Array(100), 10, 10)).toBeNull();
    expect(() => digitInput(new Uint8Array(99), 10, 10)).toThrow(/99 values for a 10×10 canvas/);
  });
});
