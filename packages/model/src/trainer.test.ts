/**
 * The TrainModel seam and loop: flat params and fragments against core's gather/scatter (the oracle),
 * identical init across learners, learning on a repeated text, and no tensor leak per step.
 * Run: npx vitest run packages/model/src/trainer.test.ts
 */
import * as tf from '@tensorflow/tfjs';
import { gather, makeRng, planFragments, scatter } from '@tabswarm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBytes, type TextDataset } from './data';
import { gptInit, GPT_TINY } from './gpt';
import { textFiles } from './test-fixtures';
import { createTrainModel, type TrainModel } from './trainer';

const TEXT = 'the quick brown fox jumps over the lazy dog. ';
const CONTEXT = GPT_TINY.context;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function tinyText(): TextDataset {
  return fromBytes('text', textFiles(TEXT, 40), { context: CONTEXT, heldOut: 4 }) as TextDataset;
}

function tinyModel(seed: number): TrainModel {
  return createTrainModel('text', tinyText(), { config: GPT_TINY, batch: 8, seed });
}

describe('TrainModel params', () => {
  const model = tinyModel(1);
  afterAll(() => model.dispose());

  it('starts every learner from the same weights whatever its data seed', async () => {
    const other = tinyModel(999);
    const a = await model.getParams();
    expect(await other.getParams()).toEqual(a);
    expect(a).toEqual(gptInit({ ...GPT_TINY, vocab: tinyText().vocabSize }, 0x5eed));
    other.dispose();
  });

  it('round-trips setParams/getParams exactly', async () => {
    const rng = makeRng(3);
    const flat = Float32Array.from({ length: model.layout.totalSize }, () => rng.normal());
    model.setParams(flat);
    expect(await model.getParams()).toEqual(flat);
    expect(() => model.setParams(new Float32Array(3))).toThrow(/3 values, model has/);
  });

  it('reads and writes fragments exactly as core gather/scatter do on the flat vector', async () => {
    const rng = makeRng(4);
    for (const f of planFragments(model.layout, 3)) {
      const flat = await model.getParams();
      expect(await model.readFragment(f)).toEqual(gather(flat, f));
      const values = Float32Array.from({ length: f.size }, () => rng.normal());
      model.writeFragment(f, values);
      scatter(flat, f, values);
      expect(await model.getParams()).toEqual(flat);
    }
  });

  it('reads and writes row slices of split tensors exactly as gather/scatter do, at every P up to 24', async () => {
    const rng = makeRng(6);
    let slices = 0;
    for (const P of [2, 5, 8, 12, 24]) {
      for (const f of planFragments(model.layout, P)) {
        slices += f.segments.filter((s) => s.size !== model.layout.tensors.find((t) => t.name === s.name)?.size).length;
        const flat = await model.getParams();
        expect(await model.readFragment(f)).toEqual(gather(flat, f));
        const values = Float32Array.from({ length: f.size }, () => rng.normal());
        model.writeFragment(f, values);
        scatter(flat, f, values);
        expect(await model.getParams()).toEqual(flat);
      }
    }
    expect(slices).toBeGreaterThan(10); // the split path is what this test is about
  });

  it('refuses a fragment that does not fit its layout before reading or writing anything', async () => {
    const f = planFragments(model.layout, 24).find((x) => x.segments.some((s) => s.rowStart > 0));
    if (f === undefined) throw new Error('no split fragment');
    const before = await model.getParams();
    const bad = { ...f, segments: f.segments.map((s, i) => (i === 0 ? { ...s, rowStart: s.rowStart + 1 } : s)) };
    await expect(model.readFragment(bad)).rejects.toThrow(/fragment does not fit this model: .*outside/);
    expect(() => model.writeFragment(bad, new Float32Array(f.size))).toThrow(/fragment does not fit this model/);
    expect(await model.getParams()).toEqual(before);
  });

  it('refuses mismatched configs and datasets', () => {
    expect(() => createTrainModel('text', tinyText(), { config: { context: 64 }, batch: 2, seed: 1 })).toThrow(/context 64/);
    expect(() => createTrainModel('digits', tinyText(), { batch: 2, seed: 1 })).toThrow(/digits model for a text dataset/);
  });
});

describe('TrainModel training', () => {
  it('lowers the loss on a repeated text within 30 steps (last-5 mean and held-out loss below a third of the initial)', async () => {
    const model = tinyModel(2);
    const before = await model.evaluate();
    const losses: number[] = [], counts: number[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await model.step(1e-2);
      losses.push(r.loss);
      counts.push(r.optimizerSteps);
    }
    expect(counts).toEqual(Array.from({ length: 30 }, (_, i) => i + 1)); // AdamW's t, as its bias correction uses it
    const after = await model.metrics();
    const tail = losses.slice(-5).reduce((a, b) => a + b, 0) / 5;
    const first = losses[0] ?? NaN;
    expect(Math.abs(first - Math.log(tinyText().vocabSize))).toBeLessThan(0.3); // ≈ ln V at init
    expect(tail).toBeLessThan(first / 3); // observed ≈ 0.52 from 3.38
    expect(after.loss).toBeLessThan(before / 3);
    expect(after.bitsPerChar).toBeCloseTo(after.loss / Math.LN2, 6);
    model.dispose();
  });

  it('leaks no tensors across 20 steps, evaluations and fragment traffic, nor after dispose', async () => {
    const empty = tf.memory().numTensors;
    const model = tinyModel(5);
    const frag = planFragments(model.layout, 2)[1];
    if (frag === undefined) throw new Error('no fragment');
    await model.step(1e-3); // warm up any lazily created kernels' state
    const start = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) {
      await model.step(1e-3);
      if (i % 5 === 0) {
        await model.evaluate();
        model.writeFragment(frag, await model.readFragment(frag));
        model.setParams(await model.getParams());
      }
    }
    model.resetOptimizer();
    expect(tf.memory().numTensors).toBe(start);
    model.dispose();
    expect(tf.memory().numTensors).toBe(empty);
  });
});
