import { encodeMessage, type Syncer } from '@tabswarm/core';
import { describeError } from '@tabswarm/worker';
import type { Evaluator } from './evaluator';
import type { CoordinatorStatus } from './status';

/**
 * The loss curve: held-out loss of the global model, in the evaluation worker (evaluator.ts), then a
 * `status` frame to each connected learner with its own share of the merged tokens. Skipped when nothing
 * merged since the last point or one is still running. A failed evaluation costs one point of the curve,
 * never the run: it is counted and shown, and the next interval tries again on a new worker.
 */
export class EvalLoop {
  private running = false;
  /** The syncer's merge count at the last point (−1: none yet). */
  private evaluatedAt = -1;

  constructor(
    private readonly evaluator: Evaluator,
    private readonly status: CoordinatorStatus,
    /** Sends a frame to one learner, signed and in order (outbox.ts). */
    private readonly send: (id: string, bytes: Uint8Array) => void,
  ) {}

  /** Evaluate `s` now unless skipped; true when it tried (so the caller redraws). */
  async run(s: Syncer): Promise<boolean> {
    if (this.running || s.merges === this.evaluatedAt || this.status.state !== 'running') return false;
    this.running = true;
    const merges = s.merges, step = s.globalStep, tokens = s.mergedTokens;
    try {
      const loss = await this.evaluator.loss(Float32Array.from(s.model.theta));
      this.evaluatedAt = merges;
      this.status.loss.push({ step, tokens, loss, at: performance.now() });
      const to = s.connectedIds();
      const learnerTokens = [...s.learners.values()].reduce((n, l) => n + l.tokensMerged, 0);
      for (const id of to) { // each learner hears its own share, so each gets its own signed frame
        this.send(id, encodeMessage({ type: 'status', globalStep: step, loss, learners: to.length, learnerTokens, yourTokens: s.learners.get(id)?.tokensMerged ?? 0 }));
      }
    } catch (e) {
      this.status.evalFailures++;
      this.status.evalError = describeError(e);
    } finally {
      this.running = false;
    }
    return true;
  }
}
