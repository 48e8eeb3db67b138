/**
 * The tabswarm wire messages (docs/method.md §1), as a discriminated union on `type`.
 *
 * Every message travels as one little-endian binary frame (layout in encode.ts):
 *   'T' 'S' | version u8 | type u8 | fields…
 * All integers called u32 below are unsigned 32-bit; u8 fields are unsigned bytes; f64 fields are
 * IEEE doubles and must be finite. Identifiers are ASCII [A-Za-z0-9_-], 1..64 characters.
 */
import type { Reason } from '../result';
import type { LrSchedule } from '../schedule';

/** 2: push carries the epoch of its base (durable coordinator, issue #4).
 * 3: a broadcast carries either the fragment's values or the quantised outer update against a base version.
 * 4: the snapshot's config carries the inner LR schedule and the lockstep rule (baselines, docs/method.md §9),
 *    and the run's tokens per step (claims, docs/fault-tolerance.md §3).
 * 5: every coordinator frame travels signed (signed.ts, docs/security.md §2).
 * 6: status carries the merged tokens of all learners and of the recipient (its share on the learner page).
 * 7: a learner says when it moves to another training backend (the backend message), so the coordinator's
 *    learner table follows a tab's background calibration instead of keeping what its hello said. */
export const PROTOCOL_VERSION = 7;

/** The two magic bytes that open every frame: 'T' 'S'. */
export const MAGIC0 = 0x54;
export const MAGIC1 = 0x53;
/** Magic (2) + version (1) + type (1). */
export const HEADER_BYTES = 4;

/** Learner → syncer, once per connection, before anything else. */
export interface HelloMsg {
  type: 'hello';
  runId: string;
  learnerId: string;
  /** u32, incremented on every restart of the tab (dedupe key with learnerId and seq). */
  session: number;
  layoutHash: string;
  /** u32 ≥ 1. */
  tokensPerStep: number;
  /** e.g. 'webgpu' | 'wasm' | 'cpu': ASCII [A-Za-z0-9_-], 1..32 characters. */
  backend: string;
  /** u8 codec id the learner will use for pushes. */
  uplinkCodec: number;
}

export interface SnapshotConfig {
  /** Number of fragments, u32 in [1, limits.maxFragments]; equals versions.length. */
  P: number;
  /** Inner steps per sync, u32 ≥ 1. */
  H: number;
  /** Rounds in flight, u32 ≥ 1. */
  tau: number;
  /** Minimum quorum, u32 ≥ 1. */
  K: number;
  /** u8 codec id for pushes. */
  uplinkCodec: number;
  /** Codec block size, u32 ≥ 1. */
  blockSize: number;
  /** u8 0|1. Synchronous baselines (DiLoCo, data-parallel): a learner that has pushed a fragment waits for
   * its broadcast before the next step, instead of training on while the round is in flight. */
  lockstep: boolean;
  /** The inner LR schedule on the global progress clock, 4 finite f64 (schedule.ts): one source for every
   * learner, the norm cap and the simulator. */
  lr: LrSchedule;
  /** Tokens one inner step trains in this run (batch × context, or batch for digits), u32 ≥ 1: the run's
   * configuration, which every push's claims are checked against (docs/fault-tolerance.md §3). */
  tokensPerStep: number;
}

/** Syncer → learner: the whole model on join. */
export interface SnapshotMsg {
  type: 'snapshot';
  runId: string;
  /** u32 coordinator incarnation (fencing). */
  epoch: number;
  /** u32. */
  globalStep: number;
  /** Global progress clock, finite, in [0, 1]. */
  progress: number;
  config: SnapshotConfig;
  /** u32 per fragment. */
  versions: number[];
  /** All parameters, fp32, all finite. */
  params: Float32Array;
}

/** Learner → syncer, every step. */
export interface MetaMsg {
  type: 'meta';
  /** u32 local step. */
  t: number;
  /** u32 per fragment: steps since the fragment was last received. */
  cSteps: number[];
  /** finite f64 ≥ 0 per fragment: tokens since the fragment was last received. Same length as cSteps. */
  cTokens: number[];
  /** u32 per fragment: the version of each fragment the counters are measured from. The syncer only counts
   * steps toward a fragment the learner holds at the current version, so a META that crossed a broadcast
   * on the wire cannot make that fragment look due again. */
  versions: number[];
  /** Step-time EMA in ms, finite f64 ≥ 0. */
  stepMs: number;
}

/** Syncer → learner: please push fragment `fragment` for round `round`. */
export interface PullMsg {
  type: 'pull';
  /** u32 < limits.maxFragments. */
  fragment: number;
  /** u32 round id. */
  round: number;
}

/** Learner → syncer: the answer to a pull. */
export interface PushMsg {
  type: 'push';
  fragment: number;
  round: number;
  /** u32 coordinator incarnation the base was received from: after a coordinator reload a resent push
   * from the old incarnation is answered from the dedupe table or refused, never merged into a new round
   * that happens to reuse its round id. */
  epoch: number;
  /** u32 version of the fragment the delta is taken against. */
  baseVersion: number;
  /** u32 per-session push sequence number. */
  seq: number;
  /** u32 local step at push time. */
  t: number;
  /** u32 steps since last receipt of this fragment. */
  cSteps: number;
  /** finite f64 ≥ 0 tokens since last receipt of this fragment. */
  cTokens: number;
  /** u8 codec id. */
  codec: number;
  /** Opaque codec bytes (validated by the codec layer), length ≤ limits.maxPayload. */
  payload: Uint8Array;
}

export type AckOutcome = 'merged' | 'rejected';

/**
 * Syncer → learner: outcome of a push. `reason` is null exactly when the outcome is 'merged'
 * (a resent duplicate is answered with its original outcome, per docs/fault-tolerance.md §2).
 */
export interface AckMsg {
  type: 'ack';
  fragment: number;
  round: number;
  seq: number;
  /** u32 session of the push: a learner id reused by a restarted tab must not settle its own seq n with
   * the ack of the previous session's seq n. */
  session: number;
  outcome: AckOutcome;
  reason: Reason | null;
}

/** Wire precision of a full broadcast (a broadcast of the outer update has precision 'delta'). */
export type Precision = 'fp32' | 'fp16';

export interface BroadcastHead {
  type: 'broadcast';
  fragment: number;
  /** u32 new version of the fragment. */
  version: number;
  /** u32 coordinator incarnation. */
  epoch: number;
  /** u32. */
  globalStep: number;
  /** finite, in [0, 1]. */
  progress: number;
}

/** Syncer → learner: the new value of one fragment, whole. */
export interface FullBroadcastMsg extends BroadcastHead {
  /** Wire precision of `values`; decoded values are always fp32. */
  precision: Precision;
  /** Fragment values, all finite; with fp16, every |v| must round below 65520. */
  values: Float32Array;
}

/**
 * Syncer → learner that holds `baseVersion`: the new value as Θ_base + decode(payload) (downlink.ts), for
 * a learner that holds exactly `baseVersion` of the fragment in this epoch; anyone else refuses it.
 */
export interface DeltaBroadcastMsg extends BroadcastHead {
  precision: 'delta';
  /** u32 version the update is taken against, below `version`. */
  baseVersion: number;
  /** u8 codec id of the payload. */
  codec: number;
  /** Opaque codec bytes (validated by the codec layer when applied), length ≤ limits.maxPayload. */
  payload: Uint8Array;
}

export type BroadcastMsg = FullBroadcastMsg | DeltaBroadcastMsg;

/** Both directions: liveness and RTT. */
export interface HeartbeatMsg {
  type: 'heartbeat';
  /** u32 sender's local step (0 for the syncer). */
  t: number;
  /** Sender's clock in ms, finite f64 (echo it back to measure RTT). */
  nowMs: number;
}

/**
 * Learner → syncer, when the tab has moved its model to another backend (background calibration, or a
 * rebuilt worker that could not go back to the one it was on). Sent once per change, not with every META,
 * whose bytes count in every learner step (docs/method.md §6); a hello after a reconnect names the new one.
 */
export interface BackendMsg {
  type: 'backend';
  /** As in hello: ASCII [A-Za-z0-9_-], 1..32 characters. */
  backend: string;
}

/** Learner → syncer: leaving cleanly. */
export interface ByeMsg {
  type: 'bye';
}

/** Syncer → learner: message-level refusal. */
export interface RejectMsg {
  type: 'reject';
  reason: Reason;
  /** Printable ASCII (0x20..0x7e), at most 200 characters. */
  detail: string;
}

/** Syncer → every connected learner, after each evaluation: how the global model is doing. */
export interface StatusMsg {
  type: 'status';
  /** u32 global step the evaluation was taken at. */
  globalStep: number;
  /** Held-out loss of the global model in nats per token, finite f64 ≥ 0. */
  loss: number;
  /** u32 learners connected. */
  learners: number;
  /** Tokens in merged updates, summed over every learner this coordinator knows (f64 ≥ 0). */
  learnerTokens: number;
  /** The recipient's part of learnerTokens (f64 ≥ 0): its share is yourTokens / learnerTokens. */
  yourTokens: number;
}

export type Message =
  | HelloMsg
  | SnapshotMsg
  | MetaMsg
  | PullMsg
  | PushMsg
  | AckMsg
  | BroadcastMsg
  | HeartbeatMsg
  | ByeMsg
  | RejectMsg
  | StatusMsg
  | BackendMsg;

export type MessageType = Message['type'];
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>;

/** Wire type byte of each message. Never renumber: append. */
export const TYPE_CODES: Readonly<Record<MessageType, number>> = {
  hello: 1,
  snapshot: 2,
  meta: 3,
  pull: 4,
  push: 5,
  ack: 6,
  broadcast: 7,
  heartbeat: 8,
  bye: 9,
  reject: 10,
  status: 11,
  backend: 12,
};

const BY_CODE: ReadonlyMap<number, MessageType> = new Map(
  (Object.keys(TYPE_CODES) as MessageType[]).map((t) => [TYPE_CODES[t], t]),
);

/** The message type for a wire type byte, or null when the byte is not a known type. */
export function typeFromCode(code: number): MessageType | null {
  return BY_CODE.get(code) ?? null;
}

/** String limits. */
export const ID_MAX = 64;
export const BACKEND_MAX = 32;
export const DETAIL_MAX = 200;
/** The largest value a u32 field carries (counters: epoch, global step, rounds, versions, seq, session). */
export const U32_MAX = 0xffffffff;
/** Reason byte meaning "no reason" (ack with outcome 'merged'). */
export const NO_REASON = 255;
