// @tabswarm/model: the two workloads' networks in TF.js ops, their data, and the inner AdamW step.
// Never names a TF.js backend: the worker registers one (webgpu → webgl → cpu) before using this.
export { AdamW, DEFAULT_ADAMW, type AdamWConfig, type AdamWState } from './adamw';
export { DEFAULT_CONTEXT, fromBytes, type Batch, type Dataset, type DatasetOptions, type DigitsDataset, type TextDataset } from './data';
export { DATA_FILES, DIGIT_CLASSES, DIGIT_FEATURES, DIGIT_RECORD_BYTES, WORKLOADS, type DigitsMeta, type VocabFile, type Workload } from './data-format';
export { predictDigit, sampleText, type SampleOptions } from './demo';
export { FlatParams } from './flat-params';
export { createGpt, gptDefs, gptInit, gptParamCount, gptSpecs, GPT_DEFAULT, GPT_TINY, type GptConfig } from './gpt';
export { describePreset, DIGITS_PRESET, MODEL_PRESETS, parsePreset, TEXT_PRESETS, type ModelPreset, type TextPreset } from './presets';
export { initParams, type ParamDef, type ParamInit } from './init';
export { DEFAULT_LOAD_TIMEOUT_MS, loadDataset, type FetchFn, type LoadOptions } from './load-dataset';
export { createMlp, mlpDefs, mlpInit, mlpParamCount, mlpSpecs, MLP_DEFAULT, type MlpConfig } from './mlp';
export type { Model } from './nn';
export { createTrainModel, DEFAULT_INIT_SEED, type HeldOutMetrics, type StepResult, type TrainModel, type TrainOptions } from './trainer';
