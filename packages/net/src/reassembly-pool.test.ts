import { describe, expect, it } from 'vitest';
import { ReassemblyPool, fairShare, type PoolHolder } from './reassembly-pool';

/** A link holding incomplete messages of the given sizes; eviction drops its largest. */
class Link implements PoolHolder {
  readonly messages: number[] = [];
  evictions = 0;
  constructor(readonly pool: ReassemblyPool, readonly name: string) {}

  ask(bytes: number): boolean {
    const ok = this.pool.reserve(this, bytes);
    if (ok) this.messages.push(bytes);
    return ok;
  }

  evictLargest(): void {
    this.evictions++;
    const i = this.messages.indexOf(Math.max(...this.messages));
    this.pool.release(this, this.messages.splice(i, 1)[0]!);
  }
}

function links(capacity: number, ...holdings: number[][]) {
  const pool = new ReassemblyPool(capacity);
  const ls = holdings.map((ms, i) => {
    const l = new Link(pool, `l${i}`);
    for (const m of ms) expect(l.ask(m)).toBe(true);
    return l;
  });
  return { pool, ls, held: () => ls.map((l) => pool.heldBy(l)) };
}

describe('fairShare (water-filling)', () => {
  it('hand-worked levels', () => {
    expect(fairShare(10, [6, 3, 4])).toBe(3.5); // 3 fits (7 left), then 7 / 2 = 3.5 < 4
    expect(fairShare(10, [6, 3, 3])).toBe(4); // 3 and 3 fit, 4 left for the 6
    expect(fairShare(10, [5, 5, 5])).toBeCloseTo(10 / 3, 12);
    expect(fairShare(10, [1, 2, 20])).toBe(7);
    expect(fairShare(10, [12])).toBe(10);
    expect(fairShare(10, [2, 3, 5])).toBe(Number.POSITIVE_INFINITY); // all fit
    expect(fairShare(10, [])).toBe(Number.POSITIVE_INFINITY);
    expect(fairShare(0, [1])).toBe(0);
  });

  it('is never below capacity / demands when the demands do not all fit', () => {
    for (const ds of [[6, 3, 4], [10, 10, 10, 10], [1, 1, 1, 100], [4, 4, 3]]) {
      const L = fairShare(10, ds);
      expect(L).toBeGreaterThanOrEqual(10 / ds.length);
      expect(ds.reduce((s, d) => s + Math.min(d, L), 0)).toBeCloseTo(10, 12);
    }
  });
});

describe('ReassemblyPool', () => {
  it('grants while there is room, whoever asks', () => {
    const { pool, held } = links(10, [4, 5], [1]);
    expect(held()).toEqual([9, 1]);
    expect(pool.reservedBytes).toBe(10);
  });

  it('refuses a request above the fair share: holders 6 / 3 / 0, the third asks 4 (level 3.5)', () => {
    const { pool, ls, held } = links(10, [6], [3], []);
    expect(ls[2]!.ask(4)).toBe(false);
    expect(held()).toEqual([6, 3, 0]);
    expect(ls[0]!.evictions).toBe(0); // a refusal evicts nothing
    expect(pool.reservedBytes).toBe(9);
  });

  it('grants within the fair share by evicting the largest holder: 6 / 3 / 0, the third asks 3 (level 4)', () => {
    const { pool, ls, held } = links(10, [2, 4], [3], []);
    expect(ls[2]!.ask(3)).toBe(true);
    // 9 + 3 = 12 > 10: the 6-holder's largest message (4) goes; 2 + 3 + 3 = 8 fits.
    expect(held()).toEqual([2, 3, 3]);
    expect(ls[0]!.messages).toEqual([2]);
    expect(ls[1]!.evictions).toBe(0);
    expect(pool.reservedBytes).toBe(8);
  });

  it('evicts largest holder first, again and again, until the request fits', () => {
    // 4 / 5 / 1 = 10 in messages of 1. The last asks 3: demands 4, 5, 4 → 4 > 10 / 3: level 3.33, 4 > it: refused.
    // Asking 2: demands 3, 4, 5 → 3 fits, 7 / 2 = 3.5 ≥ 3: granted.
    const { pool, ls, held } = links(10, [1, 1, 1, 1], [1, 1, 1, 1, 1], [1]);
    expect(ls[2]!.ask(3)).toBe(false);
    expect(ls[2]!.ask(2)).toBe(true);
    // 12 > 10: the 5-holder drops one (4 / 4 / 1); 11 > 10: a tie, the earliest holder drops one (3 / 4 / 1).
    expect(held()).toEqual([3, 4, 3]);
    expect([ls[0]!.evictions, ls[1]!.evictions]).toEqual([1, 1]);
    expect(pool.reservedBytes).toBe(10);
  });

  it('counts the asker\'s own holding: 4 / 6 asking 2 more would hold 6 > level 5', () => {
    const { ls, held } = links(10, [4], [6]);
    expect(ls[0]!.ask(2)).toBe(false);
    expect(ls[0]!.ask(1)).toBe(true); // 5 ≤ 5: the 6-holder's single message goes
    expect(held()).toEqual([5, 0]);
  });

  it('k holders asking without end never hold more than k shares; a newcomer within its share gets in', () => {
    const pool = new ReassemblyPool(100);
    const hogs = [0, 1, 2].map((i) => new Link(pool, `hog${i}`));
    for (let round = 0; round < 20; round++) for (const h of hogs) h.ask(7);
    expect(pool.reservedBytes).toBeLessThanOrEqual(100);
    const honest = new Link(pool, 'honest');
    expect(honest.ask(25)).toBe(true); // 4 contenders: 100 / 4 = 25 is always within the level
    expect(pool.reservedBytes).toBeLessThanOrEqual(100);
    expect(pool.heldBy(honest)).toBe(25);
  });

  it('a request larger than the capacity is refused, evicting nothing', () => {
    const { ls } = links(10, [5], []);
    expect(ls[1]!.ask(11)).toBe(false);
    expect(ls[0]!.evictions).toBe(0);
  });

  it('release returns bytes; a holder at 0 is forgotten; over-release is clamped', () => {
    const { pool, ls } = links(10, [3, 4]);
    pool.release(ls[0]!, 3);
    expect(pool.heldBy(ls[0]!)).toBe(4);
    pool.release(ls[0]!, 100);
    expect(pool.heldBy(ls[0]!)).toBe(0);
    expect(pool.reservedBytes).toBe(0);
    pool.release(ls[0]!, 1); // nothing held: nothing changes
    expect(pool.reservedBytes).toBe(0);
  });

  it('a holder whose eviction frees nothing makes the request fail instead of looping', () => {
    const pool = new ReassemblyPool(10);
    const stuck: PoolHolder = { evictLargest: () => undefined };
    expect(pool.reserve(stuck, 8)).toBe(true);
    expect(pool.reserve({ evictLargest: () => undefined }, 4)).toBe(false);
    expect(pool.reservedBytes).toBe(8);
  });

  it('refuses a negative or NaN capacity', () => {
    expect(() => new ReassemblyPool(-1)).toThrow(RangeError);
    expect(() => new ReassemblyPool(Number.NaN)).toThrow(RangeError);
  });
});
