import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BackendName } from './api';
import type { BackendInit, GpuDeviceLike } from './backends';
import type { ModelModule } from './model-api';
import { FakeModel, FRAG_B, floats, setup, SPECS } from './trainer-fixtures';
import { TrainerCore } from './trainer';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

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
