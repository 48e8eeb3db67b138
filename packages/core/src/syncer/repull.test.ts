import { describe, expect, it } from 'vitest';
import { ResponseTime } from '../grace';
import { makeSyncConfig } from './config';
import type { Msg, SyncCommand } from './events';
import { HEARD_AFTER_MS, REPULL_MIN_MS, repullAfterMs } from './repull';
import { Syncer } from './syncer';
import { fp32, init, layout } from './syncer-fixtures';

/**
 * A push lost on the way (a lossy link) must not hold its round for the whole 30 s round timeout: the syncer
 * pulls the learner again (repull.ts) and the learner sends the same push again (learner/engine.ts).
 */
const syncer = (): Syncer =>
  new Syncer(makeSyncConfig({ runId: 'r', P: 2, H: 4, tau: 1, K: 2, uplinkCodec: 0, minStepMs: 1e-3, tokensPerStep: 10, stepBound: Number.MAX_VALUE }), layout, init);
const hello = (id: string): Msg<'hello'> => ({ type: 'hello', runId: 'r', learnerId: id, session: 1, layoutHash: layout.hash, tokensPerStep: 10, backend: 'cpu', uplinkCodec: 0 });
const meta = (t: number): Msg<'meta'> => ({ type: 'meta', t, cSteps: [t, t], cTokens: [10 * t, 10 * t], versions: [0, 0], stepMs: 20 });
const push = (seq: number, d: number[]): Msg<'push'> =>
  ({ type: 'push', fragment: 0, round: 1, epoch: 1, baseVersion: 0, seq, t: 4, cSteps: 4, cTokens: 40, codec: 0, payload: fp32.encode(Float32Array.from(d)) });
const pulls = (cmds: SyncCommand[]): Array<[string, Msg<'pull'>]> =>
  cmds.flatMap((c) => (c.kind === 'send' && c.msg.type === 'pull' ? [[c.to, c.msg] as [string, Msg<'pull'>]] : []));

/** x and y joined and pulled for round 1 (fragment 0) at 10 ms; x's push came at 12 ms, y's was lost. */
function lostPush(): Syncer {
  const s = syncer();
  s.handle({ kind: 'join', id: 'x', now: 0, hello: hello('x') });
  s.handle({ kind: 'join', id: 'y', now: 0, hello: hello('y') });
  s.handle({ kind: 'message', id: 'x', now: 5, msg: meta(4) });
  s.handle({ kind: 'message', id: 'y', now: 10, msg: meta(4) }); // both at fragment 0's bar: round 1 opens
  expect(s.handle({ kind: 'message', id: 'x', now: 12, msg: push(1, [1, 1]) }).some((c) => c.kind === 'commit')).toBe(false); // K = 2: waits for y
  return s;
}

describe('a push lost on the way', () => {
  it('is asked for again REPULL_MIN_MS after the pull, of that learner only; its resend merges at once', () => {
    const s = lostPush();
    s.handle({ kind: 'message', id: 'y', now: 600, msg: meta(5) }); // y is alive: its METAs come
    expect(pulls(s.handle({ kind: 'tick', now: 10 + REPULL_MIN_MS - 1 }))).toEqual([]);
    expect(pulls(s.handle({ kind: 'tick', now: 10 + REPULL_MIN_MS }))).toEqual([['y', { type: 'pull', fragment: 0, round: 1 }]]);
    expect(s.repulls).toBe(1);
    const merged = s.handle({ kind: 'message', id: 'y', now: 1020, msg: push(1, [3, 3]) });
    const commit = merged.find((c) => c.kind === 'commit');
    expect(commit?.kind === 'commit' && commit.commit.entry.contributors.map((c) => c.id)).toEqual(['x', 'y']);
    // The answer times y from its first pull (1,010 ms: srtt 1010, rttvar 505), so a link that slow is not
    // pulled again next round; x answered in 2 ms.
    expect(s.learners.get('y')!.response.bound(5)).toBe(1010 + 4 * 505);
    expect(s.learners.get('x')!.response.bound(5)).toBe(2 + 5);
  });

  it('is asked for again after 1, 2, 4 and 8 s while the learner is heard from, then the round times out', () => {
    const s = lostPush();
    const at: number[] = [];
    for (let now = 100; now <= 30_000; now += 100) {
      for (const id of ['x', 'y']) s.handle({ kind: 'message', id, now, msg: { type: 'heartbeat', t: 4, nowMs: now } });
      if (pulls(s.handle({ kind: 'tick', now })).length) at.push(now);
    }
    expect(at).toEqual([1100, 3100, 7100, 15_100]); // 10 + 1000 → 1100 (ticks every 100 ms), then +2 s, +4 s, +8 s
    const out = s.handle({ kind: 'tick', now: 30_010 }); // the round timeout: it merges what came
    const commit = out.find((c) => c.kind === 'commit');
    expect(commit?.kind === 'commit' && commit.commit.entry.contributors.map((c) => c.id)).toEqual(['x']);
  });

  it('on a slow link, not lost: pulled again once, then the link is learned and the next round waits for it', () => {
    const s = lostPush();
    s.handle({ kind: 'message', id: 'y', now: 600, msg: meta(5) }); // sent before y got the pull, 2 s late: all of y's messages are
    expect(pulls(s.handle({ kind: 'tick', now: 1010 }))).toHaveLength(1);
    // y's push arrives 2 s after its pull: round 1 merges, and round 2 (fragment 1, due too) pulls both at once.
    const out = s.handle({ kind: 'message', id: 'y', now: 2010, msg: push(1, [3, 3]) });
    const opened = out.flatMap((c) => (c.kind === 'broadcast' && c.msg.type === 'pull' ? [c.msg.round] : []));
    expect([out.some((c) => c.kind === 'commit'), opened]).toEqual([true, [2]]);
    expect(s.learners.get('y')!.response.bound(5)).toBe(2000 + 4 * 1000);
    for (let now = 2100; now <= 7900; now += 100) {
      for (const id of ['x', 'y']) s.handle({ kind: 'message', id, now, msg: { type: 'heartbeat', t: 5, nowMs: now } });
      expect(pulls(s.handle({ kind: 'tick', now })).filter(([id]) => id === 'y'), `at ${now} ms`).toEqual([]);
    }
  });

  it('is not asked for from a learner not heard from HEARD_AFTER_MS after its pull (busy, or its push is on the way)', () => {
    const s = lostPush();
    s.handle({ kind: 'message', id: 'y', now: 10 + HEARD_AFTER_MS - 1, msg: meta(5) }); // may have been sent before the pull arrived
    expect(pulls(s.handle({ kind: 'tick', now: 4000 }))).toEqual([]);
    s.handle({ kind: 'message', id: 'y', now: 4001, msg: meta(6) });
    expect(pulls(s.handle({ kind: 'tick', now: 4002 }))).toEqual([['y', { type: 'pull', fragment: 0, round: 1 }]]);
  });

  it('counts a resend that crosses the late original as a duplicate and merges the push once', () => {
    const s = lostPush();
    s.handle({ kind: 'message', id: 'y', now: 600, msg: meta(5) });
    expect(pulls(s.handle({ kind: 'tick', now: 1010 }))).toHaveLength(1); // y pulled again
    const first = s.handle({ kind: 'message', id: 'y', now: 1011, msg: push(1, [3, 3]) }); // the original, late
    expect(first.filter((c) => c.kind === 'commit')).toHaveLength(1);
    const again = s.handle({ kind: 'message', id: 'y', now: 1012, msg: push(1, [3, 3]) }); // the resend: answered with the original outcome
    expect(again.filter((c) => c.kind === 'commit')).toEqual([]);
    expect(again.flatMap((c) => (c.kind === 'send' && c.msg.type === 'ack' ? [[c.msg.seq, c.msg.outcome]] : []))).toEqual([[1, 'merged']]);
    expect(s.rejections.get('duplicate')).toBe(1);
  });

  it('times a learner once per round: a resend that finds its original waiting in the round is not a second answer', () => {
    // x, y and z pulled at 10 ms (K = 3); y is pulled again at 1,010 ms, and its push was slow, not lost:
    // the original comes at 2,010 ms (y's first answer, 2 s), the resend at 3,010 ms while z is still waited for.
    const s = new Syncer(makeSyncConfig({ runId: 'r', P: 2, H: 4, tau: 1, K: 3, uplinkCodec: 0, minStepMs: 1e-3, tokensPerStep: 10, stepBound: Number.MAX_VALUE }), layout, init);
    for (const id of ['x', 'y', 'z']) s.handle({ kind: 'join', id, now: 0, hello: hello(id) });
    for (const id of ['x', 'z', 'y']) s.handle({ kind: 'message', id, now: id === 'y' ? 10 : 5, msg: meta(4) });
    s.handle({ kind: 'message', id: 'x', now: 12, msg: push(1, [1, 1]) });
    s.handle({ kind: 'message', id: 'y', now: 600, msg: meta(5) });
    expect(pulls(s.handle({ kind: 'tick', now: 1010 })).map(([id]) => id)).toEqual(['y']);
    s.handle({ kind: 'message', id: 'y', now: 2010, msg: push(1, [3, 3]) });
    expect(s.learners.get('y')!.response.bound(5)).toBe(2000 + 4 * 1000);
    const again = s.handle({ kind: 'message', id: 'y', now: 3010, msg: push(1, [3, 3]) });
    expect([again.some((c) => c.kind === 'commit'), s.rejections.get('duplicate')]).toEqual([false, 1]);
    expect(s.learners.get('y')!.response.bound(5)).toBe(2000 + 4 * 1000); // not srtt 2125 from a 3 s "answer"
  });

  it('is not asked for in the tick that closes its round (the grace deadline, or the round timeout)', () => {
    // K = 1, 500 ms steps: x's push at 12 ms is the quorum, and the window waits for y up to its cap of
    // 2 steps (y has no response time yet): until 1,012 ms. y's re-pull is due at 10 + 1,000 ms.
    const s = new Syncer(makeSyncConfig({ runId: 'r', P: 2, H: 4, tau: 1, K: 1, uplinkCodec: 0, minStepMs: 1e-3, tokensPerStep: 10, stepBound: Number.MAX_VALUE }), layout, init);
    const slow = (t: number): Msg<'meta'> => ({ ...meta(t), stepMs: 500 });
    for (const id of ['x', 'y']) s.handle({ kind: 'join', id, now: 0, hello: hello(id) });
    s.handle({ kind: 'message', id: 'x', now: 5, msg: slow(4) });
    s.handle({ kind: 'message', id: 'y', now: 10, msg: slow(4) });
    expect(s.handle({ kind: 'message', id: 'x', now: 12, msg: push(1, [1, 1]) }).some((c) => c.kind === 'commit')).toBe(false);
    s.handle({ kind: 'message', id: 'y', now: 600, msg: slow(5) }); // y is alive, its push lost
    const out = s.handle({ kind: 'tick', now: 1012 }); // the wake at the deadline: round 1 merges without y
    expect([out.some((c) => c.kind === 'commit'), pulls(out), s.repulls]).toEqual([true, [], 0]);
    const late = lostPush(); // no tick until round 1's 30 s timeout, both heard from meanwhile
    for (const id of ['x', 'y']) late.handle({ kind: 'message', id, now: 29_000, msg: { type: 'heartbeat', t: 5, nowMs: 29_000 } });
    const timedOut = late.handle({ kind: 'tick', now: 30_010 });
    expect([timedOut.some((c) => c.kind === 'commit'), pulls(timedOut), late.repulls]).toEqual([true, [], 0]);
  });
});

describe('repullAfterMs', () => {
  it('is the largest of REPULL_MIN_MS, the response-time bound and two steps, doubled per re-pull', () => {
    const fresh = { response: new ResponseTime(), stepMs: undefined };
    expect([0, 1, 2].map((n) => repullAfterMs(fresh, 5, n))).toEqual([1000, 2000, 4000]);
    expect(repullAfterMs({ response: new ResponseTime(), stepMs: 800 }, 5, 1)).toBe(3200); // 2 × 800 ms, doubled once
    const slow = new ResponseTime();
    slow.update(1500); // srtt 1500, rttvar 750: bound 1500 + 4 × 750
    expect(repullAfterMs({ response: slow, stepMs: 20 }, 5, 0)).toBe(4500);
  });
});
