import { describe, expect, it } from 'vitest';
import { getCodec } from '../codecs';
import { makeLayout } from '../layout';
import { makeSyncConfig } from './config';
import type { Msg, SyncCommand } from './events';
import { Syncer } from './syncer';

/** Badput by cause (docs/fault-tolerance.md §1): every trained token not merged is in exactly one bucket. */
const layout = makeLayout([{ name: 'a', shape: [64], kind: 'dense' }]);
const init = new Float32Array(64).fill(0.1);
const fp32 = (() => { const c = getCodec(0); if (!c.ok) throw new Error('fp32 codec missing'); return c.value; })();
const hello = (id: string): Msg<'hello'> => ({ type: 'hello', runId: 'r', learnerId: id, session: 1, layoutHash: layout.hash, tokensPerStep: 8, backend: 'cpu', uplinkCodec: 0 });
const meta = (t: number, cSteps: number, version: number): Msg<'meta'> => ({ type: 'meta', t, cSteps: [cSteps], cTokens: [8 * cSteps], versions: [version], stepMs: 20 });
const pullOf = (out: SyncCommand[]): number | undefined => out.flatMap((c) => ((c.kind === 'send' || c.kind === 'broadcast') && c.msg.type === 'pull' ? [c.msg.round] : []))[0];
const delta = Float32Array.from({ length: 64 }, (_, i) => (i % 2 ? 1 : -1) * 4e-4);

describe('badput by cause', () => {
  it('a META sent before its learner adopted a broadcast does not count the tokens that broadcast already accounted for', () => {
    // P = 1, H = 8, K = 1, 8 tokens per step. x and y each train 8 steps; round 1 merges x alone, so y's
    // 64 tokens are superseded. y, still on version 0 (the broadcast is on its way), steps once more and
    // says so; round 2 then merges x again without y. y trained 9 steps (72 tokens) in all: 64 superseded
    // by round 1, and its 9th step, trained while that broadcast was in transit, is killed/lost, not
    // superseded a second time.
    const s = new Syncer(makeSyncConfig({ runId: 'r', P: 1, H: 8, tau: 1, K: 1, uplinkCodec: 0, tokensPerStep: 8 }), layout, init);
    for (const id of ['x', 'y']) s.handle({ kind: 'join', id, now: 0, hello: hello(id) });
    const r1 = pullOf(s.handle({ kind: 'message', id: 'x', now: 1000, msg: meta(8, 8, 0) }));
    s.handle({ kind: 'message', id: 'y', now: 1000, msg: meta(8, 8, 0) });
    s.handle({ kind: 'message', id: 'x', now: 1001, msg: { type: 'push', fragment: 0, round: r1!, epoch: s.epoch, baseVersion: 0, seq: 1, t: 8, cSteps: 8, cTokens: 64, codec: 0, payload: fp32.encode(delta) } });
    expect(s.handle({ kind: 'tick', now: 1100 }).some((c) => c.kind === 'commit')).toBe(true); // y never answered
    expect(s.badput.superseded).toBe(64);

    s.handle({ kind: 'message', id: 'y', now: 1110, msg: meta(9, 9, 0) }); // sent before broadcast 1 reached y
    expect(s.learners.get('y')!.cTokens[0]).toBe(0); // nothing y holds on version 1: not pending
    const v1 = s.model.versions[0]!;
    const r2 = pullOf(s.handle({ kind: 'message', id: 'x', now: 1200, msg: meta(16, 8, v1) }));
    const out = s.handle({ kind: 'message', id: 'x', now: 1201, msg: { type: 'push', fragment: 0, round: r2!, epoch: s.epoch, baseVersion: v1, seq: 2, t: 16, cSteps: 8, cTokens: 64, codec: 0, payload: fp32.encode(delta) } });
    expect(out.some((c) => c.kind === 'commit')).toBe(true);
    expect(s.badput.superseded).toBe(64);
  });
});
