import { describe, expect, it } from 'vitest';
import { Channel } from './channel';
import { CHUNK_HEADER_BYTES } from './chunk';
import { Cancel } from './drain';
import { mbpsToBytesPerMs, parseLinkMbps, takeTokens, TokenBucket } from './rate-limit';
import { FakeClock, settle } from '../test/fake-clock';
import { FakeConn } from '../test/fake-peer';

/** One full chunk frame: 64 KiB payload + its 18-byte header. */
const FRAME = 65_536 + CHUNK_HEADER_BYTES;

describe('TokenBucket', () => {
  it('converts megabits per second to bytes per millisecond', () => {
    expect(mbpsToBytesPerMs(1)).toBe(125); // 10⁶ bit/s ÷ 8 = 125 000 B/s
    expect(mbpsToBytesPerMs(8)).toBe(1000);
  });

  it('lets one burst out at once, then spaces frames by size / rate (hand-worked at 1 Mbit/s)', () => {
    const clock = new FakeClock();
    const b = new TokenBucket(125, FRAME, clock);
    expect(b.reserve(FRAME)).toBe(0); // the bucket starts full
    expect(b.reserve(FRAME)).toBeCloseTo(65_554 / 125, 9); // 524.432 ms behind the first
    expect(b.reserve(FRAME)).toBeCloseTo(2 * 524.432, 9); // 1048.864 ms: reservations queue up
    clock.advance(1048.864);
    expect(b.reserve(1000)).toBeCloseTo(8, 9); // the debt is paid; 1000 B more cost 1000 / 125 = 8 ms
  });

  it('refills at the rate and never holds more than one burst', () => {
    const clock = new FakeClock();
    const b = new TokenBucket(125, FRAME, clock);
    b.reserve(FRAME);
    clock.advance(200); // 200 ms × 125 B/ms = 25 000 B back
    expect(b.reserve(25_000)).toBe(0);
    expect(b.reserve(1)).toBeCloseTo(1 / 125, 9);
    clock.advance(60_000); // a quiet minute refills to the burst, not to 7.5 MB
    expect(b.reserve(FRAME)).toBe(0);
    expect(b.reserve(125)).toBeCloseTo(1, 9);
  });

  it('refuses a rate or burst that is not a positive finite number', () => {
    const clock = new FakeClock();
    expect(() => new TokenBucket(0, FRAME, clock)).toThrow(RangeError);
    expect(() => new TokenBucket(Infinity, FRAME, clock)).toThrow(RangeError);
    expect(() => new TokenBucket(125, -1, clock)).toThrow(RangeError);
  });

  it('takeTokens resolves when the wait is over and rejects when the link closes first', async () => {
    const clock = new FakeClock();
    const b = new TokenBucket(125, FRAME, clock);
    const cancel = new Cancel();
    let first = false, second: string | undefined;
    void takeTokens(b, FRAME, clock, cancel).then(() => { first = true; });
    void takeTokens(b, FRAME, clock, cancel).catch((e: { code: string }) => { second = e.code; });
    await settle();
    expect(first).toBe(true);
    cancel.cancel();
    await settle();
    expect(second).toBe('closed');
    expect(clock.pending).toBe(0);
  });
});

describe('parseLinkMbps', () => {
  it('reads a positive number, no parameter as no cap, and refuses the rest', () => {
    expect(parseLinkMbps('2.5')).toBe(2.5);
    expect(parseLinkMbps(null)).toBe(Infinity);
    for (const bad of ['', ' ', '0', '-1', 'fast', 'Infinity', 'NaN']) expect(() => parseLinkMbps(bad), bad).toThrow(/linkMbps=.*want a positive number of megabits\/s/);
  });
});

describe('Channel under linkMbps', () => {
  it('delivers a 300 000-byte message at the capped rate: 5 frames, the last at (total − burst) / rate', async () => {
    const clock = new FakeClock();
    const ca = new FakeConn('a', undefined, { serialization: 'raw', reliable: true });
    const cb = new FakeConn('b', undefined, { serialization: 'raw', reliable: true });
    ca.other = cb;
    cb.other = ca;
    ca.markOpen();
    cb.markOpen();
    const got: number[] = [];
    const noop = (): void => undefined;
    // Heartbeats off the clock's way: 1 h interval, so only data frames cost tokens.
    const tuning = { linkMbps: 1, heartbeatIntervalMs: 3_600_000, heartbeatTimeoutMs: 7_200_000 };
    const a = new Channel(ca, { maxMessageBytes: 1 << 20, clock, tuning, onMessage: noop, onClose: noop });
    new Channel(cb, { maxMessageBytes: 1 << 20, clock, tuning, onMessage: (m) => got.push(m.length), onClose: noop });
    let done = false;
    void a.send(new Uint8Array(300_000)).then(() => { done = true; });
    // 300 000 B = 4 frames of 65 536 + one of 37 856, each +18 B header: 300 090 B in all. The first frame
    // rides the full bucket; the other 234 536 B take 234 536 / 125 = 1876.288 ms.
    await clock.advanceAsync(1876);
    expect(done).toBe(false);
    expect(a.stats().framesOut).toBe(4);
    await clock.advanceAsync(1);
    expect(done).toBe(true);
    expect(a.stats().bytesOut).toBe(300_090);
    expect(got).toEqual([300_000]);
  });
});
