/**
 * A model of the whole commit path for the exactly-once property test (reliability.md gate 1): one
 * coordinator (the real Syncer behind an ordered outbox whose 'commit' writes a durable state), learners
 * (the real LearnerState with a fake inner step), and a network that loses, duplicates and reorders.
 * Test support only: time and randomness come from the caller.
 */
import { gather, scatter } from '../fragments';
import type { ParamLayout } from '../layout';
import { decodeMessage, encodeMessage, type Message } from '../protocol';
import type { Rng } from '../rng';
import { LearnerState } from '../learner/state';
import { applyCommit, initialDurable, type DurableState } from './commit';
import type { SyncConfig } from './config';
import type { MergeLogEntry, Msg, SyncCommand } from './events';
import { Syncer } from './syncer';

interface SimTab {
  id: string;
  session: number;
  state: LearnerState;
  params: Float32Array;
  connected: boolean;
  toSyncer: Uint8Array[];
  toTab: Uint8Array[];
  pulls: Array<Msg<'pull'>>;
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
    const id = `L${this.tabs.length}`;
    this.tabs.push({ id, session: this.nextSession++, state: new LearnerState(this.layout), params: Float32Array.from(this.theta0), connected: false, toSyncer: [], toTab: [], pulls: [], acked: [] });
    this.connect(this.tabs.at(-1)!);
  }

  /** (Re)connect: hello, then every unacked push again (the learner keeps them until acked). */
  connect(t: SimTab): void {
    if (t.connected) this.feed({ kind: 'leave', id: t.id, now: this.now });
    t.connected = true;
    t.toSyncer = [];
    t.toTab = [];
    this.feed({ kind: 'join', id: t.id, now: this.now, hello: { type: 'hello', runId: this.cfg.runId, learnerId: t.id, session: t.session, layoutHash: this.layout.hash, tokensPerStep: 8, backend: 'cpu', uplinkCodec: this.cfg.uplinkCodec } });
    for (const p of t.state.resendable()) t.toSyncer.push(encodeMessage(p));
  }

  /** A killed tab: its connection goes silent, its memory (and unacked work) is gone; a new session rejoins later. */
  kill(t: SimTab): void {
    this.feed({ kind: 'leave', id: t.id, now: this.now });
    Object.assign(t, { session: this.nextSession++, state: new LearnerState(this.layout), connected: false, toSyncer: [], toTab: [], pulls: [] });
  }

  /** The coordinator tab dies at any point of its commit path; everything not yet written is lost. */
  crashCoordinator(): void {
    this.outbox = [];
    this.incarnation++;
    this.syncer = new Syncer(this.cfg, this.layout, this.theta0, this.incarnation);
    this.syncer.restore(this.disk);
    for (const t of this.tabs) { t.connected = false; t.toSyncer = []; } // every data channel went with it
  }

  /** A tab trains `steps` inner steps (a deterministic fake gradient), sends META, answers its pulls. */
  train(t: SimTab, steps: number): void {
    if (!t.connected || !t.state.joined) return;
    for (let s = 0; s < steps; s++) {
      for (let i = 0; i < t.params.length; i++) t.params[i]! -= 0.01 * (t.params[i]! - 0.5 + 0.1 * (this.rng.next() - 0.5));
      t.state.recordStep(8);
    }
    t.toSyncer.push(encodeMessage(t.state.meta(10)));
    for (const pull of t.pulls.splice(0)) {
      const push = t.state.makePush(pull, gather(t.params, t.state.fragments[pull.fragment]!));
      if (push) t.toSyncer.push(encodeMessage(push));
    }
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
    const st = t.state;
    if (m.type === 'snapshot') {
      const r = st.applySnapshot(m, st.joined ? t.params : undefined);
      if (r.ok) t.params = r.value;
    } else if (m.type === 'broadcast') {
      const f = st.fragments[m.fragment];
      if (!f) return;
      const r = st.applyBroadcast(m, new Float32Array(f.size));
      if (r.ok) scatter(t.params, f, r.value);
    } else if (m.type === 'pull') t.pulls.push(m);
    else if (m.type === 'ack') {
      const p = st.settle(m, t.session);
      if (p && m.outcome === 'merged') t.acked.push(`${t.id}/${t.session}/${m.seq}`);
    }
  }
}
