import { describe, expect, it } from 'vitest';
import { summarize, summaryLine, type SummaryView } from './swarm-summary';

const view = (over: Partial<SummaryView> = {}): SummaryView => ({
  state: 'running', error: '', globalStep: 0, merges: 0, mergedTokens: 0, numParams: 101_770, epoch: 1, resumedFrom: null, commitSeq: 0,
  committedHash: '', restoredHash: '', firstCommitAfterStartMs: null, downtimeMs: 0,
  goodput: { trained: 0, merged: 0, ratio: null, stale: 0, filtered: 0, invalid: 0, superseded: 0, killedOrLost: 0, pending: 0 },
  chaos: {}, learners: [], loss: [], evalFailures: 0, evalError: '', rejections: {}, repulls: 0, refusedConnections: {}, fingerprint: '', bytesIn: 0, bytesOut: 0,
  mergesPerFragment: [0, 0], contributorsTotal: 0, snapshotBytes: 0, learnerSteps: 0, ...over,
});

describe('summarize', () => {
  it('computes contributors per merge, bytes per learner step without snapshots, and the data-parallel baseline', () => {
    const s = summarize(view({
      commitSeq: 5, mergesPerFragment: [3, 2], contributorsTotal: 12, mergedTokens: 900,
      bytesIn: 1_000_000, bytesOut: 5_000_000, snapshotBytes: 1_200_000, learnerSteps: 160,
    }), 1000);
    expect(s.contributorsPerMerge).toBe(2.4); // 12 contributors over 3 + 2 merges
    expect(s.bytesPerLearnerStep).toBe(30_000); // (1 000 000 + 5 000 000 − 1 200 000) / 160
    expect(s.dpBytesPerLearnerStep).toBe(814_160); // 2 × 4 × 101 770
    expect(s.dpBytesRatio).toBeCloseTo(27.138_67, 5); // 814 160 / 30 000
    expect(s.progress).toBe(0.9);
    expect(summaryLine(s)).toBe('contributors/merge 2.40  bytes/learner step 30.0 kB vs data-parallel 814.2 kB (27.1× fewer)  LR clock 90% of planned tokens');
  });

  it('reports nothing it has not seen: no merges, no steps, no plan', () => {
    const s = summarize(view(), undefined);
    expect([s.contributorsPerMerge, s.bytesPerLearnerStep, s.dpBytesRatio, s.progress]).toEqual([null, null, null, null]);
    expect(summaryLine(s)).toBe('contributors/merge –  bytes/learner step – vs data-parallel 814.2 kB (– fewer)  LR clock coordinator default');
  });
});
