/**
 * Centered clipping (Karimireddy, He, Jaggi, ICML 2021) over a whole fragment vector, started from a
 * robust centre: the 'centered-clip' merge mode (docs/fault-tolerance.md §3). An outlier's pull on the
 * merge is capped at its weight × τ per iteration, and τ is set by the honest majority alone, so a
 * minority's pull does not grow with the size of what it sends.
 *
 *   m  = coordinate-wise weighted median of the Δ_i   (weights normalised)
 *   τ  = weighted median of ‖Δ_i − m‖                 (fixed for all iterations, as in the paper)
 *   v₀ = m;  v ← v + Σ w_i · clip(Δ_i − v, τ),  L times;   clip(x, τ) = x · min(1, τ/‖x‖), clip(0, τ) = 0
 *
 * The bound. Let the honest contributors H hold weight 1 − a > 1/2 (the share cap in merge-round.ts
 * weighs every push the same in this mode, so that is a majority of the learners, and the strict
 * quorum of syncer/config.ts makes every round open with K ≥ 2f + 1 due learners), k = |H|, h̄ their weighted mean and ρ = max over H of
 * ‖Δ_i − h̄‖ (the honest spread). The weighted median of one coordinate is the smallest value whose
 * "≤" weight reaches 1/2: values below every honest one carry weight < 1/2 and the largest honest one
 * carries ≥ 1 − a > 1/2 at or below it, so m_j lies between the honest extremes of coordinate j. Hence
 * |m_j − h̄_j| ≤ max over H of |Δ_ij − h̄_j|, and summing over j, ‖m − h̄‖ ≤ √k·ρ. By the same argument
 * on distances, τ ≤ max over H of ‖Δ_i − m‖ ≤ (1 + √k)ρ. Each iteration moves v by at most Σ w_i τ = τ
 * (the attackers' part at most aτ), so ‖v_L − h̄‖ ≤ (√k + L(1 + √k))ρ: whatever the attackers send,
 * the merge stays within a multiple of the honest spread of the honest mean. (The old centre, the
 * weighted mean, gave τ = a‖A‖ for an attacker at h + A: its pull grew with ‖A‖ and a third of the
 * weight sign-flipped ×4 drove the simulator's held-out loss up 12-fold.) In the simplest case, honest
 * deltas all equal to h, m = h, τ = 0 and the merge is exactly h, at any attack norm. When every
 * honest delta lies within τ of v, one iteration takes the error e = v − h̄ to at most a(‖e‖ + τ).
 * The norm cap (guards.ts) still bounds what an attacker can send; this merge no longer depends on it.
 *
 * Why the coordinate-wise median as the centre: it is exact (a selection, no iteration, no tolerance),
 * holds up to any minority of weight < 1/2 and is deterministic by construction; the geometric median
 * would give a tighter bound (no √k) but needs an iterative solver with a stopping rule. The clipping
 * that follows pulls the centre back toward the honest mean, which is what keeps the merge's cost low
 * when nobody attacks (sim/robust-tax.ts).
 *
 * Two contributors or fewer (of positive weight): the weighted mean, exactly. With two there is no
 * majority: the weighted median of each coordinate is the heavier one's value (the lower one's when
 * they weigh the same), which would hand the merge to the heavier contributor, the attacker's side
 * whenever the attacker is heavier, and bias every coordinate downward when they are equal.
 *
 * Numerics as in merge.ts: float64 accumulators, contributors in the order given, elements ascending;
 * a weighted median's "≤" weights are summed in contributor order too, so the result does not depend
 * on how candidates are sorted. Allocations: one float64 vector of the fragment's size (v), plus three
 * float64 vectors of the contributors' count per call. Cost: the median sorts M values per element
 * (insertion sort up to 32 values, O(n·M²), the engine's sort above), then L + 1 passes over the M
 * deltas: 0.26 s for 1M elements at M = 4 and 1.5 s at M = 16 on this project's 2-core machine, against
 * 5–20 ms for 'rda' (`npm run bench` has the row). It is opt-in.
 */

/** Clipping iterations from the median. Each one moves the centre at most τ (see the bound above).
 * More buy nothing measurable: 10 instead of 3 gave +14.7% instead of +14.9% held-out loss in
 * sim/byzantine.test.ts at ×1, and the same within 0.5 points at ×4. */
export const CC_ITERATIONS = 3;

/**
 * Write the centered-clipping merge of `deltas` with normalised weights `w` (Σw = 1, w ≥ 0) into `out`.
 * The caller (mergeOuterGradient) has checked lengths, weights and aliasing.
 */
export function centeredClip(deltas: readonly Float32Array[], w: Float64Array, out: Float32Array): void {
  const M = deltas.length, n = out.length;
  let positive = 0;
  for (let i = 0; i < M; i++) if (w[i]! > 0) positive++;
  if (positive <= 2) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < M; i++) s += w[i]! * deltas[i]![j]!;
      out[j] = s;
    }
    return;
  }
  const v = new Float64Array(n);
  const column = new Float64Array(M);
  const sorted = new Float64Array(M);
  let total = 0;
  for (let i = 0; i < M; i++) total += w[i]!;
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < M; i++) column[i] = deltas[i]![j]!;
    v[j] = medianOf(column, w, total / 2, sorted);
  }
  const dist = column; // reused: the per-element column is no longer needed
  const coef = new Float64Array(M);
  distances(deltas, v, dist);
  const tau = medianOf(dist, w, total / 2, sorted);
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
 * Lower weighted median: the smallest x[k] whose "≤" weight, Σ w_i over x_i ≤ x[k] summed in index
 * order, reaches half the total weight (> 0). A zero-weight entry is never it unless it equals one of
 * positive weight: a smaller value of positive weight has the same "≤" weight. Exported for tests.
 */
export function weightedMedian(x: Float64Array, w: Float64Array): number {
  let total = 0;
  for (let i = 0; i < w.length; i++) total += w[i]!;
  return medianOf(x, w, total / 2, new Float64Array(x.length));
}

/**
 * weightedMedian with half the total weight given and a scratch of x's length (the merge's inner loop).
 * The scratch only orders the candidates for a binary search (the "≤" weight grows with x, float sums
 * of non-negative terms in a fixed order included), so the result does not depend on the sort.
 */
function medianOf(x: Float64Array, w: Float64Array, half: number, scratch: Float64Array): number {
  const M = x.length;
  for (let i = 0; i < M; i++) scratch[i] = x[i]!;
  sortAscending(scratch);
  let lo = 0, hi = M - 1; // scratch[hi] always qualifies: its "≤" weight is the total
  while (lo < hi) {
    const mid = (lo + hi) >>> 1, c = scratch[mid]!;
    let below = 0;
    for (let i = 0; i < M; i++) if (x[i]! <= c) below += w[i]!;
    if (below >= half) hi = mid;
    else lo = mid + 1;
  }
  return scratch[lo]!;
}

/** Insertion sort up to INSERTION_MAX values (no call overhead: the merge sorts once per element),
 * the engine's numeric sort above it. */
const INSERTION_MAX = 32;
function sortAscending(a: Float64Array): void {
  if (a.length > INSERTION_MAX) {
    a.sort();
    return;
  }
  for (let i = 1; i < a.length; i++) {
    const x = a[i]!;
    let k = i - 1;
    for (; k >= 0 && a[k]! > x; k--) a[k + 1] = a[k]!;
    a[k + 1] = x;
  }
}
