import type { MergeLogEntry } from '@tabswarm/core';
import { describe, expect, it } from 'vitest';
import { countCommit, emptyStatus } from './status';

const entry = (fragment: number, closedAt: number, graceMs: number, n: number, absent?: number): MergeLogEntry => ({
  round: 1, fragment, version: 1, openedAt: 0, closedAt, graceMs, ...(absent ? { absent } : {}),
  contributors: Array.from({ length: n }, (_, i) => ({ id: `l${i}`, session: 0, seq: i, baseVersion: 0, cSteps: 1, cTokens: 1, weight: 1, codec: 0, payload: new Uint8Array() })),
});

describe('countCommit', () => {
  it('counts as downtime only the wait past the allowance, from ≈ the quorum (closedAt − grace) to the commit', () => {
    const st = emptyStatus();
    st.mergesPerFragment = [0, 0];
    st.contributorsPerFragment = [0, 0];
    // Quorum at 10,000 − 2,000 = 8,000 ms; on disk at 16,500: waited 8,500, allowance 7,000 → 1,500 ms down.
    countCommit(st, entry(1, 10_000, 2_000, 3), { seq: 7, hash: 'h1', t0: 16_000, done: 16_500, allowanceMs: 7_000 });
    expect([st.downtimeMs, st.firstCommitAfterStartMs, st.commitMs, st.commitSeq, st.committedHash]).toEqual([1_500, 16_500, 50, 7, 'h1']);
    // Within the allowance: no downtime; the commit time is an EMA (0.9 × 50 + 0.1 × 100 = 55 ms).
    countCommit(st, entry(1, 20_000, 500, 2, 1), { seq: 8, hash: 'h2', t0: 20_100, done: 20_200, allowanceMs: 7_000 });
    expect([st.downtimeMs, st.firstCommitAfterStartMs, st.commitMs, st.commitSeq]).toEqual([1_500, 16_500, 55, 8]);
    expect([st.mergesPerFragment, st.contributorsPerFragment, st.contributorsTotal, st.mergesBelowK]).toEqual([[0, 2], [0, 2], 5, 1]);
  });
});
