/**
 * The char GPT: parameter count against its closed form, fixed names/kinds, seeded init, output shape,
 * loss at init ≈ ln V (the oracle: uniform predictions), and causality.
 * Run: npx vitest run packages/model/src/gpt.test.ts
 */
import * as tf from '@tensorflow/tfjs';
import { makeLayout } from '@tabswarm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGpt, gptInit, gptParamCount, gptSpecs, GPT_DEFAULT, GPT_TINY, type GptConfig } from './gpt';
import { crossEntropy } from './nn';

const MOBY_VOCAB = 78; // 77 characters of Moby-Dick seen ≥ 3 times + UNK (scripts/build-data.ts)
const TINY: GptConfig = { ...GPT_TINY, vocab: MOBY_VOCAB };
const DEFAULT: GptConfig = { ...GPT_DEFAULT, vocab: MOBY_VOCAB };

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('gpt layout', () => {
  it('has the parameter count of the closed form (default 1,834,446; tiny 18,862)', () => {
    for (const [cfg, want] of [[DEFAULT, 1_834_446], [TINY, 18_862]] as const) {
      const specs = gptSpecs(cfg);
      const summed = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
      expect(gptParamCount(cfg)).toBe(want);
      expect(summed).toBe(want);
      expect(makeLayout(specs).totalSize).toBe(want);
    }
  });

  it('names tensors in a fixed order, marks embedding-like tensors and block layers', () => {
    const specs = gptSpecs({ ...TINY, layers: 2 });
    expect(specs.map((s) => s.name).slice(0, 4)).toEqual(['tok_emb', 'pos_emb', 'h0.ln1.g', 'h0.ln1.b']);
    expect(specs.map((s) => s.name).slice(-4)).toEqual(['ln_f.g', 'ln_f.b', 'head.w', 'head.b']);
    expect(specs.filter((s) => s.kind === 'embedding').map((s) => s.name)).toEqual(['tok_emb', 'pos_emb', 'head.w', 'head.b']);
    expect(specs.find((s) => s.name === 'h1.mlp.fc.w')).toMatchObject({ shape: [32, 128], layer: 1 });
    expect(specs.filter((s) => s.layer === undefined)).toHaveLength(6);
  });

  it('initialises bit-identically from a seed, and differently from another', () => {
    const a = gptInit(TINY, 42);
    expect(gptInit(TINY, 42)).toEqual(a);
    expect(gptInit(TINY, 43)).not.toEqual(a);
    const emb = a.subarray(0, TINY.vocab * TINY.dModel);
    const std = Math.sqrt(emb.reduce((s, x) => s + x * x, 0) / emb.length);
    expect(std).toBeGreaterThan(0.018); // target 0.02
    expect(std).toBeLessThan(0.022);
  });
});

describe('gpt forward', () => {
  const model = createGpt(TINY, 1);
  afterAll(() => model.dispose());

  it('maps [B, T] ids to [B·T, V] logits with loss ≈ ln V at init', () => {
    const B = 4, T = TINY.context;
    const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 31 + 7) % TINY.vocab);
    const targets = Int32Array.from({ length: B * T }, (_, i) => (i * 17 + 3) % TINY.vocab);
    const [shape, loss] = tf.tidy(() => {
      const logits = model.logits(tf.tensor2d(ids, [B, T], 'int32'));
      return [logits.shape, crossEntropy(logits, tf.tensor2d(targets, [B, T], 'int32')).dataSync()[0] ?? NaN] as const;
    });
    expect(shape).toEqual([B * T, TINY.vocab]);
    expect(Math.abs(loss - Math.log(TINY.vocab)) / Math.log(TINY.vocab)).toBeLessThan(0.1);
  });

  it('is causal: changing token k leaves the logits of positions < k unchanged', () => {
    const T = TINY.context, k = 20;
    const ids = Array.from({ length: T }, (_, i) => (i * 5) % TINY.vocab);
    const changed = ids.map((t, i) => (i === k ? (t + 1) % TINY.vocab : t));
    const run = (x: number[]): Float32Array => tf.tidy(() => model.logits(tf.tensor2d(x, [1, T], 'int32')).dataSync() as Float32Array);
    const a = run(ids), b = run(changed);
    const V = TINY.vocab;
    expect(Array.from(b.subarray(0, k * V))).toEqual(Array.from(a.subarray(0, k * V)));
    expect(Array.from(b.subarray(k * V, (k + 1) * V))).not.toEqual(Array.from(a.subarray(k * V, (k + 1) * V)));
  });

  it('accepts sequences shorter than the context', () => {
    const shape = tf.tidy(() => model.logits(tf.zeros([2, 5], 'int32')).shape);
    expect(shape).toEqual([10, TINY.vocab]);
    expect(() => tf.tidy(() => model.logits(tf.zeros([1, TINY.context + 1], 'int32')))).toThrow(/want \[batch, <= 32\]/);
  });

  it('applies dropout only with a seed, reproducibly', () => {
    const drop = createGpt({ ...TINY, dropout: 0.5 }, 1);
    const x = tf.tensor2d(Array.from({ length: 16 }, (_, i) => i % TINY.vocab), [1, 16], 'int32');
    const run = (seed?: number): number[] => tf.tidy(() => Array.from(drop.logits(x, seed).dataSync()));
    expect(run()).toEqual(run());
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run());
    expect(run(7)).not.toEqual(run(8));
    x.dispose();
    drop.dispose();
  });
});
