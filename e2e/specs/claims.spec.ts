import type { Page } from '@playwright/test';
import { expect, test, type CoordinatorView, type LearnerView } from '@tabswarm/testing';

// Issue 10, claims the coordinator can check: one fp32 push of −3e38 from a hostile link, on a cold
// coordinator, against a live run, and right after a coordinator reload. Each is refused with a reason
// before it reaches a round; θ stays finite and the model does not move; honest tabs keep training.
// codec 0: an fp32 uplink, so the fp32 push is the run's codec. K 2: with the honest tab and the attacker
// connected, a round waits for the attacker's push instead of closing on the honest one alone.
const run = { workload: 'digits', P: '2', H: '8', K: '2', codec: '0', evalMs: '3000', tokens: '200000' };
type Heard = { type: string; epoch?: number; versions?: number[]; fragment?: number; round?: number; version?: number; seq?: number; outcome?: string; reason?: string | null };
type Evil = { open: boolean; recent(): Heard[]; send(b: number[]): Promise<void>; close(): void };
type Syncer = { rounds: { size: number }; layout: { hash: string }; cfg: { tokensPerStep: number; H: number }; fragments: Array<{ size: number }>; model: { theta: Float32Array } };
const syncer = <R>(coord: Page, fn: (s: Syncer) => R): Promise<R> =>
  coord.evaluate(`(${fn.toString()})(window.__coordinator.syncer)`) as Promise<R>;
const evilDo = <R>(page: Page, fn: (e: Evil, arg: unknown) => R | Promise<R>, arg?: unknown): Promise<R> =>
  page.evaluate(`(${fn.toString()})(window.evil, ${JSON.stringify(arg ?? null)})`) as Promise<R>;

/** Races an honest learner meets too (the round closed before the push arrived): push again into the next. */
const RACES = new Set(['round-closed', 'round-unknown', 'stale-base']);

/** Open a raw link as learner 'evil<session>' (a learner id stays bound to its first link's secret for 60 s
 * after that link closes, docs/security.md), say a correct hello, and push −3e38 into each round it is pulled for
 * until one is answered with something other than a race; returns that ack. Polls, never sleeps. */
async function attack(swarm: { learner(p: Record<string, string>): Promise<{ page: Page }>; run: Record<string, string> }, coord: Page, session: number): Promise<Heard> {
  const { encodeMessage, getCodec } = await import('@tabswarm/core');
  const fp32 = getCodec(0);
  if (!fp32.ok) throw new Error('fp32 codec missing');
  const info = await syncer(coord, (s) => ({ hash: s.layout.hash, tps: s.cfg.tokensPerStep, H: s.cfg.H, sizes: s.fragments.map((f) => f.size) }));
  const { page } = await swarm.learner({ workload: 'digits', autostart: '0' }); // a page, not a trainer: its raw link is the attacker
  await page.evaluate((id) => { const w = window as unknown as { evil: unknown; __tabswarmRawLink: (id: string) => unknown }; w.evil = w.__tabswarmRawLink(id); }, `evil${session}`);
  await expect.poll(() => evilDo(page, (e) => e.open), { timeout: 30_000, message: 'the hostile link open' }).toBe(true);
  const send = (m: Parameters<typeof encodeMessage>[0]): Promise<void> => evilDo(page, (e, b) => e.send(b as number[]), [...encodeMessage(m)]);
  await send({ type: 'hello', runId: swarm.run.run!, learnerId: `evil${session}`, session, layoutHash: info.hash, tokensPerStep: info.tps, backend: 'cpu', uplinkCodec: 0 });
  const heard = (): Promise<Heard[]> => evilDo(page, (e) => e.recent());
  await expect.poll(async () => (await heard()).some((h) => h.type === 'snapshot'), { timeout: 30_000, message: 'the snapshot answering hello' }).toBe(true);
  const pushed = new Map<number, number>(); // round → seq of our push into it
  let ack: Heard | undefined, seq = 0;
  // Claim H steps on every fragment (META), answer every pull with the poisoned push, until one is acked.
  await expect.poll(async () => {
    const hs = await heard();
    const snap = [...hs].reverse().find((h) => h.type === 'snapshot')!;
    const versions = [...snap.versions!];
    for (const h of hs) if (h.type === 'broadcast' && h.epoch === snap.epoch) versions[h.fragment!] = Math.max(versions[h.fragment!]!, h.version!);
    ack = hs.find((h) => h.type === 'ack' && [...pushed.values()].includes(h.seq!) && !RACES.has(h.reason ?? ''));
    if (ack) return true;
    const pull = [...hs].reverse().find((h) => h.type === 'pull' && !pushed.has(h.round!));
    if (pull) {
      pushed.set(pull.round!, ++seq);
      const payload = fp32.value.encode(new Float32Array(info.sizes[pull.fragment!]!).fill(-3e38));
      await send({ type: 'push', fragment: pull.fragment!, round: pull.round!, epoch: snap.epoch!, baseVersion: versions[pull.fragment!]!, seq, t: 1000, cSteps: info.H, cTokens: info.H * info.tps, codec: 0, payload });
    } else {
      await send({ type: 'meta', t: 1000, cSteps: versions.map(() => info.H), cTokens: versions.map(() => info.H * info.tps), versions, stepMs: 20 });
    }
    return false;
  }, { timeout: 60_000, intervals: [250], message: 'an answer to the poisoned push' }).toBe(true);
  await page.context().close();
  return ack!;
}

const finite = (coord: Page): Promise<boolean> => syncer(coord, (s) => s.model.theta.every(Number.isFinite));

test('a −3e38 fp32 push is refused with a reason before and after a coordinator reload; θ stays finite and honest tabs train on', async ({ swarm }) => {
  test.setTimeout(600_000);
  const coord = await swarm.coordinator(run);
  // Cold: a fresh coordinator, no norm seen yet (before this change there was no cap at all here).
  const cold0 = await swarm.status<CoordinatorView>(coord);
  const cold = await attack(swarm, coord, 1);
  expect([cold.outcome, cold.reason]).toEqual(['rejected', 'norm-outlier']);
  const cold1 = await swarm.status<CoordinatorView>(coord);
  expect([cold1.commitSeq, cold1.committedHash]).toEqual([cold0.commitSeq, cold0.committedHash]);
  expect(await finite(coord)).toBe(true);

  // Live: an honest tab trains; the attack comes while it does.
  const honest = await swarm.learner({ workload: 'digits', backend: 'wasm' });
  await swarm.until<CoordinatorView>(coord, (c) => c.commitSeq >= 4, 'four honest commits', 180_000);
  const live = await attack(swarm, coord, 2); // a new session: no remembered outcome answers for it
  expect([live.outcome, live.reason]).toEqual(['rejected', 'norm-outlier']);
  const m0 = (await swarm.status<LearnerView>(honest.page)).merges;
  await swarm.until<LearnerView>(honest.page, (l) => l.merges >= m0 + 2, 'the honest tab merging after the attack', 120_000);
  expect(await finite(coord)).toBe(true);

  // Reloaded: the honest tab goes, the coordinator reloads, the attack comes first.
  await honest.context.close();
  await coord.reload();
  const back = await swarm.until<CoordinatorView>(coord, (c) => c.state !== 'starting', 'the reloaded coordinator', 60_000);
  expect(back.state, back.error).toBe('running');
  const reloaded = await attack(swarm, coord, 3);
  expect([reloaded.outcome, reloaded.reason]).toEqual(['rejected', 'norm-outlier']);
  const after = await swarm.status<CoordinatorView>(coord);
  expect([after.commitSeq, after.committedHash]).toEqual([back.resumedFrom, back.restoredHash]);
  expect(await finite(coord)).toBe(true);
  const next = await swarm.learner({ workload: 'digits', backend: 'wasm' });
  await swarm.until<LearnerView>(next.page, (l) => l.merges >= 2, 'a new honest tab merging after the reload', 120_000);
  const final = await swarm.status<CoordinatorView>(coord);
  expect(final.rejections['norm-outlier'] ?? 0).toBeGreaterThanOrEqual(1);
  expect(final.state).toBe('running');
  expect(await finite(coord)).toBe(true);
});

type Entry = { contributors: Array<{ id: string }>; absent?: number };
type Driver = { verifyLog(): Promise<{ ok: boolean; entries: number; detail: string }>; logNdjson(): Promise<Blob> };
const onDriver = <R>(p: Page, fn: (d: Driver) => R | Promise<R>): Promise<R> => p.evaluate(`(${fn.toString()})(window.__coordinator)`) as Promise<R>;

test('a centered-clip round whose pulled learner leaves closes below K with the missing vote counted as zero, and the log replays it', async ({ swarm }) => {
  test.setTimeout(300_000);
  // K = 3, strict: no round opens until three learners are due. Two honest tabs, and a raw link that claims
  // H steps on every fragment (so it is due and pulled), then closes without pushing.
  const coord = await swarm.coordinator({ ...run, codec: '3', K: '3', merge: 'centered-clip' });
  for (let i = 0; i < 2; i++) await swarm.learner({ workload: 'digits', backend: 'wasm' });
  const info = await syncer(coord, (s) => ({ hash: s.layout.hash, tps: s.cfg.tokensPerStep, H: s.cfg.H, P: s.fragments.length }));
  const { encodeMessage } = await import('@tabswarm/core');
  const quiet = await swarm.learner({ workload: 'digits', autostart: '0' });
  await quiet.page.evaluate(() => { const w = window as unknown as { evil: unknown; __tabswarmRawLink: (id: string) => unknown }; w.evil = w.__tabswarmRawLink('quiet'); });
  await expect.poll(() => evilDo(quiet.page, (e) => e.open), { timeout: 30_000, message: 'the raw link open' }).toBe(true);
  const send = (m: Parameters<typeof encodeMessage>[0]): Promise<void> => evilDo(quiet.page, (e, b) => e.send(b as number[]), [...encodeMessage(m)]);
  await send({ type: 'hello', runId: swarm.run.run!, learnerId: 'quiet', session: 1, layoutHash: info.hash, tokensPerStep: info.tps, backend: 'cpu', uplinkCodec: 3 });
  await expect.poll(async () => {
    const hs = await evilDo(quiet.page, (e) => e.recent());
    if (hs.some((h) => h.type === 'pull')) return true;
    const zeros = new Array<number>(info.P).fill(0); // no round has opened yet: every fragment is at version 0
    if (hs.some((h) => h.type === 'snapshot')) await send({ type: 'meta', t: info.H, cSteps: zeros.map(() => info.H), cTokens: zeros.map(() => info.H * info.tps), versions: zeros, stepMs: 20 });
    return false;
  }, { timeout: 120_000, intervals: [250], message: 'a pull for the raw link' }).toBe(true);
  await evilDo(quiet.page, (e) => e.close());
  await swarm.until<CoordinatorView & { mergesBelowK: number }>(coord, (v) => v.mergesBelowK >= 1, 'a merge below K', 60_000);
  // Two learners connected, K = 3: nothing opens after the rounds that pulled it, so the log stands still.
  await expect.poll(() => syncer(coord, (s) => s.rounds.size), { timeout: 30_000, message: 'no round open' }).toBe(0);
  const c = await swarm.status<CoordinatorView & { mergesBelowK: number }>(coord);
  const entries = await onDriver(coord, async (d) => (await (await d.logNdjson()).text()).split('\n').filter((l) => l.includes('"contributors"')).map((l) => JSON.parse(l) as Entry));
  const below = entries.filter((e) => (e.absent ?? 0) > 0);
  // Up to τ = 2 rounds (one per fragment) were open and had pulled it: each merged the two honest pushes and one zero.
  expect(below.length).toBeGreaterThanOrEqual(1);
  expect(below.map((e) => [e.contributors.length, e.absent, e.contributors.some((k) => k.id === 'quiet')])).toEqual(below.map(() => [2, 1, false]));
  expect(below.length).toBe(c.mergesBelowK);
  expect(await finite(coord)).toBe(true);
  const v = await onDriver(coord, (d) => d.verifyLog());
  expect(v.ok, v.detail).toBe(true);
  expect(v.entries).toBe(c.commitSeq);
});
