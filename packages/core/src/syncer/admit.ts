import { getCodec } from '../codecs';
import type { Fragment } from '../fragments';
import type { Reason } from '../result';
import { meanLocalWarmup } from '../schedule';
import { lrShape, type SyncConfig } from './config';
import type { Outcome } from './dedupe';
import type { Msg } from './events';
import type { GlobalModel } from './global-model';
import { absoluteNormCap, l2, type RunningMedian } from './guards';
import type { LearnerRecord } from './learners';
import { rebuildLocal } from './merge-round';
import type { Contribution, Round } from './round';

/** How the syncer answers a push. `strike`: the push could not come from an honest learner. */
export type Admission =
  | { kind: 'accept'; contribution: Contribution; round: Round; norm: number }
  | { kind: 'refuse'; reason: Reason; detail: string; strike: boolean; norm?: number }
  | { kind: 'answered'; outcome: Outcome } // a resend: its original outcome goes back, nothing is merged
  | { kind: 'pending' }; // a resend of a push already waiting in an open round: its ack will come

export interface AdmitContext {
  cfg: SyncConfig;
  epoch: number;
  globalStep: number;
  /** The global progress clock, for the norm cap's LR-schedule scaling. */
  progress: number;
  fragments: readonly Fragment[];
  rounds: ReadonlyMap<number, Round>;
  model: GlobalModel;
  norms: readonly RunningMedian[];
  prior: Outcome | undefined;
  now: number;
}

/**
 * Every check a push passes before it may touch a round (docs/fault-tolerance.md §2, §3): dedupe first (a resend
 * is answered with its original outcome even across a coordinator reload), then epoch, round, claims,
 * codec, base version, finiteness and the adaptive norm cap. Pure: returns what to do, changes nothing.
 */
export function admitPush(x: AdmitContext, l: LearnerRecord, m: Msg<'push'>): Admission {
  const refuse = (reason: Reason, detail: string, strike = false): Extract<Admission, { kind: 'refuse' }> => ({ kind: 'refuse', reason, detail, strike });
  if (x.prior) return { kind: 'answered', outcome: x.prior };
  const frag = x.fragments[m.fragment];
  if (!frag) return refuse('unknown-fragment', `fragment ${m.fragment} of ${x.cfg.P}`, true);
  if (m.epoch !== x.epoch) return refuse('stale-epoch', `push from epoch ${m.epoch}, coordinator is at ${x.epoch}`);
  const r = x.rounds.get(m.round);
  if (!r) return refuse(m.round <= x.globalStep ? 'round-closed' : 'round-unknown', `round ${m.round}, latest ${x.globalStep}`);
  if (r.fragment !== m.fragment) return refuse('bad-field', `round ${m.round} is for fragment ${r.fragment}, not ${m.fragment}`, true);
  const mine = r.pushes.get(l.id);
  if (mine) return mine.session === l.session && mine.seq === m.seq ? { kind: 'pending' } : refuse('duplicate', `learner ${l.id} already pushed round ${m.round}`);
  if (!(m.cSteps >= 1) || !(m.cTokens > 0)) return refuse('no-steps', `cSteps ${m.cSteps}, cTokens ${m.cTokens}`);
  // Claims: tokens at most the run's tokens per step (batch × context, SyncConfig.tokensPerStep), steps at
  // most what the time since the learner first joined allows, for this push and summed over all its
  // pushes on the fragment. Token-weighted merging makes inflated claims an attack (docs/fault-tolerance.md §3).
  if (m.cTokens > m.cSteps * x.cfg.tokensPerStep) return refuse('token-claim', `${m.cTokens} tokens in ${m.cSteps} steps of ${x.cfg.tokensPerStep}`, true);
  const possible = Math.floor((x.now - l.firstSeen) / x.cfg.minStepMs) + 1;
  if (m.cSteps > possible) return refuse('token-claim', `${m.cSteps} steps in ${Math.round(x.now - l.firstSeen)} ms`, true);
  const claimed = l.claimedSteps[m.fragment] ?? 0;
  if (claimed + m.cSteps > possible) return refuse('token-claim', `${claimed} + ${m.cSteps} steps on fragment ${m.fragment} in ${Math.round(x.now - l.firstSeen)} ms`, true);
  // Only the run's uplink codec: an fp32 push from a link is 8× the bytes and skips the quantiser's range.
  if (m.codec !== x.cfg.uplinkCodec) return refuse('bad-codec', `codec ${m.codec}, this run's uplink codec is ${x.cfg.uplinkCodec}`, true);
  const codec = getCodec(m.codec);
  if (!codec.ok) return refuse(codec.reason, codec.detail, true);
  const delta = codec.value.decode(m.payload, frag.size);
  if (!delta.ok) return refuse(delta.reason, delta.detail, true);
  const base = x.model.at(m.fragment, m.baseVersion);
  if (!base) return refuse('stale-base', `base version ${m.baseVersion} of fragment ${m.fragment} is no longer held`);
  const local = rebuildLocal(base, delta.value);
  if (!local.every(Number.isFinite)) return refuse('non-finite', 'base + delta overflows fp32', true);
  // Per unit of the learning rate the push was trained at: the schedule's warmup alone grows honest norms
  // ×20, and a fresh tab's local warmup ×50. The local factor comes from the push's own step counter t: a
  // learner claiming a larger t than it has gains nothing (a mature learner's factor is 1), and one claiming
  // a smaller t only makes its own norm look larger.
  const norm = l2(delta.value) / (lrShape(x.cfg, x.progress) * meanLocalWarmup(m.t, m.cSteps));
  // The cap that needs no window: before the median is warm it is the only one, and it stays a ceiling,
  // checked first: such a norm is no sample of honest work, so it never enters the median's window.
  const ceiling = absoluteNormCap(x.cfg, frag.size, m.cSteps);
  if (!(norm <= ceiling)) return refuse('norm-outlier', `update norm ${norm.toPrecision(3)} > ${ceiling.toPrecision(3)}, the most AdamW steps can move ${frag.size} values (per unit of the learning rate)`);
  const median = x.norms[m.fragment]!.median;
  if (median !== undefined && norm > x.cfg.normCapFactor * median) {
    return { ...refuse('norm-outlier', `update norm ${norm.toPrecision(3)} > ${x.cfg.normCapFactor} × median ${median.toPrecision(3)} (per unit of the learning rate it was trained at)`), norm };
  }
  return {
    kind: 'accept', round: r, norm,
    contribution: { id: l.id, session: l.session, seq: m.seq, baseVersion: m.baseVersion, cSteps: m.cSteps, cTokens: m.cTokens, codec: m.codec, payload: m.payload, local },
  };
}
