/**
 * Model presets per workload, by name: the coordinator's `model` URL parameter, which the join URL
 * carries to every learner, so every tab and the coordinator's evaluator build the same layout.
 * Pure data (type-only imports): the pages import it through `@tabswarm/model/presets` without TF.js.
 *
 * Text (the character GPT; parameter counts at the Moby-Dick vocabulary of 78):
 *   tiny       18,862   1 block, d 32, context 32: a CPU laptop's WASM trains it at tens of steps/s
 *   small     114,254   2 blocks, d 64, context 64
 *   default 1,834,446   4 blocks, d 192, context 128 (docs/method.md §3); ≈5 s a step on 2 CPU cores
 *   large  10,805,838   6 blocks, d 384, context 256: for WebGPU learners
 * Digits has one network (the 784 → 128 → 10 MLP); its only preset is 'default'.
 */
import type { GptConfig } from './gpt';

export const MODEL_PRESETS = ['tiny', 'small', 'default', 'large'] as const;
export type ModelPreset = (typeof MODEL_PRESETS)[number];

export interface TextPreset {
  gpt: Omit<GptConfig, 'vocab'>;
  /** Learner batch in sequences when its URL gives none. */
  batch: number;
  /** Coordinator's sync period H (inner steps per push) when its URL gives none. */
  H: number;
  /** Peak inner learning rate of the schedule (docs/method.md §3): the coordinator's `lr` default, sent to learners in the snapshot. */
  lr: number;
}

/**
 * H: a push every ~1–5 s of a tab's steps on the hardware each preset is for (tiny at ~30 steps/s on
 * WASM, large at a few steps/s on a GPU), so merges come often enough to watch. The small models take a
 * higher peak LR: at 2 blocks and d ≤ 64 AdamW at 3e-3 is stable, and it halves the time to a visible drop.
 */
export const TEXT_PRESETS: Readonly<Record<ModelPreset, TextPreset>> = {
  tiny: { gpt: { context: 32, layers: 1, dModel: 32, heads: 2, dropout: 0 }, batch: 16, H: 24, lr: 3e-3 },
  small: { gpt: { context: 64, layers: 2, dModel: 64, heads: 4, dropout: 0 }, batch: 16, H: 24, lr: 3e-3 },
  default: { gpt: { context: 128, layers: 4, dModel: 192, heads: 4, dropout: 0.1 }, batch: 16, H: 24, lr: 1e-3 },
  large: { gpt: { context: 256, layers: 6, dModel: 384, heads: 6, dropout: 0.1 }, batch: 8, H: 16, lr: 6e-4 },
};

/** The digits MLP's defaults (its network is MLP_DEFAULT). */
export const DIGITS_PRESET = { batch: 16, H: 24, lr: 1e-3 } as const;

/** What a page shows for a preset, e.g. "small: 2 blocks, d 64, context 64"; the page adds the parameter count it built. */
export function describePreset(workload: 'text' | 'digits', preset: ModelPreset): string {
  if (workload === 'digits') return 'default: 784 → 128 → 10 MLP';
  const g = TEXT_PRESETS[preset].gpt;
  return `${preset}: ${g.layers} block${g.layers === 1 ? '' : 's'}, d ${g.dModel}, context ${g.context}`;
}

/**
 * Reads a preset name from a URL parameter: absent means 'default'; anything else is refused with the
 * list, and digits refuses all but 'default' rather than silently train another network than asked.
 */
export function parsePreset(workload: 'text' | 'digits', name: string | null | undefined): ModelPreset {
  const p = name === null || name === undefined || name === '' ? 'default' : name;
  if (!(MODEL_PRESETS as readonly string[]).includes(p)) throw new Error(`model=${JSON.stringify(p)}: want one of ${MODEL_PRESETS.join(', ')}`);
  if (workload === 'digits' && p !== 'default') throw new Error(`model=${p}: the digits workload has one network, model=default`);
  return p as ModelPreset;
}
