/**
 * Per-socket limits on client → server signalling messages, applied before the PeerJS server sees
 * them (docs/fault-tolerance.md §3: the stock server has no rate limits and unbounded queues for offline
 * ids; docs/security.md "Signalling": what each bound is sized for). Pure: time injected.
 */

/** What a PeerJS client legitimately sends; the server itself originates OPEN, ERROR, ID-TAKEN, EXPIRE. */
export const CLIENT_MESSAGE_TYPES: ReadonlySet<string> = new Set(['HEARTBEAT', 'OFFER', 'ANSWER', 'CANDIDATE', 'LEAVE']);
/** Types the server queues when the destination is offline (LEAVE and EXPIRE are not queued). */
const QUEUED_TYPES: ReadonlySet<string> = new Set(['OFFER', 'ANSWER', 'CANDIDATE']);

export class TokenBucket {
  private tokens: number;
  private at: number;

  /** `capacity` units (messages, bytes) at once, refilled at `perSecond`. */
  constructor(private readonly capacity: number, private readonly perSecond: number, private readonly now: () => number) {
    this.tokens = capacity;
    this.at = now();
  }

  /** Takes `n` units if there are that many; otherwise takes nothing. */
  take(n = 1): boolean {
    this.refill();
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** True when the bucket is back to capacity: it then says nothing an absent bucket would not. */
  get full(): boolean {
    this.refill();
    return this.tokens >= this.capacity;
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((t - this.at) / 1000) * this.perSecond);
    this.at = t;
  }
}

/** One token bucket per key (a client address), forgetting buckets that refilled so the map stays small. */
export class KeyedBuckets {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly capacity: number, private readonly perSecond: number, private readonly maxKeys: number, private readonly now: () => number) {}

  take(key: string, n = 1): boolean {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.prune();
      if (this.buckets.size >= this.maxKeys) return false; // more distinct addresses at once than we track: refuse, never grow
      b = new TokenBucket(this.capacity, this.perSecond, this.now);
      this.buckets.set(key, b);
    }
    return b.take(n);
  }

  get size(): number {
    return this.buckets.size;
  }

  private prune(): void {
    for (const [k, b] of this.buckets) if (b.full) this.buckets.delete(k);
  }
}

export interface OfflineQueueLimits {
  /** Messages queued for one offline destination within the window. */
  maxPerDestination: number;
  /** Bytes queued for all offline destinations together within the window. */
  maxTotalBytes: number;
  /** The server's expire window: queued messages are dropped after it, in ms. */
  windowMs: number;
  /** Offline destinations tracked at once. */
  maxDestinations: number;
}

/**
 * Counts messages relayed to offline destinations within the server's expire window. The server keeps
 * them (without a size cap) until the destination connects or the window passes; past the limits we
 * drop instead. A destination coming online resets its count (its queue is flushed).
 */
export class OfflineQueueLimiter {
  private readonly counts = new Map<string, { n: number; bytes: number; since: number }>();
  private bytes = 0;

  constructor(private readonly limits: OfflineQueueLimits, private readonly now: () => number) {}

  allow(dst: string, bytes: number): boolean {
    const t = this.now();
    let c = this.counts.get(dst);
    if (c && t - c.since >= this.limits.windowMs) {
      this.forget(dst);
      c = undefined;
    }
    if (!c || this.bytes + bytes > this.limits.maxTotalBytes) this.prune(t);
    if (this.bytes + bytes > this.limits.maxTotalBytes) return false;
    if (!c) {
      if (this.counts.size >= this.limits.maxDestinations) return false; // too many distinct offline targets at once
      c = { n: 0, bytes: 0, since: t };
      this.counts.set(dst, c);
    }
    if (c.n >= this.limits.maxPerDestination) return false;
    c.n++;
    c.bytes += bytes;
    this.bytes += bytes;
    return true;
  }

  online(dst: string): void {
    this.forget(dst);
  }

  /** Bytes counted as queued right now (for the stats). */
  get queuedBytes(): number {
    return this.bytes;
  }

  private forget(dst: string): void {
    const c = this.counts.get(dst);
    if (!c) return;
    this.bytes -= c.bytes;
    this.counts.delete(dst);
  }

  private prune(t: number): void {
    for (const [dst, c] of this.counts) if (t - c.since >= this.limits.windowMs) this.forget(dst);
  }
}

export type GateVerdict = 'pass' | 'drop' | 'abuse';

export interface MessageGateOptions {
  /** Messages per socket; running dry is abuse (the socket is closed). */
  bucket: TokenBucket;
  /** Bytes per socket; running dry drops the message (a busy coordinator answering many joins is not cut off). */
  bytes: TokenBucket;
  queue: OfflineQueueLimiter;
  /** Bytes from this socket's address to each destination, all its sockets together (the key is
   * `address dst`): one address's many sockets cannot pour more than this into one peer's link. */
  routes: KeyedBuckets;
  address: string;
  isOnline(id: string): boolean;
}

/** Decides one client message: pass it on, drop it silently, or treat the socket as abusive (close it). */
export function gateMessage(raw: string, o: MessageGateOptions): GateVerdict {
  if (!o.bucket.take()) return 'abuse';
  if (!o.bytes.take(raw.length)) return 'drop';
  let msg: unknown;
  try {
    msg = JSON.parse(raw);
  } catch {
    return 'drop';
  }
  if (typeof msg !== 'object' || msg === null) return 'drop';
  const { type, dst } = msg as { type?: unknown; dst?: unknown };
  if (typeof type !== 'string' || !CLIENT_MESSAGE_TYPES.has(type)) return 'drop';
  // peer 1.0.2 takes a LEAVE without dst as "unregister me" yet keeps the socket, so the sender's id is
  // free to take while it is connected and its frames skip the offline-queue caps (the id counts as
  // online here until the socket closes). PeerJS 1.5.5 never sends one.
  if (type === 'LEAVE' && !dst) return 'drop';
  if (QUEUED_TYPES.has(type)) {
    if (typeof dst !== 'string' || dst.length === 0 || dst.length > 128) return 'drop';
    if (!o.routes.take(`${o.address} ${dst}`, raw.length)) return 'drop';
    if (!o.isOnline(dst) && !o.queue.allow(dst, raw.length)) return 'drop';
  }
  return 'pass';
}
