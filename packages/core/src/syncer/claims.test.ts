import { describe, expect, it } from 'vitest';
import { getCodec } from '../codecs';
import { makeLayout } from '../layout';
import { applyCommit, initialDurable } from './commit';
import { makeSyncConfig, type SyncConfig } from './config';
import type { Msg, SyncCommand } from './events';
import { absoluteNormCap } from './guards';
import { Syncer } from './syncer';

/**
 * Issue 10's claims attacks against the real syncer at the run's defaults (docs/fault-tolerance.md §3):
 * each test is one attack that worked before these guards, and what happens to it now.
 */
const layout = makeLayout([{ name: 'a', shape: [64], kind: 'dense' }]);
const init = new Float32Array(64).fill(0.1);
const fp32 = getCodec(0), int4 = getCodec(3);
if (!fp32.ok || !int4.ok) throw new Error('codecs missing');
const cfgOf = (over: Partial<SyncConfig> = {}): SyncConfig => makeSyncConfig({ runId: 'r', P: 1, H: 8, tau: 1, K: 1, uplinkCodec: 0, tokensPerStep: 8, ...over });
const hello = (id: string, tokensPerStep = 8, session = 1): Msg<'hello'> => ({ type: 'hello', runId: 'r', learnerId: id, session, layoutHash: layout.hash, tokensPerStep, backend: 'cpu', uplinkCodec: 0 });
const reasons = (c: SyncCommand[]): string[] => c.flatMap((x) => (x.kind === 'rejected' ? [x.reason] : []));
/** An honest-sized delta: AdamW moves each weight by about the learning rate per step (1e-3 × 0.05 at the
 * start of the schedule's warmup), signs alternating. */
const honest = (steps: number, scale = 1): Float32Array => Float32Array.from({ length: 64 }, (_, i) => (i % 2 ? 1 : -1) * 5e-5 * steps * scale);

/** One learner 'x' alone (a new session for each call); push() announces `steps` steps, answers the pull
 * and returns the refusal or null. */
let sessions = 0;
function lone(s: Syncer, start = 0) {
  let now = start, seq = 0;
  s.handle({ kind: 'join', id: 'x', now, hello: hello('x', 8, ++sessions) });
  return {
    push(delta: Float32Array, over: Partial<Msg<'push'>> = {}, steps = 8, codec = fp32.ok ? fp32.value : undefined): string | null {
      now += 1000;
      const out = s.handle({ kind: 'message', id: 'x', now, msg: { type: 'meta', t: 100 * (seq + 1), cSteps: [steps], cTokens: [8 * steps], versions: [...s.model.versions], stepMs: 20 } });
      const pull = out.flatMap((c) => ((c.kind === 'send' || c.kind === 'broadcast') && c.msg.type === 'pull' ? [c.msg] : []))[0] ?? [...s.rounds.values()][0];
      if (!pull) throw new Error('no round is open');
      const round = 'round' in pull ? pull.round : 0;
      const msg: Msg<'push'> = { type: 'push', fragment: 0, round, epoch: s.epoch, baseVersion: s.model.versions[0]!, seq: ++seq, t: 100 * seq, cSteps: steps, cTokens: 8 * steps, codec: 0, payload: codec!.encode(delta), ...over };
      return reasons(s.handle({ kind: 'message', id: 'x', now, msg }))[0] ?? null;
    },
    get now() { return now; },
  };
}

describe('claims the coordinator can check (issue 10)', () => {
  it('a −1e38 fp32 push on a fresh coordinator is refused by the absolute cap; θ is unchanged', () => {
    // Before: no cap until 8 norms were seen, so this push merged and θ became ≈ −1.3e38 (finite, so the
    // non-finite check after the outer step let it through, and every later update was noise against it).
    const s = new Syncer(cfgOf(), layout, init);
    const x = lone(s);
    expect(x.push(new Float32Array(64).fill(-1e38))).toBe('norm-outlier');
    expect(x.push(new Float32Array(64).fill(-3e38))).toBe('norm-outlier');
    expect([...s.model.theta]).toEqual([...init]);
    expect(s.commitSeq).toBe(0);
    expect(x.push(honest(8))).toBeNull(); // an honest push still merges
    expect(s.model.theta.every(Number.isFinite)).toBe(true);
  });

  it('the absolute cap sits above AdamW\'s largest honest step: stepBound · peak · √n · (min(c, 2H) + H) · 2', () => {
    const c = cfgOf();
    // 2 × 3 × 1e-3 × √64 × (8 + 8) = 0.768 per unit of the learning rate.
    expect(absoluteNormCap(c, 64, 8)).toBeCloseTo(0.768, 12);
    expect(absoluteNormCap(c, 64, 1e9)).toBeCloseTo(absoluteNormCap(c, 64, 16), 12); // claims beyond 2H earn nothing
    // A sign-like step (|Δθᵢ| = lr for every weight, the largest a fresh AdamW makes) is 1/6 of it.
    const signLike = 1e-3 * Math.sqrt(64) * 16;
    expect(signLike / absoluteNormCap(c, 64, 8)).toBeCloseTo(1 / 6, 12);
  });

  it('the norm-cap windows are part of every commit and come back with restore(): no uncapped warmup after a reload', () => {
    // Before: the windows lived in memory only, so every coordinator start reopened 8 uncapped pushes.
    const cfg = cfgOf({ normWarmup: 3 });
    const s = new Syncer(cfg, layout, init, 1);
    const disk = initialDurable(init, s.model.outer, 0);
    const handle = s.handle.bind(s);
    // Apply every commit to a durable state, as the coordinator's store does inside its transaction.
    s.handle = (ev) => { const out = handle(ev); for (const c of out) if (c.kind === 'commit') applyCommit(disk, c.commit, s.fragments); return out; };
    const x = lone(s);
    for (let i = 0; i < 4; i++) expect(x.push(honest(8))).toBeNull();
    expect(disk.norms).toEqual(s.durable().norms);
    expect(disk.norms![0]!.length).toBe(4);
    const r = new Syncer(cfg, layout, init, 2);
    r.restore(disk);
    expect(r.durable().norms).toEqual(disk.norms);
    const y = lone(r, 10_000);
    // 10× the honest norm (0.64 per unit of LR) is under the absolute cap (0.768) and above 8 × the restored
    // median (0.512): refused at once, where a cold window merges it.
    expect(y.push(honest(8, 10))).toBe('norm-outlier');
    expect(y.push(honest(8, 1.5))).toBeNull();
    expect(lone(new Syncer(cfg, layout, init, 2), 10_000).push(honest(8, 10))).toBeNull();
  });

  it('a state written before the windows were durable restores cold, under the absolute cap, never uncapped', () => {
    const s = new Syncer(cfgOf(), layout, init, 1);
    const x = lone(s);
    for (let i = 0; i < 2; i++) x.push(honest(8));
    const { norms: _n, ...old } = s.durable();
    const r = new Syncer(cfgOf(), layout, init, 2);
    r.restore(old);
    const y = lone(r, 10_000);
    expect(y.push(new Float32Array(64).fill(-1e38))).toBe('norm-outlier');
    expect(r.model.theta).toEqual(s.model.theta);
  });

  it('tokens per step are the run\'s: a hello claiming another number is refused with the run\'s, and the snapshot carries it', () => {
    const s = new Syncer(cfgOf({ tokensPerStep: 1024 }), layout, init);
    // Before: a hello could claim up to 2²⁰ tokens per step, and every push of it weighed (tokens/step)² more.
    const out = s.handle({ kind: 'join', id: 'big', now: 0, hello: hello('big', 1 << 20) });
    expect(reasons(out)).toEqual(['token-claim']);
    const rej = out.find((c) => c.kind === 'send' && c.msg.type === 'reject');
    expect(rej?.kind === 'send' && rej.msg.type === 'reject' && rej.msg.detail).toContain('1024 tokens per step');
    const ok = s.handle({ kind: 'join', id: 'fit', now: 0, hello: hello('fit', 1024) });
    const snap = ok.find((c) => c.kind === 'send' && c.msg.type === 'snapshot');
    expect(snap?.kind === 'send' && snap.msg.type === 'snapshot' && snap.msg.config.tokensPerStep).toBe(1024);
  });

  it('one push cannot move the progress clock by more than 2H steps of the run\'s batch', () => {
    // Before: one push claiming 1e6 steps (possible after 1000 s at minStepMs 1 ms) credited 8e6 tokens,
    // drove the LR clock to its end, and every learner latched the floor learning rate.
    const s = new Syncer(cfgOf({ plannedTokens: 1e6 }), layout, init);
    const x = lone(s, 0);
    const steps = 400_000; // < (2000 ms + 1000 s) / 2 ms: within the elapsed-time bound
    s.handle({ kind: 'tick', now: 1_000_000 });
    const late = lone(s, 1_000_000);
    void x;
    expect(late.push(honest(8), { cSteps: steps, cTokens: 8 * steps }, steps)).toBeNull();
    expect(s.mergedTokens).toBe(2 * 8 * 8); // stepsCapFactor · H steps × 8 tokens, P = 1
    expect(s.progress).toBeLessThan(1e-3);
  });

  it('badput counts a refused or superseded claim at most as a merge credits it: 2H steps of the run\'s batch', () => {
    // Before: a round refused for leaving fp32 added each push's claimed cTokens to the invalid badput, and
    // a merge added every other learner's META cTokens, never checked, to the superseded badput.
    const s = new Syncer(cfgOf({ stepBound: Number.MAX_VALUE }), layout, init); // the outer step is the check here
    lone(s, 0);
    s.handle({ kind: 'tick', now: 1_000_000 });
    const steps = 400_000; // within the elapsed-time bound, as above
    expect(lone(s, 1_000_000).push(new Float32Array(64).fill(-3e38), { cSteps: steps, cTokens: 8 * steps }, steps)).toBe('non-finite');
    expect(s.badput.invalid).toBe(2 * 8 * 8); // stepsCapFactor · H steps × 8 tokens, P = 1
    const t = new Syncer(cfgOf(), layout, init);
    for (const id of ['x', 'y']) t.handle({ kind: 'join', id, now: 0, hello: hello(id) });
    t.handle({ kind: 'message', id: 'x', now: 1000, msg: { type: 'meta', t: 100, cSteps: [8], cTokens: [64], versions: [0], stepMs: 20 } });
    t.handle({ kind: 'message', id: 'y', now: 1000, msg: { type: 'meta', t: 100, cSteps: [8], cTokens: [1e12], versions: [0], stepMs: 20 } });
    t.handle({ kind: 'message', id: 'x', now: 1001, msg: { type: 'push', fragment: 0, round: 1, epoch: 1, baseVersion: 0, seq: 1, t: 100, cSteps: 8, cTokens: 64, codec: 0, payload: fp32.ok ? fp32.value.encode(honest(8)) : new Uint8Array() } });
    // y never answers: the round closes without it at the end of the grace window (2 steps of 20 ms).
    expect(t.handle({ kind: 'tick', now: 1100 }).some((c) => c.kind === 'commit')).toBe(true);
    expect(t.badput.superseded).toBe(8 * 8); // y's 8 steps of 8 tokens, not the trillion it claimed
  });

  it('steps claimed over several pushes are bounded by elapsed time, not only each push', () => {
    const s = new Syncer(cfgOf({ minStepMs: 100 }), layout, init);
    const x = lone(s);
    // 1000 ms per push at ≥ 100 ms a step: at most 10 steps per second since first seen, summed.
    expect(x.push(honest(8), {}, 10)).toBeNull(); // t = 1 s: 10 ≤ 11
    expect(x.push(honest(8), {}, 15)).toBe('token-claim'); // t = 2 s: 10 + 15 > 21, though 15 ≤ 21 alone
    expect(x.push(honest(8), {}, 11)).toBeNull(); // t = 3 s: 10 + 11 ≤ 31
  });

  it('only the run\'s uplink codec is accepted: an fp32 push into an int4 run is refused as bad-codec', () => {
    const s = new Syncer(cfgOf({ uplinkCodec: 3 }), layout, init);
    const x = lone(s);
    expect(x.push(honest(8), { codec: 0 })).toBe('bad-codec');
    expect(x.push(honest(8), { codec: 3 }, 8, int4.ok ? int4.value : undefined)).toBeNull();
  });

  it('learner, ban and dedupe tables stay bounded under 10,000 sybil ids', () => {
    const s = new Syncer(cfgOf({ maxStrikes: 1 }), layout, init);
    for (let i = 0; i < 10_000; i++) {
      const id = `sybil${i}`;
      s.handle({ kind: 'join', id, now: i, hello: hello(id) });
      for (let k = 0; k < 2; k++) s.handle({ kind: 'invalid', id, now: i, reason: 'bad-magic' }); // banned (maxStrikes 1)
      s.dedupe.set({ id, session: 1, seq: 1, round: 1, fragment: 0, reason: null });
    }
    expect(s.learners.size).toBeLessThanOrEqual(Syncer.MAX_LEARNERS);
    expect(s.banned.size).toBeLessThanOrEqual(Syncer.MAX_BANS);
    expect(s.dedupe.mergedRows().length).toBeLessThanOrEqual(4096);
    // The newest ban still holds: pruning forgets the oldest first.
    expect(reasons(s.handle({ kind: 'join', id: 'sybil9999', now: 10_001, hello: hello('sybil9999') }))).toEqual(['too-many-strikes']);
  });
});
