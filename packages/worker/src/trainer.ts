/**
 * The trainer's logic inside the worker, independent of comlink so Node tests can drive it with a fake model.
 *
 * Guarantees:
 * - Calls run one at a time in arrival order. Comlink would otherwise interleave them at every await, e.g.
 *   a writeFragment landing between the steps of train(10).
 * - Only TrainerErrors leave (the client branches on `code`).
 * - No half-applied state goes unnoticed: arguments are validated before anything is touched, and if a
 *   mutation fails part-way (a step throws, a loss is NaN, a write throws) the parameters are marked
 *   suspect. Until setParams (or init) replaces them, every call that would read or extend them rejects
 *   with 'state-invalid', so a poisoned update can never be pushed. Recovery also resets the optimizer,
 *   whose moments may hold the same garbage.
 * - On WebGPU, a device loss rejects the calls in flight and all later ones with 'device-lost'.
 */
import { makeLayout, rebased, type Fragment, type ParamLayout } from '@tabswarm/core';
import * as tf from '@tensorflow/tfjs';
import type { AdapterInfo, BackendName, InitInfo, InitOptions, MemoryInfo, ProbeOptions, ProbeReport, TrainResult } from './api';
import { initBackend, type BackendInit } from './backends';
import { parseBackend } from './choose';
import { DeviceLossWatch } from './device-loss';
import { badArgument, checkFragment, checkPixels, checkSampleOptions, describeBytes, ownBuffer } from './buffers';
import { describeError, TrainerError, type TrainerErrorCode } from './errors';
import type { ModelConfig, ModelModule, SampleOptions, TrainModel, Workload } from './model-api';
import { probeBackends } from './probe';

/** Upper bound on steps per train() call: keeps one call well inside the client's deadline. */
const MAX_STEPS_PER_CALL = 10_000;

export class TrainerCore {
  private model: TrainModel | undefined;
  private numParams = 0;
  /** The model's parameter layout, against which every fragment is checked; undefined before init. */
  private layout: ParamLayout | undefined;
  private backend: BackendName | undefined;
  private adapter: AdapterInfo | undefined;
  private suspect: string | undefined;
  private lastChoice: BackendName | undefined;
  private slowdown = 1;
  /** What init was last called with: switchBackend rebuilds the same model. */
  private initOpts: InitOptions | undefined;
  private switches = 0;
  private readonly probed = new Map<BackendName, BackendInit>();
  private readonly datasets = new Map<string, Promise<unknown>>();
  private readonly loss = new DeviceLossWatch();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly models: ModelModule,
    private readonly initFn: typeof initBackend = initBackend,
    private readonly now: () => number = () => performance.now(),
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  /** Runs `fn` after every earlier call has settled; converts whatever it throws into a TrainerError. */
  private run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      try {
        return await fn();
      } catch (e) {
        if (this.loss.info) throw this.loss.error();
        if (e instanceof TrainerError) throw e;
        throw new TrainerError('internal', `${what}: ${describeError(e)}`);
      }
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** The model, if it may be used: initialised, device alive, parameters trustworthy. */
  private ready(allowSuspect = false): TrainModel {
    this.loss.throwIfLost();
    if (!this.model) throw new TrainerError('not-initialised', 'call init() first');
    if (this.suspect && !allowSuspect) throw new TrainerError('state-invalid', `parameters are suspect after "${this.suspect}"; call setParams to restore them`);
    return this.model;
  }

  /** The layout of the model ready() returned: set together with it by init. */
  private modelLayout(): ParamLayout {
    if (!this.layout) throw new TrainerError('not-initialised', 'call init() first');
    return this.layout;
  }

  /** Marks the parameters suspect after a failed mutation and returns the error to throw. */
  private poison(code: TrainerErrorCode, detail: string, cause?: unknown): TrainerError {
    if (this.loss.info) return this.loss.error();
    this.suspect = `${code}: ${detail}`;
    return new TrainerError(code, `${detail}${cause === undefined ? '' : `: ${describeError(cause)}`}; parameters are now suspect, call setParams to restore them`);
  }

  noteUnhandled(reason: unknown): void {
    this.loss.noteUnhandled(reason);
  }

  probe(opts: ProbeOptions = {}): Promise<ProbeReport> {
    return this.run('probe', async () => {
      this.loss.throwIfLost();
      const m = opts.model;
      const w = opts.workload ?? 'digits', config = m?.config ?? 'default';
      const makeModel = m ? async () => this.models.createTrainModel(w, await this.dataset(w, m.dataBaseUrl, config), { config, batch: m.batch, seed: 1 }) : undefined;
      const { report, inits } = await probeBackends(opts, { init: this.initFn, now: this.now, ...(makeModel ? { makeModel } : {}) });
      for (const [k, v] of inits) this.probed.set(k, v);
      this.lastChoice = report.chosen;
      // The probe switched backends under the model; put it back on its own.
      if (this.model && this.backend) await this.initFn(this.backend, undefined, { allowFallback: true });
      return report;
    });
  }

  init(opts: InitOptions): Promise<InitInfo> {
    return this.run('init', async () => {
      this.loss.throwIfLost();
      if (opts.workload !== 'text' && opts.workload !== 'digits') throw badArgument(`unknown workload ${JSON.stringify(opts.workload)}`);
      if (!Number.isInteger(opts.batch) || opts.batch < 1) throw badArgument(`batch ${opts.batch} is not a positive integer`);
      if (!Number.isInteger(opts.seed)) throw badArgument(`seed ${opts.seed} is not an integer`);
      const slowdown = opts.slowdown ?? 1;
      if (!(Number.isFinite(slowdown) && slowdown >= 1)) throw badArgument(`slowdown ${slowdown} is not a finite number >= 1`);
      const backend = parseBackend(opts.backend) ?? this.lastChoice;
      if (!backend) throw badArgument('no backend given and none probed yet');
      const info = await this.build(opts, backend);
      this.slowdown = slowdown;
      this.suspect = undefined;
      this.initOpts = opts;
      return info;
    });
  }

  /**
   * Moves the model to `name` through the worker's own state: parameters and AdamW moments are read back,
   * the model is rebuilt on the new backend and both written in, so nothing trained is lost (fp32 values
   * move exactly). The data stream continues from a new seed rather than repeat its batches. If the new
   * backend fails, the model is rebuilt where it was and the call rejects with 'backend-failed'; if that
   * rebuild fails too, with 'state-invalid'.
   */
  switchBackend(name: string): Promise<InitInfo> {
    return this.run('switchBackend', async () => {
      const m = this.ready(), opts = this.initOpts, from = this.backend;
      const to = parseBackend(name);
      if (!to) throw badArgument(`switchBackend wants a backend name, got ${JSON.stringify(name)}`);
      if (!opts || !from) throw new TrainerError('not-initialised', 'call init() first');
      const params = await this.loss.race(m.getParams());
      const moments = await this.loss.race(m.optimizerState());
      const restore = (): void => {
        this.model!.setParams(params);
        this.model!.setOptimizerState(moments);
      };
      this.switches++;
      const seeded = { ...opts, seed: (opts.seed + this.switches) >>> 0 };
      try {
        const info = await this.build(seeded, to);
        restore();
        return info;
      } catch (e) {
        try {
          await this.build(seeded, from);
        } catch (back) {
          // No model on either backend: 'state-invalid' has the tab rebuild its worker from the global weights
          // (apps/learner recovery.ts); 'backend-failed' would tell it that it is still training on `from`.
          throw new TrainerError('state-invalid', `switch to ${to}: ${describeError(e)}; rebuilding on ${from} failed too: ${describeError(back)}`);
        }
        restore();
        throw new TrainerError('backend-failed', `switch to ${to}: ${describeError(e)}; still on ${from}`);
      }
    });
  }

  /** Builds the model on `backend` (replacing any model), as init and switchBackend do. */
  private async build(opts: InitOptions, backend: BackendName): Promise<InitInfo> {
    this.disposeModel();
    // Whatever reaches here was chosen by the probe or named by the caller: a fallback adapter is allowed.
    const r = await this.initFn(backend, undefined, { allowFallback: true });
    if (!r.ok) throw new TrainerError('backend-failed', `${backend}: ${r.reason}`);
    this.loss.watch(r.device);
    this.backend = backend;
    this.adapter = r.adapter ?? this.probed.get(backend)?.adapter;
    let model: TrainModel;
    let layout: ParamLayout;
    try {
      const config = opts.config ?? 'default';
      const data = await this.dataset(opts.workload, opts.dataBaseUrl, config);
      model = this.models.createTrainModel(opts.workload, data, { config, batch: opts.batch, seed: opts.seed });
      layout = makeLayout(model.specs);
    } catch (e) {
      throw new TrainerError('model-failed', `building the ${opts.workload} model: ${describeError(e)}`);
    }
    this.model = model;
    this.layout = layout;
    this.numParams = layout.totalSize;
    return { specs: model.specs, tokensPerStep: model.tokensPerStep, backend, numParams: this.numParams, ...(this.adapter ? { adapter: this.adapter } : {}) };
  }

  /** One fetch per (workload, URL, config) per worker: re-init and probing reuse it. A failed load is not cached. */
  private dataset(workload: Workload, baseUrl: string, config: ModelConfig): Promise<unknown> {
    const key = `${workload} ${baseUrl} ${JSON.stringify(config)}`;
    let p = this.datasets.get(key);
    if (!p) {
      p = this.models.loadDataset(workload, baseUrl, config);
      this.datasets.set(key, p);
      p.catch(() => this.datasets.delete(key));
    }
    return p;
  }

  setParams(buf: ArrayBuffer): Promise<void> {
    return this.run('setParams', async () => {
      const m = this.ready(true);
      if (!(buf instanceof ArrayBuffer) || buf.byteLength !== 4 * this.numParams) throw badArgument(`setParams wants ${this.numParams} float32 values (${4 * this.numParams} bytes), got ${describeBytes(buf)}`);
      try {
        m.setParams(new Float32Array(buf));
        if (this.suspect) m.resetOptimizer();
      } catch (e) {
        throw this.poison('write-failed', 'setParams threw', e);
      }
      this.suspect = undefined;
    });
  }

  getParams(): Promise<ArrayBuffer> {
    return this.run('getParams', async () => {
      const v = await this.loss.race(this.ready().getParams());
      if (v.length !== this.numParams) throw new TrainerError('model-failed', `getParams returned ${v.length} values, want ${this.numParams}`);
      return ownBuffer(v);
    });
  }

  train(n: number, lr: number): Promise<TrainResult> {
    return this.run('train', async () => {
      const m = this.ready();
      if (!Number.isInteger(n) || n < 1 || n > MAX_STEPS_PER_CALL) throw badArgument(`train: n=${n} is not an integer in [1, ${MAX_STEPS_PER_CALL}]`);
      if (!Number.isFinite(lr) || lr < 0) throw badArgument(`train: lr=${lr} is not a finite number >= 0`);
      const t0 = this.now();
      let sum = 0, optimizerSteps = 0;
      for (let i = 1; i <= n; i++) {
        let loss: number, gradNorm: number;
        const s0 = this.slowdown > 1 ? this.now() : 0;
        try {
          ({ loss, gradNorm, optimizerSteps } = await this.loss.race(m.step(lr)));
        } catch (e) {
          throw this.poison('step-failed', `step ${i}/${n} threw`, e);
        }
        if (!Number.isFinite(loss)) throw this.poison('non-finite-loss', `step ${i}/${n} gave loss ${loss}`);
        // A NaN/Inf gradient makes every parameter NaN while this step's loss (taken before the update) is finite;
        // a fragment read before the next step would carry them into a push, whose encoder refuses them.
        if (!Number.isFinite(gradNorm)) throw this.poison('non-finite-loss', `step ${i}/${n} gave gradient norm ${gradNorm}`);
        sum += loss;
        // A device `slowdown`× slower: idle (slowdown − 1) × this step's own compute time (ms), so the
        // step's wall time (and msPerStep, and the stepMs the coordinator sees) scales with it.
        if (this.slowdown > 1) await this.sleep((this.slowdown - 1) * (this.now() - s0));
      }
      return { steps: n, meanLoss: sum / n, msPerStep: (this.now() - t0) / n, optimizerSteps };
    });
  }

  readFragment(f: Fragment): Promise<ArrayBuffer> {
    return this.run('readFragment', async () => {
      const m = this.ready();
      checkFragment(f, this.modelLayout());
      const v = await this.loss.race(m.readFragment(f));
      if (v.length !== f.size) throw new TrainerError('model-failed', `readFragment returned ${v.length} values, want ${f.size}`);
      return ownBuffer(v);
    });
  }

  writeFragment(f: Fragment, buf: ArrayBuffer, rebase?: ArrayBuffer): Promise<void> {
    return this.run('writeFragment', async () => {
      const m = this.ready();
      checkFragment(f, this.modelLayout());
      if (!(buf instanceof ArrayBuffer) || buf.byteLength !== 4 * f.size) throw badArgument(`writeFragment ${f.index} wants ${f.size} float32 values, got ${describeBytes(buf)}`);
      if (rebase !== undefined && (!(rebase instanceof ArrayBuffer) || rebase.byteLength !== 4 * f.size)) throw badArgument(`writeFragment ${f.index} rebase wants ${f.size} float32 values, got ${describeBytes(rebase)}`);
      const current = rebase === undefined ? undefined : await this.loss.race(m.readFragment(f));
      try {
        m.writeFragment(f, current === undefined ? new Float32Array(buf) : rebased(new Float32Array(buf), current, new Float32Array(rebase!)));
      } catch (e) {
        throw this.poison('write-failed', `writeFragment ${f.index} threw`, e);
      }
    });
  }

  evaluate(): Promise<number> {
    return this.run('evaluate', () => this.modelCall('evaluate', (m) => m.evaluate()));
  }

  sample(o: SampleOptions): Promise<string> {
    return this.run('sample', () => {
      checkSampleOptions(o);
      return this.modelCall('sample', (m) => m.sample(o));
    });
  }

  predict(pixels: ArrayBuffer): Promise<number[]> {
    return this.run('predict', () => {
      checkPixels(pixels);
      return this.modelCall('predict', (m) => m.predict(new Float32Array(pixels)));
    });
  }

  /** A read of the ready model (the demo's calls): what the model throws is 'model-failed', params stay trusted. */
  private async modelCall<T>(what: string, fn: (m: TrainModel) => Promise<T>): Promise<T> {
    try {
      return await this.loss.race(fn(this.ready()));
    } catch (e) {
      throw e instanceof TrainerError ? e : new TrainerError('model-failed', `${what}: ${describeError(e)}`);
    }
  }

  resetOptimizer(): Promise<void> {
    return this.run('resetOptimizer', async () => this.ready(true).resetOptimizer());
  }

  /** Not queued: read-only, and useful precisely while a long call is running. */
  async memory(): Promise<MemoryInfo> {
    const m = tf.memory() as { numTensors: number; numBytes: number; numDataBuffers: number; unreliable?: boolean };
    return { backend: this.backend ?? safeBackendName(), numTensors: m.numTensors, numBytes: m.numBytes, numDataBuffers: m.numDataBuffers, unreliable: m.unreliable ?? false };
  }

  dispose(): Promise<void> {
    return this.run('dispose', async () => this.disposeModel());
  }

  debugLoseDevice(): Promise<boolean> {
    return Promise.resolve(this.loss.destroyForTest());
  }

  private disposeModel(): void {
    const m = this.model;
    this.model = undefined;
    this.layout = undefined;
    this.numParams = 0;
    try {
      m?.dispose();
    } catch {
      // disposing a model on a broken backend may throw; the model is unreachable either way
    }
  }
}

function safeBackendName(): string | undefined {
  try {
    return tf.getBackend();
  } catch {
    return undefined;
  }
}
