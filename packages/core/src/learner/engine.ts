/**
 * The learner as a pure state machine (docs/method.md §3): events in, commands out, the same shape as the
 * Syncer. The tab session, the simulator and the crash-world property test are thin interpreters of it,
 * so every rule of the learner's side exists once.
 *
 * The interpreter owns the model (a TF.js worker, or a Float32Array) and carries out, in order:
 *   train(lr)         one inner step; answer with 'stepped' when it is done
 *   read(p, tag)      read fragment p back (async); answer with 'read' carrying the tag
 *   load(params, kept) overwrite every fragment except the kept ones with `params`
 *   write(p, values, rebase?)  θ_p ← values, or θ_p ← values + (θ_p − rebase) (eager re-application)
 *   send(msg)         to the coordinator
 *   settled(push, ack)  a fact for the page: a push got its answer
 * Model commands must reach the model in the order they were issued: a read reflects every earlier
 * command and, if a train is in flight, that step too. An interpreter where a command takes effect when
 * issued (the simulator) satisfies this by doing each train's arithmetic when it is issued.
 *
 * Three rules make a push leave within milliseconds of its pull and lose nothing trained:
 * - Host copies: after each step the fragments that are due (or all, in the simulator) are read back
 *   without blocking the next step; a pull is answered at once from the copy, with the counters of the
 *   step the copy was taken at.
 * - Eager re-application: when the broadcast of a round this learner pushed arrives,
 *   θ_p ← Θ_p + (θ_p(now) − θ_p(at push)), so the steps taken while the round was in flight survive.
 * - Broadcasts are applied at step boundaries, before the next step; pulls never wait for one.
 */
import { dueBar, type Fragment } from '../fragments';
import type { ParamLayout } from '../layout';
import type { Message, MessageOf } from '../protocol';
import { DEFAULT_LR, localWarmup, lrAt, type LrSchedule } from '../schedule';
import type { EngineCommand, EngineConfig, EngineEvent } from './engine-io';
import { HelloClock } from './hello';
import { LearnerState } from './state';

export type { EngineCommand, EngineConfig, EngineEvent } from './engine-io';
export { REHELLO_MS } from './hello';

/** What a readback or host copy of fragment p is as of: the step, the base it is measured from, its counters. */
interface Stamp {
  fragment: number;
  t: number;
  tokens: number;
  epoch: number;
  baseVersion: number;
  cSteps: number;
  cTokens: number;
}
interface HostCopy extends Stamp { values: Float32Array }
/** A push in flight for eager re-application: its round, seq and the values it was made from. */
interface Pushed { round: number; epoch: number; seq: number; values: Float32Array; t: number; tokens: number }

/**
 * A joined, unpaused learner that has sent nothing for this long (ms) says 'heartbeat' on its next tick.
 * The syncer drops a learner silent for max(5 s, 3 × its mean step time) (syncer/config.ts), and on a
 * loaded machine one step outlasted that while the tab was alive (docs/browser.md §5). A learner that
 * steps faster sends a META every step and never needs it; a paused one goes silent and is dropped.
 */
export const KEEPALIVE_MS = 2000;

export class LearnerEngine {
  readonly state: LearnerState;
  /** Tokens trained by this session. */
  tokens = 0;
  /** Inner steps since the inner optimizer was fresh (new tab or rebuilt worker): drives the local warmup. */
  freshSteps = 0;
  /** Downlink updates refused because this learner did not hold their base version (healed by a full copy). */
  missedUpdates = 0;
  /** EMA of a step's wall time (ms), as the interpreter measured it: what the syncer paces the window by. */
  stepMs: number | undefined;
  private training = false;
  private paused = false;
  private H = 1;
  /** From the snapshot: the run's inner LR schedule and whether pushed fragments are waited for. */
  private lr: LrSchedule = DEFAULT_LR;
  private lockstep = false;
  /** When the learner began waiting for a broadcast in lockstep (ms), for resending its META. */
  private waitingSince: number | undefined;
  private snapshot: MessageOf<'snapshot'> | undefined;
  private inbox: Array<MessageOf<'broadcast'>> = [];
  private readonly pulls = new Map<number, MessageOf<'pull'>>();
  private readonly host = new Map<number, HostCopy>();
  private readonly pushed = new Map<number, Pushed>();
  private readonly reads = new Map<number, Stamp>();
  private nextTag = 1;
  /** The last push seq made before the current link came up: a pull on this link is never a repeat of an
   * earlier one (pull()). */
  private linkSeq = 0;
  /** Whether a hello is out, and when to say it again (hello.ts). */
  private readonly hellos: HelloClock;
  private out: EngineCommand[] = [];
  /** The current event's time (ms), and when this learner last sent anything (KEEPALIVE_MS). */
  private now = 0;
  private lastSentAt = 0;
  /** What the coordinator is told this tab trains on: cfg.backend until a 'backend' event moves it. */
  private backend: string;

  constructor(readonly cfg: EngineConfig, readonly layout: ParamLayout) {
    this.state = new LearnerState(layout, cfg.byzantine);
    this.backend = cfg.backend;
    this.hellos = new HelloClock(cfg.helloDeadlineMs);
  }

  get joined(): boolean {
    return this.state.joined;
  }

  get fragments(): readonly Fragment[] {
    return this.state.fragments;
  }

  handle(ev: EngineEvent): EngineCommand[] {
    this.out = [];
    this.now = ev.now;
    switch (ev.kind) {
      case 'connected': this.pulls.clear(); this.linkSeq = this.state.lastSeq; this.hello(ev.now); for (const p of this.state.resendable()) this.send(p); break; // pulls held were the old link's
      case 'message': this.message(ev.msg, ev.now); break;
      case 'stepped': this.stepped(ev.ms); break;
      case 'read': this.readDone(ev.tag, ev.values); break;
      case 'rebuilt': this.rebuilt(ev.now); break;
      case 'pause': this.paused = ev.paused; if (!this.training) this.boundary(); break;
      case 'tick': this.tick(ev.now); break;
      case 'backend': this.moved(ev.backend); break;
    }
    return this.out;
  }

  private message(m: Message, now: number): void {
    if (m.type === 'snapshot') {
      this.hellos.snapshot(now);
      this.snapshot = m;
      if (!this.training) this.boundary();
    } else if (m.type === 'broadcast') {
      this.inbox.push(m);
      if (!this.training) this.boundary();
    } else if (m.type === 'pull') this.pull(m);
    else if (m.type === 'ack') {
      const push = this.state.settle(m, this.cfg.session);
      if (push) this.out.push({ kind: 'settled', push, ack: m });
      if (push && m.reason === 'norm-outlier') this.resync(now);
    } else if (m.type === 'reject' && m.reason === 'unknown-learner') this.unknown(now);
  }

  /**
   * The coordinator does not know this session: the hello was lost (chaos drops and freezes lose
   * messages, docs/fault-tolerance.md §2) or the syncer dropped this tab as silent while the link stayed up.
   * Waiting out the hello deadline (15 s in a tab) would have every META refused meanwhile (≈600 after a
   * 6 s freeze). A refusal of a message sent before the last hello comes within about a round trip of it
   * (later only if the link reorders, as the simulator's does, by tens of ms); one that comes REHELLO_MS
   * or more after it answers a message sent after it, so that hello did not arrive, or was forgotten:
   * say it again.
   */
  private unknown(now: number): void {
    if (this.hellos.quiet(now)) this.hello(now);
  }

  /**
   * A push refused as a norm outlier says this tab's model has drifted from the run's, most often because
   * it trained on while nothing merged (a paused or reloading coordinator, lost pushes: docs/fault-tolerance.md
   * §3). A broadcast of the fragment would overwrite the drift, but when every learner drifted no push
   * merges and none comes: each later push is larger still and refused too, and the run stalled for good
   * (a 40 s pause of the coordinator did it). So the tab asks again with a hello, and the snapshot that
   * answers it replaces every fragment it holds at the snapshot's versions; at most one hello is out.
   */
  private resync(now: number): void {
    if (!this.hellos.out && !this.snapshot && this.joined) this.hello(now);
  }

  /**
   * Answer at once from a valid host copy; otherwise read the fragment back and answer when it arrives.
   * While a snapshot is awaited (a hello is out) or waiting for the step boundary, the pull is held and
   * answered from the new state: the coordinator sends pulls ahead of its queue (waitsForCommit), so after a
   * reconnect its first pulls can overtake the snapshot, and answering them from the old state would push
   * against a dead epoch or base.
   */
  private pull(m: MessageOf<'pull'>): void {
    // Pulled again for a round this tab answered: its push was lost on the way (syncer/repull.ts). The same
    // push goes again, whatever the tab holds now; one whose ack came is not made twice. Only a push made on
    // this link: the syncer never pulls a rejoined learner again for a round it was pulled for before, and a
    // reloaded coordinator numbers its rounds from its last commit, so its round 7 may be the dead one's
    // round 7, pulled before its snapshot (a new epoch) is adopted here: that is a pull to answer, not a repeat.
    const sent = this.state.unackedFor(m.fragment, m.round);
    if (sent && sent.seq > this.linkSeq) return this.send(sent);
    const mine = this.pushed.get(m.fragment);
    if (mine && mine.round === m.round && mine.epoch === this.state.epoch && mine.seq > this.linkSeq) return;
    if (this.hellos.out || this.snapshot || !this.joined) { this.pulls.set(m.fragment, m); return; }
    if (!this.state.fragments[m.fragment] || m.round <= this.state.baseVersions[m.fragment]!) return; // a version is the round that made it: that round has closed
    const h = this.host.get(m.fragment);
    if (h && this.current(h) && h.cSteps >= 1) return this.push(m, h);
    this.pulls.set(m.fragment, m);
    if (!this.reading(m.fragment)) this.read(m.fragment);
  }

  private reading(p: number): boolean {
    for (const s of this.reads.values()) if (s.fragment === p) return true;
    return false;
  }

  private push(pull: MessageOf<'pull'>, h: HostCopy): void {
    const msg = this.state.makePush(pull, h.values, h);
    if (!msg) return;
    this.pushed.set(pull.fragment, { round: pull.round, epoch: h.epoch, seq: msg.seq, values: h.values, t: h.t, tokens: h.tokens });
    this.send(msg);
  }

  /** Whether a stamp still describes fragment p as the learner holds it (same incarnation and base). */
  private current(s: Stamp): boolean {
    return s.epoch === this.state.epoch && s.baseVersion === this.state.baseVersions[s.fragment];
  }

  /** A readback of fragment p: as of now, or, when a step is in flight, as of the end of that step. */
  private read(p: number): void {
    const st = this.state, ahead = this.training ? 1 : 0;
    const tag = this.nextTag++;
    this.reads.set(tag, {
      fragment: p, t: st.t + ahead, tokens: this.tokens + ahead * this.cfg.tokensPerStep, epoch: st.epoch, baseVersion: st.baseVersions[p]!,
      cSteps: st.cSteps[p]! + ahead, cTokens: st.cTokens[p]! + ahead * this.cfg.tokensPerStep,
    });
    this.out.push({ kind: 'read', fragment: p, tag });
  }

  private readDone(tag: number, values: Float32Array): void {
    const s = this.reads.get(tag);
    if (!s) return;
    this.reads.delete(tag);
    if (!this.current(s) || values.length !== this.state.fragments[s.fragment]?.size) return; // the fragment moved on meanwhile
    const h: HostCopy = { ...s, values };
    this.host.set(s.fragment, h);
    const pull = this.pulls.get(s.fragment);
    if (pull && h.cSteps >= 1) { this.pulls.delete(s.fragment); this.push(pull, h); }
  }

  private stepped(ms: number): void {
    this.training = false;
    this.stepMs = this.stepMs === undefined ? ms : 0.8 * this.stepMs + 0.2 * ms;
    this.state.recordStep(this.cfg.tokensPerStep);
    this.tokens += this.cfg.tokensPerStep;
    this.freshSteps++;
    this.boundary();
  }

  /**
   * Between two steps: adopt a snapshot, then the broadcasts, tell the syncer where we are, refresh the host
   * copies, and take the next step. Nothing else may change the model while a step is in flight.
   */
  private boundary(): void {
    if (this.snapshot) this.adoptSnapshot(this.snapshot);
    if (!this.joined) return;
    for (const b of this.inbox.splice(0)) this.adoptBroadcast(b);
    if (this.state.t > 0) this.send(this.state.meta(this.stepMs ?? 0));
    for (const [p, pull] of this.pulls) {
      const h = this.host.get(p);
      if (h && this.current(h) && h.cSteps >= 1) { this.pulls.delete(p); this.push(pull, h); } // held pulls, now answerable
    }
    for (let p = 0; p < this.state.fragments.length; p++) if (this.wantsRead(p)) this.read(p);
    if (this.paused || this.waitsForSync()) return;
    this.waitingSince = undefined;
    this.training = true;
    this.out.push({ kind: 'train', lr: lrAt(this.state.progress, this.lr) * localWarmup(this.freshSteps) });
  }

  /**
   * Lockstep (synchronous baselines, docs/method.md §9): a fragment that reached the syncer's bar has been
   * or is about to be pulled, and the learner takes no step until its broadcast arrives.
   */
  waitsForSync(): boolean {
    if (!this.lockstep || !this.joined) return false;
    for (let p = 0; p < this.state.fragments.length; p++) if (this.state.cSteps[p]! >= this.dueBar(p)) return true;
    return false;
  }

  private tick(now: number): void {
    if (this.hellos.overdue(now)) this.hello(now);
    this.remind(now);
    if (this.joined && !this.paused && !this.hellos.out && now - this.lastSentAt >= KEEPALIVE_MS) {
      this.send({ type: 'heartbeat', t: this.state.t, nowMs: now });
    }
  }

  /** A learner waiting in lockstep sends nothing, so a round the syncer abandoned would leave it waiting
   * with nobody told: say where it stands again, at most once per hello deadline. */
  private remind(now: number): void {
    if (this.training || this.hellos.out || !this.waitsForSync()) { this.waitingSince = undefined; return; }
    if (this.waitingSince === undefined) this.waitingSince = now;
    else if (now - this.waitingSince > this.cfg.helloDeadlineMs) { this.waitingSince = now; this.send(this.state.meta(this.stepMs ?? 0)); }
  }

  /** The syncer's bar (fragments.ts dueBar). */
  private dueBar(p: number): number {
    return dueBar(this.H, this.state.fragments.length, p, this.state.baseVersions[p]!);
  }

  /** Refresh fragment p's host copy now? Only when it has a step on it, and (for 'due') it may soon be pulled. */
  private wantsRead(p: number): boolean {
    const st = this.state, h = this.host.get(p);
    if (st.cSteps[p]! < 1 && !this.pulls.has(p)) return false;
    if (h && h.t === st.t && this.current(h)) return false; // already as of this step
    if (this.reading(p)) return false;
    if (this.pulls.has(p) || this.cfg.readAhead === 'all') return true;
    return st.cSteps[p]! + 1 >= this.dueBar(p);
  }

  private adoptSnapshot(s: MessageOf<'snapshot'>): void {
    this.snapshot = undefined;
    // The run's tokens per step are what our hello said (the syncer refuses any other): a snapshot that
    // disagrees did not come from the coordinator that accepted us, and its claims checks would refuse our pushes.
    if (s.config.tokensPerStep !== this.cfg.tokensPerStep) {
      this.out.push({ kind: 'refused', what: 'snapshot', reason: 'bad-field', detail: `run trains ${s.config.tokensPerStep} tokens per step, this tab ${this.cfg.tokensPerStep}` });
      return;
    }
    const r = this.state.applySnapshot(s);
    if (!r.ok) { this.out.push({ kind: 'refused', what: 'snapshot', reason: r.reason, detail: r.detail }); return; }
    this.H = s.config.H;
    this.lr = s.config.lr;
    this.lockstep = s.config.lockstep;
    const kept = new Set(r.value.kept);
    for (let p = 0; p < this.state.fragments.length; p++) if (!kept.has(p)) this.forget(p);
    this.out.push({ kind: 'load', params: r.value.params, kept: r.value.kept });
  }

  private adoptBroadcast(b: MessageOf<'broadcast'>): void {
    const st = this.state, p = b.fragment;
    const r = st.applyBroadcast(b);
    if (!r.ok) {
      // A duplicate, or an update whose base this learner no longer holds (a race with a snapshot): the
      // syncer sends the next commit as a full copy, since our META still reports the older version.
      if (r.reason === 'stale-base' && b.epoch === st.epoch && b.precision === 'delta') this.missedUpdates++;
      else if (r.reason !== 'duplicate') this.out.push({ kind: 'refused', what: 'broadcast', reason: r.reason, detail: r.detail });
      return;
    }
    // The syncer's fragment version is the id of the round that produced it (syncer.close).
    const mine = this.pushed.get(p);
    if (this.cfg.adoption === 'eager' && mine && mine.round === b.version && mine.epoch === b.epoch) {
      this.out.push({ kind: 'write', fragment: p, values: r.value, rebase: mine.values });
      st.cSteps[p] = st.t - mine.t; // the steps kept on top of Θ_p are the next push's
      st.cTokens[p] = this.tokens - mine.tokens;
    } else this.out.push({ kind: 'write', fragment: p, values: r.value });
    this.forget(p);
    const pull = this.pulls.get(p);
    if (pull && pull.round <= b.version) this.pulls.delete(p); // its round has closed
  }

  /** Fragment p was rewritten: its host copy and in-flight push no longer describe it. */
  private forget(p: number): void {
    this.host.delete(p);
    this.pushed.delete(p);
  }

  private rebuilt(now: number): void {
    this.state.rejoin();
    this.training = false;
    this.freshSteps = 0; // a fresh optimizer: warm up again
    this.snapshot = undefined;
    this.inbox = [];
    this.pulls.clear();
    this.host.clear();
    this.pushed.clear();
    this.reads.clear();
    this.hello(now);
  }

  private hello(now: number): void {
    const c = this.cfg;
    this.hellos.hello(now);
    this.send({ type: 'hello', runId: c.runId, learnerId: c.learnerId, session: c.session, layoutHash: this.layout.hash, tokensPerStep: c.tokensPerStep, backend: this.backend, uplinkCodec: 3 });
  }

  /**
   * Tell the coordinator at once. Said before any connection, or while the link is down, the message is
   * lost with it, and that is fine: the next hello names the new backend, and the link is ordered, so a
   * backend message sent after a hello reaches the syncer after the join it belongs to.
   */
  private moved(backend: string): void {
    if (backend === this.backend) return;
    this.backend = backend;
    this.send({ type: 'backend', backend });
  }

  private send(msg: Message): void {
    this.lastSentAt = this.now;
    this.out.push({ kind: 'send', msg });
  }
}

/** θ_p ← values + (current − rebase), elementwise in fp32: eager re-application, one definition for every interpreter. */
export function rebased(values: Float32Array, current: Float32Array, rebase: Float32Array): Float32Array {
  if (current.length !== values.length || rebase.length !== values.length) throw new RangeError(`rebase: ${values.length}, ${current.length} and ${rebase.length} values`);
  const out = new Float32Array(values.length);
  for (let i = 0; i < out.length; i++) out[i] = values[i]! + (current[i]! - rebase[i]!);
  return out;
}
