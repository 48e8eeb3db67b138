import { quantizationOf } from '../downlink';
import { planFragments, type Fragment } from '../fragments';
import type { ParamLayout } from '../layout';
import type { Message } from '../protocol';
import type { Reason } from '../result';
import { admitPush } from './admit';
import { BanList } from './bans';
import { commitBroadcasts } from './broadcast';
import { copyOuter, unsendable, type Commit, type DurableState } from './commit';
import { quorumOf, type SyncConfig } from './config';
import { DedupeTable, type DedupeRow, type Outcome } from './dedupe';
import type { Msg, SyncCommand, SyncEvent } from './events';
import { GlobalModel } from './global-model';
import { badputCause, RunningMedian } from './guards';
import { applyMeta, forgetDisconnected, fragmentDue, newLearner, silenceLimitMs, type LearnerRecord } from './learners';
import { absentVotes, creditedTokens, mergeRound, mergeWeights } from './merge-round';
import { overdue } from './repull';
import { openRound, pulledLate, type Contribution, type Round } from './round';
import { RoundTiming } from './round-timing';
import { FragmentTurn } from './turn';
import { OuterPolicy } from '../outer-policy';

/** Bans remembered at once (bans.ts). */
const MAX_BANS = 4096;

/**
 * The Decoupled DiLoCo syncer as a pure state machine (docs/method.md §4, §5): it consumes events and
 * returns commands. Rounds are paced by learner step counters, never by wall clock (docs/method.md §4).
 */
export class Syncer {
  readonly fragments: readonly Fragment[];
  readonly model: GlobalModel;
  readonly learners = new Map<string, LearnerRecord>();
  readonly rounds = new Map<number, Round>();
  readonly rejections = new Map<Reason, number>();
  globalStep = 0;
  mergedTokens = 0;
  merges = 0;
  abandoned = 0;
  /** Pulls sent again to a learner whose push was overdue (repull.ts). */
  repulls = 0;
  /** Round-robin over the fragments, with the cases that open one out of turn (turn.ts). */
  private readonly turn: FragmentTurn;
  /** Commits so far: +1 per merged round, across reloads (restore). */
  commitSeq = 0;
  readonly dedupe = new DedupeTable();
  /** The outer step's mode per merge, the latest per fragment, merges per mode (outer-policy.ts). */
  readonly outerPolicy: OuterPolicy;
  /** Learner ids refused until a time (ms), after too many strikes. */
  readonly banned = new BanList(MAX_BANS);
  /** Tokens in refused pushes by cause (1/P of a push's tokens, like merged tokens): the badput breakdown. */
  readonly badput = { stale: 0, filtered: 0, invalid: 0, superseded: 0 };
  private readonly norms: RunningMedian[];
  /** Learner records kept (connected ones are never pruned) and bans remembered: 4,096 each, ≈1 MB of
   * records; a learner's dedupe rows go with its record. */
  static readonly MAX_LEARNERS = 4096;
  static readonly MAX_BANS = MAX_BANS;
  private readonly timing: RoundTiming;
  private out: SyncCommand[] = [];
  private wakeAt = Infinity;

  constructor(readonly cfg: SyncConfig, readonly layout: ParamLayout, init: Float32Array, readonly epoch = 1) {
    this.fragments = planFragments(layout, cfg.P);
    this.model = new GlobalModel(layout, this.fragments, init, cfg.outer, cfg.historyDepth);
    this.outerPolicy = new OuterPolicy(cfg.outer, cfg.P);
    this.timing = new RoundTiming(cfg);
    this.turn = new FragmentTurn(cfg.P);
    this.norms = this.fragments.map(() => new RunningMedian(cfg.normWindow, cfg.normWarmup));
  }

  /** The fragment in turn: the next round opens on it when it is due (turn.ts). */
  get nextFragment(): number {
    return this.turn.next;
  }

  get progress(): number {
    return Math.min(1, this.mergedTokens / this.cfg.plannedTokens);
  }

  connectedIds(): string[] {
    return [...this.learners.values()].filter((l) => l.connected).map((l) => l.id);
  }

  handle(ev: SyncEvent): SyncCommand[] {
    this.out = [];
    switch (ev.kind) {
      case 'join': this.join(ev.id, ev.hello, ev.now); break;
      case 'leave': this.leave(ev.id, ev.now); break;
      case 'message': this.message(ev.id, ev.msg, ev.now); break;
      case 'tick': this.tick(ev.now); break;
      case 'synced': this.timing.synced(ev.round, ev.now, ev.commitMs); break; // ξ_sync, the commit left out
      case 'invalid': this.count(ev.reason); this.strike(ev.id, ev.now); break;
    }
    this.schedule(ev.now);
    this.requestWake();
    return this.out;
  }

  /**
   * Resume from the last durable commit (or a downloaded state): model, optimizer state, versions, the
   * counters that drive versions and the progress clock, and the dedupe table. A reload must come back
   * as a newer incarnation (this.epoch > d.epoch), so learners can tell its weights from the old ones.
   */
  restore(d: DurableState): void {
    if (d.epoch >= this.epoch) throw new RangeError(`restoring epoch ${d.epoch} into incarnation ${this.epoch}: a reload must raise the epoch`);
    if (d.globalStep < Math.max(...d.versions)) throw new RangeError(`global step ${d.globalStep} is behind a fragment version`);
    if (!Number.isInteger(d.nextFragment) || d.nextFragment < 0 || d.nextFragment >= this.cfg.P) throw new RangeError(`next fragment ${d.nextFragment} is outside [0, ${this.cfg.P})`);
    // Refused, not clamped: restored, such a state could not send a single snapshot (commit.ts unsendable).
    const why = unsendable(d, this.cfg.P);
    if (why !== undefined) throw new RangeError(`restoring a state the wire cannot carry: ${why}`);
    this.model.restore(d);
    this.turn.restore(d.nextFragment);
    this.globalStep = d.globalStep;
    this.mergedTokens = d.mergedTokens;
    this.commitSeq = d.commitSeq;
    this.rounds.clear();
    this.dedupe.clear();
    for (const row of d.dedupe) this.dedupe.set(row);
    // A state written before the norm windows were durable has none: those fragments start cold, under
    // the absolute cap alone (guards.ts), never uncapped.
    this.norms.forEach((w, p) => w.restore(d.norms?.[p] ?? []));
  }

  /** The state a commit would persist now (for a downloaded state file, or a first durable write). */
  durable(): DurableState {
    const m = this.model;
    return {
      epoch: this.epoch, commitSeq: this.commitSeq, theta: Float32Array.from(m.theta), outer: m.outer.map(copyOuter), versions: [...m.versions],
      globalStep: this.globalStep, mergedTokens: this.mergedTokens, nextFragment: this.nextFragment, dedupe: this.dedupe.mergedRows(),
      norms: this.norms.map((w) => w.window),
    };
  }

  snapshotFor(): Msg<'snapshot'> {
    const { P, H, tau, K, uplinkCodec, blockSize, tokensPerStep } = this.cfg;
    return {
      type: 'snapshot', runId: this.cfg.runId, epoch: this.epoch, globalStep: this.globalStep, progress: this.progress,
      config: { P, H, tau, K, uplinkCodec, blockSize, lockstep: this.cfg.lockstep, lr: { ...this.cfg.innerLr }, tokensPerStep }, versions: [...this.model.versions], params: Float32Array.from(this.model.theta),
    };
  }

  private join(id: string, hello: Msg<'hello'>, now: number): void {
    if (this.banned.holds(id, now)) return this.refuse(id, 'too-many-strikes', `learner ${id} is refused until its ban ends`, true);
    // Tokens per step are the run's (batch x context), not the learner's to choose: a tab set up otherwise is told which.
    if (hello.tokensPerStep !== this.cfg.tokensPerStep) return this.refuse(id, 'token-claim', `this run trains ${this.cfg.tokensPerStep} tokens per step (batch x context), the tab ${hello.tokensPerStep}: open the run's join URL`, true);
    if (hello.runId !== this.cfg.runId) return this.refuse(id, 'run-mismatch', `run ${hello.runId} is not ${this.cfg.runId}`, true);
    if (hello.layoutHash !== this.layout.hash) return this.refuse(id, 'layout-mismatch', `model layout ${hello.layoutHash} differs from ${this.layout.hash}`, true);
    const old = this.learners.get(id);
    if (old?.connected) this.leave(id, now); // a reconnect replaces the old connection
    const rec = newLearner(id, hello.session, hello.backend, this.cfg.P, now);
    if (old) Object.assign(rec, { merges: old.merges, tokensMerged: old.tokensMerged, firstSeen: old.firstSeen, claimedSteps: old.claimedSteps, response: old.response });
    this.learners.delete(id); // re-insert at the end: Map order is the pruning order (oldest first)
    this.learners.set(id, rec);
    this.prune(now);
    this.out.push({ kind: 'send', to: id, msg: this.snapshotFor() });
  }

  private leave(id: string, now: number): void {
    const l = this.learners.get(id);
    if (!l?.connected) return;
    l.connected = false;
    for (const r of [...this.rounds.values()]) {
      r.waitingFor.delete(id);
      this.advance(r, now);
    }
  }

  private message(id: string, msg: Message, now: number): void {
    const l = this.learners.get(id);
    if (!l?.connected) return this.refuse(id, 'unknown-learner', 'say hello first', false);
    l.lastSeen = now;
    switch (msg.type) {
      case 'meta':
        if (!applyMeta(l, msg, this.model.versions, this.cfg)) {
          this.refuse(id, 'bad-field', `meta carries ${msg.cSteps.length} fragments, run has ${this.cfg.P}`, false);
          return this.strike(id, now);
        }
        // A learner that became ready after a round opened (it joined, or its first META came late) is pulled too.
        for (const r of this.rounds.values()) if (pulledLate(r, id, l.cSteps[r.fragment] ?? 0, now)) this.sendPull(r, id);
        return;
      case 'push': return this.push(l, msg, now);
      case 'heartbeat': l.t = Math.max(l.t, msg.t); return;
      // Only what the tables show (the coordinator's and the classroom's): no rule reads the backend.
      case 'backend': l.backend = msg.backend; return;
      case 'bye': return this.leave(id, now);
      default: this.refuse(id, 'unknown-type', `${msg.type} is not a learner message`, false); return this.strike(id, now);
    }
  }

  private push(l: LearnerRecord, m: Msg<'push'>, now: number): void {
    const ack = (o: Outcome, seq: number): void => {
      this.out.push({ kind: 'send', to: l.id, msg: { type: 'ack', fragment: o.fragment, round: o.round, seq, session: l.session, outcome: o.reason === null ? 'merged' : 'rejected', reason: o.reason } });
    };
    // A round's first answer times its learner from the first pull, pulled again or not (repull.ts: Karn's rule
    // never learned a link slower than the first re-pull); one that finds its push answered or waiting does not.
    const prior = this.dedupe.get(l.id, l.session, m.seq);
    this.timing.pushed(l, m.round, now, m.epoch !== this.epoch || prior !== undefined || this.rounds.get(m.round)?.pushes.has(l.id) === true);
    const a = admitPush({
      cfg: this.cfg, epoch: this.epoch, globalStep: this.globalStep, progress: this.progress, fragments: this.fragments, rounds: this.rounds, model: this.model,
      norms: this.norms, prior, now,
    }, l, m);
    switch (a.kind) {
      case 'answered': this.duplicate(l.id, m); return ack(a.outcome, m.seq);
      case 'pending': return this.duplicate(l.id, m);
      case 'refuse': {
        this.count(a.reason);
        if (a.norm !== undefined) this.norms[m.fragment]!.push(a.norm); // see SyncConfig.normCapFactor
        // Credit at most what the learner's batch allows: a forged claim must not inflate the badput.
        const cause = badputCause(a.reason);
        if (cause) this.badput[cause] += creditedTokens(m, this.cfg) / this.cfg.P;
        this.out.push({ kind: 'rejected', from: l.id, reason: a.reason, detail: a.detail });
        const o: Outcome = { round: m.round, fragment: m.fragment, reason: a.reason };
        // A refusal is remembered too (in memory) so a resend gets the same answer; a duplicate refusal
        // must not overwrite the outcome of the push it duplicates.
        if (a.reason !== 'duplicate') this.dedupe.set({ id: l.id, session: l.session, seq: m.seq, ...o });
        ack(o, m.seq);
        // A refused learner will not answer this round again: stop waiting for it.
        const r = this.rounds.get(m.round);
        if (r?.waitingFor.delete(l.id)) this.advance(r, now);
        if (a.strike) this.strike(l.id, now);
        return;
      }
      case 'accept':
        this.norms[m.fragment]!.push(a.norm);
        l.claimedSteps[m.fragment] = (l.claimedSteps[m.fragment] ?? 0) + m.cSteps;
        a.round.pushes.set(l.id, a.contribution);
        a.round.waitingFor.delete(l.id);
        return this.advance(a.round, now);
    }
  }

  /** A resend (or a replay) of a push already answered or waiting: counted, never merged again. */
  private duplicate(id: string, m: Msg<'push'>): void {
    this.count('duplicate');
    this.out.push({ kind: 'rejected', from: id, reason: 'duplicate', detail: `push seq ${m.seq} was already received` });
  }

  /** One strike for an invalid message; past maxStrikes the connection is dropped and the id banned. */
  private strike(id: string, now: number): void {
    const l = this.learners.get(id);
    if (!l?.connected) return;
    if (++l.strikes <= this.cfg.maxStrikes) return;
    this.banned.ban(id, now + this.cfg.banMs);
    this.refuse(id, 'too-many-strikes', `${l.strikes} invalid messages`, true);
    this.leave(id, now);
  }

  /** One learner's pull for round r: a late one (round.ts pulledLate), or again (repull.ts). */
  private sendPull(r: Round, id: string): void {
    this.out.push({ kind: 'send', to: id, msg: { type: 'pull', fragment: r.fragment, round: r.round } });
  }

  /** Quorum, then grace, then close (docs/method.md §4). */
  private advance(r: Round, now: number): void {
    const quorum = quorumOf(this.cfg, this.connectedIds().length);
    if (r.quorumAt === undefined && r.pushes.size >= quorum) this.timing.atQuorum(r, now, this.learners);
    // Once every pulled learner has answered (or left) there is nobody left to wait for: merge what came,
    // even below K, rather than stall the run; with no push at all the round is abandoned.
    if (now >= r.openedAt + this.cfg.roundTimeoutMs) r.waitingFor.clear(); // stop waiting for the silent
    const everyoneAnswered = r.waitingFor.size === 0;
    if (everyoneAnswered && r.pushes.size === 0) { this.rounds.delete(r.round); this.turn.mergedNothing(r.fragment); this.abandoned++; return; }
    if (everyoneAnswered || (r.deadline !== undefined && now >= r.deadline)) this.close(r, now);
  }

  /** Merge, outer step, commit; the broadcast and acks follow the commit (events.ts: 'commit'). */
  private close(r: Round, now: number): void {
    this.rounds.delete(r.round);
    const p = r.fragment;
    const pushes = [...r.pushes.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)); // deterministic order
    const weights = mergeWeights(pushes, this.cfg);
    const q = quantizationOf(this.cfg.downlink, this.cfg.blockSize);
    const outer = this.outerPolicy.decide(p, pushes.length, this.connectedIds().length);
    const absent = absentVotes(this.cfg, pushes.length);
    const merged = mergeRound(this.model, p, pushes, weights, r.round, this.cfg, q, outer, absent);
    if (!merged.ok) return this.refuseRound(r, pushes, merged.reason, merged.detail);
    const { values, update } = merged.value;
    this.merges++;
    // A push carries one fragment, 1/P of the model: it credits cTokens/P merged tokens, so the progress
    // clock counts each trained token once when all P fragments of it have been merged.
    const rows: DedupeRow[] = [];
    for (const c of pushes) {
      const credited = creditedTokens(c, this.cfg) / this.cfg.P;
      this.mergedTokens += credited;
      const l = this.learners.get(c.id);
      if (l) { l.merges++; l.tokensMerged += credited; }
      if (this.ownSession(c)) rows.push({ id: c.id, session: c.session, seq: c.seq, round: r.round, fragment: p, reason: null });
    }
    for (const row of rows) this.dedupe.set(row);
    const commit: Commit = {
      seq: ++this.commitSeq, epoch: this.epoch, fragment: p, version: r.round, values: Float32Array.from(values), outer: copyOuter(this.model.outer[p]!),
      globalStep: this.globalStep, mergedTokens: this.mergedTokens, nextFragment: this.nextFragment, norms: this.norms[p]!.window, dedupe: rows,
      entry: {
        round: r.round, fragment: p, version: r.round, openedAt: r.openedAt, closedAt: now, graceMs: r.graceMs ?? 0, ...(q ? { quantized: q } : {}), outer, ...(absent > 0 ? { absent } : {}),
        contributors: pushes.map((c, i) => ({ id: c.id, session: c.session, seq: c.seq, baseVersion: c.baseVersion, cSteps: c.cSteps, cTokens: c.cTokens, weight: weights[i]!, codec: c.codec, payload: c.payload })),
      },
    };
    this.out.push({ kind: 'commit', commit });
    const to = this.connectedIds();
    const head = { type: 'broadcast', fragment: p, version: r.round, epoch: this.epoch, globalStep: this.globalStep, progress: this.progress } as const;
    this.out.push(...commitBroadcasts(head, to, (id) => this.learners.get(id)!.versions[p]!, values, update, this.cfg.downlink));
    for (const c of pushes) {
      if (this.learners.get(c.id)?.connected) {
        this.out.push({ kind: 'send', to: c.id, msg: { type: 'ack', fragment: p, round: r.round, seq: c.seq, session: c.session, outcome: 'merged', reason: null } });
      }
    }
    for (const id of to) {
      const l = this.learners.get(id)!;
      // A learner that did not contribute overwrites its own work on fragment p with the broadcast (α = 0):
      // those tokens were trained and are now superseded (badput by design of K < M, not a fault).
      if (!r.pushes.has(id)) this.badput.superseded += (l.cTokens[p] ?? 0) / this.cfg.P;
      l.cSteps[p] = 0; // they reset on receipt
      l.cTokens[p] = 0;
    }
    this.timing.closed(r.round, now);
  }

  /**
   * A merge that cannot be committed (its outer step would leave fp32's range): nothing changes, every
   * push of the round is refused with the reason, and the run goes on from the last commit. Whether the
   * pushes were hostile or honest, the model stays finite and the next round starts from it.
   */
  private refuseRound(r: Round, pushes: readonly Contribution[], reason: Reason, detail: string): void {
    this.turn.mergedNothing(r.fragment);
    for (const c of pushes) {
      this.count(reason);
      this.badput.invalid += creditedTokens(c, this.cfg) / this.cfg.P; // at most a merge's credit, as in push()
      this.out.push({ kind: 'rejected', from: c.id, reason, detail: `round ${r.round}: ${detail}` });
      if (this.ownSession(c)) this.dedupe.set({ id: c.id, session: c.session, seq: c.seq, round: r.round, fragment: r.fragment, reason });
      if (this.learners.get(c.id)?.connected) {
        this.out.push({ kind: 'send', to: c.id, msg: { type: 'ack', fragment: r.fragment, round: r.round, seq: c.seq, session: c.session, outcome: 'rejected', reason } });
      }
    }
  }

  /**
   * Whether a push's session is still its learner's: a tab that reloaded since it pushed is a new session,
   * and the old one can never resend (its memory went with it). A round that closes after the reload must
   * not write the old session's row: the table keeps one session per learner (dedupe.ts), so that row
   * would erase the new session's, and a resend of a merged push would be answered round-closed.
   */
  private ownSession(c: Contribution): boolean {
    const l = this.learners.get(c.id);
    return l === undefined || l.session === c.session;
  }

  private tick(now: number): void {
    for (const l of this.learners.values()) {
      if (l.connected && now - l.lastSeen > silenceLimitMs(l, this.cfg.heartbeatMinMs, this.cfg.heartbeatSteps)) {
        this.out.push({ kind: 'drop', id: l.id, reason: `silent for ${now - l.lastSeen} ms` });
        this.leave(l.id, now);
      }
    }
    for (const r of [...this.rounds.values()]) {
      this.advance(r, now);
      if (!this.rounds.has(r.round)) continue; // closed now (deadline, timeout): a re-pull would only cost a resend
      for (const id of overdue(r, this.learners, this.cfg.grace.slackMs, now)) { this.repulls++; this.sendPull(r, id); }
    }
  }

  /** Open rounds while fewer than τ are in flight and a fragment may open (turn.ts), pulling its ready learners. */
  private schedule(now: number): void {
    const busy = (p: number): boolean => [...this.rounds.values()].some((r) => r.fragment === p);
    const due = (p: number): boolean => fragmentDue(this.cfg, this.model.versions[p]!, p, this.learners.values());
    while (this.rounds.size < this.cfg.tau) {
      const p = this.turn.pick(busy, due);
      if (p === undefined) return;
      const ready = [...this.learners.values()].filter((l) => l.connected && (l.cSteps[p] ?? 0) >= 1).map((l) => l.id);
      const r = openRound(++this.globalStep, p, now, ready);
      this.rounds.set(r.round, r);
      this.timing.opened(r);
      this.turn.opened(p);
      this.out.push({ kind: 'broadcast', to: ready, msg: { type: 'pull', fragment: p, round: r.round } });
    }
  }

  /** Ask for a tick at the earliest deadline, once per distinct deadline (the driver keeps one timer). */
  private requestWake(): void {
    let at = Infinity;
    for (const r of this.rounds.values()) at = Math.min(at, r.deadline ?? Infinity, r.openedAt + this.cfg.roundTimeoutMs);
    if (at < Infinity && at !== this.wakeAt) this.out.push({ kind: 'wake', at });
    this.wakeAt = at;
  }

  /**
   * Bounded tables: disconnected learners beyond MAX_LEARNERS records are forgotten, oldest join first
   * (a forgotten learner that comes back starts a new record: its claims budget restarts from then, so
   * forgetting never grants more), and expired bans go (beyond MAX_BANS, bans.ts drops the soonest to expire).
   */
  private prune(now: number): void {
    this.banned.prune(now);
    for (const id of forgetDisconnected(this.learners, Syncer.MAX_LEARNERS)) this.dedupe.forget(id);
  }

  private count(reason: Reason): void {
    this.rejections.set(reason, (this.rejections.get(reason) ?? 0) + 1);
  }

  private refuse(id: string, reason: Reason, detail: string, drop: boolean): void {
    this.count(reason);
    this.out.push({ kind: 'rejected', from: id, reason, detail });
    this.out.push({ kind: 'send', to: id, msg: { type: 'reject', reason, detail } });
    if (drop) this.out.push({ kind: 'drop', id, reason });
  }
}
