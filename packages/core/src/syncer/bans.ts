/**
 * Learner ids refused until a time (ms), after too many strikes; at most `max` of them. Every ban lasts
 * the run's one banMs, so insertion order is expiry order: pruning stops at the first ban still in
 * force, and past the cap the soonest to expire goes (docs/fault-tolerance.md §3, bounded tables).
 */
export class BanList {
  private readonly until = new Map<string, number>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.until.size;
  }

  holds(id: string, now: number): boolean {
    return (this.until.get(id) ?? -Infinity) > now;
  }

  ban(id: string, until: number): void {
    this.until.delete(id); // re-insert at the end, to keep expiry order
    this.until.set(id, until);
    if (this.until.size > this.max) this.until.delete(this.until.keys().next().value as string);
  }

  prune(now: number): void {
    for (const [id, t] of this.until) {
      if (t > now) return;
      this.until.delete(id);
    }
  }
}
