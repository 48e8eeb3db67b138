import { describe, expect, it } from 'vitest';
import { FragmentTurn } from './turn';

/** Fragments as sets: which have a round in flight, which are due. */
const pick = (t: FragmentTurn, busy: number[], due: number[]): number | undefined => t.pick((p) => busy.includes(p), (p) => due.includes(p));

describe('FragmentTurn (P = 3)', () => {
  it('opens the fragment in turn when it is due and moves the turn on', () => {
    const t = new FragmentTurn(3);
    expect(pick(t, [], [0, 1, 2])).toBe(0);
    t.opened(0);
    expect(t.next).toBe(1);
    expect(pick(t, [0], [0, 1, 2])).toBe(1);
    t.opened(1);
    t.opened(2);
    expect(t.next).toBe(0); // wraps
  });

  it('waits for a fragment in turn that is free but not due: the bars stay staggered', () => {
    const t = new FragmentTurn(3);
    t.opened(0);
    expect(pick(t, [], [0, 2])).toBeUndefined();
  });

  it('opens the next due fragment when the one in turn has a round in flight, without moving the turn', () => {
    const t = new FragmentTurn(3);
    t.opened(0); // turn 1
    t.opened(1); // turn 2
    t.restore(1); // turn back on 1, whose round is still in flight
    expect(pick(t, [1], [0, 2])).toBe(2); // searched from the turn: 2 before 0
    t.opened(2);
    expect(t.next).toBe(1);
    expect(pick(t, [1, 2], [0])).toBe(0);
    expect(pick(t, [0, 1, 2], [0, 1, 2])).toBeUndefined();
  });

  it('reopens a fragment whose round merged nothing out of turn, once, and forgets that on restore', () => {
    const t = new FragmentTurn(3);
    t.opened(0); // turn 1, not due
    t.mergedNothing(0);
    expect(pick(t, [], [0])).toBe(0);
    t.opened(0);
    expect(t.next).toBe(1);
    expect(pick(t, [], [0])).toBeUndefined(); // it opened: in turn again from now on
    t.mergedNothing(2);
    t.restore(1);
    expect(pick(t, [], [2])).toBeUndefined();
  });
});
