import { getCodec, type Codec } from '../codecs';
import { applyUpdate } from '../downlink';
import { gather, planFragments, scatter, type Fragment } from '../fragments';
import type { ParamLayout } from '../layout';
import type { Message } from '../protocol';
import { fail, ok, type Result } from '../result';

type Msg<T extends Message['type']> = Extract<Message, { type: T }>;

/**
 * A learner's side of the protocol (algorithm.md §2.3), free of TF.js: per-fragment counters since the
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
  /** Pushes sent and not yet acked, by seq: resent after a reconnect (reliability.md §2.7). */
  private readonly unacked = new Map<number, Msg<'push'>>();
  /** Unacked pushes dropped because more than MAX_UNACKED were waiting (the coordinator is not answering). */
  droppedUnacked = 0;
  static readonly MAX_UNACKED = 16;
  private codec: Codec | undefined;
  private blockSize = 128;

  /** @param alpha blend on broadcast: θ_p ← α·θ_p + (1−α)·Θ_p. 0 (overwrite) is the paper's default. */
  constructor(readonly layout: ParamLayout, readonly alpha = 0) {}

  get joined(): boolean {
    return this.codec !== undefined;
  }

  /**
   * Adopt the coordinator's full model. Returns the flat parameters to load into the model.
   * Fragment by fragment, a snapshot never takes a learner back: if a newer broadcast of a fragment
   * overtook this snapshot on the wire (same epoch), that fragment and its counters are kept as they are,
   * taken from `current` (the learner's parameters now; needed once joined).
   */
  applySnapshot(s: Msg<'snapshot'>, current?: Float32Array): Result<Float32Array> {
    if (s.params.length !== this.layout.totalSize) return fail('length-mismatch', `snapshot has ${s.params.length} params, model has ${this.layout.totalSize}`);
    if (s.versions.length !== s.config.P) return fail('bad-field', `snapshot has ${s.versions.length} versions for P=${s.config.P}`);
    if (s.epoch < this.epoch) return fail('stale-base', `snapshot epoch ${s.epoch} is older than ${this.epoch}`);
    const codec = getCodec(s.config.uplinkCodec);
    if (!codec.ok) return codec;
    const keep = (p: number): boolean =>
      this.joined && s.epoch === this.epoch && current !== undefined && this.fragments.length === s.config.P && (this.baseVersions[p] ?? -1) > s.versions[p]!;
    const params = Float32Array.from(s.params);
    const fragments = planFragments(this.layout, s.config.P);
    fragments.forEach((f, p) => {
      if (keep(p)) { scatter(params, f, gather(current!, f)); return; }
      this.anchors[p] = gather(s.params, f);
      this.baseVersions[p] = s.versions[p]!;
      this.cSteps[p] = 0;
      this.cTokens[p] = 0;
    });
    this.fragments = fragments;
    this.anchors.length = this.baseVersions.length = this.cSteps.length = this.cTokens.length = fragments.length;
    this.codec = codec.value;
    this.blockSize = s.config.blockSize;
    this.epoch = s.epoch;
    this.globalStep = Math.max(this.globalStep, s.globalStep);
    this.progress = Math.max(this.progress, s.progress);
    return ok(params);
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

  /** The answer to a pull: the delta θ_p − anchor_p, compressed. Null when there is nothing to send. */
  makePush(pull: Msg<'pull'>, current: Float32Array): Msg<'push'> | null {
    const p = pull.fragment;
    const anchor = this.anchors[p];
    if (!this.codec || !anchor || (this.cSteps[p] ?? 0) < 1) return null;
    if (current.length !== anchor.length) throw new RangeError(`fragment ${p} has ${anchor.length} values, got ${current.length}`);
    const delta = new Float32Array(anchor.length);
    for (let i = 0; i < delta.length; i++) delta[i] = current[i]! - anchor[i]!;
    const push: Msg<'push'> = {
      type: 'push', fragment: p, round: pull.round, epoch: this.epoch, baseVersion: this.baseVersions[p]!, seq: ++this.seq, t: this.t,
      cSteps: this.cSteps[p]!, cTokens: this.cTokens[p]!, codec: this.codec.id, payload: this.codec.encode(delta, this.blockSize),
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

  /** Pushes to send again after a reconnect, oldest first: the coordinator answers each exactly once. */
  resendable(): Array<Msg<'push'>> {
    return [...this.unacked.values()];
  }

  /**
   * Adopt a broadcast fragment. Returns the values to write into fragment p of the model. `current` (the
   * fragment's values now) is read only to blend with α > 0. A delta applies only on top of exactly its
   * base version in this epoch; otherwise it is refused as 'stale-base' and the next full copy heals it.
   */
  applyBroadcast(b: Msg<'broadcast'>, current?: Float32Array): Result<Float32Array> {
    const p = b.fragment;
    const anchor = this.anchors[p];
    if (!anchor) return fail('unknown-fragment', `fragment ${p} of ${this.anchors.length}`);
    if (current && current.length !== anchor.length) return fail('length-mismatch', `fragment ${p} has ${anchor.length} values, current has ${current.length}`);
    if (b.epoch < this.epoch) return fail('stale-base', `broadcast epoch ${b.epoch} is older than ${this.epoch}`);
    if (b.epoch === this.epoch && b.version <= this.baseVersions[p]!) return fail('duplicate', `fragment ${p} version ${b.version} ≤ held ${this.baseVersions[p]}`);
    const adopted = this.broadcastValues(b, anchor);
    if (!adopted.ok) return adopted;
    const next = Float32Array.from(adopted.value);
    if (this.alpha > 0) {
      if (!current) throw new RangeError(`blending with α = ${this.alpha} needs fragment ${p}'s current values`);
      for (let i = 0; i < next.length; i++) next[i] = this.alpha * current[i]! + (1 - this.alpha) * next[i]!;
    }
    this.anchors[p] = adopted.value;
    this.baseVersions[p] = b.version;
    this.epoch = b.epoch;
    this.globalStep = Math.max(this.globalStep, b.globalStep);
    this.progress = Math.max(this.progress, b.progress);
    this.cSteps[p] = 0;
    this.cTokens[p] = 0;
    return ok(next);
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
