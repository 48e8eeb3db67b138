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
  /** When each learner was pulled (ms), so a late-ready learner is pulled once and its response timed. */
  pulledAt: Map<string, number>;
  pushes: Map<string, Contribution>;
  /** Learners pulled again because their push was overdue (repull.ts): how many times, and when last (ms). */
  repulls?: Map<string, { n: number; at: number }>;
  quorumAt?: number;
  graceMs?: number;
  /** What Eq. 3 alone would have allowed (ms), kept beside the window actually used (docs/method.md §4). */
  eq3Ms?: number;
  deadline?: number;
}

export function openRound(round: number, fragment: number, now: number, learners: Iterable<string>): Round {
  const ids = [...learners];
  return { round, fragment, openedAt: now, waitingFor: new Set(ids), pulledAt: new Map(ids.map((id) => [id, now])), pushes: new Map() };
}

/** Learner `id`, with `cSteps` steps on r's fragment, joins r late (pulled at `at`, ms) if it has work and
 * was not pulled yet; whether it did. */
export function pulledLate(r: Round, id: string, cSteps: number, at: number): boolean {
  if (cSteps < 1 || r.pulledAt.has(id)) return false;
  r.pulledAt.set(id, at);
  r.waitingFor.add(id);
  return true;
}

export type PushMsg = Msg<'push'>;
