/**
 * The errors a Trainer call can reject with. Pure (no TF.js, no comlink) so the main thread can import it.
 *
 * Comlink copies only `name`, `message` and `stack` of an Error across the boundary, so a worker-side
 * TrainerError travels as "code: detail" with name 'TrainerError' and `reviveError` rebuilds it.
 */
import { DeadlineError } from './deadline';

/** Why the worker refused or failed a call. Stable strings: the learner branches on them. */
export type TrainerErrorCode =
  | 'device-lost' // the WebGPU device is gone; this worker is unusable: terminate it and start another
  | 'no-backend' // probe: no candidate initialised and passed the self-test (or the forced one failed)
  | 'backend-failed' // init: the requested backend did not initialise
  | 'not-initialised' // call needs init() first
  | 'bad-argument' // rejected before touching any state
  | 'step-failed' // a training step threw; parameters are suspect until setParams
  | 'non-finite-loss' // a training step's loss or gradient norm was NaN/Inf; parameters are suspect until setParams
  | 'write-failed' // setParams or writeFragment threw part-way; parameters are suspect until setParams
  | 'state-invalid' // an earlier failure left parameters suspect; only setParams/init/dispose are accepted
  | 'model-failed' // the model could not be built or answered wrongly outside a step (data load, read, evaluate)
  | 'internal'; // anything else, wrapped so that only TrainerErrors cross the boundary

const CODES: ReadonlySet<string> = new Set<TrainerErrorCode>([
  'device-lost', 'no-backend', 'backend-failed', 'not-initialised', 'bad-argument', 'step-failed',
  'non-finite-loss', 'write-failed', 'state-invalid', 'model-failed', 'internal',
]);

export class TrainerError extends Error {
  override name = 'TrainerError';
  constructor(readonly code: TrainerErrorCode, readonly detail: string) {
    super(`${code}: ${detail}`);
  }
}

/** A call across the worker boundary outlived its deadline. By default the worker is then terminated. */
export class WorkerTimeoutError extends DeadlineError {
  override name = 'WorkerTimeoutError';
}

/** The trainer was terminated (by `terminate()` or after a timeout) while this call was pending or before it was made. */
export class WorkerTerminatedError extends Error {
  override name = 'WorkerTerminatedError';
}

/** The worker raised an `error`/`messageerror` event (uncaught exception, failed module load, OOM). */
export class WorkerCrashedError extends Error {
  override name = 'WorkerCrashedError';
}

/** Message text of anything thrown, including the non-Error objects some emscripten code rejects with. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'object' && e !== null && 'message' in e) return String((e as { message: unknown }).message);
  return String(e);
}

/** Main thread: turn what comlink rethrew back into a TrainerError when it was one. */
export function reviveError(e: unknown): Error {
  if (e instanceof TrainerError) return e;
  if (e instanceof Error && e.name === 'TrainerError') {
    const m = /^([a-z-]+): ([\s\S]*)$/.exec(e.message);
    if (m && m[1] !== undefined && CODES.has(m[1])) {
      const t = new TrainerError(m[1] as TrainerErrorCode, m[2] ?? '');
      if (e.stack) t.stack = e.stack;
      return t;
    }
  }
  return e instanceof Error ? e : new Error(describeError(e));
}

/** True for the rejection that means "this worker's GPU is gone; start a new worker". */
export function isDeviceLost(e: unknown): boolean {
  return e instanceof TrainerError && e.code === 'device-lost';
}
