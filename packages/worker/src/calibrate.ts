/**
 * Calibration: how long one training step takes on the active backend, in ms.
 *
 * Two flavours. The synthetic one is a two-layer MLP step with Adam (forward, backward, update, then a
 * loss readback, exactly the shape of work a real inner step does); it needs no data and takes ~1 s even
 * on SwiftShader WebGPU (≈0.3 GFLOP/s, docs/browser.md §1). The model one times real steps of the
 * workload's TrainModel when the caller can afford to build it per backend.
 * The first `warmup` steps are excluded: they compile shaders / JIT kernels.
 */
import type * as TF from '@tensorflow/tfjs';
import type { Workload } from './api';
import type { TrainModel } from './model-api';

export interface SyntheticShape {
  batch: number;
  inputs: number;
  hidden: number;
  outputs: number;
}

/**
 * Shapes close to the real workloads' dominant matmuls: digits is the 784→256→10 MLP at batch 64
 * (~77 MFLOP per step); text stands in for a small char transformer's projection (tokens × d_model →
 * 4·d_model → vocab) at 16 sequences × 32 tokens.
 */
export const SYNTHETIC_SHAPES: Readonly<Record<Workload, SyntheticShape>> = {
  digits: { batch: 64, inputs: 784, hidden: 256, outputs: 10 },
  text: { batch: 512, inputs: 128, hidden: 512, outputs: 96 },
};

export interface CalibrationOptions {
  /** Untimed steps first (shader compilation, kernel JIT). */
  warmup?: number;
  /** Timed steps. */
  steps?: number;
  now?: () => number;
  /** Checked before every step: true once the caller has given up on this calibration (its deadline passed). */
  stop?: () => boolean;
}

function checkStop(stop: (() => boolean) | undefined): void {
  if (stop?.()) throw new Error('calibration stopped');
}

/** Deterministic fill in [−scale, scale): no RNG kernel needed, so every backend times the same numbers. */
function fill(n: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0; // LCG (Numerical Recipes constants)
    out[i] = ((x / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}

/** Mean ms per synthetic MLP step on the active backend. Leaves no tensors behind. */
export async function calibrateSynthetic(tf: typeof TF, shape: SyntheticShape, opts: CalibrationOptions = {}): Promise<number> {
  const { warmup = 1, steps = 3, now = () => performance.now(), stop } = opts;
  const { batch, inputs, hidden, outputs } = shape;
  const x = tf.tensor2d(fill(batch * inputs, 1, 1), [batch, inputs]);
  const labels = tf.tidy(() => tf.oneHot(tf.tensor1d(Int32Array.from({ length: batch }, (_, i) => i % outputs), 'int32'), outputs).toFloat());
  // He-style init scale √(2/fan_in) keeps activations O(1) so no backend hits NaN paths.
  // tidy frees the initial tensors; variables survive it (tf.variable keeps its own reference to the data).
  const w1 = tf.tidy(() => tf.variable(tf.tensor2d(fill(inputs * hidden, 2, Math.sqrt(2 / inputs)), [inputs, hidden])));
  const w2 = tf.tidy(() => tf.variable(tf.tensor2d(fill(hidden * outputs, 3, Math.sqrt(2 / hidden)), [hidden, outputs])));
  const opt = tf.train.adam(1e-3);
  const step = async (): Promise<number> => {
    checkStop(stop);
    const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(labels, tf.matMul(tf.relu(tf.matMul(x, w1)), w2)) as TF.Scalar, true);
    if (!loss) throw new Error('calibration step returned no loss');
    try {
      const v = (await loss.data())[0] ?? NaN;
      if (!Number.isFinite(v)) throw new Error(`calibration step gave loss ${v}`);
      return v;
    } finally {
      loss.dispose();
    }
  };
  try {
    for (let i = 0; i < warmup; i++) await step();
    const t0 = now();
    for (let i = 0; i < steps; i++) await step();
    return (now() - t0) / steps;
  } finally {
    opt.dispose();
    for (const t of [x, labels, w1, w2]) t.dispose();
  }
}

/** Mean ms per real training step of `model` (which the caller built on the active backend and will dispose). */
export async function calibrateModel(model: TrainModel, opts: CalibrationOptions = {}): Promise<number> {
  const { warmup = 1, steps = 3, now = () => performance.now(), stop } = opts;
  const lr = 1e-4; // small: the model is thrown away, but NaNs would abort the timing
  const step = async (): Promise<void> => {
    checkStop(stop);
    const { loss } = await model.step(lr);
    if (!Number.isFinite(loss)) throw new Error(`calibration step gave loss ${loss}`);
  };
  for (let i = 0; i < warmup; i++) await step();
  const t0 = now();
  for (let i = 0; i < steps; i++) await step();
  return (now() - t0) / steps;
}
