import type { Page } from '@playwright/test';
import { expect, startStack, test, type CoordinatorView, type LearnerView } from '@tabswarm/testing';

// Issue #10, identities (docs/security.md): the coordinator proves who it is, and knowing a learner's id
// is not enough to take its link.
const fast = { workload: 'digits', P: '2', H: '8', evalMs: '3000', tokens: '200000' };

type Raw = { open: boolean; closes: number; close(): void };
const raw = <R>(p: Page, fn: (r: Raw) => R): Promise<R> => p.evaluate(`(${fn.toString()})(window.squat)`) as Promise<R>;

test('a link opened with a victim\'s learner id is refused: the victim keeps its link and keeps contributing', async ({ swarm }) => {
  test.setTimeout(300_000);
  const coord = await swarm.coordinator(fast);
  const victim = await swarm.learner({ workload: 'digits', backend: 'wasm' });
  const v0 = await swarm.until<LearnerView>(victim.page, (s) => s.merges >= 1, 'the victim merges', 120_000);

  // The attacker knows the victim's id (it is on the coordinator's dashboard) but not its session's secret.
  const { page: attacker } = await swarm.learner({ workload: 'digits', autostart: '0' });
  await attacker.evaluate((id) => { (window as unknown as { squat: unknown }).squat = (window as unknown as { __tabswarmRawLink: (id: string) => unknown }).__tabswarmRawLink(id); }, v0.learnerId);
  await expect.poll(() => raw(attacker, (r) => r.closes), { timeout: 30_000, message: 'the squatting link refused' }).toBeGreaterThan(0);
  const refused = await swarm.until<CoordinatorView>(coord, (s) => (s.refusedConnections['id-in-use'] ?? 0) >= 1, 'the coordinator counts the refusal');
  expect(refused.refusedConnections['id-in-use']).toBe(1); // refused once: the squatter does not retry
  expect(await raw(attacker, (r) => r.open)).toBe(false);

  // The victim's link was never replaced: same learner, still connected, merges keep coming.
  const v1 = await swarm.status<LearnerView>(victim.page);
  expect(v1.state).toBe('training');
  const v2 = await swarm.until<LearnerView>(victim.page, (s) => s.merges >= v1.merges + 3, 'the victim keeps contributing', 120_000);
  expect(v2.error).toBe('');
  const c = await swarm.status<CoordinatorView>(coord);
  expect(c.learners.filter((l) => l.id === v0.learnerId).map((l) => l.connected)).toEqual([true]);
});

// A duplicated tab copies its sessionStorage, so it shows up with its original's learner id and secret and
// takes over its link. Before, the original stopped for good ("another tab with this learner id took
// over"); now the tab whose id another session holds rejoins under a fresh id, and both contribute.
test('a duplicated tab (the same id and secret) and its original both go on contributing, under two ids', async ({ swarm }) => {
  test.setTimeout(300_000);
  const coord = await swarm.coordinator(fast);
  const orig = await swarm.learner({ workload: 'digits', backend: 'wasm' });
  const o0 = await swarm.until<LearnerView>(orig.page, (s) => s.merges >= 1, 'the original merges', 120_000);
  const copied = await orig.page.evaluate(() => ({ ...sessionStorage }));
  expect(Object.keys(copied)).toContain('tabswarm.learnerId');
  const dup = await orig.context.newPage();
  // Copied once, as a browser's "Duplicate" does; the marker keeps a reload of the copy from copying again.
  await dup.addInitScript((kv) => {
    if (sessionStorage.getItem('test.duplicated')) return;
    for (const [k, v] of Object.entries(kv)) sessionStorage.setItem(k, v);
    sessionStorage.setItem('test.duplicated', '1');
  }, copied);
  await dup.goto(orig.page.url());
  const both = async (): Promise<LearnerView[]> => [await swarm.status<LearnerView>(orig.page), await swarm.status<LearnerView>(dup)];
  // A tab that rejoins reloads: while it is between documents there is no status to read (null, or the read fails).
  const ready = async (): Promise<boolean> => {
    const [a, b] = await both().catch(() => [null, null]);
    return !!a && !!b && a.learnerId !== b.learnerId && a.merges >= 2 && b.merges >= 2 && a.error === '' && b.error === '';
  };
  await expect.poll(ready, { timeout: 180_000, message: 'both tabs merging under distinct ids' }).toBe(true);
  const [a, b] = await both();
  expect([a!.learnerId, b!.learnerId], 'one of them kept the id').toContain(o0.learnerId);
  expect([a!.state, b!.state]).toEqual(['training', 'training']);
  const c = await swarm.status<CoordinatorView>(coord);
  for (const id of [a!.learnerId, b!.learnerId]) expect(c.learners.filter((l) => l.id === id).map((l) => l.connected), id).toEqual([true]);
  console.log(`duplicated tab: ${o0.learnerId} → ${a!.learnerId} (original) and ${b!.learnerId} (copy)`);
});

type Impostor = { syncer: { epoch: number }; feed(ev: { kind: string; msg?: { type: string } }): void; seen: Record<string, number> };

test('an impostor coordinator with its own key, on a second stack, is refused: 0 pushes, its epoch 2^32-1 changes nothing, the same tab then trains with the real one and keeps its key across loads', async ({ swarm, browser }) => {
  test.setTimeout(400_000);
  const coord = await swarm.coordinator(fast);
  const real = await swarm.status<CoordinatorView>(coord);
  const evil = await startStack({ quiet: true }); // the attacker's own signalling and page servers
  const ctx = await browser.newContext();
  try {
    // The impostor runs the real coordinator page for the same run id, so it has a key of its own, and
    // takes the last epoch: a learner that believed its snapshot would refuse the real coordinator forever.
    const imp = await ctx.newPage();
    await imp.goto(`${evil.baseUrl}/coordinator/?${new URLSearchParams({ ...swarm.run, ...fast, signal: evil.signal })}`);
    const fake = await swarm.until<CoordinatorView>(imp, (s) => s.state === 'running', 'the impostor coordinator', 120_000);
    expect(fake.fingerprint).not.toBe(real.fingerprint);
    await imp.evaluate(() => {
      const d = (window as unknown as { __coordinator: Impostor }).__coordinator;
      d.syncer.epoch = 2 ** 32 - 1;
      d.seen = {};
      const feed = d.feed.bind(d);
      d.feed = (ev) => { const k = ev.msg?.type ?? ev.kind; d.seen[k] = (d.seen[k] ?? 0) + 1; feed(ev); };
    });

    // A join URL that pins the real key (#coord=) but whose signal= leads to the impostor's stack.
    const { page } = await swarm.learner({ workload: 'digits', backend: 'wasm', signal: evil.signal });
    const refused = await swarm.until<LearnerView>(page, (s) => (s.identityRefusals['wrong-key'] ?? 0) >= 3, 'the learner refuses the impostor three times', 120_000);
    const seen = await imp.evaluate(() => (window as unknown as { __coordinator: Impostor }).__coordinator.seen);
    expect(seen.join ?? 0).toBeGreaterThanOrEqual(1); // the impostor did hear the learner's hello
    expect(seen.push ?? 0).toBe(0); // and got no push
    expect(refused.error).toMatch(/coordinator identity refused: wrong-key/);
    expect(refused.epoch).toBe(0); // nothing adopted
    expect(refused.pushes).toBe(0);
    expect(refused.coordinator).toBe(real.fingerprint);
    expect(refused.pinnedBy).toBe('join URL');

    // The volunteer opens the real join URL in the same tab: it trains with the real coordinator, at its epoch.
    const id = refused.learnerId;
    await page.goto(`${swarm.stack.baseUrl}/learner/?${new URLSearchParams({ ...swarm.run, workload: 'digits', backend: 'wasm', autostart: '1' })}#${swarm.pin()}`);
    const ok = await swarm.until<LearnerView>(page, (s) => s.merges >= 2, 'the same tab merges with the real coordinator', 120_000);
    expect(ok.learnerId).toBe(id);
    expect(ok.epoch).toBe(real.epoch);
    expect(ok.identityRefusals).toEqual({});
    const c = await swarm.status<CoordinatorView>(coord);
    expect(c.state).toBe('running');
    expect(c.learners.map((l) => l.id)).toContain(id);
    expect((await imp.evaluate(() => (window as unknown as { __coordinator: Impostor }).__coordinator.seen)).push ?? 0).toBe(0);

    // Then a join URL without #coord= that leads to the impostor: the tab still trusts only the key it trusted
    // for this run before the load (before, a load without #coord= trusted whichever key signed first).
    await page.goto(`${swarm.stack.baseUrl}/learner/?${new URLSearchParams({ ...swarm.run, workload: 'digits', backend: 'wasm', autostart: '1', signal: evil.signal })}`);
    const kept = await swarm.until<LearnerView>(page, (s) => (s.identityRefusals['wrong-key'] ?? 0) >= 2, 'the reloaded tab refuses the impostor', 120_000);
    expect(kept.pinnedBy).toBe('earlier load');
    expect(kept.error).toMatch(/wrong-key .*this tab trusted another key for this run before/);
    expect(kept.coordinator).toBe(real.fingerprint);
    expect(kept.epoch).toBe(0);
    expect(kept.pushes).toBe(0);
    expect((await imp.evaluate(() => (window as unknown as { __coordinator: Impostor }).__coordinator.seen)).push ?? 0).toBe(0);
  } finally {
    await ctx.close();
    await evil.close();
  }
});
