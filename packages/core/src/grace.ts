/**
 * Adaptive grace window of the syncer (algorithm.md §2.5, Eq. 3 as cited by two implementations).
 * After the minimum quorum has answered, the syncer keeps collecting pushes for ξ_grace more
 * milliseconds, but only inside the slack that the compute/communication overlap already provides,
 * so that waiting never stalls a learner. Time is injected: every duration here is in milliseconds
 * and comes from the caller's clock.
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
 * gamma: safety margin γ in [0, 1) (γ < 1 is required by the method; γ = 0 turns the window off).
 * tau: τ, inner steps of compute that overlap one sync (dimensionless, ≥ 0).
 * capMs: absolute ceiling on the window in ms, also the window used before any step time is known.
 * emaAlpha: α of the EMAs the caller keeps for ξ_step, ξ_quorum and ξ_sync.
 */
export interface GraceConfig {
  gamma: number;
  tau: number;
  capMs: number;
  emaAlpha: number;
}

/**
 * γ = 0.5 and τ = 2 as recommended in §3.2. capMs = 1000: the per-round cap is one step time (§3.2,
 * "the window extends the wait by at most about one step"), and 1 s bounds it above for the slowest
 * expected browser steps (50–300 ms typical), including the first rounds when no step time is known.
 */
export const DEFAULT_GRACE: GraceConfig = { gamma: 0.5, tau: 2, capMs: 1000, emaAlpha: 0.3 };

export function checkGraceConfig(cfg: GraceConfig): void {
  if (!(cfg.gamma >= 0 && cfg.gamma < 1)) throw new ConfigError(`grace gamma must be in [0, 1), got ${cfg.gamma}`);
  if (!(cfg.tau >= 0) || !Number.isFinite(cfg.tau)) throw new ConfigError(`grace tau must be finite ≥ 0, got ${cfg.tau}`);
  if (!(cfg.capMs >= 0) || !Number.isFinite(cfg.capMs)) throw new ConfigError(`grace capMs must be finite ≥ 0, got ${cfg.capMs}`);
  if (!(cfg.emaAlpha > 0 && cfg.emaAlpha <= 1)) throw new ConfigError(`grace emaAlpha must be in (0, 1], got ${cfg.emaAlpha}`);
}

/**
 * Grace window in ms:
 *
 *   ξ_grace = clamp( γ·(τ·ξ_step − ξ_quorum − ξ_sync),  0,  min(capMs, ξ_step) )
 *
 * ξ_step: EMA of the slowest connected learner's step time; ξ_quorum: EMA of the time from opening a
 * round to reaching the quorum; ξ_sync: EMA of the time of the sync itself (merge + outer step +
 * broadcast). An undefined (or non-finite) ξ_quorum or ξ_sync counts as 0. While ξ_step is unknown the
 * window is capMs: use the cap until the first estimates exist. γ = 0 gives 0 always (window off).
 */
export function graceWindowMs(
  cfg: GraceConfig,
  xiStepMs: number | undefined,
  xiQuorumMs: number | undefined,
  xiSyncMs: number | undefined,
): number {
  checkGraceConfig(cfg);
  if (cfg.gamma === 0) return 0;
  if (xiStepMs === undefined || !Number.isFinite(xiStepMs)) return cfg.capMs;
  const known = (x: number | undefined): number => (x === undefined || !Number.isFinite(x) ? 0 : x);
  const raw = cfg.gamma * (cfg.tau * xiStepMs - known(xiQuorumMs) - known(xiSyncMs));
  const cap = Math.max(0, Math.min(cfg.capMs, xiStepMs));
  return Math.min(Math.max(raw, 0), cap);
}
