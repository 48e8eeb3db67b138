import { describe, expect, it } from 'vitest';
import { makeLayout } from '../layout';
import type { MessageOf } from '../protocol';
import { DEFAULT_LR, localWarmup, lrAt, type LrSchedule } from '../schedule';
import { LearnerEngine, type EngineCommand, type EngineConfig } from './engine';

// One fragment (P = 1), H = 2: the data-parallel / synchronous-DiLoCo shape of docs/method.md §9.
const layout = makeLayout([{ name: 'a', shape: [2], kind: 'dense' }]);
const cfg: EngineConfig = { runId: 'r', learnerId: 'L', session: 1, tokensPerStep: 10, backend: 'cpu', adoption: 'eager', readAhead: 'due', helloDeadlineMs: 1000 };
const LR: LrSchedule = { peak: 0.05, warmup: 0.5, floor: 0.2, start: 0.1 };
const snapshot = (lockstep: boolean, progress = 0.3): MessageOf<'snapshot'> => ({
  type: 'snapshot', runId: 'r', epoch: 1, globalStep: 0, progress, config: { P: 1, H: 2, tau: 1, K: 1, uplinkCodec: 0, blockSize: 128, lockstep, lr: LR, tokensPerStep: 10 },
  versions: [0], params: Float32Array.from([1, 2]),
});
const kinds = (cs: EngineCommand[]): string[] => cs.map((c) => (c.kind === 'send' ? c.msg.type : c.kind));

/** An engine joined with the given lockstep flag, after `steps` steps whose readbacks return [t, t]. */
function run(lockstep: boolean, steps: number): { e: LearnerEngine; last: EngineCommand[] } {
  const e = new LearnerEngine(cfg, layout);
  e.handle({ kind: 'connected', now: 0 });
  let last = e.handle({ kind: 'message', msg: snapshot(lockstep), now: 1 });
  for (let t = 1; t <= steps; t++) {
    last = e.handle({ kind: 'stepped', now: 1 + t, ms: 20 });
    for (const r of last.filter((c) => c.kind === 'read')) e.handle({ kind: 'read', tag: r.tag, values: Float32Array.from([t, t]), now: 1 + t });
  }
  return { e, last };
}

describe('LearnerEngine: the snapshot sets the schedule and the lockstep rule', () => {
  it('trains at the snapshot\'s LR schedule, not a default one', () => {
    const { last } = run(false, 0);
    const train = last.find((c) => c.kind === 'train');
    expect(train).toEqual({ kind: 'train', lr: lrAt(0.3, LR) * localWarmup(0) });
    expect(lrAt(0.3, LR)).not.toBe(lrAt(0.3, DEFAULT_LR)); // the oracle tells the two apart
  });

  it('decoupled: keeps training past H while the round is in flight', () => {
    const { last } = run(false, 2);
    expect(kinds(last)).toEqual(['meta', 'read', 'train']);
  });

  it('lockstep: after H steps on a fragment, waits for its broadcast; a pull is still answered; the broadcast resumes training', () => {
    const { e, last } = run(true, 2);
    expect(kinds(last)).toEqual(['meta', 'read']); // due: its host copy is read, and no next step
    expect(e.waitsForSync()).toBe(true);
    const pushed = e.handle({ kind: 'message', msg: { type: 'pull', fragment: 0, round: 1 }, now: 10 });
    expect(kinds(pushed)).toEqual(['push']);
    const resumed = e.handle({ kind: 'message', msg: { type: 'broadcast', fragment: 0, version: 1, epoch: 1, globalStep: 1, progress: 0.3, precision: 'fp32', values: Float32Array.from([5, 5]) }, now: 11 });
    expect(kinds(resumed)).toEqual(['write', 'meta', 'train']);
    expect(e.waitsForSync()).toBe(false);
  });

  it('lockstep: a learner left waiting says where it stands again once per hello deadline (an abandoned round)', () => {
    const { e } = run(true, 2);
    expect(e.handle({ kind: 'tick', now: 100 })).toEqual([]); // starts the wait clock
    expect(e.handle({ kind: 'tick', now: 1100 })).toEqual([]); // exactly the deadline: not yet
    const again = e.handle({ kind: 'tick', now: 1101 });
    expect(kinds(again)).toEqual(['meta']);
    expect(again[0]).toMatchObject({ msg: { type: 'meta', t: 2, cSteps: [2] } });
    expect(e.handle({ kind: 'tick', now: 1200 })).toEqual([]);
  });
});
