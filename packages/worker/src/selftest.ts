/**
 * Numerical self-test of the active TF.js backend against plain-JS reference math in this file.
 *
 * Why: a backend can initialise and still compute garbage (float16 WebGL textures on some mobiles,
 * driver bugs, a broken shader cache). A learner on such a backend would push poisoned updates, so a
 * backend is only eligible after it reproduces a tiny matmul → softmax → cross-entropy → gradient
 * within 1e-3 (absolute). Float32 backends agree to ~1e-6 (docs/browser.md §1: 2.2e-6 on webgl/webgpu).
 */
import type * as TF from '@tensorflow/tfjs';

/** Largest absolute error accepted, in the units of the values (logits, probabilities, loss, gradient). */
export const SELF_TEST_TOLERANCE = 1e-3;

const N = 4; // rows (batch)
const K = 3; // inner dimension
const C = 5; // classes
const LABELS = [0, 2, 4, 1] as const;

/** Fixed, irregular inputs of order 1, rounded to float32 once so both sides see the same numbers. */
export function selfTestInputs(): { a: Float32Array; w: Float32Array; labels: readonly number[] } {
  const a = new Float32Array(N * K);
  const w = new Float32Array(K * C);
  for (let i = 0; i < a.length; i++) a[i] = 0.9 * Math.sin(1 + 3 * i);
  for (let i = 0; i < w.length; i++) w[i] = 0.7 * Math.cos(2 + 5 * i) + 0.1;
  return { a, w, labels: LABELS };
}

export interface SelfTestValues {
  logits: Float64Array; // N×C
  probs: Float64Array; // N×C, row softmax
  loss: number; // mean cross-entropy
  gradW: Float64Array; // K×C, d loss / d W
}

/** The reference: float64 arithmetic over the float32 inputs. */
export function referenceValues(): SelfTestValues {
  const { a, w, labels } = selfTestInputs();
  const at = (m: Float32Array | Float64Array, i: number): number => m[i] ?? NaN;
  const logits = new Float64Array(N * C);
  for (let i = 0; i < N; i++)
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += at(a, i * K + k) * at(w, k * C + c);
      logits[i * C + c] = s;
    }
  const probs = new Float64Array(N * C);
  let loss = 0;
  for (let i = 0; i < N; i++) {
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, at(logits, i * C + c));
    let z = 0;
    for (let c = 0; c < C; c++) z += Math.exp(at(logits, i * C + c) - max);
    for (let c = 0; c < C; c++) probs[i * C + c] = Math.exp(at(logits, i * C + c) - max) / z;
    loss -= Math.log(at(probs, i * C + (labels[i] ?? 0))) / N;
  }
  // d mean(CE) / d logits = (p − onehot) / N; d / d W = Aᵀ · that.
  const gradW = new Float64Array(K * C);
  for (let k = 0; k < K; k++)
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let i = 0; i < N; i++) s += (at(a, i * K + k) * (at(probs, i * C + c) - (labels[i] === c ? 1 : 0))) / N;
      gradW[k * C + c] = s;
    }
  return { logits, probs, loss, gradW };
}

/** Largest |x − y| over all values; Infinity if any value is missing or non-finite. */
export function maxAbsError(got: SelfTestValues, want: SelfTestValues): number {
  const pairs: Array<[ArrayLike<number>, ArrayLike<number>]> = [
    [got.logits, want.logits], [got.probs, want.probs], [[got.loss], [want.loss]], [got.gradW, want.gradW],
  ];
  let worst = 0;
  for (const [x, y] of pairs) {
    if (x.length !== y.length) return Infinity;
    for (let i = 0; i < x.length; i++) {
      const d = Math.abs((x[i] ?? NaN) - (y[i] ?? NaN));
      if (!Number.isFinite(d)) return Infinity;
      worst = Math.max(worst, d);
    }
  }
  return worst;
}

/** The same computation with TF.js ops (and autodiff) on whatever backend is active. */
export async function tfValues(tf: typeof TF): Promise<SelfTestValues> {
  const { a, w, labels } = selfTestInputs();
  const tensors = tf.tidy(() => {
    const at = tf.tensor2d(a, [N, K]);
    const wt = tf.tensor2d(w, [K, C]);
    const onehot = tf.oneHot(tf.tensor1d(labels as number[], 'int32'), C).toFloat();
    const logits = tf.matMul(at, wt);
    const probs = tf.softmax(logits);
    // Written out (logSoftmax · onehot) rather than tf.losses so that more kernels and their gradients run.
    const lossOf = (wv: TF.Tensor): TF.Scalar => tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(tf.matMul(at, wv))), 1))) as TF.Scalar;
    const { value, grad } = tf.valueAndGrad(lossOf)(wt);
    return [logits, probs, value, grad] as const;
  });
  try {
    const [logits, probs, loss, gradW] = await Promise.all(tensors.map((t) => t.data()));
    return { logits: Float64Array.from(logits ?? []), probs: Float64Array.from(probs ?? []), loss: loss?.[0] ?? NaN, gradW: Float64Array.from(gradW ?? []) };
  } finally {
    for (const t of tensors) t.dispose();
  }
}

export interface SelfTestOutcome {
  ok: boolean;
  /** Max abs error vs the reference; Infinity when something was missing or non-finite. */
  error: number;
}

/** Runs the TF.js side on the active backend and compares. `reference` is injectable to prove the test can fail. */
export async function runSelfTest(tf: typeof TF, reference: SelfTestValues = referenceValues()): Promise<SelfTestOutcome> {
  const error = maxAbsError(await tfValues(tf), reference);
  return { ok: error < SELF_TEST_TOLERANCE, error };
}
