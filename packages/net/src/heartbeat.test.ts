import { describe, expect, it } from 'vitest';
import { HEARTBEAT_FRAME_BYTES, Heartbeat, heartbeatFrame } from './heartbeat';
import { FakeClock } from '../test/fake-clock';

function kindOf(f: Uint8Array): number {
  return f[2]!;
}

function setup(intervalMs = 1000, timeoutMs = 5000) {
  const clock = new FakeClock();
  const sent: Uint8Array[] = [];
  const dead: number[] = [];
  let ticks = 0;
  const hb = new Heartbeat({ intervalMs, timeoutMs, clock, send: (f) => sent.push(f), onDead: (s) => dead.push(s), onTick: () => ticks++ });
  hb.start();
  return { clock, sent, dead, hb, ticks: () => ticks };
}

describe('Heartbeat', () => {
  it('pings every interval with 7-byte frames and increasing seq', () => {
    const { clock, sent, hb, ticks } = setup();
    clock.advance(999);
    expect(sent).toHaveLength(0);
    clock.advance(1);
    expect(sent).toHaveLength(1);
    hb.heard();
    clock.advance(2000);
    hb.heard();
    expect(sent).toHaveLength(3);
    expect(sent.every((f) => f.length === HEARTBEAT_FRAME_BYTES && kindOf(f) === 1)).toBe(true);
    const seqs = sent.map((f) => new DataView(f.buffer).getUint32(3, true));
    expect(seqs).toEqual([1, 2, 3]);
    expect(ticks()).toBe(3);
  });

  it('declares the peer dead after timeoutMs of silence, once, and stops pinging', () => {
    const { clock, sent, dead } = setup();
    clock.advance(4999);
    expect(dead).toEqual([]);
    clock.advance(1);
    expect(dead).toEqual([5000]);
    const n = sent.length;
    clock.advance(10_000);
    expect(dead).toHaveLength(1);
    expect(sent.length).toBe(n);
  });

  it('any frame heard keeps the peer alive', () => {
    const { clock, dead, hb } = setup();
    for (let i = 0; i < 20; i++) {
      clock.advance(4000);
      hb.heard();
    }
    expect(dead).toEqual([]);
    expect(hb.silentMs).toBe(0);
  });

  it('answers pings with pongs carrying the same seq, and measures RTT from pongs', () => {
    const { clock, sent, hb } = setup();
    expect(hb.handle(heartbeatFrame('ping', 42))).toBe(true);
    const pong = sent.at(-1)!;
    expect(kindOf(pong)).toBe(2);
    expect(new DataView(pong.buffer).getUint32(3, true)).toBe(42);

    clock.advance(1000); // ping seq 1 at t = 1000
    clock.advance(30);
    expect(hb.handle(heartbeatFrame('pong', 1))).toBe(true);
    expect(hb.lastRttMs).toBe(30);
    expect(hb.rttMs).toBe(30);
    clock.advance(970); // ping seq 2 at t = 2000
    clock.advance(80);
    hb.handle(heartbeatFrame('pong', 2));
    expect(hb.lastRttMs).toBe(80);
    expect(hb.rttMs).toBeCloseTo(0.8 * 30 + 0.2 * 80);
    hb.handle(heartbeatFrame('pong', 2)); // repeated or unknown pongs give no sample
    hb.handle(heartbeatFrame('pong', 999));
    expect(hb.lastRttMs).toBe(80);
  });

  it('rejects malformed heartbeat frames', () => {
    const { hb } = setup();
    expect(hb.handle(new Uint8Array(6))).toBe(false);
    const f = heartbeatFrame('ping', 1);
    f[2] = 7;
    expect(hb.handle(f)).toBe(false);
  });

  it('does not declare death on a tick that fired late (our own thread stalled)', () => {
    const clock = new FakeClock();
    const dead: number[] = [];
    const hb = new Heartbeat({ clock, send: () => undefined, onDead: (s) => dead.push(s) });
    hb.start();
    clock.t = 7000; // a 7 s main-thread stall: time passes, no timer runs
    clock.advance(0); // the overdue 1 s tick fires now, 6 s late
    expect(dead).toEqual([]);
    hb.heard(); // the peer's frames that queued up behind the stall arrive
    clock.advance(1000);
    expect(dead).toEqual([]);
    clock.advance(5000); // real silence, judged on on-time ticks, is still detected
    expect(dead).toHaveLength(1);
  });

  it('liveNow runs with the clock but leaves out a stall of our thread, seen before or after the overdue tick', () => {
    const { clock, hb } = setup();
    clock.advance(3500); // on-time ticks at 1, 2, 3 s
    expect(hb.liveNow()).toBe(3500);
    clock.t = 40_000; // a stall: no timer runs
    expect(hb.liveNow()).toBe(5000); // at most two intervals since the 3 s tick
    clock.advance(0); // the overdue tick
    expect(hb.liveNow()).toBe(5000);
    clock.advance(1500);
    expect(hb.liveNow()).toBe(6500);
  });

  it('validates its parameters', () => {
    const clock = new FakeClock();
    expect(() => new Heartbeat({ clock, intervalMs: 1000, timeoutMs: 1000, send: () => undefined, onDead: () => undefined })).toThrow(RangeError);
  });
});
