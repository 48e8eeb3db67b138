/**
 * Rebuilds messages from chunk frames (chunk.ts) for ONE remote peer, with bounded memory:
 *  - every header is checked (readChunkHeader) before anything is buffered;
 *  - at most `maxPartials` incomplete messages, reserving at most `maxBufferedBytes` together
 *    (a message's full totalBytes is reserved when its first chunk arrives);
 *  - chunks of one message must arrive in order (the data channel is reliable and ordered), which
 *    also rules out duplicates and holes;
 *  - any refusal that concerns an incomplete message drops that message, so refused input leaves
 *    nothing behind;
 *  - an incomplete message that receives no chunk for `idleTimeoutMs` is dropped by sweep();
 *  - with a shared pool (reassembly-pool.ts: the coordinator's links together), a reservation the pool
 *    refuses is 'buffer-full', and a message the pool evicts for another link is reported to `onEvicted`.
 * Pure: time comes from the injected `now()`.
 */
import { CHUNK_HEADER_BYTES, DEFAULT_CHUNK_BYTES, checkChunkBytes, readChunkHeader, refuse, type Refusal } from './chunk';
import type { PoolHolder, ReassemblyPool } from './reassembly-pool';

export interface ReassemblerLimits {
  /** Largest message accepted, in bytes (checked against the header's totalBytes). */
  maxMessageBytes: number;
  /** Incomplete messages held at once. The sender keeps at most 2 multi-chunk sends in flight (channel.ts). */
  maxPartials: number;
  /** Bytes reserved by all incomplete messages together. */
  maxBufferedBytes: number;
  /** Drop an incomplete message after this long without a chunk, in ms. */
  idleTimeoutMs: number;
  /** Payload bytes per chunk; both ends must agree. */
  chunkBytes: number;
}

export const DEFAULT_REASSEMBLER_LIMITS: Omit<ReassemblerLimits, 'maxMessageBytes'> = {
  maxPartials: 4,
  maxBufferedBytes: Number.POSITIVE_INFINITY, // resolved to 2 × maxMessageBytes by makeLimits
  idleTimeoutMs: 30_000,
  chunkBytes: DEFAULT_CHUNK_BYTES,
};

export function makeLimits(maxMessageBytes: number, over: Partial<ReassemblerLimits> = {}): ReassemblerLimits {
  const l = { ...DEFAULT_REASSEMBLER_LIMITS, maxBufferedBytes: 2 * maxMessageBytes, ...over, maxMessageBytes };
  checkChunkBytes(l.chunkBytes);
  if (!(l.maxMessageBytes >= 0) || !(l.maxPartials >= 1) || !(l.maxBufferedBytes >= 0) || !(l.idleTimeoutMs > 0)) {
    throw new RangeError(`invalid reassembler limits ${JSON.stringify(l)}`);
  }
  return l;
}

export type PushResult =
  | { kind: 'complete'; msgId: number; bytes: Uint8Array }
  | { kind: 'partial'; msgId: number }
  | (Refusal & { kind: 'refused'; msgId: number | undefined });

export interface SharedPool {
  pool: ReassemblyPool;
  /** An incomplete message was dropped to make room for another link (reason 'buffer-full'). */
  onEvicted(refusal: Refusal & { msgId: number }): void;
}

interface Incomplete {
  count: number;
  totalBytes: number;
  buf: Uint8Array;
  next: number;
  lastAt: number;
}

export class Reassembler {
  private readonly partials = new Map<number, Incomplete>();
  private reserved = 0;
  private readonly holder: PoolHolder = { evictLargest: () => this.evictLargest() };

  constructor(readonly limits: ReassemblerLimits, private readonly now: () => number, private readonly shared?: SharedPool) {}

  /** Incomplete messages held now. */
  get partialCount(): number {
    return this.partials.size;
  }

  /** Bytes reserved by incomplete messages now. */
  get bufferedBytes(): number {
    return this.reserved;
  }

  /**
   * Takes one chunk frame. A completed message is returned as a fresh Uint8Array at byteOffset 0,
   * owned by the caller; `frame` is not retained.
   */
  push(frame: Uint8Array): PushResult {
    const { maxMessageBytes, chunkBytes } = this.limits;
    const parsed = readChunkHeader(frame, maxMessageBytes, chunkBytes);
    if (!parsed.ok) {
      // A malformed chunk for a message in progress poisons that message: drop it too.
      const msgId = frame.length >= 6 ? new DataView(frame.buffer, frame.byteOffset, 6).getUint32(2, true) : undefined;
      if (msgId !== undefined && parsed.reason !== 'bad-magic' && parsed.reason !== 'truncated') this.drop(msgId);
      return { ...parsed, kind: 'refused', msgId };
    }
    const { msgId, index, count, totalBytes } = parsed.header;
    const now = this.now();
    const payload = frame.subarray(CHUNK_HEADER_BYTES);
    const p = this.partials.get(msgId);

    if (!p) {
      if (index !== 0) return this.refused(msgId, 'out-of-order', `message ${msgId} starts at chunk ${index}, expected 0`);
      // Copied (≤ 64 KiB) so every message starts at byteOffset 0: decoders may view it as Float32Array.
      if (count === 1) return { kind: 'complete', msgId, bytes: payload.slice() };
      this.sweep();
      if (this.partials.size >= this.limits.maxPartials) {
        return this.refused(msgId, 'too-many-partials', `${this.partials.size} incomplete messages already (limit ${this.limits.maxPartials})`);
      }
      if (this.reserved + totalBytes > this.limits.maxBufferedBytes) {
        return this.refused(msgId, 'buffer-full', `${this.reserved} + ${totalBytes} bytes would exceed ${this.limits.maxBufferedBytes}`);
      }
      if (this.shared && !this.shared.pool.reserve(this.holder, totalBytes)) {
        const { pool } = this.shared;
        return this.refused(msgId, 'buffer-full', `${this.reserved} + ${totalBytes} bytes is above this link's fair share of the shared ${pool.capacityBytes} bytes (${pool.reservedBytes} reserved)`);
      }
      // Zero-filled pages are mapped lazily by the OS, so an abandoned reservation costs little RSS.
      const buf = new Uint8Array(totalBytes);
      buf.set(payload, 0);
      this.partials.set(msgId, { count, totalBytes, buf, next: 1, lastAt: now });
      this.reserved += totalBytes;
      return { kind: 'partial', msgId };
    }

    if (p.count !== count || p.totalBytes !== totalBytes) {
      this.drop(msgId);
      return this.refused(msgId, 'header-mismatch', `chunk ${index} says ${count} chunks / ${totalBytes} bytes, first chunk said ${p.count} / ${p.totalBytes}`);
    }
    if (index < p.next) {
      this.drop(msgId);
      return this.refused(msgId, 'duplicate-index', `chunk ${index} of message ${msgId} received twice`);
    }
    if (index > p.next) {
      this.drop(msgId);
      return this.refused(msgId, 'out-of-order', `chunk ${index} of message ${msgId} arrived before chunk ${p.next}`);
    }
    p.buf.set(payload, index * chunkBytes);
    p.next++;
    p.lastAt = now;
    if (p.next < p.count) return { kind: 'partial', msgId };
    this.drop(msgId);
    return { kind: 'complete', msgId, bytes: p.buf };
  }

  /** Drops incomplete messages idle for idleTimeoutMs or longer; returns one 'timeout' refusal per drop. */
  sweep(): Array<Refusal & { msgId: number }> {
    const now = this.now();
    const dropped: Array<Refusal & { msgId: number }> = [];
    for (const [msgId, p] of this.partials) {
      const idle = now - p.lastAt;
      if (idle < this.limits.idleTimeoutMs) continue;
      this.drop(msgId);
      dropped.push({ ...refuse('timeout', `message ${msgId} had ${p.next}/${p.count} chunks and none for ${Math.round(idle)} ms`), msgId });
    }
    return dropped;
  }

  /** Forgets everything (the link closed). */
  clear(): void {
    this.partials.clear();
    this.shared?.pool.release(this.holder, this.reserved);
    this.reserved = 0;
  }

  private drop(msgId: number): void {
    const p = this.partials.get(msgId);
    if (!p) return;
    this.partials.delete(msgId);
    this.reserved -= p.totalBytes;
    this.shared?.pool.release(this.holder, p.totalBytes);
  }

  /** The pool's call: drops the largest incomplete message (the earliest on a tie) and reports it. */
  private evictLargest(): void {
    let largest: [number, Incomplete] | undefined;
    for (const e of this.partials) if (!largest || e[1].totalBytes > largest[1].totalBytes) largest = e;
    if (!largest) return;
    const [msgId, p] = largest;
    const held = this.reserved;
    this.drop(msgId);
    this.shared?.onEvicted({ ...refuse('buffer-full', `message ${msgId} (${p.totalBytes} bytes, ${p.next}/${p.count} chunks) evicted: this link held ${held} bytes, above its fair share of the shared pool, while another link needed room`), msgId });
  }

  private refused(msgId: number, reason: Refusal['reason'], detail: string): PushResult {
    return { ...refuse(reason, detail), kind: 'refused', msgId };
  }
}
