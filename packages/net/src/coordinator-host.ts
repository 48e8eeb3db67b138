/**
 * The coordinator's side: one PeerJS id that learners connect to, one Channel per logical learner.
 *  - The learner id and its session secret come from the connection metadata `{ learnerId, secret }`,
 *    validated (ids.ts). The first connection for an id binds the id to its secret; the binding outlives
 *    the link by `sessionHoldMs`, so a tab that lost its link briefly comes back to its own id.
 *  - A new connection for a bound learner id with the SAME secret (the same session reconnecting)
 *    REPLACES the old link: the old one is closed and reported as onLeave(id, 'replaced') just before
 *    onJoin for the new one. With another secret it is refused with 'id-in-use', told to the learner:
 *    knowing an id is not enough to kick its owner (docs/security.md §3). State is keyed by
 *    connection, so late events from the old connection are ignored.
 *  - Liveness: the channel heartbeat (closed tabs never fire PeerJS `close`, docs/browser.md §3).
 *  - Signalling drops are survived: data channels live on, and the Peer re-registers its id with
 *    backoff, presenting the same token (persisted per id in localStorage when available).
 * Callbacks never fire synchronously from inside send/broadcast/drop/close, so a caller may call
 * these from its own event handlers without re-entrancy; drop() and close() do not call onLeave.
 */
import { backoffDelay, type BackoffOptions } from './backoff';
import { Channel } from './channel';
import type { ChannelStats, ChannelTuning } from './channel-tuning';
import type { FrameRefusal } from './chunk';
import type { Clock, TimerHandle } from './clock';
import { NetError } from './errors';
import { claimFromMetadata, durableToken, sameSecret } from './ids';
import { openPeer } from './open-peer';
import { createPeerJs } from './peerjs-adapter';
import { ReassemblyPool } from './reassembly-pool';
import type { ConnectionHandle, PeerFactory, PeerHandle, SignalConfig } from './transport';
import { pageClock } from './worker-clock';

export interface LearnerConnection {
  learnerId: string;
  /** The learner's PeerJS id for this connection (changes on every reconnect). */
  peerId: string;
  connectionId: string;
  /** clock.now() when the data channel opened, in ms. */
  openedAt: number;
  /** True when this connection replaced an open one for the same learner id. */
  replaced: boolean;
}

export type SignallingState = 'open' | 'disconnected' | 'reconnecting' | 'closed';

export interface CoordinatorOptions {
  peerId: string;
  signal: SignalConfig;
  iceServers: RTCIceServer[];
  /** Largest message in either direction, in bytes. */
  maxMessageBytes: number;
  onJoin(learnerId: string, link: LearnerConnection): void;
  onMessage(learnerId: string, bytes: Uint8Array): void;
  onLeave(learnerId: string, reason: string): void;
  /** Signalling token for peerId; default: random, kept in localStorage so a reload can reclaim the id. */
  token?: string;
  /** Distinct learners connected at once (default 256). */
  maxLearners?: number;
  /** Bytes all learner links' incomplete messages may reserve together (default DEFAULT_MAX_BUFFERED_TOTAL_BYTES). */
  maxBufferedTotalBytes?: number;
  /** How long a learner id stays bound to its session's secret after its link closes, in ms (default 60 s). */
  sessionHoldMs?: number;
  /** Deadline to register peerId with the signalling server, in ms (default 10 s). */
  openTimeoutMs?: number;
  /** Deadline for an incoming data connection to open, in ms (default 15 s). */
  connectionOpenTimeoutMs?: number;
  /** Signalling re-registration backoff (default 500 ms doubling to 10 s, jittered). */
  reconnect?: Partial<BackoffOptions>;
  tuning?: Partial<ChannelTuning>;
  onSignalling?(state: SignallingState, detail: string): void;
  clock?: Clock;
  random?: () => number;
  createPeer?: PeerFactory;
}

export interface BroadcastResult {
  sent: string[];
  failed: Array<{ learnerId: string; error: string }>;
}

export interface CoordinatorStats {
  peerId: string;
  signalling: SignallingState;
  signallingReconnects: number;
  learners: Array<LearnerConnection & ChannelStats>;
  pending: number;
  /** Incoming connections refused before they became learners, by reason. */
  refusedConnections: Record<string, number>;
  /** Frames refused on learner links, by reason (summed over all links ever seen). */
  refusedFrames: Partial<Record<FrameRefusal, number>>;
  /** Bytes reserved for incomplete incoming messages on all links now (≤ maxBufferedTotalBytes). */
  reassemblyBytes: number;
}

export interface CoordinatorHost {
  readonly peerId: string;
  /** Rejects with NetError 'unknown-learner', 'too-large', 'closed' or 'send-timeout'. */
  send(learnerId: string, bytes: Uint8Array): Promise<void>;
  /** Sends to each id in parallel; never rejects. */
  broadcast(learnerIds: readonly string[], bytes: Uint8Array): Promise<BroadcastResult>;
  /** Closes that learner's link; onLeave is NOT called for it. */
  drop(learnerId: string, reason: string): void;
  has(learnerId: string): boolean;
  learners(): string[];
  stats(): CoordinatorStats;
  /** Destroys the Peer; learners see their connection close at once. onLeave is not called. */
  close(): void;
}

interface Entry {
  info: LearnerConnection;
  channel: Channel;
  secret: string;
}

const MAX_PENDING = 64; // incoming connections still negotiating; bounds what an offer flood can hold

/**
 * 512 MiB: 256 links each hold at least 2 MiB when all want room at once (max-min fair, reassembly-pool.ts),
 * above an honest push of the largest preset's fragment at the default codec (text `large`, 10.8 M params
 * over P = 4, int4 at 0.53 bytes a param: ≈ 1.4 MB). Without it 256 links × 2 × maxMessageBytes is 44.8 GB
 * for `large`. An fp32 push of that fragment (≈ 10.8 MB) still fits while at most 49 links contend.
 */
export const DEFAULT_MAX_BUFFERED_TOTAL_BYTES = 512 << 20;

export async function hostCoordinator(o: CoordinatorOptions): Promise<CoordinatorHost> {
  const clock = o.clock ?? pageClock();
  const random = o.random ?? Math.random;
  const backoff: BackoffOptions = { baseMs: 500, capMs: 10_000, factor: 2, ...o.reconnect };
  const maxLearners = o.maxLearners ?? 256;
  const holdMs = o.sessionHoldMs ?? 60_000;
  const pool = new ReassemblyPool(o.maxBufferedTotalBytes ?? DEFAULT_MAX_BUFFERED_TOTAL_BYTES);
  const links = new Map<string, Entry>();
  /** Secrets of closed links, held until `until` (clock ms); insertion order is expiry order. */
  const held = new Map<string, { secret: string; until: number }>();
  const pending = new Set<ConnectionHandle>();
  const refusedConnections: Record<string, number> = {};
  const refusedFrames: Partial<Record<FrameRefusal, number>> = {};
  let signalling: SignallingState = 'open';
  let reconnects = 0, attempt = 0, closed = false;
  let retryTimer: TimerHandle | undefined, deadline: TimerHandle | undefined;

  const peer: PeerHandle = await openPeer({
    factory: o.createPeer ?? createPeerJs, id: o.peerId, clock, timeoutMs: o.openTimeoutMs ?? 10_000,
    init: { signal: o.signal, iceServers: o.iceServers, token: o.token ?? durableToken(o.peerId) },
  });

  const setSignalling = (s: SignallingState, detail: string): void => {
    signalling = s;
    o.onSignalling?.(s, detail);
  };

  peer.onOpen(() => {
    if (deadline !== undefined) clock.clearTimeout(deadline);
    attempt = 0;
    setSignalling('open', `registered ${o.peerId}`);
  });
  peer.onDisconnected(() => {
    if (closed || peer.destroyed) return;
    if (deadline !== undefined) clock.clearTimeout(deadline);
    setSignalling('disconnected', 'lost the signalling server; open links are unaffected');
    const delay = backoffDelay(attempt++, random, backoff);
    if (retryTimer !== undefined) clock.clearTimeout(retryTimer);
    retryTimer = clock.setTimeout(() => {
      retryTimer = undefined;
      if (closed || peer.destroyed || peer.open) return;
      reconnects++;
      setSignalling('reconnecting', `attempt ${attempt}`);
      try {
        peer.reconnect();
      } catch {
        // not disconnected any more, or destroyed: the next event decides
      }
      // If the server neither confirms nor refuses, give up on this attempt: disconnect() fires
      // `disconnected` again and the next, longer, backoff starts.
      deadline = clock.setTimeout(() => { if (!closed && !peer.open && !peer.destroyed) peer.disconnect(); }, o.openTimeoutMs ?? 10_000);
    }, delay);
  });
  peer.onClose(() => {
    if (!closed) setSignalling('closed', 'the peer was destroyed');
  });

  const refuseConnection = (conn: ConnectionHandle, reason: string): void => {
    refusedConnections[reason] = (refusedConnections[reason] ?? 0) + 1;
    try {
      conn.close();
    } catch {
      // already closed
    }
  };

  /** The secret a learner id is bound to now: its live link's, or a closed link's still held. */
  const boundSecret = (learnerId: string): string | undefined => {
    const now = clock.now();
    for (const [id, h] of held) {
      if (h.until > now) break;
      held.delete(id);
    }
    return links.get(learnerId)?.secret ?? held.get(learnerId)?.secret;
  };
  const hold = (learnerId: string, secret: string): void => {
    held.delete(learnerId);
    held.set(learnerId, { secret, until: clock.now() + holdMs });
    // Bounded: beyond 4 ids per learner slot the oldest binding goes first (it expires first anyway).
    for (const id of held.keys()) {
      if (held.size <= 4 * maxLearners) break;
      held.delete(id);
    }
  };

  /** Tells the learner why before closing (a bye frame on a short-lived channel), so it stops retrying. */
  const refuseOpen = (conn: ConnectionHandle, reason: string, detail: string): void => {
    refusedConnections[reason] = (refusedConnections[reason] ?? 0) + 1;
    new Channel(conn, { maxMessageBytes: o.maxMessageBytes, clock, onMessage: () => undefined, onClose: () => undefined }).close(reason, detail);
  };

  const admit = (learnerId: string, secret: string, conn: ConnectionHandle): void => {
    // Again at open: the arrival check saw only links already open, not the others pending beside this one.
    if (!links.has(learnerId) && links.size >= maxLearners) return refuseConnection(conn, 'full');
    const bound = boundSecret(learnerId);
    if (bound !== undefined && !sameSecret(bound, secret)) return refuseOpen(conn, 'id-in-use', 'another session holds this learner id');
    held.delete(learnerId);
    const old = links.get(learnerId);
    const info: LearnerConnection = { learnerId, peerId: conn.peer, connectionId: conn.connectionId, openedAt: clock.now(), replaced: old !== undefined };
    const entry = { info, secret } as Entry;
    links.set(learnerId, entry); // first, so the old channel's close below is seen as stale
    entry.channel = new Channel(conn, {
      maxMessageBytes: o.maxMessageBytes, tuning: o.tuning, clock, pool,
      onMessage: (bytes) => { if (links.get(learnerId) === entry) o.onMessage(learnerId, bytes); },
      onClose: (reason) => {
        if (links.get(learnerId) !== entry) return;
        links.delete(learnerId);
        hold(learnerId, secret);
        o.onLeave(learnerId, reason);
      },
      onRefused: (reason) => { refusedFrames[reason] = (refusedFrames[reason] ?? 0) + 1; },
    });
    // Only now, with the new entry whole: onLeave's handler may read stats() or send to this id.
    if (old) {
      old.channel.close('replaced', 'a newer connection for this learner id opened');
      o.onLeave(learnerId, 'replaced');
    }
    if (links.get(learnerId) === entry && !entry.channel.closed) o.onJoin(learnerId, info);
  };

  peer.onConnection((conn) => {
    if (closed) return refuseConnection(conn, 'closed');
    const claim = claimFromMetadata(conn.metadata);
    if (claim === undefined) return refuseConnection(conn, 'bad-metadata');
    const { learnerId, secret } = claim;
    // PeerJS's other serializations reassemble attacker-sized chunks without limits (docs/fault-tolerance.md §3).
    if (conn.serialization !== 'raw' || !conn.reliable) return refuseConnection(conn, 'bad-options');
    if (pending.size >= MAX_PENDING) return refuseConnection(conn, 'too-many-pending');
    if (!links.has(learnerId) && links.size >= maxLearners) return refuseConnection(conn, 'full');
    pending.add(conn);
    const timer = clock.setTimeout(() => {
      if (pending.delete(conn)) refuseConnection(conn, 'open-timeout');
    }, o.connectionOpenTimeoutMs ?? 15_000);
    const opened = (): void => {
      if (!pending.delete(conn)) return;
      clock.clearTimeout(timer);
      if (closed) return refuseConnection(conn, 'closed');
      admit(learnerId, secret, conn);
    };
    conn.onOpen(opened);
    conn.onClose(() => { if (pending.delete(conn)) clock.clearTimeout(timer); });
    if (conn.open) opened();
  });

  const send = (learnerId: string, bytes: Uint8Array): Promise<void> => {
    const e = links.get(learnerId);
    if (!e) return Promise.reject(new NetError('unknown-learner', `no open link to learner ${learnerId}`));
    return e.channel.send(bytes);
  };

  return {
    peerId: o.peerId,
    send,
    async broadcast(learnerIds, bytes) {
      const results = await Promise.allSettled(learnerIds.map((id) => send(id, bytes)));
      const out: BroadcastResult = { sent: [], failed: [] };
      results.forEach((r, i) => {
        const learnerId = learnerIds[i]!;
        if (r.status === 'fulfilled') out.sent.push(learnerId);
        else out.failed.push({ learnerId, error: r.reason instanceof Error ? r.reason.message : String(r.reason) });
      });
      return out;
    },
    drop(learnerId, reason) {
      const e = links.get(learnerId);
      if (!e) return;
      links.delete(learnerId);
      hold(learnerId, e.secret);
      e.channel.close(reason, 'dropped by the coordinator');
    },
    has: (learnerId) => links.has(learnerId),
    learners: () => [...links.keys()],
    stats: () => ({
      peerId: o.peerId, signalling, signallingReconnects: reconnects, pending: pending.size,
      learners: [...links.values()].map((e) => ({ ...e.info, ...e.channel.stats() })),
      refusedConnections: { ...refusedConnections }, refusedFrames: { ...refusedFrames }, reassemblyBytes: pool.reservedBytes,
    }),
    close() {
      if (closed) return;
      closed = true;
      for (const t of [retryTimer, deadline]) if (t !== undefined) clock.clearTimeout(t);
      const entries = [...links.values()];
      links.clear();
      for (const e of entries) e.channel.close('coordinator-closed', 'the coordinator closed');
      for (const c of pending) refuseConnection(c, 'closed');
      pending.clear();
      signalling = 'closed';
      peer.destroy();
    },
  };
}
