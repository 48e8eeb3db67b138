import { makeLayout, makeSyncConfig, Syncer, type DurableState } from '@tabswarm/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CoordinatorConfig } from './config';
import { CoordinatorDriver } from './driver';
import { saveState } from './state-file';

// A start that finds the run's database gone (this profile recorded epoch 3, the database's incarnation
// counter is back at 0), then the operator loads a saved state file, as the page's message offers. The
// key database, the evaluation worker and the run database are stand-ins; resume.ts and the driver are real.
const specs = [{ name: 'a', shape: [2], kind: 'dense' as const }, { name: 'b', shape: [2], kind: 'dense' as const }];
const layout = makeLayout(specs);
const rebased: Array<{ state: DurableState; incarnation: number | undefined }> = [];

vi.mock('./identity', () => ({
  runSigner: () => Promise.resolve({ signer: { publicKey: new Uint8Array(32), fingerprint: 'f', seal: (b: Uint8Array) => Promise.resolve(b) }, made: false }),
  recordedEpoch: () => Promise.resolve(3),
  recordEpoch: () => Promise.resolve(),
}));
vi.mock('./evaluator', () => ({
  Evaluator: class {
    boot() { return Promise.resolve({ info: { specs, tokensPerStep: 10, backend: 'cpu', numParams: 4 }, backend: 'cpu', theta0: new Float32Array(4) }); }
  },
}));
vi.mock('./store', () => ({
  DurableStore: {
    open: () => Promise.resolve({
      lastIncarnation: () => Promise.resolve(0),
      rebase: (state: DurableState, incarnation?: number) => { rebased.push({ state, incarnation }); return Promise.resolve(); },
    }),
  },
}));

const sync = makeSyncConfig({ runId: 'r', P: 2, H: 4, tau: 1, K: 1, uplinkCodec: 0, tokensPerStep: 10 });
const cfg = { sync, workload: 'digits', model: 'mlp', seed: 1, evalBackend: undefined, batch: 1, evalEveryMs: 5000, chaosSeed: 1, linkMbps: Infinity, init: undefined, signal: { host: 'h', port: 1, path: '/', key: 'k', secure: false }, iceServers: [], logTail: 256, logBudgetBytes: 1e9, prunedHoldBytes: 1e9 } as unknown as CoordinatorConfig;

describe('a run whose database is gone', () => {
  afterEach(() => { vi.unstubAllGlobals(); });

  it('takes a saved state file as its base at an epoch above the recorded one, as the page offers', async () => {
    vi.stubGlobal('navigator', {}); // no Web Locks, no storage manager
    const driver = new CoordinatorDriver(cfg, () => undefined);
    await driver.start();
    expect([driver.status.state, driver.status.lostEpoch]).toEqual(['failed', 3]);
    expect(driver.status.error).toMatch(/Load a saved state file/);
    const saved = new Syncer(sync, layout, Float32Array.from([1, 2, 3, 4]), 2);
    const bytes = new Uint8Array(await saveState(saved).arrayBuffer());
    await driver.loadState(bytes);
    expect(rebased.map((r) => [[...r.state.theta], r.incarnation])).toEqual([[[1, 2, 3, 4], 3]]);
  });
});
