/** Channel settings, their defaults (with units) and its statistics. */
import { DEFAULT_LIMITS } from '@tabswarm/core';
import { DEFAULT_CHUNK_BYTES, type FrameRefusal } from './chunk';
import { DEFAULT_HEARTBEAT } from './heartbeat';

/** Same default as the core protocol's decoder: 16 Mi fp32 params plus header room. */
export const DEFAULT_MAX_MESSAGE_BYTES = DEFAULT_LIMITS.maxBytes;

export interface ChannelTuning {
  /** Payload per chunk frame, in bytes; both ends must agree (default 64 KiB). */
  chunkBytes: number;
  /** Wait for drain when bufferedAmount exceeds this, in bytes (default 1 MiB). */
  highWaterBytes: number;
  /** …until it falls to this, in bytes (default 256 KiB). */
  lowWaterBytes: number;
  /** Close the link if one drain wait exceeds this, in ms (default 20 s). */
  drainTimeoutMs: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  /** Incomplete incoming messages held at once (default 4). */
  maxPartials: number;
  /** Bytes all incomplete incoming messages may reserve (default 2 × maxMessageBytes). */
  maxBufferedBytes: number;
  /** Drop an incomplete incoming message after this long without a chunk, in ms (default 30 s); a stall of our own thread does not count (heartbeat.ts liveNow). */
  partialIdleMs: number;
  /** Cap on this side's sends, megabits/s (rate-limit.ts; default Infinity: no cap). */
  linkMbps: number;
}

export const DEFAULT_TUNING: Omit<ChannelTuning, 'maxBufferedBytes'> = {
  chunkBytes: DEFAULT_CHUNK_BYTES,
  highWaterBytes: 1 << 20,
  lowWaterBytes: 256 << 10,
  drainTimeoutMs: 20_000,
  heartbeatIntervalMs: DEFAULT_HEARTBEAT.intervalMs,
  heartbeatTimeoutMs: DEFAULT_HEARTBEAT.timeoutMs,
  maxPartials: 4,
  partialIdleMs: 30_000,
  linkMbps: Infinity,
};

export interface ChannelStats {
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  framesOut: number;
  messagesIn: number;
  messagesOut: number;
  refused: Partial<Record<FrameRefusal, number>>;
  /** Smoothed heartbeat round trip, in ms. */
  rttMs: number | undefined;
  silentMs: number;
  partials: number;
  bufferedAmount: number;
}
