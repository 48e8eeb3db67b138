import { decodeMessage, encodeMessage, makeLayout, Syncer, type MergeLogEntry, type Reason, type SyncCommand, type SyncEvent } from '@tabswarm/core';
import { coordinatorPeerId, hostCoordinator, type CoordinatorHost } from '@tabswarm/net';
import { startTrainer, type Trainer } from '@tabswarm/worker';
import type { CoordinatorConfig } from './config';

/** What the dashboard shows and Playwright polls (window.__tabswarm). */
export interface CoordinatorStatus {
  state: 'starting' | 'running' | 'failed';
  error: string;
  globalStep: number;
  merges: number;
  mergesPerFragment: number[];
  contributorsPerFragment: number[];
  mergedTokens: number;
  learners: Array<{ id: string; backend: string; connected: boolean; stepMs: number | undefined; t: number; merges: number; tokens: number; lastSeenMs: number }>;
  rejections: Partial<Record<Reason, number>>;
  bytesIn: number;
  bytesOut: number;
  loss: Array<{ step: number; tokens: number; loss: number; at: number }>;
  evalBackend: string;
  numParams: number;
}

/**
 * Runs the core syncer on live learners: decoded messages in, commands out through the PeerJS host.
 * Evaluation of the global model runs in a worker, never on this page's main thread.
 */
export class CoordinatorDriver {
  syncer: Syncer | undefined;
  readonly status: CoordinatorStatus = {
    state: 'starting', error: '', globalStep: 0, merges: 0, mergesPerFragment: [], contributorsPerFragment: [], mergedTokens: 0,
    learners: [], rejections: {}, bytesIn: 0, bytesOut: 0, loss: [], evalBackend: '–', numParams: 0,
  };
  readonly log: MergeLogEntry[] = [];
  private host: CoordinatorHost | undefined;
  private evaluator: Trainer | undefined;
  private wakeTimer: ReturnType<typeof setTimeout> | undefined;
  private evaluatedAt = -1;

  constructor(readonly cfg: CoordinatorConfig, private readonly onChange: () => void) {}

  async start(): Promise<void> {
    try {
      this.evaluator = await startTrainer();
      const probe = await this.evaluator.probe({ force: this.cfg.evalBackend, workload: this.cfg.workload });
      const info = await this.evaluator.init({ workload: this.cfg.workload, dataBaseUrl: new URL('../data/', location.href).href, config: this.cfg.model, batch: 8, seed: this.cfg.seed, backend: probe.chosen });
      const init = new Float32Array(await this.evaluator.getParams());
      this.syncer = new Syncer(this.cfg.sync, makeLayout(info.specs), init);
      this.status.evalBackend = probe.chosen;
      this.status.numParams = init.length;
      this.status.mergesPerFragment = this.syncer.fragments.map(() => 0);
      this.status.contributorsPerFragment = this.syncer.fragments.map(() => 0);
      this.host = await hostCoordinator({
        peerId: coordinatorPeerId(this.cfg.sync.runId), signal: this.cfg.signal, iceServers: this.cfg.iceServers,
        maxMessageBytes: 8 * init.length + (1 << 20),
        onJoin: () => undefined, // a learner exists for the syncer once it has said hello
        onMessage: (id, bytes) => this.onBytes(id, bytes),
        onLeave: (id) => this.feed({ kind: 'leave', id, now: performance.now() }),
      });
      setInterval(() => this.feed({ kind: 'tick', now: performance.now() }), 500);
      setInterval(() => void this.evaluate(), this.cfg.evalEveryMs);
      this.status.state = 'running';
      await this.evaluate();
    } catch (e) {
      this.status.state = 'failed';
      this.status.error = e instanceof Error ? e.message : String(e);
    }
    this.refresh();
  }

  private onBytes(id: string, bytes: Uint8Array): void {
    this.status.bytesIn += bytes.length;
    const d = decodeMessage(bytes);
    if (!d.ok) {
      this.status.rejections[d.reason] = (this.status.rejections[d.reason] ?? 0) + 1;
      return this.refresh();
    }
    const now = performance.now();
    this.feed(d.value.type === 'hello' ? { kind: 'join', id, now, hello: d.value } : { kind: 'message', id, now, msg: d.value });
  }

  feed(ev: SyncEvent): void {
    if (!this.syncer) return;
    for (const c of this.syncer.handle(ev)) this.run(c);
    this.refresh();
  }

  private run(c: SyncCommand): void {
    const host = this.host!;
    switch (c.kind) {
      case 'send': {
        const bytes = encodeMessage(c.msg);
        this.status.bytesOut += bytes.length;
        host.send(c.to, bytes).catch(() => undefined); // a failed send means the link is closing: onLeave follows
        return;
      }
      case 'broadcast': {
        const bytes = encodeMessage(c.msg); // encoded once for every recipient
        this.status.bytesOut += bytes.length * c.to.length;
        const round = c.msg.type === 'broadcast' ? c.msg.version : undefined;
        void host.broadcast(c.to, bytes).then(() => { if (round !== undefined) this.feed({ kind: 'synced', round, now: performance.now() }); });
        return;
      }
      case 'drop': return host.drop(c.id, c.reason);
      case 'wake':
        clearTimeout(this.wakeTimer);
        this.wakeTimer = setTimeout(() => this.feed({ kind: 'tick', now: performance.now() }), Math.max(0, c.at - performance.now()));
        return;
      case 'merged': {
        this.log.push(c.entry);
        this.status.mergesPerFragment[c.entry.fragment]!++;
        this.status.contributorsPerFragment[c.entry.fragment] = c.entry.contributors.length;
        return;
      }
      case 'rejected':
        this.status.rejections[c.reason] = (this.status.rejections[c.reason] ?? 0) + 1;
        return;
    }
  }

  /** Held-out loss of the global model, in the evaluation worker; skipped when nothing merged since. */
  private async evaluate(): Promise<void> {
    const s = this.syncer, ev = this.evaluator;
    if (!s || !ev || s.merges === this.evaluatedAt) return;
    this.evaluatedAt = s.merges;
    const step = s.globalStep, tokens = s.mergedTokens;
    await ev.setParams(Float32Array.from(s.model.theta));
    const loss = await ev.evaluate();
    this.status.loss.push({ step, tokens, loss, at: performance.now() });
    const to = s.connectedIds();
    const bytes = encodeMessage({ type: 'status', globalStep: step, loss, learners: to.length });
    this.status.bytesOut += bytes.length * to.length;
    void this.host?.broadcast(to, bytes);
    this.refresh();
  }

  private refresh(): void {
    const s = this.syncer;
    if (s) {
      const now = performance.now();
      Object.assign(this.status, { globalStep: s.globalStep, merges: s.merges, mergedTokens: s.mergedTokens });
      this.status.learners = [...s.learners.values()].map((l) => ({
        id: l.id, backend: l.backend, connected: l.connected, stepMs: l.stepMs, t: l.t, merges: l.merges, tokens: l.tokensMerged, lastSeenMs: now - l.lastSeen,
      }));
    }
    this.onChange();
  }
}
