import { decodeMessage, encodeMessage, makeLayout, planFragments, Syncer, Timeline, waitsForCommit, type DurableState, type Fragment, type ParamLayout, type Reason, type SyncCommand, type SyncEvent } from '@tabswarm/core';
import { coordinatorPeerId, hostCoordinator, type CoordinatorHost } from '@tabswarm/net';
import type { SampleOptions } from '@tabswarm/worker';
import { Chaos } from './chaos';
import { HeldEvents } from './held-events';
import type { CoordinatorConfig } from './config';
import { paramsHash } from './crc32';
import type { PrunedLog } from './retention';
import { RunLog, type Verified } from './run-log';
import { countCommit, emptyStatus, goodput, outerStatus, type CoordinatorStatus } from './status';
import { Evaluator } from './evaluator';
import { EvalLoop } from './eval-loop';
import { runSigner } from './identity';
import { stateFromModelFile } from './model-file';
import { stateFromStateFile } from './state-file';
import { Outbox } from './outbox';
import { openStore, resumeRun } from './resume';
import type { DurableStore } from './store';
import { SessionSteps } from './session-steps';

/**
 * Runs the core syncer on live learners: decoded messages in, commands out through the PeerJS host.
 * Commands run strictly in order behind a promise chain, and a 'commit' is a durable IndexedDB write:
 * nothing the syncer says after a merge (its broadcast, its acks, anything later) leaves this page before
 * that merge is on disk. A pull reveals no state, so it skips the queue (core's waitsForCommit): a round
 * opens while the previous round's commit is still being written (docs/method.md §4). Every frame leaves
 * signed with the run's key, in the order the syncer issued it (outbox.ts). Evaluation of the global model
 * runs in a worker, never on the main thread.
 */
export class CoordinatorDriver {
  syncer: Syncer | undefined;
  store: DurableStore | undefined;
  readonly status: CoordinatorStatus = emptyStatus();
  readonly chaos: Chaos;
  private host: CoordinatorHost | undefined;
  private outbox: Outbox | undefined;
  private readonly evaluator: Evaluator;
  private readonly evalLoop: EvalLoop;
  private wakeTimer: ReturnType<typeof setTimeout> | undefined;
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;
  /** Events that arrived while the coordinator was paused or rebasing, handled in order afterwards. */
  private readonly held = new HeldEvents();
  private readonly trained = new SessionSteps();
  private restoredTokens = 0;
  /** Set while a file replaces the run's state (rebaseOn): events wait in `held`, nothing more is merged. */
  private rebasing = false;
  /** How long each version's durable commit took (ms), until its broadcast reports 'synced'. */
  private readonly commitMs = new Map<number, number>();
  /** Learner ids whose link the syncer dropped, until the close is carried out (incoming). */
  private readonly dropping = new Set<string>();
  /** Commits with retention, and the log's download and replay (run-log.ts). */
  private readonly log: RunLog;
  /** The plots' history: a point every 2 s, coarser as the run grows (core's Timeline). */
  private readonly timeline = new Timeline(2000);
  /** The model's layout and fragment plan, known before the store is opened: a file can be checked against them
   * even when the run did not start (its database found gone). */
  private plan: { layout: ParamLayout; fragments: readonly Fragment[] } | undefined;

  constructor(readonly cfg: CoordinatorConfig, private readonly onChange: () => void) {
    this.chaos = new Chaos(cfg.chaosSeed, () => performance.now());
    this.log = new RunLog(cfg, this.status, () => this.refresh());
    this.evaluator = new Evaluator(cfg);
    this.evalLoop = new EvalLoop(this.evaluator, this.status, (id, bytes) => this.outbox?.send(id, bytes));
    this.status.timeline = this.timeline.points; // the same array, filled in place
  }

  async start(): Promise<void> {
    try {
      await this.lead();
      const { signer, made } = await runSigner(this.cfg.sync.runId);
      Object.assign(this.status, { fingerprint: signer.fingerprint, keyMade: made });
      const { info, backend, theta0: initial } = await this.evaluator.boot();
      const layout = makeLayout(info.specs);
      this.plan = { layout, fragments: planFragments(layout, this.cfg.sync.P) };
      const store = this.store = await openStore(this.cfg, layout);
      // The run's tokens per step from the model itself at the run's batch (batch × context, or batch for
      // digits): one source for the claims check, the snapshot every learner gets and the LR clock.
      const { syncer: s, epoch, resumed } = await resumeRun(store, this.cfg, layout, info.tokensPerStep, initial, this.status);
      this.syncer = s;
      this.restoredTokens = s.mergedTokens;
      Object.assign(this.status, {
        evalBackend: backend, numParams: s.model.theta.length, epoch, resumedFrom: resumed ? s.commitSeq : null,
        commitSeq: s.commitSeq, committedHash: paramsHash(s.model.theta), restoredHash: paramsHash(s.model.theta), mergesPerFragment: s.fragments.map(() => 0), contributorsPerFragment: s.fragments.map(() => 0),
      });
      this.host = await hostCoordinator({
        peerId: coordinatorPeerId(this.cfg.sync.runId), signal: this.cfg.signal, iceServers: this.cfg.iceServers,
        ...(this.cfg.operatorSecret ? { token: this.cfg.operatorSecret } : {}),
        maxMessageBytes: 8 * s.model.theta.length + (1 << 20),
        onJoin: () => undefined, // a learner exists for the syncer once it has said hello
        onMessage: (id, bytes) => this.incoming(id, bytes),
        onLeave: (id) => this.feed({ kind: 'leave', id, now: performance.now() }),
        tuning: { linkMbps: this.cfg.linkMbps },
      });
      this.outbox = new Outbox(signer, this.host, this.status, (e) => this.fail(e));
      setInterval(() => this.feed({ kind: 'tick', now: performance.now() }), 500);
      setInterval(() => void this.evaluate(), this.cfg.evalEveryMs);
      this.status.state = 'running';
      this.refresh(); // 'running' comes with the restored counters, not before them
      await this.evaluate();
    } catch (e) {
      this.fail(e);
    }
    this.refresh();
  }

  /** One coordinator per run per browser profile: a second tab on the same run waits, and says so. */
  private async lead(): Promise<void> {
    if (!('locks' in navigator)) return; // no Web Locks: fencing rests on the epoch alone
    const got = await new Promise<boolean>((resolve) => {
      void navigator.locks.request(`tabswarm-run-${this.cfg.sync.runId}`, { ifAvailable: true }, (lock) => {
        resolve(lock !== null);
        return lock ? new Promise<void>(() => undefined) : undefined; // held for the life of this page
      });
    });
    if (!got) throw Object.assign(new Error(`another coordinator tab holds run "${this.cfg.sync.runId}": this one will not commit`), { reason: 'not-leader' satisfies Reason });
  }

  /** Chaos sits on the boundary: a frozen or dropped message never reaches the syncer. */
  private incoming(id: string, bytes: Uint8Array): void {
    this.status.bytesIn += bytes.length;
    // A link the syncer dropped is gone from that moment, though the close waits behind the signing queue:
    // what it sends meanwhile is not answered (each answer would be a signed 'unknown-learner' frame, and
    // a flood would lengthen the very queue its close waits behind).
    if (this.dropping.has(id)) { this.status.framesAfterDrop++; return; }
    const c = this.chaos.incoming(id);
    if (c.drop) return;
    if (c.delayMs > 0) setTimeout(() => this.onBytes(id, bytes), c.delayMs);
    else this.onBytes(id, bytes);
  }

  private onBytes(id: string, bytes: Uint8Array): void {
    const now = performance.now();
    const d = decodeMessage(bytes);
    if (!d.ok) {
      this.status.rejections[d.reason] = (this.status.rejections[d.reason] ?? 0) + 1;
      return this.feed({ kind: 'invalid', id, now, reason: d.reason });
    }
    this.feed(d.value.type === 'hello' ? { kind: 'join', id, now, hello: d.value } : { kind: 'message', id, now, msg: d.value });
  }

  feed(ev: SyncEvent): void {
    if (!this.syncer || this.status.state === 'failed') return;
    if (this.chaos.paused || this.rebasing) return this.held.hold(ev, this.chaos.paused);
    let cmds: SyncCommand[];
    try {
      cmds = this.syncer.handle(ev);
    } catch (e) {
      return this.fail(e); // a bug in the core: stop committing and say so, rather than run on a half-updated syncer
    }
    for (const c of cmds) this.enqueue(c);
    this.refresh();
  }

  /** Pause the coordinator for `ms` (chaos): events queue up and are handled, in order, afterwards. */
  pause(ms: number): void {
    this.chaos.pausedUntil = performance.now() + ms;
    this.chaos.record('pause', 'coordinator', `${ms} ms`);
    this.refresh(); // the panel counts the pause now, not once it is over
    setTimeout(() => this.flushHeld(), ms);
  }

  /**
   * A paused coordinator commits nothing while its learners push on, which is global downtime as much as
   * a slow disk is (docs/fault-tolerance.md §1): from the first learner message it held, beyond the same
   * allowance a commit gets. The rounds those messages then close are timed from their release, so the
   * commits that follow do not count this wait again.
   */
  private flushHeld(): void {
    const { events, waitedMs } = this.held.release(performance.now());
    this.status.downtimeMs += Math.max(0, waitedMs - this.downtimeAllowanceMs);
    for (const ev of events) this.feed(ev);
  }

  /** Cut a learner's link silently, as if its tab had died (chaos). */
  kill(id: string): void {
    this.host?.drop(id, 'chaos: killed');
    this.chaos.record('kill', id, 'link cut without a goodbye');
    this.feed({ kind: 'leave', id, now: performance.now() });
  }

  /** Commands after an unfinished commit wait for it: the chain is the write-ahead order. */
  private enqueue(c: SyncCommand): void {
    if (c.kind === 'wake') return this.wake(c.at); // timers are local, not a message: no need to wait
    if (c.kind === 'rejected') { this.status.rejections[c.reason] = (this.status.rejections[c.reason] ?? 0) + 1; return; }
    if (c.kind === 'drop') this.dropping.add(c.id);
    if (!waitsForCommit(c)) { void this.run(c); return; }
    this.queued++;
    this.chain = this.chain.then(() => this.run(c)).catch((e: unknown) => this.fail(e)).finally(() => { this.queued--; });
  }

  private async run(c: Exclude<SyncCommand, { kind: 'wake' | 'rejected' }>): Promise<void> {
    if (this.status.state === 'failed') return;
    const out = this.outbox!;
    switch (c.kind) {
      case 'commit': {
        const t0 = performance.now();
        await this.log.commit(this.store!, c.commit);
        const done = performance.now();
        this.commitMs.set(c.commit.version, done - t0);
        countCommit(this.status, c.commit.entry, { seq: c.commit.seq, hash: paramsHash(this.store!.state!.theta), t0, done, allowanceMs: this.downtimeAllowanceMs });
        return;
      }
      case 'send':
        return out.send(c.to, encodeMessage(c.msg), c.msg.type === 'snapshot');
      case 'broadcast': {
        const round = c.msg.type === 'broadcast' ? c.msg.version : undefined;
        return out.broadcast(c.to, encodeMessage(c.msg), () => {
          if (round === undefined) return;
          const commitMs = this.commitMs.get(round);
          this.commitMs.delete(round);
          this.feed({ kind: 'synced', round, now: performance.now(), ...(commitMs === undefined ? {} : { commitMs }) });
        });
      }
      case 'drop':
        return out.drop(c.id, c.reason, () => this.dropping.delete(c.id));
    }
  }

  private wake(at: number): void {
    clearTimeout(this.wakeTimer);
    this.wakeTimer = setTimeout(() => this.feed({ kind: 'tick', now: performance.now() }), Math.max(0, at - performance.now()));
  }

  /** Log pieces retention moved out of the database, for download (main.ts) and replay. */
  get pruned(): PrunedLog {
    return this.log.pruned;
  }

  /** The merge log as NDJSON (run-log.ts). */
  logNdjson(): Promise<Blob> {
    return this.log.ndjson(this.store!);
  }

  /** Replay the durable merge log and compare with the committed state (run-log.ts; call it drained). */
  verifyLog(): Promise<Verified> {
    return this.log.verify(this.store!, this.cfg.sync, this.syncer!.layout);
  }

  /** Text: `o.prompt` continued by the current global model, in the evaluation worker. */
  sample(o: SampleOptions): Promise<string> {
    return this.evaluator.sample(Float32Array.from(this.syncer!.model.theta), o);
  }

  /** Digits: the current global model's class probabilities for a 28×28 image, in the evaluation worker. */
  predict(pixels: Float32Array): Promise<number[]> {
    return this.evaluator.predict(Float32Array.from(this.syncer!.model.theta), pixels);
  }

  /**
   * Replace the run's durable state with a model file's (model-file.ts) or a saved state file's
   * (state-file.ts): the file is checked first and a refused one changes nothing; then this page stops
   * merging, lets queued commits finish and rebases the store in one transaction. The caller reloads the
   * page, which resumes from the new state as a new incarnation, so learners reconnect and receive it in
   * their snapshots. A rebase that fails (a full disk, a refused request) leaves the store as it was: the
   * events held meanwhile are handled and the run goes on. A run whose database was found gone (resume.ts)
   * takes the file as its base at an epoch above the one this profile recorded, as restartRun does.
   */
  async importModel(bytes: Uint8Array): Promise<void> {
    await this.rebaseOn((layout, fragments) => stateFromModelFile(bytes, layout, fragments));
  }

  async loadState(bytes: Uint8Array): Promise<void> {
    await this.rebaseOn((layout, fragments) => stateFromStateFile(bytes, layout, fragments));
  }

  private async rebaseOn(decode: (layout: ParamLayout, fragments: readonly Fragment[]) => DurableState): Promise<void> {
    const s = this.syncer, store = this.store, plan = this.plan, lost = this.status.lostEpoch;
    if (lost !== null && store && plan) return store.rebase(decode(plan.layout, plan.fragments), lost); // nothing runs: no queue to drain
    if (!s || !store || this.status.state !== 'running' || this.rebasing) throw new Error('the coordinator is not running');
    const state = decode(s.layout, s.fragments);
    this.rebasing = true;
    try {
      await this.chain;
      await store.rebase(state);
    } catch (e) {
      if ((e as { unknownOutcome?: boolean }).unknownOutcome) { this.fail(e); throw e; } // the reload decides which state holds
      this.rebasing = false;
      if (!this.chaos.paused) this.flushHeld();
      throw e;
    }
  }

  /** A quorum may wait this long (ms) for its commit before the wait counts as downtime: grace cap + one heartbeat. */
  private get downtimeAllowanceMs(): number {
    return this.cfg.sync.grace.capMs + this.cfg.sync.heartbeatMinMs;
  }

  /** True once every command the syncer issued has been carried out (nothing waits on a commit). */
  get drained(): boolean {
    return this.queued === 0;
  }

  private async evaluate(): Promise<void> {
    if (this.syncer && await this.evalLoop.run(this.syncer)) this.refresh();
  }

  /**
   * The operator's explicit restart from θ₀ once the run's database is found gone: the stored state is
   * cleared and the next incarnation is above the epoch this profile recorded, so learners take its
   * weights. The page reloads to start it.
   */
  async restartRun(): Promise<void> {
    const e = this.status.lostEpoch;
    if (e === null || !this.store) throw new Error('nothing to restart: this coordinator did not find its state gone');
    await this.store.restartAbove(e);
  }

  private fail(e: unknown): void {
    this.status.state = 'failed';
    this.status.error = e instanceof Error ? e.message : String(e);
    this.host?.close(); // learners reconnect to whichever coordinator holds the run next
    this.refresh();
  }

  private refresh(): void {
    const s = this.syncer;
    if (s) {
      const now = performance.now();
      if (this.host) this.status.refusedConnections = this.host.stats().refusedConnections;
      Object.assign(this.status, { globalStep: s.globalStep, merges: s.merges, mergedTokens: s.mergedTokens, repulls: s.repulls, chaos: { ...this.chaos.counts } }, outerStatus(s));
      this.status.learners = [...s.learners.values()].map((l) => {
        this.trained.saw(l.id, l.session, l.t);
        return { id: l.id, backend: l.backend, connected: l.connected, stepMs: l.stepMs, t: l.t, merges: l.merges, tokens: l.tokensMerged, lastSeenMs: now - l.lastSeen, strikes: l.strikes };
      });
      const perSession = this.trained.perSession();
      this.status.goodput = goodput(s, perSession.map((n) => n * s.cfg.tokensPerStep), this.restoredTokens);
      this.status.learnerSteps = perSession.reduce((n, x) => n + x, 0);
      const st = this.status;
      this.timeline.offer({ nowMs: now, mergedTokens: st.mergedTokens, goodput: st.goodput.ratio, merges: st.merges, contributorsTotal: st.contributorsTotal, bytesIn: st.bytesIn, bytesOut: st.bytesOut, learners: st.learners });
    }
    this.onChange();
  }
}
