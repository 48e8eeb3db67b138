import { describe, expect, it } from 'vitest';
import { lostRunDatabase } from './storage';

// The identity database records the highest epoch each run started at in this profile; the run database
// counts incarnations. A sequence of starts: which of them find the run database gone.
describe('evidence of a lost run database', () => {
  it('only a run database whose incarnation counter went back is lost', () => {
    let recorded = 0, incarnation = 0;
    const start = (): boolean => { incarnation++; const lost = lostRunDatabase(recorded, incarnation); recorded = Math.max(recorded, incarnation); return lost; };
    expect([start(), start(), start()]).toEqual([false, false, false]); // a new run, then two reloads: epochs 1, 2, 3
    incarnation = 0; // the run database deleted or evicted on its own
    expect(start()).toBe(true); // epoch 1 again, below the recorded 3
    expect(recorded).toBe(3);
    incarnation = recorded; // the operator's restart (store.restartAbove(3))
    expect(start()).toBe(false); // epoch 4
    recorded = 0; incarnation = 0; // the origin evicted whole: no evidence, and a new key (learners refuse it)
    expect(start()).toBe(false);
  });
});
