import type { Quantization } from '../downlink';
import type { OuterChoice } from '../outer';
import type { Message, MessageOf } from '../protocol';
import type { Reason } from '../result';
import type { Commit } from './commit';

/** One message type of the protocol (protocol/messages.ts defines it once). */
export type Msg<T extends Message['type']> = MessageOf<T>;

/**
 * What the driver feeds the syncer. `now` is the driver's clock in ms; the syncer never reads a clock.
 * - join: a connection said hello (validated here, not by the driver).
 * - message: any later message from a joined learner (already decoded by protocol/decode).
 * - leave: the connection closed, or the driver gave up on it.
 * - tick: time passed; closes grace windows and drops silent learners.
 * - synced: the driver handed over the broadcast of `round` (measures ξ_sync); `commitMs` is how long its
 *   durable commit took, which ξ_sync leaves out (docs/method.md §4).
 * - invalid: bytes from a connection failed to decode (a strike against that learner).
 */
export type SyncEvent =
  | { kind: 'join'; id: string; now: number; hello: Msg<'hello'> }
  | { kind: 'message'; id: string; now: number; msg: Message }
  | { kind: 'leave'; id: string; now: number }
  | { kind: 'tick'; now: number }
  | { kind: 'synced'; round: number; now: number; commitMs?: number }
  | { kind: 'invalid'; id: string; now: number; reason: Reason };

/** One line of the merge log: enough to replay the outer step and to audit who made each version. */
export interface MergeLogEntry {
  round: number;
  fragment: number;
  version: number;
  /** In merge order. `weight` is the final merge weight (after every cap); `codec` and `payload` are the
   * pushed bytes, so that replaying the log rebuilds each contribution exactly. */
  contributors: Array<{ id: string; session: number; seq: number; baseVersion: number; cSteps: number; cTokens: number; weight: number; codec: number; payload: Uint8Array }>;
  openedAt: number;
  closedAt: number;
  graceMs: number;
  /** The downlink quantisation the committed value went through (merge-round.ts); absent for an exact
   * commit (fp32 / fp16 downlink, and every log written before the quantised downlink existed). */
  quantized?: Quantization;
  /** The outer step this merge applied (outer-policy.ts), so a replay does not depend on how many learners
   * were connected; absent in logs written before the mode was chosen per merge (replay.ts). */
  outer?: OuterChoice;
  /** Zero outer gradients a 'centered-clip' round below K merged in (merge-round.ts absentVotes); absent
   * when none. */
  absent?: number;
}

/**
 * What the syncer asks the driver to do. It never touches a socket or a timer itself.
 * - send / broadcast: deliver a message (broadcast lists its recipients: every connected learner).
 * - drop: close this learner's connection (silent past its heartbeat deadline).
 * - wake: call tick at (or after) this time; the earliest pending wake is the only one that matters.
 * - commit: write this outer step durably. Every command after it (its broadcast, its acks, and anything
 *   later) must wait until the write has completed: nobody hears of a version that could still be lost.
 * - rejected: a fact for dashboards and counters.
 */
export type SyncCommand =
  | { kind: 'send'; to: string; msg: Message }
  | { kind: 'broadcast'; to: string[]; msg: Message }
  | { kind: 'drop'; id: string; reason: string }
  | { kind: 'wake'; at: number }
  | { kind: 'commit'; commit: Commit }
  | { kind: 'rejected'; from: string; reason: Reason; detail: string };

/** Whether a command must wait for every earlier commit: everything but a pull (a pull reveals no state). */
export function waitsForCommit(c: SyncCommand): boolean {
  return !((c.kind === 'send' || c.kind === 'broadcast') && c.msg.type === 'pull');
}
