import { reviveError, TrainerError, type TrainerErrorCode } from '@tabswarm/worker';
import { describe, expect, it } from 'vitest';
import { isRecoverable } from './recovery';

/** A worker-side TrainerError as the client hands it on: comlink carries only name and message, reviveError rebuilds it. */
const received = (code: TrainerErrorCode, detail: string): Error => reviveError(Object.assign(new Error(`${code}: ${detail}`), { name: 'TrainerError' }));

describe('isRecoverable', () => {
  it('rebuilds the worker after any fault that left its parameters suspect, a write that threw included', () => {
    for (const code of ['step-failed', 'non-finite-loss', 'state-invalid', 'write-failed'] as const) {
      expect(isRecoverable(received(code, 'x; parameters are now suspect, call setParams to restore them')), code).toBe(true);
    }
  });

  it('a refused model, a bad argument or a backend that will not start is final', () => {
    for (const code of ['model-failed', 'bad-argument', 'backend-failed', 'no-backend', 'internal'] as const) {
      expect(isRecoverable(new TrainerError(code, 'x')), code).toBe(false);
    }
  });
});
