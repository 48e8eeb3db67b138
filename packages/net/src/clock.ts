/**
 * Time, injected. Every deadline and interval in packages/net goes through a Clock so that the pure
 * parts (reassembly timeouts, heartbeats, backoff) run under a fake clock in unit tests, without sleeps.
 */
export type TimerHandle = unknown;

export interface Clock {
  /** Monotonic milliseconds (performance.now() in browsers and Node); only differences matter. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};

/** Resolves after `ms` on the given clock. */
export const sleep = (clock: Clock, ms: number): Promise<void> => new Promise((resolve) => void clock.setTimeout(resolve, ms));
