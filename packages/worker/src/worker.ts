/**
 * The Worker entry: TrainerCore exposed through comlink. Built by Vite from
 * `new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' })` in client.ts.
 * Returned ArrayBuffers are transferred (zero-copy: 16 MB in ~10 ms vs ~40 ms cloned, docs/browser.md §2),
 * which detaches them here; TrainerCore never keeps a reference to what it returns.
 */
import * as Comlink from 'comlink';
import type { TrainerApi } from './api';
import { modelModule } from './model-adapter';
import { TrainerCore } from './trainer';

const core = new TrainerCore(modelModule);

const give = (buf: ArrayBuffer): ArrayBuffer => Comlink.transfer(buf, [buf]);

const api: TrainerApi = {
  ping: async () => ({ ready: true }),
  probe: (opts) => core.probe(opts),
  init: (opts) => core.init(opts),
  switchBackend: (name) => core.switchBackend(name),
  setParams: (buf) => core.setParams(buf),
  getParams: async () => give(await core.getParams()),
  train: (n, lr) => core.train(n, lr),
  readFragment: async (f) => give(await core.readFragment(f)),
  writeFragment: (f, buf, rebase) => core.writeFragment(f, buf, rebase),
  evaluate: () => core.evaluate(),
  sample: (o) => core.sample(o),
  predict: (buf) => core.predict(buf),
  resetOptimizer: () => core.resetOptimizer(),
  memory: () => core.memory(),
  dispose: () => core.dispose(),
  debugLoseDevice: () => core.debugLoseDevice(),
  debugFault: async (kind, ms) => {
    if (kind === 'crash') setTimeout(() => { throw new Error('chaos: worker crash'); }, 0);
    else { const end = performance.now() + ms; while (performance.now() < end) { /* a hung worker: nothing else runs */ } }
  },
};

// A GPU loss can surface only as an unhandled rejection from inside TF.js (mapAsync AbortError, TF.js #8571).
self.addEventListener('unhandledrejection', (e: PromiseRejectionEvent) => core.noteUnhandled(e.reason));

Comlink.expose(api);
