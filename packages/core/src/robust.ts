/**
 * Centered clipping (Karimireddy, He, Jaggi, ICML 2021) over a whole fragment vector: the 'centered-clip'
 * merge mode (docs/fault-tolerance.md §3). An outlier's pull on the merge is capped at its weight × τ per
 * iteration, where the weighted mean lets it pull by its weight × its whole distance.
 *
 *   v₀ = Σ w_i Δ_i                                  (token-weighted mean, weights normalised)
 *   τ  = weighted median of ‖Δ_i − v₀‖              (fixed for all iterations, as in the paper)
 *   v ← v + Σ w_i · clip(Δ_i − v, τ),  L times;     clip(x, τ) = x · min(1, τ/‖x‖), clip(0, τ) = 0
 *
 * Why τ from v₀: the paper leaves τ a hyperparameter; the median distance to the mean needs no tuning,
 * follows the scale of the outer gradients as the learning rate decays, and leaves at least half of
 * the weight unclipped in the first iteration, so honest deltas are barely touched when nobody attacks.
 * Its weakness: v₀ is the corrupted mean, so τ grows with the attack. With honest deltas all equal to
 * h and one attacker of weight a < 1/2 at h + A, τ = a‖A‖, the attacker is clipped and the honest are
 * not, so the distance to h goes x ← a·(x + τ): after 3 iterations a²(1 + a + 2a²)‖A‖ against the
 * mean's a‖A‖, a factor a(1 + a + 2a²) smaller (0.204 for a = 1/6) but still proportional to ‖A‖.
 * The syncer's norm cap (guards.ts) is what bounds ‖A‖.
 *
 * Two contributors or fewer (of positive weight): the weighted mean, exactly. With two there is no
 * majority to anchor on: the weighted median distance is the heavier one's, so clipping can only move
 * v toward the heavier contributor, which is the attacker's side whenever the attacker is heavier.
 *
 * Numerics as in merge.ts: float64 accumulators, contributors in the order given, elements ascending.
 * One float64 scratch vector of the fragment's size (v), plus O(contributors) per call.
 */

/** Clipping iterations. Each one shrinks an outlier's excess pull (over the fixed point a·τ/(1 − a) of
 * the recursion above) by its weight a, so 3 land within a²(1 − 2a) of it: ≤ 3.2 % for a ≤ 1/4. */
export const CC_ITERATIONS = 3;

/**
 * Write the centered-clipping merge of `deltas` with normalised weights `w` (Σw = 1, w ≥ 0) into `out`.
 * The caller (mergeOuterGradient) has checked lengths, weights and aliasing.
 */
export function centeredClip(deltas: readonly Float32Array[], w: Float64Array, out: Float32Array): void {
  const M = deltas.length, n = out.length;
  const v = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let i = 0; i < M; i++) s += w[i]! * deltas[i]![j]!;
    v[j] = s;
  }
  let positive = 0;
  for (let i = 0; i < M; i++) if (w[i]! > 0) positive++;
  if (positive > 2) {
    const dist = new Float64Array(M);
    const coef = new Float64Array(M);
    distances(deltas, v, dist);
    const tau = weightedMedian(dist, w);
    for (let it = 0; it < CC_ITERATIONS; it++) {
      if (it > 0) distances(deltas, v, dist);
      // coef_i = w_i · min(1, τ/‖Δ_i − v‖); a zero distance contributes nothing whatever its coefficient.
      for (let i = 0; i < M; i++) coef[i] = dist[i]! > tau ? (w[i]! * tau) / dist[i]! : w[i]!;
      for (let j = 0; j < n; j++) {
        const vj = v[j]!;
        let s = 0;
        for (let i = 0; i < M; i++) s += coef[i]! * (deltas[i]![j]! - vj);
        v[j] = vj + s;
      }
    }
  }
  for (let j = 0; j < n; j++) out[j] = v[j]!;
}

/** dist[i] = ‖Δ_i − v‖ (float64, elements ascending). */
function distances(deltas: readonly Float32Array[], v: Float64Array, dist: Float64Array): void {
  const M = deltas.length;
  dist.fill(0);
  for (let j = 0; j < v.length; j++) {
    const vj = v[j]!;
    for (let i = 0; i < M; i++) {
      const d = deltas[i]![j]! - vj;
      dist[i] = dist[i]! + d * d;
    }
  }
  for (let i = 0; i < M; i++) dist[i] = Math.sqrt(dist[i]!);
}

/**
 * Lower weighted median: the smallest x[k] whose cumulative weight (x ascending, ties by index) reaches
 * half the total weight (> 0). A zero-weight entry adds nothing to the sum, so it is never the first to
 * reach half. Exported for tests.
 */
export function weightedMedian(x: Float64Array, w: Float64Array): number {
  const order = Array.from({ length: x.length }, (_, i) => i).sort((a, b) => x[a]! - x[b]! || a - b);
  let total = 0;
  for (let i = 0; i < w.length; i++) total += w[i]!;
  let cum = 0;
  let k = 0;
  for (; k < order.length - 1; k++) {
    cum += w[order[k]!]!;
    if (cum >= total / 2) break;
  }
  return x[order[k]!]!; // the last entry always completes the total
}
