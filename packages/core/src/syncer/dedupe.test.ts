import { describe, expect, it } from 'vitest';
import { applyCommit, initialDurable } from './commit';
import { makeSyncConfig } from './config';
import type { Msg, SyncCommand } from './events';
import { Syncer } from './syncer';
import { fp32, init, layout } from './syncer-fixtures';

const cfg = makeSyncConfig({ runId: 'r', P: 2, H: 4, tau: 2, K: 1, uplinkCodec: 0, minStepMs: 1e-3, tokensPerStep: 10, stepBound: Number.MAX_VALUE });
const hello = (id: string, session: number): Msg<'hello'> => ({ type: 'hello', runId: 'r', learnerId: id, session, layoutHash: layout.hash, tokensPerStep: 10, backend: 'cpu', uplinkCodec: 0 });
const meta = (cSteps: number[]): Msg<'meta'> => ({ type: 'meta', t: 4, cSteps, cTokens: cSteps.map((c) => 10 * c), versions: [0, 0], stepMs: 100 });
const push = (round: number, fragment: number, seq: number, cSteps: number): Msg<'push'> => ({
  type: 'push', fragment, round, epoch: 1, baseVersion: 0, seq, t: 4, cSteps, cTokens: 10 * cSteps, codec: 0, payload: fp32.encode(Float32Array.from([0, 0])),
});
const acks = (cmds: SyncCommand[]): Array<Msg<'ack'>> => cmds.flatMap((c) => (c.kind === 'send' && c.msg.type === 'ack' ? [c.msg] : []));

describe('dedupe rows across a learner reload', () => {
  it("a round closing with the old session's push keeps the new session's rows, in memory and on disk", () => {
    const s = new Syncer(cfg, layout, init, 1);
    const disk = initialDurable(init, s.model.outer, 0);
    const run = (ev: Parameters<Syncer['handle']>[0]): SyncCommand[] => {
      const out = s.handle(ev);
      for (const c of out) if (c.kind === 'commit') applyCommit(disk, c.commit, s.fragments); // as the store does
      return out;
    };
    for (const id of ['L', 'M']) run({ kind: 'join', id, now: 0, hello: hello(id, 1) });
    run({ kind: 'message', id: 'L', now: 1, msg: meta([2, 2]) }); // fragment 0 due (bar 2): round 1
    run({ kind: 'message', id: 'M', now: 1, msg: meta([2, 0]) }); // M is pulled into round 1 too
    run({ kind: 'message', id: 'L', now: 2, msg: push(1, 0, 7, 2) }); // accepted; round 1 waits for M
    // L's tab reloads: session 2, whose META opens round 2 (fragment 1); its seq 1 merges there first.
    run({ kind: 'leave', id: 'L', now: 3 });
    run({ kind: 'join', id: 'L', now: 4, hello: hello('L', 2) });
    run({ kind: 'message', id: 'L', now: 5, msg: meta([4, 4]) });
    expect(acks(run({ kind: 'message', id: 'L', now: 6, msg: push(2, 1, 1, 4) })).map((a) => [a.round, a.outcome])).toEqual([[2, 'merged']]);
    // Round 1 closes after it, merging session 1's seq 7 (and M's push).
    const close = run({ kind: 'message', id: 'M', now: 7, msg: push(1, 0, 1, 2) });
    expect(close.some((c) => c.kind === 'commit' && c.commit.entry.contributors.some((k) => k.id === 'L' && k.session === 1))).toBe(true);
    expect(s.dedupe.get('L', 2, 1)?.reason).toBe(null);
    // L's ack for seq 1 was lost: its resend is answered 'merged' again, never 'round-closed'.
    const resend = run({ kind: 'message', id: 'L', now: 8, msg: push(2, 1, 1, 4) });
    expect(acks(resend).map((a) => [a.seq, a.session, a.outcome, a.reason])).toEqual([[1, 2, 'merged', null]]);
    // The durable state remembers the same after a reload of the coordinator.
    const restored = new Syncer(cfg, layout, init, 2);
    restored.restore(disk);
    expect(restored.dedupe.get('L', 2, 1)?.reason).toBe(null);
    expect(restored.dedupe.get('M', 1, 1)?.reason).toBe(null);
  });
});
