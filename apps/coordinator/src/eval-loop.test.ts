import { decodeMessage, makeLayout, makeSyncConfig, Syncer, type Msg } from '@tabswarm/core';
import { describe, expect, it } from 'vitest';
import { EvalLoop } from './eval-loop';
import type { Evaluator } from './evaluator';
import { emptyStatus } from './status';

// The real syncer with two learners joined; the evaluation worker is a stand-in that answers `loss`.
const layout = makeLayout([{ name: 'a', shape: [2], kind: 'dense' }, { name: 'b', shape: [2], kind: 'dense' }]);
const cfg = makeSyncConfig({ runId: 'r', P: 2, H: 4, tau: 1, K: 1, uplinkCodec: 0, minStepMs: 1e-3, tokensPerStep: 10, stepBound: Number.MAX_VALUE });
const hello = (id: string): Msg<'hello'> => ({ type: 'hello', runId: 'r', learnerId: id, session: 0, layoutHash: layout.hash, tokensPerStep: 10, backend: 'cpu', uplinkCodec: 0 });

function setup(loss: () => Promise<number>): { loop: EvalLoop; s: Syncer; status: ReturnType<typeof emptyStatus>; sent: Array<{ id: string; msg: unknown }> } {
  const s = new Syncer(cfg, layout, Float32Array.from([1, 2, 3, 4]), 1);
  for (const id of ['x', 'y']) s.handle({ kind: 'join', id, now: 0, hello: hello(id) });
  const status = emptyStatus();
  status.state = 'running';
  const sent: Array<{ id: string; msg: unknown }> = [];
  const loop = new EvalLoop({ loss } as unknown as Evaluator, status, (id, bytes) => {
    const d = decodeMessage(bytes);
    sent.push({ id, msg: d.ok ? d.value : d.reason });
  });
  return { loop, s, status, sent };
}

describe('EvalLoop', () => {
  it('adds one loss point and tells each connected learner, then skips until something merges', async () => {
    const { loop, s, status, sent } = setup(async () => 1.5);
    expect(await loop.run(s)).toBe(true);
    expect(status.loss.map((p) => [p.step, p.tokens, p.loss])).toEqual([[0, 0, 1.5]]);
    expect(sent).toEqual(['x', 'y'].map((id) => ({ id, msg: { type: 'status', globalStep: 0, loss: 1.5, learners: 2, learnerTokens: 0, yourTokens: 0 } })));
    expect(await loop.run(s)).toBe(false); // no merge since the last point
    expect(status.loss).toHaveLength(1);
  });

  it('a failed evaluation is counted and shown, adds no point, and the next interval tries again', async () => {
    let fail = true;
    const { loop, s, status, sent } = setup(async () => { if (fail) throw new Error('worker loss timed out after 20000 ms'); return 2; });
    expect(await loop.run(s)).toBe(true);
    expect([status.evalFailures, status.evalError, status.loss.length, sent.length]).toEqual([1, 'worker loss timed out after 20000 ms', 0, 0]);
    fail = false;
    expect(await loop.run(s)).toBe(true);
    expect(status.loss.map((p) => p.loss)).toEqual([2]);
  });

  it('runs one evaluation at a time, and none unless the coordinator is running', async () => {
    let answer: (x: number) => void = () => undefined;
    const { loop, s, status } = setup(() => new Promise<number>((r) => { answer = r; }));
    const first = loop.run(s);
    expect(await loop.run(s)).toBe(false); // the first is still in the worker
    answer(1);
    expect(await first).toBe(true);
    const other = setup(async () => 1);
    other.status.state = 'failed';
    expect(await other.loop.run(other.s)).toBe(false);
    expect(status.loss).toHaveLength(1);
  });
});
