import { describe, expect, it } from 'vitest';
import { roomCode, ROOM_CODE_LENGTH } from './room';

describe('roomCode', () => {
  it('is 5 unambiguous capitals, the same for the same run id', () => {
    const c = roomCode('demo');
    expect(c).toMatch(/^[A-HJ-NP-Z]{5}$/);
    expect(c).toHaveLength(ROOM_CODE_LENGTH);
    expect(roomCode('demo')).toBe(c);
  });

  it('tells 10,000 similar run ids apart with few collisions (birthday bound ≈ 6 of 8M codes)', () => {
    const codes = new Set(Array.from({ length: 10_000 }, (_, i) => roomCode(`t0x${i}`)));
    expect(10_000 - codes.size).toBeLessThan(30);
  });

  it('refuses an empty run id', () => {
    expect(() => roomCode('')).toThrow(/empty run id/);
  });
});
