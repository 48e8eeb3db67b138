/**
 * Syncer-side merge of the learners' outer gradients for one fragment (docs/method.md §5).
 *
 * Every contribution is Δ_m = Θ_p(current) − θ_{m,p}: the outer gradient anchored at the syncer's
 * current value of the fragment (docs/method.md §5), so a merged Δ is applied with Θ ← Θ − η·(…).
 *
 * Numerics: storage is fp32, every sum is a float64 accumulator, and every reduction runs in one fixed
 * order (contributors in the order given, elements ascending), so the same inputs give the same bits on
 * every engine. The reductions run chunk by chunk (merge-sums.ts), with the same additions in the same
 * order as an element-major loop. The only allocations are one chunk of float64 sums and
 * O(contributors + ranges) per call, except 'centered-clip', which keeps its running centre in one
 * float64 vector of the fragment's size (robust.ts).
 */
import { ConfigError } from './result';
import { accumulate, CHUNK, scale, store, sumSquares } from './merge-sums';
import { centeredClip } from './robust';

/**
 * The part of a fragment layout this module needs: where one tensor, or a row slice of one, lies
 * inside the fragment vector (`dstOffset`, `size` in elements) and whether it is an embedding.
 * fragments.ts' Segment fits it; RDA over a slice is per piece, not per tensor (docs/method.md §8).
 */
export interface TensorRange {
  kind: 'dense' | 'embedding';
  dstOffset: number;
  size: number;
}

/**
 * 'rda': radial-directional averaging per dense tensor, weighted mean for embeddings (paper default).
 * 'weighted-mean': token-weighted mean everywhere. 'mean': unweighted mean everywhere (ablation).
 * 'centered-clip': token-weighted centered clipping over the whole fragment vector, started from the
 * coordinate-wise weighted median (robust.ts), which bounds a minority's pull by the honest spread;
 * ranges are checked but do not split the merge.
 */
export type MergeMode = 'rda' | 'weighted-mean' | 'mean' | 'centered-clip';
export const MERGE_MODES: readonly MergeMode[] = ['rda', 'weighted-mean', 'mean', 'centered-clip'];

/** One learner's outer gradient for the fragment, Δ_m = Θ_current − θ_m, and its merge weight (≥ 0). */
export interface Contribution {
  delta: Float32Array;
  weight: number;
}

/**
 * RDA falls back to the weighted mean when the weighted mean of unit directions has a norm below
 * RDA_DIRECTION_EPS × (the largest norm it could have, i.e. the summed normalised weight of the
 * contributors whose delta is non-zero in that tensor). At that point the directions cancel, φ(·)
 * would amplify rounding noise by up to 1/ε, and the merged direction is meaningless. Genuine merges of
 * M near-orthogonal deltas have a relative direction norm ≈ 1/√M (≥ 0.25 for M ≤ 16), far above it.
 */
export const RDA_DIRECTION_EPS = 1e-6;

/**
 * Token weight of one contribution: "quantity × quality" = c_tokens · (c_tokens / c_steps) (docs/method.md §5),
 * with the staleness guard of docs/method.md §5 (steps capped). A learner that trained offline for long would otherwise get
 * a weight growing linearly with its steps and dominate a merge made from a stale base. So the steps
 * counted are s = min(c_steps, stepsCap) and the tokens are scaled by s / c_steps, keeping the
 * learner's tokens-per-step (its batch size, the "quality" factor) unchanged:
 *
 *   w = (c_tokens · s / c_steps)² / s = (c_tokens / c_steps)² · s        [tokens² / step]
 *
 * Below the cap this is exactly c_tokens² / c_steps. The recommended cap is 2H (docs/method.md §5); pass Infinity
 * to disable it. Returns 0 (no influence) for c_steps ≤ 0, c_tokens ≤ 0 or non-finite counters.
 */
export function tokenWeight(cTokens: number, cSteps: number, stepsCap: number): number {
  if (!(stepsCap > 0)) throw new ConfigError(`stepsCap must be > 0, got ${stepsCap}`);
  if (!(cSteps > 0) || !(cTokens > 0) || !Number.isFinite(cSteps) || !Number.isFinite(cTokens)) return 0;
  const tokensPerStep = cTokens / cSteps;
  return tokensPerStep * tokensPerStep * Math.min(cSteps, stepsCap);
}

/**
 * Merge the contributions for one fragment into `out` (allocated when absent) and return it.
 *
 * Per tensor range, by mode (weights normalised to sum to 1):
 *   weighted mean:  D = Σ w_m Δ_m
 *   RDA:            D = (Σ w_m ‖Δ_m‖) · φ(Σ w_m φ(Δ_m)),  φ(x) = x/‖x‖, φ(0) = 0   (norms per tensor)
 * ('centered-clip' is not per range: see MergeMode and robust.ts.)
 * In 'rda' mode embedding ranges use the weighted mean (their deltas are not near-orthogonal), and a
 * dense range whose mean direction vanishes (see RDA_DIRECTION_EPS) falls back to the weighted mean.
 * Elements covered by no range are merged with the mode's plain mean ('mean': unweighted, else
 * weighted); an empty `ranges` therefore means "the whole fragment is one weighted mean".
 *
 * If every weight is 0 the merge uses equal weights: the quorum chose these contributors, and
 * discarding all of them would stall the fragment; a weight of 0 only means "no evidence either way".
 *
 * Throws ConfigError (caller's bug, never untrusted input) on: no contributions, deltas of different
 * lengths, `out` of another length or identical to a delta, a negative or non-finite weight, ranges out
 * of bounds or overlapping. Delta values are not checked for NaN: decoders reject non-finite payloads.
 */
export function mergeOuterGradient(
  contribs: readonly Contribution[],
  ranges: readonly TensorRange[],
  mode: MergeMode,
  out?: Float32Array,
): Float32Array {
  const M = contribs.length;
  const first = contribs[0];
  if (first === undefined) throw new ConfigError('mergeOuterGradient: no contributions');
  const n = first.delta.length;
  const deltas: Float32Array[] = [];
  let total = 0;
  for (const c of contribs) {
    if (c.delta.length !== n) throw new ConfigError(`delta length ${c.delta.length} != ${n}`);
    if (!(c.weight >= 0) || !Number.isFinite(c.weight)) throw new ConfigError(`bad weight ${c.weight}`);
    deltas.push(c.delta);
    total += c.weight;
  }
  const result = out ?? new Float32Array(n);
  if (result.length !== n) throw new ConfigError(`out length ${result.length} != ${n}`);
  if (deltas.includes(result)) throw new ConfigError('out must not alias a contribution delta');

  // Normalised weights w_m / Σw (float64); equal weights when all are 0 or mode is 'mean'.
  const w = new Float64Array(M);
  for (let m = 0; m < M; m++) w[m] = mode === 'mean' || total === 0 ? 1 / M : contribs[m]!.weight / total;

  const sorted = sortedRanges(ranges, n);
  if (mode === 'centered-clip') {
    centeredClip(deltas, w, result);
    return result;
  }
  const coef = new Float64Array(M); // RDA scratch, reused across ranges
  const acc = new Float64Array(Math.min(n, CHUNK)); // chunk sums, reused across ranges
  let cursor = 0; // first element not yet written (ranges visited in ascending offset)
  for (const r of sorted) {
    if (r.dstOffset > cursor) weightedMean(deltas, w, cursor, r.dstOffset, result, acc);
    const lo = r.dstOffset, hi = r.dstOffset + r.size;
    if (mode === 'rda' && r.kind === 'dense') rda(deltas, w, coef, lo, hi, result, acc);
    else weightedMean(deltas, w, lo, hi, result, acc);
    cursor = hi;
  }
  if (cursor < n) weightedMean(deltas, w, cursor, n, result, acc);
  return result;
}

/** Non-empty ranges in ascending offset, after checking bounds and that no two overlap. */
function sortedRanges(ranges: readonly TensorRange[], n: number): TensorRange[] {
  for (const r of ranges) {
    if (!Number.isInteger(r.dstOffset) || !Number.isInteger(r.size) || r.dstOffset < 0 || r.size < 0 ||
        r.dstOffset + r.size > n) {
      throw new ConfigError(`range [${r.dstOffset}, +${r.size}) outside fragment of ${n} elements`);
    }
  }
  // Empty tensors cover nothing: drop them so they cannot "overlap" a neighbour at the same offset.
  const sorted = ranges.filter((r) => r.size > 0).sort((a, b) => a.dstOffset - b.dstOffset);
  for (let k = 1; k < sorted.length; k++) {
    const prev = sorted[k - 1]!, cur = sorted[k]!;
    if (cur.dstOffset < prev.dstOffset + prev.size) {
      throw new ConfigError(`ranges overlap at element ${cur.dstOffset}`);
    }
  }
  return sorted;
}

/** out[i] = Σ_m w_m Δ_m[i] for i in [lo, hi). */
function weightedMean(deltas: readonly Float32Array[], w: Float64Array, lo: number, hi: number,
  out: Float32Array, acc: Float64Array): void {
  for (let c0 = lo; c0 < hi; c0 += CHUNK) {
    const c1 = Math.min(hi, c0 + CHUNK);
    accumulate(deltas, w, c0, c1, acc);
    store(acc, out, c0, c1, 0);
  }
}

/** Radial-directional averaging of the tensor at [lo, hi); see mergeOuterGradient. */
function rda(deltas: readonly Float32Array[], w: Float64Array, coef: Float64Array, lo: number,
  hi: number, out: Float32Array, acc: Float64Array): void {
  const M = deltas.length;
  // Pass 1: per-contributor norms → radius R = Σ w_m ‖Δ_m‖ and coefficients w_m / ‖Δ_m‖ (φ(0) = 0).
  coef.fill(0);
  for (let c0 = lo; c0 < hi; c0 += CHUNK) sumSquares(deltas, c0, Math.min(hi, c0 + CHUNK), coef);
  let radius = 0;
  let reach = 0; // Σ w_m over non-zero deltas: the largest possible norm of the mean direction
  for (let m = 0; m < M; m++) {
    const norm = Math.sqrt(coef[m]!);
    radius += w[m]! * norm;
    if (norm > 0) {
      coef[m] = w[m]! / norm;
      reach += w[m]!;
    } else {
      coef[m] = 0;
    }
  }
  // Pass 2: mean direction u = Σ w_m φ(Δ_m), stored in out, and its norm (from the float64 sums).
  let uSq = 0;
  for (let c0 = lo; c0 < hi; c0 += CHUNK) {
    const c1 = Math.min(hi, c0 + CHUNK);
    accumulate(deltas, coef, c0, c1, acc);
    uSq = store(acc, out, c0, c1, uSq);
  }
  const uNorm = Math.sqrt(uSq);
  if (!(uNorm > RDA_DIRECTION_EPS * reach)) {
    weightedMean(deltas, w, lo, hi, out, acc); // directions cancel (or all deltas are 0): plain weighted mean
    return;
  }
  // Pass 3: D = R · u / ‖u‖.
  const k = radius / uNorm;
  for (let c0 = lo; c0 < hi; c0 += CHUNK) scale(out, c0, Math.min(hi, c0 + CHUNK), k);
}
