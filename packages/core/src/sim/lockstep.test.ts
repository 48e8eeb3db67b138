/**
 * The synchronous baselines of docs/method.md §9, run through the real syncer and learner engine in the
 * simulator: lockstep learners with mixed speeds (1×–3×) never train past their sync point, and every
 * merge holds every learner.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_GRACE } from '../grace';
import type { SyncConfig } from '../syncer/config';
import { runSwarm, type SwarmOptions } from './swarm';

const base: SwarmOptions = { seed: 7, learners: 4, tokens: 12_000, batch: 16, stepMs: 50, speedSpread: 3, latencyMs: 5 };
const pushes = (r: ReturnType<typeof runSwarm>): Array<{ id: string; cSteps: number }> => r.mergeLog.flatMap((m) => m.contributors);

describe('lockstep baselines in the simulator', () => {
  it('data-parallel (P = 1, H = 1, fp32, η = 1, μ = 0): each merge is every learner\'s one step, nothing trained is lost', () => {
    const dp: Partial<SyncConfig> = {
      P: 1, H: 1, tau: 1, K: 4, lockstep: true, uplinkCodec: 0, downlink: 'fp32', merge: 'mean',
      grace: { ...DEFAULT_GRACE, rule: 'off' }, outer: { lr: 1, momentum: 0, kind: 'nesterov', delayPeriod: 4 },
    };
    const r = runSwarm({ ...base, sync: dp });
    expect(r.merges).toBeGreaterThan(100);
    expect(r.contributorsPerMerge).toBe(4);
    expect(pushes(r).every((p) => p.cSteps === 1)).toBe(true); // the fast learners waited for the slow ones
    const perLearner = new Map<string, number>();
    for (const p of pushes(r)) perLearner.set(p.id, (perLearner.get(p.id) ?? 0) + 1);
    expect([...perLearner.values()]).toEqual([r.merges, r.merges, r.merges, r.merges]);
    expect(r.tokensMerged / r.tokensTrained).toBeGreaterThan(0.99); // at most the last step of each is in flight
  });

  it('synchronous DiLoCo (K = M, lockstep) pushes at most H steps; the same quorum without lockstep lets fast learners run ahead', () => {
    const sync: Partial<SyncConfig> = { P: 2, H: 8, tau: 2, K: 4 };
    const lock = runSwarm({ ...base, sync: { ...sync, lockstep: true } });
    const free = runSwarm({ ...base, sync });
    expect(lock.contributorsPerMerge).toBeGreaterThan(3.9);
    expect(Math.max(...pushes(lock).map((p) => p.cSteps))).toBeLessThanOrEqual(8);
    expect(Math.max(...pushes(free).map((p) => p.cSteps))).toBeGreaterThan(8); // the oracle can fail
  });
});
