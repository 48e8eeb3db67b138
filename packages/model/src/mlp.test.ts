/**
 * The digits MLP: parameter count, one AdamW step lowering the loss on a fixed batch, and the
 * trainer's digits metrics (accuracy alongside cross-entropy).
 * Run: npx vitest run packages/model/src/mlp.test.ts
 */
import * as tf from '@tensorflow/tfjs';
import { makeRng } from '@tabswarm/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdamW } from './adamw';
import { fromBytes } from './data';
import { createMlp, mlpParamCount, mlpSpecs, MLP_DEFAULT } from './mlp';
import { crossEntropy } from './nn';
import { digitsFiles } from './test-fixtures';
import { createTrainModel } from './trainer';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('digits MLP', () => {
  it('has 784·128 + 128 + 128·10 + 10 = 101,770 parameters', () => {
    expect(mlpParamCount(MLP_DEFAULT)).toBe(101_770);
    expect(mlpSpecs(MLP_DEFAULT).map((s) => [s.name, s.layer])).toEqual([['fc1.w', 0], ['fc1.b', 0], ['fc2.w', 1], ['fc2.b', 1]]);
  });

  it('lowers the loss on a fixed batch with one AdamW step', () => {
    const ds = fromBytes('digits', digitsFiles(64, 10));
    const { x, y } = ds.sampleBatch(makeRng(1), 32);
    const mlp = createMlp(MLP_DEFAULT, 1);
    const opt = new AdamW([...mlp.params], mlp.decay);
    const lossNow = (): number => tf.tidy(() => crossEntropy(mlp.logits(x), y).dataSync()[0] ?? NaN);
    const before = lossNow();
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => crossEntropy(mlp.logits(x), y), [...mlp.params]);
      opt.apply(mlp.params.map((p) => grads[p.name] as tf.Tensor), 1e-3);
    });
    const after = lossNow();
    expect(before).toBeGreaterThan(1.5); // near ln 10 = 2.30 at init
    expect(after).toBeLessThan(before - 0.05);
    tf.dispose([x, y]);
    opt.dispose();
    mlp.dispose();
  });

  it('reports held-out accuracy with the loss through the trainer', async () => {
    const model = createTrainModel('digits', fromBytes('digits', digitsFiles(200, 50)), { batch: 32, seed: 3 });
    expect(model.tokensPerStep).toBe(32);
    for (let i = 0; i < 10; i++) await model.step(3e-3);
    const m = await model.metrics();
    expect(m.tokens).toBe(50);
    expect(m.bitsPerChar).toBeUndefined();
    expect(m.accuracy).toBeGreaterThan(0.5); // 10 classes, chance is 0.1; the synthetic classes are separable
    model.dispose();
  });
});
