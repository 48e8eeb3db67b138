import { describe, expect, it } from 'vitest';
import { getCodec } from '../codecs';
import { makeLayout } from '../layout';
import { makeRng } from '../rng';
import { capShares, RunningMedian } from './guards';
import { lrShape, makeSyncConfig, type SyncConfig } from './config';
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
  it('meets a cap of 1/k exactly met by k equal weights, without NaN (hand-worked)', () => {
    // Three positive weights at s = 1/3: all three must sit at one level. Capping 3 then 2 leaves the 1
    // at the level c = s·1/(1 − 2s) = 1, which rounds to a hair below 1; a 1 "over" it used to be capped
    // too, with k·s = 1 and c = 0/0.
    capShares([1, 0, 2, 0, 3], 1 / 3).forEach((x, i) => expect(x).toBeCloseTo([1, 0, 1, 0, 1][i]!, 12));
  });

  it('water-fills exactly: finite, shares within the cap, uncapped weights unchanged, capped ones at one level (seeded)', () => {
    const rng = makeRng(7);
    for (let k = 0; k < 5000; k++) {
      const n = 2 + rng.int(14);
      const s = rng.next() < 0.5 ? 1 / (1 + rng.int(n)) : 0.05 + rng.next() * 0.95;
      const w = Array.from({ length: n }, () => (rng.next() < 0.3 ? 0 : rng.next() < 0.5 ? 1 + rng.int(3) : rng.next() * 10));
      const c = capShares(w, s);
      const where = `capShares([${w.join(', ')}], ${s}) = [${c.join(', ')}]`;
      expect(c.every((x) => Number.isFinite(x)), where).toBe(true);
      if (w.every((x) => x === 0)) continue;
      if (c.every((x) => x === 1) && (n * s <= 1 || w.filter((x) => x > 0).length * s < 1 - 1e-9)) continue; // the documented fallback
      const total = c.reduce((a, b) => a + b, 0);
      expect(Math.max(...c) / total, where).toBeLessThanOrEqual(s * (1 + 1e-9));
      const capped = c.filter((x, i) => x !== w[i]);
      const level = capped[0] ?? Infinity;
      c.forEach((x, i) => {
        if (x !== w[i]) { expect(x, where).toBe(level); expect(w[i]!, where).toBeGreaterThan(level); }
        else expect(x, where).toBeLessThanOrEqual(level * (1 + 1e-9));
      });
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
  // stepBound: these hand-made deltas follow no optimizer; the absolute cap has tests of its own below.
  const setup = () => new Syncer(makeSyncConfig({ runId: 'r', P: 1, H: 4, tau: 1, K: 1, uplinkCodec: 0, normWarmup: 3, normCapFactor: 8, minStepMs: 10, maxStrikes: 2, tokensPerStep: 10, stepBound: Number.MAX_VALUE }), layout, new Float32Array(4));

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

  /** One learner alone (K=1): each call announces steps, answers the pull with a push of `scale`, and
   * returns the push's refusal reason, or null when it merged. */
  const lone = (over: Partial<SyncConfig>) => {
    const cfg = makeSyncConfig({ runId: 'r', P: 1, H: 4, tau: 1, K: 1, uplinkCodec: 0, normWarmup: 3, normCapFactor: 8, tokensPerStep: 1000, stepBound: Number.MAX_VALUE, ...over });
    const s = new Syncer(cfg, layout, new Float32Array(4));
    s.handle({ kind: 'join', id: 'x', now: 0, hello: hello('x', 1000) });
    let now = 1000, seq = 0, round: number | undefined;
    const handle = (msg: Msg<'meta'> | Msg<'push'>): SyncCommand[] => {
      const out = s.handle({ kind: 'message', id: 'x', now, msg });
      for (const c of out) if ((c.kind === 'send' || c.kind === 'broadcast') && c.msg.type === 'pull') round = c.msg.round;
      return out;
    };
    return {
      s, cfg,
      push(scale: number, cTokens = 40, t = 1000): string | null {
        now += 1000;
        handle(meta(4, s.model.versions[0]));
        const open = round;
        if (open === undefined) throw new Error('no round was opened');
        round = undefined; // the next pull may come out of this push's own handling
        return reasons(handle(push(open, ++seq, scale, { baseVersion: s.model.versions[0], cTokens, t })))[0] ?? null;
      },
    };
  };

  it('does not lock out an honest majority whose norms grew past the cap: refused norms enter the median too', () => {
    const x = lone({});
    for (let i = 0; i < 6; i++) expect(x.push(1)).toBeNull();
    // Window: six norms of 0.02 (×1/shape). Norms ×20 are refused while the median is still small: with
    // k of them added, the median is small until they are half of the 6 + k values, i.e. k = 6 (hand-worked).
    const after = Array.from({ length: 12 }, () => x.push(20));
    expect(after).toEqual([...Array(6).fill('norm-outlier'), ...Array(6).fill(null)]);
    expect(x.push(2000)).toBe('norm-outlier'); // the cap still holds against a ×100 update
  });

  it('scales norms by the inner LR schedule: the end of its warmup is not an attack', () => {
    // Warmup over the first half of 8000 planned tokens, from 5% of peak (P = 1: a merge credits cTokens).
    const x = lone({ plannedTokens: 8000, innerLr: { peak: 1e-3, warmup: 0.5, floor: 0.1, start: 0.05 } });
    for (let i = 0; i < 3; i++) expect(x.push(0.05, 1)).toBeNull(); // at 5% of peak: the median is 0.05 × 0.02
    expect(x.push(0.05, 4000)).toBeNull(); // merges 4000 tokens: progress 0.5, the end of warmup
    expect(lrShape(x.cfg, x.s.progress)).toBeCloseTo(1, 4);
    // An honest update at the full learning rate is 20× the median's raw norms, 1× per unit of scheduled LR.
    expect(x.push(1)).toBeNull();
  });

  it('scales norms by the local warmup of the steps a push was made of: a fresh tab does not lock out the rest', () => {
    const x = lone({});
    // Fresh tabs' first pushes (steps 0–3, at 1/50…4/50 of the rate: mean 0.05) fill the window.
    for (let i = 0; i < 5; i++) expect(x.push(0.05, 40, 4)).toBeNull();
    expect(x.push(1)).toBeNull(); // a mature learner's push: 20× their raw norm, the same per unit of rate
    expect(x.push(1, 40, 4)).toBe('norm-outlier'); // claiming to be fresh only shrinks one's own allowance
  });
});
