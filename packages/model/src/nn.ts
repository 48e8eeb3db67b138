/**
 * The small set of TF.js building blocks both models share, and the Model contract the trainer drives.
 * Written with TF.js ops only (no tf.layers): the backend is whatever the caller registered.
 * Activations are kept 2-D, [rows, features], so every dense layer is one plain matMul.
 */
import * as tf from '@tensorflow/tfjs';
import type { ParamDef } from './init';

/** A network as the trainer sees it: variables in layout order and a forward pass to logits. */
export interface Model {
  /** One def per variable, in layout order; the specs are what core's makeLayout/planFragments see. */
  readonly defs: readonly ParamDef[];
  readonly params: readonly tf.Variable[];
  /** Which params get decoupled weight decay (same order as params). */
  readonly decay: readonly boolean[];
  /**
   * Logits [rows, classes]: text rows are B·T positions, digits rows are B examples.
   * With a dropoutSeed (training), dropout is applied where the model has any.
   */
  logits(x: tf.Tensor, dropoutSeed?: number): tf.Tensor2D;
  dispose(): void;
}

/** x [rows, in] · w [in, out] + b [out] → [rows, out]. */
export function linear(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return tf.add(tf.matMul(x, w as tf.Tensor2D), b);
}

/** LayerNorm over the feature axis; eps 1e-5 as in GPT-2. */
export function layerNorm(x: tf.Tensor2D, g: tf.Tensor, b: tf.Tensor, eps = 1e-5): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, 1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), g), b);
}

const GELU_C = Math.sqrt(2 / Math.PI);

/** GELU, tanh approximation (GPT-2): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function gelu<T extends tf.Tensor>(x: T): T {
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), GELU_C);
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

/** Mean cross-entropy in nats of int32 labels [rows] under logits [rows, classes]. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor): tf.Scalar {
  const classes = logits.shape[1];
  const logp = tf.logSoftmax(logits);
  const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.reshape(labels, [-1]).toInt(), classes)), 1);
  return tf.neg(tf.mean(picked)) as tf.Scalar;
}

/** Fraction of rows whose arg-max logit equals the label. */
export function accuracy(logits: tf.Tensor2D, labels: tf.Tensor): tf.Scalar {
  return tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), tf.reshape(labels, [-1]).toInt()), 'float32'));
}

/**
 * One trainable Variable per def, filled from the flat initial vector (layout order).
 * Variables are left unnamed: TF.js names must be unique per process and tests build many models;
 * the stable names live in the specs.
 */
export function createVariables(defs: readonly ParamDef[], flat: Float32Array): tf.Variable[] {
  let offset = 0;
  return defs.map((d) => {
    const size = d.spec.shape.reduce((n, k) => n * k, 1);
    const values = flat.slice(offset, offset + size);
    offset += size;
    return tf.tidy(() => tf.variable(tf.tensor(values, [...d.spec.shape], 'float32'), true));
  });
}
