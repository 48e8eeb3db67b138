import { dueBar } from '../fragments';
import { ResponseTime } from '../grace';
import type { Msg } from './events';
import { quorumOf, type SyncConfig } from './config';
import { creditedTokens } from './merge-round';

/** What the syncer knows of one learner. Counters are those of its last META (or push). */
export interface LearnerRecord {
  id: string;
  session: number;
  backend: string;
  connected: boolean;
  joinedAt: number;
  /** When this learner id was first seen in this coordinator incarnation (rejoins keep it): caps claims. */
  firstSeen: number;
  /** Steps claimed in this learner's accepted pushes, per fragment, since firstSeen: together at most what
   * the elapsed time allows (admit.ts). Kept across its reconnects, like firstSeen. */
  claimedSteps: number[];
  /** Invalid messages on the current connection. */
  strikes: number;
  lastSeen: number;
  t: number;
  cSteps: number[];
  cTokens: number[];
  /** The version of each fragment the learner holds, from its last META; −1 until one arrives. A commit
   * sends the outer update only to learners that hold its base version (broadcast.ts). */
  versions: number[];
  stepMs: number | undefined;
  merges: number;
  tokensMerged: number;
  /** Pull → push time of this learner, for the grace window (kept across its reconnects). */
  response: ResponseTime;
}

export function newLearner(id: string, session: number, backend: string, P: number, now: number): LearnerRecord {
  return {
    id, session, backend, connected: true, joinedAt: now, firstSeen: now, claimedSteps: new Array<number>(P).fill(0), strikes: 0, lastSeen: now, t: 0,
    cSteps: new Array<number>(P).fill(0), cTokens: new Array<number>(P).fill(0), versions: new Array<number>(P).fill(-1), stepMs: undefined,
    merges: 0, tokensMerged: 0, response: new ResponseTime(),
  };
}

/** Heartbeat deadline (ms): a tab that is killed sends nothing, so silence is the only signal. */
export function silenceLimitMs(l: LearnerRecord, minMs: number, steps: number): number {
  return Math.max(minMs, steps * (l.stepMs ?? 0));
}

/** Fragment p (at `version`) is due when the quorum's count of connected learners (quorumOf) have reached
 * its bar of steps on it (fragments.ts dueBar). */
export function fragmentDue(cfg: Pick<SyncConfig, 'H' | 'P' | 'K' | 'merge'>, version: number, p: number, learners: Iterable<LearnerRecord>): boolean {
  const connected = [...learners].filter((l) => l.connected);
  if (connected.length === 0) return false;
  const bar = dueBar(cfg.H, cfg.P, p, version);
  return connected.filter((l) => (l.cSteps[p] ?? 0) >= bar).length >= quorumOf(cfg, connected.length);
}

/**
 * A META's counters into l; false (and nothing changed) when it does not carry one entry per fragment.
 * Steps and tokens count only toward a fragment the learner holds at the model's current `versions`: a
 * META sent before a broadcast arrived would otherwise make that fragment look due again at once, and
 * its tokens, already merged or superseded when that broadcast's round closed (or trained while it was on
 * its way, so killed or lost), would be counted again as pending and as superseded
 * (docs/fault-tolerance.md §1). Its tokens (pending, then superseded badput if a merge closes without it)
 * are unchecked claims: credited at most like a push's (merge-round.ts creditedTokens).
 */
export function applyMeta(l: LearnerRecord, m: Msg<'meta'>, versions: readonly number[], cfg: SyncConfig): boolean {
  if (m.cSteps.length !== cfg.P || m.cTokens.length !== cfg.P || m.versions.length !== cfg.P) return false;
  l.t = m.t; l.stepMs = m.stepMs; l.versions = [...m.versions];
  m.cSteps.forEach((s, p) => {
    const held = m.versions[p] === versions[p];
    l.cSteps[p] = held ? s : 0;
    l.cTokens[p] = held ? creditedTokens({ cSteps: s, cTokens: m.cTokens[p] ?? 0 }, cfg) : 0;
  });
  return true;
}

/** Disconnected records beyond `max`, oldest join first (Map order), are deleted; returns their ids. */
export function forgetDisconnected(learners: Map<string, LearnerRecord>, max: number): string[] {
  const gone: string[] = [];
  for (const [id, l] of learners) {
    if (learners.size <= max) break;
    if (!l.connected) { learners.delete(id); gone.push(id); }
  }
  return gone;
}
