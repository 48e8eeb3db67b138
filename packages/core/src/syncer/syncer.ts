import { planFragments, type Fragment } from '../fragments';
import type { ParamLayout } from '../layout';
import type { Message } from '../protocol';
import type { Reason } from '../result';
import { answerPush } from './answer-push';
import { BanList } from './bans';
import { closeRound } from './close-round';
import { copyOuter, unsendable, type DurableState } from './commit';
import { quorumOf, type SyncConfig } from './config';
import { DedupeTable } from './dedupe';
import type { Msg, SyncCommand, SyncEvent } from './events';
import { GlobalModel } from './global-model';
import { RunningMedian } from './guards';
import { applyMeta, forgetDisconnected, fragmentDue, newLearner, silenceLimitMs, type LearnerRecord } from './learners';
import { progressOf } from './merge-round';
import { overdue } from './repull';
import { openRound, pulledLate, type Round } from './round';
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
    return progressOf(this.cfg, this.mergedTokens);
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

  /** Answer a push (answer-push.ts), then advance the round it changed and strike its learner if it must. */
  private push(l: LearnerRecord, m: Msg<'push'>, now: number): void {
    const { round, strike } = answerPush({
      cfg: this.cfg, epoch: this.epoch, globalStep: this.globalStep, progress: this.progress, fragments: this.fragments, rounds: this.rounds, model: this.model,
      norms: this.norms, dedupe: this.dedupe, timing: this.timing, badput: this.badput, out: this.out, count: (reason) => this.count(reason),
    }, l, m, now);
    if (round) this.advance(round, now);
    if (strike) this.strike(l.id, now);
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

  /** Merge, outer step, commit (close-round.ts); a refused merge leaves the fragment free to open out of turn (turn.ts). */
  private close(r: Round, now: number): void {
    this.rounds.delete(r.round);
    const commit = closeRound({
      cfg: this.cfg, epoch: this.epoch, globalStep: this.globalStep, nextFragment: this.nextFragment, commitSeq: this.commitSeq, mergedTokens: this.mergedTokens,
      model: this.model, outerPolicy: this.outerPolicy, learners: this.learners, connected: this.connectedIds(), dedupe: this.dedupe, norms: this.norms,
      badput: this.badput, out: this.out, count: (reason) => this.count(reason),
    }, r, now);
    if (!commit) return this.turn.mergedNothing(r.fragment);
    this.merges++;
    this.commitSeq = commit.seq;
    this.mergedTokens = commit.mergedTokens;
    this.timing.closed(r.round, now);
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
