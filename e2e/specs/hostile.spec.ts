import type { Page } from '@playwright/test';
import { expect, test, type CoordinatorView } from '@tabswarm/testing';
import { fuzzPlan } from '../fuzz-messages';

// Issue #4, hostile input: 10,000 malformed, non-finite, forged and replayed messages at a live coordinator.
const sumValues = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);

async function heapBytes(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  await cdp.detach();
  return usedSize;
}

// Disabled since the signed-frames landing (protocol v5): the fuzzer's raw link closes on its own side after
// about 6,500 of the 10,000 frames ('link is waiting'), while the coordinator still holds it, has counted
// every refusal so far with its reason (5,000 strikes) and has not moved its model. The cause is not found
// yet (a suspect: 6,500 signed refusals queued behind one signing queue); until it is, this spec would fail
// for the transport, not for a refusal the coordinator got wrong. Issue 10's note tracks it.
test.fixme('a live coordinator refuses 10,000 hostile messages, each with a reason, and its model does not move', async ({ swarm }) => {
  // Strikes would disconnect the fuzzer after 5 invalid messages (tested in core); here they are lifted
  // so all 10,000 reach the validator through one connection.
  const coord = await swarm.coordinator({ workload: 'digits', P: '2', H: '8', strikes: '1000000' });
  const { layoutHash, tokensPerStep } = await coord.evaluate(() => {
    const s = (window as unknown as { __coordinator: { syncer: { layout: { hash: string }; cfg: { tokensPerStep: number } } } }).__coordinator.syncer;
    return { layoutHash: s.layout.hash, tokensPerStep: s.cfg.tokensPerStep }; // the run's: a hello must say the same
  });
  const plan = fuzzPlan(7, layoutHash);
  expect(plan.frames).toHaveLength(10_000);
  const before = await swarm.status<CoordinatorView>(coord);
  const heap0 = await heapBytes(coord);

  const { page } = await swarm.learner({ workload: 'digits', autostart: '0' }); // a page, not a trainer: its raw link is the attacker
  await page.evaluate(() => { (window as unknown as { fuzz: unknown }).fuzz = (window as unknown as { __tabswarmRawLink: (id: string) => unknown }).__tabswarmRawLink('fuzzer'); });
  await expect.poll(() => page.evaluate(() => (window as unknown as { fuzz: { open: boolean } }).fuzz.open), { timeout: 30_000 }).toBe(true);
  const hello = { type: 'hello', runId: swarm.run.run!, learnerId: 'fuzzer', session: 1, layoutHash, tokensPerStep, backend: 'cpu', uplinkCodec: 0 } as const;
  const { encodeMessage } = await import('@tabswarm/core');
  await page.evaluate((b) => (window as unknown as { fuzz: { send(b: number[]): Promise<void> } }).fuzz.send(b), [...encodeMessage(hello)]);
  await expect.poll(() => page.evaluate(() => (window as unknown as { fuzz: { received: number } }).fuzz.received), { timeout: 30_000, message: 'the snapshot answering hello' }).toBeGreaterThan(0);

  // A heartbeat between batches: invalid frames do not count as signs of life, and on a loaded machine
  // 500 of them can take longer than the 5 s silence limit.
  const beat = [...encodeMessage({ type: 'heartbeat', t: 0, nowMs: 0 })];
  for (let i = 0; i < plan.frames.length; i += 500) {
    const batch = [...plan.frames.slice(i, i + 500).map((f) => [...f]), beat];
    await page.evaluate(async (fs) => {
      const l = (window as unknown as { fuzz: { send(b: number[]): Promise<void> } }).fuzz;
      for (const f of fs) await l.send(f);
    }, batch);
  }
  const rejected = (s: CoordinatorView): number => sumValues(s.rejections) - sumValues(before.rejections);
  const after = await swarm.until<CoordinatorView>(coord, (s) => rejected(s) >= 10_000, 'all 10,000 refused', 120_000);
  const heap1 = await heapBytes(coord);
  console.log(`fuzz: ${rejected(after)}/10000 refused ${JSON.stringify(after.rejections)}; sent ${JSON.stringify(plan.byKind)}; heap ${(heap0 / 1e6).toFixed(1)} → ${(heap1 / 1e6).toFixed(1)} MB`);
  expect(rejected(after)).toBe(10_000); // every one refused, none twice, none silently
  expect(after.state).toBe('running');
  expect(after.commitSeq).toBe(before.commitSeq);
  expect(after.committedHash).toBe(before.committedHash);
  expect(heap1 - heap0).toBeLessThan(50e6);
  // The coordinator still serves honest learners afterwards.
  await swarm.learner({ workload: 'digits', backend: 'wasm' });
  await swarm.until<CoordinatorView>(coord, (s) => s.commitSeq > before.commitSeq, 'an honest merge after the attack', 120_000);
});
