/**
 * The part of @tabswarm/model the worker uses, mirrored structurally so that the trainer logic can be
 * tested with a fake model and so that the main thread never pulls TF.js in through a type import.
 * worker.ts assigns the real module to `ModelModule`, so any drift from @tabswarm/model fails to compile there.
 */
import type { Fragment, TensorSpec } from '@tabswarm/core';
import type { ModelPreset } from '@tabswarm/model/presets';

export type Workload = 'text' | 'digits';

/** A text sample's request (@tabswarm/model's SampleOptions). */
export interface SampleOptions {
  prompt: string;
  length: number;
  temperature: number;
  seed: number;
  /** The worker stops adding characters once this much time (ms) has passed. */
  budgetMs: number;
}

/** A preset name (@tabswarm/model/presets) or a full config object (structured-cloneable: it crosses the worker boundary). */
export type ModelConfig = ModelPreset | object;

/** AdamW's moments and step count, carried across a backend switch. */
export interface OptimizerState {
  m: Float32Array;
  v: Float32Array;
  steps: number;
}

export interface TrainModel {
  specs: TensorSpec[];
  tokensPerStep: number;
  getParams(): Promise<Float32Array>;
  setParams(flat: Float32Array): void;
  readFragment(f: Fragment): Promise<Float32Array>;
  writeFragment(f: Fragment, values: Float32Array): void;
  /**
   * One AdamW step. `loss` is the batch's before the update; `gradNorm` (global L2, before clipping) is the
   * only sign that the update itself went non-finite; `optimizerSteps` is AdamW's step count after it.
   */
  step(lr: number): Promise<{ loss: number; gradNorm: number; optimizerSteps: number }>;
  evaluate(): Promise<number>;
  sample(o: SampleOptions): Promise<string>;
  predict(pixels: Float32Array): Promise<number[]>;
  resetOptimizer(): void;
  optimizerState(): Promise<OptimizerState>;
  setOptimizerState(s: OptimizerState): void;
  dispose(): void;
}

/**
 * The dataset is opaque to the worker: loaded once per (workload, URL, config) and handed back to
 * createTrainModel. The config goes to both because a text model's context fixes the dataset's windows.
 */
export interface ModelModule {
  loadDataset(workload: Workload, baseUrl: string, config: ModelConfig): Promise<unknown>;
  createTrainModel(workload: Workload, dataset: unknown, opts: { config: ModelConfig; batch: number; seed: number }): TrainModel;
}
