/** A manual clock for tests: timers fire only when the test advances time. */
import type { Clock, TimerHandle } from '../src/clock';

interface Timer {
  at: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  t = 0;
  private readonly timers = new Map<number, Timer>();
  private nextId = 1;

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }

  get pending(): number {
    return this.timers.size;
  }

  /** Runs due timers in time order (ties in creation order) up to now + ms, synchronously. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (let next = this.due(end); next; next = this.due(end)) {
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at); // an overdue timer fires late, never in the past
      next[1].fn();
    }
    this.t = end;
  }

  /** Like advance, but lets promises settle after every timer (for async code under test). */
  async advanceAsync(ms: number): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (let next = this.due(end); next; next = this.due(end)) {
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at); // an overdue timer fires late, never in the past
      next[1].fn();
      await settle();
    }
    this.t = end;
    await settle();
  }

  private due(end: number): [number, Timer] | undefined {
    let best: [number, Timer] | undefined;
    for (const e of this.timers) if (e[1].at <= end && (!best || e[1].at < best[1].at)) best = e;
    return best;
  }
}

/** Lets every queued promise callback and microtask run (one macrotask turn). */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
