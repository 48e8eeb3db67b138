/**
 * Outer optimizer of the syncer, one state per fragment (algorithm.md §2.7, §2.8).
 *
 * Input is the merged outer gradient Δ = Θ_current − (merged learner value) from merge.ts, so a step
 * moves Θ against Δ, i.e. towards the learners. fp32 storage, float64 arithmetic per element, elements
 * ascending: deterministic to the bit, no allocation per step.
 */
import { ConfigError } from './result';

/**
 * lr: outer learning rate η (dimensionless, multiplies Δ). momentum: μ in [0, 1).
 * kind: 'nesterov' = PyTorch-style SGD + Nesterov on every merge (DiLoCo);
 *       'delayed-nesterov' = Delayed Nesterov of Async Local-SGD (Liu et al., arXiv 2401.09135).
 * delayPeriod: N, merges between two momentum updates in 'delayed-nesterov' (integer ≥ 1; ignored by
 *       'nesterov'). N = 1 is exactly 'nesterov'. §2.8 suggests N ≈ M when K = 1 merges dominate.
 */
export interface OuterConfig {
  lr: number;
  momentum: number;
  kind: 'nesterov' | 'delayed-nesterov';
  delayPeriod: number;
}

/** DiLoCo's η = 0.7, μ = 0.9 (§3.2); delayPeriod only matters once kind is switched to DN. */
export const DEFAULT_OUTER: OuterConfig = { lr: 0.7, momentum: 0.9, kind: 'nesterov', delayPeriod: 4 };

/**
 * buf: momentum buffer b (same units as Δ). acc: Delayed Nesterov's running sum of the Δs merged since
 * the last momentum update (null for 'nesterov'). count: merges since the last momentum update,
 * 0 ≤ count < delayPeriod (always 0 for 'nesterov').
 */
export interface OuterState {
  buf: Float32Array;
  acc: Float32Array | null;
  count: number;
}

function checkConfig(cfg: OuterConfig): void {
  if (!(cfg.lr >= 0) || !Number.isFinite(cfg.lr)) throw new ConfigError(`outer lr must be finite ≥ 0, got ${cfg.lr}`);
  if (!(cfg.momentum >= 0 && cfg.momentum < 1)) throw new ConfigError(`outer momentum must be in [0, 1), got ${cfg.momentum}`);
  if (cfg.kind !== 'nesterov' && cfg.kind !== 'delayed-nesterov') throw new ConfigError(`unknown outer kind ${String(cfg.kind)}`);
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
 * Apply one merged outer gradient Δ to Θ in place.
 *
 * 'nesterov' (PyTorch SGD, nesterov=True, dampening 0):
 *   b ← μ·b + Δ ;  Θ ← Θ − η·(Δ + μ·b)
 *
 * 'delayed-nesterov' (Algorithm 3 of Async Local-SGD, as we read it; §4.6 of algorithm.md): the
 * momentum is touched only every N = delayPeriod merges, so stale single-learner Δs arriving one at a
 * time cannot each be amplified by momentum (pitfall 1). With acc the sum of the Δs since the last
 * momentum update (including this one):
 *   every merge but the N-th:  Θ ← Θ − η·Δ/N                       (plain step; b unchanged)
 *   the N-th merge:            b ← μ·b + acc/N ;  Θ ← Θ − η·(Δ/N + μ·b) ;  acc ← 0
 * Over N merges the net change is −η·(mean Δ + μ·b_new): exactly one Nesterov step on the average of the
 * N outer gradients, while every merge still moves Θ (learners always receive fresh values). We chose
 * this form (rather than holding Θ still between momentum updates) because it is the published one and
 * it reduces to 'nesterov' for N = 1, which the tests check bit for bit.
 *
 * Throws ConfigError when lengths disagree or the state was made for the other kind.
 */
export function outerStep(theta: Float32Array, state: OuterState, delta: Float32Array, cfg: OuterConfig): void {
  checkConfig(cfg);
  const n = theta.length;
  if (delta.length !== n || state.buf.length !== n) {
    throw new ConfigError(`outerStep lengths differ: theta ${n}, delta ${delta.length}, buf ${state.buf.length}`);
  }
  const eta = cfg.lr, mu = cfg.momentum, buf = state.buf;
  if (cfg.kind === 'nesterov') {
    for (let i = 0; i < n; i++) {
      const d = delta[i]!;
      const b = mu * buf[i]! + d;
      buf[i] = b;
      theta[i] = theta[i]! - eta * (d + mu * b);
    }
    return;
  }
  const acc = state.acc;
  if (acc === null || acc.length !== n) throw new ConfigError('delayed-nesterov needs a state made with that kind');
  const N = cfg.delayPeriod;
  const count = state.count + 1;
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
    const b = mu * buf[i]! + (acc[i]! + d) / N;
    buf[i] = b;
    acc[i] = 0;
    theta[i] = theta[i]! - eta * (d / N + mu * b);
  }
  state.count = 0;
}
