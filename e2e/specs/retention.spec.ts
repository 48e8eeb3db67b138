import type { Page } from '@playwright/test';
import { expect, test, type CoordinatorView } from '@tabswarm/testing';

// Issue 10, part 7 (retention): the stored merge log stays under its budget, pruned a chunk per commit, and
// what left the database is still offered for download and replays with the tail to the committed state.
type Kept = CoordinatorView & { logBytes: number; prunedThrough: number; prunedDroppedThrough: number; quotaErrors: number };
const retained = { workload: 'digits', P: '2', H: '8', evalMs: '3000', tokens: '200000', logMB: '0.3', logTail: '4' };
type Driver = { pause(ms: number): void; drained: boolean; verifyLog(): Promise<{ ok: boolean; entries: number; detail: string }> };
const onDriver = <R>(p: Page, fn: (d: Driver) => R | Promise<R>): Promise<R> => p.evaluate(`(${fn.toString()})(window.__coordinator)`) as Promise<R>;
/** Pause the coordinator until every command it issued is carried out, then replay the log it offers. */
async function pausedReplay(coord: Page): Promise<{ ok: boolean; entries: number; detail: string }> {
  await onDriver(coord, (d) => d.pause(60_000));
  await expect.poll(() => onDriver(coord, (d) => d.drained), { timeout: 20_000 }).toBe(true);
  return onDriver(coord, (d) => d.verifyLog());
}

test('the merge log is kept under its byte budget while the run goes on, and still replays bit for bit', async ({ swarm }) => {
  test.setTimeout(240_000);
  const budget = 300_000; // bytes (?logMB=0.3): about 11 commits of one digits learner at P = 2 (≈28 kB each)
  const coord = await swarm.coordinator(retained);
  await swarm.learner({ workload: 'digits', backend: 'wasm' });
  let most = 0, samples = 0;
  const s = await swarm.until<Kept>(coord, (c) => {
    if (c.prunedThrough > 0) { most = Math.max(most, c.logBytes); samples++; }
    return c.prunedThrough >= 30;
  }, 'retention through commit 30', 180_000);
  console.log(`retention: pruned through ${s.prunedThrough} of ${s.commitSeq} commits; stored log at most ${most} B over ${samples} polls (budget ${budget} B)`);
  expect(s.state, s.error).toBe('running');
  expect(s.quotaErrors).toBe(0);
  expect(s.prunedDroppedThrough).toBe(0);
  // Each commit adds one entry and then prunes at least one, so the log stays within one entry of the budget.
  expect(most).toBeGreaterThan(0);
  expect(most).toBeLessThanOrEqual(budget + 64_000);
  // The tail kept is at least logTail entries, so pruning never reaches the newest commits.
  expect(s.commitSeq - s.prunedThrough).toBeGreaterThanOrEqual(4);
  await expect(coord.locator('#c-pruned button')).toHaveCount(1);
  await expect(coord.locator('#c-pruned button')).toContainText(/Download pruned log, commits 1–\d+/);
  await expect(coord.locator('#c-storage')).toContainText(/merge log [\d.]+ MB stored of a 0\.3 MB budget, pruned through commit \d+/);
  // The pieces this page holds and the stored tail replay to the committed state, bit for bit.
  const v = await pausedReplay(coord);
  expect(v.ok, v.detail).toBe(true);
  expect(v.entries).toBeGreaterThan(30); // the replay covered the pruned commits, not the tail alone
});

// A log rebased on a state file saved at commit N holds commits N + 1 on. Before, pruning counted from
// commit 1: it named the first pieces 1-32, 33-64, … while handing out the same entries again, deleted
// nothing, and took their bytes off the stored total; the replay of the download failed on duplicates.
test('after Load state the merge log is pruned from the saved commit on, under its budget, and replays bit for bit', async ({ swarm }) => {
  test.setTimeout(300_000);
  const budget = 300_000; // bytes, as above
  const coord = await swarm.coordinator(retained);
  await swarm.learner({ workload: 'digits', backend: 'wasm' });
  await swarm.until<Kept>(coord, (c) => c.commitSeq >= 6, 'six commits', 120_000);
  await onDriver(coord, (d) => d.pause(60_000));
  await expect.poll(() => onDriver(coord, (d) => d.drained), { timeout: 20_000 }).toBe(true);
  const saved = await swarm.status<Kept>(coord);
  const [download] = await Promise.all([coord.waitForEvent('download'), coord.click('#c-download')]);
  const path = await download.path();
  await onDriver(coord, (d) => d.pause(0));
  const reloaded = coord.waitForEvent('load');
  await coord.setInputFiles('#c-load', path);
  await reloaded;
  const resumed = await swarm.until<Kept>(coord, (c) => c.state === 'running', 'the loaded run', 60_000);
  const N = saved.commitSeq;
  expect(resumed.resumedFrom).toBe(N);
  let most = 0;
  const s = await swarm.until<Kept>(coord, (c) => {
    if (c.prunedThrough > 0) most = Math.max(most, c.logBytes);
    return c.prunedThrough >= N + 20;
  }, `retention through commit ${N + 20}`, 200_000);
  console.log(`retention after a load at commit ${N}: pruned through ${s.prunedThrough} of ${s.commitSeq}; stored log at most ${most} B (budget ${budget} B)`);
  expect([s.state, s.quotaErrors, s.prunedDroppedThrough]).toEqual(['running', 0, 0]);
  expect(most).toBeGreaterThan(0);
  expect(most).toBeLessThanOrEqual(budget + 64_000);
  await expect(coord.locator('#c-pruned button')).toHaveCount(1);
  await expect(coord.locator('#c-pruned button')).toContainText(new RegExp(`Download pruned log, commits ${N + 1}–\\d+`));
  const v = await pausedReplay(coord);
  const end = await swarm.status<Kept>(coord);
  expect(v.ok, v.detail).toBe(true);
  expect(v.entries, 'every commit since the load replayed once: the pruned pieces, then the stored tail').toBe(end.commitSeq - N);
});
