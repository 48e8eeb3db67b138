import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { maxAbsError, referenceValues, runSelfTest, SELF_TEST_TOLERANCE, type SelfTestValues } from './selftest';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const perturb = (r: SelfTestValues, field: 'logits' | 'probs' | 'gradW', i: number, by: number): SelfTestValues => {
  const copy = { ...r, [field]: Float64Array.from(r[field]) };
  copy[field][i] = (copy[field][i] ?? 0) + by;
  return copy;
};

describe('numerical self-test', () => {
  it('the reference is self-consistent: rows of probs sum to 1, loss is positive, gradient columns sum to 0', () => {
    const r = referenceValues();
    for (let i = 0; i < 4; i++) expect([...r.probs.slice(i * 5, i * 5 + 5)].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(r.loss).toBeGreaterThan(0);
    // Σ_c (p − onehot) = 0 per row, so each row of dW sums to 0.
    for (let k = 0; k < 3; k++) expect([...r.gradW.slice(k * 5, k * 5 + 5)].reduce((a, b) => a + b, 0)).toBeCloseTo(0, 12);
    // Non-trivial magnitudes, so a 1e-3 tolerance is meaningful.
    expect(Math.max(...r.gradW.map(Math.abs))).toBeGreaterThan(0.01);
    expect(Math.max(...r.logits.map(Math.abs))).toBeGreaterThan(0.1);
  });

  it('passes on the TF.js cpu backend with float32-level error', async () => {
    const out = await runSelfTest(tf);
    expect(out.ok).toBe(true);
    expect(out.error).toBeLessThan(1e-5);
  });

  it('fails when any part of the reference is perturbed beyond the tolerance', async () => {
    const r = referenceValues();
    for (const [field, i] of [['logits', 7], ['probs', 3], ['gradW', 11]] as const) {
      const out = await runSelfTest(tf, perturb(r, field, i, 2 * SELF_TEST_TOLERANCE));
      expect(out.ok, field).toBe(false);
      expect(out.error).toBeGreaterThan(SELF_TEST_TOLERANCE);
    }
    const wrongLoss = await runSelfTest(tf, { ...r, loss: r.loss + 0.01 });
    expect(wrongLoss.ok).toBe(false);
  });

  it('treats NaN, missing values and shape mismatches as an infinite error', async () => {
    const r = referenceValues();
    expect(maxAbsError(perturb(r, 'probs', 0, NaN), r)).toBe(Infinity);
    expect(maxAbsError({ ...r, gradW: r.gradW.slice(1) }, r)).toBe(Infinity);
    expect((await runSelfTest(tf, { ...r, loss: NaN })).ok).toBe(false);
  });

  it('leaves no tensors behind', async () => {
    const before = tf.memory().numTensors;
    await runSelfTest(tf);
    expect(tf.memory().numTensors).toBe(before);
  });
});
