import { describe, expect, it } from 'vitest';
import { getCodec } from '../codecs';
import { makeLayout } from '../layout';
import { capShares, RunningMedian } from './guards';
import { makeSyncConfig } from './config';
import type { Msg, SyncCommand } from './events';
import { Syncer } from './syncer';

describe('capShares', () => {
  it('water-fills: capped weights share the level c = s·R/(1 − k·s) (hand-worked)', () => {
    // [8, 1, 1] at s = 0.5: cap the 8 → c = 0.5·2/(1 − 0.5) = 2 → [2, 1, 1], share 2/4 = 0.5.
    expect(capShares([8, 1, 1], 0.5)).toEqual([2, 1, 1]);
    // Nothing above the cap: unchanged.
    expect(capShares([1, 1, 1], 0.5)).toEqual([1, 1, 1]);
    // Two large ones at s = 0.4 with R = 2: k=1 gives c = 0.8/0.6 ≈ 1.33 < 5, k=2 gives c = 0.8/0.2 = 4.
    capShares([10, 5, 1, 1], 0.4).forEach((x, i) => expect(x).toBeCloseTo([4, 4, 1, 1][i]!, 12));
    expect(capShares([5, 0, 0], 0.5)).toEqual([1, 1, 1]);
    // Infeasible caps and all-zero weights give equal weights; one contributor is never capped.
    expect(capShares([3, 1], 0.4)).toEqual([1, 1]);
    expect(capShares([0, 0, 0], 0.5)).toEqual([1, 1, 1]);
    expect(capShares([7], 0.1)).toEqual([7]);
  });

  it('never leaves a share above the cap and never raises a weight (random check)', () => {
    for (let k = 0; k < 500; k++) {
      const n = 2 + (k % 7);
      const w = Array.from({ length: n }, (_, i) => ((i * 7919 + k * 104729) % 1000) ** 2 / 1000);
      const s = Math.max(1 / n + 0.01, ((k % 10) + 1) / 10);
      const c = capShares(w, s);
      const total = c.reduce((a, b) => a + b, 0);
      if (w.every((x) => x === 0)) continue;
      const equal = c.every((x) => x === 1);
      c.forEach((x, i) => { expect(x / total).toBeLessThanOrEqual(s + 1e-12); if (!equal) expect(x).toBeLessThanOrEqual(w[i]! + 1e-12); });
    }
  });
});

describe('RunningMedian', () => {
  it('is undefined before warmup, then the median of the last window values', () => {
    const m = new RunningMedian(4, 3);
    m.push(5); m.push(1);
    expect(m.median).toBeUndefined();
    m.push(3);
    expect(m.median).toBe(3);
    m.push(10); // [5, 1, 3, 10] → (3 + 5) / 2
    expect(m.median).toBe(4);
    m.push(2); // window drops 5: [1, 3, 10, 2] → (2 + 3) / 2
    expect(m.median).toBe(2.5);
  });
});

describe('Syncer guards against hostile pushes', () => {
  const layout = makeLayout([{ name: 'a', shape: [4], kind: 'dense' }]);
  const fp32 = getCodec(0);
  if (!fp32.ok) throw new Error('fp32 codec missing');
  const hello = (id: string, tokensPerStep = 10): Msg<'hello'> => ({ type: 'hello', runId: 'r', learnerId: id, session: 1, layoutHash: layout.hash, tokensPerStep, backend: 'cpu', uplinkCodec: 0 });
  const meta = (steps: number, v = 0): Msg<'meta'> => ({ type: 'meta', t: steps, cSteps: [steps], cTokens: [10 * steps], versions: [v], stepMs: 10 });
  const push = (round: number, seq: number, scale: number, over: Partial<Msg<'push'>> = {}): Msg<'push'> => ({
    type: 'push', fragment: 0, round, epoch: 1, baseVersion: round - 1, seq, t: 4, cSteps: 4, cTokens: 40, codec: 0,
    payload: fp32.value.encode(Float32Array.from([0.01, -0.01, 0.01, -0.01].map((x) => x * scale))), ...over,
  });
  const reasons = (c: SyncCommand[]): string[] => c.flatMap((x) => (x.kind === 'rejected' ? [x.reason] : []));
  const setup = () => new Syncer(makeSyncConfig({ runId: 'r', P: 1, H: 4, tau: 1, K: 1, uplinkCodec: 0, normWarmup: 3, normCapFactor: 8, minStepMs: 10, maxStrikes: 2 }), layout, new Float32Array(4));

  it('refuses a ×100 update once the running median exists, and claims beyond batch × steps or elapsed time', () => {
    const s = setup();
    s.handle({ kind: 'join', id: 'x', now: 0, hello: hello('x') });
    s.handle({ kind: 'join', id: 'y', now: 0, hello: hello('y') }); // pulled too and silent: keeps each round open
    let now = 1000;
    for (let r = 1; r <= 3; r++) {
      for (const id of ['x', 'y']) s.handle({ kind: 'message', id, now, msg: meta(4, r - 1) });
      expect(reasons(s.handle({ kind: 'message', id: 'x', now: now + 1, msg: push(r, r, 1 + 0.1 * r) }))).toEqual([]);
      s.handle({ kind: 'message', id: 'y', now: now + 2, msg: push(r, 100 + r, 1 + 0.1 * r) });
      now += 1000;
    }
    for (const id of ['x', 'y']) s.handle({ kind: 'message', id, now, msg: meta(4, 3) });
    s.handle({ kind: 'join', id: 'z', now: 0, hello: hello('z') });
    s.handle({ kind: 'message', id: 'z', now, msg: meta(4, 3) });
    expect(reasons(s.handle({ kind: 'message', id: 'x', now, msg: push(4, 10, 100) }))).toEqual(['norm-outlier']);
    expect(reasons(s.handle({ kind: 'message', id: 'y', now, msg: push(4, 11, 1, { cTokens: 41 }) }))).toEqual(['token-claim']); // 4 steps × 10 tokens
    // 4000 ms since z first joined (at 0 ms here) at 10 ms per step: at most 401 steps.
    expect(reasons(s.handle({ kind: 'message', id: 'z', now, msg: push(4, 12, 1, { cSteps: 402, cTokens: 4020 }) }))).toEqual(['token-claim']);
    expect(s.model.versions).toEqual([3]);
  });

  it('drops a learner after maxStrikes invalid messages and refuses its id for banMs', () => {
    const s = setup();
    s.handle({ kind: 'join', id: 'x', now: 0, hello: hello('x') });
    s.handle({ kind: 'invalid', id: 'x', now: 1, reason: 'bad-magic' });
    s.handle({ kind: 'invalid', id: 'x', now: 2, reason: 'truncated' });
    expect(s.connectedIds()).toEqual(['x']);
    const out = s.handle({ kind: 'invalid', id: 'x', now: 3, reason: 'truncated' });
    expect(out.some((c) => c.kind === 'drop' && c.id === 'x')).toBe(true);
    expect(s.connectedIds()).toEqual([]);
    expect(reasons(s.handle({ kind: 'join', id: 'x', now: 1000, hello: hello('x') }))).toEqual(['too-many-strikes']);
    expect(reasons(s.handle({ kind: 'join', id: 'x', now: 70_000, hello: hello('x') }))).toEqual([]);
    expect(reasons(s.handle({ kind: 'join', id: 'y', now: 70_000, hello: hello('y', 1 << 21) }))).toEqual(['token-claim']);
  });
});
