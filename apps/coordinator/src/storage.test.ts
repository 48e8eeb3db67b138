import { describe, expect, it } from 'vitest';
import { lostRunDatabase } from './storage';

// The key database records the highest epoch each run started at in this profile; the run database counts
// incarnations. A sequence of starts as driver.ts makes them (the check comes before the count goes up):
// which of them find the run database gone.
describe('evidence of a lost run database', () => {
  it('only a run database whose incarnation counter went back is lost, and it stays lost until the operator restarts the run', () => {
    let recorded = 0, incarnation = 0;
    const start = (): boolean => {
      if (lostRunDatabase(recorded, incarnation + 1)) return true; // refused: nothing written, nothing counted
      incarnation++;
      recorded = incarnation;
      return false;
    };
    expect([start(), start(), start()]).toEqual([false, false, false]); // a new run, then two reloads: epochs 1, 2, 3
    incarnation = 0; // the run database deleted or evicted on its own
    expect([start(), start(), start(), start(), start()]).toEqual([true, true, true, true, true]); // however many reloads
    expect([recorded, incarnation]).toEqual([3, 0]);
    incarnation = recorded; // the operator's restart (store.restartAbove(3))
    expect(start()).toBe(false);
    expect(incarnation).toBe(4);
    recorded = 0; incarnation = 0; // the origin evicted whole: no evidence, and a new key (learners refuse it)
    expect(start()).toBe(false);
  });
});
