import type { Page } from '@playwright/test';
import { expect, test, type CoordinatorView, type LearnerView } from '@tabswarm/testing';

// The coordinator page's chaos panel, clicked as a teacher does in a classroom demo of fault-tolerant
// training: each button injects its fault into a real swarm (two WASM tabs), the panel counts it, and
// training goes on; at the end every tab is back and merging, and the log replays.
const fast = { workload: 'digits', P: '2', H: '8', evalMs: '3000', tokens: '2000000' };

type Chaos = CoordinatorView & { chaos: Record<string, number> };

test('every chaos button injects its fault into a real swarm, the panel counts it, and training goes on', async ({ swarm }) => {
  test.setTimeout(300_000);
  const coord = await swarm.coordinator(fast);
  const tabs = [await swarm.learner({ workload: 'digits', backend: 'wasm' }), await swarm.learner({ workload: 'digits', backend: 'wasm' })].map((t) => t.page);
  await swarm.until<CoordinatorView>(coord, (c) => c.learners.filter((l) => l.connected).length === 2 && c.commitSeq >= 4, 'two tabs merging', 120_000);
  const counts = coord.locator('#x-counts');
  await expect(counts).toHaveText('none');
  const views = (): Promise<LearnerView[]> => Promise.all(tabs.map((t) => swarm.status<LearnerView>(t)));
  /** Every tab connected to the coordinator and merging again: `n` more merges each than in `since`. */
  const allMerging = async (since: LearnerView[], n: number, what: string): Promise<void> => {
    await expect.poll(async () => (await views()).every((l, i) => l.merges >= since[i]!.merges + n), { timeout: 90_000, message: what }).toBe(true);
    const c = await swarm.status<CoordinatorView>(coord);
    expect(c.learners.filter((l) => l.connected).map((l) => l.id).sort(), what).toEqual((await views()).map((l) => l.learnerId).sort());
  };
  const set = (input: string, value: number): Promise<void> => coord.locator(input).fill(String(value));

  // Pause the coordinator for 40 s: what arrives waits and is handled after, in order, and the wait counts
  // as global downtime, from the first message held to the release, beyond grace cap + one heartbeat
  // (2 s + 5 s): 40 s − 7 s ≈ 33 s. The tabs train on meanwhile (≈2,000 steps each against H = 8), so
  // their next pushes are refused as norm outliers; each tab then takes a fresh snapshot (a hello) and
  // merges again. Before, every later push was refused too and the run never merged again.
  const paused = await swarm.status<CoordinatorView>(coord);
  await set('#x-pause-s', 40);
  await coord.click('#x-pause');
  await expect(counts).toHaveText('pause: 1');
  const pausing = () => coord.evaluate(() => (window as unknown as { __coordinator: { chaos: { paused: boolean } } }).__coordinator.chaos.paused);
  expect(await pausing()).toBe(true);
  await expect.poll(pausing, { timeout: 50_000, message: 'the pause ends' }).toBe(false);
  await allMerging(await views(), 2, 'both tabs merging after the pause');
  const resumed = await swarm.status<CoordinatorView>(coord);
  const down = resumed.downtimeMs - paused.downtimeMs;
  console.log(`chaos panel: the 40 s pause added ${down.toFixed(0)} ms of downtime; ${(resumed.rejections['norm-outlier'] ?? 0) - (paused.rejections['norm-outlier'] ?? 0)} pushes refused as norm outliers, then merging again`);
  expect(down, 'downtime of a 40 s pause beyond the 7 s allowance').toBeGreaterThan(32_000);
  expect(down, 'downtime of a 40 s pause beyond the 7 s allowance').toBeLessThan(33_500);
  // Nobody was dropped by the pause: before, its held ticks found a tab silent for 40 s at the release.
  expect((resumed.rejections['unknown-learner'] ?? 0) - (paused.rejections['unknown-learner'] ?? 0), 'messages refused as from an unknown learner after the pause').toBe(0);
  expect((await views()).map((l) => l.linkOpens), 'links reopened by the pause').toEqual([1, 1]);

  // Kill: the link is cut without a goodbye; the killed tab notices, opens a new link and merges again.
  let before = await views();
  await coord.click('#x-kill');
  await expect(counts).toHaveText(/^pause: 1, kill: 1$/);
  await expect.poll(async () => (await views()).reduce((a, l) => a + l.linkOpens, 0), { timeout: 60_000, message: 'the killed tab reconnects' }).toBe(before.reduce((a, l) => a + l.linkOpens, 0) + 1);
  await allMerging(before, 2, 'both tabs merging after the kill');

  // Freeze for 6 s (past the 5 s heartbeat deadline): the frozen tab's messages are ignored, it is dropped
  // as silent, and it rejoins once the freeze ends.
  before = await views();
  await set('#x-freeze-s', 6);
  await coord.click('#x-freeze');
  const frozen = await swarm.until<Chaos>(coord, (c) => (c.chaos['frozen-message'] ?? 0) > 0, 'messages ignored from the frozen tab', 10_000);
  expect(frozen.chaos.freeze).toBe(1);
  await allMerging(before, 2, 'both tabs merging after the freeze');

  const unknown = (await swarm.status<CoordinatorView>(coord)).rejections['unknown-learner'] ?? 0;
  console.log(`chaos panel: after the kill and the 6 s freeze, ${unknown} messages refused as from an unknown learner`);

  // Throttle one tab's messages by 300 ms, then by 0 again (which lifts every throttle): training goes on meanwhile. (The throttled tab
  // itself may not merge while throttled: its METAs arrive after the fast tab's commits moved the
  // fragment on, so the syncer counts none of its steps and never pulls it; left as found, see the README.)
  before = await views();
  await set('#x-throttle-ms', 300);
  await coord.click('#x-throttle');
  const slow = await swarm.status<CoordinatorView>(coord);
  await swarm.until<CoordinatorView>(coord, (c) => c.commitSeq >= slow.commitSeq + 5, 'commits with one tab throttled', 60_000);
  await set('#x-throttle-ms', 0);
  await coord.click('#x-throttle');
  await allMerging(before, 2, 'both tabs merging once the throttle is lifted');

  // Drop 20% of every message, then none again: pushes, METAs and hellos go missing. A round whose pushes
  // were all lost pulls its tabs again after ≥ 1 s (core repull.ts), and a lost hello is said again after
  // ≥ 2 s; before, such a round waited out its 30 s timeout, and with both rounds in flight soon stuck the
  // same way, 180 s of this spell alone made 133 commits, with gaps of up to 46 s; with the re-pulls
  // 1,224–1,370, the longest gap 1.5–1.8 s (three runs). Here: 40 commits in 4.9–6.5 s.
  before = await views();
  await set('#x-drop-pct', 20);
  await coord.click('#x-drop');
  await swarm.until<Chaos>(coord, (c) => (c.chaos['dropped-message'] ?? 0) >= 5, 'messages dropped', 30_000);
  const lossy = await swarm.status<CoordinatorView>(coord);
  const t0 = Date.now();
  const spell = await swarm.until<CoordinatorView>(coord, (c) => c.commitSeq >= lossy.commitSeq + 40, 'commits while 20% of messages are lost', 30_000);
  console.log(`chaos panel: 40 commits in ${((Date.now() - t0) / 1000).toFixed(1)} s with 20% of messages lost; ${spell.repulls - lossy.repulls} pulls sent again`);
  await set('#x-drop-pct', 0);
  await coord.click('#x-drop');
  await allMerging(before, 2, 'both tabs merging after the lossy spell');

  const end = await swarm.status<Chaos>(coord);
  await expect(counts).toContainText('pause: 1, kill: 1, ');
  expect([end.chaos.kill, end.chaos.freeze, end.chaos.throttle, end.chaos.drop, end.chaos.pause]).toEqual([1, 1, 2, 2, 1]);
  expect([end.state, end.error]).toEqual(['running', '']);
  console.log(`chaos panel: ${await counts.textContent()}; ${end.commitSeq} commits; rejections ${JSON.stringify(end.rejections)}`);
  await verify(coord);
});

async function verify(coord: Page): Promise<void> {
  type D = { pause(ms: number): void; drained: boolean; verifyLog(): Promise<{ ok: boolean; entries: number; detail: string }> };
  const on = <R>(fn: (d: D) => R | Promise<R>): Promise<R> => coord.evaluate(`(${fn.toString()})(window.__coordinator)`) as Promise<R>;
  await on((d) => d.pause(60_000));
  await expect.poll(() => on((d) => d.drained), { timeout: 20_000, message: 'the coordinator drained its commands' }).toBe(true);
  const v = await on((d) => d.verifyLog());
  expect(v.ok, v.detail).toBe(true);
}
