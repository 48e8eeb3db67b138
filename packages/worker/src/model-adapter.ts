/**
 * @tabswarm/model behind the worker's ModelModule: the one file that knows the model package's real types.
 *
 * It also resolves the preset names the apps pass (`?model=tiny|small|default|large`, presets.ts in
 * @tabswarm/model) into overrides, so every tab and the coordinator's evaluator build the same layout:
 * - 'default': the package defaults (text: GPT_DEFAULT, context 128; digits: MLP_DEFAULT).
 * - another preset: text: its GPT config, including its context, which the dataset must be cut to as
 *   well; digits has only 'default'.
 * - an object: passed through as overrides; a text `context` in it also sets the dataset's windows.
 */
import { createTrainModel, loadDataset, MODEL_PRESETS, parsePreset, TEXT_PRESETS, type Dataset, type GptConfig, type MlpConfig } from '@tabswarm/model';
import type { ModelConfig, ModelModule, Workload } from './model-api';

type Overrides = Partial<GptConfig> | Partial<MlpConfig>;

export function resolveConfig(workload: Workload, config: ModelConfig): { overrides?: Overrides; context?: number } {
  if (config === 'default') return {};
  if (typeof config === 'string') {
    const gpt = TEXT_PRESETS[parsePreset(workload, config)].gpt;
    return { overrides: { ...gpt }, context: gpt.context };
  }
  if (typeof config !== 'object' || config === null) throw new Error(`unknown model config ${JSON.stringify(config)} (want ${MODEL_PRESETS.join(', ')} or an object)`);
  const context = workload === 'text' ? (config as Partial<GptConfig>).context : undefined;
  return { overrides: config as Overrides, ...(context !== undefined ? { context } : {}) };
}

export const modelModule: ModelModule = {
  loadDataset: (workload, baseUrl, config) => {
    const { context } = resolveConfig(workload, config);
    return loadDataset(workload, baseUrl, undefined, context !== undefined ? { context } : {});
  },
  createTrainModel: (workload, dataset, { config, batch, seed }) => {
    const { overrides } = resolveConfig(workload, config);
    return createTrainModel(workload, dataset as Dataset, { batch, seed, ...(overrides ? { config: overrides } : {}) });
  },
};
