/**
 * Outer optimizer of the syncer, one state per fragment (docs/method.md §5).
 *
 * Input is the merged outer gradient Δ = Θ_current − (merged learner value) from merge.ts, so a step
 * moves Θ against Δ, i.e. towards the learners. fp32 storage, float64 arithmetic per element, elements
 * ascending: deterministic to the bit, no allocation per step.
 */
import { ConfigError } from './result';

/** What one merge applies: PyTorch-style SGD + Nesterov (DiLoCo), or Delayed Nesterov (Async Local-SGD). */
export type OuterMode = 'nesterov' | 'delayed-nesterov';
export const OUTER_MODES: readonly OuterMode[] = ['nesterov', 'delayed-nesterov'];

/**
 * lr: outer learning rate η (dimensionless, multiplies Δ). momentum: μ in [0, 1).
 * kind: 'auto' = the mode is chosen per merge from the fragment's recent contributor counts
 *       (outer-policy.ts, docs/method.md §5): Nesterov while merges hold about half the learners or more,
 *       Delayed Nesterov with N = M (the connected learners) below that;
 *       'nesterov' / 'delayed-nesterov' force that mode on every merge ('delayed-nesterov' with N = delayPeriod).
 * delayPeriod: N of a forced 'delayed-nesterov' (integer ≥ 1; 'auto' and 'nesterov' ignore it).
 */
export interface OuterConfig {
  lr: number;
  momentum: number;
  kind: OuterMode | 'auto';
  delayPeriod: number;
}

/** One merge's outer step: its mode and period N (1 for 'nesterov'). The merge log records it (replay.ts). */
export interface OuterChoice {
  kind: OuterMode;
  delayPeriod: number;
}

/** A config resolved for one merge: what outerStep applies. */
export type OuterStepConfig = OuterConfig & OuterChoice;

/** DiLoCo's η = 0.7, μ = 0.9 (docs/method.md §5), the mode chosen per merge. */
export const DEFAULT_OUTER: OuterConfig = { lr: 0.7, momentum: 0.9, kind: 'auto', delayPeriod: 4 };

/**
 * buf: momentum buffer b (same units as Δ). acc: sum of the Δs of the open Delayed Nesterov cycle (the
 * merges since the momentum's last update). count: merges in the open cycle (0 when none is open, and then
 * acc is all zeros). acc null stands for that all-zero accumulator: an 'auto' state gets one at its first
 * Delayed Nesterov merge, so a run that stays Nesterov commits no accumulator (4 bytes per parameter).
 */
export interface OuterState {
  buf: Float32Array;
  acc: Float32Array | null;
  count: number;
}

function checkConfig(cfg: OuterConfig): void {
  if (!(cfg.lr >= 0) || !Number.isFinite(cfg.lr)) throw new ConfigError(`outer lr must be finite ≥ 0, got ${cfg.lr}`);
  if (!(cfg.momentum >= 0 && cfg.momentum < 1)) throw new ConfigError(`outer momentum must be in [0, 1), got ${cfg.momentum}`);
  if (!OUTER_MODES.includes(cfg.kind as OuterMode) && cfg.kind !== 'auto') throw new ConfigError(`unknown outer kind ${String(cfg.kind)}`);
  if (!Number.isInteger(cfg.delayPeriod) || cfg.delayPeriod < 1) {
    throw new ConfigError(`delayPeriod must be an integer ≥ 1, got ${cfg.delayPeriod}`);
  }
}

export function makeOuterState(size: number, cfg: OuterConfig): OuterState {
  checkConfig(cfg);
  if (!Number.isInteger(size) || size < 0) throw new ConfigError(`bad fragment size ${size}`);
  return { buf: new Float32Array(size), acc: cfg.kind === 'delayed-nesterov' ? new Float32Array(size) : null, count: 0 };
}

/**
 * Apply one merged outer gradient Δ to Θ in place, with the merge's mode and period N (N = 1 for 'nesterov').
 *
 * 'nesterov' (PyTorch SGD, nesterov=True, dampening 0), with no open cycle:
 *   b ← μ·b + Δ ;  Θ ← Θ − η·(Δ + μ·b)
 *
 * 'delayed-nesterov' (Algorithm 3 of Async Local-SGD, arXiv 2401.09135, as we read it): the momentum is
 * touched only every N merges, so stale single-learner Δs arriving one at a time cannot each be amplified
 * by momentum. With acc the sum of the Δs of the open cycle:
 *   every merge but the N-th:  Θ ← Θ − η·Δ/N                       (plain step; b unchanged)
 *   the N-th merge:            b ← μ·b + acc/N ;  Θ ← Θ − η·(Δ/N + μ·b) ;  acc ← 0
 * Over N merges the net change is −η·(mean Δ + μ·b_new): exactly one Nesterov step on the average of the
 * N outer gradients, while every merge still moves Θ (learners always receive fresh values). We chose
 * this form (rather than holding Θ still between momentum updates) because it is the published one and
 * it reduces to 'nesterov' for N = 1, which the tests check bit for bit.
 *
 * Modes and periods may change from one merge to the next ('auto'). The transition rule: a merge whose
 * count (its cycle's merges, itself included) reaches its own N closes the cycle with the cycle's mean,
 *   b ← μ·b + (acc + Δ)/count ;  Θ ← Θ − η·(Δ/N + μ·b) ;  acc ← 0, count ← 0
 * and any other merge is a plain step. So a Nesterov merge after k open Delayed Nesterov merges closes
 * their cycle with the mean of those k + 1 Δs, a period that shrank below the open count closes it at once,
 * and every Δ enters the momentum exactly once, in the mean of its cycle. With a constant N, count = N
 * at every close and this is the rule above.
 *
 * Throws ConfigError when lengths disagree, the kind is 'auto' (resolved per merge by outer-policy.ts) or
 * the state is corrupt (an open cycle without an accumulator).
 */
export function outerStep(theta: Float32Array, state: OuterState, delta: Float32Array, cfg: OuterStepConfig): void {
  checkConfig(cfg);
  if (!OUTER_MODES.includes(cfg.kind)) throw new ConfigError(`outerStep needs one merge's mode, got ${String(cfg.kind)}`);
  const n = theta.length;
  if (delta.length !== n || state.buf.length !== n) {
    throw new ConfigError(`outerStep lengths differ: theta ${n}, delta ${delta.length}, buf ${state.buf.length}`);
  }
  const eta = cfg.lr, mu = cfg.momentum, buf = state.buf;
  const N = cfg.kind === 'nesterov' ? 1 : cfg.delayPeriod;
  const count = state.count + 1;
  if (count === 1 && N === 1) {
    for (let i = 0; i < n; i++) {
      const d = delta[i]!;
      const b = mu * buf[i]! + d;
      buf[i] = b;
      theta[i] = theta[i]! - eta * (d + mu * b);
    }
    return;
  }
  if (state.acc === null && state.count !== 0) throw new ConfigError(`outer state has ${state.count} open merges and no accumulator`);
  const acc = (state.acc ??= new Float32Array(n)); // once per state: its first cycle
  if (acc.length !== n) throw new ConfigError(`outerStep lengths differ: theta ${n}, acc ${acc.length}`);
  if (count < N) {
    for (let i = 0; i < n; i++) {
      const d = delta[i]!;
      acc[i] = acc[i]! + d;
      theta[i] = theta[i]! - (eta * d) / N;
    }
    state.count = count;
    return;
  }
  for (let i = 0; i < n; i++) {
    const d = delta[i]!;
    const b = mu * buf[i]! + (acc[i]! + d) / count;
    buf[i] = b;
    acc[i] = 0;
    theta[i] = theta[i]! - eta * (d / N + mu * b);
  }
  state.count = 0;
}
