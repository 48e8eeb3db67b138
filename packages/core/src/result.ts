/**
 * Every refusal in tabswarm carries a reason code from this closed set, so that a rejection can be
 * counted, shown and tested without parsing prose. Decoders and validators return a Result instead of
 * throwing: hostile bytes must never turn into an exception on the coordinator.
 */
export const REASONS = [
  // framing and schema
  'truncated',          // fewer bytes than the header or a length field promises
  'oversized',          // a length above the configured limit
  'bad-magic',          // not a tabswarm message
  'bad-version',        // protocol version we do not speak
  'unknown-type',       // message type byte outside the known set
  'bad-field',          // a field out of its legal range (negative count, index too large, …)
  'trailing-bytes',     // more bytes than the message describes
  'non-finite',         // NaN or ±Infinity in a value, scale or counter
  'bad-codec',          // unknown codec id or block size
  'length-mismatch',    // payload length disagrees with the fragment / codec geometry
  // protocol state
  'layout-mismatch',    // learner's model layout hash differs from the run's
  'run-mismatch',       // message for another run id
  'unknown-learner',    // message from a learner that never said hello
  'unknown-fragment',   // fragment index outside [0, P)
  'round-closed',       // push for a round that is no longer collecting
  'round-unknown',      // push for a round that was never opened for that fragment
  'stale-base',         // base version too old (not in the history ring, or beyond the age limit)
  'duplicate',          // second push from one learner for one round
  'no-steps',           // push with zero steps since last receipt: nothing to merge
  // added with the durable coordinator and hostile-input guards (append only: the wire sends the index)
  'stale-epoch',        // push trained under an earlier coordinator incarnation, not in the dedupe table
  'norm-outlier',       // update norm above the adaptive cap (a multiple of the running median)
  'token-claim',        // claims more steps or tokens than the learner could have done
  'too-many-strikes',   // disconnected after repeated invalid messages
  'not-leader',         // another coordinator tab holds this run
  // added with the coordinator's identity (docs/security.md §2)
  'unsigned',           // a bare frame where the coordinator signs every frame
  'wrong-key',          // signed by a key other than the one the join URL pinned
  'bad-signature',      // the signature does not match the frame
] as const;

export type Reason = (typeof REASONS)[number];

export type Result<T> = { ok: true; value: T } | { ok: false; reason: Reason; detail: string };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T = never>(reason: Reason, detail: string): Result<T> => ({ ok: false, reason, detail });

/** Thrown only for programmer errors (bad configuration), never for untrusted input. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
