import { getCodec } from '../codecs';
import { makeLayout } from '../layout';
import type { Message, MessageOf } from '../protocol';
import { DEFAULT_LR } from '../schedule';
import { LearnerEngine, type EngineCommand, type EngineConfig } from './engine';

// What the engine's tests share: two fragments of two values each (P = 2), with an fp32 uplink so pushed
// deltas can be read back exactly; the run's snapshot and broadcasts; readers of the engine's commands.
export const layout = makeLayout([{ name: 'a', shape: [2], kind: 'dense' }, { name: 'b', shape: [2], kind: 'dense' }]);
export const cfg: EngineConfig = { runId: 'r', learnerId: 'L', session: 3, tokensPerStep: 10, backend: 'cpu', adoption: 'eager', readAhead: 'all', helloDeadlineMs: 1000 };
export const snapshot = (over: Partial<MessageOf<'snapshot'>> = {}): MessageOf<'snapshot'> => ({
  type: 'snapshot', runId: 'r', epoch: 1, globalStep: 0, progress: 0, config: { P: 2, H: 4, tau: 1, K: 1, uplinkCodec: 0, blockSize: 128, lockstep: false, lr: DEFAULT_LR, tokensPerStep: 10 },
  versions: [0, 0], params: Float32Array.from([1, 2, 3, 4]), ...over,
});
export const bcast = (fragment: number, version: number, values: number[]): MessageOf<'broadcast'> => ({
  type: 'broadcast', fragment, version, epoch: 1, globalStep: version, progress: 0, precision: 'fp32', values: Float32Array.from(values),
});
export const kinds = (cs: EngineCommand[]): string[] => cs.map((c) => (c.kind === 'send' ? c.msg.type : c.kind));
export const of = <K extends EngineCommand['kind']>(cs: EngineCommand[], k: K): Array<Extract<EngineCommand, { kind: K }>> => cs.filter((c): c is Extract<EngineCommand, { kind: K }> => c.kind === k);
export const sent = <T extends Message['type']>(cs: EngineCommand[], type: T): Array<MessageOf<T>> => cs.flatMap((c) => (c.kind === 'send' && c.msg.type === type ? [c.msg as MessageOf<T>] : []));
export const delta = (p: MessageOf<'push'>): number[] => { const c = getCodec(0); const d = c.ok ? c.value.decode(p.payload, 2) : undefined; return d?.ok ? [...d.value] : []; };

/** A joined engine that has taken `steps` steps, each read-ahead answered with `values(step)`. */
export function joined(steps: number, values: (t: number) => number[][] = (t) => [[1 + t, 2], [3, 4 + t]], over: Partial<EngineConfig> = {}): LearnerEngine {
  const e = new LearnerEngine({ ...cfg, ...over }, layout);
  e.handle({ kind: 'connected', now: 0 });
  const first = kinds(e.handle({ kind: 'message', msg: snapshot(), now: 1 }));
  if (first.join() !== 'load,train') throw new Error(`joining: ${first.join()}, not load then train`); // no step yet: no META, nothing to read
  for (let t = 1; t <= steps; t++) {
    const out = e.handle({ kind: 'stepped', now: 1 + t, ms: 20 });
    for (const r of of(out, 'read')) e.handle({ kind: 'read', tag: r.tag, values: Float32Array.from(values(t)[r.fragment]!), now: 1 + t });
  }
  return e;
}
