import { describe, expect, it } from 'vitest';
import { NO_GRACE } from '../grace';
import { DEFAULT_OUTER } from '../outer';
import { runDataParallel, DEFAULT_QUALITY } from './quality';
import { runSwarm, type SwarmOptions } from './swarm';

// Equal tokens, four learners at 1×–2× speed: the shape of docs/method.md §4 (grace) at the paper preset.
// Plain outer Nesterov throughout: what K=1 alone loses is measured against the recipe grace was built for
// ('auto' takes most of that loss back without grace: outer-modes.test.ts).
const o: SwarmOptions = { seed: 11, learners: 4, tokens: 150_000, batch: 32, stepMs: 100, speedSpread: 2, latencyMs: 5 };
const excess = (sync: SwarmOptions['sync']): number => {
  const r = runSwarm({ ...o, sync: { P: 2, H: 24, outer: { ...DEFAULT_OUTER, kind: 'nesterov' }, ...sync } });
  return r.evalLoss - r.bayesLoss;
};

describe('training quality at equal tokens', () => {
  it('grace recovers the quality K=1 alone loses, to within noise of synchronous DiLoCo and DP', () => {
    const noGrace = excess({ K: 1, grace: NO_GRACE });
    const grace = excess({ K: 1 });
    const sync = excess({ K: 4 });
    const dpRun = runDataParallel(o.seed, { ...DEFAULT_QUALITY, tokens: o.tokens, learners: 4 });
    const dp = dpRun.evalLoss - dpRun.bayesLoss;
    expect(noGrace).toBeGreaterThan(2 * grace);
    expect(grace).toBeLessThan(sync + 0.02);
    expect(grace).toBeLessThan(dp + 0.03);
  });
});
