/**
 * Types shared by both sides of the worker boundary. Type-only: importing this pulls in no code.
 * Everything here is structured-cloneable, because comlink copies it between threads.
 */
import type { Fragment, TensorSpec } from '@tabswarm/core';
import type { ModelConfig, SampleOptions, Workload } from './model-api';

export type { ModelConfig, SampleOptions, Workload } from './model-api';

export type BackendName = 'webgpu' | 'wasm' | 'webgl' | 'cpu';

/** What the browser says about the WebGPU adapter; empty strings where it says nothing. */
export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for software adapters such as SwiftShader; undefined when the browser does not say. */
  isFallbackAdapter: boolean | undefined;
}

/** One candidate's probe outcome. Times in milliseconds. */
export interface ProbeResult {
  backend: BackendName;
  ok: boolean;
  /** Why it was rejected (init failure, self-test error, calibration timeout, skipped for budget). */
  reason?: string;
  /** Largest absolute difference from the plain-JS reference; Infinity when not run or non-finite. */
  selfTestError: number;
  /** Mean wall time of one calibration step; Infinity when not measured. */
  msPerStep: number;
  /** Time for tf.setBackend to resolve, including WASM download/compile. */
  initMs: number;
  adapter?: AdapterInfo;
  /** Backend specifics worth reporting, e.g. "simd, 1 thread" for wasm. */
  detail?: string;
}

export interface ProbeOptions {
  /** One backend to use (e.g. from a `?backend=` URL parameter). Only it is probed; probing fails if it fails. */
  force?: string | undefined;
  /**
   * 'fastest' (default): time every candidate and pick the fastest. 'first': the first candidate that
   * passes init and the self-test, untimed (a tab starts at once and calibrates later, in another worker).
   */
  mode?: 'fastest' | 'first';
  /** Candidates in order of preference (ties, and mode 'first'); default webgpu, wasm, webgl, cpu. */
  candidates?: BackendName[];
  /** Shapes the synthetic calibration workload; default 'digits'. */
  workload?: Workload;
  /** When given, calibrate with a few real training steps of this model instead of the synthetic workload. */
  model?: { dataBaseUrl: string; config?: ModelConfig; batch: number };
  /** Timed calibration steps after warm-up (default 3). */
  calibrationSteps?: number;
  /** Per-backend init deadline, ms (default 15 000). */
  initTimeoutMs?: number;
  /** Whole-probe budget, ms (default 45 000, under the client's 60 s probe deadline); later candidates are skipped. */
  budgetMs?: number;
}

export interface ProbeReport {
  chosen: BackendName;
  /** Short human explanation, e.g. "wasm: 48 ms/step vs webgpu 2100 ms/step (swiftshader fallback adapter)". */
  why: string;
  results: ProbeResult[];
}

export interface InitOptions {
  workload: Workload;
  /** Absolute URL of the directory holding the dataset files (fetched by @tabswarm/model, same origin). */
  dataBaseUrl: string;
  config?: ModelConfig;
  batch: number;
  seed: number;
  /** Backend to train on; default: the last probe's choice. */
  backend?: string;
  /**
   * Each training step takes this many times its measured compute time (finite, ≥ 1; default 1): the
   * stand-in for a slower device in a swarm run on one machine (`npm run swarm -- --throttle`).
   */
  slowdown?: number;
}

export interface InitInfo {
  specs: TensorSpec[];
  tokensPerStep: number;
  backend: BackendName;
  /** Length of the flat parameter vector (elements, not bytes). */
  numParams: number;
  adapter?: AdapterInfo;
}

export interface TrainResult {
  steps: number;
  meanLoss: number;
  /** Wall time per step inside the worker, ms (excludes message passing). */
  msPerStep: number;
  /** AdamW's step count after the call: every step since init, across backend switches (switchBackend
   * carries it with the moments); it starts over only where the optimizer is reset. */
  optimizerSteps: number;
}

export interface MemoryInfo {
  backend: string | undefined;
  numTensors: number;
  numBytes: number;
  numDataBuffers: number;
  /** TF.js cannot count some bytes exactly on this backend. */
  unreliable: boolean;
}

/**
 * What the worker exposes through comlink. ArrayBuffers returned by the worker are transferred, not
 * copied, so the caller owns them; Float32Array views over them are `new Float32Array(buf)`.
 */
export interface TrainerApi {
  ping(): Promise<{ ready: true }>;
  probe(opts?: ProbeOptions): Promise<ProbeReport>;
  init(opts: InitOptions): Promise<InitInfo>;
  /** Moves the trained model (parameters and AdamW moments) to another backend; see TrainerCore.switchBackend. */
  switchBackend(name: string): Promise<InitInfo>;
  setParams(buf: ArrayBuffer): Promise<void>;
  getParams(): Promise<ArrayBuffer>;
  train(n: number, lr: number): Promise<TrainResult>;
  readFragment(f: Fragment): Promise<ArrayBuffer>;
  /** θ_f ← buf, or with `rebase` θ_f ← buf + (θ_f − rebase): eager re-application (core's `rebased`). */
  writeFragment(f: Fragment, buf: ArrayBuffer, rebase?: ArrayBuffer): Promise<void>;
  evaluate(): Promise<number>;
  /** Text models: the prompt continued by sampling (the classroom view's "what the model writes"). */
  sample(o: SampleOptions): Promise<string>;
  /** Digits models: class probabilities of one 28×28 image, ink in [0, 1] (as an ArrayBuffer of 784 float32). */
  predict(pixels: ArrayBuffer): Promise<number[]>;
  resetOptimizer(): Promise<void>;
  memory(): Promise<MemoryInfo>;
  dispose(): Promise<void>;
  /** Test hook (docs/fault-tolerance.md §5): destroys the WebGPU device; false when not on WebGPU. */
  debugLoseDevice(): Promise<boolean>;
  /** Test hook for the chaos drills: 'crash' throws uncaught in the worker (its error event fires);
   * 'hang' blocks the worker thread for `ms` (calls in flight meet their deadlines). */
  debugFault(kind: 'crash' | 'hang', ms: number): Promise<void>;
}
