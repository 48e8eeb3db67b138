import type { Rng } from '../rng';

/**
 * A synthetic classification task with a known optimum, for judging training quality in seconds.
 * A fixed random "teacher" (a linear map followed by a softmax at temperature `temp`) labels Gaussian
 * inputs. The Bayes-optimal cross-entropy is the teacher's own conditional entropy, so every run can be
 * scored as excess loss over the best achievable.
 */
export interface Task {
  dim: number;
  classes: number;
  /** Draw n labelled examples. `skew` ∈ [0,1) biases labels toward learner-specific classes (non-i.i.d.). */
  sample(rng: Rng, n: number, shard?: { index: number; of: number; skew: number }): Batch;
  /** Expected cross-entropy of the teacher on a batch (the optimum, in nats). */
  bayesLoss(b: Batch): number;
}

export interface Batch {
  n: number;
  x: Float32Array; // n × dim, row-major
  y: Int32Array; // n labels
  /** Teacher probabilities, n × classes: lets bayesLoss be exact on the held-out set. */
  p: Float32Array;
}

export function makeTask(seed: Rng, dim = 16, classes = 4, temp = 0.5): Task {
  const w = new Float32Array(dim * classes);
  for (let i = 0; i < w.length; i++) w[i] = seed.normal() / Math.sqrt(dim);

  const probs = (x: Float32Array, row: number, out: Float32Array): void => {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) {
      let z = 0;
      for (let d = 0; d < dim; d++) z += x[row * dim + d]! * w[d * classes + c]!;
      out[row * classes + c] = z / temp;
      max = Math.max(max, z / temp);
    }
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += (out[row * classes + c] = Math.exp(out[row * classes + c]! - max));
    for (let c = 0; c < classes; c++) out[row * classes + c]! /= sum;
  };

  const draw = (rng: Rng, x: Float32Array, p: Float32Array, row: number): number => {
    for (let d = 0; d < dim; d++) x[row * dim + d] = rng.normal();
    probs(x, row, p);
    let u = rng.next();
    for (let c = 0; c < classes; c++) if ((u -= p[row * classes + c]!) < 0) return c;
    return classes - 1;
  };

  return {
    dim,
    classes,
    sample(rng, n, shard) {
      const x = new Float32Array(n * dim), p = new Float32Array(n * classes), y = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        // Non-i.i.d.: keep an off-shard label only with probability 1 − skew (rejection sampling).
        for (;;) {
          const label = draw(rng, x, p, i);
          y[i] = label;
          if (!shard || label % shard.of === shard.index % shard.of || rng.next() >= shard.skew) break;
        }
      }
      return { n, x, y, p };
    },
    bayesLoss(b) {
      let h = 0;
      for (let i = 0; i < b.p.length; i++) { const q = b.p[i]!; if (q > 0) h -= q * Math.log(q); }
      return h / b.n;
    },
  };
}
