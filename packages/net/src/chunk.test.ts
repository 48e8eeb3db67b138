import { describe, expect, it } from 'vitest';
import { CHUNK_HEADER_BYTES, CHUNK_MAGIC, DEFAULT_CHUNK_BYTES, MAX_FRAME_BYTES, chunkCount, chunkFrames, readChunkHeader } from './chunk';
import { Reassembler, makeLimits } from './reassembler';

const KiB = 1024;

function bytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    b[i] = s >>> 24;
  }
  return b;
}

function roundTrip(msg: Uint8Array, chunkBytes = DEFAULT_CHUNK_BYTES): { out: Uint8Array; frames: number } {
  const r = new Reassembler(makeLimits(8 << 20, { chunkBytes }), () => 0);
  let out: Uint8Array | undefined, frames = 0;
  for (const f of chunkFrames(7, msg, chunkBytes)) {
    frames++;
    expect(f.length).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    const res = r.push(f);
    if (res.kind === 'refused') throw new Error(`${res.reason}: ${res.detail}`);
    if (res.kind === 'complete') out = res.bytes;
  }
  expect(r.partialCount).toBe(0);
  expect(r.bufferedBytes).toBe(0);
  return { out: out!, frames };
}

describe('chunk framing', () => {
  it.each([0, 1, 64 * KiB - 1, 64 * KiB, 64 * KiB + 1, 5_000_000])('round-trips %i bytes', (n) => {
    const msg = bytes(n, n + 1);
    const { out, frames } = roundTrip(msg);
    expect(frames).toBe(chunkCount(n));
    expect(out.length).toBe(n);
    expect(out.byteOffset).toBe(0);
    expect(Buffer.from(out).equals(Buffer.from(msg))).toBe(true);
  });

  it('uses one frame for an empty message and the exact chunk count at the boundaries', () => {
    expect(chunkCount(0)).toBe(1);
    expect(chunkCount(1)).toBe(1);
    expect(chunkCount(64 * KiB)).toBe(1);
    expect(chunkCount(64 * KiB + 1)).toBe(2);
    expect(chunkCount(5_000_000)).toBe(Math.ceil(5_000_000 / (64 * KiB)));
  });

  it('round-trips with small chunks and a message view at an odd offset', () => {
    const backing = bytes(10_001, 3);
    const view = backing.subarray(1); // 10 000 bytes, byteOffset 1
    const { out, frames } = roundTrip(view, 1000);
    expect(frames).toBe(10);
    expect(Buffer.from(out).equals(Buffer.from(view))).toBe(true);
  });

  it('writes the documented little-endian header', () => {
    const [first] = [...chunkFrames(0x01020304, bytes(70_000), DEFAULT_CHUNK_BYTES)];
    const v = new DataView(first!.buffer);
    expect(v.getUint16(0, true)).toBe(CHUNK_MAGIC);
    expect(v.getUint32(2, true)).toBe(0x01020304);
    expect(v.getUint32(6, true)).toBe(0);
    expect(v.getUint32(10, true)).toBe(2);
    expect(v.getUint32(14, true)).toBe(70_000);
    expect(first!.length).toBe(CHUNK_HEADER_BYTES + DEFAULT_CHUNK_BYTES);
    const h = readChunkHeader(first!, 1 << 20);
    expect(h).toEqual({ ok: true, header: { msgId: 0x01020304, index: 0, count: 2, totalBytes: 70_000 } });
  });

  it('refuses chunk sizes whose frames would exceed 256 KiB', () => {
    expect(() => [...chunkFrames(1, bytes(10), MAX_FRAME_BYTES)]).toThrow(RangeError);
    expect(() => [...chunkFrames(1, bytes(10), 0)]).toThrow(RangeError);
  });
});
