import { describe, expect, it } from 'vitest';
import { metaFromLostState, pushFromLostState } from './storage';

// A coordinator that found no stored state runs at epoch `own` with every version 0 until its first
// commit: what a learner sends tells it whether the run's database is gone.
describe('evidence of a lost database', () => {
  const fresh = [0, 0];

  it('a push from a later epoch, or from this epoch on a version never broadcast, is evidence', () => {
    expect(pushFromLostState({ epoch: 2, fragment: 0, baseVersion: 0 }, 1, fresh)).toBe(true);
    expect(pushFromLostState({ epoch: 1, fragment: 1, baseVersion: 3 }, 1, fresh)).toBe(true);
    expect(pushFromLostState({ epoch: 1, fragment: 1, baseVersion: 0 }, 1, fresh)).toBe(false); // trained on our own θ₀
    expect(pushFromLostState({ epoch: 1, fragment: 0, baseVersion: 2 }, 1, [2, 0])).toBe(false); // a version we did broadcast
  });

  it('a META holding any fragment above our versions is evidence; one at or below them is not', () => {
    expect(metaFromLostState({ versions: [0, 4] }, fresh)).toBe(true);
    expect(metaFromLostState({ versions: [0, 0] }, fresh)).toBe(false);
    expect(metaFromLostState({ versions: [3, 1] }, [3, 1])).toBe(false);
    expect(metaFromLostState({ versions: [3, 2] }, [3, 1])).toBe(true);
  });
});
