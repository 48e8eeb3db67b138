import { afterEach, describe, expect, it, vi } from 'vitest';
import { askPersistence, lostRunDatabase, type Persistence } from './storage';

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

// A browser that puts the question to the user (Firefox's prompt) leaves persist() pending until they answer,
// or for good: the start must not wait on it, and a late answer still reaches the page.
describe('asking for persistent storage', () => {
  afterEach(() => { vi.useRealTimers(); vi.unstubAllGlobals(); });

  it('gives up waiting after the deadline, and reports the answer when it comes', async () => {
    vi.useFakeTimers();
    let answer: (granted: boolean) => void = () => undefined;
    vi.stubGlobal('navigator', { storage: { persisted: () => Promise.resolve(false), persist: () => new Promise<boolean>((r) => { answer = r; }) } });
    const late: Persistence[] = [];
    let got: Persistence | undefined;
    void askPersistence((p) => late.push(p), 5000).then((p) => { got = p; });
    await vi.advanceTimersByTimeAsync(4999);
    expect(got).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(got).toBe('unanswered');
    answer(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(late).toEqual(['granted']);
  });

  it('passes on an answer within the deadline, and nothing later', async () => {
    vi.stubGlobal('navigator', { storage: { persisted: () => Promise.resolve(false), persist: () => Promise.resolve(false) } });
    const late: Persistence[] = [];
    expect(await askPersistence((p) => late.push(p), 5000)).toBe('denied');
    expect(late).toEqual([]);
  });
});
