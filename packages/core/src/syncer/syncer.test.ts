import { describe, expect, it } from 'vitest';
import { encodeMessage, type FullBroadcastMsg, type Message } from '../protocol';
import { DEFAULT_GRACE } from '../grace';
import type { DurableState } from './commit';
import { makeSyncConfig, type SyncConfig } from './config';
import type { Msg, SyncCommand } from './events';
import { Syncer } from './syncer';
import { fp32, init, layout } from './syncer-fixtures'; // two tensors of two values: P=2 puts one in each fragment

// minStepMs is tiny so these millisecond-scale scripts never trip the claims guard, and stepBound huge so
// their hand-made deltas (no optimizer made them) pass the absolute norm cap: both are tested in guards.test.ts.
function setup(over: Partial<SyncConfig> = {}, epoch = 1): Syncer {
  return new Syncer(makeSyncConfig({ runId: 'r', P: 2, H: 4, tau: 1, K: 1, uplinkCodec: 0, minStepMs: 1e-3, tokensPerStep: 10, stepBound: Number.MAX_VALUE, ...over }), layout, init, epoch);
}
const hello = (id: string, hash = layout.hash): Msg<'hello'> => ({
  type: 'hello', runId: 'r', learnerId: id, session: 0, layoutHash: hash, tokensPerStep: 10, backend: 'cpu', uplinkCodec: 0,
});
const meta = (steps: number, versions = [0, 0]): Msg<'meta'> => ({
  type: 'meta', t: steps, cSteps: [steps, steps], cTokens: [10 * steps, 10 * steps], versions, stepMs: 100,
});
const push = (round: number, fragment: number, delta: number[], extra: Partial<Msg<'push'>> = {}): Msg<'push'> => ({
  type: 'push', fragment, round, epoch: 1, baseVersion: 0, seq: round, t: 4, cSteps: 4, cTokens: 40, codec: 0,
  payload: fp32.encode(Float32Array.from(delta)), ...extra,
});
const sent = (cmds: SyncCommand[], type: Message['type']): Message[] =>
  cmds.flatMap((c) => (c.kind === 'send' || c.kind === 'broadcast') && c.msg.type === type ? [c.msg] : []);
const rejected = (cmds: SyncCommand[]): string[] => cmds.flatMap((c) => (c.kind === 'rejected' ? [c.reason] : []));

describe('Syncer', () => {
  it('answers a hello with a full snapshot and refuses a different model', () => {
    const s = setup();
    const snap = sent(s.handle({ kind: 'join', id: 'x', now: 0, hello: hello('x') }), 'snapshot')[0] as Msg<'snapshot'>;
    expect([...snap.params]).toEqual([1, 2, 3, 4]);
    expect(snap.versions).toEqual([0, 0]);
    const bad = s.handle({ kind: 'join', id: 'y', now: 0, hello: hello('y', 'other') });
    expect(rejected(bad)).toEqual(['layout-mismatch']);
    expect(bad.some((c) => c.kind === 'drop' && c.id === 'y')).toBe(true);
  });

  it("follows a learner's move to another backend: the backend message replaces what its hello said, for that learner only", () => {
    const s = setup();
    s.handle({ kind: 'join', id: 'x', now: 0, hello: hello('x') });
    s.handle({ kind: 'join', id: 'y', now: 0, hello: hello('y') });
    const before = s.snapshotFor();
    expect(s.handle({ kind: 'message', id: 'x', now: 1, msg: { type: 'backend', backend: 'webgl' } })).toEqual([]);
    expect([s.learners.get('x')?.backend, s.learners.get('y')?.backend]).toEqual(['webgl', 'cpu']);
    expect(s.learners.get('x')?.strikes).toBe(0);
    expect(s.snapshotFor()).toEqual(before); // what the table shows, nothing the run depends on
    // A reconnect's hello is the learner's word again.
    s.handle({ kind: 'join', id: 'x', now: 2, hello: { ...hello('x'), backend: 'wasm' } });
    expect(s.learners.get('x')?.backend).toBe('wasm');
    // From a connection that never said hello: refused like any other message, and nobody's row changes.
    expect(rejected(s.handle({ kind: 'message', id: 'z', now: 3, msg: { type: 'backend', backend: 'webgpu' } }))).toEqual(['unknown-learner']);
    expect(s.learners.has('z')).toBe(false);
  });

  it('paces rounds by learner steps: fragment p is first due after H·(p+1)/P steps', () => {
    const s = setup();
    s.handle({ kind: 'join', id: 'x', now: 0, hello: hello('x') });
    expect(sent(s.handle({ kind: 'message', id: 'x', now: 1, msg: meta(1) }), 'pull')).toEqual([]);
    // H=4, P=2: fragment 0 comes due at ceil(4·1/2) = 2 steps.
    expect(sent(s.handle({ kind: 'message', id: 'x', now: 2, msg: meta(2) }), 'pull')).toEqual([{ type: 'pull', fragment: 0, round: 1 }]);
  });

  it('merges a lone push with the outer Nesterov step (hand-worked) and broadcasts to all', () => {
    const s = setup({ downlink: 'fp32' }); // the exact step; the quantised downlink has its own tests (downlink.test.ts)
    s.handle({ kind: 'join', id: 'x', now: 0, hello: hello('x') });
    s.handle({ kind: 'message', id: 'x', now: 1, msg: meta(4) });
    // Learner moved fragment 0 from [1,2] to [1.1, 1.8]: delta +0.1, −0.2. Outer gradient D = Θ − θ = [−0.1, 0.2].
    // One contributor: RDA returns D itself. Nesterov from b=0: b = D; Θ' = Θ − 0.7·(D + 0.9·D) = Θ − 1.33·D.
    const out = s.handle({ kind: 'message', id: 'x', now: 2, msg: push(1, 0, [0.1, -0.2]) });
    const b = sent(out, 'broadcast')[0] as FullBroadcastMsg;
    expect(b.version).toBe(1);
    expect(b.values[0]).toBeCloseTo(1 + 1.33 * 0.1, 5);
    expect(b.values[1]).toBeCloseTo(2 - 1.33 * 0.2, 5);
    expect(sent(out, 'ack')).toEqual([{ type: 'ack', fragment: 0, round: 1, seq: 1, session: 0, outcome: 'merged', reason: null }]);
    expect(s.model.versions).toEqual([1, 0]);
    expect(s.mergedTokens).toBe(20); // 40 tokens on one of P=2 fragments credit 40/2
  });

  it("'auto': a lone push among three learners takes a Delayed Nesterov step (N = 3), logged with its merge", () => {
    const s = setup({ downlink: 'fp32', grace: { ...DEFAULT_GRACE, rule: 'off' } });
    for (const id of ['x', 'y', 'z']) s.handle({ kind: 'join', id, now: 0, hello: hello(id) });
    for (const id of ['x', 'y', 'z']) s.handle({ kind: 'message', id, now: 1, msg: meta(4) });
    // No grace: x's push closes round 1 alone. Window [1], M = 3: 1 < 1.5 → Delayed Nesterov, N = 3; the
    // cycle's first merge is a plain step Θ − η·D/3 with D = [−0.1, 0.2]: Θ' = [1 + 0.07/3, 2 − 0.14/3].
    const out = s.handle({ kind: 'message', id: 'x', now: 2, msg: push(1, 0, [0.1, -0.2]) });
    const commit = out.find((c) => c.kind === 'commit');
    expect(commit?.kind === 'commit' && commit.commit.entry.outer).toEqual({ kind: 'delayed-nesterov', delayPeriod: 3 });
    const b = sent(out, 'broadcast')[0] as FullBroadcastMsg;
    expect(b.values[0]).toBeCloseTo(1 + 0.07 / 3, 6);
    expect(b.values[1]).toBeCloseTo(2 - 0.14 / 3, 6);
    expect(s.model.outer[0]!.count).toBe(1);
    expect(s.outerPolicy.current.map((d) => d?.kind ?? null)).toEqual(['delayed-nesterov', null]);
    expect(s.outerPolicy.merges).toEqual({ nesterov: 0, 'delayed-nesterov': 1 });
  });

  it('waits after the quorum for the learners expected within the cap, then refuses a later push as round-closed', () => {
    const s = setup();
    for (const id of ['x', 'y']) s.handle({ kind: 'join', id, now: 0, hello: hello(id) });
    for (const id of ['x', 'y']) s.handle({ kind: 'message', id, now: 1, msg: meta(4) });
    // Round 1 (fragment 0) pulled both at t=1. x answers at 10: quorum (K=1). y has never answered, so it may
    // take the whole cap: min(2000 ms, 2 steps · 100 ms) = 200 → wake at 210.
    const q = s.handle({ kind: 'message', id: 'x', now: 10, msg: push(1, 0, [0, 0]) });
    expect(q.find((c) => c.kind === 'wake')).toEqual({ kind: 'wake', at: 210 });
    expect(sent(q, 'broadcast')).toEqual([]);
    // y answers at 30: everyone has, the round closes early, merging both; round 2 (fragment 1) opens at once.
    const both = s.handle({ kind: 'message', id: 'y', now: 30, msg: push(1, 0, [0, 0]) });
    const c1 = both.find((c) => c.kind === 'commit');
    expect(c1?.kind === 'commit' && c1.commit.entry.contributors.map((c) => c.id)).toEqual(['x', 'y']);
    expect(sent(both, 'pull')).toEqual([{ type: 'pull', fragment: 1, round: 2 }]);
    // Response bounds (srtt + 4·rttvar): x 9 + 4·4.5 = 27 ms, y 29 + 4·14.5 = 87 ms. x answers round 2 at 40:
    // y is expected at its pull (30) + 87 = 117, inside the cap → wake at 117.
    const q2 = s.handle({ kind: 'message', id: 'x', now: 40, msg: push(2, 1, [0, 0], { seq: 2 }) });
    expect(q2.find((c) => c.kind === 'wake')).toEqual({ kind: 'wake', at: 117 });
    expect(sent(s.handle({ kind: 'tick', now: 117 }), 'broadcast')).toHaveLength(1);
    const late = s.handle({ kind: 'message', id: 'y', now: 120, msg: push(2, 1, [0, 0], { seq: 2 }) });
    expect(rejected(late)).toEqual(['round-closed']);
    expect(s.rejections.get('round-closed')).toBe(1);
    // The late answer (90 ms) still teaches the window: rttvar 14.5 + (61 − 14.5)/4 = 26.125, srtt 29 + 61/8 = 36.625.
    expect(s.learners.get('y')!.response.bound(5)).toBeCloseTo(36.625 + 4 * 26.125, 10);
  });

  it('with the paper\'s Eq. 3 alone, waits γ·(τ·ξ_step − ξ_quorum − ξ_sync)', () => {
    const s = setup({ grace: { ...DEFAULT_GRACE, rule: 'eq3' } });
    for (const id of ['x', 'y']) s.handle({ kind: 'join', id, now: 0, hello: hello(id) });
    for (const id of ['x', 'y']) s.handle({ kind: 'message', id, now: 1, msg: meta(4) });
    // τ = 1 here: 0.5·(1·100 − 9 − 0) = 45.5, under the cap of 200 → deadline 55.5.
    const q = s.handle({ kind: 'message', id: 'x', now: 10, msg: push(1, 0, [0, 0]) });
    expect(q.find((c) => c.kind === 'wake')).toEqual({ kind: 'wake', at: 55.5 });
    expect(s.rounds.get(1)!.eq3Ms).toBe(45.5);
  });

  it('refuses a merge whose outer step would leave fp32 (a −3e38 push): θ stays finite and unchanged, the run goes on', () => {
    const s = setup();
    s.handle({ kind: 'join', id: 'x', now: 0, hello: hello('x') });
    s.handle({ kind: 'message', id: 'x', now: 1, msg: meta(4) });
    // With the absolute norm cap out of the way (stepBound), this is the check after the outer step.
    // base + delta = 1 − 3e38 is finite, so admission passes; the outer step is 1 − 0.7·1.9·3e38 < −3.4e38: −∞ in fp32.
    const out = s.handle({ kind: 'message', id: 'x', now: 2, msg: push(1, 0, [-3e38, 0]) });
    expect(out.some((c) => c.kind === 'commit')).toBe(false);
    expect((sent(out, 'ack') as Array<Msg<'ack'>>).map((a) => [a.outcome, a.reason])).toEqual([['rejected', 'non-finite']]);
    expect([...s.model.theta]).toEqual([1, 2, 3, 4]);
    expect([s.model.versions, s.commitSeq, s.rejections.get('non-finite')]).toEqual([[0, 0], 0, 1]);
    expect(s.model.outer[0]!.buf.every((x) => x === 0)).toBe(true); // the momentum did not take the step either
    // The next round merges an honest push from the unchanged model.
    s.handle({ kind: 'message', id: 'x', now: 3, msg: meta(8) });
    const next = [...s.rounds.values()][0]!;
    expect(s.handle({ kind: 'message', id: 'x', now: 4, msg: push(next.round, next.fragment, [0.1, 0], { seq: 9, t: 8 }) }).some((c) => c.kind === 'commit')).toBe(true);
    expect(s.model.theta.every(Number.isFinite)).toBe(true);
  });

  it('closes early once every pulled learner has answered, merging both', () => {
    const s = setup();
    for (const id of ['x', 'y']) s.handle({ kind: 'join', id, now: 0, hello: hello(id) });
    for (const id of ['x', 'y']) s.handle({ kind: 'message', id, now: 1, msg: meta(4) });
    s.handle({ kind: 'message', id: 'x', now: 10, msg: push(1, 0, [0.1, 0]) });
    const out = s.handle({ kind: 'message', id: 'y', now: 20, msg: push(1, 0, [0, 0.1]) });
    const commit = out.find((c) => c.kind === 'commit');
    expect(commit?.kind === 'commit' && commit.commit.entry.contributors.map((c) => c.id)).toEqual(['x', 'y']);
    // The commit comes before the broadcast and the acks: nobody hears of a version that is not durable.
    const kinds = out.map((c) => (c.kind === 'send' || c.kind === 'broadcast' ? c.msg.type : c.kind));
    expect(kinds.indexOf('commit')).toBeLessThan(kinds.indexOf('broadcast'));
    expect(kinds.indexOf('commit')).toBeLessThan(kinds.indexOf('ack'));
  });

  it('refuses duplicates, unknown rounds, stale bases and bad payloads with their reasons', () => {
    const s = setup({ historyDepth: 1 });
    // w is pulled and stays silent, so the round stays open while y's refusals come in (a refused learner
    // is no longer waited for).
    for (const id of ['x', 'y', 'w']) s.handle({ kind: 'join', id, now: 0, hello: hello(id) });
    for (const id of ['x', 'y', 'w']) s.handle({ kind: 'message', id, now: 1, msg: meta(4) });
    s.handle({ kind: 'message', id: 'x', now: 2, msg: push(1, 0, [0, 0]) });
    // A resend: counted as a duplicate, no answer now (its ack comes with the merge).
    expect(s.handle({ kind: 'message', id: 'x', now: 3, msg: push(1, 0, [0, 0]) }).map((c) => c.kind)).toEqual(['rejected']);
    expect(rejected(s.handle({ kind: 'message', id: 'x', now: 3, msg: push(1, 0, [0, 0], { seq: 77 }) }))).toEqual(['duplicate']);
    expect(rejected(s.handle({ kind: 'message', id: 'y', now: 3, msg: push(9, 0, [0, 0]) }))).toEqual(['round-unknown']);
    expect(rejected(s.handle({ kind: 'message', id: 'y', now: 3, msg: push(1, 0, [0, 0], { baseVersion: 7, seq: 11 }) }))).toEqual(['stale-base']);
    // A resend of a refused push gets the same answer from the dedupe table, and no new refusal is counted.
    const again = s.handle({ kind: 'message', id: 'y', now: 3, msg: push(1, 0, [0, 0], { baseVersion: 7, seq: 11 }) });
    expect(rejected(again)).toEqual(['duplicate']);
    expect((sent(again, 'ack') as Array<Msg<'ack'>>).map((a) => a.reason)).toEqual(['stale-base']);
    expect(rejected(s.handle({ kind: 'message', id: 'y', now: 3, msg: push(1, 0, [0, 0, 0], { seq: 12 }) }))).toEqual(['length-mismatch']);
    expect(rejected(s.handle({ kind: 'message', id: 'y', now: 3, msg: push(1, 0, [0, 0], { cSteps: 0, seq: 13 }) }))).toEqual(['no-steps']);
    expect(rejected(s.handle({ kind: 'message', id: 'y', now: 3, msg: push(1, 0, [0, 0], { epoch: 0, seq: 14 }) }))).toEqual(['stale-epoch']);
    expect(rejected(s.handle({ kind: 'message', id: 'z', now: 3, msg: push(1, 0, [0, 0]) }))).toEqual(['unknown-learner']);
    const acks = sent(s.handle({ kind: 'message', id: 'y', now: 3, msg: push(1, 1, [0, 0], { seq: 15 }) }), 'ack') as Array<Msg<'ack'>>;
    expect(acks.map((a) => [a.outcome, a.reason])).toEqual([['rejected', 'bad-field']]);
    expect(s.model.versions).toEqual([0, 0]);
  });

  it('drops a silent learner at its heartbeat deadline and stops waiting for it', () => {
    const s = setup({ K: 2 });
    for (const id of ['x', 'y']) s.handle({ kind: 'join', id, now: 0, hello: hello(id) });
    for (const id of ['x', 'y']) s.handle({ kind: 'message', id, now: 1, msg: meta(4) });
    s.handle({ kind: 'message', id: 'x', now: 2, msg: push(1, 0, [0.1, 0.1]) });
    s.handle({ kind: 'message', id: 'x', now: 4000, msg: meta(5) });
    // y has been silent since t=1; the deadline is max(5000 ms, 3 × 100 ms) = 5000 ms.
    expect(s.handle({ kind: 'tick', now: 5001 }).some((c) => c.kind === 'drop')).toBe(false);
    const out = s.handle({ kind: 'tick', now: 5002 });
    expect(out.filter((c) => c.kind === 'drop').map((c) => c.kind === 'drop' && c.id)).toEqual(['y']);
    expect(sent(out, 'broadcast')).toHaveLength(1); // K_eff fell to 1 and nobody is left to wait for
    expect(s.connectedIds()).toEqual(['x']);
  });

  it('pulls a learner that becomes ready after the round opened', () => {
    const s = setup();
    s.handle({ kind: 'join', id: 'x', now: 0, hello: hello('x') });
    s.handle({ kind: 'message', id: 'x', now: 1, msg: meta(4) });
    s.handle({ kind: 'join', id: 'y', now: 2, hello: hello('y') });
    const out = s.handle({ kind: 'message', id: 'y', now: 3, msg: meta(1) });
    expect(out).toContainEqual({ kind: 'send', to: 'y', msg: { type: 'pull', fragment: 0, round: 1 } });
    expect(sent(s.handle({ kind: 'message', id: 'y', now: 4, msg: meta(2) }), 'pull')).toEqual([]); // once only
  });

  it('does not reopen a fragment on a META sent before its broadcast arrived', () => {
    const s = setup({ P: 2, tau: 2 });
    s.handle({ kind: 'join', id: 'x', now: 0, hello: hello('x') });
    s.handle({ kind: 'message', id: 'x', now: 1, msg: meta(4) });
    s.handle({ kind: 'message', id: 'x', now: 2, msg: push(1, 0, [0, 0]) });
    s.handle({ kind: 'message', id: 'x', now: 2, msg: push(2, 1, [0, 0]) });
    // Stale META: still claims version 0 of both fragments with many steps.
    const out = s.handle({ kind: 'message', id: 'x', now: 3, msg: meta(30) });
    expect(sent(out, 'pull')).toEqual([]);
  });
});

describe('Syncer state export and restore', () => {
  it('resumes bit for bit: a restored syncer merges the next push exactly as the original does', async () => {
    const { exportModel } = await import('./global-model');
    const a = setup();
    a.handle({ kind: 'join', id: 'x', now: 0, hello: hello('x') });
    a.handle({ kind: 'message', id: 'x', now: 1, msg: meta(4) });
    a.handle({ kind: 'message', id: 'x', now: 2, msg: push(1, 0, [0.1, -0.2]) }); // momentum now non-zero
    const b = setup({}, 2);
    a.handle({ kind: 'leave', id: 'x', now: 3 }); // its open round on fragment 1 is abandoned
    b.restore(a.durable());
    expect(exportModel(b.model)).toEqual(exportModel(a.model));
    expect([...b.model.theta]).toEqual([...a.model.theta]);
    for (const s of [a, b]) {
      s.handle({ kind: 'join', id: 'y', now: 10, hello: hello('y') });
      s.handle({ kind: 'message', id: 'y', now: 11, msg: meta(30, [...s.model.versions]) });
    }
    const next = (s: Syncer): Msg<'pull'>[] => [...s.rounds.values()].map((r) => ({ type: 'pull', fragment: r.fragment, round: r.round }));
    expect(next(b)).toEqual(next(a));
    const r = next(a)[0]!;
    for (const s of [a, b]) s.handle({ kind: 'message', id: 'y', now: 12, msg: push(r.round, r.fragment, [0.05, 0.05], { baseVersion: s.model.versions[r.fragment]!, epoch: s.epoch }) });
    expect([...b.model.theta]).toEqual([...a.model.theta]);
    expect(b.model.versions).toEqual(a.model.versions);
  });

  it('restores counters up to 2^32 - 1 (its snapshot encodes) and refuses, changing nothing, a state the wire cannot carry', () => {
    const base = setup().durable();
    const top = setup({}, 2);
    const row = { id: 'x', session: 2 ** 32 - 1, seq: 2 ** 32 - 1, round: 2 ** 32 - 1, fragment: 1, reason: null };
    top.restore({ ...base, globalStep: 2 ** 32 - 1, versions: [2 ** 32 - 1, 0], dedupe: [row] });
    expect(encodeMessage(top.snapshotFor()).length).toBeGreaterThan(0);
    const cases: Array<[Partial<DurableState>, string]> = [
      [{ globalStep: 2 ** 32 }, 'restoring a state the wire cannot carry: global step 4294967296 is not an integer from 0 to 4294967295'],
      [{ versions: [-1, 0] }, 'restoring a state the wire cannot carry: fragment 0 is at version -1, not an integer from 0 to the global step 0'],
      [{ mergedTokens: NaN }, 'restoring a state the wire cannot carry: merged tokens NaN, not a finite number >= 0 (the progress clock)'],
      [{ dedupe: [{ ...row, round: 2 ** 32 }] }, 'restoring a state the wire cannot carry: dedupe row of x: round 4294967296, seq 4294967295, session 4294967295, want integers from 0 to 4294967295'],
      [{ dedupe: [{ ...row, fragment: 2 }] }, 'restoring a state the wire cannot carry: dedupe row of x: fragment 2 is outside [0, 2)'],
    ];
    const fresh = setup({}, 2).durable();
    for (const [edit, want] of cases) {
      const s = setup({}, 2);
      expect(() => s.restore({ ...base, ...edit }), want).toThrow(want);
      expect(s.durable(), want).toEqual(fresh);
    }
  });
});
