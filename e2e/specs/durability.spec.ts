import type { Page } from '@playwright/test';
import { expect, test, type CoordinatorView, type LearnerView } from '@tabswarm/testing';

// Issue #4, durability: the coordinator commits every outer step to IndexedDB before anyone hears of it.
const fast = { workload: 'digits', P: '2', H: '8', evalMs: '3000', tokens: '200000' };
type Driver = { pause(ms: number): void; drained: boolean; verifyLog(): Promise<{ ok: boolean; entries: number; detail: string; replayedHash: string }>; store: { log(): Promise<{ entries: Array<{ contributors: Array<{ id: string; session: number; seq: number }> }> }> } };
const onDriver = <R>(p: Page, fn: (d: Driver) => R | Promise<R>): Promise<R> =>
  p.evaluate(`(${fn.toString()})(window.__coordinator)`) as Promise<R>;

/** Every key merged, from the durable log, with the number of times each appears. */
async function loggedKeys(coord: Page): Promise<Map<string, number>> {
  const keys = await onDriver(coord, async (d) => (await d.store.log()).entries.flatMap((e) => e.contributors.map((k) => `${k.id}/${k.session}/${k.seq}`)));
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

async function pauseAndDrain(coord: Page): Promise<CoordinatorView> {
  await onDriver(coord, (d) => d.pause(120_000));
  await expect.poll(() => onDriver(coord, (d) => d.drained), { timeout: 20_000, message: 'the coordinator drained its commands' }).toBe(true);
  return coord.evaluate(() => JSON.parse(JSON.stringify((window as unknown as { __tabswarm: unknown }).__tabswarm)) as CoordinatorView);
}

test('reloading the coordinator ten times loses no acked update and resumes from the exact last commit', async ({ swarm }) => {
  test.setTimeout(600_000);
  const coord = await swarm.coordinator(fast);
  const tabs: Array<{ page: Page }> = [];
  for (let i = 0; i < 3; i++) tabs.push(await swarm.learner({ workload: 'digits', backend: 'wasm' }));
  await swarm.until<CoordinatorView>(coord, (c) => c.commitSeq >= 5, 'five commits', 180_000);
  const firstCommitS: number[] = [];
  for (let i = 0; i < 10; i++) {
    // Even reloads are clean (paused, drained: the restored state must equal the last commit exactly);
    // odd ones hit the page mid-flight, wherever its commit path happens to be.
    const before = i % 2 === 0 ? await pauseAndDrain(coord) : await swarm.status<CoordinatorView>(coord);
    await coord.reload();
    const after = await swarm.until<CoordinatorView>(coord, (c) => c.state !== 'starting', 'the reloaded coordinator', 60_000);
    expect(after.state, after.error).toBe('running');
    expect(after.epoch).toBe(before.epoch + 1);
    expect(after.resumedFrom).toBeGreaterThanOrEqual(before.commitSeq);
    if (i % 2 === 0) {
      expect(after.resumedFrom).toBe(before.commitSeq);
      expect(after.restoredHash, 'restored parameters equal the last commit').toBe(before.committedHash);
    }
    const first = await swarm.until<CoordinatorView>(coord, (c) => c.firstCommitAfterStartMs !== null, 'a first commit after the reload', 30_000).catch(async (e: Error) => {
      const ls = await Promise.all(tabs.map((t) => swarm.status<LearnerView & { epoch: number }>(t.page)));
      const sy = await coord.evaluate(() => { const s = (window as unknown as { __coordinator: { syncer: { model: { versions: number[] }; rounds: Map<number, { round: number; fragment: number; openedAt: number; waitingFor: Set<string>; pulledAt: Map<string, number>; pushes: Map<string, unknown> }>; learners: Map<string, { cSteps: number[]; connected: boolean }> } } }).__coordinator.syncer;
        return JSON.stringify({ now: performance.now(), versions: s.model.versions, rounds: [...s.rounds.values()].map((r) => ({ ...r, waitingFor: [...r.waitingFor], pulledAt: [...r.pulledAt], pushes: [...r.pushes.keys()] })), cSteps: [...s.learners.values()].map((l) => [l.connected, l.cSteps]) }); });
      throw new Error(`${e.message}\nlearners: ${JSON.stringify(ls.map((l) => ({ state: l.state, epoch: l.epoch, versions: l.versions, error: l.error, unacked: l.unacked })))}\nsyncer: ${sy}`);
    });
    firstCommitS.push(first.firstCommitAfterStartMs! / 1000);
  }
  console.log(`first commit after each reload (s): ${firstCommitS.map((s) => s.toFixed(1)).join(' ')}`);
  expect(Math.max(...firstCommitS)).toBeLessThan(30);
  // Zero acked updates lost: every push a learner was told was merged is in the durable log, once.
  const final = await pauseAndDrain(coord);
  const logged = await loggedKeys(coord);
  expect([...logged.values()].every((n) => n === 1), 'no push merged twice').toBe(true);
  let acked = 0;
  for (const t of tabs) {
    const l = await swarm.status<LearnerView>(t.page);
    acked += l.mergedKeys.length;
    expect(l.mergedKeys.filter((k) => !logged.has(k)), `acked pushes of ${l.learnerId} missing from the log`).toEqual([]);
  }
  expect(acked).toBeGreaterThan(10);
  const v = await onDriver(coord, (d) => d.verifyLog());
  expect(v.ok, v.detail).toBe(true);
  expect(v.entries).toBe(final.commitSeq);
});

test('a learner frozen past its heartbeat deadline is dropped, resumes, and nothing it did is counted twice', async ({ swarm }) => {
  const coord = await swarm.coordinator(fast);
  const frozen = await swarm.learner({ workload: 'digits', backend: 'wasm' });
  await swarm.learner({ workload: 'digits', backend: 'wasm' });
  const me = await swarm.until<LearnerView>(frozen.page, (l) => l.merges >= 2, 'the learner to be merged twice', 180_000);
  // Freeze the tab's main thread (it owns the connection) with the debugger, beyond the 5 s heartbeat limit.
  const cdp = await frozen.context.newCDPSession(frozen.page);
  await cdp.send('Debugger.enable');
  await cdp.send('Debugger.pause');
  await swarm.until<CoordinatorView>(coord, (c) => c.learners.some((l) => l.id === me.learnerId && !l.connected), 'the frozen learner dropped', 30_000);
  const during = await swarm.status<CoordinatorView>(coord);
  await swarm.until<CoordinatorView>(coord, (c) => c.merges >= during.merges + 3, 'training going on without it', 60_000);
  await cdp.send('Debugger.resume');
  await swarm.until<CoordinatorView>(coord, (c) => (c.learners.find((l) => l.id === me.learnerId)?.connected ?? false), 'the learner back', 60_000);
  const back = await swarm.until<LearnerView>(frozen.page, (l) => l.merges >= me.merges + 2 && l.unacked === 0, 'two more merges after it resumed', 120_000);
  await pauseAndDrain(coord);
  const logged = await loggedKeys(coord);
  expect([...logged.entries()].filter(([, n]) => n > 1), 'no push merged twice').toEqual([]);
  const mine = [...logged.keys()].filter((k) => k.startsWith(`${me.learnerId}/`)).sort();
  // Every merged push of this learner reaches it as an ack, once (a resend after the freeze is answered
  // from the dedupe table with its original outcome); the coordinator is drained, so the acks are on the wire.
  await expect.poll(async () => [...(await swarm.status<LearnerView>(frozen.page)).mergedKeys].sort(), { timeout: 15_000 }).toEqual(mine);
  const l = await swarm.status<LearnerView>(frozen.page);
  expect(l.merges).toBe(mine.length);
  expect(back.merges).toBeLessThanOrEqual(l.merges);
});

test('a second coordinator tab on the same run in the same browser is refused: only one may commit', async ({ swarm }) => {
  const coord = await swarm.coordinator(fast);
  const second = await coord.context().newPage(); // same profile: the Web Lock is shared
  await second.goto(coord.url());
  const s = await swarm.until<CoordinatorView>(second, (c) => c.state !== 'starting', 'the second tab to settle', 60_000);
  expect(s.state).toBe('failed');
  expect(s.error).toMatch(/another coordinator tab holds run/);
  expect((await swarm.status<CoordinatorView>(coord)).state).toBe('running');
});

test('a dead evaluation worker costs points of the loss curve, not the run: the next evaluation starts a new one', async ({ swarm }) => {
  const coord = await swarm.coordinator(fast);
  await swarm.learner({ workload: 'digits', backend: 'wasm' });
  const before = await swarm.until<CoordinatorView>(coord, (c) => c.loss.length >= 2 && c.commitSeq >= 2, 'two evaluations', 120_000);
  // What a missed deadline does to it (the worker client terminates a worker that did not answer in time).
  await onDriver(coord, (d) => (d as unknown as { evaluator: { trainer: { terminate(): void } } }).evaluator.trainer.terminate());
  const failed = await swarm.until<CoordinatorView>(coord, (c) => c.evalFailures >= 1, 'the failed evaluation to be counted', 30_000);
  expect(failed.evalError).toMatch(/terminated/);
  const after = await swarm.until<CoordinatorView>(coord, (c) => c.loss.length >= failed.loss.length + 2, 'evaluations on a new worker', 120_000);
  expect(after.state).toBe('running');
  expect(after.commitSeq).toBeGreaterThan(before.commitSeq);
  expect(after.loss.every((p) => Number.isFinite(p.loss))).toBe(true);
});

