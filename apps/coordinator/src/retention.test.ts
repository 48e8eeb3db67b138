import type { MergeLogEntry } from '@tabswarm/core';
import { describe, expect, it } from 'vitest';
import { chunkLength, entryBytes, nextChunk, PrunedLog } from './retention';

const entry = (...payloads: number[]): MergeLogEntry => ({
  round: 1, fragment: 0, version: 1, openedAt: 0, closedAt: 1, graceMs: 0,
  contributors: payloads.map((n, i) => ({ id: `l${i}`, session: 1, seq: 1, baseVersion: 0, cSteps: 1, cTokens: 1, weight: 1, codec: 1, payload: new Uint8Array(n) })),
});
const part = (from: number, through: number, bytes: number, head = from === 1) => ({ from, through, head, ndjson: new Blob([new Uint8Array(bytes)]) });

describe('merge-log retention', () => {
  it('costs an entry as its payloads plus fixed allowances (256 B, and 128 B a contributor)', () => {
    expect(entryBytes(entry())).toBe(256);
    expect(entryBytes(entry(1000, 24))).toBe(256 + 128 + 1000 + 128 + 24);
  });

  it('takes the oldest entries that fit a chunk, and always at least one', () => {
    const es = [entry(600), entry(600), entry(600)]; // 984 B each
    expect(chunkLength(es, 984)).toBe(1);
    expect(chunkLength(es, 1967)).toBe(1);
    expect(chunkLength(es, 1968)).toBe(2);
    expect(chunkLength(es, 1e9)).toBe(3);
    expect(chunkLength([entry(1e6)], 10)).toBe(1); // one entry over the bound still moves, or retention stalls
    expect(chunkLength([], 10)).toBe(0);
  });

  it('names a chunk by the keys read: a log rebased on a state file saved at commit 500 is pruned from 501, whole', () => {
    const keys = Array.from({ length: 32 }, (_, i) => 501 + i); // what the store reads after prunedThrough 0
    const es = keys.map(() => entry(600)); // 984 B each: 10 fit in 9,840 B
    const first = nextChunk(0, keys, es, 9840)!;
    expect([first.from, first.through, first.head, first.entries]).toEqual([501, 510, true, es.slice(0, 10)]);
    const second = nextChunk(first.through, keys.slice(10), es.slice(10), 9840)!;
    expect([second.from, second.through, second.head, second.entries]).toEqual([511, 520, false, es.slice(10, 20)]);
    const log = new PrunedLog(1e6);
    for (const c of [first, second]) log.add({ from: c.from, through: c.through, head: c.head, ndjson: new Blob([]) });
    expect(log.runs().map((r) => [r.from, r.through, r.head])).toEqual([[501, 520, true]]);
    expect(log.whole()).toBe(true); // so the download and Verify log by replay take the pieces
  });

  it('names a new run\'s first chunk from commit 1, and nothing when nothing was read', () => {
    const es = [entry(600), entry(600), entry(600)];
    expect(nextChunk(0, [1, 2, 3], es, 1968)).toEqual({ from: 1, through: 2, head: true, entries: es.slice(0, 2) });
    expect(nextChunk(2, [3], es.slice(2), 1968)).toEqual({ from: 3, through: 3, head: false, entries: es.slice(2) });
    expect(nextChunk(3, [], [], 1968)).toBeUndefined();
  });

  it('joins consecutive pieces into one download and says whether they start the log', async () => {
    const log = new PrunedLog(1e6);
    log.add(part(1, 4, 10));
    log.add(part(5, 9, 20));
    expect(log.runs().map((r) => [r.from, r.through, r.ndjson.size])).toEqual([[1, 9, 30]]);
    expect(log.whole()).toBe(true);
    log.add(part(20, 21, 5)); // a gap (pieces pruned before a reload are not held)
    expect(log.runs().map((r) => [r.from, r.through])).toEqual([[1, 9], [20, 21]]);
    expect(log.whole()).toBe(false);
    const tail = new PrunedLog(1e6);
    tail.add(part(501, 510, 10, false)); // pruned after a reload: the first piece, with the θ₀ line, is not held
    expect(tail.whole()).toBe(false);
    expect(await log.runs()[0]!.ndjson.arrayBuffer()).toHaveProperty('byteLength', 30);
  });

  it('lets the oldest pieces go past its memory bound, keeps the newest, and says which commits went', () => {
    const log = new PrunedLog(100);
    log.add(part(1, 2, 60));
    log.add(part(3, 4, 30));
    expect([log.heldBytes, log.droppedThrough]).toEqual([90, 0]);
    log.add(part(5, 6, 30)); // 120 > 100: commits 1-2 go
    expect([log.heldBytes, log.droppedThrough, log.whole()]).toEqual([60, 2, false]);
    expect(log.runs().map((r) => [r.from, r.through])).toEqual([[3, 6]]);
    log.add(part(7, 7, 500)); // a piece larger than the bound alone is still held (the newest one)
    expect([log.parts.length, log.droppedThrough, log.heldBytes]).toEqual([1, 6, 500]);
  });
});
