import { describe, expect, it } from 'vitest';
import { getCodec, int8 } from '../codecs';
import { makeLayout } from '../layout';
import type { MessageOf as Msg } from '../protocol';
import { LearnerState } from './state';
import { parseByzantine } from './byzantine';
import { DEFAULT_LR } from '../schedule';

const layout = makeLayout([{ name: 'a', shape: [2], kind: 'dense' }, { name: 'b', shape: [2], kind: 'dense' }]);
const snapshot = (versions: number[], params: number[]): Msg<'snapshot'> => ({
  type: 'snapshot', runId: 'r', epoch: 1, globalStep: 3, progress: 0.1,
  config: { P: 2, H: 4, tau: 1, K: 1, uplinkCodec: 0, blockSize: 128, lockstep: false, lr: DEFAULT_LR, tokensPerStep: 10 }, versions, params: Float32Array.from(params),
});
const bcast = (fragment: number, version: number, values: number[]): Msg<'broadcast'> => ({
  type: 'broadcast', fragment, version, epoch: 1, globalStep: version, progress: 0.2, precision: 'fp32', values: Float32Array.from(values),
});

describe('LearnerState', () => {
  it('pushes the delta against the last received fragment, with its counters', () => {
    const s = new LearnerState(layout);
    expect(s.applySnapshot(snapshot([0, 0], [1, 2, 3, 4])).ok).toBe(true);
    s.recordStep(10);
    s.recordStep(10);
    const p = s.makePush({ type: 'pull', fragment: 0, round: 5 }, Float32Array.from([1.5, 1]))!;
    expect([p.baseVersion, p.cSteps, p.cTokens, p.round, p.seq, p.t]).toEqual([0, 2, 20, 5, 1, 2]);
    // From a host copy taken one step earlier: that copy's counters travel, not today's.
    const q = s.makePush({ type: 'pull', fragment: 1, round: 6 }, Float32Array.from([3, 4]), { t: 1, cSteps: 1, cTokens: 10 })!;
    expect([q.cSteps, q.cTokens, q.t]).toEqual([1, 10, 1]);
    const fp32 = getCodec(0);
    const d = fp32.ok ? fp32.value.decode(p.payload, 2) : undefined;
    expect(d?.ok && [...d.value]).toEqual([0.5, -1]);
  });

  it('as the demo of a hostile tab, pushes −S × the delta and claims 2H steps at the run\'s tokens per step', () => {
    // Snapshot H = 4, 10 tokens per step: 2 steps trained, 2H = 8 claimed; at 9 steps trained, 9 (its own).
    const s = new LearnerState(layout, 4);
    s.applySnapshot(snapshot([0, 0], [1, 2, 3, 4]));
    s.recordStep(10);
    s.recordStep(10);
    const p = s.makePush({ type: 'pull', fragment: 0, round: 5 }, Float32Array.from([1.5, 1]))!;
    expect([p.cSteps, p.cTokens, p.t]).toEqual([8, 80, 2]);
    const fp32 = getCodec(0);
    const d = fp32.ok ? fp32.value.decode(p.payload, 2) : undefined;
    expect(d?.ok && [...d.value]).toEqual([-2, 4]); // −4 × [0.5, −1]
    const q = s.makePush({ type: 'pull', fragment: 1, round: 6 }, Float32Array.from([3, 4]), { t: 9, cSteps: 9, cTokens: 90 })!;
    expect([q.cSteps, q.cTokens]).toEqual([9, 90]);
  });

  it('parses byzantine=S: absent is honest, anything but a finite S > 0 is refused with the reason', () => {
    expect(parseByzantine(null)).toBeUndefined();
    expect(parseByzantine('7.5')).toBe(7.5);
    for (const bad of ['', '0', '-1', 'x', 'Infinity']) expect(() => parseByzantine(bad)).toThrow(/want a number > 0/);
  });

  it('applies a newer broadcast (overwrite), resets that fragment only, and refuses an older one', () => {
    const s = new LearnerState(layout);
    s.applySnapshot(snapshot([0, 0], [1, 2, 3, 4]));
    s.recordStep(10);
    const r = s.applyBroadcast(bcast(1, 4, [7, 8]));
    expect(r.ok && [...r.value]).toEqual([7, 8]);
    expect([s.cSteps, s.baseVersions]).toEqual([[1, 0], [0, 4]]);
    const old = s.applyBroadcast(bcast(1, 2, [0, 0]));
    expect(!old.ok && old.reason).toBe('duplicate');
  });

  it('applies an outer update on top of its anchor, and refuses one whose base it does not hold', () => {
    const s = new LearnerState(layout);
    s.applySnapshot(snapshot([0, 0], [1, 2, 3, 4]));
    const payload = int8.encode(Float32Array.from([0.5, -1]), 8); // scale 1: q = 64 (63.5 rounds up) and −127
    const delta: Msg<'broadcast'> = { type: 'broadcast', fragment: 0, version: 3, epoch: 1, globalStep: 3, progress: 0.2, precision: 'delta', baseVersion: 0, codec: int8.id, payload };
    const r = s.applyBroadcast(delta);
    const d = int8.decode(payload, 2);
    if (!r.ok || !d.ok) throw new Error('refused');
    expect([...r.value]).toEqual([Math.fround(1 + d.value[0]!), Math.fround(2 + d.value[1]!)]);
    expect([s.baseVersions[0], [...s.anchors[0]!]]).toEqual([3, [...r.value]]);
    expect(s.applyBroadcast({ ...delta, version: 5, baseVersion: 4 })).toMatchObject({ ok: false, reason: 'stale-base' });
  });

  it('never goes back: a snapshot overtaken by a newer broadcast keeps that fragment', () => {
    const s = new LearnerState(layout);
    s.applySnapshot(snapshot([0, 0], [1, 2, 3, 4]));
    s.applyBroadcast(bcast(1, 6, [7, 8]));
    const r = s.applySnapshot(snapshot([5, 5], [9, 9, 9, 9]));
    expect(r.ok && r.value.kept).toEqual([1]); // the caller writes fragment 0 only
    expect(r.ok && [...r.value.params]).toEqual([9, 9, 9, 9]);
    expect(s.baseVersions).toEqual([5, 6]);
  });

  it('refuses weights from an older coordinator incarnation and adopts a newer one whole', () => {
    const s = new LearnerState(layout);
    expect(s.applySnapshot({ ...snapshot([4, 5], [1, 2, 3, 4]), epoch: 3 }).ok).toBe(true);
    expect(s.applyBroadcast({ ...bcast(0, 9, [7, 7]), epoch: 2 })).toMatchObject({ ok: false, reason: 'stale-base' });
    expect(s.applySnapshot({ ...snapshot([9, 9], [0, 0, 0, 0]), epoch: 2 })).toMatchObject({ ok: false, reason: 'stale-base' });
    // A newer epoch at lower versions (a reload resumed from the last commit) still wins, fragment by fragment.
    s.recordStep(8);
    const r = s.applySnapshot({ ...snapshot([3, 4], [5, 6, 7, 8]), epoch: 4 });
    expect(r.ok && [...r.value.params]).toEqual([5, 6, 7, 8]);
    expect(r.ok && r.value.kept).toEqual([]);
    expect([s.epoch, ...s.baseVersions, ...s.cSteps]).toEqual([4, 3, 4, 0, 0]);
    const push = s.makePush({ type: 'pull', fragment: 1, round: 6 }, Float32Array.from([7, 8]));
    expect(push).toBeNull(); // no step since the snapshot: nothing to push
  });

  // Frames of one link arrive in order and a coordinator sends its snapshot first, so this is a guard, not a
  // path: adopting such a broadcast set the new epoch on one fragment, and the snapshot then kept the other
  // fragments' old-epoch values wherever their old version numbers were higher (an import, a restart).
  it('refuses a broadcast of a newer epoch before that epoch\'s snapshot: the snapshot replaces every fragment', () => {
    const s = new LearnerState(layout);
    s.applySnapshot({ ...snapshot([30, 30], [1, 2, 3, 4]), epoch: 1 });
    expect(s.applyBroadcast({ ...bcast(0, 3, [7, 7]), epoch: 2 })).toMatchObject({ ok: false, reason: 'stale-epoch' });
    const r = s.applySnapshot({ ...snapshot([2, 2], [5, 6, 7, 8]), epoch: 2 });
    expect(r.ok && r.value.kept).toEqual([]);
    expect([s.epoch, ...s.baseVersions]).toEqual([2, 2, 2]);
  });

  it('takes a newer incarnation\'s global step and progress clock even when lower (an imported model), and only rises within one', () => {
    const s = new LearnerState(layout);
    s.applySnapshot({ ...snapshot([40, 40], [1, 2, 3, 4]), epoch: 2, globalStep: 40, progress: 0.9 });
    s.applySnapshot({ ...snapshot([41, 41], [1, 2, 3, 4]), epoch: 2, globalStep: 38, progress: 0.8 }); // trails a broadcast: no step back
    expect([s.globalStep, s.progress]).toEqual([40, 0.9]);
    s.applySnapshot({ ...snapshot([5, 5], [1, 2, 3, 4]), epoch: 3, globalStep: 5, progress: 0.1 }); // epoch 3 resumed from a file at step 5
    expect([s.epoch, s.globalStep, s.progress]).toEqual([3, 5, 0.1]);
    s.applyBroadcast({ ...bcast(0, 6, [7, 7]), epoch: 3, globalStep: 6, progress: 0.12 });
    expect([s.globalStep, s.progress]).toEqual([6, 0.12]);
    s.applyBroadcast({ ...bcast(1, 2, [8, 8]), epoch: 4, globalStep: 2, progress: 0.01 }); // the next incarnation's, before its snapshot: refused
    expect([s.epoch, s.globalStep, s.progress]).toEqual([3, 6, 0.12]);
    s.applySnapshot({ ...snapshot([2, 2], [1, 2, 3, 4]), epoch: 4, globalStep: 2, progress: 0.01 });
    expect([s.epoch, s.globalStep, s.progress]).toEqual([4, 2, 0.01]);
  });

  it('keeps each push until its own ack (this session, this fragment) settles it, for a resend after a reconnect', () => {
    const s = new LearnerState(layout);
    s.applySnapshot(snapshot([0, 0], [1, 2, 3, 4]));
    s.recordStep(10);
    const a = s.makePush({ type: 'pull', fragment: 0, round: 5 }, Float32Array.from([1.5, 1]))!;
    const b = s.makePush({ type: 'pull', fragment: 1, round: 6 }, Float32Array.from([3, 4]))!;
    expect(s.resendable().map((p) => p.seq)).toEqual([a.seq, b.seq]);
    const ack = { type: 'ack', fragment: 0, round: 5, seq: a.seq, session: 7, outcome: 'merged', reason: null } as const;
    expect(s.settle({ ...ack, session: 6 }, 7)).toBeUndefined(); // another session's ack
    expect(s.settle({ ...ack, fragment: 1 }, 7)).toBeUndefined(); // not the fragment that push carried
    expect(s.settle(ack, 7)).toBe(a);
    expect(s.settle(ack, 7)).toBeUndefined(); // a duplicated ack
    expect(s.resendable().map((p) => p.seq)).toEqual([b.seq]);
    s.rejoin(); // a rebuilt worker: anchors forgotten, the unacked push kept
    expect(s.joined).toBe(false);
    expect(s.resendable().map((p) => p.seq)).toEqual([b.seq]);
  });
});
