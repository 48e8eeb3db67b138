/**
 * Deadlines and a set of pending calls that can all be failed at once.
 *
 * Why: a Worker can hang (threaded WASM under minification never resolves `setBackend`, a lost GPU
 * device stalls `mapAsync`) or die (renderer OOM). Nothing in the platform rejects the promises that
 * were waiting on it, so every call across the boundary is raced against a timer here, and whoever
 * kills the worker rejects everything still in flight. Pure: timers are injectable for tests.
 */

/** The two timer functions we need; defaults to the global ones. Handles are opaque. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const globalTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Largest delay setTimeout honours (2^31 − 1 ms ≈ 24.8 days); longer ones fire immediately. */
const MAX_TIMER_MS = 2_147_483_647;

/** Why `ms` cannot be a deadline (not in (0, 2^31 − 1] ms), or undefined when it can. */
export function badDeadline(ms: number, label: string): RangeError | undefined {
  return ms > 0 && ms <= MAX_TIMER_MS ? undefined : new RangeError(`${label}: deadline ${ms} ms is not in (0, ${MAX_TIMER_MS}]`);
}

export class DeadlineError extends Error {
  override name = 'DeadlineError';
  constructor(readonly label: string, readonly ms: number) {
    super(`${label} timed out after ${ms} ms`);
  }
}

/**
 * Settles like `promise`, or rejects with `makeError()` (default DeadlineError) once `ms` milliseconds
 * pass first. The timer is cleared as soon as the promise settles, so nothing is left scheduled.
 * A late rejection of `promise` after the deadline is swallowed (it has already been reported).
 */
export function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  label: string,
  timers: Timers = globalTimers,
  makeError: (label: string, ms: number) => Error = (l, m) => new DeadlineError(l, m),
): Promise<T> {
  const bad = badDeadline(ms, label);
  if (bad) return Promise.reject(bad);
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const handle = timers.setTimeout(() => {
      if (done) return;
      done = true;
      reject(makeError(label, ms));
    }, ms);
    promise.then(
      (v) => {
        if (done) return;
        done = true;
        timers.clearTimeout(handle);
        resolve(v);
      },
      (e: unknown) => {
        if (done) return;
        done = true;
        timers.clearTimeout(handle);
        reject(e);
      },
    );
  });
}

/**
 * The calls currently in flight. `track(p)` returns a promise that settles like `p` unless
 * `rejectAll`/`close` fails it first. After `close(err)` every new `track` rejects at once with `err`,
 * which is how a terminated or crashed worker refuses further calls.
 */
export class PendingSet {
  private readonly rejecters = new Set<(e: Error) => void>();
  private closedWith: Error | undefined;

  get size(): number {
    return this.rejecters.size;
  }

  /** The error this set was closed with, if any. */
  get closed(): Error | undefined {
    return this.closedWith;
  }

  track<T>(promise: Promise<T>): Promise<T> {
    const closed = this.closedWith;
    if (closed) {
      promise.catch(() => undefined); // the caller will never see it; don't let it become unhandled
      return Promise.reject(closed);
    }
    return new Promise<T>((resolve, reject) => {
      const fail = (e: Error): void => reject(e);
      this.rejecters.add(fail);
      promise.then(
        (v) => {
          if (this.rejecters.delete(fail)) resolve(v);
        },
        (e: unknown) => {
          if (this.rejecters.delete(fail)) reject(e);
        },
      );
    });
  }

  /** Fails every call in flight with `err`; later calls are still accepted. */
  rejectAll(err: Error): void {
    const all = [...this.rejecters];
    this.rejecters.clear();
    for (const fail of all) fail(err);
  }

  /** Fails every call in flight and every later one with `err`. The first close wins. */
  close(err: Error): void {
    this.closedWith ??= err;
    this.rejectAll(this.closedWith);
  }
}
