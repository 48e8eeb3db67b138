import * as Comlink from 'comlink';
import { afterEach, describe, expect, it } from 'vitest';
import type { TrainerApi } from './api';
import { startTrainer, type Trainer, type TrainerOptions, type WorkerLike } from './client';
import type { Timers } from './deadline';
import { TrainerError, WorkerCrashedError, WorkerTerminatedError, WorkerTimeoutError } from './errors';

/** Timers that fire only when told to: deadlines without real sleeps. */
class ManualTimers implements Timers {
  private next = 1;
  readonly tasks = new Map<number, { fn: () => void; ms: number }>();
  setTimeout(fn: () => void, ms: number): number {
    this.tasks.set(this.next, { fn, ms });
    return this.next++;
  }
  clearTimeout(h: unknown): void {
    this.tasks.delete(h as number);
  }
  /** Fires the pending timers whose delay is `ms` (all when omitted). */
  fire(ms?: number): void {
    for (const [id, t] of [...this.tasks]) {
      if (ms !== undefined && t.ms !== ms) continue;
      this.tasks.delete(id);
      t.fn();
    }
  }
}

/** A Worker stand-in: comlink traffic over a real MessageChannel (transfers included); 'error' events stay local. */
class FakeWorker extends EventTarget implements WorkerLike {
  terminated = false;
  constructor(private readonly port: MessagePort) {
    super();
  }
  postMessage(message: unknown, transfer: Transferable[] = []): void {
    if (!this.terminated) this.port.postMessage(message, transfer);
  }
  override addEventListener(type: string, l: EventListenerOrEventListenerObject | null, o?: boolean | AddEventListenerOptions): void {
    if (type === 'message' && l) this.port.addEventListener(type, l, o);
    else super.addEventListener(type, l, o);
  }
  override removeEventListener(type: string, l: EventListenerOrEventListenerObject | null, o?: boolean | EventListenerOptions): void {
    if (type === 'message' && l) this.port.removeEventListener(type, l, o);
    else super.removeEventListener(type, l, o);
  }
  start(): void {
    this.port.start();
  }
  terminate(): void {
    this.terminated = true;
    this.port.close();
  }
}

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);
const channels: MessageChannel[] = [];
afterEach(() => {
  for (const c of channels.splice(0)) {
    c.port1.close();
    c.port2.close();
  }
});

/** Starts a Trainer whose "worker" is `impl`, exposed with comlink on the other end of a MessageChannel. */
async function connect(impl: Partial<TrainerApi>, opts: TrainerOptions = {}): Promise<{ trainer: Trainer; worker: FakeWorker; timers: ManualTimers; seen: unknown[] }> {
  const ch = new MessageChannel();
  channels.push(ch);
  const seen: unknown[] = [];
  Comlink.expose({ ping: async () => ({ ready: true }), ...impl, seen }, ch.port2);
  const worker = new FakeWorker(ch.port1);
  const timers = new ManualTimers();
  const trainer = await startTrainer({ createWorker: () => worker, timers, ...opts });
  return { trainer, worker, timers, seen };
}

describe('startTrainer / Trainer', () => {
  it('answers through comlink; buffers are transferred in, typed arrays copied', async () => {
    const got: number[] = [];
    const { trainer } = await connect({
      setParams: async (buf: ArrayBuffer) => void got.push(new Float32Array(buf).length),
      getParams: async () => {
        const b = new Float32Array([1, 2, 3]).buffer;
        return Comlink.transfer(b, [b]);
      },
      train: async (n: number) => ({ steps: n, meanLoss: 1, msPerStep: 2, optimizerSteps: n }),
    });
    const buf = new Float32Array(5).buffer;
    await trainer.setParams(buf);
    expect(buf.byteLength).toBe(0); // detached: transferred, not cloned
    const arr = new Float32Array(4);
    await trainer.setParams(arr);
    expect(arr.length).toBe(4); // the caller keeps its typed array
    expect(got).toEqual([5, 4]);
    expect([...new Float32Array(await trainer.getParams())]).toEqual([1, 2, 3]);
    expect(await trainer.train(3, 0.1)).toEqual({ steps: 3, meanLoss: 1, msPerStep: 2, optimizerSteps: 3 });
    expect(trainer.dead).toBeUndefined();
  });

  it('revives worker-side TrainerErrors with their code', async () => {
    const { trainer } = await connect({ train: async () => Promise.reject(new TrainerError('state-invalid', 'call setParams')) });
    const e = await trainer.train(1, 0.1).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TrainerError);
    expect(e).toMatchObject({ code: 'state-invalid', detail: 'call setParams' });
    expect(trainer.dead).toBeUndefined(); // a refused call does not kill the worker
  });

  it('a call with a deadline it cannot keep (NaN, 0, past 2^31 - 1 ms) is refused before it reaches the worker', async () => {
    const { trainer, seen } = await connect({ train: async (n: number) => { seen.push(n); return { steps: n, meanLoss: 1, msPerStep: 2, optimizerSteps: n }; } });
    for (const ms of [NaN, 0, 2 ** 31]) await expect(trainer.train(1, 0.1, ms), String(ms)).rejects.toThrow(`worker train: deadline ${ms} ms is not in (0, 2147483647]`);
    expect(await trainer.train(2, 0.1)).toMatchObject({ steps: 2 });
    expect(seen).toEqual([2]); // only the call with a good deadline ran
    expect(trainer.dead).toBeUndefined();
  });

  it('uses per-method deadlines: init/probe 60 s, train 30 s (+5 s per extra step), others 10 s', async () => {
    const { trainer, timers } = await connect({ init: never, probe: never, train: never, getParams: never, evaluate: never }, { terminateOnTimeout: false });
    const calls = [trainer.init({ workload: 'digits', dataBaseUrl: 'x', batch: 1, seed: 1 }), trainer.probe(), trainer.train(1, 0.1), trainer.train(3, 0.1), trainer.getParams(), trainer.evaluate()];
    for (const c of calls) c.catch(() => undefined);
    expect([...timers.tasks.values()].map((t) => t.ms)).toEqual([60_000, 60_000, 30_000, 40_000, 10_000, 30_000]);
  });

  it('a timed-out call rejects with WorkerTimeoutError, kills the worker and fails everything else', async () => {
    const { trainer, worker, timers } = await connect({ train: never, readFragment: never });
    const train = trainer.train(1, 0.1);
    const read = trainer.readFragment({ index: 0, size: 1, segments: [] });
    timers.fire(30_000);
    await expect(train).rejects.toBeInstanceOf(WorkerTimeoutError);
    await expect(train).rejects.toThrow('worker train timed out after 30000 ms');
    await expect(read).rejects.toBeInstanceOf(WorkerTerminatedError);
    expect(worker.terminated).toBe(true);
    await expect(trainer.getParams()).rejects.toThrow('worker terminated because worker train timed out after 30000 ms');
    expect(await trainer.whenDead).toBe(trainer.dead);
  });

  it('terminate() rejects pending calls and later ones with WorkerTerminatedError', async () => {
    const { trainer, worker } = await connect({ train: never });
    const pending = trainer.train(1, 0.1);
    trainer.terminate();
    trainer.terminate(); // idempotent
    await expect(pending).rejects.toBeInstanceOf(WorkerTerminatedError);
    await expect(trainer.memory()).rejects.toBeInstanceOf(WorkerTerminatedError);
    expect(worker.terminated).toBe(true);
  });

  it('a worker error event rejects pending calls with WorkerCrashedError and marks the trainer dead', async () => {
    const { trainer, worker } = await connect({ train: never });
    const pending = trainer.train(1, 0.1);
    worker.dispatchEvent(Object.assign(new Event('error'), { message: 'Uncaught RangeError: Array buffer allocation failed' }));
    await expect(pending).rejects.toThrow(new WorkerCrashedError('worker error: Uncaught RangeError: Array buffer allocation failed'));
    expect(trainer.dead).toBeInstanceOf(WorkerCrashedError);
    await expect(trainer.train(1, 0.1)).rejects.toBeInstanceOf(WorkerCrashedError);
    expect(worker.terminated).toBe(true);
  });

  it('startTrainer fails, and terminates the worker, when the worker never answers its first ping', async () => {
    const ch = new MessageChannel();
    channels.push(ch);
    const worker = new FakeWorker(ch.port1); // nothing listens on port2: a module worker that failed to load silently
    const timers = new ManualTimers();
    const started = startTrainer({ createWorker: () => worker, timers, startTimeoutMs: 5000 });
    timers.fire(5000);
    await expect(started).rejects.toThrow('worker ping timed out after 5000 ms');
    expect(worker.terminated).toBe(true);
  });
});
