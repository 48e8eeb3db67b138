/**
 * LearnerSession's trust in the link it is on (docs/security.md §2), with the link, the worker and the
 * engine replaced by stand-ins: each signature check is resolved by the test, in the order frames came.
 */
import { describe, expect, it, vi } from 'vitest';
import type { LearnerEngine, Message, Result } from '@tabswarm/core';
import type { LearnerLinkOptions } from '@tabswarm/net';
import type { LearnerConfig } from './config';
import { LearnerSession } from './session';

const h = vi.hoisted(() => ({
  opts: undefined as unknown as LearnerLinkOptions,
  link: { sent: [] as string[], restarts: [] as string[] },
  checks: [] as Array<(r: Result<Message>) => void>,
  burnt: 0,
}));

vi.mock('@tabswarm/net', () => ({
  connectLearner: (o: LearnerLinkOptions) => {
    h.opts = o;
    return {
      state: 'open',
      send: async (bytes: Uint8Array) => void h.link.sent.push(new TextDecoder().decode(bytes)),
      restart: (reason: string) => void h.link.restarts.push(reason),
      close: () => undefined,
    };
  },
  coordinatorPeerId: (runId: string) => `coord-${runId}`,
  pageClock: () => ({ now: () => 0, setTimeout: () => 0, clearTimeout: () => undefined }),
  pinCoordinator: () => ({ fingerprint: 'pinned-fingerprint', source: 'join URL' }),
}));

vi.mock('@tabswarm/core', async (importActual) => {
  /** An engine that says hello and resends one unacked push whenever a link opens, and wants nothing else. */
  class FakeEngine {
    readonly fragments = [];
    readonly tokens = 0;
    readonly stepMs = undefined;
    readonly state = { t: 0, globalStep: 0, epoch: 0, baseVersions: [], resendable: () => [] };
    handle(ev: Parameters<LearnerEngine['handle']>[0]) {
      return ev.kind === 'connected' ? [{ kind: 'send', msg: { type: 'hello' } }, { kind: 'send', msg: { type: 'push' } }] : [];
    }
  }
  return {
    ...(await importActual<typeof import('@tabswarm/core')>()),
    openSigned: () => new Promise<Result<Message>>((resolve) => h.checks.push(resolve)),
    encodeMessage: (m: Message) => new TextEncoder().encode(m.type),
    makeLayout: () => ({}),
    LearnerEngine: FakeEngine,
  };
});

vi.mock('@tabswarm/worker', () => {
  class TrainerError extends Error {}
  return {
    startTrainer: async () => ({ init: async () => ({ tokensPerStep: 64, specs: [], numParams: 0 }), terminate: () => undefined }),
    describePreset: () => 'a preset',
    isDeviceLost: () => false,
    TrainerError, WorkerCrashedError: TrainerError, WorkerTerminatedError: TrainerError, WorkerTimeoutError: TrainerError,
  };
});

vi.mock('./backend-choice', () => ({
  pickBackend: async () => ({ report: { chosen: 'cpu', why: 'the only one' }, source: 'first' }),
  calibrate: () => new Promise(() => undefined),
  choiceKey: () => 'key',
  remember: () => undefined,
}));
vi.mock('./tab', () => ({ dataUrl: () => 'data/', hashSeed: () => 1, HELLO_DEADLINE_MS: 15_000, nextSession: () => 1, pinMemory: () => undefined, storage: () => undefined }));
vi.mock('./config', () => ({ burnSecret: () => void h.burnt++, forgetIdentity: () => undefined }));

const cfg = {
  runId: 'run1', learnerId: 'alice', idFromUrl: false, secret: 's'.repeat(22), workload: 'digits', batch: 32, backend: undefined, backends: undefined,
  signal: { host: 'h', port: 1, path: '/', key: 'k', secure: false }, coordinator: undefined, iceServers: [], autostart: true, solo: false,
  linkMbps: Infinity, slowdown: 1, byzantine: undefined,
} as unknown as LearnerConfig;

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0)); // lets every queued promise callback run
const ok = (value: unknown): Result<Message> => ({ ok: true, value } as Result<Message>);
const status = { type: 'status', loss: 1, yourTokens: 0, learnerTokens: 0 };

async function started(): Promise<LearnerSession> {
  h.link.sent = [];
  h.link.restarts = [];
  h.checks = [];
  h.burnt = 0;
  const s = new LearnerSession(cfg, () => undefined);
  await s.start();
  h.opts.onOpen!(); // link 1
  await settle();
  return s;
}

describe('LearnerSession: a frame counts only for the link it came on', () => {
  it('a frame from the old link whose check ends after a new link opened does not release pushes to the new one', async () => {
    const s = await started();
    h.opts.onMessage(new Uint8Array(1)); // from link 1; its signature check is slow
    await settle();
    h.opts.onOpen!(); // link 2, perhaps an impostor on the coordinator's id: the resent push is held
    await settle();
    h.checks[0]!(ok(status)); // link 1's frame checks out only now
    await settle();
    expect(h.link.sent).toEqual(['hello', 'hello']);
    expect(s.status.state).not.toBe('failed');
    h.opts.onMessage(new Uint8Array(1)); // link 2's own signed frame: now its coordinator is known
    await settle();
    h.checks[1]!(ok(status));
    await settle();
    expect(h.link.sent).toEqual(['hello', 'hello', 'push']);
  });

  it("an impostor's frame refused after a new link opened does not restart the new link, but its secret is still burnt", async () => {
    const s = await started();
    h.opts.onMessage(new Uint8Array(1)); // from link 1, an impostor's
    await settle();
    h.opts.onOpen!(); // link 2: the real coordinator, back from a reload
    await settle();
    h.checks[0]!({ ok: false, reason: 'wrong-key', detail: 'not the pinned key' } as Result<Message>);
    await settle();
    expect(h.link.restarts).toEqual([]);
    expect(h.burnt).toBe(1); // the secret went to that stranger with link 1's metadata
    expect(s.status.identityRefusals).toEqual({ 'wrong-key': 1 });
    expect(s.status.error).toBe('');
  });
});
