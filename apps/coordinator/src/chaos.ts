/**
 * Faults injected at the coordinator's own network boundary, for demos and tests (the chaos panel).
 * Every injected fault is counted and logged; randomness is seeded so a schedule can be replayed.
 *  - kill: cut a learner's link without a word (as if its tab died): it must rejoin as a new connection.
 *  - freeze: ignore everything a learner sends for T s (a frozen tab): the heartbeat deadline drops it.
 *  - throttle: delay each message from a learner by D ms (a slow link); 0 ms lifts every throttle.
 *  - drop: lose N% of incoming messages from everyone (lossy network; pushes and METAs go missing).
 *  - pause: the coordinator itself handles nothing for T s (a hung coordinator tab); input is queued.
 */
export interface ChaosLogEntry { at: number; fault: string; target: string; detail: string }

export class Chaos {
  readonly counts: Record<string, number> = {};
  readonly log: ChaosLogEntry[] = [];
  frozenUntil = new Map<string, number>();
  throttleMs = new Map<string, number>();
  dropRate = 0;
  pausedUntil = 0;
  private state: number;

  constructor(seed: number, private readonly now: () => number) {
    this.state = (seed >>> 0) || 1;
  }

  /** xorshift32 in [0, 1): seeded, so `?chaosSeed=` replays the same choices. */
  random(): number {
    let x = this.state;
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    this.state = x >>> 0;
    return this.state / 2 ** 32;
  }

  pick<T>(xs: readonly T[]): T | undefined {
    return xs.length ? xs[Math.floor(this.random() * xs.length)] : undefined;
  }

  record(fault: string, target: string, detail: string): void {
    this.counts[fault] = (this.counts[fault] ?? 0) + 1;
    this.log.push({ at: this.now(), fault, target, detail });
    if (this.log.length > 500) this.log.shift();
  }

  /**
   * Throttle one of `connected` by `ms`, preferring a tab not yet throttled; `ms` = 0 lifts every
   * throttle, since a random pick would most often leave the slow tab slow. Returns the tab, 'all', or
   * undefined when there is nobody to throttle.
   */
  throttle(connected: readonly string[], ms: number): string | undefined {
    if (!(ms > 0)) {
      this.throttleMs.clear();
      this.record('throttle', 'all', 'lifted');
      return 'all';
    }
    const free = connected.filter((id) => !this.throttleMs.has(id));
    const id = this.pick(free.length ? free : connected);
    if (id === undefined) return undefined;
    this.throttleMs.set(id, ms);
    this.record('throttle', id, `${ms} ms`);
    return id;
  }

  /** What to do with one incoming message: 'drop' it, or deliver it after `delayMs`. */
  incoming(id: string): { drop: true } | { drop: false; delayMs: number } {
    const t = this.now();
    if ((this.frozenUntil.get(id) ?? 0) > t) { this.counts['frozen-message'] = (this.counts['frozen-message'] ?? 0) + 1; return { drop: true }; }
    if (this.dropRate > 0 && this.random() < this.dropRate) { this.counts['dropped-message'] = (this.counts['dropped-message'] ?? 0) + 1; return { drop: true }; }
    return { drop: false, delayMs: this.throttleMs.get(id) ?? 0 };
  }

  get paused(): boolean {
    return this.pausedUntil > this.now();
  }
}
