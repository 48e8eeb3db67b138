import type { Page } from '@playwright/test';
import { expect, test, type CoordinatorView, type LearnerView } from '@tabswarm/testing';

// Download state / Load state on a run with a tab training (docs/model-file.md "Load state"). Before, the
// file was restored into the live syncer under the same epoch: the tab kept versions the loaded state
// never had, and the store was rebased in two transactions, so a write that failed after the first had
// cleared the merge log. Now a load is a rebase in one transaction and a reload as a new incarnation.
const fast = { workload: 'digits', P: '2', H: '8', evalMs: '3000', tokens: '200000' };

type Driver = {
  pause(ms: number): void; drained: boolean; verifyLog(): Promise<{ ok: boolean; entries: number; detail: string }>;
  syncer: { model: { theta: Float32Array; outer: Array<{ buf: Float32Array }> } };
  store: { log(): Promise<{ theta0: Float32Array; from?: { versions: number[]; outer: Array<{ buf: Float32Array }> } }> };
};
const onDriver = <R>(p: Page, fn: (d: Driver) => R | Promise<R>): Promise<R> => p.evaluate(`(${fn.toString()})(window.__coordinator)`) as Promise<R>;
/** Pause the coordinator (events wait) until every command it issued, commits first, is carried out. */
async function pauseAndDrain(coord: Page): Promise<void> {
  await onDriver(coord, (d) => d.pause(120_000));
  await expect.poll(() => onDriver(coord, (d) => d.drained), { timeout: 20_000, message: 'the coordinator drained its commands' }).toBe(true);
}
/** Parameters and each fragment's momentum as raw float32 bits. */
const live = (coord: Page): Promise<{ theta: number[]; momentum: number[][] }> => onDriver(coord, (d) => {
  const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(Float32Array.from(a).buffer));
  return { theta: bits(d.syncer.model.theta), momentum: d.syncer.model.outer.map((o) => bits(o.buf)) };
});
const logBase = (coord: Page): Promise<{ theta: number[]; momentum: number[][] | null }> => onDriver(coord, async (d) => {
  const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(Float32Array.from(a).buffer));
  const log = await d.store.log();
  return { theta: bits(log.theta0), momentum: log.from ? log.from.outer.map((o) => bits(o.buf)) : null };
});

test('a saved state loads into a run with a tab training: refused whole when its write fails, then a new epoch at the saved state, and the tab trains on it', async ({ swarm }) => {
  test.setTimeout(300_000);
  const coord = await swarm.coordinator(fast);
  const { page } = await swarm.learner({ workload: 'digits', backend: 'wasm' });
  await swarm.until<CoordinatorView>(coord, (c) => c.commitSeq >= 3, 'three commits', 120_000);

  await pauseAndDrain(coord);
  const saved = await swarm.status<CoordinatorView>(coord);
  const savedBits = await live(coord);
  expect(savedBits.momentum.some((m) => m.some((x) => x !== 0)), 'momentum to carry').toBe(true);
  const [download] = await Promise.all([coord.waitForEvent('download'), coord.click('#c-download')]);
  expect(download.suggestedFilename()).toBe(`${swarm.run.run}-step${saved.globalStep}.tsstate`);
  const path = await download.path();
  await onDriver(coord, (d) => d.pause(0));
  const moved = await swarm.until<CoordinatorView>(coord, (c) => c.commitSeq >= saved.commitSeq + 3, 'three commits past the saved state', 120_000);

  // A file that is not a whole state is refused with its reason and changes nothing.
  await coord.setInputFiles('#c-load', { name: 'cut.tsstate', mimeType: 'application/octet-stream', buffer: Buffer.from('TSST\u0000\u0001\u0000\u0000{"format"') });
  const cut = await swarm.until<CoordinatorView>(coord, (c) => /load failed/.test(c.error), 'the cut file refused', 10_000);
  expect(cut.error).toMatch(/state file refused \(truncated\)/);
  expect([cut.state, cut.epoch]).toEqual(['running', moved.epoch]);

  // A load whose write fails leaves the store as it was, log included, and the run goes on. The failure
  // here is a request that throws as it is made (DataCloneError, once, on θ₀): the log's clear was asked
  // for before it in the same transaction, which now aborts whole; before, the clear was a transaction of
  // its own and had committed. (A quota set through CDP below the origin's usage did not refuse the
  // rebase: its clear frees more than it writes.)
  await pauseAndDrain(coord);
  const before = await swarm.status<CoordinatorView>(coord);
  await coord.evaluate(() => {
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
      if (key !== 'theta0') return put.call(this, value, key);
      IDBObjectStore.prototype.put = put;
      throw new DOMException('refused once by the test', 'DataCloneError');
    };
  });
  await coord.setInputFiles('#c-load', path);
  const thrown = await swarm.until<CoordinatorView>(coord, (c) => /load failed/.test(c.error), 'the load whose request threw', 30_000);
  expect(thrown.error).toMatch(/DataCloneError: refused once by the test/);
  const kept = await swarm.status<CoordinatorView>(coord);
  expect([kept.state, kept.epoch, kept.commitSeq, kept.committedHash]).toEqual(['running', before.epoch, before.commitSeq, before.committedHash]);
  const intact = await onDriver(coord, (d) => d.verifyLog());
  expect(intact.ok, `the stored log after the refused load: ${intact.detail}`).toBe(true);
  expect(intact.entries).toBe(before.commitSeq);
  await onDriver(coord, (d) => d.pause(0));
  await swarm.until<CoordinatorView>(coord, (c) => c.commitSeq >= before.commitSeq + 2, 'commits after the refused load', 120_000);

  // The load itself: one transaction, then the page reloads as the next incarnation at the saved state.
  const tab = await swarm.status<LearnerView & { globalStep: number }>(page);
  const reloaded = coord.waitForEvent('load');
  await coord.setInputFiles('#c-load', path);
  await reloaded;
  const resumed = await swarm.until<CoordinatorView>(coord, (c) => c.state === 'running', 'the loaded run', 60_000);
  expect(resumed.epoch).toBe(before.epoch + 1);
  expect([resumed.restoredHash, resumed.resumedFrom], 'restored at the saved commit').toEqual([saved.committedHash, saved.commitSeq]);
  expect(await logBase(coord), 'the new log starts at the saved parameters and momentum').toEqual(savedBits);
  const joined = await swarm.until<LearnerView & { globalStep: number }>(page, (l) => l.epoch === resumed.epoch, 'the tab on the loaded state', 60_000);
  // The tab, ahead of the saved clock, takes the snapshot's (the old load kept the epoch, and a tab kept
  // its own versions, on which it pushed bases the loaded state never had).
  expect(joined.globalStep).toBeLessThanOrEqual((await swarm.status<CoordinatorView>(coord)).globalStep);
  const after = await swarm.until<LearnerView>(page, (l) => l.merges >= joined.merges + 3, 'three merges of the tab on the loaded state', 120_000);
  expect([after.state, after.error]).toEqual(['training', '']);
  await pauseAndDrain(coord);
  const verified = await onDriver(coord, (d) => d.verifyLog());
  expect(verified.ok, verified.detail).toBe(true);
  expect(verified.entries).toBeGreaterThanOrEqual(3);
  console.log(`state file: saved at commit ${saved.commitSeq} (step ${saved.globalStep}), loaded at commit ${before.commitSeq + 2}+; epoch ${before.epoch} → ${resumed.epoch}; the tab went from step ${tab.globalStep} to ${joined.globalStep}, then merged ${after.merges - joined.merges}`);
});
