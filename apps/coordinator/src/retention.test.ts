import type { MergeLogEntry } from '@tabswarm/core';
import { describe, expect, it } from 'vitest';
import { chunkLength, entryBytes, PrunedLog } from './retention';

const entry = (...payloads: number[]): MergeLogEntry => ({
  round: 1, fragment: 0, version: 1, openedAt: 0, closedAt: 1, graceMs: 0,
  contributors: payloads.map((n, i) => ({ id: `l${i}`, session: 1, seq: 1, baseVersion: 0, cSteps: 1, cTokens: 1, weight: 1, codec: 1, payload: new Uint8Array(n) })),
});
const part = (from: number, through: number, bytes: number) => ({ from, through, ndjson: new Blob([new Uint8Array(bytes)]) });

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

  it('joins consecutive pieces into one download and says whether they start at commit 1', async () => {
    const log = new PrunedLog(1e6);
    log.add(part(1, 4, 10));
    log.add(part(5, 9, 20));
    expect(log.runs().map((r) => [r.from, r.through, r.ndjson.size])).toEqual([[1, 9, 30]]);
    expect(log.whole()).toBe(true);
    log.add(part(20, 21, 5)); // a gap (pieces pruned before a reload are not held)
    expect(log.runs().map((r) => [r.from, r.through])).toEqual([[1, 9], [20, 21]]);
    expect(log.whole()).toBe(false);
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
