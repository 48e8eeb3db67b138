import { mergeOuterGradient, tokenWeight } from '../merge';
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

/** Token weights with the steps cap (pitfall 3), then the per-learner share cap (guards.ts). */
export function mergeWeights(cs: readonly Merged[], cfg: SyncConfig): number[] {
  return capShares(cs.map((c) => tokenWeight(c.cTokens, c.cSteps, cfg.stepsCapFactor * cfg.H)), cfg.maxShare);
}

/**
 * One outer step on fragment p: outer gradients Δ_m = Θ_p − θ_{m,p} against the current value, merged
 * with `weights`, then Nesterov; the fragment's version becomes `version`. Deterministic to the bit for
 * the same model, contributions (in this order) and weights: the merge log replays through it.
 */
export function mergeRound(model: GlobalModel, p: number, cs: readonly Merged[], weights: readonly number[], version: number, cfg: SyncConfig): Float32Array {
  const current = model.fragmentValues(p);
  const contribs = cs.map((c, i) => {
    const delta = new Float32Array(current.length);
    for (let j = 0; j < delta.length; j++) delta[j] = current[j]! - c.local[j]!;
    return { delta, weight: weights[i]! };
  });
  const D = mergeOuterGradient(contribs, model.fragments[p]!.segments, cfg.merge);
  return model.step(p, D, version);
}
