import type { CoordinatorView } from '@tabswarm/testing';

/** The coordinator status fields the summary reads beyond the fixture's view (apps/coordinator/src/status.ts). */
export interface SummaryView extends CoordinatorView {
  mergesPerFragment: number[];
  contributorsTotal: number;
  snapshotBytes: number;
  learnerSteps: number;
}

/** report.json `summary`: the numbers a comparison of methods reads (docs/method.md §6 for the bytes). */
export interface SwarmSummary {
  commits: number;
  goodput: CoordinatorView['goodput'];
  downtimeMs: number;
  /** Contributors per merge, mean over this coordinator incarnation's merges; null before the first. */
  contributorsPerMerge: number | null;
  /** Message bytes in + out at the coordinator, join snapshots excluded, per learner step; null before the first step. */
  bytesPerLearnerStep: number | null;
  /**
   * Data-parallel training's bytes per learner step: 2 × 4 × numParams, an fp32 gradient up and the fp32
   * update down on every step (the all-reduce a parameter server would do, counted at the server like ours).
   */
  dpBytesPerLearnerStep: number;
  /** dpBytesPerLearnerStep / bytesPerLearnerStep: how many times fewer bytes than data-parallel. */
  dpBytesRatio: number | null;
  /** Merged tokens / planned tokens at the end: the LR clock's progress (≥ 1: warmup and decay completed). */
  progress: number | null;
}

export function summarize(c: SummaryView, plannedTokens: number | undefined): SwarmSummary {
  const merges = c.mergesPerFragment.reduce((a, b) => a + b, 0); // commits of this incarnation, as contributorsTotal counts them
  const bytesPerLearnerStep = c.learnerSteps > 0 ? (c.bytesIn + c.bytesOut - c.snapshotBytes) / c.learnerSteps : null;
  const dpBytesPerLearnerStep = 2 * 4 * c.numParams;
  return {
    commits: c.commitSeq, goodput: c.goodput, downtimeMs: c.downtimeMs,
    contributorsPerMerge: merges > 0 ? c.contributorsTotal / merges : null,
    bytesPerLearnerStep, dpBytesPerLearnerStep,
    dpBytesRatio: bytesPerLearnerStep ? dpBytesPerLearnerStep / bytesPerLearnerStep : null,
    progress: plannedTokens ? c.mergedTokens / plannedTokens : null,
  };
}

/** One line for the CLI and one row group for index.html. */
export function summaryLine(s: SwarmSummary): string {
  const f = (x: number | null, d: number): string => (x === null ? '–' : x.toFixed(d));
  const kb = (x: number | null): string => (x === null ? '–' : `${(x / 1000).toFixed(1)} kB`);
  return `contributors/merge ${f(s.contributorsPerMerge, 2)}  bytes/learner step ${kb(s.bytesPerLearnerStep)} vs data-parallel ${kb(s.dpBytesPerLearnerStep)} ` +
    `(${s.dpBytesRatio === null ? '–' : `${s.dpBytesRatio.toFixed(1)}×`} fewer)  LR clock ${s.progress === null ? 'coordinator default' : `${(100 * s.progress).toFixed(0)}% of planned tokens`}`;
}
