import { decodeMessage, encodeMessage, LearnerState, localWarmup, lrAt, makeLayout, type Message } from '@tabswarm/core';
import { connectLearner, coordinatorPeerId, type LearnerLink } from '@tabswarm/net';
import { startTrainer, type Trainer } from '@tabswarm/worker';
import { HANG_DEADLINE_MS, isRecoverable, RecoveryBudget, trainDeadlineMs } from './recovery';
import type { LearnerConfig } from './config';

type Msg<T extends Message['type']> = Extract<Message, { type: T }>;

/** What the page shows, and what Playwright polls (window.__tabswarm). */
export interface LearnerStatus {
  state: 'idle' | 'probing' | 'loading' | 'connecting' | 'training' | 'recovering' | 'paused' | 'failed';
  learnerId: string;
  backend: string;
  why: string;
  steps: number;
  stepsPerSec: number;
  tokens: number;
  merges: number;
  rejected: number;
  pushes: number;
  /** Pushes sent and not yet acked (kept for a resend after a reconnect). */
  unacked: number;
  /** learner/session/seq of every push acked as merged (the last 10,000): tests check none is lost. */
  mergedKeys: string[];
  loss: number | undefined;
  globalLoss: number | undefined;
  globalStep: number;
  /** Worker rebuilds after a crash, hang or device loss, the last fault, and how long the last rebuild took (ms). */
  recoveries: number;
  lastFault: string;
  recoveryMs: number;
  /** Coordinator incarnation this tab's weights come from. */
  epoch: number;
  versions: number[];
  error: string;
}

/**
 * One learner tab (algorithm.md §2.3): the worker trains, this loop owns the protocol. Between steps it
 * applies broadcasts, then answers pulls with an asynchronous readback of just the pulled fragment.
 * The session number grows on every restart of the tab so (learner, session, seq) names a push uniquely.
 */
export class LearnerSession {
  readonly status: LearnerStatus;
  private trainer: Trainer | undefined;
  private link: LearnerLink | undefined;
  private state: LearnerState | undefined;
  private inbox: Array<Msg<'broadcast'>> = [];
  private pulls: Array<Msg<'pull'>> = [];
  private snapshot: Msg<'snapshot'> | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly session = nextSession();
  private stepMsEma: number | undefined;
  private stepsThisTab = 0;
  private tokensPerStep = 0;
  private readonly budget = new RecoveryBudget();
  /** When the last hello went out without a snapshot in answer yet (ms), and how to say it again. */
  private helloAt: number | undefined;
  private hello: (() => void) | undefined;

  constructor(readonly cfg: LearnerConfig, private readonly onChange: () => void) {
    this.status = {
      state: 'idle', learnerId: cfg.learnerId, backend: '–', why: '', steps: 0, stepsPerSec: 0, tokens: 0, merges: 0, rejected: 0, pushes: 0, unacked: 0, mergedKeys: [],
      loss: undefined, globalLoss: undefined, globalStep: 0, recoveries: 0, lastFault: '', recoveryMs: 0, epoch: 0, versions: [], error: '',
    };
  }

  async start(): Promise<void> {
    try {
      this.set({ state: 'probing' });
      const info = await this.startWorker();
      this.tokensPerStep = info.tokensPerStep;
      const layout = makeLayout(info.specs);
      this.state = new LearnerState(layout);
      if (this.cfg.solo) return await this.solo(info.tokensPerStep);
      this.set({ state: 'connecting' });
      this.link = connectLearner({
        coordinatorId: coordinatorPeerId(this.cfg.runId), learnerId: this.cfg.learnerId, signal: this.cfg.signal, iceServers: this.cfg.iceServers,
        // Hello, then every push not yet acked: the coordinator answers each exactly once (merged or not).
        onOpen: () => {
          this.hello = () => this.send({ type: 'hello', runId: this.cfg.runId, learnerId: this.cfg.learnerId, session: this.session, layoutHash: layout.hash, tokensPerStep: info.tokensPerStep, backend: this.status.backend, uplinkCodec: 3 });
          this.hello();
          this.helloAt = performance.now();
          for (const p of this.state?.resendable() ?? []) this.send(p);
        },
        onMessage: (bytes) => this.receive(bytes),
        // 'replaced': another tab (a duplicated one shares our id) took over; the link gives up for good.
        onClose: (reason) => reason === 'replaced'
          ? this.fail(new Error('another tab with this learner id took over; this one has stopped'))
          : this.set({ state: this.running ? 'connecting' : this.status.state }),
      });
      this.running = true;
      await this.drive();
    } catch (e) {
      this.fail(e);
    }
  }

  pause(paused: boolean): void {
    this.running = !paused;
    this.set({ state: paused ? 'paused' : 'training' });
    if (!paused && this.trainer && !this.loop) void this.drive().catch((e: unknown) => this.fail(e));
  }

  /** Chaos drill (window.__tabswarmFault): crash or hang the worker, or lose its WebGPU device. */
  injectFault(kind: 'crash' | 'hang' | 'device-loss'): void {
    if (kind === 'device-loss') void this.trainer?.debugLoseDevice().catch(() => undefined);
    else this.trainer?.debugFault(kind, 60_000);
  }

  private async startWorker(): Promise<{ specs: Parameters<typeof makeLayout>[0]; tokensPerStep: number }> {
    this.trainer = await startTrainer({ trainTimeoutMs: HANG_DEADLINE_MS, callTimeoutMs: HANG_DEADLINE_MS });
    const probe = await this.trainer.probe({ force: this.cfg.backend, workload: this.cfg.workload });
    this.set({ backend: probe.chosen, why: probe.why, state: this.status.state === 'recovering' ? 'recovering' : 'loading' });
    return this.trainer.init({ workload: this.cfg.workload, dataBaseUrl: new URL('../data/', location.href).href, config: this.cfg.model, batch: this.cfg.batch, seed: hashSeed(this.cfg.learnerId, this.session), backend: probe.chosen, slowdown: this.cfg.slowdown });
  }

  /** The training loop, rebuilt after a recoverable worker failure; anything else propagates. */
  private async drive(): Promise<void> {
    for (;;) {
      try {
        this.loop = this.run(this.tokensPerStep);
        return await this.loop;
      } catch (e) {
        this.loop = undefined;
        if (!this.running || !isRecoverable(e) || !this.budget.take(performance.now())) throw e;
        await this.recover(e);
      }
    }
  }

  /**
   * A new worker, then the latest global weights: the learner state forgets its anchors (keeping its
   * unacked pushes) and asks for a snapshot. Nothing from the dead worker is pushed: a pull is answered
   * only after a successful step, and the counters restart from the snapshot.
   */
  private async recover(e: unknown): Promise<void> {
    const t0 = performance.now();
    this.set({ state: 'recovering', recoveries: this.status.recoveries + 1, lastFault: e instanceof Error ? e.message : String(e) });
    this.trainer?.terminate();
    const info = await this.startWorker();
    if (info.tokensPerStep !== this.tokensPerStep) throw new Error('the rebuilt worker trains a different batch');
    this.state!.rejoin();
    this.snapshot = undefined;
    this.inbox = [];
    this.pulls = [];
    this.stepsThisTab = 0; // a fresh optimizer: warm up again
    this.hello?.();
    this.helloAt = performance.now();
    this.set({ recoveryMs: performance.now() - t0 });
  }

  private receive(bytes: Uint8Array): void {
    const d = decodeMessage(bytes);
    if (!d.ok) return this.set({ error: `coordinator sent an invalid message: ${d.reason}` });
    const m = d.value;
    if (m.type === 'snapshot') { this.snapshot = m; this.helloAt = undefined; }
    else if (m.type === 'broadcast') this.inbox.push(m);
    else if (m.type === 'pull') this.pulls.push(m);
    else if (m.type === 'ack') this.settle(m);
    else if (m.type === 'status') this.set({ globalLoss: m.loss });
    else if (m.type === 'reject') this.set({ error: `coordinator refused us: ${m.reason} (${m.detail})` });
  }

  private settle(ack: Msg<'ack'>): void {
    const push = this.state?.settle(ack, this.session);
    if (!push) return; // a duplicate ack, or one for another session of this learner id
    if (ack.outcome === 'merged') {
      const keys = this.status.mergedKeys;
      keys.push(`${this.cfg.learnerId}/${this.session}/${ack.seq}`);
      if (keys.length > 10_000) keys.shift();
      this.set({ merges: this.status.merges + 1, unacked: this.state!.resendable().length });
    } else this.set({ rejected: this.status.rejected + 1, unacked: this.state!.resendable().length });
  }

  private async run(tokensPerStep: number): Promise<void> {
    const trainer = this.trainer!, state = this.state!;
    let windowStart = performance.now(), windowSteps = 0;
    while (this.running) {
      // A hello is answered by a snapshot; one lost with a connection that closed right after opening
      // would leave this tab training on a dead epoch forever (its counters never match): ask again.
      if (this.helloAt !== undefined && performance.now() - this.helloAt > HELLO_DEADLINE_MS) { this.helloAt = performance.now(); this.hello?.(); }
      if (this.snapshot) {
        const s = this.snapshot;
        this.snapshot = undefined;
        const cur = state.joined ? new Float32Array(await trainer.getParams()) : undefined;
        const r = state.applySnapshot(s, cur);
        if (!r.ok) { this.set({ error: `snapshot refused: ${r.reason}` }); continue; }
        await trainer.setParams(r.value);
        this.set({ state: 'training', globalStep: state.globalStep, epoch: state.epoch, versions: [...state.baseVersions] });
      }
      if (!state.joined) { await nextFrame(); continue; } // waiting for the coordinator's snapshot
      for (const b of this.inbox.splice(0)) {
        const f = state.fragments[b.fragment];
        if (!f) continue;
        const r = state.applyBroadcast(b, b.values); // overwrite (α = 0): the current values are not needed
        if (r.ok) await trainer.writeFragment(f, r.value);
        this.set({ globalStep: state.globalStep, versions: [...state.baseVersions] });
      }
      const t0 = performance.now();
      // Local warmup after joining (core's localWarmup): a fresh AdamW's first steps are sign-like.
      const { meanLoss } = await trainer.train(1, localWarmup(this.stepsThisTab) * lrAt(state.progress), trainDeadlineMs(this.stepMsEma));
      this.stepsThisTab++;
      const ms = performance.now() - t0;
      this.stepMsEma = this.stepMsEma === undefined ? ms : 0.8 * this.stepMsEma + 0.2 * ms;
      state.recordStep(tokensPerStep);
      this.send(state.meta(this.stepMsEma));
      // A snapshot that arrived during the step comes first: a pull answered from the old state would push
      // against a dead epoch. The pulls wait one step and are answered from the new state.
      for (const pull of this.snapshot ? [] : this.pulls.splice(0)) {
        const f = state.fragments[pull.fragment];
        const push = f && state.makePush(pull, new Float32Array(await trainer.readFragment(f)));
        if (push) { this.send(push); this.set({ pushes: this.status.pushes + 1, unacked: state.resendable().length }); }
      }
      windowSteps++;
      const now = performance.now();
      if (now - windowStart > 2000) { this.set({ stepsPerSec: (1000 * windowSteps) / (now - windowStart) }); windowStart = now; windowSteps = 0; }
      this.set({ steps: state.t, tokens: this.status.tokens + tokensPerStep, loss: meanLoss });
    }
    this.loop = undefined;
  }

  /** The same inner loop with no network: what this tab does alone, for measuring the swarm's overhead. */
  private async solo(tokensPerStep: number): Promise<void> {
    this.running = true;
    this.set({ state: 'training' });
    const t0 = performance.now();
    while (this.running) {
      const t1 = performance.now();
      const { meanLoss } = await this.trainer!.train(1, 1e-3, trainDeadlineMs(this.stepMsEma));
      const ms = performance.now() - t1;
      this.stepMsEma = this.stepMsEma === undefined ? ms : 0.8 * this.stepMsEma + 0.2 * ms;
      const steps = this.status.steps + 1;
      this.set({ steps, tokens: steps * tokensPerStep, loss: meanLoss, stepsPerSec: (1000 * steps) / (performance.now() - t0) });
    }
  }

  private send(m: Message): void {
    this.link?.send(encodeMessage(m)).catch((e: unknown) => this.set({ error: `send failed: ${String(e)}` }));
  }

  /** Leave cleanly: say goodbye (the coordinator stops waiting at once), close the link, stop the worker. */
  private fail(e: unknown): void {
    this.running = false;
    this.set({ state: 'failed', error: e instanceof Error ? e.message : String(e) });
    this.send({ type: 'bye' });
    this.link?.close();
    this.trainer?.terminate();
  }

  private set(p: Partial<LearnerStatus>): void {
    Object.assign(this.status, p);
    this.onChange();
  }
}

function nextSession(): number {
  const key = 'tabswarm.session';
  try {
    const n = (Number(sessionStorage.getItem(key)) || 0) + 1;
    sessionStorage.setItem(key, String(n));
    return n;
  } catch {
    return Math.floor(Math.random() * 2 ** 31);
  }
}

function hashSeed(id: string, session: number): number {
  let h = 2166136261 ^ session;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Time for a snapshot to answer a hello (ms): a 7 MB snapshot takes ~2 s on a local link; 15 s is ample. */
const HELLO_DEADLINE_MS = 15_000;

const nextFrame = (): Promise<void> => new Promise((r) => setTimeout(r, 50));
