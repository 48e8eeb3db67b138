/**
 * Registering and initialising TF.js backends, each under a deadline.
 *
 * Why the care:
 * - `navigator.gpu` exists even when no adapter does (Chromium without --enable-unsafe-webgpu), and TF.js
 *   registers 'webgpu' regardless; so we ask for an adapter ourselves first and report what it is
 *   (SwiftShader is a fallback adapter, ~60× slower than WASM at matmul on the CI box). A fallback adapter
 *   is refused before TF.js's WebGPU backend is even loaded unless the caller allows it (a forced backend).
 * - Threaded WASM builds its pthread workers from Function.toString() of minified code and then
 *   `setBackend('wasm')` never resolves; we force the single-threaded SIMD build, and still wrap every
 *   init in a deadline because a hang is the failure mode we cannot otherwise see.
 * - WebGL in a Worker needs OffscreenCanvas.
 * WebGPU and WASM are imported lazily, so a page that never needs them never downloads them.
 */
import * as tf from '@tensorflow/tfjs';
import type { AdapterInfo, BackendName } from './api';
import { withDeadline } from './deadline';
import { describeError } from './errors';

/** Default per-backend init deadline, ms. WASM download + compile is 33–310 ms locally; 15 s covers slow links. */
export const DEFAULT_INIT_TIMEOUT_MS = 15_000;

/** The slice of GPUDevice we use: loss notification and the test hook. */
export interface GpuDeviceLike {
  lost: Promise<{ reason?: string; message?: string }>;
  destroy(): void;
}

interface GpuAdapterLike {
  info?: Partial<AdapterInfo>;
  isFallbackAdapter?: boolean;
}
interface GpuLike {
  requestAdapter(opts?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<GpuAdapterLike | null>;
}

export type BackendInit =
  | { ok: true; backend: BackendName; initMs: number; adapter?: AdapterInfo; device?: GpuDeviceLike; detail?: string }
  | { ok: false; backend: BackendName; initMs: number; reason: string; adapter?: AdapterInfo };

let wasmPathsSet = false;

function readAdapterInfo(a: GpuAdapterLike): AdapterInfo {
  const i = a.info ?? {};
  return {
    vendor: i.vendor ?? '',
    architecture: i.architecture ?? '',
    device: i.device ?? '',
    description: i.description ?? '',
    // Newer Chromium reports it on adapter.info; older on the adapter itself.
    isFallbackAdapter: i.isFallbackAdapter ?? a.isFallbackAdapter,
  };
}

/** True for a software adapter: flagged by the browser, or SwiftShader by name where the browser says nothing. */
export function isFallback(a: AdapterInfo): boolean {
  return a.isFallbackAdapter ?? /swiftshader/i.test(`${a.vendor} ${a.architecture} ${a.description}`);
}

export interface BackendInitOptions {
  /** Accept a fallback (software) WebGPU adapter; default false. */
  allowFallback?: boolean;
  now?: () => number;
}

/** Everything that must happen before tf.setBackend; throws a readable reason. Returns adapter info for webgpu. */
async function prepare(name: BackendName, allowFallback: boolean, seen: (a: AdapterInfo) => void): Promise<AdapterInfo | undefined> {
  switch (name) {
    case 'cpu':
      return undefined; // always registered by @tensorflow/tfjs
    case 'webgl': {
      const inWorker = typeof document === 'undefined';
      if (inWorker && typeof OffscreenCanvas === 'undefined') throw new Error('no OffscreenCanvas in this worker, so no WebGL');
      if (!tf.findBackendFactory('webgl')) throw new Error('webgl backend is not registered here (not a browser context)');
      return undefined;
    }
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      // Flag exists only once the module is loaded. Threads: see the header; they gain nothing on 2 cores.
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      if (!wasmPathsSet) {
        const { WASM_FILES } = await import('./wasm-paths');
        wasm.setWasmPaths(WASM_FILES);
        wasmPathsSet = true;
      }
      return undefined;
    }
    case 'webgpu': {
      const gpu = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
      if (!gpu) throw new Error('navigator.gpu is missing (no WebGPU here; it also needs a secure context)');
      // Same power preference TF.js uses, so we inspect the adapter it will get.
      const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
      if (!adapter) throw new Error('requestAdapter() returned null: no WebGPU adapter (headless Chromium on Linux needs --enable-unsafe-webgpu)');
      const info = readAdapterInfo(adapter);
      seen(info);
      if (!allowFallback && isFallback(info)) {
        throw new Error(`only a fallback adapter (${info.architecture || info.vendor || 'software'}), slower than WASM; ?backend=webgpu forces it`);
      }
      await import('@tensorflow/tfjs-backend-webgpu');
      if (!tf.findBackendFactory('webgpu')) throw new Error('webgpu backend did not register');
      return info;
    }
  }
}

async function detailOf(name: BackendName): Promise<string | undefined> {
  if (name !== 'wasm') return undefined;
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return `${simd ? 'simd' : 'no simd'}, 1 thread`;
}

/**
 * Makes a hung `tf.setBackend(name)` harmless. TF.js (4.22 engine.js) outdates a pending async init only
 * when another async init starts or the backend is removed; a later setBackend to a backend already
 * initialised or with a sync factory (the rollback target, cpu, webgl) leaves it pending, so `tf.ready()`
 * waits on it, every op throws "Backend ... has not yet been initialized", and if it resolves late its
 * setBackend installs its instance behind the newer name. removeBackend outdates and clears it; the same
 * factory is registered again, with its priority, so a later init may retry.
 */
function abandonPendingInit(name: BackendName): void {
  const engine = tf.engine() as unknown as { backendName: string | null; pendingBackendInit: Promise<boolean> | null | undefined };
  if (engine.backendName !== name || engine.pendingBackendInit == null) return;
  const factory = tf.findBackendFactory(name);
  const priority = tf.engine().registryFactory[name]?.priority;
  tf.removeBackend(name);
  tf.registerBackend(name, factory, priority);
}

/**
 * Makes `name` the active TF.js backend, or explains why not. Never throws and never takes longer than
 * `timeoutMs` (+ one macrotask). Once it has failed, the attempt is abandoned: a prepare() still running
 * (requestAdapter, a dynamic import) never reaches tf.setBackend, and a hung factory is cut loose
 * (abandonPendingInit), so the next initBackend works at once.
 */
export async function initBackend(name: BackendName, timeoutMs = DEFAULT_INIT_TIMEOUT_MS, opts: BackendInitOptions = {}): Promise<BackendInit> {
  const { allowFallback = false, now = () => performance.now() } = opts;
  const t0 = now();
  let adapter: AdapterInfo | undefined;
  let abandoned = false;
  const run = async (): Promise<BackendInit> => {
    adapter = await prepare(name, allowFallback, (a) => { adapter = a; });
    // Past the deadline something else may own the engine (a model training on the rollback backend).
    if (abandoned) throw new Error(`init ${name} abandoned`);
    const ok = await tf.setBackend(name);
    if (!ok) return { ok: false, backend: name, initMs: now() - t0, reason: `tf.setBackend('${name}') returned false (its factory failed; see console)`, ...(adapter ? { adapter } : {}) };
    await tf.ready();
    const device = name === 'webgpu' ? (tf.backend() as unknown as { device?: GpuDeviceLike }).device : undefined;
    const detail = await detailOf(name);
    return { ok: true, backend: name, initMs: now() - t0, ...(adapter ? { adapter } : {}), ...(device ? { device } : {}), ...(detail ? { detail } : {}) };
  };
  try {
    return await withDeadline(run(), timeoutMs, `init ${name}`);
  } catch (e) {
    abandoned = true;
    abandonPendingInit(name);
    return { ok: false, backend: name, initMs: now() - t0, reason: describeError(e), ...(adapter ? { adapter } : {}) };
  }
}
