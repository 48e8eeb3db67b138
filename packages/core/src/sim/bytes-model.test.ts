import { describe, expect, it } from 'vitest';
import { planFragments } from '../fragments';
import { makeLayout } from '../layout';
import { makeRng } from '../rng';
import { linkBytes, perStep, stepPeriodCv, stepsPerPull } from './bytes-model';
import { makeMlp } from './mlp';
import { stepPeriodMs, TIMINGS } from './timings';

describe('analytic bytes per learner step', () => {
  // The digits MLP at P=2: balanced fragments keep the embedding-like w1 (784×128) apart from the rest.
  const sizes = planFragments(makeLayout(makeMlp(784, 128, 10).specs), 2).map((f) => f.size);
  const plan = { fragmentSizes: sizes, uplinkCodec: 3, blockSize: 128 } as const;

  it('adds up the frames of one pull of each fragment, by hand', () => {
    expect(sizes).toEqual([100_352, 1_418]);
    // int4 codec bytes: 12 header + 4 per block of 128 + n/2 → 12 + 4·784 + 50,176 = 53,324 and 12 + 4·12 + 709 = 769.
    // int8: 12 + 4·784 + 100,352 = 103,500 and 12 + 48 + 1,418 = 1,478. fp32 broadcast: 36 + 4n.
    // Frames: push 45 + payload, delta broadcast 38 + payload, pull 12, ack 22; META at P=2: 60.
    const pullAck = 12 + 22;
    const pushes = 45 + 53_324 + 45 + 769;
    const cases = [
      ['int8', pushes + 38 + 103_500 + 38 + 1_478, 103_500 + 1_478],
      ['int4', pushes + 38 + 53_324 + 38 + 769, 53_324 + 769],
      ['fp32', pushes + 36 + 4 * 100_352 + 36 + 4 * 1_418, 4 * 101_770],
    ] as const;
    for (const [downlink, period, downPayload] of cases) {
      const b = linkBytes({ ...plan, downlink });
      expect(b.metaPerStep).toBe(60);
      expect(b.perPullOfEach).toBe(period + 2 * pullAck);
      expect(b.upPerParam).toBeCloseTo((53_324 + 769) / 101_770, 12);
      expect(b.downPerParam).toBeCloseTo(downPayload / 101_770, 12);
    }
    // The default swarm (H=12, int8), pulled exactly once per H: 60 + 159,305 / 12 B per step, 61× below 814,160.
    expect(perStep(linkBytes({ ...plan, downlink: 'int8' }), 12)).toBeCloseTo(60 + 159_305 / 12, 9);
  });

  it('counts the steps between pulls as a simulation of "first of M learners reaches H" does', () => {
    const t = TIMINGS.browser;
    // cv of one period by hand: 27·e^0.08 = 29.249 ms mean train(), sd 27·√(e^0.16·(e^0.16 − 1)) = 12.184 ms, + 3 ms loop.
    expect(stepPeriodCv(t)).toBeCloseTo(12.184 / 32.249, 4);
    const rng = makeRng(11);
    for (const H of [12, 48]) {
      const trials = 4000;
      let sum = 0, period = 0, draws = 0;
      for (let k = 0; k < trials; k++) {
        let first = Infinity;
        for (let l = 0; l < 3; l++) {
          let at = 0;
          for (let s = 0; s < H; s++) { const d = stepPeriodMs(t, t.stepMs, rng); at += d; period += d; draws++; }
          first = Math.min(first, at);
        }
        sum += first;
      }
      // An average learner takes (time to the first learner's H-th step) / (mean period) steps per pull.
      const simulated = sum / trials / (period / draws);
      expect(Math.abs(stepsPerPull(H, 3, t) / simulated - 1)).toBeLessThan(0.01);
    }
  });
});
