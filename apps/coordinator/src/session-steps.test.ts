import { describe, expect, it } from 'vitest';
import { SessionSteps } from './session-steps';

describe('SessionSteps', () => {
  it('counts from the step before the first one seen, per session, and ignores t = 0', () => {
    const s = new SessionSteps();
    s.saw('a', 1, 0);
    s.saw('a', 1, 10); // first seen at 10: base 9
    s.saw('a', 1, 25);
    s.saw('a', 2, 3); // a new session of the same id: its own account, base 2
    s.saw('b', 1, 1);
    expect(s.perSession()).toEqual([16, 1, 1, 0]);
  });

  it('past its cap folds the least recently seen sessions into one total, so the sum never drops', () => {
    const s = new SessionSteps(2);
    s.saw('a', 1, 5); s.saw('a', 1, 9); // 5 steps
    s.saw('b', 1, 2); // 1
    s.saw('c', 1, 4); // 1; 'a' is folded
    expect(s.perSession()).toEqual([1, 1, 5]);
    s.saw('a', 1, 12); // 'a' comes back as new to this table: base 11; 'b' is folded
    expect(s.perSession()).toEqual([1, 1, 6]);
  });

  it('never folds a session that is still reporting ahead of one that went quiet', () => {
    const s = new SessionSteps(2);
    s.saw('a', 1, 1); s.saw('b', 1, 1);
    s.saw('a', 1, 6); // 'a' reports again: 'b' is now the least recently seen
    s.saw('c', 1, 1); // over the cap: 'b' is folded, 'a' keeps its base
    expect(s.perSession()).toEqual([6, 1, 1]);
  });
});
