import { describe, expect, it } from 'vitest';
import { HelloClock, REHELLO_MS } from './hello';

describe('HelloClock', () => {
  it('waits the whole deadline until a hello was answered, then 4 × the last wait (at least 2 s), doubling to the deadline', () => {
    const c = new HelloClock(15_000);
    expect([c.out, c.overdue(1e9)]).toEqual([false, false]); // nothing said: nothing to say again
    c.hello(0);
    expect([c.out, c.outFor(40), c.overdue(15_000), c.overdue(15_001)]).toEqual([true, 40, false, true]);
    c.hello(15_001);
    c.snapshot(16_201); // answered after 1.2 s (a larger model): later retries wait 4 × 1.2 s = 4.8 s
    expect([c.out, c.outFor(16_300), c.overdue(1e9)]).toEqual([false, null, false]);
    c.hello(20_000);
    expect([c.overdue(24_800), c.overdue(24_801)]).toEqual([false, true]);
    c.hello(24_801); // the second since the snapshot: 9.6 s
    expect([c.overdue(34_401), c.overdue(34_402)]).toEqual([false, true]);
    c.hello(34_402); // the third: 19.2 s, past the deadline: 15 s
    expect([c.overdue(49_402), c.overdue(49_403)]).toEqual([false, true]);
  });

  it('is quiet REHELLO_MS after the last hello, answered or not', () => {
    const c = new HelloClock(15_000);
    expect(c.quiet(0)).toBe(true);
    c.hello(100);
    c.snapshot(150);
    expect([c.quiet(100 + REHELLO_MS - 1), c.quiet(100 + REHELLO_MS)]).toEqual([false, true]);
  });
});
