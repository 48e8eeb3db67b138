/**
 * Identities. A learner has a stable LOGICAL id (kept by the tab across reloads, sent in the
 * connection metadata) and a fresh PeerJS id per connection attempt: the signalling server holds an id
 * until the old socket is gone, so reusing it would collide (docs/browser.md §3). The coordinator's PeerJS
 * id is derived from the run id and reserved on the signalling server (server/admission.ts). A learner id
 * is bound to the secret of the session that first used it, so knowing the id is not enough to take it.
 */

/** Logical learner ids: ASCII, 1–64 characters from [A-Za-z0-9_-]. */
export const LEARNER_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Prefix of every coordinator's PeerJS id; the signalling server reserves it. */
export const COORDINATOR_ID_PREFIX = 'tabswarm-coord-';

/** What PeerJS 1.5.5 accepts as an id (lib/utils/validateId.ts); we also cap the length. */
const PEERJS_ID_PATTERN = /^[A-Za-z0-9]+(?:[ _-][A-Za-z0-9]+)*$/;
export const MAX_PEER_ID_LENGTH = 128;

export function isValidLearnerId(x: unknown): x is string {
  return typeof x === 'string' && LEARNER_ID_PATTERN.test(x);
}

export function isValidPeerId(x: unknown): x is string {
  return typeof x === 'string' && x.length <= MAX_PEER_ID_LENGTH && PEERJS_ID_PATTERN.test(x);
}

/** The coordinator's PeerJS id for a run; learner and coordinator apps must derive it the same way. */
export function coordinatorPeerId(runId: string): string {
  return `${COORDINATOR_ID_PREFIX}${runId}`;
}

/** Lower-case hex of `bytes` random bytes from crypto.getRandomValues (never Math.random: tokens guard ids). */
export function randomHex(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** A PeerJS token: 128 random bits. */
export const randomToken = (): string => randomHex(16);

/**
 * A fresh PeerJS id for one connection attempt of `learnerId`: the logical id made PeerJS-valid
 * (runs of '_'/'-' collapse to one '-', none at either end), then '-' and 64 random bits.
 */
export function learnerPeerId(learnerId: string, suffix = randomHex(8)): string {
  const base = learnerId.replace(/[_-]+/g, '-').replace(/^-+|-+$/g, '') || 'learner';
  return `${base}-${suffix}`;
}

/** A learner session's secret: 22–64 characters from [A-Za-z0-9_-] (randomToken's 32 hex digits are 128 bits). */
export const SESSION_SECRET_PATTERN = /^[A-Za-z0-9_-]{22,64}$/;

export function isValidSessionSecret(x: unknown): x is string {
  return typeof x === 'string' && SESSION_SECRET_PATTERN.test(x);
}

/** What a learner's connection metadata `{ learnerId, secret }` says, or undefined when either is absent or malformed. */
export interface LinkClaim {
  learnerId: string;
  /** Committed by the session's first connection: a later connection for the same id must present it (docs/security.md §3). */
  secret: string;
}

function own(o: object, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, key) ? (o as Record<string, unknown>)[key] : undefined;
}

export function claimFromMetadata(metadata: unknown): LinkClaim | undefined {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) return undefined;
  const learnerId = own(metadata, 'learnerId'), secret = own(metadata, 'secret');
  return isValidLearnerId(learnerId) && isValidSessionSecret(secret) ? { learnerId, secret } : undefined;
}

/** Compares two secrets in time independent of where they differ (the coordinator answers a guess with a refusal). */
export function sameSecret(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}

/** A random token kept per peer id in localStorage, so a reloaded coordinator can reclaim its id. */
export function durableToken(peerId: string): string {
  const key = `tabswarm.peer-token.${peerId}`;
  try {
    const store = globalThis.localStorage as Storage | undefined;
    const got = store?.getItem(key);
    if (got && /^[0-9a-f]{32}$/.test(got)) return got;
    const fresh = randomToken();
    store?.setItem(key, fresh);
    return fresh;
  } catch {
    return randomToken(); // storage disabled: a fresh token still works, a reload just cannot reclaim the id at once
  }
}
