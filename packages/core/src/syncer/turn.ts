/**
 * Which fragment the syncer's next round opens on (docs/method.md §4). Rounds go round-robin: `next` is
 * the fragment in turn, and opening it moves the turn on. When it is not due, another due fragment opens
 * instead, without moving the turn, in two cases:
 * - the fragment in turn has a round in flight: a round waiting out its 30 s timeout for a lost push must
 *   not hold up the others (τ rounds are meant to be in flight);
 * - the other fragment's own last round merged nothing (abandoned, or its merge refused): in lockstep its
 *   learners take no step until it merges, so the fragment in turn would never come due.
 * Otherwise the schedule waits for the fragment in turn, which keeps the fragments' staggered bars in step.
 */
export class FragmentTurn {
  /** The fragment in turn; durable (every commit records it, restore brings it back). */
  next = 0;
  private readonly unmerged = new Set<number>();

  constructor(private readonly P: number) {}

  /** The fragment to open now, if any. `busy(p)`: p has a round in flight; `due(p)`: its learners reached the bar. */
  pick(busy: (p: number) => boolean, due: (p: number) => boolean): number | undefined {
    const openable = (p: number): boolean => !busy(p) && due(p);
    if (openable(this.next)) return this.next;
    const turnBusy = busy(this.next);
    for (let i = 1; i < this.P; i++) {
      const p = (this.next + i) % this.P;
      if ((turnBusy || this.unmerged.has(p)) && openable(p)) return p;
    }
    return undefined;
  }

  /** A round opened on p: the turn moves on only when p was the fragment in turn. */
  opened(p: number): void {
    this.unmerged.delete(p);
    if (p === this.next) this.next = (p + 1) % this.P;
  }

  /** A round on p closed without a merge: p may open out of turn when it is due. */
  mergedNothing(p: number): void {
    this.unmerged.add(p);
  }

  /** A durable state's turn, with no round remembered (none is in flight after a restore). */
  restore(next: number): void {
    this.next = next;
    this.unmerged.clear();
  }
}
