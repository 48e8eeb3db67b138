import { describe, expect, it } from 'vitest';
import { makeLayout } from '../layout';
import { decodeMessage, encodeMessage, type Message } from '../protocol';
import { makeSyncConfig } from '../syncer/config';
import type { SyncCommand } from '../syncer/events';
import { Syncer } from '../syncer/syncer';
import { LearnerEngine, type EngineCommand } from './engine';

// The coordinator's learner table follows a tab's background calibration: a real engine and a real
// syncer over the real wire encoding. The oracle is the sequence of backends the tab moved to.
const layout = makeLayout([{ name: 'a', shape: [2], kind: 'dense' }, { name: 'b', shape: [2], kind: 'dense' }]);

function wire(m: Message): Message {
  const d = decodeMessage(encodeMessage(m));
  if (!d.ok) throw new Error(`${m.type} refused: ${d.reason} ${d.detail}`);
  return d.value;
}

describe("the coordinator's view of a learner's backend", () => {
  it('follows every move, across a reconnect, over the wire', () => {
    const syncer = new Syncer(makeSyncConfig({ runId: 'r', P: 2, H: 4, tau: 1, K: 1, uplinkCodec: 0, tokensPerStep: 10 }), layout, Float32Array.from([1, 2, 3, 4]));
    const engine = new LearnerEngine({ runId: 'r', learnerId: 'L', session: 1, tokensPerStep: 10, backend: 'wasm', adoption: 'eager', readAhead: 'due', helloDeadlineMs: 1e9 }, layout);
    let now = 0;
    let linkUp = true;
    const toTab = (cmds: SyncCommand[]): void => {
      for (const c of cmds) if (c.kind === 'send' && linkUp) tab(c.msg);
    };
    const toSyncer = (cmds: EngineCommand[]): void => {
      for (const c of cmds) {
        if (c.kind !== 'send' || !linkUp) continue; // a send on a closed link is lost
        const m = wire(c.msg);
        toTab(syncer.handle(m.type === 'hello' ? { kind: 'join', id: 'L', now: ++now, hello: m } : { kind: 'message', id: 'L', now: ++now, msg: m }));
      }
    };
    function tab(m: Message): void { toSyncer(engine.handle({ kind: 'message', msg: wire(m), now: ++now })); }
    const shown = (): string | undefined => syncer.learners.get('L')?.backend;

    toSyncer(engine.handle({ kind: 'connected', now: ++now }));
    expect(shown()).toBe('wasm');
    toSyncer(engine.handle({ kind: 'backend', backend: 'webgl', now: ++now })); // the calibration's switch
    expect(shown()).toBe('webgl');

    // A move while the link is down is lost with it; the reconnect's hello carries it.
    linkUp = false;
    toTab(syncer.handle({ kind: 'leave', id: 'L', now: ++now }));
    toSyncer(engine.handle({ kind: 'backend', backend: 'cpu', now: ++now }));
    expect(shown()).toBe('webgl');
    linkUp = true;
    toSyncer(engine.handle({ kind: 'connected', now: ++now }));
    expect(shown()).toBe('cpu');
    expect(syncer.learners.get('L')?.connected).toBe(true);
    expect(syncer.rejections.size).toBe(0);
  });
});
