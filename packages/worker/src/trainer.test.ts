import { makeLayout, type Fragment, type TensorSpec } from '@tabswarm/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BackendName } from './api';
import type { BackendInit, GpuDeviceLike } from './backends';
import type { ModelModule, OptimizerState, TrainModel } from './model-api';
import { checkFragment, ownBuffer } from './buffers';
import { TrainerCore } from './trainer';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const SPECS: TensorSpec[] = [
  { name: 'w', shape: [2, 3], kind: 'dense' },
  { name: 'b', shape: [4], kind: 'dense' },
];
const N = 10;
/** Fragment 1 = tensor 'b' (elements 6..9). */
const FRAG_B: Fragment = { index: 1, size: 4, segments: [{ name: 'b', kind: 'dense', srcOffset: 6, dstOffset: 0, size: 4, rowStart: 0, rows: 4 }] };

/** A model over a plain Float32Array; `plan` scripts what each step does. */
class FakeModel implements TrainModel {
  specs = SPECS;
  tokensPerStep = 128;
  params = new Float32Array(N);
  steps = 0;
  resets = 0;
  disposed = false;
  plan: Array<'ok' | 'throw' | 'nan' | 'nan-grad' | 'hang'> = [];
  async getParams(): Promise<Float32Array> {
    return this.params.slice();
  }
  setParams(flat: Float32Array): void {
    this.params.set(flat);
  }
  async readFragment(f: Fragment): Promise<Float32Array> {
    const out = new Float32Array(f.size);
    for (const s of f.segments) out.set(this.params.subarray(s.srcOffset, s.srcOffset + s.size), s.dstOffset);
    return out;
  }
  writeFragment(f: Fragment, values: Float32Array): void {
    for (const s of f.segments) this.params.set(values.subarray(s.dstOffset, s.dstOffset + s.size), s.srcOffset);
  }
  async step(lr: number): Promise<{ loss: number; gradNorm: number; optimizerSteps: number }> {
    const what = this.plan.shift() ?? 'ok';
    if (what === 'hang') return new Promise(() => undefined);
    this.params[0] = (this.params[0] ?? 0) + lr; // a half-applied update before failing, as a real backend might
    if (what === 'throw') throw new Error('kernel exploded');
    this.steps++;
    this.moments.steps++;
    return { loss: what === 'nan' ? NaN : 2 / this.steps, gradNorm: what === 'nan-grad' ? Infinity : 1, optimizerSteps: this.moments.steps };
  }
  async evaluate(): Promise<number> {
    return 1.5;
  }
  async sample(o: { prompt: string; length: number }): Promise<string> {
    return o.prompt + 'x'.repeat(o.length);
  }
  async predict(pixels: Float32Array): Promise<number[]> {
    return [pixels[0]!, 1 - pixels[0]!];
  }
  resetOptimizer(): void {
    this.resets++;
  }
  moments = { m: new Float32Array(N), v: new Float32Array(N), steps: 0 };
  async optimizerState(): Promise<OptimizerState> {
    return { m: this.moments.m.slice(), v: this.moments.v.slice(), steps: this.moments.steps };
  }
  setOptimizerState(s: OptimizerState): void {
    this.moments = { m: s.m.slice(), v: s.v.slice(), steps: s.steps };
  }
  dispose(): void {
    this.disposed = true;
  }
}

function setup(device?: GpuDeviceLike) {
  const models: FakeModel[] = [];
  let loads = 0;
  const mod: ModelModule = {
    loadDataset: async () => ((loads++), { rows: 3 }),
    createTrainModel: () => {
      const m = new FakeModel();
      models.push(m);
      return m;
    },
  };
  const init = async (backend: BackendName): Promise<BackendInit> => ({ ok: true, backend, initMs: 1, ...(device ? { device } : {}) });
  let t = 0;
  const core = new TrainerCore(mod, init, () => (t += 10));
  const start = () => core.init({ workload: 'digits', dataBaseUrl: 'http://x/data/', batch: 4, seed: 1, backend: 'cpu' });
  return { core, models, start, loads: () => loads };
}

const floats = (...v: number[]): ArrayBuffer => Float32Array.from(v).buffer;

describe('TrainerCore', () => {
  it('refuses to work before init, and init reports the layout', async () => {
    const { core, start } = setup();
    await expect(core.train(1, 0.1)).rejects.toMatchObject({ code: 'not-initialised' });
    const info = await start();
    expect(info).toEqual({ specs: SPECS, tokensPerStep: 128, backend: 'cpu', numParams: 10 });
  });

  it('trains n steps and reports the mean loss and time per step', async () => {
    const { core, start } = setup();
    await start();
    expect(await core.train(2, 0.5)).toEqual({ steps: 2, meanLoss: 1.5, msPerStep: 5, optimizerSteps: 2 });
  });

  it('slowdown s makes each step take s× its own compute time, waiting (s − 1) × the step after it', async () => {
    let t = 0;
    const waits: number[] = [];
    const mod: ModelModule = {
      loadDataset: async () => ({}),
      createTrainModel: () => {
        const m = new FakeModel();
        const step = m.step.bind(m);
        m.step = (lr) => { t += 10 * (m.steps + 1); return step(lr); }; // steps of 10 ms, then 20 ms
        return m;
      },
    };
    const init = async (backend: BackendName): Promise<BackendInit> => ({ ok: true, backend, initMs: 1 });
    const core = new TrainerCore(mod, init, () => t, async (ms) => { waits.push(ms); t += ms; });
    const opts = { workload: 'digits' as const, dataBaseUrl: 'http://x/data/', batch: 4, seed: 1, backend: 'cpu' };
    await core.init({ ...opts, slowdown: 2.5 });
    // Waits 1.5 × 10 and 1.5 × 20 ms; wall time 10 + 15 + 20 + 30 = 75 ms over 2 steps = 2.5 × the 15 ms mean.
    expect(await core.train(2, 0.5)).toEqual({ steps: 2, meanLoss: 1.5, msPerStep: 37.5, optimizerSteps: 2 });
    expect(waits).toEqual([15, 30]);
    await core.init(opts); // the default: no slowdown, no waiting
    expect(await core.train(1, 0.5)).toEqual({ steps: 1, meanLoss: 2, msPerStep: 10, optimizerSteps: 1 }); // a new model: AdamW from 0
    expect(waits).toHaveLength(2);
    for (const slowdown of [0.5, NaN, Infinity]) await expect(core.init({ ...opts, slowdown })).rejects.toMatchObject({ code: 'bad-argument' });
  });

  it('validates arguments before touching anything', async () => {
    const { core, start, models } = setup();
    await start();
    await expect(core.train(0, 0.1)).rejects.toMatchObject({ code: 'bad-argument' });
    await expect(core.train(1, NaN)).rejects.toMatchObject({ code: 'bad-argument' });
    await expect(core.setParams(floats(1, 2))).rejects.toThrow(/bad-argument: setParams wants 10 float32 values \(40 bytes\), got 8 bytes/);
    await expect(core.writeFragment(FRAG_B, floats(1, 2, 3))).rejects.toMatchObject({ code: 'bad-argument' });
    await expect(core.readFragment({ ...FRAG_B, segments: [{ ...FRAG_B.segments[0]!, srcOffset: 8 }] })).rejects.toMatchObject({ code: 'bad-argument' });
    await expect(core.init({ workload: 'digits', dataBaseUrl: 'x', batch: 4, seed: 1, backend: 'tpu' })).rejects.toMatchObject({ code: 'bad-argument' });
    expect([...models[0]!.params]).toEqual(new Array(10).fill(0));
    expect(await core.train(1, 0.1)).toMatchObject({ steps: 1 }); // still usable
  });

  it('a failing step marks the parameters suspect until setParams restores them (and resets the optimizer)', async () => {
    const { core, start, models } = setup();
    await start();
    const m = models[0]!;
    m.plan = ['ok', 'throw'];
    await expect(core.train(3, 0.1)).rejects.toThrow(/^step-failed: step 2\/3 threw: kernel exploded; parameters are now suspect/);
    for (const call of [() => core.train(1, 0.1), () => core.getParams(), () => core.readFragment(FRAG_B), () => core.writeFragment(FRAG_B, floats(1, 2, 3, 4))]) {
      await expect(call()).rejects.toMatchObject({ code: 'state-invalid' });
    }
    await core.setParams(new Float32Array(10).fill(7).buffer);
    expect(m.resets).toBe(1);
    expect(new Float32Array(await core.getParams())[3]).toBe(7);
    expect(await core.train(1, 0.1)).toMatchObject({ steps: 1 });
  });

  it('a write that throws part-way is write-failed (recoverable, unlike a refused model) and leaves the parameters suspect', async () => {
    const { core, start, models } = setup();
    await start();
    const oom = (): never => { throw new Error('out of memory'); };
    models[0]!.writeFragment = oom;
    await expect(core.writeFragment(FRAG_B, floats(1, 2, 3, 4))).rejects.toThrow(/^write-failed: writeFragment 1 threw: out of memory; parameters are now suspect/);
    await expect(core.getParams()).rejects.toMatchObject({ code: 'state-invalid' });
    models[0]!.setParams = oom;
    await expect(core.setParams(new ArrayBuffer(40))).rejects.toMatchObject({ code: 'write-failed' });
  });

  it('a non-finite loss or gradient norm is a failure, not a result', async () => {
    const { core, start, models } = setup();
    await start();
    models[0]!.plan = ['nan'];
    await expect(core.train(1, 0.1)).rejects.toMatchObject({ code: 'non-finite-loss' });
    await expect(core.getParams()).rejects.toMatchObject({ code: 'state-invalid' });
    // The loss is taken before the update: a non-finite gradient makes the parameters NaN under a finite loss,
    // and a read of them (a push) could come before the next step's loss shows it.
    await core.setParams(new ArrayBuffer(40));
    models[0]!.plan = ['nan-grad'];
    await expect(core.train(2, 0.1)).rejects.toThrow(/^non-finite-loss: step 1\/2 gave gradient norm Infinity; parameters are now suspect/);
    await expect(core.readFragment(FRAG_B)).rejects.toMatchObject({ code: 'state-invalid' });
  });

  it('reads and writes fragments as whole, owned buffers', async () => {
    const { core, start } = setup();
    await start();
    await core.writeFragment(FRAG_B, floats(1, 2, 3, 4));
    expect([...new Float32Array(await core.readFragment(FRAG_B))]).toEqual([1, 2, 3, 4]);
    expect([...new Float32Array(await core.getParams())].slice(5)).toEqual([0, 1, 2, 3, 4]);
    expect(await core.evaluate()).toBe(1.5);
  });

  it('samples and predicts for the demo, refusing malformed requests before the model sees them', async () => {
    const { core, start } = setup();
    await start();
    expect(await core.sample({ prompt: 'ab', length: 3, temperature: 1, seed: 1, budgetMs: 100 })).toBe('abxxx');
    const px = new Float32Array(784);
    px[0] = 0.25;
    expect(await core.predict(px.buffer)).toEqual([0.25, 0.75]);
    await expect(core.sample({ prompt: 'a', length: 1, temperature: 0, seed: 1, budgetMs: 1 })).rejects.toMatchObject({ code: 'bad-argument' });
    await expect(core.sample({ prompt: 'a', length: 1, temperature: 1, seed: 1, budgetMs: 1e9 })).rejects.toMatchObject({ code: 'bad-argument' });
    await expect(core.predict(new ArrayBuffer(12))).rejects.toMatchObject({ code: 'bad-argument' });
  });

  it('runs calls one at a time, in arrival order', async () => {
    const { core, start, models } = setup();
    await start();
    const order: string[] = [];
    const a = core.train(3, 1).then(() => order.push('train'));
    const b = core.writeFragment(FRAG_B, floats(9, 9, 9, 9)).then(() => order.push('write'));
    const c = core.getParams().then((p) => order.push(`get ${new Float32Array(p)[0]}`));
    await Promise.all([a, b, c]);
    expect(order).toEqual(['train', 'write', 'get 3']);
    expect(models[0]!.steps).toBe(3);
  });

  it('loads a dataset once per (workload, URL), and re-init disposes the old model', async () => {
    const { start, models, loads } = setup();
    await start();
    await start();
    expect(loads()).toBe(1);
    expect(models[0]!.disposed).toBe(true);
  });

  it('a WebGPU device loss rejects the call in flight and every later one with device-lost', async () => {
    let lose!: (i: { reason: string; message: string }) => void;
    let destroyed = false;
    const device: GpuDeviceLike = { lost: new Promise((r) => (lose = r)), destroy: () => void (destroyed = true) };
    const { core, start, models } = setup(device);
    await start();
    models[0]!.plan = ['hang'];
    const inFlight = core.train(1, 0.1);
    lose({ reason: 'unknown', message: 'GPU process crashed' });
    await expect(inFlight).rejects.toThrow('device-lost: WebGPU device lost (unknown: GPU process crashed); terminate this worker and start another');
    await expect(core.getParams()).rejects.toMatchObject({ code: 'device-lost' });
    await expect(core.setParams(new ArrayBuffer(40))).rejects.toMatchObject({ code: 'device-lost' });
    await expect(start()).rejects.toMatchObject({ code: 'device-lost' });
    expect(await core.debugLoseDevice()).toBe(true);
    expect(destroyed).toBe(true);
  });

  it('an unhandled mapAsync AbortError on WebGPU counts as a device loss; other rejections do not', async () => {
    const device: GpuDeviceLike = { lost: new Promise(() => undefined), destroy: () => undefined };
    const { core, start } = setup(device);
    await start();
    core.noteUnhandled(new Error('some unrelated bug'));
    expect(await core.train(1, 0.1)).toMatchObject({ steps: 1 });
    const abort = Object.assign(new Error('Failed to execute mapAsync: a valid external Instance reference no longer exists.'), { name: 'AbortError' });
    core.noteUnhandled(abort);
    await expect(core.train(1, 0.1)).rejects.toMatchObject({ code: 'device-lost' });
  });

  it('debugLoseDevice is false off WebGPU; memory() reports TF.js counts', async () => {
    const { core, start } = setup();
    await start();
    expect(await core.debugLoseDevice()).toBe(false);
    expect(await core.memory()).toMatchObject({ backend: 'cpu', numTensors: expect.any(Number), unreliable: expect.any(Boolean) });
  });
});

describe('TrainerCore.switchBackend', () => {
  it('moves parameters and AdamW moments to the new backend, with a fresh data seed', async () => {
    const models: FakeModel[] = [], seeds: number[] = [], inits: string[] = [];
    const mod: ModelModule = {
      loadDataset: async () => ({}),
      createTrainModel: (_w, _d, o) => { seeds.push(o.seed); const m = new FakeModel(); models.push(m); return m; },
    };
    const init = async (backend: BackendName): Promise<BackendInit> => { inits.push(backend); return { ok: true, backend, initMs: 1 }; };
    const core = new TrainerCore(mod, init);
    await core.init({ workload: 'digits', dataBaseUrl: 'x', batch: 4, seed: 7, backend: 'webgl' });
    await core.train(3, 0.5);
    models[0]!.moments = { m: new Float32Array(N).fill(0.25), v: new Float32Array(N).fill(0.5), steps: 3 };
    const before = new Float32Array(await core.getParams());
    expect(await core.switchBackend('wasm')).toMatchObject({ backend: 'wasm', numParams: N });
    expect(inits).toEqual(['webgl', 'wasm']);
    expect(models[0]!.disposed).toBe(true);
    expect(new Float32Array(await core.getParams())).toEqual(before);
    expect(models[1]!.moments).toEqual({ m: new Float32Array(N).fill(0.25), v: new Float32Array(N).fill(0.5), steps: 3 });
    expect(seeds).toEqual([7, 8]);
    expect(await core.train(1, 0.5)).toMatchObject({ steps: 1, optimizerSteps: 4 }); // AdamW's count went on: 3 steps, then this one
  });

  it('a backend that fails to start leaves the model where it was, state intact', async () => {
    const models: FakeModel[] = [];
    const mod: ModelModule = { loadDataset: async () => ({}), createTrainModel: () => { const m = new FakeModel(); models.push(m); return m; } };
    const init = async (backend: BackendName): Promise<BackendInit> => backend === 'webgpu' ? { ok: false, backend, initMs: 1, reason: 'no adapter' } : { ok: true, backend, initMs: 1 };
    const core = new TrainerCore(mod, init);
    await core.init({ workload: 'digits', dataBaseUrl: 'x', batch: 4, seed: 1, backend: 'wasm' });
    await core.train(2, 0.5);
    const before = new Float32Array(await core.getParams());
    await expect(core.switchBackend('webgpu')).rejects.toThrow(/^backend-failed: switch to webgpu: backend-failed: webgpu: no adapter; still on wasm/);
    expect(new Float32Array(await core.getParams())).toEqual(before);
    expect((await core.train(1, 0.5)).steps).toBe(1);
    await expect(core.switchBackend('tpu')).rejects.toMatchObject({ code: 'bad-argument' });
  });

  it('after switching off WebGPU, the device left behind is no longer watched', async () => {
    let lose!: (i: { reason: string }) => void;
    const gpu: GpuDeviceLike = { lost: new Promise((r) => (lose = r)), destroy: () => undefined };
    const init = async (backend: BackendName): Promise<BackendInit> => ({ ok: true, backend, initMs: 1, ...(backend === 'webgpu' ? { device: gpu } : {}) });
    const core = new TrainerCore({ loadDataset: async () => ({}), createTrainModel: () => new FakeModel() }, init);
    await core.init({ workload: 'digits', dataBaseUrl: 'x', batch: 4, seed: 1, backend: 'webgpu' });
    await core.switchBackend('wasm');
    lose({ reason: 'unknown' });
    expect(await core.train(1, 0.5)).toMatchObject({ steps: 1 });
    core.noteUnhandled(Object.assign(new Error('Instance reference no longer exists'), { name: 'AbortError' }));
    expect(await core.train(1, 0.5)).toMatchObject({ steps: 1 });
    expect(await core.debugLoseDevice()).toBe(false);
  });
});

describe('helpers', () => {
  it('ownBuffer transfers a whole buffer as is and copies a view', () => {
    const whole = new Float32Array([1, 2]);
    expect(ownBuffer(whole)).toBe(whole.buffer);
    const view = new Float32Array([1, 2, 3, 4]).subarray(1, 3);
    const b = ownBuffer(view);
    expect(b.byteLength).toBe(8);
    expect([...new Float32Array(b)]).toEqual([2, 3]);
  });

  it("checkFragment wants segments that fit the model's layout and tile the fragment", () => {
    const layout = makeLayout(SPECS);
    expect(() => checkFragment(FRAG_B, layout)).not.toThrow();
    // row 1 of w (elements 3..5) and rows [1, 3) of b: slices of split tensors are fine
    const slices: Fragment = { index: 0, size: 5, segments: [
      { name: 'w', kind: 'dense', srcOffset: 3, dstOffset: 0, size: 3, rowStart: 1, rows: 1 },
      { name: 'b', kind: 'dense', srcOffset: 7, dstOffset: 3, size: 2, rowStart: 1, rows: 2 }] };
    expect(() => checkFragment(slices, layout)).not.toThrow();
    expect(() => checkFragment(FRAG_B, makeLayout([{ name: 'b', shape: [3], kind: 'dense' }]))).toThrow(/bad-argument: .*rows \[0, \+4\) are outside the tensor's 3/);
    expect(() => checkFragment({ ...FRAG_B, segments: [{ ...FRAG_B.segments[0]!, srcOffset: 5 }] }, layout)).toThrow(/outside the parameters/);
    expect(() => checkFragment({ ...FRAG_B, size: 5 }, layout)).toThrow(/cover 4 of 5/);
    expect(() => checkFragment({ index: 0, size: 0, segments: [] }, layout)).toThrow(/malformed/);
  });
});
