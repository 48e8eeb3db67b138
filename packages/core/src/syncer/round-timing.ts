import { arrivalsWindowMs, Ema, eq3WindowMs, graceCapMs } from '../grace';
import type { SyncConfig } from './config';
import type { LearnerRecord } from './learners';
import type { Round } from './round';

/**
 * The clocks of the grace window (docs/method.md §4): Eq. 3's EMAs (ξ_quorum from a round's opening to its
 * quorum, ξ_sync from its close to the broadcast's hand-over, the durable commit left out) and the pull
 * times that learners' response times are measured from. Times are the driver's, in ms.
 */
export class RoundTiming {
  private readonly xiQuorum: Ema;
  private readonly xiSync: Ema;
  private readonly closedAt = new Map<number, number>();
  /** Pull times of the last RECENT_ROUNDS rounds, open or closed: a push that comes after its round closed
   * still measures how long its learner takes to answer, so the window learns to wait for it. */
  private readonly pulledAt = new Map<number, ReadonlyMap<string, number>>();

  constructor(private readonly cfg: SyncConfig) {
    this.xiQuorum = new Ema(cfg.grace.emaAlpha);
    this.xiSync = new Ema(cfg.grace.emaAlpha);
  }

  opened(r: Round): void {
    this.pulledAt.set(r.round, r.pulledAt);
    for (const old of this.pulledAt.keys()) if (old <= r.round - RECENT_ROUNDS) this.pulledAt.delete(old);
  }

  closed(round: number, now: number): void {
    this.closedAt.set(round, now);
  }

  synced(round: number, now: number, commitMs = 0): void {
    const t0 = this.closedAt.get(round);
    if (t0 === undefined) return; // a second broadcast of the same commit (delta and full copies)
    this.xiSync.update(Math.max(0, now - t0 - commitMs));
    this.closedAt.delete(round);
  }

  /** A push arrived: a first answer to a pull on this connection (not a resend) times its learner. */
  pushed(l: LearnerRecord, round: number, now: number, resend: boolean): void {
    const at = this.pulledAt.get(round)?.get(l.id);
    if (at !== undefined && !resend && at >= l.joinedAt) l.response.update(now - at);
  }

  /** The quorum of r was reached at `now`: set what Eq. 3 allows, the window actually used, and the deadline. */
  atQuorum(r: Round, now: number, learners: ReadonlyMap<string, LearnerRecord>): void {
    const g = this.cfg.grace, stepMs = slowestStepMs(learners);
    r.quorumAt = now;
    this.xiQuorum.update(now - r.openedAt);
    r.eq3Ms = eq3WindowMs(g, this.cfg.tau, stepMs, this.xiQuorum.value, this.xiSync.value);
    if (g.rule === 'off') r.graceMs = 0;
    else if (g.rule === 'eq3') r.graceMs = r.eq3Ms;
    else {
      const expectedAt = [...r.waitingFor].map((id) => {
        const bound = learners.get(id)?.response.bound(g.slackMs), at = r.pulledAt.get(id);
        return bound === undefined || at === undefined ? undefined : at + bound;
      });
      r.graceMs = arrivalsWindowMs(graceCapMs(g, stepMs), now, expectedAt);
    }
    r.deadline = now + r.graceMs;
  }
}

/** The step time of the slowest connected learner that has reported one (ms). */
function slowestStepMs(learners: ReadonlyMap<string, LearnerRecord>): number | undefined {
  let max: number | undefined;
  for (const l of learners.values()) if (l.connected && l.stepMs !== undefined) max = Math.max(max ?? 0, l.stepMs);
  return max;
}

/** Rounds whose pull times are kept: a push later than 16 rounds is stale anyway (historyDepth). */
const RECENT_ROUNDS = 16;
