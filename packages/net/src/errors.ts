/**
 * Failures that cross the packages/net boundary. A code (closed set) says what happened so callers can
 * branch and count without parsing prose; the message is for people.
 */
export const NET_ERROR_CODES = [
  'closed',          // the link closed (locally, remotely, or by a liveness timeout) before the operation finished
  'not-open',        // send on a link that is not (yet) open
  'send-timeout',    // the data channel did not drain below its low-water mark before the deadline
  'too-large',       // message above the configured maxMessageBytes
  'open-timeout',    // the signalling server did not confirm our peer id before the deadline
  'connect-timeout', // the data channel to the other peer did not open before the deadline
  'signalling',      // the signalling server refused us or could not be reached
  'unknown-learner', // send to a learner id with no open link
] as const;

export type NetErrorCode = (typeof NET_ERROR_CODES)[number];

export class NetError extends Error {
  override name = 'NetError';
  constructor(readonly code: NetErrorCode, message: string) {
    super(`${code}: ${message}`);
  }
}
