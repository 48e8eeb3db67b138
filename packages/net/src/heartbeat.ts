/**
 * Liveness for one link. A tab that is closed without `peer.destroy()`, or a killed browser, never
 * fires PeerJS `close` on the other side (docs/browser.md §3: not within 60 s), so each side sends a
 * 7-byte ping every `intervalMs` and declares the peer dead after `timeoutMs` of silence. ANY frame
 * heard counts, so a busy link needs no extra traffic to stay alive; pings are answered with pongs,
 * which gives RTT.
 *
 * Frame: u16 magic HEARTBEAT_MAGIC, u8 kind (1 ping, 2 pong), u32 seq; little-endian.
 * Pongs answer from the data channel's message event, not from a timer, so a background tab whose
 * timers are throttled still answers promptly.
 */
import type { Clock, TimerHandle } from './clock';

export const HEARTBEAT_MAGIC = 0x5448; // "TH" read little-endian: tabswarm heartbeat
export const HEARTBEAT_FRAME_BYTES = 7;
const PING = 1;
const PONG = 2;
/** Outstanding pings remembered for RTT; older ones are forgotten (their pongs are ignored). */
const MAX_OUTSTANDING = 8;
/** Weight of the newest RTT sample in the smoothed value. */
const RTT_ALPHA = 0.2;

export interface HeartbeatOptions {
  /** Ping period, in ms (default 1000). */
  intervalMs?: number;
  /** Silence after which the peer is dead, in ms (default 5000). Must exceed intervalMs. */
  timeoutMs?: number;
  clock: Clock;
  /** Sends one heartbeat frame; must not throw (a failed send shows up as silence). */
  send(frame: Uint8Array<ArrayBuffer>): void;
  /** Called once, with the silence in ms, when timeoutMs passes without any frame. */
  onDead(silentMs: number): void;
  /** Called on every tick, for periodic housekeeping (e.g. reassembly timeouts). */
  onTick?(): void;
}

export const DEFAULT_HEARTBEAT = { intervalMs: 1000, timeoutMs: 5000 } as const;

export function heartbeatFrame(kind: 'ping' | 'pong', seq: number): Uint8Array<ArrayBuffer> {
  const frame = new Uint8Array(HEARTBEAT_FRAME_BYTES);
  const v = new DataView(frame.buffer);
  v.setUint16(0, HEARTBEAT_MAGIC, true);
  v.setUint8(2, kind === 'ping' ? PING : PONG);
  v.setUint32(3, seq >>> 0, true);
  return frame;
}

export class Heartbeat {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  private lastHeard: number;
  private seq = 0;
  private readonly outstanding = new Map<number, number>(); // seq → sent at (ms)
  private timer: TimerHandle | undefined;
  private dueAt = 0;
  private stopped = true;
  private smoothed: number | undefined;
  private last: number | undefined;
  private live = 0; // liveNow() at liveAt, in ms
  private liveAt: number; // clock.now() at the last tick (or start), in ms

  constructor(private readonly o: HeartbeatOptions) {
    this.intervalMs = o.intervalMs ?? DEFAULT_HEARTBEAT.intervalMs;
    this.timeoutMs = o.timeoutMs ?? DEFAULT_HEARTBEAT.timeoutMs;
    if (!(this.intervalMs > 0) || !(this.timeoutMs > this.intervalMs)) {
      throw new RangeError(`heartbeat needs 0 < intervalMs < timeoutMs, got ${this.intervalMs} / ${this.timeoutMs}`);
    }
    this.lastHeard = this.liveAt = o.clock.now();
  }

  /** Smoothed round-trip time in ms; undefined until the first pong. */
  get rttMs(): number | undefined {
    return this.smoothed;
  }

  get lastRttMs(): number | undefined {
    return this.last;
  }

  /**
   * A clock in ms that runs with clock.now() but counts at most two intervals from one tick to the next:
   * time our own thread stalled (a late tick, see tick()) is left out. For timeouts on the peer's progress,
   * which cannot show while frames queue behind us (channel.ts: incomplete messages).
   */
  liveNow(): number {
    return this.live + Math.min(this.o.clock.now() - this.liveAt, 2 * this.intervalMs);
  }

  /** Milliseconds since any frame was heard. */
  get silentMs(): number {
    return this.o.clock.now() - this.lastHeard;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.live = this.liveNow();
    this.lastHeard = this.liveAt = this.o.clock.now();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.outstanding.clear();
  }

  /** Any frame arrived from the peer. */
  heard(): void {
    this.lastHeard = this.o.clock.now();
  }

  /**
   * Handles a heartbeat frame (magic already matched): answers pings, records RTT from pongs.
   * Returns false for a malformed heartbeat frame.
   */
  handle(frame: Uint8Array): boolean {
    if (frame.length !== HEARTBEAT_FRAME_BYTES) return false;
    const v = new DataView(frame.buffer, frame.byteOffset, HEARTBEAT_FRAME_BYTES);
    if (v.getUint16(0, true) !== HEARTBEAT_MAGIC) return false;
    const kind = v.getUint8(2), seq = v.getUint32(3, true);
    this.heard();
    if (kind === PING) {
      if (!this.stopped) this.o.send(heartbeatFrame('pong', seq));
      return true;
    }
    if (kind !== PONG) return false;
    const sentAt = this.outstanding.get(seq);
    if (sentAt === undefined) return true; // unknown or forgotten ping: not an error, just no sample
    this.outstanding.delete(seq);
    const rtt = this.o.clock.now() - sentAt;
    this.last = rtt;
    this.smoothed = this.smoothed === undefined ? rtt : (1 - RTT_ALPHA) * this.smoothed + RTT_ALPHA * rtt;
    return true;
  }

  private schedule(): void {
    this.dueAt = this.o.clock.now() + this.intervalMs;
    this.timer = this.o.clock.setTimeout(() => this.tick(), this.intervalMs);
  }

  private tick(): void {
    this.timer = undefined;
    if (this.stopped) return;
    this.live = this.liveNow();
    this.liveAt = this.o.clock.now();
    const silent = this.silentMs;
    // A tick that fires more than one interval late means OUR thread stalled (a long task, a frozen or
    // throttled tab): the peer's frames may be queued behind us, so judge silence on the next tick.
    const late = this.o.clock.now() - this.dueAt > this.intervalMs;
    if (silent >= this.timeoutMs && !late) {
      this.stop();
      this.o.onDead(silent);
      return;
    }
    this.o.onTick?.();
    if (this.stopped) return; // onTick may have closed the link
    const seq = (this.seq = (this.seq + 1) >>> 0);
    this.outstanding.set(seq, this.o.clock.now());
    if (this.outstanding.size > MAX_OUTSTANDING) {
      const oldest = this.outstanding.keys().next();
      if (!oldest.done) this.outstanding.delete(oldest.value);
    }
    this.o.send(heartbeatFrame('ping', seq));
    this.schedule();
  }
}
