import { makeLayout } from '../layout';
import { decodeMessage, encodeMessage, type Message } from '../protocol';
import { makeRng } from '../rng';
import { makeSyncConfig, type SyncConfig } from '../syncer/config';
import type { MergeLogEntry, SyncCommand, SyncEvent } from '../syncer/events';
import { Syncer } from '../syncer/syncer';
import { DEFAULT_ADAMW, type AdamWConfig } from './adamw';
import { EventQueue } from './event-queue';
import { checkFinal, InvariantChecker } from './invariants';
import { makeMlp } from './mlp';
import { DEFAULT_LR } from '../schedule';
import { SimLearner, type SimEffects } from './sim-learner';
import { makeTask } from './task';
import { SwarmClock } from './swarm-clock';
import type { TimingsName } from './timings';

/** A seeded swarm: real Syncer and LearnerState, real wire encoding, simulated time and network. */
export interface SwarmOptions {
  seed: number;
  learners: number;
  sync?: Partial<SyncConfig>;
  /** Total training examples ("tokens") across all learners; the run stops training there. */
  tokens: number;
  batch: number;
  /** Step times, commit latency and network latency (timings.ts); 'paper' unless given. */
  timings?: TimingsName;
  /** Median train() time of the fastest learner (ms of simulated time); the preset's unless given. */
  stepMs?: number;
  /** Slowest / fastest step time; learners are spread evenly in between (1 = homogeneous). */
  speedSpread?: number;
  /** One-way message latency (ms); the preset's unless given. */
  latencyMs?: number;
  /** Extra uniform latency in [0, jitterMs): reorders messages. The preset's unless given. */
  jitterMs?: number;
  /** Probability each message is delivered twice. */
  duplicate?: number;
  /** Probability each message is lost together with its connection (both sides see it close). */
  disconnect?: number;
  /** Silent kills: each learner dies as a Poisson process (mean gap mtbfMs) and returns after downMs. */
  kill?: { mtbfMs: number; downMs: number };
  /** Scheduled churn, as in the browser churn spec: every `everyMs`, the `fraction` of learners that have
   * lived longest are killed silently and come back `downMs` later as fresh sessions (new inner optimizer). */
  churn?: { everyMs: number; fraction: number; downMs: number };
  /** Label skew of learner shards in [0,1): 0 is i.i.d. */
  nonIid?: number;
  model?: { dim: number; hidden: number; classes: number };
  adamw?: Partial<AdamWConfig>;
  /** How a learner adopts the broadcast of a round it pushed (engine.ts): 'eager' (default) or 'overwrite'. */
  adoption?: 'eager' | 'overwrite';
  /** Check the syncer's invariants after every event, and the full-flush invariant at the end. */
  check?: boolean;
  evalPoints?: number;
  /** Held-out examples the loss is measured on (2000 unless given): a run that only counts bytes needs few. */
  heldOut?: number;
  /** Every message a learner sends passes through this on its way to the wire (byzantine.ts: hostile
   * learners running the real engine); `fragmentSize` is the length of the message's fragment, if any. */
  tamper?: (from: string, m: Message, fragmentSize: number) => Message;
}

export interface SwarmResult {
  evalLoss: number;
  bayesLoss: number;
  /** Held-out loss of the global model by tokens trained and by tokens merged (committed). */
  curve: Array<{ tokens: number; merged: number; loss: number }>;
  merges: number;
  abandoned: number;
  contributorsPerMerge: number;
  rejections: Record<string, number>;
  bytesUp: number;
  bytesDown: number;
  /** The same bytes by message type, both directions; broadcasts by precision ('broadcast-delta', 'broadcast-fp32'…),
   * so join snapshots ('snapshot') and full copies can be told apart from the steady traffic. */
  bytesByType: Record<string, number>;
  tokensTrained: number;
  tokensMerged: number;
  simMs: number;
  mergeLog: MergeLogEntry[];
}

type Ev =
  | { k: 'stepped'; id: string; session: number; ms: number }
  | { k: 'pauseAll' }
  | { k: 'deliver'; to: string | null; from: string; conn: number; bytes: Uint8Array }
  | { k: 'tick' }
  | { k: 'rejoin'; id: string }
  | { k: 'kill'; id: string; session: number }
  | { k: 'churn' }
  | { k: 'synced'; round: number }
  | { k: 'command'; c: SyncCommand }
  | { k: 'closed'; id: string };

const TICK_MS = 500;

export function runSwarm(o: SwarmOptions): SwarmResult {
  const rng = makeRng(o.seed);
  const net = rng.fork();
  const dims = o.model ?? { dim: 16, hidden: 32, classes: 4 };
  const task = makeTask(makeRng(o.seed ^ 0x5eed), dims.dim, dims.classes);
  const mlp = makeMlp(dims.dim, dims.hidden, dims.classes);
  const layout = makeLayout(mlp.specs);
  const adamCfg = { ...DEFAULT_ADAMW, ...o.adamw };
  // The learners' schedule travels in the snapshot, as in the tabs: the simulator's AdamW peak is its own;
  // the run's tokens per step are the batch (one token per example), which the syncer checks claims against.
  const cfg = makeSyncConfig({ plannedTokens: o.tokens, tokensPerStep: o.batch, innerLr: { ...DEFAULT_LR, peak: adamCfg.lr }, ...o.sync });
  const syncer = new Syncer(cfg, layout, mlp.init(makeRng(o.seed ^ 0x1417)));
  const heldOut = task.sample(makeRng(o.seed ^ 0xe7a1), o.heldOut ?? 2000);
  const clock = new SwarmClock(o, rng, net);
  const spread = o.speedSpread ?? 1;
  const learners = new Map<string, SimLearner>();
  for (let i = 0; i < o.learners; i++) {
    const id = `L${i}`;
    const stepMs = clock.fastestMs * (o.learners > 1 ? 1 + ((spread - 1) * i) / (o.learners - 1) : 1);
    const shard = o.nonIid ? { index: i, of: o.learners, skew: o.nonIid } : undefined;
    learners.set(id, new SimLearner({ id, runId: cfg.runId, rng: rng.fork(), stepMs, batch: o.batch, ...(shard ? { shard } : {}) }, layout, mlp, task, adamCfg, o.adoption ?? 'eager'));
  }
  const q = new EventQueue<Ev>();
  const checker = o.check ? new InvariantChecker(syncer) : undefined;
  const res = { bytesUp: 0, bytesDown: 0, bytesByType: {} as Record<string, number>, tokensTrained: 0, mergeLog: [] as MergeLogEntry[], curve: [] as SwarmResult['curve'] };
  let now = 0, inFlight = 0, pendingRejoins = 0, nextEval = 0, waiting = 0, done = false, stepping = 0;
  const commitMs = new Map<number, number>();
  const evalEvery = o.tokens / (o.evalPoints ?? 20);
  const training = (): boolean => res.tokensTrained < o.tokens;

  const transmit = (from: string, to: string | null, conn: number, m: Message): void => {
    if (down.has(to ?? from)) return; // the link is closed: lost, as a send on a closed data channel is
    const bytes = encodeMessage(m);
    if (to === null) res.bytesUp += bytes.length; else res.bytesDown += bytes.length;
    const type = m.type === 'broadcast' ? `broadcast-${m.precision}` : m.type;
    res.bytesByType[type] = (res.bytesByType[type] ?? 0) + bytes.length;
    const learnerId = to ?? from;
    if (o.disconnect && training() && net.next() < o.disconnect) return cut(learnerId);
    const copies = o.duplicate && net.next() < o.duplicate ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      inFlight++;
      q.push(clock.deliverAt(now), { k: 'deliver', to, from, conn, bytes });
    }
  };
  const toSyncer = (ev: SyncEvent): void => {
    for (const c of syncer.handle(ev)) run(c);
    checker?.afterEvent();
  };
  /** As the coordinator page does: timers at once, the rest in write-ahead order behind commits. */
  const run = (c: SyncCommand): void => {
    if (c.kind === 'wake') return q.push(Math.max(now, c.at), { k: 'tick' });
    if (c.kind === 'rejected') return;
    // The merge log is the syncer's own record, in its order; the write only delays what comes after it.
    if (c.kind === 'commit') { res.mergeLog.push(c.commit.entry); checker?.merged(c.commit.entry); }
    const at = clock.runsAt(c, now);
    if (c.kind === 'commit') commitMs.set(c.commit.version, at - now); // ξ_sync leaves the commit out
    if (at > now) { waiting++; q.push(at, { k: 'command', c }); } else carryOut(c);
  };
  const carryOut = (c: SyncCommand): void => {
    if (c.kind === 'send') sendTo(c.to, c.msg);
    else if (c.kind === 'broadcast') {
      for (const id of c.to) sendTo(id, c.msg);
      if (c.msg.type === 'broadcast') q.push(clock.syncedAt(now), { k: 'synced', round: c.msg.version });
    } else if (c.kind === 'drop') cut(c.id);
  };
  const sendTo = (id: string, m: Message): void => {
    const l = learners.get(id);
    if (l) transmit('syncer', id, l.conn, m);
  };
  /** Learners whose link is closed until they dial again: what they send meanwhile is lost. */
  const down = new Set<string>();
  /** The connection closes; both ends hear of it as a new event (never re-entering the syncer). */
  const cut = (id: string): void => {
    learners.get(id)!.conn++;
    down.add(id);
    pendingRejoins++;
    q.push(now, { k: 'closed', id });
  };
  /** The learner's side effects: its messages go on the wire, its steps end a step time after they start. */
  const fx = (l: SimLearner): SimEffects => ({
    send: (m) => transmit(l.s.id, null, l.conn, o.tamper && m.type === 'push' ? o.tamper(l.s.id, m, syncer.fragments[m.fragment]?.size ?? 0) : m),
    stepStarted: () => {
      res.tokensTrained += o.batch;
      stepping++;
      if (!training() && !done) { done = true; q.push(now, { k: 'pauseAll' }); } // the budget is spent: no new steps
      const at = clock.nextStepAt(now, l.s.stepMs);
      q.push(at, { k: 'stepped', id: l.s.id, session: l.session, ms: at - now });
    },
  });
  const connect = (l: SimLearner): void => {
    if (done) l.handle({ kind: 'pause', paused: true, now }, fx(l));
    l.handle({ kind: 'connected', now }, fx(l));
  };
  /** Silent: the syncer only learns of it from the heartbeat deadline. */
  const kill = (l: SimLearner, downMs: number): void => {
    l.alive = false;
    pendingRejoins++;
    q.push(now + downMs, { k: 'rejoin', id: l.s.id });
  };
  const scheduleKill = (l: SimLearner): void => {
    if (o.kill) q.push(now + rng.exponential(o.kill.mtbfMs), { k: 'kill', id: l.s.id, session: l.session });
  };

  const bornAt = new Map<SimLearner, number>();
  for (const l of learners.values()) { connect(l); scheduleKill(l); bornAt.set(l, 0); }
  q.push(TICK_MS, { k: 'tick' });
  if (o.churn) q.push(o.churn.everyMs, { k: 'churn' });

  for (;;) {
    const quiet = !training() && inFlight === 0 && waiting === 0 && pendingRejoins === 0 && stepping === 0 && syncer.rounds.size === 0;
    const e = quiet ? undefined : q.pop();
    if (!e) break;
    now = e.at;
    const ev = e.item;
    if (ev.k === 'deliver') {
      inFlight--;
      const l = learners.get(ev.to ?? ev.from)!;
      if (!l.alive || l.conn !== ev.conn) continue; // lost with its connection
      const d = decodeMessage(ev.bytes);
      if (!d.ok) throw new Error(`simulator produced an invalid message: ${d.reason} ${d.detail}`);
      if (ev.to !== null) l.handle({ kind: 'message', msg: d.value, now }, fx(l));
      else if (d.value.type === 'hello') toSyncer({ kind: 'join', id: ev.from, now, hello: d.value });
      else toSyncer({ kind: 'message', id: ev.from, now, msg: d.value });
    } else if (ev.k === 'stepped') {
      stepping--;
      const l = learners.get(ev.id)!;
      if (!l.alive || l.session !== ev.session) continue;
      l.handle({ kind: 'stepped', now, ms: ev.ms }, fx(l));
      if (res.tokensTrained >= nextEval) { res.curve.push({ tokens: res.tokensTrained, merged: syncer.mergedTokens, loss: mlp.loss(syncer.model.theta, heldOut) }); nextEval += evalEvery; }
    } else if (ev.k === 'pauseAll') {
      for (const l of learners.values()) if (l.alive) l.handle({ kind: 'pause', paused: true, now }, fx(l));
    } else if (ev.k === 'tick') {
      toSyncer({ kind: 'tick', now });
      if (training() || syncer.rounds.size > 0) q.push(now + TICK_MS, { k: 'tick' });
    } else if (ev.k === 'synced') {
      toSyncer({ kind: 'synced', round: ev.round, now, commitMs: commitMs.get(ev.round) ?? 0 });
      commitMs.delete(ev.round);
    }
    else if (ev.k === 'command') { waiting--; carryOut(ev.c); }
    else if (ev.k === 'kill') {
      const l = learners.get(ev.id)!;
      if (!training() || !l.alive || l.session !== ev.session) continue;
      kill(l, o.kill!.downMs);
    } else if (ev.k === 'churn') {
      if (!training()) continue;
      const c = o.churn!;
      const oldest = [...learners.values()].filter((l) => l.alive).sort((a, b) => bornAt.get(a)! - bornAt.get(b)!);
      for (const l of oldest.slice(0, Math.round(c.fraction * o.learners))) kill(l, c.downMs);
      q.push(now + c.everyMs, { k: 'churn' });
    } else if (ev.k === 'closed') {
      toSyncer({ kind: 'leave', id: ev.id, now });
      if (learners.get(ev.id)!.alive) q.push(now + 200, { k: 'rejoin', id: ev.id }); // a live tab dials again
      else pendingRejoins--; // a dead one comes back through its kill's own rejoin
    } else if (ev.k === 'rejoin') {
      pendingRejoins--;
      const l = learners.get(ev.id)!;
      if (!l.alive) { l.restart(); bornAt.set(l, now); scheduleKill(l); }
      l.conn++;
      down.delete(l.s.id);
      connect(l);
    }
  }

  if (o.check) checkFinal(syncer, [...learners.values()]);
  const merged = res.mergeLog.reduce((s, e) => s + e.contributors.length, 0);
  return {
    evalLoss: mlp.loss(syncer.model.theta, heldOut),
    bayesLoss: task.bayesLoss(heldOut),
    curve: res.curve,
    merges: syncer.merges,
    abandoned: syncer.abandoned,
    contributorsPerMerge: syncer.merges ? merged / syncer.merges : 0,
    rejections: Object.fromEntries(syncer.rejections),
    bytesUp: res.bytesUp,
    bytesDown: res.bytesDown,
    bytesByType: res.bytesByType,
    tokensTrained: res.tokensTrained,
    tokensMerged: syncer.mergedTokens,
    simMs: now,
    mergeLog: res.mergeLog,
  };
}
