import { describe, expect, it } from 'vitest';
import type { MergeMode } from '../merge';
import { DEFAULT_SYNC, makeSyncConfig } from '../syncer/config';
import { byzantineTamper } from './byzantine';
import { DEFAULT_QUALITY, qualitySwarm } from './quality';
import { runSwarm, type SwarmResult } from './swarm';

/**
 * A Byzantine minority through the real syncer and the real learner engine (docs/fault-tolerance.md §3):
 * 2 of 6 learners train honestly but push −scale × their delta (sign-flipped) and claim 2H steps at the
 * run's batch, the most any push may weigh. Scales ×1, ×4 and 0.95 × the norm cap's factor (×7.6 of the
 * default 8: the cap, which compares with the fragment's running median, still refuses the attackers'
 * larger pushes there). Each is measured against the same seed with all 6 honest, for the default merge
 * and the robust one.
 */
describe('a Byzantine minority (2 of 6 sign-flipping, maximal claims)', () => {
  const o = { ...DEFAULT_QUALITY, learners: 6, tokens: 60_000, speedSpread: 1.5 };
  const attackers = new Set(['L0', 'L1']);
  const run = (merge: MergeMode, scale?: number): SwarmResult => {
    const base = qualitySwarm(o, 1, { merge });
    const cfg = makeSyncConfig({ ...base.sync, tokensPerStep: o.batch });
    return runSwarm({ ...base, ...(scale === undefined ? {} : { tamper: byzantineTamper({ ids: attackers, scale }, cfg) }) });
  };
  const scales = [1, 4, 0.95 * DEFAULT_SYNC.normCapFactor];
  const honest = new Map<MergeMode, SwarmResult>();
  const gaps = new Map<string, number>();
  /** Exactly their share needs equal weights in every merge (any cap at level c gives the k capped at it
   * ≥ k/n unless all weigh c): centered-clip weighs every push the same (merge-round.ts), measured 1.000×;
   * rda's cap at the mean of the lighter half leaves token weighting below it: measured worst 1.023× (seed 1). */
  const MAX_EXCESS = 1.03;
  /** Centered clipping from the coordinate-wise median (robust.ts) bounds the attackers' pull by the honest
   * spread, whatever the scale: measured +15.6% (×1), +16.6% (×4), +6.0% (×7.6, where the norm cap also
   * refuses some pushes), at equal weights; with the old centre, the corrupted mean, ×4 gave +1180%. */
  const ROBUST_MAX_GAP = 0.2;
  /** A model that predicts the 4 classes uniformly; held-out loss above it means the run has unlearned. */
  const UNIFORM_LOSS = Math.log(4);

  const measure = (merge: MergeMode, scale: number): { r: SwarmResult; gap: number; worst: number } => {
    if (!honest.has(merge)) honest.set(merge, run(merge));
    const h = honest.get(merge)!, r = run(merge, scale);
    let sum = 0, n = 0, worst = 0;
    for (const e of r.mergeLog) {
      const total = e.contributors.reduce((a, c) => a + c.weight, 0);
      const bad = e.contributors.filter((c) => attackers.has(c.id));
      const share = bad.reduce((a, c) => a + c.weight, 0) / total;
      if (bad.length > 0) worst = Math.max(worst, share / (bad.length / e.contributors.length));
      sum += share; n++;
    }
    const gap = (r.evalLoss - h.evalLoss) / h.evalLoss;
    gaps.set(`${merge} ${scale}`, gap);
    console.log(`byzantine ${merge} x${scale}: attackers' mean weight share ${(sum / n).toFixed(4)} over ${n} merges (2/6 = 0.3333), worst merge ${worst.toFixed(4)} x their share of its learners; ${r.rejections['norm-outlier'] ?? 0} pushes refused by the norm cap; held-out loss ${h.evalLoss.toFixed(4)} honest, ${r.evalLoss.toFixed(4)} attacked (${(100 * gap).toFixed(1)}%)`);
    expect(r.merges).toBeGreaterThan(0);
    return { r, gap, worst };
  };

  for (const scale of scales) {
    it(`centered-clip, ×${scale}: their weight is at most their share of each merge's learners; held-out loss within +${100 * ROBUST_MAX_GAP}%`, () => {
      const { gap, worst } = measure('centered-clip', scale);
      expect(worst).toBeLessThanOrEqual(MAX_EXCESS);
      expect(gap).toBeLessThanOrEqual(ROBUST_MAX_GAP);
    });
  }

  // The default merge, rda, takes the weighted mean of the deltas' norms and of their directions. With a
  // third of the weight at −s·h the mean direction still leans toward h, but the radius grows with s, and
  // a token-weighted mean cannot hold at all: (2/3)·h − (1/3)·s·h points backwards for every s > 2.
  // Measured: +37% at ×1 (training slowed, the model still learns), at ×4 and beyond the held-out loss
  // ends above the uniform guess's. That is what is asserted, with the robust merge better at every scale.
  for (const scale of scales) {
    it(`rda, ×${scale}: their weight is at most their share; ${scale < 2 ? 'the model still learns, slower' : 'the run unlearns (held-out loss above a uniform guess)'}, and centered-clip does better`, () => {
      const { r, gap, worst } = measure('rda', scale);
      expect(worst).toBeLessThanOrEqual(MAX_EXCESS);
      expect(gap).toBeGreaterThan(0);
      if (scale < 2) expect(r.evalLoss).toBeLessThan(UNIFORM_LOSS);
      else expect(r.evalLoss).toBeGreaterThan(UNIFORM_LOSS);
      const robust = gaps.get(`centered-clip ${scale}`) ?? measure('centered-clip', scale).gap;
      expect(robust).toBeLessThan(gap);
    });
  }

  // Kills close rounds below K (a pulled learner dies before it pushes): 4-6 of 11-19 merges per seed
  // here, and in 2-3 of them the attackers are half or more of the pushes. Each such merge counts the
  // missing votes as Δ = 0 (merge-round.ts absentVotes), so the attackers stay a minority of K.
  /** Measured (seeds 1-3, ×4): +7.3%, +34.9%, +10.1%, mean +17.4%; merging what came instead gave +70.0%,
   * +66.1%, +9.9%, mean +48.7%. The honest runs moved by -1.9%, -0.1%, +0.3%. */
  const KILLED_MAX_MEAN_GAP = 0.25;
  it(`centered-clip at K = 5, ×4, learners killed (mean 20 s apart, 5 s down): rounds below K count the missing votes as zero; mean held-out loss gap over 3 seeds within +${100 * KILLED_MAX_MEAN_GAP}%`, () => {
    const gaps3 = [1, 2, 3].map((seed) => {
      const go = (attacked: boolean): SwarmResult => {
        const base = qualitySwarm(o, seed, { merge: 'centered-clip', K: 5 });
        const cfg = makeSyncConfig({ ...base.sync, tokensPerStep: o.batch });
        return runSwarm({ ...base, kill: { mtbfMs: 20_000, downMs: 5_000 }, ...(attacked ? { tamper: byzantineTamper({ ids: attackers, scale: 4 }, cfg) } : {}) });
      };
      const h = go(false), r = go(true);
      expect(r.mergeLog.some((e) => (e.absent ?? 0) > 0)).toBe(true); // the case this test is about happens
      return (r.evalLoss - h.evalLoss) / h.evalLoss;
    });
    const mean = gaps3.reduce((a, b) => a + b, 0) / gaps3.length;
    console.log(`byzantine centered-clip x4 under kills: gaps ${gaps3.map((g) => `${(100 * g).toFixed(1)}%`).join(', ')}, mean ${(100 * mean).toFixed(1)}%`);
    expect(mean).toBeLessThanOrEqual(KILLED_MAX_MEAN_GAP);
  });
});
