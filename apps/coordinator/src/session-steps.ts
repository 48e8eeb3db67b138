/**
 * Local steps the learners trained during this coordinator incarnation, per learner session (the
 * goodput's denominator, docs/fault-tolerance.md §1). Bounded: beyond `max` sessions the least recently
 * seen are folded into one total, so their steps stay counted (4,096 kept: about 200 kB).
 */
export class SessionSteps {
  /** `${id}/${session}` → [step counter when first seen, latest]. */
  private readonly bySession = new Map<string, [number, number]>();
  private folded = 0;

  constructor(private readonly max = 4096) {}

  /** A session's step counter t from its latest META. The first one this incarnation sees sets its
   * base at t − 1: steps trained before a coordinator reload belong to the previous incarnation. */
  saw(id: string, session: number, t: number): void {
    if (t <= 0) return;
    const key = `${id}/${session}`;
    const t0 = this.bySession.get(key)?.[0] ?? t - 1;
    this.bySession.delete(key); // re-insert at the end: the map's order is least recently seen first
    this.bySession.set(key, [t0, t]);
    for (const [k, [t0, last]] of this.bySession) {
      if (this.bySession.size <= this.max) break;
      this.bySession.delete(k);
      this.folded += last - t0;
    }
  }

  /** Steps of each kept session, then the folded sessions' total. */
  perSession(): number[] {
    return [...[...this.bySession.values()].map(([t0, t]) => t - t0), this.folded];
  }
}
