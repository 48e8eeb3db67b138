import type { Reason } from '../result';
import { admitPush, type AdmitContext } from './admit';
import type { DedupeTable, Outcome } from './dedupe';
import type { Msg, SyncCommand } from './events';
import { badputCause } from './guards';
import type { LearnerRecord } from './learners';
import { creditedTokens } from './merge-round';
import type { Round } from './round';
import type { RoundTiming } from './round-timing';

/** What answering a push reads and changes of the syncer (syncer.ts push); admitPush decides. */
export interface AnswerContext extends Omit<AdmitContext, 'prior' | 'now'> {
  dedupe: DedupeTable;
  timing: RoundTiming;
  badput: Record<'stale' | 'filtered' | 'invalid', number>;
  out: SyncCommand[];
  count: (reason: Reason) => void;
}

/** What the syncer does next: advance `round` (the push came, or its learner will not answer it), then
 * strike the learner when `strike`. */
export interface Answered {
  round?: Round;
  strike: boolean;
}

/** A push, admitted (admit.ts) or refused, counted and acked; the round takes an accepted one. */
export function answerPush(x: AnswerContext, l: LearnerRecord, m: Msg<'push'>, now: number): Answered {
  const ack = (o: Outcome, seq: number): void => {
    x.out.push({ kind: 'send', to: l.id, msg: { type: 'ack', fragment: o.fragment, round: o.round, seq, session: l.session, outcome: o.reason === null ? 'merged' : 'rejected', reason: o.reason } });
  };
  // A round's first answer times its learner from the first pull, pulled again or not (repull.ts: Karn's rule
  // never learned a link slower than the first re-pull); one that finds its push answered or waiting does not.
  const prior = x.dedupe.get(l.id, l.session, m.seq);
  x.timing.pushed(l, m.round, now, m.epoch !== x.epoch || prior !== undefined || x.rounds.get(m.round)?.pushes.has(l.id) === true);
  const a = admitPush({ ...x, prior, now }, l, m);
  switch (a.kind) {
    case 'answered': duplicate(x, l.id, m); ack(a.outcome, m.seq); return { strike: false };
    case 'pending': duplicate(x, l.id, m); return { strike: false };
    case 'refuse': {
      x.count(a.reason);
      if (a.norm !== undefined) x.norms[m.fragment]!.push(a.norm); // see SyncConfig.normCapFactor
      // Credit at most what the learner's batch allows: a forged claim must not inflate the badput.
      const cause = badputCause(a.reason);
      if (cause) x.badput[cause] += creditedTokens(m, x.cfg) / x.cfg.P;
      x.out.push({ kind: 'rejected', from: l.id, reason: a.reason, detail: a.detail });
      const o: Outcome = { round: m.round, fragment: m.fragment, reason: a.reason };
      // A refusal is remembered too (in memory) so a resend gets the same answer; a duplicate refusal
      // must not overwrite the outcome of the push it duplicates.
      if (a.reason !== 'duplicate') x.dedupe.set({ id: l.id, session: l.session, seq: m.seq, ...o });
      ack(o, m.seq);
      // A refused learner will not answer this round again: stop waiting for it.
      const r = x.rounds.get(m.round);
      return { round: r?.waitingFor.delete(l.id) ? r : undefined, strike: a.strike };
    }
    case 'accept':
      x.norms[m.fragment]!.push(a.norm);
      l.claimedSteps[m.fragment] = (l.claimedSteps[m.fragment] ?? 0) + m.cSteps;
      a.round.pushes.set(l.id, a.contribution);
      a.round.waitingFor.delete(l.id);
      return { round: a.round, strike: false };
  }
}

/** A resend (or a replay) of a push already answered or waiting: counted, never merged again. */
function duplicate(x: AnswerContext, id: string, m: Msg<'push'>): void {
  x.count('duplicate');
  x.out.push({ kind: 'rejected', from: id, reason: 'duplicate', detail: `push seq ${m.seq} was already received` });
}
