/**
 * One byte budget for incomplete messages, shared by the Reassemblers of every link on one side (the
 * coordinator: one per learner link). Each link's own limit (2 × maxMessageBytes) times 256 links is far
 * more than a tab can hold, so the total needs its own bound (docs/fault-tolerance.md §3).
 *
 * Fairness is max-min, as the signalling server's per-address caps are: while the pool has room every
 * reservation is granted; when it has not, a link's request is granted only if, after it, the link holds
 * no more than its fair share: the water level of the capacity over what every holder holds and what
 * this one would hold. Room is then made by evicting incomplete messages of the largest holder, again
 * and again (each then above the level). So k hostile links never hold more than k shares, and a link
 * whose request keeps it within capacity / (links holding or asking) is always granted.
 * Pure: no timers; holders are called back synchronously to evict.
 */

/** One link's side of the pool: drops its largest incomplete message and releases its bytes. */
export interface PoolHolder {
  evictLargest(): void;
}

/**
 * Max-min fair share of `capacity` among `demands` (bytes), by water-filling: the level L with
 * Σ min(d, L) = capacity, or Infinity when every demand fits.
 */
export function fairShare(capacity: number, demands: readonly number[]): number {
  const sorted = [...demands].sort((a, b) => a - b);
  let left = capacity;
  for (let i = 0; i < sorted.length; i++) {
    const level = left / (sorted.length - i);
    if (sorted[i]! > level) return level;
    left -= sorted[i]!;
  }
  return Number.POSITIVE_INFINITY;
}

export class ReassemblyPool {
  /** Bytes per holder; a holder at 0 is forgotten, so links that come and go leave nothing behind. */
  private readonly held = new Map<PoolHolder, number>();
  private total = 0;

  constructor(readonly capacityBytes: number) {
    if (!(capacityBytes >= 0)) throw new RangeError(`reassembly pool capacity must be ≥ 0 bytes, got ${capacityBytes}`);
  }

  /** Bytes reserved by every holder now. */
  get reservedBytes(): number {
    return this.total;
  }

  heldBy(h: PoolHolder): number {
    return this.held.get(h) ?? 0;
  }

  /** Reserves `bytes` for `h`, evicting others' messages if fairness allows it; false when refused. */
  reserve(h: PoolHolder, bytes: number): boolean {
    if (this.total + bytes > this.capacityBytes) {
      const mine = this.heldBy(h) + bytes;
      const others = [...this.held].filter(([o]) => o !== h).map(([, b]) => b);
      if (mine > fairShare(this.capacityBytes, [...others, mine])) return false;
      // Terminates: while it does not fit, the largest other holder is above the level (Σ min(d, L) = capacity).
      while (this.total + bytes > this.capacityBytes) {
        const hog = this.largestOther(h);
        const before = this.total;
        hog?.evictLargest();
        if (this.total >= before) return false; // a holder that freed nothing: refuse rather than spin
      }
    }
    this.held.set(h, this.heldBy(h) + bytes);
    this.total += bytes;
    return true;
  }

  release(h: PoolHolder, bytes: number): void {
    const left = this.heldBy(h) - Math.min(bytes, this.heldBy(h));
    this.total -= this.heldBy(h) - left;
    if (left > 0) this.held.set(h, left);
    else this.held.delete(h);
  }

  /** The holder other than `h` holding the most; the earliest such on a tie. */
  private largestOther(h: PoolHolder): PoolHolder | undefined {
    let best: PoolHolder | undefined, most = 0;
    for (const [o, b] of this.held) {
      if (o !== h && b > most) [best, most] = [o, b];
    }
    return best;
  }
}
