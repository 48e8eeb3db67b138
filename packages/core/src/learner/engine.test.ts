import { describe, expect, it } from 'vitest';
import type { MessageOf } from '../protocol';
import { DEFAULT_LR, localWarmup, lrAt } from '../schedule';
import { KEEPALIVE_MS, LearnerEngine, rebased, REHELLO_MS } from './engine';
import { bcast, cfg, delta, joined, kinds, layout, of, sent, snapshot } from './engine-fixtures';

describe('LearnerEngine', () => {
  it('says hello on connecting, and again when no snapshot answers within the deadline', () => {
    const e = new LearnerEngine(cfg, layout);
    expect(sent(e.handle({ kind: 'connected', now: 0 }), 'hello')).toEqual([{ type: 'hello', runId: 'r', learnerId: 'L', session: 3, layoutHash: layout.hash, tokensPerStep: 10, backend: 'cpu', uplinkCodec: 3 }]);
    expect(e.handle({ kind: 'tick', now: 999 })).toEqual([]);
    expect(kinds(e.handle({ kind: 'tick', now: 1001 }))).toEqual(['hello']);
    e.handle({ kind: 'message', msg: snapshot(), now: 1002 });
    expect(e.handle({ kind: 'tick', now: 1001 + KEEPALIVE_MS - 1 })).toEqual([]); // answered: no hello, nor yet a heartbeat
  });

  it('says heartbeat on a tick KEEPALIVE_MS after it last sent anything, so a step longer than the silence limit is not a death', () => {
    const unanswered = new LearnerEngine(cfg, layout);
    unanswered.handle({ kind: 'connected', now: 0 });
    expect(kinds(unanswered.handle({ kind: 'tick', now: 2 * KEEPALIVE_MS }))).toEqual(['hello']); // not joined: hello, never heartbeat

    const e = joined(3); // its last META went out at 4 ms; the fourth step is in flight
    expect(e.handle({ kind: 'tick', now: 4 + KEEPALIVE_MS - 1 })).toEqual([]);
    expect(e.handle({ kind: 'tick', now: 4 + KEEPALIVE_MS })).toEqual([{ kind: 'send', msg: { type: 'heartbeat', t: 3, nowMs: 4 + KEEPALIVE_MS } }]);
    expect(e.handle({ kind: 'tick', now: 4 + 2 * KEEPALIVE_MS - 1 })).toEqual([]); // the heartbeat restarted the clock
    const end = 5 * KEEPALIVE_MS; // the long step ends: its META restarts the clock too
    expect(sent(e.handle({ kind: 'stepped', now: end, ms: end - 4 }), 'meta')).toHaveLength(1);
    expect(sent(e.handle({ kind: 'tick', now: end + KEEPALIVE_MS - 1 }), 'heartbeat')).toEqual([]);
    // Paused, it goes silent (the syncer drops it, as any learner that stopped), and says heartbeat again once resumed.
    e.handle({ kind: 'pause', paused: true, now: end + 1 });
    expect(e.handle({ kind: 'tick', now: end + 10 * KEEPALIVE_MS })).toEqual([]);
    e.handle({ kind: 'pause', paused: false, now: end + 10 * KEEPALIVE_MS });
    expect(sent(e.handle({ kind: 'tick', now: end + 10 * KEEPALIVE_MS + 1 }), 'heartbeat')).toEqual([{ type: 'heartbeat', t: 4, nowMs: end + 10 * KEEPALIVE_MS + 1 }]);
  });

  it('refuses a snapshot whose run trains another number of tokens per step than its hello said', () => {
    const e = new LearnerEngine(cfg, layout);
    e.handle({ kind: 'connected', now: 0 });
    const out = e.handle({ kind: 'message', msg: snapshot({ config: { ...snapshot().config, tokensPerStep: 1 << 20 } }), now: 1 });
    expect(of(out, 'refused').map((r) => [r.what, r.reason])).toEqual([['snapshot', 'bad-field']]);
    expect(of(out, 'load')).toEqual([]);
  });

  it('after each step: META, host copies, then the next step at the scheduled LR × local warmup', () => {
    const e = joined(0);
    const out = e.handle({ kind: 'stepped', now: 2, ms: 20 });
    expect(kinds(out)).toEqual(['meta', 'read', 'read', 'train']);
    expect(sent(out, 'meta')[0]).toMatchObject({ t: 1, cSteps: [1, 1], cTokens: [10, 10], versions: [0, 0], stepMs: 20 });
    expect(of(out, 'train')[0]!.lr).toBe(lrAt(0, DEFAULT_LR) * localWarmup(1));
  });

  it('answers a pull at once from the host copy, with the counters of the step it was taken at', () => {
    const e = joined(2); // host copies as of t = 2: fragment 0 = [3, 2]
    const out = e.handle({ kind: 'message', msg: { type: 'pull', fragment: 0, round: 5 }, now: 10 });
    const [push] = sent(out, 'push');
    expect(kinds(out)).toEqual(['push']); // no readback, no waiting for the step in flight
    expect([push!.round, push!.baseVersion, push!.t, push!.cSteps, push!.cTokens]).toEqual([5, 0, 2, 2, 20]);
    expect(delta(push!)).toEqual([2, 0]); // [3, 2] − anchor [1, 2]
  });

  it('without a host copy, reads the fragment back as of the end of the step in flight, then pushes', () => {
    const e = joined(1, (t) => [[1 + t, 2], [3, 4 + t]], { readAhead: 'due' }); // H = 4: at t = 1 nothing is due yet
    const out = e.handle({ kind: 'message', msg: { type: 'pull', fragment: 1, round: 2 }, now: 5 });
    expect(kinds(out)).toEqual(['read']);
    expect(e.handle({ kind: 'stepped', now: 6, ms: 20 }).some((c) => c.kind === 'send' && c.msg.type === 'push')).toBe(false);
    const done = e.handle({ kind: 'read', tag: of(out, 'read')[0]!.tag, values: Float32Array.from([3, 6]), now: 7 });
    const [push] = sent(done, 'push');
    expect([push!.t, push!.cSteps, push!.cTokens]).toEqual([2, 2, 20]); // the read reflects the step that was in flight
    expect(delta(push!)).toEqual([0, 2]);
  });

  it('eager re-application: the broadcast of a pushed round keeps the steps taken since the push', () => {
    const e = joined(2);
    e.handle({ kind: 'message', msg: { type: 'pull', fragment: 0, round: 5 }, now: 10 }); // pushed at t = 2 from [3, 2]
    e.handle({ kind: 'stepped', now: 11, ms: 20 }); // t = 3
    expect(e.handle({ kind: 'message', msg: bcast(0, 5, [9, 9]), now: 12 })).toEqual([]); // a step is in flight: wait for the boundary
    const out = e.handle({ kind: 'stepped', now: 13, ms: 20 }); // t = 4
    const [w] = of(out, 'write');
    expect([w!.fragment, [...w!.values], [...w!.rebase!]]).toEqual([0, [9, 9], [3, 2]]);
    // θ_0 ← Θ + (θ_now − θ_at_push); two steps were taken since the push: they are the next push's
    expect(sent(out, 'meta')[0]).toMatchObject({ t: 4, cSteps: [2, 4], cTokens: [20, 40], versions: [5, 0] });
    expect([...rebased(Float32Array.from([9, 9]), Float32Array.from([5, 2]), Float32Array.from([3, 2]))]).toEqual([11, 9]);
  });

  it('overwrites (α = 0) a fragment it did not push, or every fragment in overwrite mode', () => {
    for (const adoption of ['eager', 'overwrite'] as const) {
      const e = joined(2, undefined, { adoption });
      e.handle({ kind: 'message', msg: { type: 'pull', fragment: 0, round: 5 }, now: 10 });
      e.handle({ kind: 'message', msg: bcast(0, 5, [9, 9]), now: 11 });
      e.handle({ kind: 'message', msg: bcast(1, 6, [7, 7]), now: 11 }); // round 6: not ours
      const writes = of(e.handle({ kind: 'stepped', now: 12, ms: 20 }), 'write');
      expect(writes.map((w) => [w.fragment, w.rebase === undefined])).toEqual([[0, adoption === 'overwrite'], [1, true]]);
    }
  });

  it('drops a read that no longer describes the fragment, and answers the pull from a fresh one', () => {
    const e = joined(1, undefined, { readAhead: 'due' });
    const r = of(e.handle({ kind: 'message', msg: { type: 'pull', fragment: 1, round: 2 }, now: 5 }), 'read')[0]!;
    e.handle({ kind: 'message', msg: bcast(1, 1, [0, 0]), now: 5 });
    e.handle({ kind: 'stepped', now: 6, ms: 20 }); // fragment 1 rewritten at version 1
    expect(sent(e.handle({ kind: 'read', tag: r.tag, values: Float32Array.from([3, 6]), now: 7 }), 'push')).toEqual([]);
  });

  it('holds a pull that overtook the snapshot after a reconnect, and answers it from the new state', () => {
    const e = joined(2);
    e.handle({ kind: 'connected', now: 10 }); // the coordinator reloaded: a hello is out
    expect(e.handle({ kind: 'message', msg: { type: 'pull', fragment: 0, round: 30 }, now: 11 })).toEqual([]); // held, not answered from epoch 1
    e.handle({ kind: 'message', msg: snapshot({ epoch: 2, versions: [27, 26], globalStep: 29 }), now: 12 });
    let out = e.handle({ kind: 'stepped', now: 13, ms: 20 }); // the snapshot is adopted at this boundary: counters restart at 0
    for (const r0 of of(out, 'read')) expect(sent(e.handle({ kind: 'read', tag: r0.tag, values: Float32Array.from([1, 2]), now: 13 }), 'push')).toEqual([]);
    out = e.handle({ kind: 'stepped', now: 14, ms: 20 }); // one step on the new state
    const r = of(out, 'read').find((c) => c.fragment === 0)!;
    const [push] = sent(e.handle({ kind: 'read', tag: r.tag, values: Float32Array.from([1, 3]), now: 15 }), 'push');
    expect([push!.epoch, push!.round, push!.baseVersion, push!.cSteps]).toEqual([2, 30, 27, 1]);
  });

  it('adopts a snapshot at the step boundary, keeping fragments a newer broadcast already brought', () => {
    const e = joined(1);
    e.handle({ kind: 'message', msg: bcast(1, 6, [7, 7]), now: 3 });
    e.handle({ kind: 'stepped', now: 4, ms: 20 });
    e.handle({ kind: 'message', msg: snapshot({ versions: [5, 5], params: Float32Array.from([9, 9, 9, 9]) }), now: 5 });
    const out = e.handle({ kind: 'stepped', now: 6, ms: 20 });
    expect(of(out, 'load').map((l) => l.kept)).toEqual([[1]]);
    expect(e.state.baseVersions).toEqual([5, 6]);
  });

  it('a rebuilt worker: hello again, nothing pushed from the dead worker, local warmup restarts', () => {
    const e = joined(60);
    const out = e.handle({ kind: 'rebuilt', now: 100 });
    expect(kinds(out)).toEqual(['hello']);
    expect(e.handle({ kind: 'message', msg: { type: 'pull', fragment: 0, round: 9 }, now: 101 })).toEqual([]);
    const again = e.handle({ kind: 'message', msg: snapshot({ globalStep: 9 }), now: 102 });
    expect(of(again, 'train')[0]!.lr).toBe(lrAt(0, DEFAULT_LR) * localWarmup(0));
  });

  it('tells the coordinator once when it moves to another backend, and names the new one in every later hello', () => {
    const e = joined(2);
    expect(sent(e.handle({ kind: 'backend', backend: 'webgl', now: 10 }), 'backend')).toEqual([{ type: 'backend', backend: 'webgl' }]);
    expect(e.handle({ kind: 'backend', backend: 'webgl', now: 11 })).toEqual([]); // no change, nothing said
    expect(sent(e.handle({ kind: 'connected', now: 12 }), 'hello').map((h) => h.backend)).toEqual(['webgl']);
    expect(sent(e.handle({ kind: 'rebuilt', now: 13 }), 'hello').map((h) => h.backend)).toEqual(['webgl']);
    expect(sent(e.handle({ kind: 'backend', backend: 'cpu', now: 14 }), 'backend')).toEqual([{ type: 'backend', backend: 'cpu' }]); // back to cfg.backend is a move too
  });

  it('settles its own acks only, and resends unacked pushes on reconnecting', () => {
    const e = joined(2);
    const [push] = sent(e.handle({ kind: 'message', msg: { type: 'pull', fragment: 0, round: 5 }, now: 10 }), 'push');
    expect(kinds(e.handle({ kind: 'connected', now: 11 }))).toEqual(['hello', 'push']);
    const ack = { type: 'ack', fragment: 0, round: 5, seq: push!.seq, session: 3, outcome: 'merged', reason: null } as const;
    expect(e.handle({ kind: 'message', msg: { ...ack, session: 2 }, now: 12 })).toEqual([]);
    expect(kinds(e.handle({ kind: 'message', msg: ack, now: 12 }))).toEqual(['settled']);
  });

  it('a push refused as a norm outlier: hello once, and the snapshot replaces the drifted fragments', () => {
    const e = joined(3); // host copies as of t = 3, 3 steps on each fragment
    const pull = (fragment: number, round: number, now: number): MessageOf<'push'> | undefined => sent(e.handle({ kind: 'message', msg: { type: 'pull', fragment, round }, now }), 'push')[0];
    const refusal = (push: MessageOf<'push'>, reason: 'norm-outlier' | 'round-closed'): MessageOf<'ack'> =>
      ({ type: 'ack', fragment: push.fragment, round: push.round, seq: push.seq, session: 3, outcome: 'rejected', reason });
    expect(kinds(e.handle({ kind: 'message', msg: refusal(pull(0, 5, 10)!, 'round-closed'), now: 11 }))).toEqual(['settled']); // other refusals change nothing
    const [a, b] = [pull(0, 7, 12)!, pull(1, 6, 12)!];
    expect(kinds(e.handle({ kind: 'message', msg: refusal(b, 'norm-outlier'), now: 13 }))).toEqual(['settled', 'hello']);
    expect(kinds(e.handle({ kind: 'message', msg: refusal(a, 'norm-outlier'), now: 14 })), 'one hello out at a time').toEqual(['settled']);
    expect(pull(0, 8, 15), 'a pull while the hello is out waits for the snapshot').toBeUndefined();
    // Nothing merged meanwhile: the snapshot has the versions the tab holds, and replaces both fragments.
    e.handle({ kind: 'message', msg: snapshot({ params: Float32Array.from([1.5, 2, 3, 4.5]) }), now: 16 });
    const out = e.handle({ kind: 'stepped', now: 17, ms: 20 }); // adopted at the step boundary
    expect(of(out, 'load').map((l) => [[...l.params], l.kept])).toEqual([[[1.5, 2, 3, 4.5], []]]);
    expect([...e.state.cSteps]).toEqual([0, 0]);
    expect(sent(e.handle({ kind: 'tick', now: 5000 }), 'hello'), 'answered: no hello again').toEqual([]);
  });

  it('refused as an unknown learner: hello again at once, unless a hello went out less than REHELLO_MS before', () => {
    const reject: MessageOf<'reject'> = { type: 'reject', reason: 'unknown-learner', detail: 'say hello first' };
    const e = new LearnerEngine(cfg, layout);
    e.handle({ kind: 'connected', now: 0 });
    expect(kinds(e.handle({ kind: 'message', msg: reject, now: 10 })), 'a message sent before the hello').toEqual([]);
    expect(kinds(e.handle({ kind: 'message', msg: reject, now: REHELLO_MS })), 'the hello was lost').toEqual(['hello']);
    e.handle({ kind: 'message', msg: snapshot(), now: REHELLO_MS + 5 });
    expect(kinds(e.handle({ kind: 'message', msg: { ...reject, reason: 'bad-field' }, now: REHELLO_MS + 6 })), 'other refusals change nothing').toEqual([]);
    expect(kinds(e.handle({ kind: 'message', msg: reject, now: REHELLO_MS + 7 })), 'reordered behind the snapshot: sent before the hello').toEqual([]);
    expect(kinds(e.handle({ kind: 'message', msg: reject, now: 2 * REHELLO_MS })), 'dropped as silent after joining').toEqual(['hello']);
    expect(kinds(e.handle({ kind: 'message', msg: reject, now: 2 * REHELLO_MS + 1 })), 'one hello per REHELLO_MS').toEqual([]);
  });

  it('pauses at the next boundary and adopts broadcasts at once while paused', () => {
    const e = joined(1);
    e.handle({ kind: 'pause', paused: true, now: 3 });
    expect(kinds(e.handle({ kind: 'stepped', now: 4, ms: 20 }))).toEqual(['meta', 'read', 'read']);
    expect(kinds(e.handle({ kind: 'message', msg: bcast(0, 1, [5, 5]), now: 5 }))).toEqual(['write', 'meta']);
    expect(kinds(e.handle({ kind: 'pause', paused: false, now: 6 }))).toEqual(['meta', 'train']); // host copies are as of t = 2 already
  });
});
