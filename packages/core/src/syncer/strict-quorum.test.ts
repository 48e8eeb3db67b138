import { describe, expect, it } from 'vitest';
import { getCodec } from '../codecs';
import { makeLayout } from '../layout';
import type { Message } from '../protocol';
import { makeSyncConfig, quorumOf, type SyncConfig } from './config';
import type { MergeLogEntry, Msg, SyncCommand } from './events';
import { mergeWeights } from './merge-round';
import { replayLog } from './replay';
import { Syncer } from './syncer';

// The strict quorum (rounds open only when K learners are due) and equal weights of merge 'centered-clip' (config.ts strictQuorum, merge-round.ts
// mergeWeights), against the relaxed quorum of the other modes. Two tensors of two values, P = 2.
const layout = makeLayout([{ name: 'a', shape: [2], kind: 'dense' }, { name: 'b', shape: [2], kind: 'dense' }]);
const init = Float32Array.from([1, 2, 3, 4]);
const fp32 = getCodec(0);
if (!fp32.ok) throw new Error('fp32 codec missing');
const setup = (over: Partial<SyncConfig>): Syncer =>
  new Syncer(makeSyncConfig({ runId: 'r', P: 2, H: 4, tau: 1, K: 3, uplinkCodec: 0, downlink: 'fp32', minStepMs: 1e-3, tokensPerStep: 10, stepBound: Number.MAX_VALUE, ...over }), layout, init);
const hello = (id: string): Msg<'hello'> => ({ type: 'hello', runId: 'r', learnerId: id, session: 0, layoutHash: layout.hash, tokensPerStep: 10, backend: 'cpu', uplinkCodec: 0 });
const meta = (steps: number): Msg<'meta'> => ({ type: 'meta', t: steps, cSteps: [steps, steps], cTokens: [10 * steps, 10 * steps], versions: [0, 0], stepMs: 100 });
const push = (round: number, delta: number[], cSteps = 4): Msg<'push'> => ({
  type: 'push', fragment: 0, round, epoch: 1, baseVersion: 0, seq: round, t: cSteps, cSteps, cTokens: 10 * cSteps, codec: 0, payload: fp32.value.encode(Float32Array.from(delta)),
});
const sent = (cmds: SyncCommand[], type: Message['type']): Message[] => cmds.flatMap((c) => ((c.kind === 'send' || c.kind === 'broadcast') && c.msg.type === type ? [c.msg] : []));
const joinDue = (s: Syncer, ids: string[], now = 0): SyncCommand[] => ids.flatMap((id) => [
  ...s.handle({ kind: 'join', id, now, hello: hello(id) }), ...s.handle({ kind: 'message', id, now: now + 1, msg: meta(4) }),
]);

describe('the strict quorum of centered-clip', () => {
  it('is K whatever is connected; the other modes take min(K, connected), at least 1', () => {
    const cc = makeSyncConfig({ merge: 'centered-clip', K: 5 }), rda = makeSyncConfig({ merge: 'rda', K: 5 });
    expect([0, 1, 3, 5, 9].map((n) => quorumOf(cc, n))).toEqual([5, 5, 5, 5, 5]);
    expect([0, 1, 3, 5, 9].map((n) => quorumOf(rda, n))).toEqual([1, 1, 3, 5, 5]);
  });

  it('opens no round while fewer than K learners are due; the K-th due learner opens it and all are pulled', () => {
    const s = setup({ merge: 'centered-clip' });
    expect(sent(joinDue(s, ['a', 'b']), 'pull')).toEqual([]);
    expect(sent(joinDue(s, ['c']), 'pull')).toEqual([{ type: 'pull', fragment: 0, round: 1 }]);
    // Under rda one due learner alone opens it: the relaxed quorum of one connected learner is 1.
    expect(sent(joinDue(setup({ merge: 'rda' }), ['a']), 'pull')).toEqual([{ type: 'pull', fragment: 0, round: 1 }]);
  });

  it('a round that opened with K due closes with what came, at equal weights and one absent vote; then, with 2 of K = 3 connected, none opens', () => {
    const s = setup({ merge: 'centered-clip' });
    joinDue(s, ['a', 'b', 'c']);
    s.handle({ kind: 'message', id: 'a', now: 10, msg: push(1, [0.1, 0], 4) });
    s.handle({ kind: 'message', id: 'b', now: 11, msg: push(1, [0, 0.1], 8) });
    // c leaves: everyone still pulled has answered, and the round merges both (claims of 4 and 8 steps).
    const out = s.handle({ kind: 'leave', id: 'c', now: 12 });
    const commit = out.find((c) => c.kind === 'commit');
    expect(commit?.kind === 'commit' && commit.commit.entry.contributors.map((k) => [k.id, k.weight])).toEqual([['a', 1], ['b', 1]]);
    expect(commit?.kind === 'commit' && commit.commit.entry.absent).toBe(1);
    // a and b are due on fragment 1 (still at version 0): under rda 2 connected make the quorum, here not.
    const again = ['a', 'b'].flatMap((id) => s.handle({ kind: 'message', id, now: 20, msg: meta(4) }));
    expect(sent(again, 'pull')).toEqual([]);
    const r = setup({ merge: 'rda' });
    joinDue(r, ['a', 'b']);
    expect(r.rounds.size).toBe(1);
  });

  it('rda keeps token weights under its share caps (hand-worked), centered-clip weighs every push the same', () => {
    // H = 4, tokens per step 10: w = 10² · min(steps, 2H) = 400, 800, 800 (16 steps capped at 8); the
    // lighter half's mean (400 + 800) / 2 = 600 caps the two heavier; no share then exceeds 1/2.
    const cs = [4, 8, 16].map((cSteps) => ({ local: new Float32Array(2), cSteps, cTokens: 10 * cSteps }));
    const cfg = { ...makeSyncConfig({ H: 4, tokensPerStep: 10 }) };
    expect(mergeWeights(cs, { ...cfg, merge: 'rda' })).toEqual([400, 600, 600]);
    expect(mergeWeights(cs, { ...cfg, merge: 'centered-clip' })).toEqual([1, 1, 1]);
  });

  it('a round closing below K merges bit for bit as if the missing learners had pushed Δ = 0, and the log replays it', () => {
    // K = 5, all five pulled; d and e leave. Two sign-flipped ×4 pushes and one honest: padded to five
    // votes, the attackers are the minority, and the merge is -0.392h (worked out in robust.test.ts), not -4h.
    const h = [0.1, 0.2];
    const run = (abc: number[], rest: 'leave' | 'push zeros'): { shift: number[]; values: Float32Array; s: Syncer; entry: MergeLogEntry } => {
      const s = setup({ merge: 'centered-clip', K: 5 });
      joinDue(s, ['a', 'b', 'c', 'd', 'e']);
      ['a', 'b', 'c'].forEach((id, i) => s.handle({ kind: 'message', id, now: 10, msg: push(1, h.map((x) => abc[i]! * x)) }));
      const out = ['d', 'e'].flatMap((id) => s.handle(rest === 'leave' ? { kind: 'leave', id, now: 11 } : { kind: 'message', id, now: 11, msg: push(1, [0, 0]) }));
      const c = out.find((x) => x.kind === 'commit');
      if (c?.kind !== 'commit') throw new Error('no commit');
      return { shift: Array.from(c.commit.values, (v, j) => v - init[j]!), values: c.commit.values, s, entry: c.commit.entry };
    };
    const left = run([-4, -4, 1], 'leave'), zeros = run([-4, -4, 1], 'push zeros'), honest = run([1, 1, 1], 'leave');
    expect([left.entry.absent, zeros.entry.absent, honest.entry.absent]).toEqual([2, undefined, 2]);
    expect(Array.from(left.values)).toEqual(Array.from(zeros.values));
    // From zero momentum the outer step is linear in the merged gradient, and three agreeing pushes merge
    // exactly h (the two zeros are the minority): the attacked step is -0.392 times the honest one.
    left.shift.forEach((x, j) => expect(x / honest.shift[j]!).toBeCloseTo(-0.392, 4));
    const replayed = replayLog(left.s.cfg, layout, init, [left.entry]);
    expect(replayed.ok && Array.from(replayed.value.theta.subarray(0, 2))).toEqual(Array.from(left.values));
    // A log that asks for absurd absent votes is refused, not allocated.
    const bad = replayLog(left.s.cfg, layout, init, [{ ...left.entry, absent: 1e9 }]);
    expect(bad.ok ? null : bad.reason).toBe('bad-field');
  });
});
