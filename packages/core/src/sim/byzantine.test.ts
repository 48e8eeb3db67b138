import { describe, expect, it } from 'vitest';
import type { MergeMode } from '../merge';
import { makeSyncConfig } from '../syncer/config';
import { byzantineTamper } from './byzantine';
import { DEFAULT_QUALITY, qualitySwarm } from './quality';
import { runSwarm, type SwarmResult } from './swarm';

/**
 * A Byzantine minority through the real syncer and the real learner engine (docs/fault-tolerance.md §3):
 * 2 of 6 learners train honestly but push −scale × their delta (sign-flipped; ×1 and ×4 are both under
 * the 8× norm cap) and claim 2H steps at the run's batch, the most any push may weigh. Each is measured
 * against the same seed with all 6 honest, for the default merge and the robust one.
 */
describe('a Byzantine minority (2 of 6 sign-flipping, maximal claims)', () => {
  const o = { ...DEFAULT_QUALITY, learners: 6, tokens: 60_000, speedSpread: 1.5 };
  const attackers = new Set(['L0', 'L1']);
  const run = (merge: MergeMode, scale?: number): SwarmResult => {
    const base = qualitySwarm(o, 1, { merge });
    const cfg = makeSyncConfig({ ...base.sync, tokensPerStep: o.batch });
    return runSwarm({ ...base, ...(scale === undefined ? {} : { tamper: byzantineTamper({ ids: attackers, scale }, cfg) }) });
  };
  const honest = new Map<MergeMode, SwarmResult>();
  /** Exactly their share would need equal weights in every merge (any cap at level c gives the k capped at
   * it ≥ k/n unless all weigh c); capping at the mean of the lighter half (merge-round.ts) leaves token
   * weighting below it and holds them within a few % of their share: measured worst 1.023× (seed 1). */
  const MAX_EXCESS = 1.03;

  // Loss bounds: measured +37% (rda) and +7.3% (centered-clip) at ×1; at ×4 neither merge holds
  // (+880%, +1180%): a third of the weight pulling 4× backwards outweighs the rest. Stated, not hidden.
  const cases: Array<{ merge: MergeMode; scale: number; maxGap: number | null }> = [
    { merge: 'rda', scale: 1, maxGap: 0.5 },
    { merge: 'centered-clip', scale: 1, maxGap: 0.15 },
    { merge: 'rda', scale: 4, maxGap: null },
    { merge: 'centered-clip', scale: 4, maxGap: null },
  ];
  for (const { merge, scale, maxGap } of cases) {
    it(`${merge}, ×${scale}: in every merge their weight is at most their share of its learners${maxGap === null ? '' : `; held-out loss within +${100 * maxGap}%`}`, () => {
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
      console.log(`byzantine ${merge} x${scale}: attackers' mean weight share ${(sum / n).toFixed(4)} over ${n} merges (2/6 = 0.3333), worst merge ${worst.toFixed(4)} x their share of its learners; held-out loss ${h.evalLoss.toFixed(4)} honest, ${r.evalLoss.toFixed(4)} attacked (${(100 * gap).toFixed(1)}%)`);
      expect(r.merges).toBeGreaterThan(0);
      expect(worst).toBeLessThanOrEqual(MAX_EXCESS);
      if (maxGap !== null) expect(gap).toBeLessThanOrEqual(maxGap);
    });
  }
});
