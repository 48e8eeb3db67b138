/**
 * A learner tab's link to the coordinator, kept alive for the life of the tab:
 *  - each attempt registers a FRESH PeerJS id `${learnerId}-${random}` (an id stays taken on the
 *    server until its old socket is gone) and sends the stable logical id and the session's secret as
 *    metadata { learnerId, secret }: the coordinator binds the id to the secret (coordinator-host.ts);
 *  - `reliable: true`, `serialization: 'raw'` (our own framing, chunk.ts);
 *  - every attempt has one deadline covering signalling registration and the data channel opening;
 *  - after a failed attempt, a close, or a heartbeat timeout it retries with jittered exponential
 *    backoff (250 ms doubling to 5 s), until close() or until the coordinator says 'replaced' or
 *    'id-in-use' (another session holds this learner id);
 *  - on `pagehide` it destroys the Peer, so the coordinator sees the close within tens of ms instead of
 *    never (docs/browser.md §3), and on `pageshow` from the back/forward cache it reconnects.
 */
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff';
import { Channel } from './channel';
import type { ChannelStats, ChannelTuning } from './channel-tuning';
import type { Clock, TimerHandle } from './clock';
import { NetError } from './errors';
import { isValidLearnerId, isValidSessionSecret, learnerPeerId, randomToken } from './ids';
import { openPeer } from './open-peer';
import { createPeerJs } from './peerjs-adapter';
import type { ConnectionHandle, PeerFactory, PeerHandle, SignalConfig } from './transport';
import { pageClock } from './worker-clock';

/** A link that stayed open this long, in ms, counts as healthy: the next reconnect starts from the shortest backoff. */
const STABLE_MS = 10_000;

/** connecting: an attempt is under way; open: messages flow; waiting: backing off before the next attempt; suspended: page hidden into the bfcache; closed: close() was called. */
export type LearnerLinkState = 'connecting' | 'open' | 'waiting' | 'suspended' | 'closed';

/** Where pagehide/pageshow come from (window in a page). */
export interface LifecycleTarget {
  addEventListener(type: 'pagehide' | 'pageshow', fn: (ev: { persisted?: boolean }) => void): void;
  removeEventListener(type: 'pagehide' | 'pageshow', fn: (ev: { persisted?: boolean }) => void): void;
}

export interface LearnerLinkOptions {
  coordinatorId: string;
  /** Stable logical id, [A-Za-z0-9_-]{1,64}. */
  learnerId: string;
  /** This session's secret, [A-Za-z0-9_-]{22,64} (randomToken()): proves a reconnect is the same session. */
  secret: string;
  signal: SignalConfig;
  iceServers: RTCIceServer[];
  onMessage(bytes: Uint8Array): void;
  /** The link (re)opened: say hello again. */
  onOpen?(): void;
  /**
   * An open link closed. A reconnect follows, except after close() and for reasons 'replaced' (the
   * coordinator accepted another live connection of this session: a duplicated tab) and 'id-in-use' (the
   * id is bound to another session's secret): this link stops for good rather than fight (state 'closed').
   */
  onClose?(reason: string): void;
  onState?(state: LearnerLinkState, detail: string): void;
  /** Largest message in either direction, in bytes (default: the core protocol's limit, 64 MiB + 64 KiB). */
  maxMessageBytes?: number;
  /** Deadline for one attempt (signalling + data channel), in ms (default 10 s). */
  connectTimeoutMs?: number;
  backoff?: Partial<BackoffOptions>;
  tuning?: Partial<ChannelTuning>;
  /** Default: globalThis when it has addEventListener (a page); null: do not listen. */
  lifecycle?: LifecycleTarget | null;
  clock?: Clock;
  random?: () => number;
  createPeer?: PeerFactory;
}

export interface LearnerLinkStats extends Partial<ChannelStats> {
  state: LearnerLinkState;
  peerId: string | undefined;
  /** Attempts started since the link was created. */
  attempts: number;
  /** Consecutive failed attempts (0 once open). */
  failures: number;
  /** Consecutive links that closed within 10 s of opening; they lengthen the backoff too. */
  quickCloses: number;
  lastError: string;
}

export interface LearnerLink {
  /** Rejects with NetError 'not-open' while (re)connecting, else as Channel.send. */
  send(bytes: Uint8Array): Promise<void>;
  /** Stops for good: closes the link, destroys the Peer, cancels retries. */
  close(): void;
  /** Drops this link and connects again after a backoff that grows while restarts come quickly (an untrusted coordinator). */
  restart(reason: string): void;
  readonly state: LearnerLinkState;
  readonly peerId: string | undefined;
  readonly rttMs: number | undefined;
  stats(): LearnerLinkStats;
}

export function connectLearner(o: LearnerLinkOptions): LearnerLink {
  if (!isValidLearnerId(o.learnerId)) throw new RangeError(`learnerId must match [A-Za-z0-9_-]{1,64}, got ${JSON.stringify(o.learnerId)}`);
  if (!isValidSessionSecret(o.secret)) throw new RangeError('secret must match [A-Za-z0-9_-]{22,64}');
  const clock = o.clock ?? pageClock();
  const random = o.random ?? Math.random;
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...o.backoff };
  const timeoutMs = o.connectTimeoutMs ?? 10_000;
  const lifecycle = o.lifecycle !== undefined ? o.lifecycle : defaultLifecycle();

  let state: LearnerLinkState = 'connecting';
  let generation = 0; // bumped to cancel whatever attempt or link is current
  let peer: PeerHandle | undefined;
  let channel: Channel | undefined;
  let retry: TimerHandle | undefined;
  let attempts = 0, failures = 0, lastError = '';
  // Links that die young (the coordinator keeps dropping us) also lengthen the backoff, so a learner
  // it rejects does not reconnect four times a second forever.
  let quickCloses = 0, openedAt = 0;

  const setState = (s: LearnerLinkState, detail: string): void => {
    state = s;
    o.onState?.(s, detail);
  };

  const teardown = (reason: string): void => {
    generation++;
    if (retry !== undefined) clock.clearTimeout(retry);
    retry = undefined;
    const had = channel;
    channel = undefined;
    had?.close(reason, 'closed by the learner'); // a no-op when the channel closed itself
    try {
      peer?.destroy(); // tells the coordinator at once (its heartbeat would take seconds)
    } catch {
      // already destroyed
    }
    peer = undefined;
    if (had) o.onClose?.(reason);
  };

  const scheduleRetry = (why: string): void => {
    if (state === 'closed') return; // close() ran in the onClose that reported this close
    const delay = backoffDelay(failures + quickCloses, random, backoff);
    // Armed before onState hears 'waiting', so that a close() from there cancels it.
    retry = clock.setTimeout(() => { retry = undefined; void attempt(); }, delay);
    setState('waiting', `${why}; retrying in ${Math.round(delay)} ms`);
  };

  const attempt = async (): Promise<void> => {
    const gen = ++generation;
    attempts++;
    setState('connecting', `attempt ${attempts}`);
    const deadlineAt = clock.now() + timeoutMs;
    const id = learnerPeerId(o.learnerId);
    let p: PeerHandle | undefined;
    try {
      p = await openPeer({ factory: o.createPeer ?? createPeerJs, id, clock, timeoutMs, init: { signal: o.signal, iceServers: o.iceServers, token: randomToken() } });
      if (gen !== generation) return void p.destroy();
      peer = p;
      const conn = p.connect(o.coordinatorId, { learnerId: o.learnerId, secret: o.secret });
      await waitOpen(p, conn, Math.max(1, deadlineAt - clock.now()), clock);
      if (gen !== generation) return void p.destroy();
      channel = new Channel(conn, {
        maxMessageBytes: o.maxMessageBytes, tuning: o.tuning, clock,
        onMessage: (bytes) => { if (gen === generation) o.onMessage(bytes); },
        onClose: (reason) => {
          if (gen !== generation) return; // we closed it ourselves (close, pagehide, newer attempt)
          if (reason === 'remote:replaced') return stop('replaced', 'another live connection took over this learner id');
          if (reason === 'remote:id-in-use') return stop('id-in-use', 'another session holds this learner id');
          quickCloses = clock.now() - openedAt < STABLE_MS ? quickCloses + 1 : 0;
          teardown(reason);
          scheduleRetry(`link closed (${reason})`);
        },
      });
      failures = 0;
      openedAt = clock.now();
      setState('open', `connected as ${id}`);
      o.onOpen?.();
    } catch (e) {
      try {
        p?.destroy();
      } catch {
        // already destroyed
      }
      if (gen !== generation) return;
      peer = undefined;
      failures++;
      lastError = e instanceof Error ? e.message : String(e);
      scheduleRetry(lastError);
    }
  };

  const onPageHide = (): void => {
    if (state === 'closed') return;
    teardown('pagehide');
    setState('suspended', 'page hidden');
  };
  const onPageShow = (ev: { persisted?: boolean }): void => {
    if (state === 'suspended' && ev.persisted) void attempt();
  };
  /** For good: nothing reconnects after this. */
  const stop = (reason: string, detail: string): void => {
    teardown(reason);
    lifecycle?.removeEventListener('pagehide', onPageHide);
    lifecycle?.removeEventListener('pageshow', onPageShow);
    setState('closed', detail);
  };
  lifecycle?.addEventListener('pagehide', onPageHide);
  lifecycle?.addEventListener('pageshow', onPageShow);

  void attempt();

  return {
    send: (bytes) => (state === 'open' && channel ? channel.send(bytes) : Promise.reject(new NetError('not-open', `link is ${state}`))),
    close() {
      if (state !== 'closed') stop('local', 'closed by the learner');
    },
    restart(reason) {
      if (state !== 'open') return;
      quickCloses++;
      teardown(reason);
      scheduleRetry(`restarted (${reason})`);
    },
    get state() { return state; },
    get peerId() { return peer?.id; },
    get rttMs() { return channel?.rttMs; },
    stats: () => ({ ...channel?.stats(), state, peerId: peer?.id, attempts, failures, quickCloses, lastError }),
  };
}

/** Resolves when the data connection opens; rejects on close, error, an unknown coordinator or the deadline. */
function waitOpen(peer: PeerHandle, conn: ConnectionHandle, ms: number, clock: Clock): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (err?: NetError): void => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    };
    const timer = clock.setTimeout(() => settle(new NetError('connect-timeout', `data channel to the coordinator did not open within ${ms} ms`)), ms);
    conn.onOpen(() => settle());
    conn.onClose(() => settle(new NetError('closed', 'the data connection closed while opening')));
    conn.onError((type, message) => settle(new NetError('closed', `${type}: ${message}`)));
    // 'peer-unavailable': the server expired our offer because the coordinator id is not registered.
    peer.onError((type, message) => settle(new NetError('signalling', `${type}: ${message}`)));
    peer.onClose(() => settle(new NetError('closed', 'the peer was destroyed while connecting')));
    if (conn.open) settle();
  });
}

function defaultLifecycle(): LifecycleTarget | null {
  const g = globalThis as unknown as Partial<LifecycleTarget>;
  return typeof g.addEventListener === 'function' && typeof g.removeEventListener === 'function' ? (g as LifecycleTarget) : null;
}
