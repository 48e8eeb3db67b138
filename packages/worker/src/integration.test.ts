/**
 * The worker's logic with the real @tabswarm/model on the TF.js cpu backend, data served by a stubbed
 * fetch: everything the browser worker does except comlink and the browser-only backends.
 */
import { gather, makeLayout, planFragments, scatter } from '@tabswarm/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { modelModule, resolveConfig } from './model-adapter';
import { TrainerCore } from './trainer';

const BASE = 'http://test.invalid/data';
const json = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));

/** Digits in the on-disk format: class k lights pixel rows 2k..2k+2, so the data is learnable. */
function digits(n: number): Uint8Array {
  const out = new Uint8Array(n * 785);
  for (let r = 0; r < n; r++) {
    const label = (r * 7) % 10;
    for (let p = 0; p < 784; p++) out[r * 785 + p] = Math.floor(p / 28) >= 2 * label && Math.floor(p / 28) < 2 * label + 3 ? 220 : (r * p) % 17;
    out[r * 785 + 784] = label;
  }
  return out;
}
const text = 'the quick brown fox jumps over the lazy dog. '.repeat(8);
const chars = [...new Set(text)].sort();
const ids = Uint8Array.from(text, (c) => chars.indexOf(c));
const FILES: Record<string, Uint8Array> = {
  'digits/train.bin': digits(64),
  'digits/val.bin': digits(20),
  'digits/meta.json': json({ version: 1, width: 28, height: 28, features: 784, classes: 10, recordBytes: 785, train: 64, val: 20, source: 'test' }),
  'text/train.bin': ids,
  'text/val.bin': ids,
  'text/vocab.json': json({ version: 1, chars, unk: chars.length, vocabSize: chars.length + 1, minCount: 1, source: 'test' }),
};

beforeAll(async () => {
  await tf.setBackend('cpu');
  vi.stubGlobal('fetch', async (url: string) => {
    const body = FILES[url.slice(BASE.length + 1)];
    return body ? new Response(body.slice()) : new Response('missing', { status: 404 });
  });
});
afterAll(() => {
  vi.unstubAllGlobals();
});

describe('resolveConfig', () => {
  it('maps the named configs the apps pass', () => {
    expect(resolveConfig('text', 'default')).toEqual({});
    expect(() => resolveConfig('digits', 'tiny')).toThrow(/digits workload has one network, model=default/);
    expect(resolveConfig('text', 'tiny')).toMatchObject({ overrides: { layers: 1, dModel: 32 }, context: 32 });
    expect(resolveConfig('text', 'small')).toMatchObject({ overrides: { layers: 2, dModel: 64 }, context: 64 });
    expect(resolveConfig('text', 'large')).toMatchObject({ overrides: { layers: 6, dModel: 384 }, context: 256 });
    expect(resolveConfig('text', { context: 16, layers: 2 })).toEqual({ overrides: { context: 16, layers: 2 }, context: 16 });
    expect(resolveConfig('digits', { hidden: 16 })).toEqual({ overrides: { hidden: 16 } });
    expect(() => resolveConfig('text', 'huge' as 'tiny')).toThrow(/model="huge": want one of tiny, small, default, large/);
  });
});

describe('TrainerCore with the real model (cpu)', () => {
  it('probes, inits, trains and moves parameters and fragments consistently, without leaking tensors', async () => {
    const core = new TrainerCore(modelModule);
    const probe = await core.probe({ candidates: ['cpu'], workload: 'digits', model: { dataBaseUrl: BASE, batch: 8 }, calibrationSteps: 1 });
    expect(probe.chosen).toBe('cpu');
    expect(probe.results[0]?.msPerStep).toBeGreaterThan(0);

    const info = await core.init({ workload: 'digits', dataBaseUrl: BASE, config: { hidden: 16 }, batch: 8, seed: 3 });
    expect(info.backend).toBe('cpu');
    expect(info.numParams).toBe(784 * 16 + 16 + 16 * 10 + 10);
    const layout = makeLayout(info.specs);
    expect(layout.totalSize).toBe(info.numParams);

    const first = await core.train(2, 1e-2);
    expect(Number.isFinite(first.meanLoss)).toBe(true);
    const tensors = (await core.memory()).numTensors;
    await core.train(3, 1e-2);
    expect((await core.memory()).numTensors).toBe(tensors); // steady state: a step leaves nothing behind

    const flat = new Float32Array(await core.getParams());
    expect(flat.length).toBe(info.numParams);
    // fc1.w (12,544 of 12,730 values) is split by rows at both P, so these are row slices of it
    for (const P of [2, 7]) {
      const frags = planFragments(layout, P);
      expect(frags.filter((f) => f.segments.some((s) => s.name === 'fc1.w' && s.size < 784 * 16)).length).toBeGreaterThanOrEqual(P - 1);
      for (const f of frags) expect(new Float32Array(await core.readFragment(f))).toEqual(gather(flat, f));
    }

    const f0 = planFragments(layout, 2)[0]!;
    const ones = new Float32Array(f0.size).fill(1);
    await core.writeFragment(f0, ones.slice().buffer);
    const expected = flat.slice();
    scatter(expected, f0, ones);
    expect(new Float32Array(await core.getParams())).toEqual(expected);

    await core.setParams(flat.slice().buffer);
    expect(new Float32Array(await core.getParams())).toEqual(flat);
    expect(Number.isFinite(await core.evaluate())).toBe(true);
    await core.dispose();
    await expect(core.train(1, 1e-3)).rejects.toMatchObject({ code: 'not-initialised' });
  });

  it("builds the text workload's tiny GPT with a 32-token context", async () => {
    const core = new TrainerCore(modelModule);
    const info = await core.init({ workload: 'text', dataBaseUrl: BASE, config: 'tiny', batch: 2, seed: 1, backend: 'cpu' });
    expect(info.tokensPerStep).toBe(2 * 32);
    expect(Number.isFinite((await core.train(1, 1e-3)).meanLoss)).toBe(true);
    await core.dispose();
  });

  it('reports a missing dataset as model-failed, naming the URL', async () => {
    const core = new TrainerCore(modelModule);
    await expect(core.init({ workload: 'digits', dataBaseUrl: `${BASE}/nowhere`, batch: 2, seed: 1, backend: 'cpu' })).rejects.toThrow(/^model-failed: building the digits model: .*nowhere\/digits\/.* HTTP 404/);
  });
});
