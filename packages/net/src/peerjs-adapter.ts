/**
 * The only file that touches PeerJS. Maps a PeerJS 1.5.5 Peer / DataConnection onto transport.ts.
 * PeerJS is loaded with a dynamic import, so pages get it as a separate chunk and unit tests in Node
 * (which inject a fake factory) never load it.
 */
import type { DataConnection, Peer } from 'peerjs';
import { NetError } from './errors';
import type { ConnectionHandle, DataChannelLike, PeerFactory, PeerHandle, PeerInit } from './transport';

export const createPeerJs: PeerFactory = async (id: string, init: PeerInit): Promise<PeerHandle> => {
  const { Peer: PeerClass } = await import('peerjs');
  const peer = new PeerClass(id, {
    host: init.signal.host,
    port: init.signal.port,
    path: init.signal.path,
    key: init.signal.key,
    secure: init.signal.secure,
    token: init.token,
    // Never PeerJS's defaults: those are Google STUN plus public TURN with published credentials.
    config: { iceServers: init.iceServers },
    debug: 0,
  });
  dropLostMessages(peer);
  return wrapPeer(id, peer);
};

/**
 * PeerJS keeps every ANSWER/CANDIDATE whose connection id it does not know in `_lostMessages`, without
 * a bound and until the Peer is destroyed: anyone can send the coordinator's id 20,000 frames of 60 KB
 * through a lax signalling server and it holds them all. Only media calls (answered later) ever claim
 * such messages. A data connection gets its RTCPeerConnection synchronously when its OFFER arrives, and
 * the server relays one sender's messages in order, so for us a message for an unknown connection is
 * always garbage: it is dropped, never stored (docs/security.md "Signalling").
 */
export function dropLostMessages(peer: object): void {
  const p = peer as { _storeMessage?: unknown; _lostMessages?: unknown };
  if (typeof p._storeMessage !== 'function' || !(p._lostMessages instanceof Map)) {
    throw new NetError('signalling', 'this PeerJS has no _storeMessage/_lostMessages: the bound on messages for unknown connections cannot be applied');
  }
  p._storeMessage = (): void => undefined;
}

function wrapPeer(id: string, peer: Peer): PeerHandle {
  return {
    id, // peer.id turns null after disconnect(); the id we asked for is what reconnect() re-registers
    get open() { return peer.open; },
    get disconnected() { return peer.disconnected; },
    get destroyed() { return peer.destroyed; },
    onOpen: (fn) => void peer.on('open', fn),
    onConnection: (fn) => void peer.on('connection', (c: unknown) => {
      // A hostile offer can name an odd serialization; PeerJS then hands out odd objects. Only real
      // connections get through; the caller still checks serialization and reliability.
      if (isDataConnection(c)) fn(wrapConnection(c));
    }),
    onDisconnected: (fn) => void peer.on('disconnected', () => fn()),
    onClose: (fn) => void peer.on('close', fn),
    onError: (fn) => void peer.on('error', (e) => fn(String(e.type), e.message)),
    connect: (peerId, metadata) => {
      const conn = peer.connect(peerId, { reliable: true, serialization: 'raw', metadata }) as DataConnection | undefined;
      if (!conn) throw new NetError('signalling', 'not registered with the signalling server');
      return wrapConnection(conn);
    },
    reconnect: () => peer.reconnect(),
    disconnect: () => peer.disconnect(),
    destroy: () => peer.destroy(),
  };
}

function isDataConnection(c: unknown): c is DataConnection {
  if (typeof c !== 'object' || c === null) return false;
  const o = c as Record<string, unknown>;
  return typeof o.on === 'function' && typeof o.close === 'function' && typeof o.peer === 'string' && typeof o.connectionId === 'string';
}

function wrapConnection(conn: DataConnection): ConnectionHandle {
  return {
    get peer() { return conn.peer; },
    get connectionId() { return conn.connectionId; },
    get metadata(): unknown { return conn.metadata; },
    get serialization() { return conn.serialization; },
    get reliable() { return conn.reliable; },
    get open() { return conn.open; },
    // PeerJS sets dataChannel to null on close although its type says RTCDataChannel.
    get dataChannel(): DataChannelLike | null { return (conn.dataChannel as RTCDataChannel | null | undefined) ?? null; },
    onOpen: (fn) => void conn.on('open', fn),
    onData: (fn) => void conn.on('data', fn),
    onClose: (fn) => void conn.on('close', fn),
    onError: (fn) => void conn.on('error', (e) => fn(String(e.type), e.message)),
    close: () => conn.close(),
  };
}
