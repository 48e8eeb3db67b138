import { describe, expect, it } from 'vitest';
import { Channel, type ChannelOptions } from './channel';
import { CHUNK_HEADER_BYTES, chunkFrames, writeChunkHeader } from './chunk';
import { NetError } from './errors';
import { ReassemblyPool } from './reassembly-pool';
import { FakeClock, settle } from '../test/fake-clock';
import { FakeConn } from '../test/fake-peer';

function pair(over: Partial<ChannelOptions> = {}) {
  const clock = new FakeClock();
  const ca = new FakeConn('a', undefined, { serialization: 'raw', reliable: true });
  const cb = new FakeConn('b', undefined, { serialization: 'raw', reliable: true });
  ca.other = cb;
  cb.other = ca;
  ca.markOpen();
  cb.markOpen();
  const got = { a: [] as Uint8Array[], b: [] as Uint8Array[] };
  const closes = { a: [] as string[], b: [] as string[] };
  const mk = (c: FakeConn, side: 'a' | 'b') => new Channel(c, {
    maxMessageBytes: 8 << 20, clock, ...over,
    onMessage: (m) => got[side].push(m),
    onClose: (r) => closes[side].push(r),
  });
  return { clock, ca, cb, a: mk(ca, 'a'), b: mk(cb, 'b'), got, closes };
}

const filled = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff);

/** A channel on a connection with nothing behind it: the test hands it frames itself. */
function lone() {
  const clock = new FakeClock();
  const conn = new FakeConn('a', undefined, { serialization: 'raw', reliable: true });
  conn.markOpen();
  const got: Uint8Array[] = [], closes: string[] = [];
  const ch = new Channel(conn, { maxMessageBytes: 1 << 20, clock, onMessage: (m) => got.push(m), onClose: (r, d) => closes.push(`${r}: ${d}`) });
  const frames = (msgId: number, bytes: Uint8Array) => [...chunkFrames(msgId, bytes)].map((f) => f.slice().buffer);
  return { clock, conn, ch, got, closes, frames };
}

describe('Channel', () => {
  it('delivers whole messages, large and small, in order, counting bytes', async () => {
    const { a, b, got } = pair();
    const big = filled(5_000_000, 1);
    await Promise.all([a.send(new Uint8Array(0)), a.send(filled(1, 2)), a.send(big), a.send(filled(70_000, 3))]);
    await settle();
    expect(got.b.map((m) => m.length).sort((x, y) => x - y)).toEqual([0, 1, 70_000, 5_000_000]);
    expect(Buffer.from(got.b.find((m) => m.length === 5_000_000)!).equals(Buffer.from(big))).toBe(true);
    const s = a.stats(), r = b.stats();
    expect(s.messagesOut).toBe(4);
    expect(r.messagesIn).toBe(4);
    expect(s.bytesOut).toBe(r.bytesIn);
    expect(s.bytesOut).toBeGreaterThan(5_070_001);
    expect(r.partials).toBe(0);
  });

  it('keeps at most two multi-chunk messages in flight, so an honest sender never trips maxPartials', async () => {
    const { a, b, got, closes } = pair({ tuning: { maxPartials: 2 } });
    const sends = Array.from({ length: 6 }, (_, i) => a.send(filled(200_000 + i, i)));
    await Promise.all(sends);
    await settle();
    expect(got.b).toHaveLength(6);
    expect(closes.b).toEqual([]);
    expect(b.stats().refused).toEqual({});
  });

  it('rejects a message above maxMessageBytes without closing', async () => {
    const { a } = pair({ maxMessageBytes: 1000 });
    await expect(a.send(new Uint8Array(1001))).rejects.toMatchObject({ code: 'too-large' });
    expect(a.closed).toBe(false);
  });

  it('closes with protocol-error on a malformed chunk and tells the other side why', async () => {
    const { b, cb, closes } = pair();
    const f = new Uint8Array(CHUNK_HEADER_BYTES + 10);
    writeChunkHeader(f, { msgId: 1, index: 0, count: 1, totalBytes: 11 }); // says 11, carries 10
    cb.deliver(f.buffer);
    await settle();
    expect(closes.b).toEqual(['protocol-error']);
    expect(b.stats().refused).toEqual({ 'length-mismatch': 1 });
    expect(closes.a).toEqual(['remote:protocol-error']);
  });

  it('reports remote-closed when the connection just closes, and a bye reason when one came first', async () => {
    const x = pair();
    x.cb.close();
    await settle();
    expect(x.closes.a).toEqual(['remote-closed']);
    const y = pair();
    y.b.close('evicted');
    await settle();
    expect(y.closes).toEqual({ a: ['remote:evicted'], b: ['evicted'] });
    expect(y.cb.closed && y.ca.closed).toBe(true); // the receiver closed its end, which closed ours
    const z = pair();
    z.ca.freeze(); // a peer that never answers: our end closes a grace period after the bye
    z.b.close('evicted');
    await settle();
    expect(z.cb.closed).toBe(false);
    await z.clock.advanceAsync(100);
    expect(z.cb.closed).toBe(true);
  });

  // The evicted message is broken (its next chunk would be out-of-order) and its link held more than its
  // fair share while another needed room: the link closes, with the reason, and gives back all it held.
  it('a message evicted from a shared pool closes its link with buffer-full; the other link is served', async () => {
    const clock = new FakeClock();
    const pool = new ReassemblyPool(5 << 19); // 2.5 MiB
    const mk = () => {
      const conn = new FakeConn('x', undefined, { serialization: 'raw', reliable: true });
      conn.markOpen();
      const got: Uint8Array[] = [], closes: string[] = [];
      const ch = new Channel(conn, { maxMessageBytes: 1 << 20, clock, pool, onMessage: (m) => got.push(m), onClose: (r, d) => closes.push(`${r}: ${d}`) });
      return { conn, ch, got, closes };
    };
    const hog = mk(), other = mk();
    const hogFrames = (msgId: number) => [...chunkFrames(msgId, new Uint8Array(1 << 20))].map((f) => f.slice().buffer);
    hog.conn.deliver(hogFrames(1)[0]);
    hog.conn.deliver(hogFrames(2)[0]);
    expect(pool.reservedBytes).toBe(2 << 20);
    const msg = [...chunkFrames(1, new Uint8Array(600_000))].map((f) => f.slice().buffer); // 2 + 0.57 MiB > 2.5 MiB; level 1.93 MiB
    for (const f of msg) other.conn.deliver(f);
    await settle();
    expect(other.got.map((m) => m.length)).toEqual([600_000]);
    expect(hog.closes).toHaveLength(1);
    expect(hog.closes[0]).toMatch(/^protocol-error: buffer-full: message 1 \(1048576 bytes, 1\/16 chunks\) evicted/);
    expect(hog.ch.stats().refused).toEqual({ 'buffer-full': 1 });
    expect(other.closes).toEqual([]);
    expect(pool.reservedBytes).toBe(0); // the hog's other message went with its link
  });

  it('refuses text on the binary channel', async () => {
    const { cb, closes, b } = pair();
    cb.deliver('hello');
    await settle();
    expect(closes.b).toEqual(['protocol-error']);
    expect(b.stats().refused).toEqual({ 'not-binary': 1 });
  });

  it('stays up while frames flow, measures RTT, and closes both ends on heartbeat silence', async () => {
    const { clock, a, b, ca, closes } = pair();
    for (let i = 0; i < 20; i++) await clock.advanceAsync(1000);
    expect(closes).toEqual({ a: [], b: [] });
    expect(a.rttMs).toBe(0); // the fake network has no latency
    ca.freeze(); // the other tab died without a close
    await clock.advanceAsync(6000);
    expect(closes.a).toEqual(['heartbeat-timeout']);
    expect(closes.b).toEqual(['heartbeat-timeout']);
    expect(a.closed && b.closed).toBe(true);
    await expect(a.send(new Uint8Array(1))).rejects.toMatchObject({ code: 'closed' });
  });

  // A 31 s stall of our own thread: the peer's next chunks queued up behind it. The partial message must
  // not be judged idle on that time (as the heartbeat does not judge silence on it), whichever runs first.
  it('a long stall of our thread does not drop a partial message whose next chunk is queued: overdue tick first', async () => {
    const { clock, conn, ch, got, closes, frames } = lone();
    const msg = filled(200_000, 7), f = frames(7, msg); // 4 chunks of 64 KiB
    conn.deliver(f[0]);
    clock.t = 31_000; // no timer ran meanwhile
    clock.advance(0); // the overdue tick fires before the queued frames
    for (const x of f.slice(1)) conn.deliver(x);
    await settle();
    expect(closes).toEqual([]);
    expect(ch.stats().refused).toEqual({});
    expect(got.map((m) => Buffer.from(m).equals(Buffer.from(msg)))).toEqual([true]);
  });

  it('a long stall of our thread does not drop a partial message whose next chunk is queued: another first chunk first', async () => {
    const { clock, conn, ch, got, closes, frames } = lone();
    const one = frames(1, filled(200_000, 1)), two = frames(2, filled(200_000, 2)); // two sends in flight, interleaved
    conn.deliver(one[0]);
    clock.t = 31_000; // no timer ran meanwhile
    conn.deliver(two[0]); // a new message's first chunk sweeps the partials before the overdue tick runs
    for (let i = 1; i < 4; i++) { conn.deliver(one[i]); conn.deliver(two[i]); }
    clock.advance(0);
    await settle();
    expect(closes).toEqual([]);
    expect(ch.stats().refused).toEqual({});
    expect(got.map((m) => m.length)).toEqual([200_000, 200_000]);
  });

  it('still drops a partial message that gets no chunk for 30 s while the link is live', async () => {
    const { clock, b, cb, closes } = pair();
    cb.deliver(lone().frames(9, filled(200_000, 9))[0]); // a peer that starts a message and never finishes it
    for (let i = 0; i < 29; i++) await clock.advanceAsync(1000);
    expect(b.stats().partials).toBe(1);
    await clock.advanceAsync(1000);
    expect(b.stats()).toMatchObject({ partials: 0, refused: { timeout: 1 } });
    expect(closes).toEqual({ a: [], b: [] }); // a timeout is not fatal
  });

  it('waits for bufferedamountlow above the high-water mark', async () => {
    const { a, ca, got } = pair();
    ca.dc.bufferedAmount = 2 << 20;
    let done = false;
    const p = a.send(filled(10, 1)).then(() => { done = true; });
    await settle();
    expect(done).toBe(false);
    expect(ca.dc.bufferedAmountLowThreshold).toBe(256 << 10);
    ca.dc.bufferedAmount = 100 << 10;
    ca.dc.fire('bufferedamountlow');
    await p;
    await settle();
    expect(got.b).toHaveLength(1);
    expect(ca.dc.listenerCount('bufferedamountlow')).toBe(0);
  });

  it('lets waiting senders resume one frame at a time, keeping the buffer near the high-water mark', async () => {
    const { a, ca, got } = pair();
    // The fake's bufferedAmount does not grow on send, so model the browser: each send adds its size.
    const send = ca.dc.send.bind(ca.dc);
    ca.dc.send = (d) => { ca.dc.bufferedAmount += d.byteLength; send(d); };
    ca.dc.bufferedAmount = 2 << 20;
    const sends = Array.from({ length: 50 }, (_, i) => a.send(filled(60_000, i)));
    await settle();
    ca.dc.bufferedAmount = 0;
    ca.dc.fire('bufferedamountlow');
    await settle();
    expect(ca.dc.bufferedAmount).toBeLessThanOrEqual((1 << 20) + 60_100);
    for (let i = 0; i < 10 && got.b.length < 50; i++) {
      ca.dc.bufferedAmount = 0;
      ca.dc.fire('bufferedamountlow');
      await settle();
    }
    await Promise.all(sends);
    expect(got.b).toHaveLength(50);
  });

  it('closes with send-timeout when the buffer does not drain before the deadline', async () => {
    const { clock, a, ca, closes } = pair({ tuning: { drainTimeoutMs: 3000, heartbeatTimeoutMs: 60_000 } });
    ca.dc.bufferedAmount = 2 << 20;
    const p = a.send(filled(10, 1));
    const caught = p.catch((e: unknown) => e);
    await clock.advanceAsync(2999);
    expect(a.closed).toBe(false);
    await clock.advanceAsync(1);
    const e = await caught;
    expect(e).toBeInstanceOf(NetError);
    expect((e as NetError).code).toBe('send-timeout');
    await settle();
    expect(closes.a).toEqual(['send-timeout']);
  });

  it('rejects a send waiting on drain when the link closes', async () => {
    const { a, ca, closes } = pair();
    ca.dc.bufferedAmount = 2 << 20;
    const caught = a.send(filled(10, 1)).catch((e: unknown) => e);
    await settle();
    a.close('dropped');
    expect(closes.a).toEqual([]); // onClose is deferred to a microtask…
    expect(((await caught) as NetError).code).toBe('closed');
    await settle();
    expect(closes.a).toEqual(['dropped']); // …and fires exactly once
    a.close('again');
    await settle();
    expect(closes.a).toEqual(['dropped']);
  });
});
