import { describe, expect, it } from 'vitest';
import type { MessageOf } from '../protocol';
import { bcast, joined, of, sent, snapshot } from './engine-fixtures';

// A lossy link (the chaos panel's drop, docs/fault-tolerance.md §2): the syncer pulls again a learner whose
// push did not come (syncer/repull.ts), and a hello whose snapshot did not come is said again.
const pull = (fragment: number, round: number): MessageOf<'pull'> => ({ type: 'pull', fragment, round });

describe('LearnerEngine on a lossy link', () => {
  it('answers a pull repeated for a round it pushed with that same push, and re-applies its steps from it', () => {
    const e = joined(2); // host copies as of t = 2: fragment 0 = [3, 2]
    const [first] = sent(e.handle({ kind: 'message', msg: pull(0, 5), now: 10 }), 'push');
    const out = e.handle({ kind: 'stepped', now: 11, ms: 20 }); // t = 3: fragment 0 is now [4, 2]
    for (const r of of(out, 'read')) e.handle({ kind: 'read', tag: r.tag, values: Float32Array.from(r.fragment === 0 ? [4, 2] : [3, 7]), now: 11 });
    // The first push was lost: the same seq and payload again, not a push of the newer copy (which the syncer
    // would refuse as a second push of the round, and which the eager re-application would then start from).
    expect(sent(e.handle({ kind: 'message', msg: pull(0, 5), now: 12 }), 'push')).toEqual([first]);
    e.handle({ kind: 'message', msg: bcast(0, 5, [9, 9]), now: 13 });
    const [w] = of(e.handle({ kind: 'stepped', now: 14, ms: 20 }), 'write');
    expect([w!.fragment, [...w!.rebase!]]).toEqual([0, [3, 2]]); // θ ← Θ + (θ_now − θ at the push that merged)
    // Acked, or its round closed (the broadcast of version 5 came): a pull for round 5 that crossed them is stale.
    e.handle({ kind: 'message', msg: { type: 'ack', fragment: 0, round: 5, seq: first!.seq, session: 3, outcome: 'merged', reason: null }, now: 15 });
    expect(e.handle({ kind: 'message', msg: pull(0, 5), now: 16 })).toEqual([]);
  });

  it('a push whose ack came is not made again for a repeated pull, even before its round closed here', () => {
    const e = joined(2);
    const [first] = sent(e.handle({ kind: 'message', msg: pull(1, 7), now: 10 }), 'push');
    e.handle({ kind: 'message', msg: { type: 'ack', fragment: 1, round: 7, seq: first!.seq, session: 3, outcome: 'rejected', reason: 'duplicate' }, now: 11 });
    expect(e.handle({ kind: 'message', msg: pull(1, 7), now: 12 })).toEqual([]);
  });

  it('says a lost hello again after 4 × the last snapshot\'s wait, at least 2 s, doubling: not after the 15 s deadline', () => {
    const e = joined(2, undefined, { helloDeadlineMs: 15_000 }); // its hello at 0 was answered at 1 ms
    const [p] = sent(e.handle({ kind: 'message', msg: pull(0, 5), now: 10 }), 'push');
    // Refused as a norm outlier (the tab drifted while its pushes were lost): a hello for a fresh snapshot, and it is lost.
    const refused = e.handle({ kind: 'message', msg: { type: 'ack', fragment: 0, round: 5, seq: p!.seq, session: 3, outcome: 'rejected', reason: 'norm-outlier' }, now: 100 });
    expect(sent(refused, 'hello')).toHaveLength(1);
    const hellos = (from: number, to: number): number[] => {
      const at: number[] = [];
      for (let now = from; now <= to; now += 1) if (sent(e.handle({ kind: 'tick', now }), 'hello').length) at.push(now);
      return at;
    };
    expect(hellos(101, 30_000)).toEqual([2101, 6102, 14_103, 29_104]); // after 2, 4, 8 and then 15 s (the deadline)
  });

  it('a new incarnation\'s pull for a round number its dead one also pulled is answered from the new epoch, not with the old push', () => {
    // Round 7 of fragment 1 was open when the coordinator reloaded (epoch 1 → 2); the new one numbers rounds
    // from its last commit, so it opens a round 7 of fragment 1 too, and its pull overtakes its snapshot.
    const overtaken = (acked: boolean): MessageOf<'push'> | undefined => {
      const e = joined(2);
      const [old] = sent(e.handle({ kind: 'message', msg: pull(1, 7), now: 10 }), 'push');
      e.handle({ kind: 'connected', now: 20 }); // the old push is resent here, refused as stale-epoch
      if (acked) { // the snapshot came, during a step, then that refusal
        e.handle({ kind: 'message', msg: snapshot({ epoch: 2, versions: [5, 6], globalStep: 6 }), now: 21 });
        e.handle({ kind: 'message', msg: { type: 'ack', fragment: 1, round: 7, seq: old!.seq, session: 3, outcome: 'rejected', reason: 'stale-epoch' }, now: 22 });
      }
      expect(e.handle({ kind: 'message', msg: pull(1, 7), now: 23 })).toEqual([]); // held: no epoch-1 push, and not dropped
      if (!acked) e.handle({ kind: 'message', msg: snapshot({ epoch: 2, versions: [5, 6], globalStep: 6 }), now: 24 });
      for (let t = 0; t < 2; t++) { // the snapshot is adopted at the first boundary, then one step on it
        const out = e.handle({ kind: 'stepped', now: 30 + t, ms: 20 });
        for (const r of of(out, 'read')) {
          const [p] = sent(e.handle({ kind: 'read', tag: r.tag, values: Float32Array.from([3, 5]), now: 30 + t }), 'push');
          if (p) return p;
        }
      }
      return undefined;
    };
    for (const acked of [false, true]) {
      const p = overtaken(acked);
      expect(p && [p.epoch, p.round, p.baseVersion, p.cSteps], `acked ${acked}`).toEqual([2, 7, 6, 1]);
    }
  });
});
