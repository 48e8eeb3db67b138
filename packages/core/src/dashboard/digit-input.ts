/**
 * A drawn digit made to look like the digits data (MNIST's recipe): the ink's bounding box scaled to
 * fit 20×20 pixels with its aspect kept, placed in a 28×28 image with its centre of mass at the centre.
 * A drawing anywhere in the box, of any size, then reaches the model the way its training examples did.
 */
export const DIGIT_SIDE = 28;
const FIT = 20;

/** `ink`: one value per canvas pixel, row-major, 0 (none) to 255 (full). Null when nothing is drawn. */
export function digitInput(ink: ArrayLike<number>, width: number, height: number): Float32Array | null {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0) || ink.length !== width * height) {
    throw new Error(`digitInput: ${ink.length} values for a ${width}×${height} canvas`);
  }
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    if (ink[y * width + x]! > 0) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  }
  if (x1 < 0) return null;
  const side = Math.max(x1 - x0 + 1, y1 - y0 + 1); // source pixels per FIT target pixels, on the longer side
  const fitted = new Float32Array(FIT * FIT);
  // Each target pixel is the mean ink of the source square it covers (area averaging: no aliasing).
  for (let ty = 0; ty < FIT; ty++) for (let tx = 0; tx < FIT; tx++) {
    const sx0 = x0 + Math.floor((tx * side) / FIT), sx1 = x0 + Math.max(Math.floor(((tx + 1) * side) / FIT), Math.floor((tx * side) / FIT) + 1);
    const sy0 = y0 + Math.floor((ty * side) / FIT), sy1 = y0 + Math.max(Math.floor(((ty + 1) * side) / FIT), Math.floor((ty * side) / FIT) + 1);
    let sum = 0, n = 0;
    for (let y = sy0; y < sy1; y++) for (let x = sx0; x < sx1; x++) { n++; if (x < width && y < height) sum += ink[y * width + x]!; }
    fitted[ty * FIT + tx] = sum / n / 255;
  }
  // The fitted box is centred in 28×28 by its centre of mass, as MNIST's digits are.
  let m = 0, mx = 0, my = 0;
  for (let y = 0; y < FIT; y++) for (let x = 0; x < FIT; x++) { const v = fitted[y * FIT + x]!; m += v; mx += v * x; my += v * y; }
  const dx = Math.round(DIGIT_SIDE / 2 - 0.5 - mx / m), dy = Math.round(DIGIT_SIDE / 2 - 0.5 - my / m);
  const out = new Float32Array(DIGIT_SIDE * DIGIT_SIDE);
  for (let y = 0; y < FIT; y++) for (let x = 0; x < FIT; x++) {
    const X = x + dx, Y = y + dy;
    if (X >= 0 && X < DIGIT_SIDE && Y >= 0 && Y < DIGIT_SIDE) out[Y * DIGIT_SIDE + X] = Math.min(1, fitted[y * FIT + x]!);
  }
  return out;
}
