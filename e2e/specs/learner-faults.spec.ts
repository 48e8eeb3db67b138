import type { Page } from '@playwright/test';
import { expect, test, type CoordinatorView, type LearnerView } from '@tabswarm/testing';

// Issue #4, learner-side faults (docs/fault-tolerance.md §5): a worker crash, a worker hang and a WebGPU device
// loss are detected within 10 s, nothing partial is pushed, and the tab rebuilds from the global weights.
type Faulty = LearnerView & { recoveries: number; lastFault: string; recoveryMs: number };
const fault = (p: Page, kind: 'crash' | 'hang' | 'device-loss'): Promise<void> =>
  p.evaluate((k) => (window as unknown as { __tabswarmFault: (k: string) => void }).__tabswarmFault(k), kind);
const fast = { workload: 'digits', P: '2', H: '8', evalMs: '3000', tokens: '200000' };
// Refusals an honest learner can meet by timing alone, plus the norm filter: a rebuilt worker's fresh
// AdamW takes sign-like first steps, and its first push may be filtered as an outlier (that is the filter
// working, and costs one push). Anything else (non-finite, malformed, claims) would mean a bad update got out.
const benign = new Set(['round-closed', 'round-unknown', 'stale-base', 'stale-epoch', 'duplicate', 'norm-outlier']);

test('a crashed and a hung training worker are detected, rebuilt from the global weights, and the tab contributes again', async ({ swarm }) => {
  const coord = await swarm.coordinator(fast);
  const victim = await swarm.learner({ workload: 'digits', backend: 'wasm' });
  await swarm.learner({ workload: 'digits', backend: 'wasm' });
  for (const kind of ['crash', 'hang'] as const) {
    const before = await swarm.until<Faulty>(victim.page, (l) => l.state === 'training' && l.merges > 0, 'the victim contributing', 120_000);
    const t0 = Date.now();
    await fault(victim.page, kind);
    const hit = await swarm.until<Faulty>(victim.page, (l) => l.recoveries > before.recoveries, `the ${kind} detected`, 20_000);
    const detectS = (Date.now() - t0) / 1000;
    const back = await swarm.until<Faulty>(victim.page, (l) => l.state === 'training' && l.merges >= before.merges + 2, `merges after the ${kind}`, 120_000);
    console.log(`${kind}: detected after ${detectS.toFixed(1)} s (${hit.lastFault}); rebuilt in ${(back.recoveryMs / 1000).toFixed(1)} s; link opens ${before.linkOpens} -> ${back.linkOpens}`);
    expect(detectS).toBeLessThan(kind === 'hang' ? 10 : 5);
    // The page stayed alive while its worker was stuck for 8 s, past the syncer's 5 s silence limit: its
    // keepalive (KEEPALIVE_MS, docs/method.md §4) keeps the link, so recovery costs no rejoin. Without the
    // keepalive the hang reopened the link (1 -> 2) in 2 of 2 runs.
    expect(back.linkOpens, 'link opens across the fault').toBe(before.linkOpens);
  }
  const c = await swarm.status<CoordinatorView>(coord);
  expect(Object.keys(c.rejections).filter((r) => !benign.has(r))).toEqual([]);
  expect(await coord.evaluate(() => (window as unknown as { __syncerTheta: () => Float32Array }).__syncerTheta().every(Number.isFinite))).toBe(true);
});

test('a WebGPU device loss is detected and the learner rebuilds on a new device', async ({ swarm }) => {
  const tiny = { workload: 'text', model: 'tiny' };
  const coord = await swarm.coordinator({ ...tiny, batch: '4', P: '2', H: '2', evalMs: '3000' });
  const gpu = await swarm.learner({ ...tiny, backend: 'webgpu', batch: '4' });
  const before = await swarm.until<Faulty>(gpu.page, (l) => l.state === 'training' && l.merges > 0, 'the WebGPU learner contributing', 240_000);
  expect(before.backend).toBe('webgpu');
  const t0 = Date.now();
  await fault(gpu.page, 'device-loss');
  const hit = await swarm.until<Faulty>(gpu.page, (l) => l.recoveries > 0, 'the device loss detected', 20_000);
  const detectS = (Date.now() - t0) / 1000;
  const back = await swarm.until<Faulty>(gpu.page, (l) => l.state === 'training' && l.merges > before.merges, 'a merge after the rebuild', 240_000);
  console.log(`device loss: detected after ${detectS.toFixed(1)} s (${hit.lastFault}); rebuilt in ${(back.recoveryMs / 1000).toFixed(1)} s on ${back.backend}`);
  expect(detectS).toBeLessThan(10);
  const c = await swarm.status<CoordinatorView>(coord);
  expect(Object.keys(c.rejections).filter((r) => !benign.has(r))).toEqual([]);
});
