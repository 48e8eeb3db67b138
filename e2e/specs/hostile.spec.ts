import type { Page } from '@playwright/test';
import { expect, test, type CoordinatorView, type LearnerView } from '@tabswarm/testing';
import { fuzzPlan } from '../fuzz-messages';

// Issue #4 and issue 10, hostile input: 10,000 malformed, non-finite, forged and replayed messages at a
// live coordinator while an honest learner trains (rounds open, merges committing) and strikes are on.
// Strikes drop a link after STRIKES invalid messages and ban its id, so the fuzzer comes back as a new
// learner id each time and sends the rest of the plan. Every frame is accounted for exactly: refused with
// a reason, or sent after the coordinator dropped that link for its strikes; none silently.
const STRIKES = 200;
const CHUNK = 500; // frames per page.evaluate

async function heapBytes(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  await cdp.detach();
  return usedSize;
}

/** What the coordinator page saw per learner id, counted at its own boundaries: frames that reached the
 * driver from the link, those of them it discarded because the syncer had dropped the link (its close
 * waits behind the signing queue), and what the syncer said about each id's events (refusals, plus decode
 * failures, which the syncer counts without a 'rejected' command); and every commit's contributors. */
type Spy = { received: Record<string, number>; discarded: Record<string, number>; refused: Record<string, number>; commits: Array<{ seq: number; contributors: string[] }> };

/** Returns the syncer's commit count when the spy starts: commits after it are the spy's to see. */
function installSpy(): number {
  const w = window as unknown as { spy: Spy; __coordinator: { incoming(id: string, b: Uint8Array): void; dropping: Set<string>; syncer: { commitSeq: number; handle(ev: { kind: string; id?: string }): Array<{ kind: string; from?: string; commit?: { seq: number; entry: { contributors: Array<{ id: string }> } } }> } } };
  const d = w.__coordinator, s = d.syncer;
  const spy: Spy = w.spy = { received: {}, discarded: {}, refused: {}, commits: [] };
  const add = (t: Record<string, number>, id: string): void => { t[id] = (t[id] ?? 0) + 1; };
  const incoming = d.incoming.bind(d);
  d.incoming = (id, b) => { add(spy.received, id); if (d.dropping.has(id)) add(spy.discarded, id); incoming(id, b); };
  const handle = s.handle.bind(s);
  s.handle = (ev) => {
    const out = handle(ev);
    if (ev.kind === 'invalid') { add(spy.refused, ev.id!); add(spy.refused, `${ev.id!}:${(ev as { reason?: string }).reason}`); }
    for (const c of out) {
      if (c.kind === 'rejected') { add(spy.refused, c.from!); add(spy.refused, `${c.from!}:${(c as { reason?: string }).reason}`); }
      if (c.kind === 'commit') spy.commits.push({ seq: c.commit!.seq, contributors: c.commit!.entry.contributors.map((x) => x.id) });
    }
    return out;
  };
  return s.commitSeq;
}

test('a live coordinator with an honest learner and strikes on refuses 10,000 hostile messages, each accounted for; only honest merges move the model', async ({ swarm }) => {
  test.setTimeout(240_000);
  const coord = await swarm.coordinator({ workload: 'digits', P: '2', H: '8', strikes: String(STRIKES) });
  const { layoutHash, tokensPerStep } = await coord.evaluate(() => {
    const s = (window as unknown as { __coordinator: { syncer: { layout: { hash: string }; cfg: { tokensPerStep: number } } } }).__coordinator.syncer;
    return { layoutHash: s.layout.hash, tokensPerStep: s.cfg.tokensPerStep }; // the run's: a hello must say the same
  });
  const plan = fuzzPlan(7, layoutHash);
  expect(plan.frames).toHaveLength(10_000);

  // The honest learner trains first, so rounds are opening while the attack comes.
  const honest = await swarm.learner({ workload: 'digits', backend: 'wasm' });
  const honestId = (await swarm.status<LearnerView>(honest.page)).learnerId;
  await swarm.until<CoordinatorView>(coord, (s) => s.commitSeq >= 2, 'two honest commits before the attack', 120_000);
  const issued0 = await coord.evaluate(installSpy);
  const before = await swarm.status<CoordinatorView>(coord);
  const heap0 = await heapBytes(coord);

  const { page } = await swarm.learner({ workload: 'digits', autostart: '0' }); // a page, not a trainer: its raw links are the attacker
  const { encodeMessage } = await import('@tabswarm/core');
  const sessions: Array<{ id: string; sent: number; closeReason: string }> = [];
  let next = 0, roundsOpenDuringAttack = 0;
  while (next < plan.frames.length) {
    const id = `fuzz${sessions.length}`;
    await page.evaluate((id) => { const w = window as unknown as { fuzz: unknown; __tabswarmRawLink: (id: string) => unknown }; w.fuzz = w.__tabswarmRawLink(id); }, id);
    await expect.poll(() => page.evaluate(() => (window as unknown as { fuzz: { open: boolean } }).fuzz.open), { timeout: 30_000, message: `link ${id} open` }).toBe(true);
    const hello = { type: 'hello', runId: swarm.run.run!, learnerId: id, session: 1, layoutHash, tokensPerStep, backend: 'cpu', uplinkCodec: 0 } as const;
    await page.evaluate((b) => (window as unknown as { fuzz: { send(b: number[]): Promise<void> } }).fuzz.send(b), [...encodeMessage(hello)]);
    await expect.poll(() => page.evaluate(() => (window as unknown as { fuzz: { received: number } }).fuzz.received), { timeout: 30_000, message: `the snapshot answering ${id}'s hello` }).toBeGreaterThan(0);
    const session = { id, sent: 0, closeReason: '' };
    sessions.push(session);
    // Frames until a send fails (the link closed) or the plan ends; the rest go to the next session.
    for (;;) {
      const fs = plan.frames.slice(next, next + CHUNK).map((f) => [...f]);
      if (fs.length === 0) break;
      const n = await page.evaluate(async (fs) => {
        const l = (window as unknown as { fuzz: { send(b: number[]): Promise<void> } }).fuzz;
        let k = 0;
        for (const f of fs) { try { await l.send(f); } catch { break; } k++; }
        return k;
      }, fs);
      session.sent += n; next += n;
      roundsOpenDuringAttack = Math.max(roundsOpenDuringAttack, await coord.evaluate(() => (window as unknown as { __coordinator: { syncer: { rounds: Map<number, unknown> } } }).__coordinator.syncer.rounds.size));
      if (n < fs.length) break;
    }
    if (next < plan.frames.length) {
      await expect.poll(() => page.evaluate(() => (window as unknown as { fuzz: { closeReason: string } }).fuzz.closeReason), { timeout: 30_000, message: `why ${id} closed` }).not.toBe('');
    }
    // The reason first: a dropped raw link reconnects on its own, and closing that one says 'local'.
    session.closeReason = await page.evaluate(() => (window as unknown as { fuzz: { closeReason: string } }).fuzz.closeReason);
    if (next < plan.frames.length) await page.evaluate(() => (window as unknown as { fuzz: { close(): void } }).fuzz.close());
  }

  // Every frame that reached the coordinator was refused with a reason, none twice, or discarded once its
  // link was dropped: per session, its refusals and discards are what it sent past its hello, plus one
  // 'too-many-strikes' when it was dropped.
  type Seen = { spy: Spy; status: CoordinatorView };
  // The status first: a commit the status shows durable was issued earlier, so the spy read after it has it.
  const seen = async (): Promise<Seen> => { const status = await swarm.status<CoordinatorView>(coord); return { status, spy: await coord.evaluate(() => (window as unknown as { spy: Spy }).spy) }; };
  const dropped = (s: { closeReason: string }): boolean => s.closeReason === 'remote:too-many-strikes';
  const settled = (x: Seen): boolean => sessions.every((s) => (x.spy.refused[s.id] ?? 0) + (x.spy.discarded[s.id] ?? 0) === (x.spy.received[s.id] ?? 0) - 1 + (dropped(s) ? 1 : 0)
    && (dropped(s) || (x.spy.received[s.id] ?? 0) - 1 === s.sent));
  let last: Seen | undefined;
  await expect.poll(async () => settled(last = await seen()), { timeout: 60_000, message: 'every frame that arrived refused' }).toBe(true).catch((e: unknown) => {
    console.log(JSON.stringify(sessions.map((s) => [s.id, s.sent, last!.spy.received[s.id], last!.spy.refused[s.id], s.closeReason])), JSON.stringify(last!.spy.refused));
    throw e;
  });
  const { spy, status: after } = last!;
  const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
  const lost = sessions.map((s) => s.sent - ((spy.received[s.id] ?? 0) - 1));
  console.log(`fuzz: ${sessions.length} sessions (${sessions.filter(dropped).length} dropped by strikes), sent ${sum(Object.fromEntries(sessions.map((s) => [s.id, s.sent])))}, `
    + `refused ${sum(after.rejections) - sum(before.rejections)} ${JSON.stringify(after.rejections)}, after a drop ${sum(Object.fromEntries(lost.map((n, i) => [i, n])))}; `
    + `rounds open ${roundsOpenDuringAttack}; commits ${before.commitSeq} → ${after.commitSeq}; sent ${JSON.stringify(plan.byKind)}`);
  expect(sessions.reduce((n, s) => n + s.sent, 0)).toBe(10_000);
  sessions.forEach((s, i) => {
    expect(lost[i], `${s.id}: frames sent that never reached the coordinator`).toBeGreaterThanOrEqual(0);
    if (!dropped(s)) expect(lost[i], `${s.id} closed for ${s.closeReason || 'nothing'}, not strikes, yet lost frames`).toBe(0);
  });
  expect(sessions.slice(0, -1).every(dropped)).toBe(true); // each session ended by its strikes, none by the transport
  // A struck link is gone at once: what it sent before its close was carried out got no answer (before, each
  // got a signed 'unknown-learner' frame, queued ahead of the close itself).
  for (const s of sessions) expect(spy.refused[`${s.id}:unknown-learner`] ?? 0, `${s.id}: signed answers after its drop`).toBe(0);
  console.log(`discarded after a drop: ${sum(spy.discarded)} frames`);
  // The status's count is exact: every refusal the syncer said, honest races included, and nothing else. The
  // page's status is rendered every 250 ms, so it may trail the spy: polled, not read once.
  const spied = (x: Seen): number => sum(Object.fromEntries(Object.entries(x.spy.refused).filter(([k]) => !k.includes(':'))));
  await expect.poll(async () => { const x = await seen(); return sum(x.status.rejections) - sum(before.rejections) - spied(x); }, { timeout: 10_000, message: 'the status counts what the syncer refused' }).toBe(0);
  expect(roundsOpenDuringAttack).toBeGreaterThan(0);
  expect(after.state).toBe('running');
  // Only honest merges move the model: every commit durable since the spy started (the syncer issues a commit
  // before its write lands) merged the honest learner alone.
  for (let seq = issued0 + 1; seq <= after.commitSeq; seq++) expect(spy.commits.find((c) => c.seq === seq)?.contributors, `commit ${seq}`).toEqual([honestId]);
  for (const c of spy.commits) expect(c.contributors).toEqual([honestId]);
  if (after.commitSeq === before.commitSeq) expect(after.committedHash).toBe(before.committedHash);
  const heap1 = await heapBytes(coord);
  console.log(`heap ${(heap0 / 1e6).toFixed(1)} → ${(heap1 / 1e6).toFixed(1)} MB`);
  expect(heap1 - heap0).toBeLessThan(50e6);
  // The honest learner keeps merging after the attack.
  await swarm.until<CoordinatorView>(coord, (s) => s.commitSeq > after.commitSeq, 'an honest merge after the attack', 120_000);
});
