import { getCodec } from '../codecs';
import { planFragments, type Fragment } from '../fragments';
import { Ema, graceWindowMs } from '../grace';
import type { ParamLayout } from '../layout';
import { mergeOuterGradient, tokenWeight } from '../merge';
import type { Message } from '../protocol';
import type { Reason } from '../result';
import type { SyncConfig } from './config';
import type { Msg, SyncCommand, SyncEvent } from './events';
import { GlobalModel, type ModelState } from './global-model';
import { newLearner, silenceLimitMs, type LearnerRecord } from './learners';
import { openRound, type Contribution, type Round } from './round';

/**
 * The Decoupled DiLoCo syncer as a pure state machine (algorithm.md §2.4–2.8): it consumes events and
 * returns commands. Rounds are paced by learner step counters, never by wall clock (pitfall 8).
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
  /** Round-robin pointer: the fragment the next round opens on, when it is due. */
  nextFragment = 0;
  private readonly xiQuorum: Ema;
  private readonly xiSync: Ema;
  private readonly closedAt = new Map<number, number>();
  private out: SyncCommand[] = [];
  private wakeAt = Infinity;

  constructor(readonly cfg: SyncConfig, readonly layout: ParamLayout, init: Float32Array, readonly epoch = 1) {
    this.fragments = planFragments(layout, cfg.P);
    this.model = new GlobalModel(layout, this.fragments, init, cfg.outer, cfg.historyDepth);
    this.xiQuorum = new Ema(cfg.grace.emaAlpha);
    this.xiSync = new Ema(cfg.grace.emaAlpha);
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
      case 'synced': {
        const t0 = this.closedAt.get(ev.round);
        if (t0 !== undefined) { this.xiSync.update(ev.now - t0); this.closedAt.delete(ev.round); }
        break;
      }
    }
    this.schedule(ev.now);
    this.requestWake();
    return this.out;
  }

  /** Resume a saved run: model state plus the counters that drive versions and the progress clock. */
  restore(st: ModelState, globalStep: number, mergedTokens: number, nextFragment: number): void {
    if (globalStep < Math.max(...st.versions)) throw new RangeError(`global step ${globalStep} is behind a fragment version`);
    if (!Number.isInteger(nextFragment) || nextFragment < 0 || nextFragment >= this.cfg.P) throw new RangeError(`next fragment ${nextFragment} is outside [0, ${this.cfg.P})`);
    this.model.restore(st);
    this.nextFragment = nextFragment;
    this.globalStep = globalStep;
    this.mergedTokens = mergedTokens;
    this.rounds.clear();
  }

  snapshotFor(): Msg<'snapshot'> {
    const { P, H, tau, K, uplinkCodec, blockSize } = this.cfg;
    return {
      type: 'snapshot', runId: this.cfg.runId, epoch: this.epoch, globalStep: this.globalStep, progress: this.progress,
      config: { P, H, tau, K, uplinkCodec, blockSize }, versions: [...this.model.versions], params: Float32Array.from(this.model.theta),
    };
  }

  private join(id: string, hello: Msg<'hello'>, now: number): void {
    if (hello.runId !== this.cfg.runId) return this.refuse(id, 'run-mismatch', `run ${hello.runId} is not ${this.cfg.runId}`, true);
    if (hello.layoutHash !== this.layout.hash) return this.refuse(id, 'layout-mismatch', `model layout ${hello.layoutHash} differs from ${this.layout.hash}`, true);
    const old = this.learners.get(id);
    if (old?.connected) this.leave(id, now); // a reconnect replaces the old connection
    const rec = newLearner(id, hello.session, hello.backend, hello.tokensPerStep, this.cfg.P, now);
    if (old) { rec.merges = old.merges; rec.tokensMerged = old.tokensMerged; }
    this.learners.set(id, rec);
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
        if (msg.cSteps.length !== this.cfg.P || msg.cTokens.length !== this.cfg.P || msg.versions.length !== this.cfg.P) {
          return this.refuse(id, 'bad-field', `meta carries ${msg.cSteps.length} fragments, run has ${this.cfg.P}`, false);
        }
        l.t = msg.t; l.stepMs = msg.stepMs;
        // Counters only count toward a fragment the learner holds at its current version: a META sent
        // before a broadcast arrived would otherwise make that fragment look due again at once.
        msg.cSteps.forEach((s, p) => { l.cSteps[p] = msg.versions[p] === this.model.versions[p] ? s : 0; l.cTokens[p] = msg.cTokens[p] ?? 0; });
        return this.pullLate(l);
      case 'push': return this.push(l, msg, now);
      case 'heartbeat': l.t = Math.max(l.t, msg.t); return;
      case 'bye': return this.leave(id, now);
      default: return this.refuse(id, 'unknown-type', `${msg.type} is not a learner message`, false);
    }
  }

  private push(l: LearnerRecord, m: Msg<'push'>, now: number): void {
    const refuse = (reason: Reason, detail: string): void => {
      this.count(reason);
      this.out.push({ kind: 'rejected', from: l.id, reason, detail });
      this.out.push({ kind: 'send', to: l.id, msg: { type: 'ack', fragment: m.fragment, round: m.round, seq: m.seq, outcome: 'rejected', reason } });
    };
    const frag = this.fragments[m.fragment];
    if (!frag) return refuse('unknown-fragment', `fragment ${m.fragment} of ${this.cfg.P}`);
    const r = this.rounds.get(m.round);
    if (!r) return refuse(m.round <= this.globalStep ? 'round-closed' : 'round-unknown', `round ${m.round}, latest ${this.globalStep}`);
    if (r.fragment !== m.fragment) return refuse('bad-field', `round ${m.round} is for fragment ${r.fragment}, not ${m.fragment}`);
    if (r.pushes.has(l.id)) return refuse('duplicate', `learner ${l.id} already pushed round ${m.round}`);
    if (!(m.cSteps >= 1) || !(m.cTokens > 0)) return refuse('no-steps', `cSteps ${m.cSteps}, cTokens ${m.cTokens}`);
    const codec = getCodec(m.codec);
    if (!codec.ok) return refuse(codec.reason, codec.detail);
    const delta = codec.value.decode(m.payload, frag.size);
    if (!delta.ok) return refuse(delta.reason, delta.detail);
    const base = this.model.at(m.fragment, m.baseVersion);
    if (!base) return refuse('stale-base', `base version ${m.baseVersion} of fragment ${m.fragment} is no longer held`);
    const local = new Float32Array(frag.size);
    for (let i = 0; i < local.length; i++) local[i] = base[i]! + delta.value[i]!;
    if (!local.every(Number.isFinite)) return refuse('non-finite', 'base + delta overflows fp32');
    const c: Contribution = { id: l.id, session: l.session, seq: m.seq, baseVersion: m.baseVersion, cSteps: m.cSteps, cTokens: m.cTokens, local };
    r.pushes.set(l.id, c);
    r.waitingFor.delete(l.id);
    this.advance(r, now);
  }

  /** A learner that became ready after a round opened (it joined, or its first META came late) is pulled
   * too: the pull goes to every connected learner with work on the fragment, whenever it shows up. */
  private pullLate(l: LearnerRecord): void {
    for (const r of this.rounds.values()) {
      if ((l.cSteps[r.fragment] ?? 0) < 1 || r.pulled.has(l.id)) continue;
      r.pulled.add(l.id);
      r.waitingFor.add(l.id);
      this.out.push({ kind: 'send', to: l.id, msg: { type: 'pull', fragment: r.fragment, round: r.round } });
    }
  }

  /** Quorum, then grace, then close (algorithm.md §2.5). */
  private advance(r: Round, now: number): void {
    const connected = this.connectedIds().length;
    const quorum = Math.max(1, Math.min(this.cfg.K, connected));
    if (r.quorumAt === undefined && r.pushes.size >= quorum) {
      r.quorumAt = now;
      this.xiQuorum.update(now - r.openedAt);
      const stepMs = this.slowestStepMs();
      r.graceMs = graceWindowMs(this.cfg.grace, stepMs, this.xiQuorum.value, this.xiSync.value);
      r.deadline = now + r.graceMs;
    }
    // Once every pulled learner has answered (or left) there is nobody left to wait for: merge what came,
    // even below K, rather than stall the run; with no push at all the round is abandoned.
    if (now >= r.openedAt + this.cfg.roundTimeoutMs) r.waitingFor.clear(); // stop waiting for the silent
    const everyoneAnswered = r.waitingFor.size === 0;
    if (everyoneAnswered && r.pushes.size === 0) { this.rounds.delete(r.round); this.abandoned++; return; }
    if (everyoneAnswered || (r.deadline !== undefined && now >= r.deadline)) this.close(r, now);
  }

  private close(r: Round, now: number): void {
    this.rounds.delete(r.round);
    const p = r.fragment;
    const current = this.model.fragmentValues(p);
    const stepsCap = this.cfg.stepsCapFactor * this.cfg.H;
    const pushes = [...r.pushes.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)); // deterministic order
    const contribs = pushes.map((c) => {
      const delta = new Float32Array(current.length);
      for (let i = 0; i < delta.length; i++) delta[i] = current[i]! - c.local[i]!;
      return { delta, weight: tokenWeight(c.cTokens, c.cSteps, stepsCap) };
    });
    const D = mergeOuterGradient(contribs, this.fragments[p]!.segments, this.cfg.merge);
    const values = this.model.step(p, D, r.round);
    this.merges++;
    // A push carries one fragment, 1/P of the model: it credits cTokens/P merged tokens, so the progress
    // clock counts each trained token once when all P fragments of it have been merged.
    for (const c of pushes) {
      const credited = c.cTokens / this.cfg.P;
      this.mergedTokens += credited;
      const l = this.learners.get(c.id);
      if (l) { l.merges++; l.tokensMerged += credited; }
    }
    const to = this.connectedIds();
    this.out.push({
      kind: 'broadcast', to,
      msg: { type: 'broadcast', fragment: p, version: r.round, epoch: this.epoch, globalStep: this.globalStep, progress: this.progress, precision: this.cfg.downlink, values },
    });
    for (const c of pushes) {
      if (this.learners.get(c.id)?.connected) {
        this.out.push({ kind: 'send', to: c.id, msg: { type: 'ack', fragment: p, round: r.round, seq: c.seq, outcome: 'merged', reason: null } });
      }
    }
    for (const id of to) this.learners.get(id)!.cSteps[p] = 0; // they reset on receipt
    this.closedAt.set(r.round, now);
    this.out.push({
      kind: 'merged',
      entry: {
        round: r.round, fragment: p, version: r.round, openedAt: r.openedAt, closedAt: now, graceMs: r.graceMs ?? 0,
        contributors: pushes.map((c, i) => ({ id: c.id, session: c.session, seq: c.seq, baseVersion: c.baseVersion, cSteps: c.cSteps, cTokens: c.cTokens, weight: contribs[i]!.weight })),
      },
    });
  }

  private tick(now: number): void {
    for (const l of this.learners.values()) {
      if (l.connected && now - l.lastSeen > silenceLimitMs(l, this.cfg.heartbeatMinMs, this.cfg.heartbeatSteps)) {
        this.out.push({ kind: 'drop', id: l.id, reason: `silent for ${now - l.lastSeen} ms` });
        this.leave(l.id, now);
      }
    }
    for (const r of [...this.rounds.values()]) this.advance(r, now);
  }

  /** Open rounds round-robin while fewer than τ are in flight and the next fragment is due. */
  private schedule(now: number): void {
    while (this.rounds.size < this.cfg.tau) {
      const p = this.nextFragment;
      if ([...this.rounds.values()].some((r) => r.fragment === p) || !this.isDue(p)) return;
      const ready = [...this.learners.values()].filter((l) => l.connected && (l.cSteps[p] ?? 0) >= 1).map((l) => l.id);
      const r = openRound(++this.globalStep, p, now, ready);
      this.rounds.set(r.round, r);
      this.nextFragment = (p + 1) % this.cfg.P;
      this.out.push({ kind: 'broadcast', to: ready, msg: { type: 'pull', fragment: p, round: r.round } });
    }
  }

  /** Due when K_eff connected learners have ≥ H steps on it. Before a fragment's first merge the bar is
   * H·(p+1)/P so the P fragments come due staggered, one every H/P steps (algorithm.md §2.4). */
  isDue(p: number): boolean {
    const { H, P, K } = this.cfg;
    const bar = this.model.versions[p] === 0 ? Math.ceil((H * (p + 1)) / P) : H;
    const connected = [...this.learners.values()].filter((l) => l.connected);
    if (connected.length === 0) return false;
    return connected.filter((l) => (l.cSteps[p] ?? 0) >= bar).length >= Math.min(K, connected.length);
  }

  private slowestStepMs(): number | undefined {
    let max: number | undefined;
    for (const l of this.learners.values()) if (l.connected && l.stepMs !== undefined) max = Math.max(max ?? 0, l.stepMs);
    return max;
  }

  /** Ask for a tick at the earliest deadline, once per distinct deadline (the driver keeps one timer). */
  private requestWake(): void {
    let at = Infinity;
    for (const r of this.rounds.values()) at = Math.min(at, r.deadline ?? Infinity, r.openedAt + this.cfg.roundTimeoutMs);
    if (at < Infinity && at !== this.wakeAt) this.out.push({ kind: 'wake', at });
    this.wakeAt = at;
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
