/**
 * One open data connection as a message pipe: whole Uint8Array messages in and out, chunked
 * (chunk.ts), reassembled with limits (reassembler.ts), paced by backpressure (drain.ts) and, when
 * tuning.linkMbps is finite, by a rate cap (rate-limit.ts), and watched by a heartbeat (heartbeat.ts). Closes itself on heartbeat silence, on a protocol violation by the
 * peer, or when a send cannot drain; `onClose` fires exactly once with the reason.
 */
import { BYE_MAGIC, byeFrame, readBye } from './bye';
import { DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_TUNING, type ChannelStats, type ChannelTuning } from './channel-tuning';
import { CHUNK_HEADER_BYTES, CHUNK_MAGIC, chunkCount, chunkFrames, frameMagic, type FrameRefusal } from './chunk';
import type { Clock } from './clock';
import { Cancel, waitForDrain } from './drain';
import { NetError } from './errors';
import { HEARTBEAT_MAGIC, Heartbeat } from './heartbeat';
import { mbpsToBytesPerMs, takeTokens, TokenBucket } from './rate-limit';
import { Reassembler, makeLimits } from './reassembler';
import type { ReassemblyPool } from './reassembly-pool';
import type { RawConnection } from './transport';
import { pageClock } from './worker-clock';

/**
 * Multi-chunk sends in flight at once. Below the receiver's maxPartials (4), so an honest sender never
 * trips it; one-chunk messages skip the queue, so control messages never wait behind a model transfer.
 */
const MAX_MULTI_CHUNK_SENDS = 2;

/** After a bye, the connection closes this much later, in ms, so the bye can leave: PeerJS close() tears down the whole RTCPeerConnection. */
const BYE_GRACE_MS = 100;
/** Reasons that mean the connection is already unusable: no bye is attempted. */
const NO_BYE = new Set(['remote-closed', 'error', 'send-failed']);

export interface ChannelOptions {
  /** Largest message in either direction, in bytes. */
  maxMessageBytes?: number;
  onMessage(bytes: Uint8Array): void;
  /**
   * Exactly once, in a microtask after the link closed. reason: what close() was given (default
   * 'local'); 'remote:<reason>' when the peer said goodbye with a reason; 'remote-closed' when the
   * connection just closed; 'heartbeat-timeout', 'protocol-error', 'send-timeout', 'send-failed', 'error'.
   */
  onClose(reason: string, detail: string): void;
  /** Every refused frame, including non-fatal reassembly timeouts. */
  onRefused?(reason: FrameRefusal, detail: string): void;
  clock?: Clock;
  tuning?: Partial<ChannelTuning>;
  /** Bytes of incomplete incoming messages shared with other links (the coordinator's; reassembly-pool.ts). */
  pool?: ReassemblyPool;
}


export class Channel {
  readonly maxMessageBytes: number;
  readonly tuning: ChannelTuning;
  private readonly clock: Clock;
  private readonly heartbeat: Heartbeat;
  private readonly reassembler: Reassembler;
  private readonly cancel = new Cancel();
  private readonly bucket: TokenBucket | undefined;
  private readonly counters = { bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0, messagesIn: 0, messagesOut: 0 };
  private readonly refused: Partial<Record<FrameRefusal, number>> = {};
  private nextMsgId = 0;
  private multiInFlight = 0;
  private readonly waiting: Array<() => void> = [];
  private closedWith: string | undefined;

  constructor(private readonly conn: RawConnection, private readonly o: ChannelOptions) {
    this.clock = o.clock ?? pageClock();
    this.maxMessageBytes = o.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.tuning = { ...DEFAULT_TUNING, maxBufferedBytes: 2 * this.maxMessageBytes, ...o.tuning };
    const t = this.tuning;
    // Burst: one full chunk frame, so a capped link never sends two frames back to back faster than its rate.
    if (Number.isFinite(t.linkMbps)) this.bucket = new TokenBucket(mbpsToBytesPerMs(t.linkMbps), t.chunkBytes + CHUNK_HEADER_BYTES, this.clock);
    this.reassembler = new Reassembler(
      makeLimits(this.maxMessageBytes, { chunkBytes: t.chunkBytes, maxPartials: t.maxPartials, maxBufferedBytes: t.maxBufferedBytes, idleTimeoutMs: t.partialIdleMs }),
      // Idle time on the heartbeat's live clock: after a stall of our thread the next chunks may be queued behind it.
      () => this.heartbeat.liveNow(),
      // An evicted message closes the link like any 'buffer-full': its next chunk would be refused as
      // out-of-order anyway, and the link held more than its fair share while another link needed room.
      o.pool && { pool: o.pool, onEvicted: (r) => this.refuse(r.reason, r.detail) },
    );
    this.heartbeat = new Heartbeat({
      intervalMs: t.heartbeatIntervalMs, timeoutMs: t.heartbeatTimeoutMs, clock: this.clock,
      send: (frame) => this.sendControl(frame),
      onDead: (silent) => this.shutdown('heartbeat-timeout', `nothing heard for ${Math.round(silent)} ms`),
      onTick: () => { for (const r of this.reassembler.sweep()) this.refuse(r.reason, r.detail); },
    });
    conn.onData((data) => this.receive(data));
    conn.onClose(() => this.shutdown('remote-closed', 'the data connection closed'));
    conn.onError((type, message) => this.shutdown('error', `${type}: ${message}`));
    this.heartbeat.start();
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  get closeReason(): string | undefined {
    return this.closedWith;
  }

  get rttMs(): number | undefined {
    return this.heartbeat.rttMs;
  }

  /**
   * Sends one message. Resolves once every frame was handed to the browser (not when the peer got
   * it); rejects with NetError 'too-large', 'closed' or 'send-timeout'. Do not mutate `bytes` until then.
   */
  async send(bytes: Uint8Array): Promise<void> {
    if (this.closedWith !== undefined) throw new NetError('closed', `link closed (${this.closedWith})`);
    if (bytes.length > this.maxMessageBytes) throw new NetError('too-large', `${bytes.length} bytes > maxMessageBytes ${this.maxMessageBytes}`);
    const multi = chunkCount(bytes.length, this.tuning.chunkBytes) > 1;
    const msgId = (this.nextMsgId = (this.nextMsgId + 1) >>> 0);
    if (multi) await this.acquire();
    try {
      for (const frame of chunkFrames(msgId, bytes, this.tuning.chunkBytes)) await this.sendFrame(frame);
      this.counters.messagesOut++;
    } finally {
      if (multi) this.release();
    }
  }

  /** Closes the link; `onClose(reason)` fires once, in a microtask. */
  close(reason = 'local', detail = 'closed by this side'): void {
    this.shutdown(reason, detail);
  }

  stats(): ChannelStats {
    return {
      ...this.counters, refused: { ...this.refused }, rttMs: this.heartbeat.rttMs, silentMs: this.heartbeat.silentMs,
      partials: this.reassembler.partialCount, bufferedAmount: this.conn.dataChannel?.bufferedAmount ?? 0,
    };
  }

  private async sendFrame(frame: Uint8Array<ArrayBuffer>): Promise<void> {
    if (this.bucket) await takeTokens(this.bucket, frame.length, this.clock, this.cancel);
    let dc = this.openChannel();
    // A loop, not an if: many senders wake on the same event, and each must see the others' frames.
    // Chromium closes a data channel whose send buffer passes 16 MiB, so overshoot must stay bounded.
    while (dc.bufferedAmount > this.tuning.highWaterBytes) {
      try {
        await waitForDrain(dc, { lowWaterBytes: this.tuning.lowWaterBytes, timeoutMs: this.tuning.drainTimeoutMs, clock: this.clock, cancel: this.cancel });
      } catch (e) {
        if (e instanceof NetError && e.code === 'send-timeout') this.shutdown('send-timeout', e.message);
        throw e;
      }
      dc = this.openChannel();
    }
    try {
      dc.send(frame);
    } catch (e) {
      this.shutdown('send-failed', String(e));
      throw new NetError('closed', `send failed: ${String(e)}`);
    }
    this.counters.bytesOut += frame.length;
    this.counters.framesOut++;
  }

  private openChannel(): NonNullable<RawConnection['dataChannel']> {
    const dc = this.conn.dataChannel;
    if (this.closedWith !== undefined) throw new NetError('closed', `link closed (${this.closedWith})`);
    if (!dc || dc.readyState !== 'open') throw new NetError('closed', `data channel is ${dc?.readyState ?? 'gone'}`);
    return dc;
  }

  /**
   * Heartbeat frames bypass backpressure (7 bytes) and never throw: a failed one reads as silence. Under a
   * rate cap they are paid for but never delayed, as a line's tiny packets are: a heartbeat stuck behind a
   * model transfer would read as a dead peer.
   */
  private sendControl(frame: Uint8Array<ArrayBuffer>): void {
    const dc = this.conn.dataChannel;
    if (this.closedWith !== undefined || !dc || dc.readyState !== 'open') return;
    this.bucket?.reserve(frame.length);
    try {
      dc.send(frame);
      this.counters.bytesOut += frame.length;
      this.counters.framesOut++;
    } catch {
      // the close event follows
    }
  }

  private receive(data: unknown): void {
    if (this.closedWith !== undefined) return;
    let frame: Uint8Array;
    if (data instanceof ArrayBuffer) frame = new Uint8Array(data);
    else if (ArrayBuffer.isView(data)) frame = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else return this.refuse('not-binary', `got ${typeof data} on a raw binary channel`);
    this.counters.bytesIn += frame.length;
    this.counters.framesIn++;
    this.heartbeat.heard();
    const magic = frameMagic(frame);
    if (magic === HEARTBEAT_MAGIC) {
      if (!this.heartbeat.handle(frame)) this.refuse('length-mismatch', `malformed heartbeat frame of ${frame.length} bytes`);
      return;
    }
    if (magic === BYE_MAGIC) {
      const reason = readBye(frame);
      if (reason === undefined) return this.refuse('length-mismatch', `malformed bye frame of ${frame.length} bytes`);
      return this.shutdown(`remote:${reason}`, 'the peer closed the link');
    }
    if (magic !== CHUNK_MAGIC) return this.refuse(magic === undefined ? 'truncated' : 'bad-magic', `frame of ${frame.length} bytes, magic ${magic}`);
    const r = this.reassembler.push(frame);
    if (r.kind === 'refused') return this.refuse(r.reason, r.detail);
    if (r.kind === 'complete') {
      this.counters.messagesIn++;
      this.o.onMessage(r.bytes);
    }
  }

  /** Counts a refusal; anything but a reassembly timeout means a broken or hostile peer: close. */
  private refuse(reason: FrameRefusal, detail: string): void {
    this.refused[reason] = (this.refused[reason] ?? 0) + 1;
    this.o.onRefused?.(reason, detail);
    if (reason !== 'timeout') this.shutdown('protocol-error', `${reason}: ${detail}`);
  }

  private acquire(): Promise<void> {
    if (this.multiInFlight < MAX_MULTI_CHUNK_SENDS) {
      this.multiInFlight++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.waiting.push(resolve)).then(() => {
      if (this.closedWith !== undefined) throw new NetError('closed', `link closed (${this.closedWith})`);
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next(); // the slot passes straight to the next sender
    else this.multiInFlight--;
  }

  private shutdown(reason: string, detail: string): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = reason;
    this.heartbeat.stop();
    this.reassembler.clear();
    this.cancel.cancel();
    // Wake queued senders; each sees the closed link and rejects.
    for (const w of this.waiting.splice(0)) w();
    const bye = NO_BYE.has(reason) || reason.startsWith('remote:') ? undefined : byeFrame(reason);
    const dc = this.conn.dataChannel;
    if (bye && dc && dc.readyState === 'open') {
      try {
        dc.send(bye);
      } catch {
        // best effort
      }
      this.clock.setTimeout(() => this.closeConn(), BYE_GRACE_MS);
    } else {
      this.closeConn();
    }
    // Deferred, so that close(), send() and drop() callers never re-enter their own onClose handlers.
    queueMicrotask(() => this.o.onClose(reason, detail));
  }

  private closeConn(): void {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}
