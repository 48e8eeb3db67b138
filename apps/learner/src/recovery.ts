import { isDeviceLost, TrainerError, WorkerCrashedError, WorkerTerminatedError, WorkerTimeoutError } from '@tabswarm/worker';

/**
 * Which training failures a learner tab survives by rebuilding its worker from the latest global weights
 * (docs/fault-tolerance.md §5): the worker crashed, hung past its deadline (and was terminated), lost its GPU
 * device (which TF.js may report as a failed step: "mapAsync … unmapped"), or left its parameters suspect.
 * Anything else (bad configuration, a refused model) is final; a fault that repeats exhausts the budget.
 */
export function isRecoverable(e: unknown): boolean {
  if (e instanceof WorkerCrashedError || e instanceof WorkerTimeoutError || isDeviceLost(e)) return true;
  if (e instanceof WorkerTerminatedError) return !e.message.startsWith('trainer terminated'); // ours on purpose: final
  return e instanceof TrainerError && (e.code === 'state-invalid' || e.code === 'step-failed' || e.code === 'non-finite-loss' || e.code === 'write-failed');
}

/** At most `max` rebuilds per `windowMs`: a tab whose worker keeps dying leaves cleanly instead of thrashing. */
export class RecoveryBudget {
  private readonly times: number[] = [];

  constructor(private readonly max = 5, private readonly windowMs = 10 * 60_000) {}

  take(now: number): boolean {
    while (this.times.length && now - this.times[0]! > this.windowMs) this.times.shift();
    if (this.times.length >= this.max) return false;
    this.times.push(now);
    return true;
  }
}

/** A worker call that has not answered in this long (ms) is a hang: under issue #4's 10 s detection
 * target with room for the poll that notices. A training step may take longer when steps are slow (the
 * default text GPT on 2 CPU cores takes ≈ 5 s, more under load): see trainDeadlineMs. */
export const HANG_DEADLINE_MS = 8_000;

/** Deadline of one training step (ms): HANG_DEADLINE_MS, or 4× the measured step time when that is longer;
 * the first step (no measurement yet, and it compiles kernels) gets 60 s. */
export function trainDeadlineMs(stepMsEma: number | undefined): number {
  return stepMsEma === undefined ? 60_000 : Math.max(HANG_DEADLINE_MS, 4 * stepMsEma);
}
