/**
 * The digits workload's network: a 784 → 128 → 10 MLP with ReLU, in TF.js ops. Same conventions as
 * gpt.ts: a fixed tensor order with stable names, seeded pure-JS init, layer = index of the linear layer.
 *
 * Parameter count: 784·128 + 128 + 128·10 + 10 = 101,770 (default hidden = 128).
 */
import type { TensorSpec } from '@tabswarm/core';
import * as tf from '@tensorflow/tfjs';
import { DIGIT_CLASSES, DIGIT_FEATURES } from './data-format';
import { initParams, type ParamDef } from './init';
import { createVariables, linear, type Model } from './nn';

export interface MlpConfig {
  inputs: number;
  hidden: number;
  classes: number;
}

export const MLP_DEFAULT: MlpConfig = { inputs: DIGIT_FEATURES, hidden: 128, classes: DIGIT_CLASSES };

export function mlpParamCount(c: MlpConfig): number {
  return c.inputs * c.hidden + c.hidden + c.hidden * c.classes + c.classes;
}

/**
 * He init for the ReLU layer (std √(2/fan_in)) keeps activations O(1); the output layer uses
 * std √(1/fan_in) so initial logits are small and the loss starts near ln 10.
 */
export function mlpDefs(c: MlpConfig): ParamDef[] {
  if (![c.inputs, c.hidden, c.classes].every((n) => Number.isInteger(n) && n > 0)) {
    throw new Error(`mlp: config ${JSON.stringify(c)} needs positive integers`);
  }
  const def = (name: string, shape: number[], init: ParamDef['init'], layer: number): ParamDef => {
    const spec: TensorSpec = { name, shape, kind: 'dense', layer };
    return { spec, init };
  };
  return [
    def('fc1.w', [c.inputs, c.hidden], { kind: 'uniform', std: Math.sqrt(2 / c.inputs) }, 0),
    def('fc1.b', [c.hidden], { kind: 'zeros' }, 0),
    def('fc2.w', [c.hidden, c.classes], { kind: 'uniform', std: Math.sqrt(1 / c.hidden) }, 1),
    def('fc2.b', [c.classes], { kind: 'zeros' }, 1),
  ];
}

export function mlpSpecs(c: MlpConfig): TensorSpec[] {
  return mlpDefs(c).map((d) => d.spec);
}

export function mlpInit(c: MlpConfig, seed: number): Float32Array {
  return initParams(mlpDefs(c), seed);
}

/** Builds the Variables from the seeded init; weight decay on the two matrices only. */
export function createMlp(c: MlpConfig, seed: number): Model & { config: MlpConfig } {
  const defs = mlpDefs(c);
  const params = createVariables(defs, initParams(defs, seed));
  const [w1, b1, w2, b2] = params as [tf.Variable, tf.Variable, tf.Variable, tf.Variable];
  return {
    config: c,
    defs,
    params,
    decay: defs.map((d) => d.spec.shape.length === 2),
    logits: (x: tf.Tensor): tf.Tensor2D => {
      if (x.rank !== 2 || x.shape[1] !== c.inputs) throw new Error(`mlp: input shape [${x.shape.join(', ')}], want [batch, ${c.inputs}]`);
      return linear(tf.relu(linear(x as tf.Tensor2D, w1, b1)), w2, b2); // [B, classes]
    },
    dispose: () => {
      for (const v of params) v.dispose();
    },
  };
}
