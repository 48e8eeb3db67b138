import type { TensorSpec } from '../layout';
import type { Rng } from '../rng';
import type { Batch } from './task';

/**
 * A 2-layer tanh MLP in plain TypeScript with hand-written backprop, so the simulator trains a real model
 * without TF.js. Parameters live in one flat Float32Array in layout order: w1 [dim×hidden], b1, w2
 * [hidden×classes], b2. w1 is marked 'embedding' (the input projection plays the embedding's role) so
 * the merge's embedding path is exercised.
 */
export interface Mlp {
  specs: TensorSpec[];
  size: number;
  init(rng: Rng): Float32Array;
  /** Mean cross-entropy (nats) and, when `grad` is given, its gradient written into it. */
  loss(params: Float32Array, b: Batch, grad?: Float32Array): number;
}

export function makeMlp(dim: number, hidden: number, classes: number): Mlp {
  const specs: TensorSpec[] = [
    { name: 'w1', shape: [dim, hidden], kind: 'embedding', layer: 0 },
    { name: 'b1', shape: [hidden], kind: 'dense', layer: 0 },
    { name: 'w2', shape: [hidden, classes], kind: 'dense', layer: 1 },
    { name: 'b2', shape: [classes], kind: 'dense', layer: 1 },
  ];
  const oW1 = 0, oB1 = dim * hidden, oW2 = oB1 + hidden, oB2 = oW2 + hidden * classes, size = oB2 + classes;
  const h = new Float32Array(hidden), z = new Float32Array(classes), dh = new Float32Array(hidden);

  return {
    specs,
    size,
    init(rng) {
      const p = new Float32Array(size);
      for (let i = 0; i < oB1; i++) p[oW1 + i] = rng.normal() / Math.sqrt(dim);
      for (let i = 0; i < hidden * classes; i++) p[oW2 + i] = rng.normal() / Math.sqrt(hidden);
      return p;
    },
    loss(params, b, grad) {
      if (grad) grad.fill(0);
      let total = 0;
      for (let n = 0; n < b.n; n++) {
        for (let j = 0; j < hidden; j++) {
          let a = params[oB1 + j]!;
          for (let d = 0; d < dim; d++) a += b.x[n * dim + d]! * params[oW1 + d * hidden + j]!;
          h[j] = Math.tanh(a);
        }
        let max = -Infinity;
        for (let c = 0; c < classes; c++) {
          let a = params[oB2 + c]!;
          for (let j = 0; j < hidden; j++) a += h[j]! * params[oW2 + j * classes + c]!;
          z[c] = a;
          max = Math.max(max, a);
        }
        let sum = 0;
        for (let c = 0; c < classes; c++) sum += Math.exp(z[c]! - max);
        const y = b.y[n]!;
        total += Math.log(sum) + max - z[y]!;
        if (!grad) continue;
        dh.fill(0);
        for (let c = 0; c < classes; c++) {
          const dz = (Math.exp(z[c]! - max) / sum - (c === y ? 1 : 0)) / b.n; // softmax − onehot, mean over batch
          grad[oB2 + c]! += dz;
          for (let j = 0; j < hidden; j++) { grad[oW2 + j * classes + c]! += h[j]! * dz; dh[j]! += params[oW2 + j * classes + c]! * dz; }
        }
        for (let j = 0; j < hidden; j++) {
          const da = dh[j]! * (1 - h[j]! * h[j]!);
          grad[oB1 + j]! += da;
          for (let d = 0; d < dim; d++) grad[oW1 + d * hidden + j]! += b.x[n * dim + d]! * da;
        }
      }
      return total / b.n;
    },
  };
}
