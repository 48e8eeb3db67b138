/**
 * The grace window of the syncer (docs/method.md §4). After the minimum quorum has answered, the syncer
 * keeps collecting pushes a little longer, so that a merge holds every live learner that was about to
 * answer rather than only the first one. Time is injected: every duration here is in milliseconds and
 * comes from the caller's clock.
 *
 * Two rules live here:
 * - Eq. 3 of the paper, ξ_grace = γ·(τ·ξ_step − ξ_quorum − ξ_sync): wait only inside the slack that the
 *   compute/communication overlap already provides. Kept for the ablation ('eq3') and reported.
 * - 'arrivals' (the default): wait for the pulled learners whose pushes are expected within the cap, each
 *   expected at the round's opening plus its own response-time bound (srtt + 4·rttvar, as TCP bounds a
 *   round trip), and close early when all have answered. At browser timings Eq. 3 is negative (a 20 ms
 *   step against a 40 ms sync) and merged one learner at a time; our learners never block on a round, so
 *   waiting costs them no compute, only a later merge (docs/method.md §8).
 */
import { ConfigError } from './result';

/**
 * Exponential moving average: v ← α·x + (1 − α)·v, the first sample initialising v.
 * α in (0, 1]; larger α follows changes faster (α = 1 keeps only the last sample).
 */
export class Ema {
  private readonly alpha: number;
  private v: number | undefined = undefined;

  constructor(alpha: number) {
    if (!(alpha > 0 && alpha <= 1)) throw new ConfigError(`EMA alpha must be in (0, 1], got ${alpha}`);
    this.alpha = alpha;
  }

  /** Fold in one sample and return the new average. A non-finite sample is a broken clock: ConfigError. */
  update(x: number): number {
    if (!Number.isFinite(x)) throw new ConfigError(`EMA sample must be finite, got ${x}`);
    const v = this.v === undefined ? x : this.alpha * x + (1 - this.alpha) * this.v;
    this.v = v;
    return v;
  }

  /** undefined until the first sample. */
  get value(): number | undefined {
    return this.v;
  }
}

/**
 * A bound on one learner's response time (pull sent → push received), the estimator TCP uses for its
 * retransmission timeout (Jacobson/Karels): srtt ← srtt + (r − srtt)/8, rttvar ← rttvar + (|r − srtt| − rttvar)/4,
 * bound = srtt + max(4·rttvar, slackMs). It follows a learner that answers in 3 ms as well as one whose
 * answer waits for the end of a 300 ms step, and widens at once when the answers jitter. The slack is the
 * least margin: after identical answers rttvar decays to 0, and the bound would predict the next answer
 * to the microsecond, so it would close the window on it.
 */
export class ResponseTime {
  private srtt: number | undefined;
  private rttvar = 0;

  update(ms: number): void {
    if (!(Number.isFinite(ms) && ms >= 0)) throw new ConfigError(`response time must be finite ≥ 0, got ${ms}`);
    if (this.srtt === undefined) { this.srtt = ms; this.rttvar = ms / 2; return; }
    this.rttvar += (Math.abs(ms - this.srtt) - this.rttvar) / 4;
    this.srtt += (ms - this.srtt) / 8;
  }

  /** undefined until the first sample. */
  bound(slackMs: number): number | undefined {
    return this.srtt === undefined ? undefined : this.srtt + Math.max(4 * this.rttvar, slackMs);
  }
}

/**
 * rule: 'arrivals' (default), 'eq3' (the paper's rule alone) or 'off' (close at the quorum: K alone).
 * gamma: Eq. 3's safety margin γ in [0, 1).
 * capMs: absolute ceiling on the window (ms), also the window for a learner with no response time yet.
 * capSteps: ceiling in step times of the slowest live learner: a window longer than about two steps
 *   means waiting for a straggler, which the quorum exists to avoid.
 * slackMs: the least margin beyond a learner's smoothed response time (ResponseTime.bound).
 * emaAlpha: α of the EMAs the syncer keeps for ξ_quorum and ξ_sync (Eq. 3's terms).
 */
export interface GraceConfig {
  rule: 'arrivals' | 'eq3' | 'off';
  gamma: number;
  capMs: number;
  capSteps: number;
  slackMs: number;
  emaAlpha: number;
}

/** γ = 0.5 (the usual margin); 2 steps; 2 s bounds one push on a slow link (≈250 KB at 1 Mb/s); 5 ms of
 * slack covers the scheduling jitter of a busy browser main thread (timers fire 1–4 ms late). */
export const DEFAULT_GRACE: GraceConfig = { rule: 'arrivals', gamma: 0.5, capMs: 2000, capSteps: 2, slackMs: 5, emaAlpha: 0.3 };

/** No window at all: the round closes as soon as the quorum has answered (the K = 1 ablation). */
export const NO_GRACE: GraceConfig = { ...DEFAULT_GRACE, rule: 'off' };

export function checkGraceConfig(cfg: GraceConfig): void {
  if (cfg.rule !== 'arrivals' && cfg.rule !== 'eq3' && cfg.rule !== 'off') throw new ConfigError(`grace rule must be arrivals, eq3 or off, got ${String(cfg.rule)}`);
  if (!(cfg.gamma >= 0 && cfg.gamma < 1)) throw new ConfigError(`grace gamma must be in [0, 1), got ${cfg.gamma}`);
  if (!(cfg.capMs >= 0) || !Number.isFinite(cfg.capMs)) throw new ConfigError(`grace capMs must be finite ≥ 0, got ${cfg.capMs}`);
  if (!(cfg.capSteps > 0) || !Number.isFinite(cfg.capSteps)) throw new ConfigError(`grace capSteps must be finite > 0, got ${cfg.capSteps}`);
  if (!(cfg.slackMs >= 0) || !Number.isFinite(cfg.slackMs)) throw new ConfigError(`grace slackMs must be finite ≥ 0, got ${cfg.slackMs}`);
  if (!(cfg.emaAlpha > 0 && cfg.emaAlpha <= 1)) throw new ConfigError(`grace emaAlpha must be in (0, 1], got ${cfg.emaAlpha}`);
}

/** The window's ceiling: min(capMs, capSteps · ξ_step), capMs while no step time is known. */
export function graceCapMs(cfg: GraceConfig, xiStepMs: number | undefined): number {
  if (xiStepMs === undefined || !Number.isFinite(xiStepMs)) return cfg.capMs;
  return Math.max(0, Math.min(cfg.capMs, cfg.capSteps * xiStepMs));
}

/**
 * Eq. 3 of the paper:
 *
 *   ξ_grace = clamp( γ·(τ·ξ_step − ξ_quorum − ξ_sync),  0,  cap )
 *
 * ξ_step: the slowest connected learner's step time; ξ_quorum: EMA of the time from opening a round to
 * reaching the quorum; ξ_sync: EMA of the sync itself (merge + outer step + hand-over of the broadcast,
 * the durable commit excluded: it is the page's storage, not the method's communication); τ: rounds in
 * flight. An undefined ξ_quorum or ξ_sync counts as 0. While ξ_step is unknown the window is the cap.
 */
export function eq3WindowMs(cfg: GraceConfig, tau: number, xiStepMs: number | undefined, xiQuorumMs: number | undefined, xiSyncMs: number | undefined): number {
  checkGraceConfig(cfg);
  const cap = graceCapMs(cfg, xiStepMs);
  if (xiStepMs === undefined || !Number.isFinite(xiStepMs)) return cap;
  const known = (x: number | undefined): number => (x === undefined || !Number.isFinite(x) ? 0 : x);
  const raw = cfg.gamma * (tau * xiStepMs - known(xiQuorumMs) - known(xiSyncMs));
  return Math.min(Math.max(raw, 0), cap);
}

/**
 * The 'arrivals' window, measured from the quorum (at `quorumAt`): until the latest expected push among
 * the learners still waited for, each expected when it was pulled plus its response-time bound (undefined:
 * no answer seen yet, so it may take the whole cap), never beyond the cap. 0 when nobody is left to wait for.
 */
export function arrivalsWindowMs(cap: number, quorumAt: number, expectedAt: ReadonlyArray<number | undefined>): number {
  let until = quorumAt;
  for (const at of expectedAt) until = Math.max(until, at ?? Infinity);
  return Math.min(Math.max(0, until - quorumAt), cap);
}
