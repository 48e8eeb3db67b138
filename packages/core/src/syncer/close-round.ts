import { quantizationOf } from '../downlink';
import type { OuterPolicy } from '../outer-policy';
import type { Reason } from '../result';
import { commitBroadcasts } from './broadcast';
import { copyOuter, type Commit } from './commit';
import type { SyncConfig } from './config';
import type { DedupeRow, DedupeTable } from './dedupe';
import type { SyncCommand } from './events';
import type { GlobalModel } from './global-model';
import type { RunningMedian } from './guards';
import type { LearnerRecord } from './learners';
import { absentVotes, creditedTokens, mergeRound, mergeWeights, progressOf } from './merge-round';
import type { Contribution, Round } from './round';

/** What closing a round reads and changes of the syncer (syncer.ts close); its counters come back in the commit. */
export interface CloseContext {
  cfg: SyncConfig;
  epoch: number;
  globalStep: number;
  nextFragment: number;
  /** The counters before this merge: the commit carries them after it. */
  commitSeq: number;
  mergedTokens: number;
  model: GlobalModel;
  outerPolicy: OuterPolicy;
  learners: ReadonlyMap<string, LearnerRecord>;
  /** Ids of the connected learners, in the learners' order. */
  connected: readonly string[];
  dedupe: DedupeTable;
  norms: readonly RunningMedian[];
  badput: { invalid: number; superseded: number };
  out: SyncCommand[];
  count: (reason: Reason) => void;
}

/**
 * Merge, outer step, commit; the broadcast and acks follow the commit (events.ts: 'commit'). Returns the
 * commit, or undefined when the merge was refused (refuseRound).
 */
export function closeRound(x: CloseContext, r: Round, now: number): Commit | undefined {
  const p = r.fragment;
  const pushes = [...r.pushes.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)); // deterministic order
  const weights = mergeWeights(pushes, x.cfg);
  const q = quantizationOf(x.cfg.downlink, x.cfg.blockSize);
  const outer = x.outerPolicy.decide(p, pushes.length, x.connected.length);
  const absent = absentVotes(x.cfg, pushes.length);
  const merged = mergeRound(x.model, p, pushes, weights, r.round, x.cfg, q, outer, absent);
  if (!merged.ok) { refuseRound(x, r, pushes, merged.reason, merged.detail); return undefined; }
  const { values, update } = merged.value;
  // A push carries one fragment, 1/P of the model: it credits cTokens/P merged tokens, so the progress
  // clock counts each trained token once when all P fragments of it have been merged.
  let mergedTokens = x.mergedTokens;
  const rows: DedupeRow[] = [];
  for (const c of pushes) {
    const credited = creditedTokens(c, x.cfg) / x.cfg.P;
    mergedTokens += credited;
    const l = x.learners.get(c.id);
    if (l) { l.merges++; l.tokensMerged += credited; }
    if (ownSession(x.learners, c)) rows.push({ id: c.id, session: c.session, seq: c.seq, round: r.round, fragment: p, reason: null });
  }
  for (const row of rows) x.dedupe.set(row);
  const commit: Commit = {
    seq: x.commitSeq + 1, epoch: x.epoch, fragment: p, version: r.round, values: Float32Array.from(values), outer: copyOuter(x.model.outer[p]!),
    globalStep: x.globalStep, mergedTokens, nextFragment: x.nextFragment, norms: x.norms[p]!.window, dedupe: rows,
    entry: {
      round: r.round, fragment: p, version: r.round, openedAt: r.openedAt, closedAt: now, graceMs: r.graceMs ?? 0, ...(q ? { quantized: q } : {}), outer, ...(absent > 0 ? { absent } : {}),
      contributors: pushes.map((c, i) => ({ id: c.id, session: c.session, seq: c.seq, baseVersion: c.baseVersion, cSteps: c.cSteps, cTokens: c.cTokens, weight: weights[i]!, codec: c.codec, payload: c.payload })),
    },
  };
  x.out.push({ kind: 'commit', commit });
  const head = { type: 'broadcast', fragment: p, version: r.round, epoch: x.epoch, globalStep: x.globalStep, progress: progressOf(x.cfg, mergedTokens) } as const;
  x.out.push(...commitBroadcasts(head, x.connected, (id) => x.learners.get(id)!.versions[p]!, values, update, x.cfg.downlink));
  for (const c of pushes) {
    if (x.learners.get(c.id)?.connected) {
      x.out.push({ kind: 'send', to: c.id, msg: { type: 'ack', fragment: p, round: r.round, seq: c.seq, session: c.session, outcome: 'merged', reason: null } });
    }
  }
  for (const id of x.connected) {
    const l = x.learners.get(id)!;
    // A learner that did not contribute overwrites its own work on fragment p with the broadcast (α = 0):
    // those tokens were trained and are now superseded (badput by design of K < M, not a fault).
    if (!r.pushes.has(id)) x.badput.superseded += (l.cTokens[p] ?? 0) / x.cfg.P;
    l.cSteps[p] = 0; // they reset on receipt
    l.cTokens[p] = 0;
  }
  return commit;
}

/**
 * A merge that cannot be committed (its outer step would leave fp32's range): nothing changes, every
 * push of the round is refused with the reason, and the run goes on from the last commit. Whether the
 * pushes were hostile or honest, the model stays finite and the next round starts from it.
 */
function refuseRound(x: CloseContext, r: Round, pushes: readonly Contribution[], reason: Reason, detail: string): void {
  for (const c of pushes) {
    x.count(reason);
    x.badput.invalid += creditedTokens(c, x.cfg) / x.cfg.P; // at most a merge's credit, as in answer-push.ts
    x.out.push({ kind: 'rejected', from: c.id, reason, detail: `round ${r.round}: ${detail}` });
    if (ownSession(x.learners, c)) x.dedupe.set({ id: c.id, session: c.session, seq: c.seq, round: r.round, fragment: r.fragment, reason });
    if (x.learners.get(c.id)?.connected) {
      x.out.push({ kind: 'send', to: c.id, msg: { type: 'ack', fragment: r.fragment, round: r.round, seq: c.seq, session: c.session, outcome: 'rejected', reason } });
    }
  }
}

/**
 * Whether a push's session is still its learner's: a tab that reloaded since it pushed is a new session,
 * and the old one can never resend (its memory went with it). A round that closes after the reload must
 * not write the old session's row: the table keeps one session per learner (dedupe.ts), so that row
 * would erase the new session's, and a resend of a merged push would be answered round-closed.
 */
function ownSession(learners: ReadonlyMap<string, LearnerRecord>, c: Contribution): boolean {
  const l = learners.get(c.id);
  return l === undefined || l.session === c.session;
}
