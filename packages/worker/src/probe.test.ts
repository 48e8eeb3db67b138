import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { BackendName } from './api';
import { initBackend, isFallback, type BackendInit } from './backends';
import { calibrateSynthetic } from './calibrate';
import { TrainerError } from './errors';
import type { TrainModel } from './model-api';
import { probeBackends } from './probe';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Pretends `name` initialised while TF.js stays on cpu: exercises the probe's policy, not the backend. */
const fakeInit = (failing: Partial<Record<BackendName, string>> = {}) => async (name: BackendName): Promise<BackendInit> => {
  const reason = failing[name];
  if (reason) return { ok: false, backend: name, initMs: 1, reason };
  await tf.setBackend('cpu');
  return { ok: true, backend: name, initMs: 1 };
};

describe('initBackend in Node (no browser)', () => {
  it('initialises cpu, and explains why webgpu and webgl are unavailable', async () => {
    expect(await initBackend('cpu')).toMatchObject({ ok: true, backend: 'cpu' });
    expect(await initBackend('webgpu')).toMatchObject({ ok: false, reason: expect.stringMatching(/navigator\.gpu is missing/) });
    expect(await initBackend('webgl')).toMatchObject({ ok: false, reason: expect.stringMatching(/OffscreenCanvas|not registered/) });
    await tf.setBackend('cpu');
  });
});

describe('probeBackends', () => {
  it('probes for real on cpu: self-test passes, calibration times a step, unavailable backends are explained', async () => {
    const { report, inits } = await probeBackends({ candidates: ['webgpu', 'webgl', 'cpu'], calibrationSteps: 1 });
    expect(report.chosen).toBe('cpu');
    const cpu = report.results.find((r) => r.backend === 'cpu');
    expect(cpu).toMatchObject({ ok: true });
    expect(cpu?.selfTestError).toBeLessThan(1e-5);
    expect(cpu?.msPerStep).toBeGreaterThan(0);
    expect(report.why).toMatch(/^cpu: [\d.]+ ms\/step vs webgpu failed: init: navigator\.gpu is missing/);
    expect([...inits.keys()]).toEqual(['cpu']);
    expect(tf.memory().numTensors).toBe(0);
  });

  it('a forced backend is the only one probed, and failing it fails the probe clearly', async () => {
    const forced = await probeBackends({ force: 'wasm', calibrationSteps: 1 }, { init: fakeInit() });
    expect(forced.report.results.map((r) => r.backend)).toEqual(['wasm']);
    expect(forced.report.why).toMatch(/^wasm \(forced\): /);
    await expect(probeBackends({ force: 'webgpu' })).rejects.toThrow(/^no-backend: forced backend webgpu failed: init: navigator\.gpu is missing/);
    await expect(probeBackends({ force: 'gpu' })).rejects.toMatchObject({ code: 'bad-argument' });
  });

  it('excludes a backend whose numbers are wrong even when it is the fastest', async () => {
    let calls = 0;
    const selfTest = async () => (calls++ === 0 ? { ok: false, error: 0.5 } : { ok: true, error: 1e-7 });
    const { report } = await probeBackends({ candidates: ['webgpu', 'cpu'], calibrationSteps: 1 }, { init: fakeInit(), selfTest });
    expect(report.chosen).toBe('cpu');
    expect(report.results[0]).toMatchObject({ backend: 'webgpu', ok: false, selfTestError: 0.5, reason: 'self-test error 5.00e-1 exceeds 1e-3' });
  });

  it('rejects with no-backend listing every reason when nothing passes', async () => {
    const init = fakeInit({ webgpu: 'no adapter', wasm: 'init wasm timed out after 15000 ms' });
    const err = await probeBackends({ candidates: ['webgpu', 'wasm'] }, { init }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainerError);
    expect((err as TrainerError).message).toBe('no-backend: no backend passed: webgpu failed: init: no adapter; wasm failed: init: init wasm timed out after 15000 ms');
  });

  it('skips the remaining candidates once the budget is spent', async () => {
    let t = 0;
    const now = () => (t += 1000); // every clock read costs 1 s
    const { report } = await probeBackends({ candidates: ['cpu', 'wasm', 'webgl'], budgetMs: 5000, calibrationSteps: 1 }, { init: fakeInit(), now });
    expect(report.results.filter((r) => r.reason?.startsWith('skipped: probe budget of 5000 ms spent')).length).toBeGreaterThan(0);
    expect(report.chosen).toBe('cpu');
  });

  it('calibrates with the real model when one is given, and disposes it', async () => {
    let t = 0, disposed = 0;
    const model = { step: async () => ((t += 40), { loss: 2.3 }), dispose: () => void disposed++ } as unknown as TrainModel;
    const { report } = await probeBackends({ candidates: ['wasm'], calibrationSteps: 3 }, { init: fakeInit(), now: () => t, makeModel: async () => model });
    expect(report.results[0]?.msPerStep).toBe(40);
    expect(disposed).toBe(1);
  });

  const passes = async () => ({ ok: true, error: 0 });

  it('a model built after the calibration deadline is disposed and never stepped', async () => {
    let steps = 0, disposed = 0;
    const model = { step: async () => (steps++, { loss: 2.3 }), dispose: () => void disposed++ } as unknown as TrainModel;
    const makeModel = () => new Promise<TrainModel>((resolve) => setTimeout(() => resolve(model), 150));
    // A fixed clock keeps the budget at 100 ms, so the calibration deadline is 100 ms of real time
    // (99 after the fake init's 1 ms); an instant self-test keeps a loaded machine from spending it.
    const err = await probeBackends({ candidates: ['wasm'], budgetMs: 100 }, { init: fakeInit(), now: () => 0, selfTest: passes, makeModel }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/wasm failed: calibration: wasm calibration timed out after 99 ms/);
    await new Promise((resolve) => setTimeout(resolve, 300)); // the model arrives, late
    expect({ steps, disposed }).toEqual({ steps: 0, disposed: 1 });
  });

  it('a calibration past its deadline takes no step after the one in flight', async () => {
    let steps = 0, disposed = 0;
    const slowStep = async () => { steps++; await new Promise((resolve) => setTimeout(resolve, 150)); return { loss: 2.3 }; };
    const model = { step: slowStep, dispose: () => void disposed++ } as unknown as TrainModel;
    await probeBackends({ candidates: ['wasm'], budgetMs: 100 }, { init: fakeInit(), now: () => 0, selfTest: passes, makeModel: async () => model }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect({ steps, disposed }).toEqual({ steps: 1, disposed: 1 });
  });

  it('a calibration that produces NaN disqualifies the backend', async () => {
    const model = { step: async () => ({ loss: NaN }), dispose: () => undefined } as unknown as TrainModel;
    await expect(probeBackends({ candidates: ['wasm'] }, { init: fakeInit(), makeModel: async () => model })).rejects.toThrow(/wasm failed: calibration: calibration step gave loss NaN/);
  });
});

describe("probeBackends, mode 'first'", () => {
  it('takes the first candidate that passes the self-test and tries no more, untimed', async () => {
    const tried: string[] = [];
    const init = async (name: BackendName, ms: number, o: { allowFallback: boolean }): Promise<BackendInit> => { tried.push(`${name} ${o.allowFallback}`); return fakeInit({ webgpu: 'requestAdapter() returned null' })(name); };
    const { report } = await probeBackends({ mode: 'first' }, { init });
    expect(tried).toEqual(['webgpu false', 'wasm false']);
    expect(report.chosen).toBe('wasm');
    expect(report.results.map((r) => [r.backend, r.ok, r.msPerStep])).toEqual([['webgpu', false, Infinity], ['wasm', true, Infinity]]);
    expect(report.why).toBe('wasm: first to pass the self-test (webgpu failed: init: requestAdapter() returned null)');
  });

  it('skips a backend whose numbers are wrong, and fails with every reason when none passes', async () => {
    let calls = 0;
    const selfTest = async () => (calls++ === 0 ? { ok: false, error: 0.5 } : { ok: true, error: 1e-7 });
    expect((await probeBackends({ mode: 'first', candidates: ['webgl', 'cpu'] }, { init: fakeInit(), selfTest })).report.chosen).toBe('cpu');
    await expect(probeBackends({ mode: 'first', candidates: ['webgpu'] }, { init: fakeInit({ webgpu: 'x' }) })).rejects.toThrow(/^no-backend: no backend passed: webgpu failed: init: x$/);
  });

  it('only a forced webgpu may use a fallback adapter', async () => {
    const seen: boolean[] = [];
    const init = async (name: BackendName, ms: number, o: { allowFallback: boolean }): Promise<BackendInit> => { seen.push(o.allowFallback); return fakeInit()(name); };
    await probeBackends({ mode: 'first', force: 'webgpu' }, { init });
    await probeBackends({ candidates: ['webgpu'], calibrationSteps: 1 }, { init });
    expect(seen).toEqual([true, false]);
  });
});

describe('initBackend and fallback adapters', () => {
  it('refuses a SwiftShader adapter before loading the WebGPU backend unless allowed', async () => {
    const swiftshader = { info: { vendor: 'google', architecture: 'swiftshader', isFallbackAdapter: true } };
    vi.stubGlobal('navigator', { gpu: { requestAdapter: async () => swiftshader } });
    try {
      const r = await initBackend('webgpu', 5000);
      expect(r).toMatchObject({ ok: false, reason: expect.stringMatching(/only a fallback adapter \(swiftshader\), slower than WASM; \?backend=webgpu forces it/), adapter: { isFallbackAdapter: true } });
    } finally {
      vi.unstubAllGlobals();
      await tf.setBackend('cpu');
    }
    expect(isFallback({ vendor: 'Google', architecture: '', device: '', description: 'SwiftShader Device', isFallbackAdapter: undefined })).toBe(true);
    expect(isFallback({ vendor: 'nvidia', architecture: 'ampere', device: '', description: '', isFallbackAdapter: false })).toBe(false);
  });
});

describe('calibrateSynthetic', () => {
  it('times a real MLP step on cpu and leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    const ms = await calibrateSynthetic(tf, { batch: 8, inputs: 16, hidden: 8, outputs: 4 }, { warmup: 1, steps: 2 });
    expect(ms).toBeGreaterThanOrEqual(0);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stops before its next step once told to, and still leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    let checks = 0;
    await expect(calibrateSynthetic(tf, { batch: 8, inputs: 16, hidden: 8, outputs: 4 }, { warmup: 1, steps: 2, stop: () => ++checks > 2 })).rejects.toThrow(/^calibration stopped$/);
    expect(checks).toBe(3);
    expect(tf.memory().numTensors).toBe(before);
  });
});
