/**
 * Main-thread handle on the training worker (docs/fault-tolerance.md §5: a worker can throw, hang or die).
 *
 * - Every call is raced against a deadline and rejects with WorkerTimeoutError when it passes. A call that
 *   timed out may still be running, or may have half-run, in the worker, so by default the worker is then
 *   terminated: the caller restarts from known state rather than guess.
 * - terminate() rejects every pending call with WorkerTerminatedError; a worker `error`/`messageerror`
 *   event rejects them with WorkerCrashedError. Either way the trainer is dead: later calls reject at once.
 * - ArrayBuffers passed in are transferred (the caller's buffer is detached); Float32Arrays are copied
 *   first, so the caller keeps them.
 * - Worker-side failures arrive as TrainerError with a `code` (errors.ts).
 */
import type { Fragment } from '@tabswarm/core';
import * as Comlink from 'comlink';
import type { InitInfo, InitOptions, MemoryInfo, ProbeOptions, ProbeReport, SampleOptions, TrainerApi, TrainResult } from './api';
import { badDeadline, PendingSet, withDeadline, type Timers } from './deadline';
import { reviveError, WorkerCrashedError, WorkerTerminatedError, WorkerTimeoutError } from './errors';

export interface Trainer {
  probe(opts?: ProbeOptions): Promise<ProbeReport>;
  init(opts: InitOptions): Promise<InitInfo>;
  /** Moves the trained model (parameters and AdamW moments) to another backend. */
  switchBackend(name: string): Promise<InitInfo>;
  setParams(values: Float32Array | ArrayBuffer): Promise<void>;
  getParams(): Promise<ArrayBuffer>;
  /** `timeoutMs` replaces the deadline from TrainerOptions for this call (a caller that knows its step time). */
  train(n: number, lr: number, timeoutMs?: number): Promise<TrainResult>;
  readFragment(f: Fragment): Promise<ArrayBuffer>;
  /** With `rebase`: θ_f ← values + (θ_f − rebase), in the worker (eager re-application). */
  writeFragment(f: Fragment, values: Float32Array | ArrayBuffer, rebase?: Float32Array): Promise<void>;
  evaluate(): Promise<number>;
  /** Deadline: the sample's own budget plus the usual call deadline. */
  sample(o: SampleOptions): Promise<string>;
  predict(pixels: Float32Array): Promise<number[]>;
  resetOptimizer(): Promise<void>;
  memory(): Promise<MemoryInfo>;
  dispose(): Promise<void>;
  /** Test hook: destroys the WebGPU device so the next calls reject with 'device-lost'. */
  debugLoseDevice(): Promise<boolean>;
  /** Test hook: make the worker crash, or hang for `ms` (see TrainerApi.debugFault). Not awaited by callers. */
  debugFault(kind: 'crash' | 'hang', ms: number): void;
  /** Kills the worker now; pending and later calls reject with WorkerTerminatedError. Idempotent. */
  terminate(): void;
  /** Why the trainer is dead (terminated, crashed, timed out), or undefined while it is alive. */
  readonly dead: Error | undefined;
  /** Resolves with the reason once the trainer dies, so a crash is noticed even with no call pending. */
  readonly whenDead: Promise<Error>;
}

/** A Worker, or anything that behaves like one (tests use a MessagePort). */
export interface WorkerLike extends Comlink.Endpoint {
  terminate(): void;
}

export interface TrainerOptions {
  /** Deadline for calls without their own, ms (default 10 000). */
  callTimeoutMs?: number;
  /** Deadline for init and probe, ms (default 60 000): data download, WASM compile, 4 backends probed. */
  initTimeoutMs?: number;
  /** Deadline for train(1), ms (default 30 000); each further step adds trainStepTimeoutMs. */
  trainTimeoutMs?: number;
  /** Extra deadline per step beyond the first, ms (default 5 000; SwiftShader WebGPU steps take ~0.4 s). */
  trainStepTimeoutMs?: number;
  /** Deadline for evaluate, ms (default 30 000: a forward pass over the held-out set). */
  evaluateTimeoutMs?: number;
  /** How long the worker may take to load and answer its first ping, ms (default 20 000). */
  startTimeoutMs?: number;
  /** Terminate the worker when a call times out (default true). */
  terminateOnTimeout?: boolean;
  /** Tests: supply the endpoint instead of spawning worker.ts. */
  createWorker?: () => WorkerLike;
  timers?: Timers;
}

const copyOut = (v: Float32Array): ArrayBuffer => v.slice().buffer as ArrayBuffer;

class WorkerTrainer implements Trainer {
  private readonly pending = new PendingSet();
  private readonly remote: Comlink.Remote<TrainerApi>;
  private markDead!: (e: Error) => void;
  readonly whenDead = new Promise<Error>((resolve) => {
    this.markDead = resolve;
  });

  constructor(private readonly worker: WorkerLike, private readonly opts: TrainerOptions) {
    this.remote = Comlink.wrap<TrainerApi>(worker);
    const crashed = (ev: Event): void => {
      const msg = 'message' in ev && typeof ev.message === 'string' && ev.message ? ev.message : 'the worker failed to load or crashed';
      this.kill(new WorkerCrashedError(`worker ${ev.type}: ${msg}`));
    };
    worker.addEventListener('error', crashed);
    worker.addEventListener('messageerror', crashed);
  }

  get dead(): Error | undefined {
    return this.pending.closed;
  }

  private kill(reason: Error): void {
    if (this.pending.closed) return;
    this.pending.close(reason);
    this.markDead(reason);
    try {
      this.worker.terminate();
    } catch {
      // already gone
    }
  }

  terminate(): void {
    this.kill(new WorkerTerminatedError('trainer terminated'));
  }

  /** One call across the boundary: deadline, pending-set membership, error revival, kill on timeout. */
  private call<T>(method: keyof TrainerApi, ms: number, invoke: () => Promise<T>): Promise<T> {
    const closed = this.pending.closed;
    if (closed) return Promise.reject(closed);
    // Refused before the call is sent: a call that runs in the worker while its caller was told it failed
    // (a training step taken, parameters changed) is worse than no call.
    const bad = badDeadline(ms, `worker ${method}`);
    if (bad) return Promise.reject(bad);
    const deadline = withDeadline(invoke(), ms, `worker ${method}`, this.opts.timers, (label, m) => new WorkerTimeoutError(label, m));
    return this.pending.track(deadline).catch((e: unknown) => {
      if (e instanceof WorkerTimeoutError && (this.opts.terminateOnTimeout ?? true)) {
        this.kill(new WorkerTerminatedError(`worker terminated because ${e.message}`));
      }
      throw reviveError(e);
    });
  }

  private get others(): number {
    return this.opts.callTimeoutMs ?? 10_000;
  }
  private get slow(): number {
    return this.opts.initTimeoutMs ?? 60_000;
  }

  ping(): Promise<{ ready: true }> {
    return this.call('ping', this.opts.startTimeoutMs ?? 20_000, () => this.remote.ping());
  }
  probe(opts: ProbeOptions = {}): Promise<ProbeReport> {
    return this.call('probe', this.slow, () => this.remote.probe(opts));
  }
  init(opts: InitOptions): Promise<InitInfo> {
    return this.call('init', this.slow, () => this.remote.init(opts));
  }
  switchBackend(name: string): Promise<InitInfo> {
    return this.call('switchBackend', this.slow, () => this.remote.switchBackend(name));
  }
  setParams(values: Float32Array | ArrayBuffer): Promise<void> {
    const buf = values instanceof ArrayBuffer ? values : copyOut(values);
    return this.call('setParams', this.others, () => this.remote.setParams(Comlink.transfer(buf, [buf])));
  }
  getParams(): Promise<ArrayBuffer> {
    return this.call('getParams', this.others, () => this.remote.getParams());
  }
  train(n: number, lr: number, timeoutMs?: number): Promise<TrainResult> {
    const extra = Number.isInteger(n) && n > 1 ? (n - 1) * (this.opts.trainStepTimeoutMs ?? 5_000) : 0;
    return this.call('train', timeoutMs ?? (this.opts.trainTimeoutMs ?? 30_000) + extra, () => this.remote.train(n, lr));
  }
  readFragment(f: Fragment): Promise<ArrayBuffer> {
    return this.call('readFragment', this.others, () => this.remote.readFragment(f));
  }
  writeFragment(f: Fragment, values: Float32Array | ArrayBuffer, rebase?: Float32Array): Promise<void> {
    const buf = values instanceof ArrayBuffer ? values : copyOut(values);
    const base = rebase && copyOut(rebase);
    return this.call('writeFragment', this.others, () => this.remote.writeFragment(f, Comlink.transfer(buf, base ? [buf, base] : [buf]), base));
  }
  evaluate(): Promise<number> {
    return this.call('evaluate', this.opts.evaluateTimeoutMs ?? 30_000, () => this.remote.evaluate());
  }
  sample(o: SampleOptions): Promise<string> {
    return this.call('sample', this.others + o.budgetMs, () => this.remote.sample(o));
  }
  predict(pixels: Float32Array): Promise<number[]> {
    const buf = copyOut(pixels);
    return this.call('predict', this.others, () => this.remote.predict(Comlink.transfer(buf, [buf])));
  }
  resetOptimizer(): Promise<void> {
    return this.call('resetOptimizer', this.others, () => this.remote.resetOptimizer());
  }
  memory(): Promise<MemoryInfo> {
    return this.call('memory', this.others, () => this.remote.memory());
  }
  dispose(): Promise<void> {
    return this.call('dispose', this.others, () => this.remote.dispose());
  }
  debugLoseDevice(): Promise<boolean> {
    return this.call('debugLoseDevice', this.others, () => this.remote.debugLoseDevice());
  }
  debugFault(kind: 'crash' | 'hang', ms: number): void {
    void this.remote.debugFault(kind, ms).catch(() => undefined); // outside the pending set: its effect is the point
  }
}

/**
 * Spawns the training worker and waits until it answers (a module worker that fails to load can stay
 * silent forever, docs/browser.md §2). Rejects, with the worker terminated, if it does not.
 */
export async function startTrainer(opts: TrainerOptions = {}): Promise<Trainer> {
  const worker: WorkerLike = opts.createWorker
    ? opts.createWorker()
    : new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'tabswarm-trainer' });
  const trainer = new WorkerTrainer(worker, opts);
  try {
    await trainer.ping();
  } catch (e) {
    trainer.terminate();
    throw e;
  }
  return trainer;
}
