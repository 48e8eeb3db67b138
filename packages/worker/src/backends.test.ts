import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import { initBackend } from './backends';

/** The engine's active instance (private in the typings): what every op actually runs on. */
const activeInstance = (): unknown => (tf.engine() as unknown as { backendInstance: unknown }).backendInstance;
const priorityOf = (name: string): number | undefined => tf.engine().registryFactory[name]?.priority;
/** Lets timers, dynamic imports and every promise chain behind them run. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

/** Replaces `name`'s factory, keeping its priority as the real module registered it. */
function replaceFactory(name: string, factory: () => tf.KernelBackend | Promise<tf.KernelBackend>): void {
  const priority = priorityOf(name);
  tf.removeBackend(name);
  tf.registerBackend(name, factory, priority);
}

describe('initBackend abandons an init that outlives its deadline', () => {
  // Node has no navigator; the webgpu case installs one with a stub GPU.
  const g = globalThis as { navigator?: unknown };
  afterEach(() => {
    delete g.navigator;
  });

  it('a hung factory: cpu initialises at once afterwards, and stays active when the factory resolves late', async () => {
    await import('@tensorflow/tfjs-backend-wasm');
    const wasmPriority = priorityOf('wasm');
    let resolveLate!: (b: tf.KernelBackend) => void;
    const hanging = (): Promise<tf.KernelBackend> => new Promise((resolve) => (resolveLate = resolve));
    replaceFactory('wasm', hanging);

    expect(await initBackend('cpu')).toMatchObject({ ok: true, backend: 'cpu' });
    expect(await initBackend('wasm', 100)).toMatchObject({ ok: false, reason: 'init wasm timed out after 100 ms' });
    // The rollback target is already registered: TF.js starts no new async init that would outdate the hung one.
    expect(await initBackend('cpu', 500)).toMatchObject({ ok: true, backend: 'cpu' });
    const cpu = tf.findBackend('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(tf.add(tf.tensor([1, 2]), 1).dataSync()).toEqual(new Float32Array([2, 3]));

    resolveLate(new (cpu.constructor as new () => tf.KernelBackend)());
    await settle();
    expect(tf.getBackend()).toBe('cpu');
    expect(activeInstance()).toBe(cpu);
    // Still registered as before, so a later init can try it again.
    expect(tf.findBackendFactory('wasm')).toBe(hanging);
    expect(priorityOf('wasm')).toBe(wasmPriority);
  });

  it('a prepare that finishes after the deadline never calls tf.setBackend', async () => {
    let giveAdapter!: (a: { info: { vendor: string; isFallbackAdapter: boolean } }) => void;
    const adapter = new Promise<{ info: { vendor: string; isFallbackAdapter: boolean } }>((resolve) => (giveAdapter = resolve));
    g.navigator = { gpu: { requestAdapter: () => adapter } };
    await import('@tensorflow/tfjs-backend-webgpu');
    let factoryCalls = 0;
    replaceFactory('webgpu', () => {
      factoryCalls++;
      return new Promise<tf.KernelBackend>(() => undefined);
    });

    expect(await initBackend('cpu')).toMatchObject({ ok: true, backend: 'cpu' });
    expect(await initBackend('webgpu', 100)).toMatchObject({ ok: false, reason: 'init webgpu timed out after 100 ms' });
    giveAdapter({ info: { vendor: 'nvidia', isFallbackAdapter: false } });
    await settle();
    expect(factoryCalls).toBe(0);
    expect(tf.getBackend()).toBe('cpu');
    expect(tf.add(tf.tensor([1]), 1).dataSync()).toEqual(new Float32Array([2]));
  });
});
