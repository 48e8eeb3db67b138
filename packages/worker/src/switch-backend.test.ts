import { describe, expect, it } from 'vitest';
import type { BackendName } from './api';
import type { BackendInit, GpuDeviceLike } from './backends';
import type { ModelModule } from './model-api';
import { FakeModel, N } from './trainer-fixtures';
import { TrainerCore } from './trainer';

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

  it('a switch whose rollback fails too rejects with state-invalid, which the tab recovers from, not backend-failed', async () => {
    let wasmStarts = 0;
    const init = async (backend: BackendName): Promise<BackendInit> =>
      backend === 'wasm' && ++wasmStarts === 1 ? { ok: true, backend, initMs: 1 } : { ok: false, backend, initMs: 1, reason: 'no' };
    const core = new TrainerCore({ loadDataset: async () => ({}), createTrainModel: () => new FakeModel() }, init);
    await core.init({ workload: 'digits', dataBaseUrl: 'x', batch: 4, seed: 1, backend: 'wasm' });
    await expect(core.switchBackend('webgpu')).rejects.toMatchObject({
      code: 'state-invalid', message: 'state-invalid: switch to webgpu: backend-failed: webgpu: no; rebuilding on wasm failed too: backend-failed: wasm: no',
    });
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
