import { describe, expect, it } from 'vitest';
import { BanList } from './bans';

describe('BanList', () => {
  it('holds a ban until its end (exclusive), and pruning drops only expired ones', () => {
    const b = new BanList(8);
    b.ban('a', 100);
    b.ban('b', 200);
    expect([b.holds('a', 99), b.holds('a', 100), b.holds('b', 150), b.holds('c', 0)]).toEqual([true, false, true, false]);
    b.prune(150);
    expect(b.size).toBe(1);
    expect(b.holds('b', 150)).toBe(true);
  });

  it('past its cap forgets the soonest to expire, and a renewed ban moves to the back', () => {
    const b = new BanList(2);
    b.ban('a', 100);
    b.ban('b', 110);
    b.ban('a', 120); // renewed: now the latest to expire
    b.ban('c', 130); // over the cap: 'b' (ends at 110) goes
    expect([b.size, b.holds('a', 115), b.holds('b', 105), b.holds('c', 125)]).toEqual([2, true, false, true]);
  });
});
