import { startTrainer, type InitInfo, type SampleOptions, type Trainer } from '@tabswarm/worker';
import type { CoordinatorConfig } from './config';

/**
 * Held-out evaluation of the global model, in its own worker; the classroom view's text samples and digit
 * predictions run there too. They draw the page and nothing else depends on them, so they may fail
 * without stopping the run: the worker client terminates a worker whose call missed its deadline (a
 * CPU-bound WebGPU tab beside it can starve it for seconds), and the next call starts a new one on the
 * backend chosen at boot. Calls take turns (`turn`): each sets the parameters it is about.
 */
export class Evaluator {
  private trainer: Trainer | undefined;
  private backend: string | undefined;
  private turn: Promise<unknown> = Promise.resolve();

  constructor(private readonly cfg: CoordinatorConfig) {}

  /** Start a worker and build the model. The first boot measures (or forces the remembered) backend. */
  async boot(): Promise<{ info: InitInfo; backend: string; theta0: Float32Array }> {
    const t = await startTrainer();
    try {
      // The backend measured on this browser is remembered: a reload forces it (self-test only) instead of
      // timing all four again, which is most of the time a reload takes to serve.
      const workload = this.cfg.workload, force = this.backend ?? this.cfg.evalBackend ?? remembered();
      const probe = await t.probe({ force, workload }).catch((e: unknown) => {
        if (this.cfg.evalBackend !== undefined || force === undefined) throw e;
        return t.probe({ workload }); // the remembered backend is gone (e.g. no GPU now): measure again
      });
      remember(this.backend = probe.chosen);
      const info = await t.init({ workload, dataBaseUrl: new URL('../data/', location.href).href, config: this.cfg.model, batch: this.cfg.batch, seed: this.cfg.seed, backend: probe.chosen });
      const theta0 = new Float32Array(await t.getParams());
      this.trainer = t; // only a worker that booted is used
      return { info, backend: probe.chosen, theta0 };
    } catch (e) {
      t.terminate();
      throw e;
    }
  }

  /** Held-out loss of `theta` (nats). Rejects when the worker fails; the next call starts a new one. */
  loss(theta: Float32Array): Promise<number> {
    return this.with(theta, (t) => t.evaluate());
  }

  /** Text: `o.prompt` continued by the model `theta`. */
  sample(theta: Float32Array, o: SampleOptions): Promise<string> {
    return this.with(theta, (t) => t.sample(o));
  }

  /** Digits: class probabilities of a 28×28 image under the model `theta`. */
  predict(theta: Float32Array, pixels: Float32Array): Promise<number[]> {
    return this.with(theta, (t) => t.predict(pixels));
  }

  /** Runs `fn` on the worker holding `theta`, after every earlier call; a failure drops the worker. */
  private with<T>(theta: Float32Array, fn: (t: Trainer) => Promise<T>): Promise<T> {
    const run = this.turn.then(async () => {
      try {
        if (!this.trainer) await this.boot();
        await this.trainer!.setParams(theta);
        return await fn(this.trainer!);
      } catch (e) {
        this.drop();
        throw e;
      }
    });
    this.turn = run.catch(() => undefined);
    return run;
  }

  private drop(): void {
    this.trainer?.terminate();
    this.trainer = undefined;
  }
}

const EVAL_BACKEND_KEY = 'tabswarm.evalBackend';
function remembered(): string | undefined {
  try { return localStorage.getItem(EVAL_BACKEND_KEY) ?? undefined; } catch { return undefined; }
}
function remember(backend: string): void {
  try { localStorage.setItem(EVAL_BACKEND_KEY, backend); } catch { /* storage refused: probe again next time */ }
}
