import { getCodec, type Codec } from '../codecs';
import { applyUpdate } from '../downlink';
import { gather, planFragments, type Fragment } from '../fragments';
import type { ParamLayout } from '../layout';
import type { MessageOf as Msg } from '../protocol';
import { fail, ok, type Result } from '../result';
import { byzantinePush } from './byzantine';


/**
 * A learner's side of the protocol (docs/method.md §1, §3), free of TF.js: per-fragment counters since the
 * fragment was last received, the anchor (last received Θ_p) and its version, and the push/apply rules.
 * The model itself lives elsewhere; this class hands back the values to write into it.
 */
export class LearnerState {
  fragments: readonly Fragment[] = [];
  anchors: Float32Array[] = [];
  baseVersions: number[] = [];
  cSteps: number[] = [];
  cTokens: number[] = [];
  epoch = 0;
  globalStep = 0;
  progress = 0;
  t = 0;
  private seq = 0;
  /** Pushes sent and not yet acked, by seq: resent after a reconnect (docs/fault-tolerance.md §2). */
  private readonly unacked = new Map<number, Msg<'push'>>();
  /** Unacked pushes dropped because more than MAX_UNACKED were waiting (the coordinator is not answering). */
  droppedUnacked = 0;
  static readonly MAX_UNACKED = 16;
  private codec: Codec | undefined;
  private blockSize = 128;
  private H = 1;
  private tokensPerStep = 1;

  /** `byzantine`: this tab is the classroom demo of a hostile tab (byzantine.ts); absent, it is honest. */
  constructor(readonly layout: ParamLayout, private readonly byzantine?: number) {}

  get joined(): boolean {
    return this.codec !== undefined;
  }

  /**
   * Adopt the coordinator's full model. Returns the flat parameters and the fragments to keep: fragment by
   * fragment, a snapshot never takes a learner back. If a newer broadcast of a fragment overtook this
   * snapshot on the wire (same epoch), that fragment and its counters stay as they are, and the caller
   * writes every fragment but the kept ones.
   */
  applySnapshot(s: Msg<'snapshot'>): Result<{ params: Float32Array; kept: number[] }> {
    if (s.params.length !== this.layout.totalSize) return fail('length-mismatch', `snapshot has ${s.params.length} params, model has ${this.layout.totalSize}`);
    if (s.versions.length !== s.config.P) return fail('bad-field', `snapshot has ${s.versions.length} versions for P=${s.config.P}`);
    if (s.epoch < this.epoch) return fail('stale-base', `snapshot epoch ${s.epoch} is older than ${this.epoch}`);
    const codec = getCodec(s.config.uplinkCodec);
    if (!codec.ok) return codec;
    const keep = (p: number): boolean =>
      this.joined && s.epoch === this.epoch && this.fragments.length === s.config.P && (this.baseVersions[p] ?? -1) > s.versions[p]!;
    const fragments = planFragments(this.layout, s.config.P);
    const kept: number[] = [];
    fragments.forEach((f, p) => {
      if (keep(p)) { kept.push(p); return; }
      this.anchors[p] = gather(s.params, f);
      this.baseVersions[p] = s.versions[p]!;
      this.cSteps[p] = 0;
      this.cTokens[p] = 0;
    });
    this.fragments = fragments;
    this.anchors.length = this.baseVersions.length = this.cSteps.length = this.cTokens.length = fragments.length;
    this.codec = codec.value;
    this.blockSize = s.config.blockSize;
    this.H = s.config.H;
    this.tokensPerStep = s.config.tokensPerStep;
    this.adoptClock(s);
    return ok({ params: Float32Array.from(s.params), kept });
  }

  /** Forget the anchors (after a worker rebuild): the next snapshot is adopted whole. Unacked pushes stay. */
  rejoin(): void {
    this.codec = undefined;
  }

  /** One inner step of `tokens` tokens was taken. */
  recordStep(tokens: number): void {
    this.t++;
    for (let p = 0; p < this.cSteps.length; p++) { this.cSteps[p]!++; this.cTokens[p]! += tokens; }
  }

  meta(stepMs: number): Msg<'meta'> {
    return { type: 'meta', t: this.t, cSteps: [...this.cSteps], cTokens: [...this.cTokens], versions: [...this.baseVersions], stepMs };
  }

  /**
   * The answer to a pull: the delta θ_p − anchor_p, compressed. `current` is fragment p as of local step
   * `at.t`, after `at.cSteps` steps on it holding `at.cTokens` tokens (by default: now). Null when there is
   * nothing to send.
   */
  makePush(pull: Msg<'pull'>, current: Float32Array, at?: { t: number; cSteps: number; cTokens: number }): Msg<'push'> | null {
    const p = pull.fragment;
    const anchor = this.anchors[p];
    const when = at ?? { t: this.t, cSteps: this.cSteps[p] ?? 0, cTokens: this.cTokens[p] ?? 0 };
    if (!this.codec || !anchor || when.cSteps < 1) return null;
    if (current.length !== anchor.length) throw new RangeError(`fragment ${p} has ${anchor.length} values, got ${current.length}`);
    const delta = new Float32Array(anchor.length);
    for (let i = 0; i < delta.length; i++) delta[i] = current[i]! - anchor[i]!;
    const claim = this.byzantine === undefined ? when : byzantinePush(this.byzantine, delta, when, this.H, this.tokensPerStep);
    const push: Msg<'push'> = {
      type: 'push', fragment: p, round: pull.round, epoch: this.epoch, baseVersion: this.baseVersions[p]!, seq: ++this.seq, t: when.t,
      cSteps: claim.cSteps, cTokens: claim.cTokens, codec: this.codec.id, payload: this.codec.encode(delta, this.blockSize),
    };
    this.unacked.set(push.seq, push);
    while (this.unacked.size > LearnerState.MAX_UNACKED) { this.unacked.delete(this.unacked.keys().next().value as number); this.droppedUnacked++; }
    return push;
  }

  /** An ack settles its push for good (merged or refused). Returns the push, or undefined when the ack is
   * not for a push of this session that is still waiting (a duplicated ack, another session's, a stray). */
  settle(ack: Msg<'ack'>, session: number): Msg<'push'> | undefined {
    const p = this.unacked.get(ack.seq);
    if (!p || ack.session !== session || ack.fragment !== p.fragment) return undefined;
    this.unacked.delete(ack.seq);
    return p;
  }

  /** The push not yet acked that answered `round` of fragment p in the epoch held now, if any: what a pull
   * repeated for that round is answered with (the same seq, so the coordinator merges it at most once). */
  unackedFor(fragment: number, round: number): Msg<'push'> | undefined {
    for (const p of this.unacked.values()) if (p.fragment === fragment && p.round === round && p.epoch === this.epoch) return p;
    return undefined;
  }

  /** The seq of the last push this session made (0 before one): any push with a seq up to it was made by now. */
  get lastSeq(): number {
    return this.seq;
  }

  /** Pushes to send again after a reconnect, oldest first: the coordinator answers each exactly once. */
  resendable(): Array<Msg<'push'>> {
    return [...this.unacked.values()];
  }

  /**
   * Adopt a broadcast fragment. Returns Θ_p, for the engine to write (or re-apply its in-flight steps on,
   * engine.ts). A delta applies only on top of exactly its base version in this epoch; otherwise it is
   * refused as 'stale-base' and the next full copy heals it (the META keeps reporting the older version).
   */
  applyBroadcast(b: Msg<'broadcast'>): Result<Float32Array> {
    const p = b.fragment;
    const anchor = this.anchors[p];
    if (!anchor) return fail('unknown-fragment', `fragment ${p} of ${this.anchors.length}`);
    if (b.epoch < this.epoch) return fail('stale-base', `broadcast epoch ${b.epoch} is older than ${this.epoch}`);
    // A new epoch starts with its snapshot (it comes first on the link): only that replaces every fragment.
    if (b.epoch > this.epoch) return fail('stale-epoch', `broadcast of epoch ${b.epoch} before its snapshot (held epoch ${this.epoch})`);
    if (b.epoch === this.epoch && b.version <= this.baseVersions[p]!) return fail('duplicate', `fragment ${p} version ${b.version} ≤ held ${this.baseVersions[p]}`);
    const adopted = this.broadcastValues(b, anchor);
    if (!adopted.ok) return adopted;
    const next = Float32Array.from(adopted.value);
    this.anchors[p] = adopted.value;
    this.baseVersions[p] = b.version;
    this.adoptClock(b);
    this.cSteps[p] = 0;
    this.cTokens[p] = 0;
    return ok(next);
  }

  /**
   * The run's global step and progress clock (which sets the inner learning rate, engine.ts) from a frame
   * of epoch `f.epoch`. Within an epoch they only rise: a snapshot may trail a broadcast that overtook it.
   * A newer incarnation's are the run's own even when lower: one that imported a model file, or restarted
   * from θ₀, is where that file or θ₀ was, and a tab keeping its old clock would train at another point of
   * the schedule than every tab that joined after (docs/model-file.md).
   */
  private adoptClock(f: { epoch: number; globalStep: number; progress: number }): void {
    const newer = f.epoch > this.epoch;
    this.epoch = f.epoch;
    this.globalStep = newer ? f.globalStep : Math.max(this.globalStep, f.globalStep);
    this.progress = newer ? f.progress : Math.max(this.progress, f.progress);
  }

  /** Θ_p as the syncer committed it: the full values, or the held anchor plus the decoded update. */
  private broadcastValues(b: Msg<'broadcast'>, anchor: Float32Array): Result<Float32Array> {
    if (b.precision !== 'delta') {
      return b.values.length === anchor.length ? ok(Float32Array.from(b.values)) : fail('length-mismatch', `fragment ${b.fragment} has ${anchor.length} values, got ${b.values.length}`);
    }
    if (b.epoch !== this.epoch || b.baseVersion !== this.baseVersions[b.fragment]) {
      return fail('stale-base', `update of fragment ${b.fragment} is against v${b.baseVersion} of epoch ${b.epoch}, held v${this.baseVersions[b.fragment]} of epoch ${this.epoch}`);
    }
    return applyUpdate(anchor, b.codec, b.payload);
  }
}
