import type { StorageFacts } from './storage';
import { describeOuter, type MergeLogEntry, type OuterMode, type Reason, type Syncer, type TimelinePoint } from '@tabswarm/core';

/** What the dashboard shows and Playwright polls (window.__tabswarm). */
export interface CoordinatorStatus {
  state: 'starting' | 'running' | 'failed';
  error: string;
  /** Coordinator incarnation (fencing epoch) and where it resumed from (null: a new run). */
  epoch: number;
  resumedFrom: number | null;
  commitSeq: number;
  /** CRC-32 of the committed parameters (hex): equal before and after a reload. */
  committedHash: string;
  /** CRC-32 of the parameters this incarnation started from (the last commit of the previous one). */
  restoredHash: string;
  /** EMA of one durable commit's duration (ms). */
  commitMs: number;
  /** ms from this page's navigation (a reload) to its first durable commit. */
  firstCommitAfterStartMs: number | null;
  globalStep: number;
  merges: number;
  mergesPerFragment: number[];
  /** Contributors of the latest merge per fragment, and their running total over this incarnation's commits. */
  contributorsPerFragment: number[];
  contributorsTotal: number;
  /** Merges of this incarnation whose centered-clip round closed with fewer than K pushes, the missing
   * votes counted as Δ = 0 (core merge-round.ts absentVotes). */
  mergesBelowK: number;
  mergedTokens: number;
  learners: Array<{ id: string; backend: string; connected: boolean; stepMs: number | undefined; t: number; merges: number; tokens: number; lastSeenMs: number; strikes: number }>;
  rejections: Partial<Record<Reason, number>>;
  /** Pulls sent again to a learner whose push was overdue (core syncer/repull.ts): lost on the way, or slow. */
  repulls: number;
  /** The run key's fingerprint (base64url SHA-256 of the Ed25519 public key): the join URL's `#coord=`. */
  fingerprint: string;
  /** Whether the join URL reached the page server for `npm start` to print (join-report.ts); '' before a try. */
  joinReport: string;
  /** Time to sign one outgoing frame, EMA in ms. */
  signMs: number;
  /** Connections refused before they became learner links, by reason (e.g. 'id-in-use': another session's id). */
  refusedConnections: Record<string, number>;
  /** Message bytes received and sent (all learners); snapshotBytes: the part of bytesOut that was join snapshots (the whole model per join). */
  bytesIn: number;
  bytesOut: number;
  snapshotBytes: number;
  /** Local steps the learners trained during this incarnation, summed over learner sessions. */
  learnerSteps: number;
  /** Held-out loss per evaluation; `at`: ms on this page's clock (performance.now()). */
  loss: Array<{ step: number; tokens: number; loss: number; at: number }>;
  /** Rates over time for the plots and the swarm report (core's Timeline). */
  timeline: TimelinePoint[];
  evalBackend: string;
  /** Evaluations that failed (the run goes on without those points of the loss curve), and the last why. */
  evalFailures: number;
  evalError: string;
  numParams: number;
  goodput: Goodput;
  /** Time (ms) a quorum of valid pushes waited beyond grace cap + one heartbeat with no commit. */
  downtimeMs: number;
  chaos: Record<string, number>;
  /** The outer step of the latest merge (null before the first), the dashboard's line for it ("Nesterov",
   * "Delayed Nesterov (merges average 1.2 contributors of 4 learners)"), and merges per mode this incarnation. */
  outerMode: OuterMode | null;
  outerStep: string;
  outerModeMerges: Record<OuterMode, number>;
  /** Whether the browser promised to keep the run's database, and how much of the quota it fills (storage.ts). */
  storage: StorageFacts | null;
  /** The epoch this profile had recorded for the run when this coordinator found its database gone (it
   * then refuses to run: storage.ts lostRunDatabase), else null. */
  lostEpoch: number | null;
  /** The run's key was made by this start: learners that pinned an earlier key of this run refuse it. */
  keyMade: boolean;
  /** Frames that arrived on a link after the syncer dropped it and before it closed: discarded unanswered. */
  framesAfterDrop: number;
  /** Commits refused by a full quota (each retried after retention), and the last commit whose log entry was pruned. */
  quotaErrors: number;
  prunedThrough: number;
  /** What the stored merge log costs (bytes; retention keeps it under the budget), and the last commit of a
   * pruned piece this page let go before it was downloaded (0: none; retention.ts PrunedLog). */
  logBytes: number;
  prunedDroppedThrough: number;
  /** Non-empty while a commit waits for storage (the quota is full), saying which. */
  storageWait: string;
  /** The classroom view's demo: the latest text sample (text) or prediction of the drawn digit (digits), the
   * global step each came from, which drawing (a count of finished strokes) the prediction is of, and why the
   * last attempt failed (empty when it did not). */
  demo: { sample: string; sampleStep: number; prediction: number[] | null; predictionStep: number; drawing: number; error: string };
}

/**
 * A durable commit on the dashboard: its write time (ms, an EMA), its merge's counts, and the global
 * downtime it shows (docs/fault-tolerance.md §1): a quorum was waiting since ≈ closedAt − grace, and what
 * passed beyond `allowanceMs` (grace cap + one heartbeat) before the commit landed is downtime. Times are
 * performance.now() (ms since this page's navigation, so after a reload since the reload).
 */
export function countCommit(st: CoordinatorStatus, e: MergeLogEntry, c: { seq: number; hash: string; t0: number; done: number; allowanceMs: number }): void {
  st.downtimeMs += Math.max(0, c.done - (e.closedAt - e.graceMs) - c.allowanceMs);
  if (st.firstCommitAfterStartMs === null) st.firstCommitAfterStartMs = c.done;
  st.commitMs = 0.9 * st.commitMs + 0.1 * (c.done - c.t0);
  st.commitSeq = c.seq;
  st.committedHash = c.hash;
  st.mergesPerFragment[e.fragment]!++;
  st.contributorsPerFragment[e.fragment] = e.contributors.length;
  st.contributorsTotal += e.contributors.length;
  if (e.absent) st.mergesBelowK++;
}

export function outerStatus(s: Syncer): Pick<CoordinatorStatus, 'outerMode' | 'outerStep' | 'outerModeMerges'> {
  const p = s.outerPolicy;
  return { outerMode: p.last?.kind ?? null, outerStep: describeOuter(p.last), outerModeMerges: { ...p.merges } };
}

/**
 * Goodput of this coordinator incarnation (docs/fault-tolerance.md §1): tokens in merged updates over tokens the
 * learners trained. Badput by cause: refused as stale, filtered (norm / claims), invalid, superseded (a
 * merge closed without it and its broadcast overwrote it); the rest of what was trained and is no longer
 * held by a connected learner is `killedOrLost`: killed before sending, lost in flight, or trained while
 * a broadcast that overwrote it was in transit (the syncer cannot tell these apart). Tokens are counted
 * per fragment (1/P of a step's tokens per fragment), like merged tokens.
 */
export interface Goodput {
  trained: number;
  merged: number;
  ratio: number | null;
  stale: number;
  filtered: number;
  invalid: number;
  /** Trained by a learner left out of a merge, then overwritten by its broadcast (K < M by design). */
  superseded: number;
  killedOrLost: number;
  /** Trained, not yet pushed: still in the hands of connected learners (neither good nor bad yet). */
  pending: number;
}

export function goodput(s: Syncer, trained: readonly number[], restoredTokens: number): Goodput {
  const total = trained.reduce((a, b) => a + b, 0);
  const merged = s.mergedTokens - restoredTokens;
  let pending = 0;
  for (const l of s.learners.values()) if (l.connected) pending += l.cTokens.reduce((a, b) => a + b, 0) / s.cfg.P;
  const { stale, filtered, invalid, superseded } = s.badput;
  const killedOrLost = Math.max(0, total - merged - stale - filtered - invalid - superseded - pending);
  return { trained: total, merged, ratio: total > 0 ? merged / total : null, stale, filtered, invalid, superseded, killedOrLost, pending };
}

export function emptyStatus(): CoordinatorStatus {
  return {
    state: 'starting', error: '', epoch: 0, resumedFrom: null, commitSeq: 0, committedHash: '', restoredHash: '', commitMs: 0, firstCommitAfterStartMs: null,
    globalStep: 0, merges: 0, mergesPerFragment: [], contributorsPerFragment: [], contributorsTotal: 0, mergesBelowK: 0, mergedTokens: 0, repulls: 0,
    learners: [], rejections: {}, refusedConnections: {}, fingerprint: '', joinReport: '', signMs: 0, bytesIn: 0, bytesOut: 0, snapshotBytes: 0, learnerSteps: 0, loss: [], timeline: [], evalBackend: '–', evalFailures: 0, evalError: '', numParams: 0,
    goodput: { trained: 0, merged: 0, ratio: null, stale: 0, filtered: 0, invalid: 0, superseded: 0, killedOrLost: 0, pending: 0 }, downtimeMs: 0, chaos: {},
    outerMode: null, outerStep: '–', outerModeMerges: { nesterov: 0, 'delayed-nesterov': 0 }, storage: null, lostEpoch: null, keyMade: false, framesAfterDrop: 0, quotaErrors: 0, prunedThrough: 0, logBytes: 0, prunedDroppedThrough: 0, storageWait: '',
    demo: { sample: '', sampleStep: -1, prediction: null, predictionStep: -1, drawing: 0, error: '' },
  };
}
