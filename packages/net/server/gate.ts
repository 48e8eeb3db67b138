/**
 * Per-socket limits on client → server signalling messages, applied before the PeerJS server sees
 * them (docs/fault-tolerance.md §3: the stock server has no rate limits and unbounded queues for offline
 * ids). Pure: time injected.
 */

/** What a PeerJS client legitimately sends; the server itself originates OPEN, ERROR, ID-TAKEN, EXPIRE. */
export const CLIENT_MESSAGE_TYPES: ReadonlySet<string> = new Set(['HEARTBEAT', 'OFFER', 'ANSWER', 'CANDIDATE', 'LEAVE']);
/** Types the server queues when the destination is offline (LEAVE and EXPIRE are not queued). */
const QUEUED_TYPES: ReadonlySet<string> = new Set(['OFFER', 'ANSWER', 'CANDIDATE']);

export class TokenBucket {
  private tokens: number;
  private at: number;

  /** `capacity` messages at once, refilled at `perSecond`. */
  constructor(private readonly capacity: number, private readonly perSecond: number, private readonly now: () => number) {
    this.tokens = capacity;
    this.at = now();
  }

  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((t - this.at) / 1000) * this.perSecond);
    this.at = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * Counts messages relayed to offline destinations within the server's expire window. The server keeps
 * them (without a size cap) until the destination connects or the window passes; past
 * `maxPerDestination` we drop instead. A destination coming online resets its count (its queue is flushed).
 */
export class OfflineQueueLimiter {
  private readonly counts = new Map<string, { n: number; since: number }>();

  constructor(private readonly maxPerDestination: number, private readonly windowMs: number, private readonly maxDestinations: number, private readonly now: () => number) {}

  allow(dst: string): boolean {
    const t = this.now();
    let c = this.counts.get(dst);
    if (c && t - c.since >= this.windowMs) {
      this.counts.delete(dst);
      c = undefined;
    }
    if (!c) {
      if (this.counts.size >= this.maxDestinations) this.prune(t);
      if (this.counts.size >= this.maxDestinations) return false; // too many distinct offline targets at once
      c = { n: 0, since: t };
      this.counts.set(dst, c);
    }
    if (c.n >= this.maxPerDestination) return false;
    c.n++;
    return true;
  }

  online(dst: string): void {
    this.counts.delete(dst);
  }

  private prune(t: number): void {
    for (const [dst, c] of this.counts) if (t - c.since >= this.windowMs) this.counts.delete(dst);
  }
}

export type GateVerdict = 'pass' | 'drop' | 'abuse';

export interface MessageGateOptions {
  bucket: TokenBucket;
  queue: OfflineQueueLimiter;
  isOnline(id: string): boolean;
}

/** Decides one client message: pass it on, drop it silently, or treat the socket as abusive (close it). */
export function gateMessage(raw: string, o: MessageGateOptions): GateVerdict {
  if (!o.bucket.take()) return 'abuse';
  let msg: unknown;
  try {
    msg = JSON.parse(raw);
  } catch {
    return 'drop';
  }
  if (typeof msg !== 'object' || msg === null) return 'drop';
  const { type, dst } = msg as { type?: unknown; dst?: unknown };
  if (typeof type !== 'string' || !CLIENT_MESSAGE_TYPES.has(type)) return 'drop';
  if (QUEUED_TYPES.has(type)) {
    if (typeof dst !== 'string' || dst.length === 0 || dst.length > 128) return 'drop';
    if (!o.isOnline(dst) && !o.queue.allow(dst)) return 'drop';
  }
  return 'pass';
}
