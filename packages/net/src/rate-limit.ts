/**
 * A cap on one link's send rate: the stand-in for a WAN uplink in a swarm that runs on one machine
 * (`npm run swarm -- --link-mbps N`, docs/method.md §7). A token bucket holding at most one full chunk
 * frame: a frame leaves at once while the bucket holds its size, and otherwise waits until the refill
 * (rate × elapsed) has paid for it. Frames reserve their slot when they ask, so concurrent senders on
 * one link leave in the order they asked and the cap holds over all of them together, like a FIFO queue
 * on a slow line.
 */
import { ConfigError } from '@tabswarm/core';
import type { Clock, TimerHandle } from './clock';
import type { Cancel } from './drain';
import { NetError } from './errors';

/** Megabits per second (10⁶ bit/s, as links are sold) → bytes per millisecond. */
export const mbpsToBytesPerMs = (mbps: number): number => (mbps * 1e6) / 8 / 1000;

/** The pages' `linkMbps` URL parameter: absent means no cap (Infinity); anything but a positive finite number is refused. */
export function parseLinkMbps(v: string | null): number {
  if (v === null) return Infinity;
  const n = Number(v);
  if (!(v.trim() !== '' && Number.isFinite(n) && n > 0)) throw new ConfigError(`linkMbps=${JSON.stringify(v)}: want a positive number of megabits/s`);
  return n;
}

export class TokenBucket {
  private tokens: number;
  private at: number;

  /**
   * @param bytesPerMs refill rate, bytes per ms (> 0, finite)
   * @param burstBytes bucket size, bytes (> 0): the most that leaves back to back after a quiet spell
   */
  constructor(readonly bytesPerMs: number, readonly burstBytes: number, private readonly clock: Clock) {
    if (!(Number.isFinite(bytesPerMs) && bytesPerMs > 0)) throw new RangeError(`rate ${bytesPerMs} B/ms, want a finite number > 0`);
    if (!(Number.isFinite(burstBytes) && burstBytes > 0)) throw new RangeError(`burst ${burstBytes} B, want a finite number > 0`);
    this.tokens = burstBytes; // a fresh link starts quiet: one burst may leave at once
    this.at = clock.now();
  }

  /**
   * Reserves `bytes` and returns how long (ms) the caller must wait before sending them. The balance may
   * go negative: that debt is what makes the next caller wait behind this one.
   */
  reserve(bytes: number): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burstBytes, this.tokens + (now - this.at) * this.bytesPerMs);
    this.at = now;
    this.tokens -= bytes;
    return this.tokens >= 0 ? 0 : -this.tokens / this.bytesPerMs;
  }
}

/** Waits for `bytes` of the bucket; rejects with NetError 'closed' when `cancel` fires first (the link closed). */
export function takeTokens(bucket: TokenBucket, bytes: number, clock: Clock, cancel: Cancel): Promise<void> {
  if (cancel.aborted) return Promise.reject(new NetError('closed', 'the link closed while waiting to send'));
  const waitMs = bucket.reserve(bytes);
  if (waitMs === 0) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clock.clearTimeout(timer);
      reject(new NetError('closed', 'the link closed while waiting for its rate limit'));
    };
    const timer: TimerHandle = clock.setTimeout(() => {
      cancel.remove(onAbort);
      resolve();
    }, waitMs);
    cancel.add(onAbort);
  });
}
