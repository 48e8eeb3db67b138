import { encodeMessage, gather, LearnerEngine, makeLayout, openSigned, type EngineCommand, type EngineEvent, type Message } from '@tabswarm/core';
import { connectLearner, coordinatorPeerId, pageClock, pinCoordinator, type LearnerLink, type LearnerPin } from '@tabswarm/net';
import { describePreset, startTrainer, TrainerError, type BackendName, type InitInfo, type Trainer } from '@tabswarm/worker';
import { calibrate, choiceKey, pickBackend, remember, type ChoiceStore } from './backend-choice';
import { HANG_DEADLINE_MS, isRecoverable, RecoveryBudget, trainDeadlineMs } from './recovery';
import { dataUrl, hashSeed, HELLO_DEADLINE_MS, nextSession, pinMemory, storage } from './tab';
import { burnSecret, forgetIdentity, type LearnerConfig } from './config';
import { initialStatus, type LearnerStatus } from './status';

/**
 * One learner tab: core's LearnerEngine owns every rule of the protocol (docs/method.md §3); this class
 * interprets its commands. Model commands (train, read, load, write) run one after another on the worker,
 * in the order the engine issued them; messages go out at once, so a pull is answered from the engine's
 * host copy while a step is still running. A worker that crashes, hangs or loses its device is rebuilt
 * and the engine asks for the latest global weights.
 */
export class LearnerSession {
  readonly status: LearnerStatus;
  private trainer: Trainer | undefined;
  private link: LearnerLink | undefined;
  private engine: LearnerEngine | undefined;
  /** The worker's queue: each model command starts when the one before it has finished. */
  private work: Promise<void> = Promise.resolve();
  /** Worker generation: commands queued for a worker that has since died are dropped, not run on the next. */
  private gen = 0;
  private running = false;
  private readonly session = nextSession();
  private tokensPerStep = 0;
  private readonly budget = new RecoveryBudget();
  private rate = { since: 0, steps: 0 };
  private startedAt = 0;
  /** Which rule cleared `status.error` belongs to: link trouble clears when the link works again, a
   * refusal when a push is merged again; a failure never clears. */
  private errorKind: 'link' | 'refused' | 'failed' | undefined;
  private readonly store: ChoiceStore | undefined = storage();
  private readonly pin: LearnerPin;
  /** Frames are opened one at a time, in arrival order (verifying a signature is asynchronous). */
  private inbox: Promise<void> = Promise.resolve();
  /** Pushes wait until the coordinator at the other end of this link has signed a frame with the pinned key:
   * an impostor never receives one, not even a resend of an unacked push (docs/security.md §2). */
  private trusted = false;
  private held: Message[] = [];
  /** Bumped when a link opens. A frame speaks only for the link it came on: a check that ends after the next
   * link opened must neither trust that link (it may be an impostor on the coordinator's id) nor restart it. */
  private linkGen = 0;

  constructor(readonly cfg: LearnerConfig, private readonly onChange: () => void) {
    this.status = initialStatus(cfg);
    this.pin = pinCoordinator(cfg.coordinator, pinMemory(cfg.runId));
    this.status.coordinator = this.pin.fingerprint ?? '';
    this.status.pinnedBy = this.pin.source;
  }

  async start(): Promise<void> {
    this.startedAt = performance.now();
    try {
      this.set({ state: 'probing' });
      const info = await this.startWorker();
      this.tokensPerStep = info.tokensPerStep;
      if (this.cfg.solo) return await this.solo(info.tokensPerStep);
      this.engine = new LearnerEngine({
        runId: this.cfg.runId, learnerId: this.cfg.learnerId, session: this.session, tokensPerStep: info.tokensPerStep, backend: this.status.backend,
        // 'due' on every backend: refreshing every fragment after every step halved a digits tab's steps/s in
        // the swarm (8 ms steps, two readbacks each, npm run bench); only fragments about to be pulled are read.
        adoption: 'eager', readAhead: 'due', helloDeadlineMs: HELLO_DEADLINE_MS,
        ...(this.cfg.byzantine === undefined ? {} : { byzantine: this.cfg.byzantine }),
      }, makeLayout(info.specs));
      this.set({ state: 'connecting' });
      this.running = true;
      this.link = connectLearner({
        coordinatorId: coordinatorPeerId(this.cfg.runId), learnerId: this.cfg.learnerId, secret: this.cfg.secret, signal: this.cfg.signal, iceServers: this.cfg.iceServers,
        tuning: { linkMbps: this.cfg.linkMbps }, // --link-mbps: this direction's half of the cap
        onOpen: () => {
          this.status.linkOpens++;
          this.clearError('link');
          this.linkGen++;
          this.trusted = false;
          this.held = [];
          this.feed({ kind: 'connected', now: performance.now() }); // hello, then every push not yet acked (held until trusted)
        },
        onMessage: (bytes) => this.receive(bytes),
        onState: (state, detail) => this.set({ link: state === 'open' ? `open (${detail})` : `${state === 'waiting' ? 'reconnecting' : state}: ${detail}` }),
        // 'replaced': another tab with our id and secret took over (a duplicated tab: its sessionStorage is
        // copied with it); 'id-in-use': another session owns this id. The link gives up on this id for good.
        onClose: (reason) => reason === 'replaced' || reason === 'id-in-use'
          ? this.lostId(reason)
          : this.set({ state: this.running && this.status.state !== 'paused' ? 'connecting' : this.status.state }),
      });
      // Every second: the hello deadline and the keepalive (KEEPALIVE_MS), on the link's worker-driven clock.
      // With a main-thread interval instead, a hidden tab on a loaded machine was still dropped by the
      // syncer as silent for 5.3 s while the page answered every ping (docs/browser.md §5).
      const clock = pageClock();
      const tick = (): void => { this.feed({ kind: 'tick', now: performance.now() }); clock.setTimeout(tick, 1000); };
      clock.setTimeout(tick, 1000);
    } catch (e) {
      this.fail(e);
    }
  }

  pause(paused: boolean): void {
    this.set({ state: paused ? 'paused' : 'training' });
    this.feed({ kind: 'pause', paused, now: performance.now() });
  }

  /** Chaos drill (window.__tabswarmFault): crash or hang the worker, or lose its WebGPU device. */
  injectFault(kind: 'crash' | 'hang' | 'device-loss'): void {
    if (kind === 'device-loss') void this.trainer?.debugLoseDevice().catch(() => undefined);
    else this.trainer?.debugFault(kind, 60_000);
  }

  private async startWorker(): Promise<InitInfo> {
    // 60 s to load and answer: sixteen tabs opened at once on a loaded 2-core machine (load average 40)
    // all missed the client's default 20 s (npm run bench:start), and each of them then stopped for good.
    this.trainer = await startTrainer({ trainTimeoutMs: HANG_DEADLINE_MS, callTimeoutMs: HANG_DEADLINE_MS, startTimeoutMs: 60_000 });
    const rebuilt = this.status.backendSource !== '';
    const { report, source } = await pickBackend(this.trainer, {
      force: this.cfg.backend, candidates: this.cfg.backends, workload: this.cfg.workload, store: this.store, key: choiceKey(this.cfg.workload, this.cfg.model),
      ...(rebuilt ? { prefer: this.status.backend } : {}), // a rebuilt worker goes back to the backend it was on
    });
    this.set({ backend: report.chosen, why: report.why, state: this.status.state === 'recovering' ? 'recovering' : 'loading', ...(rebuilt ? {} : { backendSource: source }) });
    this.feed({ kind: 'backend', backend: report.chosen, now: performance.now() }); // a rebuilt worker that could not go back: the coordinator's table follows
    const info = await this.trainer.init({ workload: this.cfg.workload, dataBaseUrl: dataUrl(), config: this.cfg.model, batch: this.cfg.batch, seed: hashSeed(this.cfg.learnerId, this.session), backend: report.chosen, slowdown: this.cfg.slowdown });
    this.set({ model: `${describePreset(this.cfg.workload, this.cfg.model)}; ${info.numParams.toLocaleString('en')} parameters` });
    return info;
  }

  /**
   * After the first merged update, when the backend was the first to pass rather than measured: time all
   * candidates in another worker and, if one is clearly faster, move the model there through the
   * worker's queue (between two model commands, parameters and AdamW moments kept). The outcome is
   * remembered for this origin either way, so the next start skips both the probe order and this.
   */
  private calibrateLater(): void {
    if (this.status.backendSource !== 'first' || this.status.calibration !== '' || this.cfg.solo) return;
    this.set({ calibration: 'running' });
    const from = this.status.backend as BackendName, key = choiceKey(this.cfg.workload, this.cfg.model);
    calibrate({ workload: this.cfg.workload, model: this.cfg.model, batch: this.cfg.batch, dataBaseUrl: dataUrl(), candidates: this.cfg.backends }, from).then(({ report, switchTo }) => {
      if (!switchTo) {
        remember(this.store, key, { backend: from, why: `calibrated: ${report.why}` });
        return this.set({ calibration: `kept ${from}: ${report.why}` });
      }
      const gen = this.gen;
      this.work = this.work.then(async () => {
        if (gen !== this.gen || !this.trainer) return;
        try {
          await this.trainer.switchBackend(switchTo);
          remember(this.store, key, { backend: switchTo, why: `calibrated: ${report.why}` });
          this.set({ backend: switchTo, backendSource: 'calibrated', why: report.why, calibration: `switched from ${from} to ${switchTo}` });
          this.feed({ kind: 'backend', backend: switchTo, now: performance.now() }); // the coordinator's table follows (protocol v7)
        } catch (e) {
          if (!(e instanceof TrainerError && e.code === 'backend-failed')) throw e; // the worker itself failed: recover as usual
          this.set({ calibration: `stayed on ${from}: ${e.message}` });
        }
      }).catch((e: unknown) => this.workerFailed(e, gen));
    }, (e: unknown) => this.set({ calibration: `failed, staying on ${from}: ${e instanceof Error ? e.message : String(e)}` }));
  }

  private feed(ev: EngineEvent): void {
    if (!this.engine || this.status.state === 'failed') return;
    for (const c of this.engine.handle(ev)) this.run(c);
    this.show();
  }

  private run(c: EngineCommand): void {
    if (c.kind === 'send') {
      this.send(c.msg);
      if (c.msg.type === 'push') this.status.pushes++;
    } else if (c.kind === 'settled') {
      if (c.ack.outcome === 'merged') {
        const keys = this.status.mergedKeys;
        keys.push(`${this.cfg.learnerId}/${this.session}/${c.ack.seq}`);
        if (keys.length > 10_000) keys.shift();
        this.status.merges++;
        this.status.firstMergeMs ??= performance.now() - this.startedAt;
        this.status.firstMergeAt ??= Date.now();
        this.clearError('refused');
        this.calibrateLater();
      } else this.status.rejected++;
    } else if (c.kind === 'refused') this.showError('refused', `${c.what} refused: ${c.reason} (${c.detail})`);
    else {
      const gen = this.gen;
      this.work = this.work.then(() => (gen === this.gen ? this.onWorker(c) : undefined)).catch((e: unknown) => this.workerFailed(e, gen));
    }
  }

  /** One model command on the worker; its answer (a finished step, a readback) goes back to the engine. */
  private async onWorker(c: Exclude<EngineCommand, { kind: 'send' | 'settled' | 'refused' }>): Promise<void> {
    const trainer = this.trainer!, fragments = this.engine!.fragments;
    if (c.kind === 'train') {
      const t0 = performance.now();
      const { meanLoss, optimizerSteps } = await trainer.train(1, c.lr, trainDeadlineMs(this.engine!.stepMs));
      const now = performance.now();
      this.status.loss = meanLoss;
      this.status.optimizerSteps = optimizerSteps;
      this.countStep(now);
      this.feed({ kind: 'stepped', now, ms: now - t0 });
    } else if (c.kind === 'read') {
      const values = new Float32Array(await trainer.readFragment(fragments[c.fragment]!));
      this.feed({ kind: 'read', tag: c.tag, values, now: performance.now() });
    } else if (c.kind === 'write') {
      await trainer.writeFragment(fragments[c.fragment]!, c.values, c.rebase);
    } else {
      const kept = new Set(c.kept);
      if (kept.size === 0) await trainer.setParams(c.params);
      else for (const f of fragments) if (!kept.has(f.index)) await trainer.writeFragment(f, gather(c.params, f));
      if (this.status.state !== 'paused') this.set({ state: 'training' });
    }
  }

  /**
   * A model command failed. A recoverable fault rebuilds the worker: the engine forgets its anchors, host
   * copies and pushes in flight (keeping unacked pushes) and asks for a snapshot at once; every command it
   * issues meanwhile waits for the new worker. Nothing from the dead worker is pushed.
   */
  private workerFailed(e: unknown, gen: number): Promise<void> | undefined {
    if (gen !== this.gen) return undefined; // that worker's failure was handled already
    this.gen++;
    if (!this.running || !isRecoverable(e) || !this.budget.take(performance.now())) { this.fail(e); return undefined; }
    const t0 = performance.now();
    this.set({ state: 'recovering', recoveries: this.status.recoveries + 1, lastFault: e instanceof Error ? e.message : String(e) });
    this.trainer?.terminate();
    this.work = this.startWorker().then((info) => {
      if (info.tokensPerStep !== this.tokensPerStep) throw new Error('the rebuilt worker trains a different batch');
      this.set({ recoveryMs: performance.now() - t0 });
    }).catch((err: unknown) => this.fail(err));
    this.feed({ kind: 'rebuilt', now: performance.now() });
    return this.work;
  }

  private receive(bytes: Uint8Array): void {
    const gen = this.linkGen; // at receipt: the check below may end after another link opened
    this.inbox = this.inbox.then(() => openSigned(bytes, this.pin)).then((d) => {
      const current = gen === this.linkGen;
      if (d.ok) {
        if (!current) return; // that link is gone; the engine said hello again on this one
        this.clearError('link'); // a frame that opens: the link works
        return this.deliver(d.value);
      }
      if (d.reason !== 'wrong-key' && d.reason !== 'bad-signature' && d.reason !== 'unsigned') {
        return current ? this.showError('link', `coordinator sent an invalid message: ${d.reason}`) : undefined;
      }
      // Not the run's coordinator: nothing it said is used, this tab's secret is burnt for the next load (it
      // went to that stranger, whichever link it was), and this link starts over, with a backoff, until the
      // coordinator with the pinned key answers.
      const refusals = this.status.identityRefusals;
      refusals[d.reason] = (refusals[d.reason] ?? 0) + 1;
      burnSecret();
      if (!current) return;
      // A tab that trusted another key on an earlier load refuses this one: say how to move on.
      const hint = d.reason === 'wrong-key' && this.pin.source === 'earlier load' ? '; this tab trusted another key for this run before: open the join URL from the coordinator page, whose #coord= names the key' : '';
      this.showError('link', `coordinator identity refused: ${d.reason} (${d.detail}${hint})`);
      this.link?.restart('untrusted-coordinator');
    }).catch((e: unknown) => this.fail(e));
  }

  private deliver(m: Message): void {
    if (!this.trusted) {
      this.trusted = true;
      this.set({ coordinator: this.pin.fingerprint ?? '' });
      for (const p of this.held.splice(0)) this.send(p);
    }
    if (m.type === 'status') this.set({ globalLoss: m.loss, yourTokens: m.yourTokens, learnerTokens: m.learnerTokens, share: m.learnerTokens > 0 ? m.yourTokens / m.learnerTokens : null });
    else {
      if (m.type === 'reject') this.showError('refused', `coordinator refused us: ${m.reason} (${m.detail})`);
      this.feed({ kind: 'message', msg: m, now: performance.now() }); // a refusal too: the engine may say hello again
    }
  }

  private countStep(now: number): void {
    this.rate.steps++;
    if (now - this.rate.since > 2000) {
      if (this.rate.since > 0) this.status.stepsPerSec = (1000 * this.rate.steps) / (now - this.rate.since);
      this.rate = { since: now, steps: 0 };
    }
  }

  /** Copies what the page shows out of the engine. */
  private show(): void {
    const e = this.engine;
    if (!e) return;
    const st = e.state;
    this.set({ steps: st.t, tokens: e.tokens, globalStep: st.globalStep, epoch: st.epoch, versions: [...st.baseVersions], unacked: st.resendable().length, lastSeq: st.lastSeq });
  }

  /** The same inner loop with no network: what this tab does alone, for measuring the swarm's overhead. */
  private async solo(tokensPerStep: number): Promise<void> {
    this.running = true;
    this.set({ state: 'training' });
    const t0 = performance.now();
    let stepMs: number | undefined;
    while (this.running) {
      const t1 = performance.now();
      const { meanLoss } = await this.trainer!.train(1, 1e-3, trainDeadlineMs(stepMs));
      const ms = performance.now() - t1;
      stepMs = stepMs === undefined ? ms : 0.8 * stepMs + 0.2 * ms;
      const steps = this.status.steps + 1;
      this.set({ steps, tokens: steps * tokensPerStep, loss: meanLoss, stepsPerSec: (1000 * steps) / (performance.now() - t0) });
    }
  }

  /**
   * A send while the link is down is not an error: the engine keeps every unacked push and resends it
   * once the link is back (the `link` line says it is reconnecting). Other send failures are shown until
   * the link works again.
   */
  private send(m: Message): void {
    if (m.type === 'push' && !this.trusted) { this.held.push(m); return; }
    this.link?.send(encodeMessage(m)).catch((e: unknown) => {
      if (this.link?.state !== 'open') return;
      this.showError('link', `send failed: ${String(e)}`);
    });
  }

  private showError(kind: 'link' | 'refused', error: string): void {
    if (this.errorKind === 'failed') return;
    this.errorKind = kind;
    this.set({ error });
  }

  private clearError(kind: 'link' | 'refused'): void {
    if (this.errorKind !== kind) return;
    this.errorKind = undefined;
    this.set({ error: '' });
  }

  /** Leave cleanly: say goodbye (the coordinator stops waiting at once), close the link, stop the worker. */
  /**
   * Another session holds this tab's learner id. With the id from `?id=` (the operator's choice) the tab
   * stops and says why; with its own id it rejoins as a new learner (a fresh id and secret, and a reload),
   * so a duplicated tab and its original both contribute. Pushes the old id had not had acked are lost,
   * which the coordinator counts as lost in flight.
   */
  private lostId(reason: 'replaced' | 'id-in-use'): void {
    if (this.cfg.idFromUrl) {
      return this.fail(new Error(reason === 'replaced'
        ? `replaced: another tab with learner id ${this.cfg.learnerId} took over; this one has stopped (open the join URL without ?id=)`
        : `id-in-use: learner id ${this.cfg.learnerId} belongs to another session; open the join URL without ?id=`));
    }
    this.fail(new Error(`${reason}: another session holds learner id ${this.cfg.learnerId}; rejoining under a new id`));
    forgetIdentity();
    location.reload();
  }

  private fail(e: unknown): void {
    this.running = false;
    this.gen++;
    this.errorKind = 'failed';
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
