/**
 * The classroom demo's inference: text samples (length, vocabulary, seed, time budget, greedy at a low
 * temperature) and digit predictions (a distribution whose best class is the logits' argmax).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromBytes, type DigitsDataset, type TextDataset } from './data';
import { predictDigit, sampleText } from './demo';
import { createGpt, GPT_TINY } from './gpt';
import { createMlp, MLP_DEFAULT } from './mlp';
import { digitsFiles, textFiles } from './test-fixtures';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ds = fromBytes('text', textFiles('the quick brown fox jumps over the lazy dog. ', 4), { context: GPT_TINY.context, heldOut: 2 }) as TextDataset;
const config = { ...GPT_TINY, vocab: ds.vocabSize };
const gpt = createGpt(config, 7);
const clock = (): (() => number) => { let t = 0; return () => t++; }; // 1 ms per reading

describe('sampleText', () => {
  it('continues the prompt with `length` characters of the vocabulary, the same for the same seed', async () => {
    const o = { prompt: 'the ', length: 40, temperature: 1, seed: 3, budgetMs: 1e9 };
    const a = await sampleText(gpt, config, ds, o, clock());
    expect(a.startsWith('the ')).toBe(true);
    expect(a).toHaveLength(44);
    for (const ch of a.slice(4)) expect(ds.chars).toContain(ch);
    expect(a).not.toContain('\uFFFD'); // UNK is never sampled
    expect(await sampleText(gpt, config, ds, o, clock())).toBe(a);
    expect(await sampleText(gpt, config, ds, { ...o, seed: 4 }, clock())).not.toBe(a);
  });

  it('stops at its time budget rather than late', async () => {
    // The clock advances 1 ms per reading: the start at 0, then one reading before each character, the
    // 10th (at 10 ms) ends it, so 9 characters of the 100 asked for.
    const s = await sampleText(gpt, config, ds, { prompt: 'a', length: 100, temperature: 1, seed: 1, budgetMs: 10 }, clock());
    expect(s).toHaveLength(1 + 9);
  });

  it('picks the most likely character at a temperature near 0', async () => {
    const s = await sampleText(gpt, config, ds, { prompt: 'the', length: 1, temperature: 1e-4, seed: 9, budgetMs: 1e9 }, clock());
    const ids = Array.from('the', (c) => ds.chars.indexOf(c));
    const logits = tf.tidy(() => gpt.logits(tf.tensor2d(ids, [1, 3], 'int32')));
    const last = (await logits.array()).at(-1)!;
    logits.dispose();
    expect(s.at(-1)).toBe(ds.chars[last.indexOf(Math.max(...last))]);
  });

  it('refuses a temperature that is not positive', async () => {
    await expect(sampleText(gpt, config, ds, { prompt: 'a', length: 1, temperature: 0, seed: 1, budgetMs: 1 }, clock())).rejects.toThrow(/temperature 0/);
  });
});

describe('predictDigit', () => {
  const digits = fromBytes('digits', digitsFiles(4, 4)) as DigitsDataset;
  const mlp = createMlp(MLP_DEFAULT, 1);

  it('gives a distribution over the 10 classes whose best is the logits argmax', async () => {
    const held = digits.heldOut();
    const x = (await held.x.array()) as number[][];
    held.x.dispose(); held.y.dispose();
    const p = await predictDigit(mlp, Float32Array.from(x[0]!));
    expect(p).toHaveLength(10);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    const logits = tf.tidy(() => mlp.logits(tf.tensor2d(x[0]!, [1, 784])));
    const l = (await logits.array())[0]!;
    logits.dispose();
    expect(p.indexOf(Math.max(...p))).toBe(l.indexOf(Math.max(...l)));
  });

  it('refuses an image of the wrong size or out of [0, 1]', async () => {
    await expect(predictDigit(mlp, new Float32Array(10))).rejects.toThrow(/784 pixels/);
    await expect(predictDigit(mlp, new Float32Array(784).fill(2))).rejects.toThrow(/in \[0, 1\]/);
  });
});
