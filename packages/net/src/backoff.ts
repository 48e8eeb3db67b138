/**
 * Reconnect delays: exponential with "equal jitter" (half fixed, half random), capped. The jitter
 * spreads a swarm of tabs that lost the coordinator at the same moment, so they do not all hit the
 * signalling server in the same millisecond; the fixed half keeps a delay from collapsing to 0.
 */
export interface BackoffOptions {
  /** Delay before the first retry, in ms (default 250). */
  baseMs: number;
  /** Largest delay, in ms (default 5000). */
  capMs: number;
  /** Growth per failed attempt (default 2). */
  factor: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 250, capMs: 5000, factor: 2 };

/** Delay in ms before retry number `attempt` (0 = first retry); `random` is uniform in [0, 1). */
export function backoffDelay(attempt: number, random: () => number, o: BackoffOptions = DEFAULT_BACKOFF): number {
  const ceiling = Math.min(o.capMs, o.baseMs * Math.pow(o.factor, Math.max(0, attempt)));
  return ceiling / 2 + random() * (ceiling / 2);
}
