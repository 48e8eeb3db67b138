import { describe, expect, it } from 'vitest';
import { CHUNK_HEADER_BYTES, chunkFrames, writeChunkHeader, type ChunkHeader } from './chunk';
import { Reassembler, makeLimits, type PushResult } from './reassembler';
import { FakeClock } from '../test/fake-clock';

const CHUNK = 1000; // small chunks keep the fixtures small; the logic is size-independent

function frame(h: ChunkHeader, payloadBytes: number): Uint8Array {
  const f = new Uint8Array(CHUNK_HEADER_BYTES + payloadBytes);
  writeChunkHeader(f, h);
  return f;
}

function setup(over: Parameters<typeof makeLimits>[1] = {}) {
  const clock = new FakeClock();
  const r = new Reassembler(makeLimits(10_000, { chunkBytes: CHUNK, maxPartials: 2, maxBufferedBytes: 15_000, idleTimeoutMs: 5000, ...over }), () => clock.now());
  return { clock, r };
}

function expectRefused(res: PushResult, reason: string): void {
  expect(res.kind).toBe('refused');
  if (res.kind === 'refused') {
    expect(res.reason).toBe(reason);
    expect(res.detail.length).toBeGreaterThan(0);
  }
}

function expectEmpty(r: Reassembler): void {
  expect(r.partialCount).toBe(0);
  expect(r.bufferedBytes).toBe(0);
}

describe('Reassembler refusals (checked from the header, before buffering)', () => {
  it('oversized: header total above maxMessageBytes', () => {
    const { r } = setup();
    expectRefused(r.push(frame({ msgId: 1, index: 0, count: 11, totalBytes: 10_001 }, CHUNK)), 'oversized');
    expectRefused(r.push(frame({ msgId: 2, index: 0, count: 1, totalBytes: 0xffff_ffff }, 0)), 'oversized');
    expectEmpty(r);
  });

  it('count-mismatch: count inconsistent with totalBytes', () => {
    const { r } = setup();
    expectRefused(r.push(frame({ msgId: 1, index: 0, count: 3, totalBytes: 1500 }, CHUNK)), 'count-mismatch');
    expectRefused(r.push(frame({ msgId: 1, index: 0, count: 0, totalBytes: 0 }, 0)), 'count-mismatch');
    expectEmpty(r);
  });

  it('index-out-of-range: index >= count', () => {
    const { r } = setup();
    expectRefused(r.push(frame({ msgId: 1, index: 2, count: 2, totalBytes: 1500 }, 500)), 'index-out-of-range');
    expectEmpty(r);
  });

  it('length-mismatch: payload length disagrees with the header', () => {
    const { r } = setup();
    expectRefused(r.push(frame({ msgId: 1, index: 0, count: 2, totalBytes: 1500 }, 999)), 'length-mismatch');
    expectRefused(r.push(frame({ msgId: 1, index: 1, count: 2, totalBytes: 1500 }, 501)), 'length-mismatch');
    expectEmpty(r);
  });

  it('duplicate-index: a chunk received twice drops the whole message', () => {
    const { r } = setup();
    expect(r.push(frame({ msgId: 9, index: 0, count: 3, totalBytes: 2500 }, CHUNK)).kind).toBe('partial');
    expect(r.bufferedBytes).toBe(2500);
    expectRefused(r.push(frame({ msgId: 9, index: 0, count: 3, totalBytes: 2500 }, CHUNK)), 'duplicate-index');
    expectEmpty(r);
  });

  it('out-of-order: a gap, or a message that does not start at chunk 0', () => {
    const { r } = setup();
    expectRefused(r.push(frame({ msgId: 4, index: 1, count: 3, totalBytes: 2500 }, CHUNK)), 'out-of-order');
    expect(r.push(frame({ msgId: 5, index: 0, count: 3, totalBytes: 2500 }, CHUNK)).kind).toBe('partial');
    expectRefused(r.push(frame({ msgId: 5, index: 2, count: 3, totalBytes: 2500 }, 500)), 'out-of-order');
    expectEmpty(r);
  });

  it('header-mismatch: a later chunk disagrees with the first', () => {
    const { r } = setup();
    r.push(frame({ msgId: 3, index: 0, count: 3, totalBytes: 2500 }, CHUNK));
    expectRefused(r.push(frame({ msgId: 3, index: 1, count: 3, totalBytes: 2400 }, CHUNK)), 'header-mismatch');
    expectEmpty(r);
  });

  it('too-many-partials: more incomplete messages than maxPartials', () => {
    const { r } = setup();
    r.push(frame({ msgId: 1, index: 0, count: 2, totalBytes: 2000 }, CHUNK));
    r.push(frame({ msgId: 2, index: 0, count: 2, totalBytes: 2000 }, CHUNK));
    expectRefused(r.push(frame({ msgId: 3, index: 0, count: 2, totalBytes: 2000 }, CHUNK)), 'too-many-partials');
    expect(r.partialCount).toBe(2);
    expect(r.bufferedBytes).toBe(4000); // the refused one reserved nothing
    // one-chunk messages need no slot and still pass
    expect(r.push(frame({ msgId: 4, index: 0, count: 1, totalBytes: 10 }, 10)).kind).toBe('complete');
  });

  it('buffer-full: reservations above maxBufferedBytes', () => {
    const { r } = setup({ maxPartials: 4 });
    r.push(frame({ msgId: 1, index: 0, count: 10, totalBytes: 10_000 }, CHUNK));
    expectRefused(r.push(frame({ msgId: 2, index: 0, count: 6, totalBytes: 5001 }, CHUNK)), 'buffer-full');
    expect(r.bufferedBytes).toBe(10_000);
  });

  it('truncated and bad-magic frames', () => {
    const { r } = setup();
    expectRefused(r.push(new Uint8Array(5)), 'truncated');
    const f = frame({ msgId: 1, index: 0, count: 1, totalBytes: 0 }, 0);
    f[0] = 0;
    expectRefused(r.push(f), 'bad-magic');
  });

  it('timeout: an idle incomplete message is dropped by sweep() on the injected clock', () => {
    const { r, clock } = setup();
    r.push(frame({ msgId: 1, index: 0, count: 3, totalBytes: 2500 }, CHUNK));
    clock.advance(3000);
    r.push(frame({ msgId: 1, index: 1, count: 3, totalBytes: 2500 }, CHUNK)); // progress resets the idle clock
    clock.advance(4999);
    expect(r.sweep()).toEqual([]);
    clock.advance(1);
    const dropped = r.sweep();
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toMatchObject({ ok: false, reason: 'timeout', msgId: 1 });
    expectEmpty(r);
    // the rest of the timed-out message is now refused, not resurrected
    expectRefused(r.push(frame({ msgId: 1, index: 2, count: 3, totalBytes: 2500 }, 500)), 'out-of-order');
    expectEmpty(r);
  });
});

describe('Reassembler memory bound', () => {
  it('retains nothing after a storm of hostile frames, and still works afterwards', () => {
    const { r, clock } = setup({ maxPartials: 3 });
    for (let i = 0; i < 2000; i++) {
      const total = (i * 7919) % 12_000;
      const count = Math.max(1, Math.ceil(total / CHUNK));
      const h = { msgId: i % 5, index: i % 4, count: i % 3 === 0 ? count + 1 : count, totalBytes: total };
      r.push(frame(h, Math.min(CHUNK, total)));
      expect(r.bufferedBytes).toBeLessThanOrEqual(15_000);
      expect(r.partialCount).toBeLessThanOrEqual(3);
    }
    clock.advance(5000);
    r.sweep();
    expectEmpty(r);
    const msg = new Uint8Array(4321).map((_, i) => i & 0xff);
    let out: Uint8Array | undefined;
    for (const f of chunkFrames(77, msg, CHUNK)) {
      const res = r.push(f);
      if (res.kind === 'complete') out = res.bytes;
    }
    expect(out).toEqual(msg);
    expectEmpty(r);
  });

  it('reassembles interleaved messages', () => {
    const { r } = setup();
    const a = new Uint8Array(2500).fill(1), b = new Uint8Array(1800).fill(2);
    const fa = [...chunkFrames(1, a, CHUNK)], fb = [...chunkFrames(2, b, CHUNK)];
    const done: Uint8Array[] = [];
    for (let i = 0; i < 3; i++) {
      for (const f of [fa[i], fb[i]]) {
        if (!f) continue;
        const res = r.push(f);
        if (res.kind === 'complete') done.push(res.bytes);
      }
    }
    expect(done).toEqual([b, a]);
    expectEmpty(r);
  });
});
