/**
 * @tabswarm/worker, main-thread entry. Nothing exported here pulls TF.js into the page: the worker
 * bundle (worker.ts) holds TF.js, its backends and the model; the page gets comlink and these types.
 */
export { startTrainer, type Trainer, type TrainerOptions, type WorkerLike } from './client';
export { DeadlineError, PendingSet, withDeadline, type Timers } from './deadline';
export {
  describeError, isDeviceLost, reviveError, TrainerError, WorkerCrashedError, WorkerTerminatedError, WorkerTimeoutError,
  type TrainerErrorCode,
} from './errors';
export { BACKEND_NAMES, chooseBackend, chooseFirst, describeResult, parseBackend, type Choice } from './choose';
export { describePreset, DIGITS_PRESET, MODEL_PRESETS, parsePreset, TEXT_PRESETS, type ModelPreset, type TextPreset } from '@tabswarm/model/presets';
export type {
  AdapterInfo, BackendName, InitInfo, InitOptions, MemoryInfo, ModelConfig, ProbeOptions, ProbeReport, ProbeResult,
  SampleOptions, TrainerApi, TrainResult, Workload,
} from './api';
