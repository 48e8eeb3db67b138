/**
 * What the global model can do now, for the coordinator's classroom view: continue a text prompt
 * (text) or classify a drawn digit (digits). Inference only, batch 1, no dropout; nothing here changes
 * the parameters.
 */
import * as tf from '@tensorflow/tfjs';
import { makeRng } from '@tabswarm/core';
import type { TextDataset } from './data';
import type { GptConfig } from './gpt';
import { DIGIT_FEATURES } from './data-format';
import type { Model } from './nn';

export interface SampleOptions {
  prompt: string;
  /** Characters to add after the prompt. */
  length: number;
  /** Softmax temperature (> 0): below 1 sharper, above 1 more random. */
  temperature: number;
  seed: number;
  /** Stop early once this much time (ms) has passed: a slow backend returns a shorter sample, never a late one. */
  budgetMs: number;
}

/**
 * The prompt followed by up to `length` sampled characters. Prompt characters outside the vocabulary read
 * as UNK; UNK is never sampled (it would print as U+FFFD, and stands for no one character).
 */
export async function sampleText(model: Model, config: GptConfig, ds: TextDataset, o: SampleOptions, now: () => number): Promise<string> {
  if (!(o.temperature > 0) || !Number.isInteger(o.length) || o.length < 0 || o.length > 4096) {
    throw new Error(`sample: temperature ${o.temperature} (want > 0), length ${o.length} (want an integer in [0, 4096])`);
  }
  const index = new Map(ds.chars.map((c, i) => [c, i]));
  const unk = ds.vocabSize - 1;
  const ids = Array.from(o.prompt, (c) => index.get(c) ?? unk);
  if (ids.length === 0) ids.push(index.get('\n') ?? 0);
  const rng = makeRng(o.seed);
  const start = now();
  const added: number[] = [];
  while (added.length < o.length && now() - start < o.budgetMs) {
    const window = ids.slice(-config.context);
    const probs = tf.tidy(() => {
      const logits = model.logits(tf.tensor2d(window, [1, window.length], 'int32')); // [T, V], no dropout
      const last = tf.slice(logits, [window.length - 1, 0], [1, ds.vocabSize]);
      return tf.softmax(tf.div(last, o.temperature));
    });
    const p = await probs.data();
    probs.dispose();
    let u = rng.next() * (1 - p[unk]!), id = unk === 0 ? 1 : 0;
    for (let i = 0; i < p.length; i++) if (i !== unk) { id = i; u -= p[i]!; if (u < 0) break; }
    ids.push(id);
    added.push(id);
  }
  return o.prompt + ds.decode(added);
}

/** Class probabilities for one 28×28 image, row-major, ink in [0, 1] (the digits data's convention). */
export async function predictDigit(model: Model, pixels: Float32Array): Promise<number[]> {
  if (pixels.length !== DIGIT_FEATURES || !pixels.every((v) => v >= 0 && v <= 1)) {
    throw new Error(`predict: want ${DIGIT_FEATURES} pixels in [0, 1], got ${pixels.length} values`);
  }
  const probs = tf.tidy(() => tf.softmax(model.logits(tf.tensor2d(pixels, [1, DIGIT_FEATURES], 'float32'))));
  try {
    return Array.from(await probs.data());
  } finally {
    probs.dispose();
  }
}
