import { startTrainer, type InitInfo, type Trainer } from '@tabswarm/worker';
import type { CoordinatorConfig } from './config';

/**
 * Held-out evaluation of the global model, in its own worker. It draws the loss curve and nothing else
 * depends on it, so it may fail without stopping the run: the worker client terminates a worker whose
 * call missed its deadline (a CPU-bound WebGPU tab beside it can starve it for seconds), and the next
 * evaluation starts a new one on the backend chosen at boot.
 */
export class Evaluator {
  private trainer: Trainer | undefined;
  private backend: string | undefined;

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
  async loss(theta: Float32Array): Promise<number> {
    try {
      if (!this.trainer) await this.boot();
      await this.trainer!.setParams(theta);
      return await this.trainer!.evaluate();
    } catch (e) {
      this.drop();
      throw e;
    }
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
