import { makeLayout, makeSyncConfig, Syncer, type Msg, type SyncCommand, type SyncEvent } from '@tabswarm/core';
import { describe, expect, it } from 'vitest';
import { HeldEvents } from './held-events';

// The real syncer behind a 40 s pause: two learners, the second of which sends nothing in the pause's
// first 1.1 s, as a tab busy adopting a snapshot or reading a fragment back may not.
const layout = makeLayout([{ name: 'a', shape: [2], kind: 'dense' }, { name: 'b', shape: [2], kind: 'dense' }]);
const cfg = makeSyncConfig({ runId: 'r', P: 2, H: 4, tau: 1, K: 1, uplinkCodec: 0, minStepMs: 1e-3, tokensPerStep: 10, stepBound: Number.MAX_VALUE });
const hello = (id: string): Msg<'hello'> => ({ type: 'hello', runId: 'r', learnerId: id, session: 0, layoutHash: layout.hash, tokensPerStep: 10, backend: 'cpu', uplinkCodec: 0 });
const meta = (steps: number): Msg<'meta'> => ({ type: 'meta', t: steps, cSteps: [steps, steps], cTokens: [10 * steps, 10 * steps], versions: [0, 0], stepMs: 100 });

/** Paused from 100 ms to 40,100 ms: x sends from the start, the syncer ticks every 500 ms, y sends from 1.2 s on. */
function pause(): SyncEvent[] {
  const evs: SyncEvent[] = [{ kind: 'message', id: 'x', now: 150, msg: meta(1) }];
  for (let t = 500; t < 40_100; t += 500) {
    evs.push({ kind: 'tick', now: t }, { kind: 'message', id: 'x', now: t + 10, msg: meta(t / 500) });
    if (t >= 1200) evs.push({ kind: 'message', id: 'y', now: t + 20, msg: meta(t / 500) });
  }
  return evs;
}

/** What the syncer answers to the events a pause let go, after both learners joined at 0. */
function afterPause(release: (during: SyncEvent[]) => SyncEvent[]): SyncCommand[] {
  const s = new Syncer(cfg, layout, Float32Array.from([1, 2, 3, 4]), 1);
  s.handle({ kind: 'join', id: 'x', now: 0, hello: hello('x') });
  s.handle({ kind: 'join', id: 'y', now: 0, hello: hello('y') });
  return release(pause()).flatMap((ev) => s.handle(ev));
}

describe('HeldEvents', () => {
  it('lets a pause go without dropping a learner as silent: ticks are not held, one follows the release', () => {
    const cmds = afterPause((during) => {
      const held = new HeldEvents();
      for (const ev of during) held.hold(ev, true);
      const { events, waitedMs } = held.release(40_100);
      expect(waitedMs).toBe(40_100 - 150);
      return events;
    });
    expect(cmds.filter((c) => c.kind === 'drop')).toEqual([]);
    expect(cmds.filter((c) => c.kind === 'rejected')).toEqual([]);
  });

  it('(the oracle) holding the ticks too, as before, dropped the learner whose messages came after the first', () => {
    const cmds = afterPause((during) => during.map((ev) => ({ ...ev, now: 40_100 })));
    expect(cmds.filter((c) => c.kind === 'drop').map((c) => (c as { id: string }).id)).toEqual(['y']);
    expect(cmds.filter((c) => c.kind === 'rejected' && c.reason === 'unknown-learner').length).toBeGreaterThan(70);
  });

  it('counts the wait from the first held learner message, and none for a rebase', () => {
    const h = new HeldEvents();
    h.hold({ kind: 'join', id: 'x', now: 5, hello: hello('x') }, true);
    h.hold({ kind: 'message', id: 'x', now: 10, msg: meta(1) }, true);
    h.hold({ kind: 'message', id: 'x', now: 20, msg: meta(2) }, true);
    const r = h.release(1_010);
    expect(r.waitedMs).toBe(1_000);
    expect(r.events.map((e) => [e.kind, e.now])).toEqual([['join', 1_010], ['message', 1_010], ['message', 1_010], ['tick', 1_010]]);
    h.hold({ kind: 'message', id: 'x', now: 2_000, msg: meta(3) }, true);
    expect(h.release(3_000).waitedMs).toBe(1_000);
    h.hold({ kind: 'message', id: 'x', now: 4_000, msg: meta(4) }, false);
    expect(h.release(9_000).waitedMs).toBe(0);
    expect(h.release(9_500)).toEqual({ events: [], waitedMs: 0 });
  });
});
