import type { Page } from '@playwright/test';
import { expect, test, type CoordinatorView, type LearnerView } from '@tabswarm/testing';

// Issue 10, part 7: storage that never silently forgets.
const fast = { workload: 'digits', P: '2', H: '8', evalMs: '3000', tokens: '200000' };
type Stored = CoordinatorView & { lostEpoch: number | null; keyMade: boolean; storage: { persistence: string; usage: number | null; quota: number | null } | null };

/** Deletes the run's database the way eviction would: with no page of the run open. */
async function deleteRunDatabase(coord: Page, baseUrl: string, runId: string): Promise<void> {
  const url = coord.url();
  await coord.goto('about:blank'); // closes the page's connection (and its Web Lock)
  const helper = await coord.context().newPage();
  await helper.goto(`${baseUrl}/`);
  const outcome = await helper.evaluate((name) => new Promise<string>((resolve) => {
    const req = indexedDB.deleteDatabase(name);
    req.onsuccess = () => resolve('deleted');
    req.onerror = () => resolve(`error: ${String(req.error)}`);
    req.onblocked = () => resolve('blocked');
  }), `tabswarm-run-${runId}`);
  expect(outcome).toBe('deleted');
  await helper.close();
  await coord.goto(url);
}

test('the coordinator asks for persistent storage and shows the answer', async ({ swarm }) => {
  const coord = await swarm.coordinator(fast);
  const s = await swarm.until<Stored>(coord, (c) => c.storage !== null, 'the storage facts');
  expect(['granted', 'denied', 'unsupported']).toContain(s.storage!.persistence);
  expect(s.storage!.quota).toBeGreaterThan(0);
  await expect(coord.locator('#c-storage')).toContainText(/persistent|persistence/);
  // A fresh profile: the run's key is made by this start, and said so; a reload finds it.
  expect(s.keyMade).toBe(true);
  await expect(coord.locator('#c-storage')).toContainText('run key made by this start');
  await coord.reload();
  const again = await swarm.until<Stored>(coord, (c) => c.state === 'running' && c.storage !== null, 'the reloaded coordinator');
  expect([again.keyMade, again.fingerprint]).toEqual([false, s.fingerprint]);
  await expect(coord.locator('#c-storage')).not.toContainText('run key made');
});

test('the database deleted between reloads: no silent restart from θ₀, and restarting is the operator\'s explicit action', async ({ swarm }) => {
  test.setTimeout(400_000);
  const coord = await swarm.coordinator(fast);
  const { page: learner } = await swarm.learner({ workload: 'digits', backend: 'wasm' });
  const before = await swarm.until<CoordinatorView>(coord, (c) => c.commitSeq >= 3, 'three commits', 180_000);
  const l0 = await swarm.until<LearnerView & { epoch: number }>(learner, (l) => l.epoch === before.epoch, 'the learner at the coordinator epoch', 30_000);

  await deleteRunDatabase(coord, swarm.stack.baseUrl, swarm.run.run!);
  // Before: a new run at epoch 1 from θ₀, which the learner refused forever (no downtime counted either).
  const lost = await swarm.until<Stored>(coord, (c) => c.lostEpoch !== null || c.state === 'failed', 'the coordinator to notice its state is gone', 90_000);
  expect(lost.lostEpoch, 'the epoch this profile recorded for the run').toBe(l0.epoch);
  expect(lost.state).toBe('failed');
  expect(lost.error).toMatch(/database is gone.*will not silently restart from θ₀/);
  expect(lost.commitSeq, 'nothing committed over the lost run').toBe(0);
  await expect(coord.locator('#c-restart')).toBeVisible();
  expect((await swarm.status<LearnerView & { epoch: number }>(learner)).epoch).toBe(l0.epoch);
  // Reloads do not wear the evidence down (each used to count an incarnation up toward the recorded epoch).
  for (let i = 0; i < 2; i++) {
    await coord.reload();
    const still = await swarm.until<Stored>(coord, (c) => c.state === 'failed', `still refused after reload ${i + 1}`, 60_000);
    expect([still.lostEpoch, still.commitSeq]).toEqual([l0.epoch, 0]);
  }

  await coord.locator('#c-restart').click(); // the explicit operator action; the page reloads
  const restarted = await swarm.until<Stored>(coord, (c) => c.state === 'running' && c.epoch > l0.epoch, 'the restarted run', 90_000);
  expect(restarted.lostEpoch).toBeNull();
  await swarm.until<CoordinatorView>(coord, (c) => c.commitSeq >= 2, 'commits of the restarted run', 120_000);
  await swarm.until<LearnerView & { epoch: number }>(learner, (l) => l.epoch === restarted.epoch, 'the learner on the new epoch', 30_000);
});

// Before, Load state on the lost-database page (the way back its message offers) threw "the coordinator
// is not running"; and had the file been written, the incarnation would have stayed below the recorded
// epoch, so the next reload would have refused again.
test('the database deleted between reloads: a saved state file loaded there resumes the run above the recorded epoch, and the tab trains on it', async ({ swarm }) => {
  test.setTimeout(400_000);
  const coord = await swarm.coordinator(fast);
  const { page: learner } = await swarm.learner({ workload: 'digits', backend: 'wasm' });
  await swarm.until<CoordinatorView>(coord, (c) => c.commitSeq >= 3, 'three commits', 180_000);
  const [download] = await Promise.all([coord.waitForEvent('download'), coord.click('#c-download')]);
  const path = await download.path();
  const l0 = await swarm.until<LearnerView & { epoch: number }>(learner, (l) => l.epoch > 0, 'the learner at the coordinator epoch', 30_000);

  await deleteRunDatabase(coord, swarm.stack.baseUrl, swarm.run.run!);
  const lost = await swarm.until<Stored>(coord, (c) => c.lostEpoch !== null || c.state === 'failed', 'the coordinator to notice its state is gone', 90_000);
  expect([lost.state, lost.lostEpoch]).toEqual(['failed', l0.epoch]);

  const reloaded = coord.waitForEvent('load', { timeout: 60_000 });
  await coord.setInputFiles('#c-load', path);
  await reloaded.catch(async () => expect((await swarm.status<Stored>(coord)).error, 'the page reloads after the load').toBe(''));
  const resumed = await swarm.until<Stored>(coord, (c) => c.state !== 'starting' && c.storage !== null, 'the loaded run', 90_000);
  expect([resumed.state, resumed.error, resumed.lostEpoch]).toEqual(['running', '', null]);
  expect(resumed.epoch, 'above the epoch the learner holds, so it takes the loaded state').toBeGreaterThan(l0.epoch);
  expect(resumed.resumedFrom, 'restored at the saved commit, not θ₀').toBeGreaterThanOrEqual(3);
  const joined = await swarm.until<LearnerView & { epoch: number }>(learner, (l) => l.epoch === resumed.epoch, 'the tab on the loaded state', 60_000);
  await swarm.until<LearnerView>(learner, (l) => l.merges >= joined.merges + 2, 'two merges of the tab on the loaded state', 120_000);
  await coord.reload();
  const again = await swarm.until<Stored>(coord, (c) => c.state !== 'starting' && c.storage !== null, 'the run after one more reload', 60_000);
  expect([again.state, again.lostEpoch], 'a reload after the load resumes it, no longer refused').toEqual(['running', null]);
  console.log(`lost database: recorded epoch ${l0.epoch}; the state file from commit ${resumed.resumedFrom} loaded as epoch ${resumed.epoch}, then ${again.epoch} after a reload`);
});

// Before, a fresh coordinator that had not committed stopped and asked on one push or META claiming a later
// epoch or versions it never sent: anyone with the join URL could stop a new run. The evidence is now the
// profile's own record of the run's epochs (identity.ts), so what a learner claims changes nothing.
test('a stranger claiming a later epoch and newer versions does not stop a fresh run', async ({ swarm }) => {
  test.setTimeout(300_000);
  const coord = await swarm.coordinator(fast);
  const { layoutHash, tokensPerStep } = await swarm.until<CoordinatorView>(coord, (c) => c.state === 'running', 'the fresh run').then(() => coord.evaluate(() => {
    const s = (window as unknown as { __coordinator: { syncer: { layout: { hash: string }; cfg: { tokensPerStep: number } } } }).__coordinator.syncer;
    return { layoutHash: s.layout.hash, tokensPerStep: s.cfg.tokensPerStep };
  }));
  const { page } = await swarm.learner({ workload: 'digits', autostart: '0' }); // a page whose raw link is the stranger
  type Raw = { open: boolean; received: number; send(b: number[]): Promise<void> };
  await page.evaluate(() => { const w = window as unknown as { raw: unknown; __tabswarmRawLink: (id: string) => unknown }; w.raw = w.__tabswarmRawLink('stranger'); });
  await expect.poll(() => page.evaluate(() => (window as unknown as { raw: Raw }).raw.open), { timeout: 30_000, message: 'the stranger\'s link open' }).toBe(true);
  const { encodeMessage, fp32 } = await import('@tabswarm/core');
  const send = (m: Parameters<typeof encodeMessage>[0]): Promise<void> => page.evaluate((b) => (window as unknown as { raw: Raw }).raw.send(b), [...encodeMessage(m)]);
  await send({ type: 'hello', runId: swarm.run.run!, learnerId: 'stranger', session: 1, layoutHash, tokensPerStep, backend: 'cpu', uplinkCodec: 0 });
  await expect.poll(() => page.evaluate(() => (window as unknown as { raw: Raw }).raw.received), { timeout: 30_000, message: 'the snapshot answering the hello' }).toBeGreaterThan(0);
  await send({ type: 'meta', t: 5_000, cSteps: [8, 8], cTokens: [256, 256], versions: [900, 900], stepMs: 20 });
  await send({ type: 'push', fragment: 0, round: 1, epoch: 0xffff_fff0, baseVersion: 900, seq: 1, t: 5_000, cSteps: 8, cTokens: 256, codec: 0, payload: fp32.encode(new Float32Array(4), 128) });
  const claimed = await swarm.until<Stored>(coord, (c) => Object.values(c.rejections).reduce((a, b) => a + b, 0) >= 1, 'the forged push refused', 30_000);
  expect([claimed.state, claimed.lostEpoch]).toEqual(['running', null]);

  await swarm.learner({ workload: 'digits', backend: 'wasm' });
  const after = await swarm.until<Stored>(coord, (c) => c.commitSeq >= 2 || c.state !== 'running', 'honest commits after the claims', 180_000);
  expect([after.state, after.lostEpoch, after.error]).toEqual(['running', null, '']);
  expect(after.commitSeq).toBeGreaterThanOrEqual(2);
});

test('a commit refused by a full quota (real IndexedDB): the last commit intact, the coordinator keeps serving, retention offers and prunes the log, the run continues', async ({ swarm }) => {
  test.setTimeout(400_000);
  const coord = await swarm.coordinator({ ...fast, logTail: '2' });
  await swarm.learner({ workload: 'digits', backend: 'wasm' });
  await swarm.until<CoordinatorView>(coord, (c) => c.commitSeq >= 8, 'eight commits', 180_000);
  // Chromium's own quota, lowered to what the origin uses now plus 32 KiB: the next commits fill it.
  const cdp = await coord.context().newCDPSession(coord);
  const origin = new URL(swarm.stack.baseUrl).origin;
  const usage = await coord.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: usage + 32 * 1024 });
  type Q = Stored & { quotaErrors: number; prunedThrough: number; storageWait: string };
  let lifted = false;
  try {
    const hit = await swarm.until<Q>(coord, (c) => c.quotaErrors >= 2 || c.state === 'failed', 'a commit refused by the quota, and retried', 120_000);
    console.log(`quota: usage ${usage} B; refused at commit ${hit.commitSeq + 1}: ${hit.storageWait}`);
    expect(hit.state, hit.error).toBe('running'); // it keeps serving
    expect(hit.storageWait).toMatch(new RegExp(`^commit ${hit.commitSeq + 1} waits for storage`));
    // The previous commit is intact: on disk (a replay of the stored log reproduces it, below) and in memory.
    const held = await swarm.status<Q>(coord);
    expect(held.commitSeq).toBe(hit.commitSeq);
    expect(held.committedHash).toBe(hit.committedHash);
    // Chromium refuses even the deletion at its quota, so retention runs at the first write that fits:
    // here the quota returns to the browser's own, as when the operator frees disk space.
    await cdp.send('Storage.overrideQuotaForOrigin', { origin });
    lifted = true;
    const after = await swarm.until<Q>(coord, (c) => c.prunedThrough > 0 && c.commitSeq >= hit.commitSeq + 3, 'retention, then commits', 120_000);
    expect(after.state).toBe('running');
    expect(after.storageWait).toBe('');
    await expect(coord.locator('#c-pruned button').first()).toContainText(/Download pruned log, commits 1–/);
  } finally {
    if (!lifted) await cdp.send('Storage.overrideQuotaForOrigin', { origin }); // back to the browser's own quota
  }
  // The pruned part this page holds and the stored tail still replay to the committed state, bit for bit.
  await coord.evaluate(() => (window as unknown as { __coordinator: { pause(ms: number): void } }).__coordinator.pause(60_000));
  await expect.poll(() => coord.evaluate(() => (window as unknown as { __coordinator: { drained: boolean } }).__coordinator.drained), { timeout: 20_000 }).toBe(true);
  const v = await coord.evaluate(() => (window as unknown as { __coordinator: { verifyLog(): Promise<{ ok: boolean; detail: string }> } }).__coordinator.verifyLog());
  expect(v.ok, v.detail).toBe(true);
});
