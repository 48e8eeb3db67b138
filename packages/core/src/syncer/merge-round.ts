import { quantizeUpdate, type Quantization } from '../downlink';
import { mergeOuterGradient, tokenWeight } from '../merge';
import type { OuterChoice } from '../outer';
import { ok, type Result } from '../result';
import type { SyncConfig } from './config';
import type { GlobalModel } from './global-model';
import { capShares } from './guards';

/** What a round merges from one push: the learner's fragment value, rebuilt as base + decoded delta. */
export interface Merged {
  local: Float32Array;
  cSteps: number;
  cTokens: number;
}

/** θ_{m,p} = Θ_p(base version) + δ, in fp32, elements ascending (the syncer and replay share it). */
export function rebuildLocal(base: Float32Array, delta: Float32Array): Float32Array {
  const local = new Float32Array(base.length);
  for (let i = 0; i < local.length; i++) local[i] = base[i]! + delta[i]!;
  return local;
}

/**
 * Token weights with the steps cap (docs/method.md §5), then the share caps (guards.ts): with three or more
 * contributors no weight exceeds lighterHalfMean's cap, so a minority claiming the most steps it may
 * weighs about their share of the merge's learners (docs/fault-tolerance.md §3); then none above maxShare.
 * With merge 'centered-clip' every push weighs the same: its medians hold while the honest learners are
 * the majority of the weight, and only equal weights make a majority of learners a majority of weight
 * whatever the others claim (any cap c leaves k claimants at c with at least k/n of the merge, more when
 * honest weights lie below c: real tabs' honest pushes carry 7-10 steps against the attackers' 2H = 16,
 * and 2 attackers of 3 held 0.74-0.85 of such merges).
 */
export function mergeWeights(cs: readonly Merged[], cfg: SyncConfig): number[] {
  if (cfg.merge === 'centered-clip') return cs.map(() => 1);
  const w = cs.map((c) => tokenWeight(c.cTokens, c.cSteps, cfg.stepsCapFactor * cfg.H));
  const cap = w.length >= 3 ? lighterHalfMean(w) : Infinity;
  return capShares(w.map((x) => Math.min(x, cap)), cfg.maxShare);
}

/**
 * The mean of the ⌈n/2⌉ smallest weights. When k < n/2 contributors inflate their claims, those smallest
 * weights are all honest, so the cap c is at most the honest mean and the k inflated weights hold at most
 * k·c / (k·c + Σ_honest min(hᵢ, c)) of the merge: exactly their share k/n when every honest weight reaches
 * c, more by the honest weights below it (≤ k·c / (k·c + (n − k)·h_min)). Real tabs measured 1.10-1.16×
 * their share (docs/fault-tolerance.md §3). A cap at the median does worse: with the inflated ones on top it
 * is the mean of the middle honest weights, above the honest mean. Honest learners above c are capped too:
 * token weighting acts below it only.
 */
export function lighterHalfMean(w: readonly number[]): number {
  const s = [...w].sort((a, b) => a - b).slice(0, Math.ceil(w.length / 2));
  return s.reduce((a, b) => a + b, 0) / s.length;
}

/**
 * Tokens a push moves the progress clock by (before the 1/P of its fragment): at most the run's tokens
 * per step for at most stepsCapFactor·H steps, the same cap as its weight, so no single push can move
 * the LR clock further than 2H honest steps do (docs/fault-tolerance.md §3).
 */
export function creditedTokens(c: { cSteps: number; cTokens: number }, cfg: SyncConfig): number {
  return Math.min(c.cTokens, Math.min(c.cSteps, cfg.stepsCapFactor * cfg.H) * cfg.tokensPerStep);
}

/** The global progress clock at `mergedTokens` merged (SyncConfig.plannedTokens), at most 1. */
export function progressOf(cfg: Pick<SyncConfig, 'plannedTokens'>, mergedTokens: number): number {
  return Math.min(1, mergedTokens / cfg.plannedTokens);
}

/**
 * Votes a 'centered-clip' round counts as "no change" (Δ = 0): K minus its pushes, when it closes with
 * fewer than K because pulled learners left, were refused or timed out. The median and the clipping
 * radius then run over K votes as the strict quorum planned (syncer/config.ts), so f ≤ (K − 1)/2
 * attackers stay a minority of them however few honest pushes came: the merge stays within a multiple of
 * the spread of the honest deltas and zero (robust.ts), a damped step instead of a steered one. Without
 * them, 2 attackers of 3 pushes would be the merge's majority, and 2 pushes would merge as their mean.
 * Other modes merge what came (0).
 */
export function absentVotes(cfg: Pick<SyncConfig, 'merge' | 'K'>, pushes: number): number {
  return cfg.merge === 'centered-clip' ? Math.max(0, cfg.K - pushes) : 0;
}

/** The commit's outer update as it travels to learners that hold `baseVersion` (downlink.ts). */
export interface DownlinkUpdate {
  baseVersion: number;
  codec: number;
  payload: Uint8Array;
}

/**
 * One outer step on fragment p: outer gradients Δ_m = Θ_p − θ_{m,p} against the current value, merged
 * with `weights` and `absent` zero gradients of weight 1 (absentVotes), then the outer optimizer in the
 * merge's mode `outer` (outer-policy.ts); the fragment's version becomes `version`. With a quantisation `q` the
 * committed value is Θ_{v−1} + decode(encode(Θ_v − Θ_{v−1})), the value learners rebuild from the update
 * (the momentum keeps the exact step). Deterministic to the bit for the same model, contributions (in
 * this order), weights, q and outer: the merge log replays through it. Fails, leaving the model untouched,
 * when the outer step would leave fp32's range or a logged q is corrupt.
 */
export function mergeRound(
  model: GlobalModel, p: number, cs: readonly Merged[], weights: readonly number[], version: number, cfg: SyncConfig, q: Quantization | null,
  outer: OuterChoice, absent = 0,
): Result<{ values: Float32Array; update: DownlinkUpdate | null }> {
  const current = model.fragmentValues(p);
  const baseVersion = model.versions[p]!;
  const contribs = cs.map((c, i) => {
    const delta = new Float32Array(current.length);
    for (let j = 0; j < delta.length; j++) delta[j] = current[j]! - c.local[j]!;
    return { delta, weight: weights[i]! };
  });
  for (let k = 0; k < absent; k++) contribs.push({ delta: new Float32Array(current.length), weight: 1 });
  const D = mergeOuterGradient(contribs, model.fragments[p]!.segments, cfg.merge);
  const step = model.proposeStep(p, D, outer);
  if (!step.ok) return step;
  if (!q) { model.accept(p, version, step.value.values, step.value.outer); return ok({ values: step.value.values, update: null }); }
  const u = quantizeUpdate(current, step.value.values, q);
  if (!u.ok) return u;
  model.accept(p, version, u.value.adopted, step.value.outer);
  return ok({ values: u.value.adopted, update: { baseVersion, codec: u.value.codec, payload: u.value.payload } });
}
