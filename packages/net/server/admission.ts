/**
 * Who may register which id on the signalling server, and from which page origin. Pure: time is
 * injected. PeerJS ids are first-come-first-served with a client-chosen token and no auth hook
 * (docs/fault-tolerance.md §3), so whoever registers a coordinator's well-known id while it is offline would
 * receive every learner's offer. Ids starting with the reserved prefix are therefore guarded:
 *  - with an operator secret (`npm start` makes one), only a socket presenting exactly that token may hold them;
 *  - without one, trust on first use: the first token to register a reserved id is pinned to it while
 *    it is connected and for `pinIdleMs` after it left, so a reloading coordinator (which reuses its
 *    token from localStorage) gets its id back and nobody else can take it in the meantime. A pin is
 *    never pushed out by newer ones: when the table is full of live pins, new reserved ids are refused,
 *    and one address may create at most `maxPinsPerAddress` (docs/security.md "Signalling").
 * Pins keep a SHA-256 of the token, never the token, so the pin file (pins.ts) holds no secret.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isValidPeerId } from '../src/ids';

export interface ReservedIdPolicy {
  /** Ids with this prefix are reserved for coordinators. */
  prefix: string;
  /** When set, the only token that may register a reserved id (the operator secret). */
  token?: string;
  /** How long a pin outlives its holder's disconnect, in ms. */
  pinIdleMs: number;
  /** Pins remembered at most; only expired ones are ever forgotten to make room. */
  maxPins: number;
  /** Pins one client address may hold at once. */
  maxPinsPerAddress: number;
}

export type Refusal = 'invalid-id' | 'invalid-token' | 'reserved-id' | 'pin-limit' | 'pins-full';
/** `coordinator`: a reserved id presented with its pinned token or the operator secret (exempt from socket caps). */
export type Verdict = { ok: true; coordinator: boolean } | { ok: false; reason: Refusal; message: string };

/** A pin as kept in memory and in the pin file; `lastSeen` is wall-clock ms (it must survive a restart). */
export interface Pin {
  tokenHash: string;
  online: boolean;
  lastSeen: number;
  address: string;
}

/** Tokens: PeerJS's default (base36) and ours (hex) both fit. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

export class Admission {
  private readonly pins = new Map<string, Pin>();

  constructor(private readonly policy: ReservedIdPolicy, private readonly now: () => number, saved: Iterable<[string, Pin]> = []) {
    // A restarted server's pins all start offline: their holders must reconnect to be online again. One
    // online when saved was last seen at this restart, not at its connect (`lastSeen`): else a coordinator
    // connected for longer than pinIdleMs lost its id to anyone the moment the server came back.
    for (const [id, pin] of saved) if (this.isReserved(id) && isValidPeerId(id)) this.pins.set(id, { ...pin, online: false, lastSeen: pin.online ? now() : pin.lastSeen });
  }

  isReserved(id: string): boolean {
    return id.startsWith(this.policy.prefix);
  }

  check(id: string, token: string, address: string): Verdict {
    if (!isValidPeerId(id)) return { ok: false, reason: 'invalid-id', message: `id ${JSON.stringify(String(id).slice(0, 140))} is not a valid peer id` };
    if (!TOKEN_PATTERN.test(token)) return { ok: false, reason: 'invalid-token', message: 'token must be 1-128 characters of [A-Za-z0-9_-]' };
    if (!this.isReserved(id)) return { ok: true, coordinator: false };
    const refused: Verdict = { ok: false, reason: 'reserved-id', message: `id ${id} is reserved for the run's coordinator` };
    if (this.policy.token !== undefined) return sameSecret(token, this.policy.token) ? { ok: true, coordinator: true } : refused;
    const pin = this.pins.get(id);
    const hash = tokenHash(token);
    if (pin && sameSecret(hash, pin.tokenHash)) return { ok: true, coordinator: true };
    if (pin && !this.expired(pin)) return refused;
    // A new pin (or one replacing an expired pin): bounded per address and in total.
    if (this.heldBy(address) >= this.policy.maxPinsPerAddress) return { ok: false, reason: 'pin-limit', message: `this address already holds ${this.policy.maxPinsPerAddress} coordinator ids` };
    if (!pin && this.pins.size >= this.policy.maxPins) this.pruneExpired();
    if (!pin && this.pins.size >= this.policy.maxPins) return { ok: false, reason: 'pins-full', message: 'the server holds as many coordinator ids as it keeps; try again later' };
    return { ok: true, coordinator: false };
  }

  /** The server registered `id` with `token` from `address`. */
  connected(id: string, token: string, address: string): void {
    if (!this.isReserved(id) || this.policy.token !== undefined) return;
    this.pins.set(id, { tokenHash: tokenHash(token), online: true, lastSeen: this.now(), address });
  }

  disconnected(id: string): void {
    const pin = this.pins.get(id);
    if (pin) this.pins.set(id, { ...pin, online: false, lastSeen: this.now() });
  }

  get pinned(): number {
    return this.pins.size;
  }

  /** The pins to persist (expired ones are not worth a line). */
  snapshot(): Array<[string, Pin]> {
    return [...this.pins].filter(([, p]) => !this.expired(p));
  }

  private expired(pin: Pin): boolean {
    return !pin.online && this.now() - pin.lastSeen >= this.policy.pinIdleMs;
  }

  private heldBy(address: string): number {
    let n = 0;
    for (const p of this.pins.values()) if (p.address === address && !this.expired(p)) n++;
    return n;
  }

  private pruneExpired(): void {
    for (const [id, pin] of this.pins) if (this.expired(pin)) this.pins.delete(id);
  }
}

function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a), y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** An IPv4 address or a bracketed IPv6 one, as URL.hostname writes them: no name a DNS server can point elsewhere. */
function isIpLiteral(hostname: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname) || (hostname.startsWith('[') && hostname.endsWith(']'));
}

/**
 * Whether a page at `origin` may use this server. Every browser sends Origin on WebSocket upgrades and
 * cross-origin fetches, so a request without one is not a page of ours: refused. With an allow-list:
 * exact match ('*' allows all). Without one: loopback pages, and pages served from the same IP address
 * the client used to reach this server (`npm start --lan` serves pages and signalling from one machine).
 * Only an IP literal: a page on a domain name can rebind that name to this machine (DNS rebinding), and
 * its Origin and Host then agree; Vite's page server refuses such Host names for the same reason. A
 * deployment under a domain name lists its page origin (`origins`).
 */
export function originAllowed(origin: string | undefined, hostHeader: string | undefined, allow: readonly string[] | undefined): boolean {
  if (origin === undefined) return false;
  if (allow) return allow.includes('*') || allow.includes(origin);
  let hostname: string;
  try {
    hostname = new URL(origin).hostname;
  } catch {
    return false; // 'null' (sandboxed iframes, file://) and garbage
  }
  if (LOOPBACK.has(hostname) || hostname.startsWith('127.')) return true;
  if (!hostHeader || !isIpLiteral(hostname)) return false;
  try {
    return new URL(`http://${hostHeader}`).hostname === hostname;
  } catch {
    return false;
  }
}

/**
 * The client address the per-address limits count: the socket's peer, or behind one reverse proxy
 * (`proxied`) the last X-Forwarded-For hop, the one that proxy appended. Every earlier hop is whatever
 * the client wrote: trusting the first let each request name a fresh address and pass every limit.
 */
export function clientAddressOf(forwardedFor: string | string[] | undefined, remote: string | undefined, proxied: boolean): string {
  const last = proxied ? String(forwardedFor ?? '').split(',').at(-1)?.trim() : '';
  return last || remote || 'unknown';
}
