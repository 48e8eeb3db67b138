/** Reassemblers of several links sharing one ReassemblyPool (the coordinator's case). */
import { makeRng } from '@tabswarm/core';
import { describe, expect, it } from 'vitest';
import { CHUNK_HEADER_BYTES, chunkCount, chunkLength, writeChunkHeader, type Refusal } from './chunk';
import { Reassembler, makeLimits, type PushResult } from './reassembler';
import { ReassemblyPool } from './reassembly-pool';

const CHUNK = 1000;

function chunk(msgId: number, index: number, totalBytes: number): Uint8Array {
  const f = new Uint8Array(CHUNK_HEADER_BYTES + chunkLength(index, totalBytes, CHUNK));
  writeChunkHeader(f, { msgId, index, count: chunkCount(totalBytes, CHUNK), totalBytes });
  return f;
}

/** Links with 10 kB messages and 20 kB each on their own, sharing `capacity` bytes. */
function links(n: number, capacity: number) {
  const pool = new ReassemblyPool(capacity);
  const evicted: Array<Array<Refusal & { msgId: number }>> = [];
  const rs = Array.from({ length: n }, (_, i) => {
    evicted.push([]);
    return new Reassembler(makeLimits(10_000, { chunkBytes: CHUNK, maxPartials: 4, maxBufferedBytes: 20_000 }), () => 0, { pool, onEvicted: (r) => evicted[i]!.push(r) });
  });
  return { pool, rs, evicted };
}

const kinds = (rs: PushResult[]) => rs.map((r) => (r.kind === 'refused' ? `refused:${r.reason}` : r.kind));

describe('Reassembler with a shared pool', () => {
  it('reserves in the pool; completion, a broken message and clear() give the bytes back', () => {
    const { pool, rs: [a, b] } = links(2, 30_000);
    expect(kinds([a!.push(chunk(1, 0, 5000)), b!.push(chunk(1, 0, 8000))])).toEqual(['partial', 'partial']);
    expect(pool.reservedBytes).toBe(13_000);
    for (let i = 1; i < 5; i++) a!.push(chunk(1, i, 5000));
    expect(pool.reservedBytes).toBe(8000); // a's message completed
    b!.push(chunk(1, 3, 8000)); // out of order: b's message is dropped
    expect(pool.reservedBytes).toBe(0);
    b!.push(chunk(2, 0, 9000));
    b!.clear();
    expect(pool.reservedBytes).toBe(0);
  });

  it("the hog's partial is evicted when the other link needs its share", () => {
    // 20 kB for two links: a holds 10 + 9 kB; b asks 6 kB (demands 19, 6: level 14 ≥ 6).
    const { pool, rs: [a, b], evicted } = links(2, 20_000);
    a!.push(chunk(1, 0, 9000));
    a!.push(chunk(2, 0, 10_000));
    expect(pool.reservedBytes).toBe(19_000);
    expect(kinds([b!.push(chunk(7, 0, 6000))])).toEqual(['partial']);
    // a's largest (message 2, 10 kB) went: 9 + 6 = 15 kB fits.
    expect(evicted[0]!.map((r) => [r.reason, r.msgId])).toEqual([['buffer-full', 2]]);
    expect(evicted[0]![0]!.detail).toMatch(/evicted: this link held 19000 bytes/);
    expect(evicted[1]).toEqual([]);
    expect([a!.bufferedBytes, b!.bufferedBytes, pool.reservedBytes]).toEqual([9000, 6000, 15_000]);
    expect(a!.partialCount).toBe(1);
    // a's evicted message is gone: its next chunk is out of order.
    expect(kinds([a!.push(chunk(2, 1, 10_000))])).toEqual(['refused:out-of-order']);
  });

  it("a request above the fair share is refused 'buffer-full' and evicts nothing", () => {
    // a holds 10 + 9 kB; b asks 10 kB: demands 19, 10 of 20 kB, level 10: granted, a loses its 10 kB.
    // b asking 2 kB more: demands 9, 12, level 11 < 12: refused.
    const { pool, rs: [a, b], evicted } = links(2, 20_000);
    a!.push(chunk(1, 0, 9000));
    a!.push(chunk(2, 0, 10_000));
    expect(kinds([b!.push(chunk(1, 0, 10_000))])).toEqual(['partial']);
    expect(kinds([b!.push(chunk(2, 0, 2000))])).toEqual(['refused:buffer-full']);
    expect(evicted[0]!.map((r) => r.msgId)).toEqual([2]);
    expect([a!.bufferedBytes, b!.bufferedBytes, pool.reservedBytes]).toEqual([9000, 10_000, 19_000]);
  });

  it('random traffic from 4 links never takes the pool above its capacity, and the books agree', () => {
    const rng = makeRng(20240611);
    const { pool, rs, evicted } = links(4, 25_000);
    const next = rs.map(() => new Map<number, { index: number; total: number }>());
    let msgId = 0, completed = 0, refusals = 0;
    for (let step = 0; step < 5000; step++) {
      const i = Math.floor(rng.next() * rs.length);
      const open = [...next[i]!]; // evicted ones included: their next chunk must be refused
      let res: PushResult;
      if (open.length > 0 && rng.next() < 0.7) {
        const [id, m] = open[Math.floor(rng.next() * open.length)]!;
        res = rs[i]!.push(chunk(id, m.index, m.total));
        if (res.kind === 'partial') m.index++;
        else next[i]!.delete(id);
      } else {
        const total = 1000 + Math.floor(rng.next() * 9000);
        const id = ++msgId;
        res = rs[i]!.push(chunk(id, 0, total));
        if (res.kind === 'partial') next[i]!.set(id, { index: 1, total });
      }
      if (res.kind === 'complete') completed++;
      if (res.kind === 'refused') refusals++;
      if (rng.next() < 0.01) {
        rs[i]!.clear(); // the link closed mid-message
        next[i]!.clear();
      }
      expect(pool.reservedBytes).toBeLessThanOrEqual(25_000);
      expect(pool.reservedBytes).toBe(rs.reduce((s, r) => s + r.bufferedBytes, 0));
      for (const r of rs) expect(r.bufferedBytes).toBeLessThanOrEqual(20_000);
    }
    expect(completed).toBeGreaterThan(100); // the sequence did exercise completion, refusal and eviction
    expect(refusals).toBeGreaterThan(100);
    expect(evicted.flat().length).toBeGreaterThan(100);
    for (const r of rs) r.clear();
    expect(pool.reservedBytes).toBe(0);
  });
});
