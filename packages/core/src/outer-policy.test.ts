import { describe, expect, it } from 'vitest';
import { DEFAULT_OUTER, type OuterConfig } from './outer';
import { chooseOuterStep, describeOuter, OUTER_WINDOW, OuterPolicy } from './outer-policy';
import { ConfigError } from './result';

const auto: OuterConfig = DEFAULT_OUTER;
const NESTEROV = { kind: 'nesterov', delayPeriod: 1 } as const;
const dn = (delayPeriod: number): { kind: 'delayed-nesterov'; delayPeriod: number } => ({ kind: 'delayed-nesterov', delayPeriod });

describe('chooseOuterStep (auto)', () => {
  it('takes Nesterov when the window averages at least M/2 contributors, else Delayed Nesterov with N = M', () => {
    // M = 4, threshold 2: [1,1,1,1] averages 1 → DN(4); [2,2,1,3] averages 2 → Nesterov; [1,2,2,2] averages 1.75 → DN(4).
    expect(chooseOuterStep(auto, [1, 1, 1, 1], 4)).toEqual(dn(4));
    expect(chooseOuterStep(auto, [2, 2, 1, 3], 4)).toEqual(NESTEROV);
    expect(chooseOuterStep(auto, [1, 2, 2, 2], 4)).toEqual(dn(4));
    // M = 3, threshold 1.5: [1,2] averages 1.5 → Nesterov; [1,1,2] averages 1.33 → DN(3).
    expect(chooseOuterStep(auto, [1, 2], 3)).toEqual(NESTEROV);
    expect(chooseOuterStep(auto, [1, 1, 2], 3)).toEqual(dn(3));
    // M = 2, threshold 1: one contributor is half the swarm already.
    expect(chooseOuterStep(auto, [1, 1, 1], 2)).toEqual(NESTEROV);
    // M = 8: a full round of 8 after seven lone merges averages 15/8 < 4 → still DN(8).
    expect(chooseOuterStep(auto, [1, 1, 1, 1, 1, 1, 1, 8], 8)).toEqual(dn(8));
  });

  it('never calls a swarm of one (or none) sparse', () => {
    expect(chooseOuterStep(auto, [1], 1)).toEqual(NESTEROV);
    expect(chooseOuterStep(auto, [1], 0)).toEqual(NESTEROV); // every contributor left before the close
  });

  it('leaves a forced kind alone', () => {
    expect(chooseOuterStep({ ...auto, kind: 'nesterov' }, [1], 16)).toEqual(NESTEROV);
    expect(chooseOuterStep({ ...auto, kind: 'delayed-nesterov', delayPeriod: 3 }, [16], 16)).toEqual(dn(3));
  });

  it('throws ConfigError on caller bugs', () => {
    expect(() => chooseOuterStep(auto, [], 4)).toThrow(ConfigError);
    expect(() => chooseOuterStep(auto, [1], -1)).toThrow(ConfigError);
    expect(() => chooseOuterStep(auto, [1], 1.5)).toThrow(ConfigError);
  });
});

describe('OuterPolicy', () => {
  it(`averages each fragment's last ${OUTER_WINDOW} merges, and counts merges per mode`, () => {
    const p = new OuterPolicy(auto, 2);
    // Fragment 0 at M = 4: four lone merges (mean 1 → DN), then full rounds of 4 pull the mean up:
    // [1,1,1,1,4] 1.6, [1,1,1,1,4,4] 2.0 → Nesterov from the sixth merge on.
    const got = [1, 1, 1, 1, 4, 4].map((c) => p.decide(0, c, 4).kind);
    expect(got).toEqual(['delayed-nesterov', 'delayed-nesterov', 'delayed-nesterov', 'delayed-nesterov', 'delayed-nesterov', 'nesterov']);
    expect(p.current[0]).toEqual({ ...NESTEROV, fragment: 0, meanContributors: 2, learners: 4 });
    expect(p.current[1]).toBeNull(); // fragment 1 has its own window
    expect(p.decide(1, 1, 4)).toEqual(dn(4));
    expect(p.last).toEqual({ ...dn(4), fragment: 1, meanContributors: 1, learners: 4 });
    // Eight more lone merges on fragment 0 push the two 4s out of its window: mean falls back to 1.
    for (let k = 0; k < OUTER_WINDOW; k++) p.decide(0, 1, 4);
    expect(p.current[0]!.meanContributors).toBe(1);
    expect(p.merges).toEqual({ nesterov: 1, 'delayed-nesterov': 5 + 1 + OUTER_WINDOW });
  });

  it('refuses a merge without contributors or of an unknown fragment', () => {
    const p = new OuterPolicy(auto, 1);
    expect(() => p.decide(0, 0, 4)).toThrow(ConfigError);
    expect(() => p.decide(1, 1, 4)).toThrow(ConfigError);
  });

  it('says what it does, for the dashboard', () => {
    expect(describeOuter(null)).toBe('–');
    expect(describeOuter({ ...NESTEROV, fragment: 0, meanContributors: 3.9, learners: 4 })).toBe('Nesterov');
    expect(describeOuter({ ...dn(4), fragment: 0, meanContributors: 1.25, learners: 4 }))
      .toBe('Delayed Nesterov (merges average 1.3 contributors of 4 learners)');
  });
});
