import { describe, expect, it } from 'vitest';
import { methodParams, parseDownlink, parseLearners, parseMethod, parsePositive, parseThrottle, plannedTokens, quorum, slowdownOf } from './swarm-options';

describe('swarm comparison flags', () => {
  it('knows decoupled, diloco and dp and refuses any other method by name', () => {
    expect(parseMethod('decoupled')).toBe('decoupled');
    expect(parseMethod('diloco')).toBe('diloco');
    expect(parseMethod('dp')).toBe('dp');
    expect(() => parseMethod('ddp')).toThrow('--method ddp: unknown method (known: decoupled, diloco, dp)');
  });

  it('each method\'s coordinator parameters: diloco adds lockstep; dp syncs every step in fp32 and ignores --P/--H', () => {
    const run = { P: '2', H: '64' };
    expect(methodParams('decoupled', 1, run)).toEqual({ P: '2', H: '64', K: '1' });
    expect(methodParams('diloco', 3, run)).toEqual({ P: '2', H: '64', K: '3', lockstep: '1' });
    expect(methodParams('dp', 3, run)).toEqual({
      P: '1', H: '1', tau: '1', K: '3', lockstep: '1', codec: '0', downlink: 'fp32', grace: 'off', merge: 'mean', outer: 'nesterov', outerLr: '1', momentum: '0',
    });
    expect(quorum('dp', undefined, 3)).toBe(3);
    expect(() => quorum('dp', '1', 3)).toThrow(/--method dp waits for every learner/);
  });

  it('diloco waits for every learner; decoupled takes --K, default 1', () => {
    expect(quorum('decoupled', undefined, 4)).toBe(1);
    expect(quorum('decoupled', '2', 4)).toBe(2);
    expect(quorum('diloco', undefined, 4)).toBe(4);
    expect(quorum('diloco', '4', 4)).toBe(4);
    expect(() => quorum('diloco', '2', 4)).toThrow(/K = --learners = 4\); drop --K 2/);
    expect(() => quorum('decoupled', '0', 4)).toThrow(/--K 0: want a whole number >= 1/);
    expect(() => parseLearners('2.5')).toThrow(/--learners 2.5/);
  });

  it('passes --downlink to the coordinator for decoupled and diloco, refuses it for dp and unknown codecs', () => {
    expect(parseDownlink('decoupled', undefined)).toEqual({});
    expect(parseDownlink('decoupled', 'int4')).toEqual({ downlink: 'int4' });
    expect(parseDownlink('diloco', 'fp32')).toEqual({ downlink: 'fp32' });
    expect(() => parseDownlink('dp', 'int8')).toThrow(/dp sends fp32/);
    expect(() => parseDownlink('decoupled', 'int2')).toThrow(/--downlink int2: want one of fp32, fp16, int8, int4/);
  });

  it('reads p%:Nx and refuses the rest', () => {
    expect(parseThrottle('50%:2x')).toEqual({ share: 0.5, slowdown: 2 });
    expect(parseThrottle('100%:1.5x')).toEqual({ share: 1, slowdown: 1.5 });
    for (const bad of ['50%', '50:2x', '0%:2x', '150%:2x', '50%:0.5x', '50%:2']) expect(() => parseThrottle(bad), bad).toThrow(/want <percent>%:<factor>x/);
    expect(parsePositive('link-mbps', '2.5')).toBe(2.5);
    for (const bad of ['0', '-3', 'x', '']) expect(() => parsePositive('link-mbps', bad), bad).toThrow(/--link-mbps .*want a positive number/);
  });

  it('slows an evenly spread share of the tabs: 50% is every other tab, 100% all, 1/3 every third', () => {
    const slowed = (share: number, n: number): number[] => Array.from({ length: n }, (_, i) => i).filter((i) => slowdownOf({ share, slowdown: 2 }, i) === 2);
    expect(slowed(0.5, 6)).toEqual([1, 3, 5]);
    expect(slowed(1, 3)).toEqual([0, 1, 2]);
    expect(slowed(1 / 3, 6)).toEqual([2, 5]);
    expect(slowed(0.25, 8)).toEqual([3, 7]);
    expect(slowdownOf(undefined, 1)).toBe(1);
  });

  it('plans the merged tokens the measured throughput predicts, and nothing for unmeasured workloads', () => {
    // 143.0 steps/s × 8 tokens × (180 − 22) s × 0.97 merged = 175 329 (the measured run merged 175 084).
    expect(plannedTokens({ workload: 'digits', model: 'default', batch: 8, runS: 180 })).toBe(175_329);
    expect(plannedTokens({ workload: 'digits', model: 'default', batch: 8, runS: 10 })).toBe(1); // shorter than the start-up
    expect(plannedTokens({ workload: 'text', model: 'default', batch: 8, runS: 180 })).toBeUndefined();
  });
});
