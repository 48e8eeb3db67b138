/**
 * @tabswarm/model behind the worker's ModelModule: the one file that knows the model package's real types.
 *
 * It also resolves the named configs the apps pass (`?model=default|tiny`) into @tabswarm/model's
 * overrides, so every tab and the coordinator's evaluator build the same layout from the same name:
 * - 'default': the package defaults (text: GPT_DEFAULT, context 128; digits: MLP_DEFAULT).
 * - 'tiny': text: GPT_TINY, including its 32-token context, which the dataset must be cut to as well;
 *   digits: MLP_DEFAULT (already ~100K parameters; the package defines no smaller MLP).
 * - an object: passed through as overrides; a text `context` in it also sets the dataset's windows.
 */
import { createTrainModel, GPT_TINY, loadDataset, type Dataset, type GptConfig, type MlpConfig } from '@tabswarm/model';
import type { ModelConfig, ModelModule, Workload } from './model-api';

type Overrides = Partial<GptConfig> | Partial<MlpConfig>;

export function resolveConfig(workload: Workload, config: ModelConfig): { overrides?: Overrides; context?: number } {
  if (config === 'default') return {};
  if (config === 'tiny') return workload === 'text' ? { overrides: { ...GPT_TINY }, context: GPT_TINY.context } : {};
  if (typeof config !== 'object' || config === null) throw new Error(`unknown model config ${JSON.stringify(config)} (want default, tiny or an object)`);
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
