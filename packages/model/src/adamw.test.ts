/**
 * AdamW against numbers worked by hand (float64, in the comments).
 * Run: npx vitest run packages/model/src/adamw.test.ts
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdamW } from './adamw';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const CFG = { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, clip: 1 };

async function stepOnce(opt: AdamW, grad: number[], lr: number): Promise<number> {
  const norm = tf.tidy(() => opt.apply([tf.tensor1d(grad)], lr));
  const [n = NaN] = await norm.data();
  norm.dispose();
  return n;
}

describe('AdamW', () => {
  it('matches a hand-worked two-element case: clipped first step, unclipped second, decoupled decay', async () => {
    const p = tf.variable(tf.tensor1d([1, -2]));
    const opt = new AdamW([p], [true], CFG);
    // Step 1, lr 0.1, g = [0.5, -1]: ‖g‖ = √1.25 = 1.118034 > clip 1 → g' = g/‖g‖ = [0.447214, -0.894427].
    // m = 0.1·g', v = 0.01·g'²; bias correction (÷0.1, ÷0.01) gives m̂ = g', v̂ = g'², so the Adam
    // step is lr·sign(g') = [0.1, -0.1]. Decay: p·(1 − 0.1·0.1) = [0.99, -1.98]. p = [0.89, -1.88].
    expect(await stepOnce(opt, [0.5, -1], 0.1)).toBeCloseTo(Math.sqrt(1.25), 5);
    expectClose(await p.data(), [0.89, -1.88]);
    // Step 2, g = [0.3, 0.4]: ‖g‖ = 0.5, no clipping.
    // m = 0.9·[0.0447214, -0.0894427] + 0.1·[0.3, 0.4] = [0.0702492, -0.0404984]
    // v = 0.99·[0.002, 0.008] + 0.01·[0.09, 0.16]    = [0.00288, 0.00952]
    // m̂ = m/0.19 = [0.369733, -0.213150]; √(v/0.0199) = [0.380426, 0.691659]; ratio = [0.971893, -0.308172]
    // p = [0.89, -1.88]·0.99 − 0.1·ratio = [0.8811 − 0.0971893, −1.8612 + 0.0308172] = [0.783911, -1.830383]
    expect(await stepOnce(opt, [0.3, 0.4], 0.1)).toBeCloseTo(0.5, 6);
    expectClose(await p.data(), [0.783911, -1.830383]);
    expect(opt.steps).toBe(2);
    opt.dispose();
    p.dispose();
  });

  it('skips weight decay where decay is false, and reset() restarts bias correction', async () => {
    const p = tf.variable(tf.tensor1d([1, -2]));
    const opt = new AdamW([p], [false], CFG);
    await stepOnce(opt, [0.5, -1], 0.1); // Adam step lr·sign(g) = [0.1, -0.1], no decay
    expectClose(await p.data(), [0.9, -1.9]);
    opt.reset();
    expect(opt.steps).toBe(0);
    await stepOnce(opt, [-2, 0], 0.1); // fresh moments: again a sign step, [+0.1, 0]
    expectClose(await p.data(), [1.0, -1.9]);
    opt.dispose();
    p.dispose();
  });

  it('state() carried into a fresh optimizer continues exactly where the first would have (the hand-worked step 2)', async () => {
    const p = tf.variable(tf.tensor1d([1, -2]));
    const a = new AdamW([p], [true], CFG);
    await stepOnce(a, [0.5, -1], 0.1);
    const s = await a.state();
    expect(s.steps).toBe(1);
    a.dispose();
    const b = new AdamW([p], [true], CFG);
    b.setState(s);
    await stepOnce(b, [0.3, 0.4], 0.1);
    expectClose(await p.data(), [0.783911, -1.830383]);
    expect(() => b.setState({ ...s, m: new Float32Array(3) })).toThrow(/state of 3\/2 moments at step 1, want 2 each/);
    b.dispose();
    p.dispose();
  });
});

function expectClose(got: ArrayLike<number>, want: number[], digits = 5): void {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => expect(got[i]).toBeCloseTo(w, digits));
}
