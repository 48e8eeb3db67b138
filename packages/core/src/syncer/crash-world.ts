/**
 * A model of the whole commit path for the exactly-once property test (docs/method.md §3): one
 * coordinator (the real Syncer behind an ordered outbox whose 'commit' writes a durable state), learners
 * (the real LearnerEngine with a fake inner step), and a network that loses, duplicates and reorders.
 * Test support only: time and randomness come from the caller.
 */
import type { ParamLayout } from '../layout';
import { decodeMessage, encodeMessage, type Message } from '../protocol';
import type { Rng } from '../rng';
import { LearnerEngine, type EngineCommand, type EngineEvent } from '../learner/engine';
import { applyToHost } from '../learner/host-model';
import { applyCommit, initialDurable, type DurableState } from './commit';
import type { SyncConfig } from './config';
import type { MergeLogEntry, SyncCommand } from './events';
import { Syncer } from './syncer';

interface SimTab {
  id: string;
  session: number;
  engine: LearnerEngine;
  params: Float32Array;
  connected: boolean;
  toSyncer: Uint8Array[];
  toTab: Uint8Array[];
  /** Engine events the tab has yet to see (read results): never fed from inside another event. */
  events: EngineEvent[];
  /** A step the engine asked for: its arithmetic is done when asked (engine.ts), it completes on train(). */
  stepping: boolean;
  /** (session/seq) keys this tab was told were merged. */
  acked: string[];
}

export class CrashWorld {
  readonly disk: DurableState;
  readonly log: MergeLogEntry[] = [];
  incarnation = 1;
  syncer: Syncer;
  /** Commands not yet carried out: everything behind an unwritten commit waits (events.ts). */
  outbox: SyncCommand[] = [];
  readonly tabs: SimTab[] = [];
  now = 0;
  commitsWritten = 0;
  private nextSession = 1;

  constructor(readonly cfg: SyncConfig, readonly layout: ParamLayout, readonly theta0: Float32Array, private readonly rng: Rng) {
    this.syncer = new Syncer(cfg, layout, theta0, this.incarnation);
    this.disk = initialDurable(theta0, this.syncer.model.outer, 0);
  }

  addTab(): void {
    const id = `L${this.tabs.length}`, session = this.nextSession++;
    this.tabs.push({ id, session, engine: this.engine(id, session), params: Float32Array.from(this.theta0), connected: false, toSyncer: [], toTab: [], events: [], stepping: false, acked: [] });
    this.connect(this.tabs.at(-1)!);
  }

  private engine(id: string, session: number): LearnerEngine {
    // 'due' read-ahead: pulls that find no host copy take the read path too.
    return new LearnerEngine({ runId: this.cfg.runId, learnerId: id, session, tokensPerStep: 8, backend: 'cpu', adoption: 'eager', readAhead: 'due', helloDeadlineMs: 1e9 }, this.layout);
  }

  /** (Re)connect: the engine says hello, then sends every unacked push again (it keeps them until acked). */
  connect(t: SimTab): void {
    if (t.connected) this.feed({ kind: 'leave', id: t.id, now: this.now });
    t.connected = true;
    t.toSyncer = [];
    t.toTab = [];
    this.tabEvent(t, { kind: 'connected', now: this.now });
  }

  /** A killed tab: its connection goes silent, its memory (and unacked work) is gone; a new session rejoins later. */
  kill(t: SimTab): void {
    this.feed({ kind: 'leave', id: t.id, now: this.now });
    const session = this.nextSession++;
    Object.assign(t, { session, engine: this.engine(t.id, session), connected: false, toSyncer: [], toTab: [], events: [], stepping: false });
  }

  /** The coordinator tab dies at any point of its commit path; everything not yet written is lost. */
  crashCoordinator(): void {
    this.outbox = [];
    this.incarnation++;
    this.syncer = new Syncer(this.cfg, this.layout, this.theta0, this.incarnation);
    this.syncer.restore(this.disk);
    for (const t of this.tabs) { t.connected = false; t.toSyncer = []; } // every data channel went with it
  }

  /** A tab completes up to `steps` inner steps (a fake gradient); the engine sends META and refreshes host copies. */
  train(t: SimTab, steps: number): void {
    for (let s = 0; s < steps && t.connected && t.stepping; s++) {
      t.stepping = false;
      this.tabEvent(t, { kind: 'stepped', now: this.now, ms: 10 });
    }
  }

  /** Feed one event to a tab's engine and carry out its commands, then any events they caused (reads). */
  private tabEvent(t: SimTab, ev: EngineEvent): void {
    t.events.push(ev);
    while (t.events.length) for (const c of t.engine.handle(t.events.shift()!)) this.tabCommand(t, c);
  }

  private tabCommand(t: SimTab, c: EngineCommand): void {
    if (c.kind === 'send') {
      if (c.msg.type === 'hello') this.feed({ kind: 'join', id: t.id, now: this.now, hello: c.msg });
      else t.toSyncer.push(encodeMessage(c.msg));
    } else if (c.kind === 'train') {
      t.stepping = true;
      for (let i = 0; i < t.params.length; i++) t.params[i]! -= 0.01 * (t.params[i]! - 0.5 + 0.1 * (this.rng.next() - 0.5));
    } else if (c.kind === 'settled') {
      if (c.ack.outcome === 'merged') t.acked.push(`${t.id}/${t.session}/${c.ack.seq}`);
    } else if (c.kind === 'read') {
      t.events.push({ kind: 'read', tag: c.tag, values: applyToHost(t.params, t.engine.fragments, c)!, now: this.now });
    } else if (c.kind === 'load' || c.kind === 'write') applyToHost(t.params, t.engine.fragments, c);
  }

  /** Deliver one queued message (any position: the network reorders), maybe twice. */
  deliver(t: SimTab, toSyncer: boolean, duplicate: boolean): void {
    const q = toSyncer ? t.toSyncer : t.toTab;
    if (q.length === 0) return;
    const i = this.rng.int(q.length);
    const bytes = duplicate ? q[i]! : q.splice(i, 1)[0]!;
    const d = decodeMessage(bytes);
    if (!d.ok) throw new Error(`the world encoded an invalid message: ${d.reason}`);
    if (toSyncer) this.feed({ kind: 'message', id: t.id, now: this.now, msg: d.value });
    else this.receive(t, d.value);
  }

  drop(t: SimTab, toSyncer: boolean): void {
    const q = toSyncer ? t.toSyncer : t.toTab;
    if (q.length) q.splice(this.rng.int(q.length), 1);
  }

  tick(ms: number): void {
    this.now += ms;
    this.feed({ kind: 'tick', now: this.now });
  }

  /** Carry out up to n outbox commands in order; a commit is the write, done before anything behind it. */
  flush(n: number): void {
    for (let k = 0; k < n && this.outbox.length; k++) {
      const c = this.outbox.shift()!;
      if (c.kind === 'commit') {
        applyCommit(this.disk, c.commit, this.syncer.fragments);
        this.log.push(c.commit.entry);
        this.commitsWritten++;
      } else if (c.kind === 'send') this.sendTo(c.to, c.msg);
      else if (c.kind === 'broadcast') for (const id of c.to) this.sendTo(id, c.msg);
      else if (c.kind === 'drop') {
        const t = this.tabs.find((x) => x.id === c.id);
        if (t) { t.connected = false; this.feed({ kind: 'leave', id: t.id, now: this.now }); }
      }
    }
  }

  private feed(ev: Parameters<Syncer['handle']>[0]): void {
    this.outbox.push(...this.syncer.handle(ev));
  }

  private sendTo(id: string, m: Message): void {
    const t = this.tabs.find((x) => x.id === id);
    if (t?.connected) t.toTab.push(encodeMessage(m));
  }

  private receive(t: SimTab, m: Message): void {
    this.tabEvent(t, { kind: 'message', msg: m, now: this.now });
  }
}
