/**
 * Who may register which id on the signalling server, and from which page origin. Pure: time is
 * injected. PeerJS ids are first-come-first-served with a client-chosen token and no auth hook
 * (docs/fault-tolerance.md §3), so whoever registers a coordinator's well-known id while it is offline would
 * receive every learner's offer. Ids starting with the reserved prefix are therefore guarded:
 *  - with a configured coordinator token, only a socket presenting exactly that token may hold them;
 *  - without one, trust on first use: the first token to register a reserved id is pinned to it while
 *    it is connected and for `pinIdleMs` after it left, so a reloading coordinator (which reuses its
 *    token from localStorage) gets its id back and nobody else can take it in the meantime.
 */
import { timingSafeEqual } from 'node:crypto';
import { isValidPeerId } from '../src/ids';

export interface ReservedIdPolicy {
  /** Ids with this prefix are reserved for coordinators. */
  prefix: string;
  /** When set, the only token that may register a reserved id (pass it to hostCoordinator as `token`). */
  token?: string;
  /** How long a pin outlives its holder's disconnect, in ms. */
  pinIdleMs: number;
  /** Pins remembered at most; the longest-offline ones are forgotten first. */
  maxPins: number;
}

export type Verdict = { ok: true } | { ok: false; reason: 'invalid-id' | 'invalid-token' | 'reserved-id'; message: string };

/** Tokens: PeerJS's default (base36) and ours (hex) both fit. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

interface Pin {
  token: string;
  online: boolean;
  lastSeen: number;
}

export class Admission {
  private readonly pins = new Map<string, Pin>();

  constructor(private readonly policy: ReservedIdPolicy, private readonly now: () => number) {}

  isReserved(id: string): boolean {
    return id.startsWith(this.policy.prefix);
  }

  check(id: string, token: string): Verdict {
    if (!isValidPeerId(id)) return { ok: false, reason: 'invalid-id', message: `id ${JSON.stringify(String(id).slice(0, 140))} is not a valid peer id` };
    if (!TOKEN_PATTERN.test(token)) return { ok: false, reason: 'invalid-token', message: 'token must be 1-128 characters of [A-Za-z0-9_-]' };
    if (!this.isReserved(id)) return { ok: true };
    const refused: Verdict = { ok: false, reason: 'reserved-id', message: `id ${id} is reserved for the run's coordinator` };
    if (this.policy.token !== undefined) return sameSecret(token, this.policy.token) ? { ok: true } : refused;
    const pin = this.pins.get(id);
    if (!pin || sameSecret(token, pin.token)) return { ok: true };
    if (pin.online || this.now() - pin.lastSeen < this.policy.pinIdleMs) return refused;
    return { ok: true }; // the pin expired: a new coordinator may take over the run id
  }

  /** The server registered `id` with `token`. */
  connected(id: string, token: string): void {
    if (!this.isReserved(id)) return;
    this.pins.delete(id); // re-insert: Map order is then oldest-activity first
    this.pins.set(id, { token, online: true, lastSeen: this.now() });
    this.evict();
  }

  disconnected(id: string): void {
    const pin = this.pins.get(id);
    if (!pin) return;
    this.pins.delete(id);
    this.pins.set(id, { ...pin, online: false, lastSeen: this.now() });
  }

  get pinned(): number {
    return this.pins.size;
  }

  private evict(): void {
    for (const [id, pin] of this.pins) {
      if (this.pins.size <= this.policy.maxPins) return;
      if (!pin.online) this.pins.delete(id);
    }
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a), y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * Whether a page at `origin` may use this server. No Origin header: not a browser, CORS is moot (and
 * such a client could forge it anyway). With an allow-list: exact match ('*' allows all). Without one:
 * loopback pages, and pages served from the same host name the client used to reach this server
 * (`npm start --lan` serves pages and signalling from one machine).
 */
export function originAllowed(origin: string | undefined, hostHeader: string | undefined, allow: readonly string[] | undefined): boolean {
  if (origin === undefined) return true;
  if (allow) return allow.includes('*') || allow.includes(origin);
  let hostname: string;
  try {
    hostname = new URL(origin).hostname;
  } catch {
    return false; // 'null' (sandboxed iframes, file://) and garbage
  }
  if (LOOPBACK.has(hostname) || hostname.startsWith('127.')) return true;
  if (!hostHeader) return false;
  try {
    return new URL(`http://${hostHeader}`).hostname === hostname;
  } catch {
    return false;
  }
}
