import type { Reason } from '../result';

/** The outcome a push got, kept so that a resend of it is answered the same way (docs/fault-tolerance.md §2). */
export interface Outcome {
  round: number;
  fragment: number;
  /** null: merged. */
  reason: Reason | null;
}

/** One remembered outcome, flat, as it is stored durably. */
export interface DedupeRow extends Outcome {
  id: string;
  session: number;
  seq: number;
}

/**
 * The idempotent-producer table: (learner, session, seq) → outcome. A learner keeps a push until it is
 * acked and resends after a reconnect, so a resend must be recognised and never merged twice.
 *
 * Bounded: a learner has at most a few pushes unacked (one per round in flight, τ ≤ P), so the last
 * PER_LEARNER outcomes of its current session are enough; an older session can no longer resend (its
 * tab is gone with its memory), so a new session replaces it, and the syncer writes no row for a session
 * its learner has left (close-round.ts ownSession); at most MAX_LEARNERS learners are kept.
 */
export class DedupeTable {
  static readonly PER_LEARNER = 64;
  /** Learners remembered: 4,096 × 64 outcomes ≈ 10 MB at most. One evicted has written nothing for longer
   * than 4,096 others: a push it still resends is for a round long closed, refused, never merged twice. */
  static readonly MAX_LEARNERS = 4096;
  private readonly byLearner = new Map<string, { session: number; outcomes: Map<number, Outcome> }>();

  get(id: string, session: number, seq: number): Outcome | undefined {
    const e = this.byLearner.get(id);
    return e?.session === session ? e.outcomes.get(seq) : undefined;
  }

  set(row: DedupeRow): void {
    let e = this.byLearner.get(row.id);
    if (!e || e.session !== row.session) e = { session: row.session, outcomes: new Map() };
    this.byLearner.delete(row.id); // re-insert at the end: the learner written longest ago is evicted first
    this.byLearner.set(row.id, e);
    if (this.byLearner.size > DedupeTable.MAX_LEARNERS) this.byLearner.delete(this.byLearner.keys().next().value as string);
    e.outcomes.delete(row.seq); // re-insert at the end: Map order is the eviction order
    e.outcomes.set(row.seq, { round: row.round, fragment: row.fragment, reason: row.reason });
    while (e.outcomes.size > DedupeTable.PER_LEARNER) e.outcomes.delete(e.outcomes.keys().next().value as number);
  }

  /** Merged outcomes only: those are what the durable state must remember (a refusal changed nothing). */
  mergedRows(): DedupeRow[] {
    const rows: DedupeRow[] = [];
    for (const [id, e] of this.byLearner) for (const [seq, o] of e.outcomes) if (o.reason === null) rows.push({ id, session: e.session, seq, ...o });
    return rows;
  }

  /** Drop a learner's rows (its record was pruned: syncer.ts prune). */
  forget(id: string): void {
    this.byLearner.delete(id);
  }

  clear(): void {
    this.byLearner.clear();
  }
}
