import type { Msg } from './events';

/** A pushed contribution after validation: θ_{m,p} rebuilt from its base version plus the decoded delta. */
export interface Contribution {
  id: string;
  session: number;
  seq: number;
  baseVersion: number;
  cSteps: number;
  cTokens: number;
  codec: number;
  payload: Uint8Array;
  local: Float32Array;
}

/** One round: a pull for fragment p, its pushes, and the timing of quorum and grace (ms, driver clock). */
export interface Round {
  round: number;
  fragment: number;
  openedAt: number;
  /** Learners that were pulled and are still connected: the round may end early once all have answered. */
  waitingFor: Set<string>;
  /** Every learner this round has pulled, so a late-ready learner is pulled once. */
  pulled: Set<string>;
  pushes: Map<string, Contribution>;
  quorumAt?: number;
  graceMs?: number;
  deadline?: number;
}

export function openRound(round: number, fragment: number, now: number, learners: Iterable<string>): Round {
  return { round, fragment, openedAt: now, waitingFor: new Set(learners), pulled: new Set(learners), pushes: new Map() };
}

export type PushMsg = Msg<'push'>;
