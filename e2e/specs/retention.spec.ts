import { expect, test, type CoordinatorView } from '@tabswarm/testing';

// Issue 10, part 7 (retention): the stored merge log stays under its budget, pruned a chunk per commit, and
// what left the database is still offered for download and replays with the tail to the committed state.
type Kept = CoordinatorView & { logBytes: number; prunedThrough: number; prunedDroppedThrough: number; quotaErrors: number };

test('the merge log is kept under its byte budget while the run goes on, and still replays bit for bit', async ({ swarm }) => {
  test.setTimeout(240_000);
  const budget = 300_000; // bytes (?logMB=0.3): about 11 commits of one digits learner at P = 2 (≈28 kB each)
  const coord = await swarm.coordinator({ workload: 'digits', P: '2', H: '8', evalMs: '3000', tokens: '200000', logMB: '0.3', logTail: '4' });
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
  await coord.evaluate(() => (window as unknown as { __coordinator: { pause(ms: number): void } }).__coordinator.pause(60_000));
  await expect.poll(() => coord.evaluate(() => (window as unknown as { __coordinator: { drained: boolean } }).__coordinator.drained), { timeout: 20_000 }).toBe(true);
  const v = await coord.evaluate(() => (window as unknown as { __coordinator: { verifyLog(): Promise<{ ok: boolean; entries: number; detail: string }> } }).__coordinator.verifyLog());
  expect(v.ok, v.detail).toBe(true);
  expect(v.entries).toBeGreaterThan(30); // the replay covered the pruned commits, not the tail alone
});
