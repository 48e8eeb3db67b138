/**
 * The small slice of PeerJS that packages/net relies on, as plain interfaces. peerjs-adapter.ts maps
 * real PeerJS objects onto them; unit tests map an in-memory fake. Nothing else touches PeerJS types.
 */

/** Where the PeerJS signalling server lives (server/signal.ts serves path '/signal', key 'tabswarm'). */
export interface SignalConfig {
  host: string;
  port: number;
  path: string;
  /** Not a secret: it only namespaces a server and ships in every page (docs/fault-tolerance.md §3). */
  key: string;
  secure: boolean;
}

/** What we use of an RTCDataChannel. */
export interface DataChannelLike {
  readonly readyState: string;
  readonly bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  send(data: Uint8Array<ArrayBuffer>): void;
  addEventListener(type: 'bufferedamountlow' | 'close', listener: () => void): void;
  removeEventListener(type: 'bufferedamountlow' | 'close', listener: () => void): void;
}

/** One data connection, seen after it opened. Each on* call adds a listener. */
export interface RawConnection {
  /** null once the connection closed (PeerJS clears it). */
  readonly dataChannel: DataChannelLike | null;
  onData(fn: (data: unknown) => void): void;
  onClose(fn: () => void): void;
  onError(fn: (type: string, message: string) => void): void;
  close(): void;
}

/** A data connection as the Peer hands it out, before and after it opens. */
export interface ConnectionHandle extends RawConnection {
  /** The remote PeerJS id (unique per connection attempt, not the logical learner id). */
  readonly peer: string;
  readonly connectionId: string;
  /** Sender-controlled JSON from the offer: validate before use. */
  readonly metadata: unknown;
  readonly serialization: string;
  readonly reliable: boolean;
  readonly open: boolean;
  onOpen(fn: () => void): void;
}

export type PeerErrorHandler = (type: string, message: string) => void;

/** A PeerJS Peer: one registration with the signalling server. */
export interface PeerHandle {
  readonly id: string;
  readonly open: boolean;
  readonly disconnected: boolean;
  readonly destroyed: boolean;
  onOpen(fn: (id: string) => void): void;
  onConnection(fn: (conn: ConnectionHandle) => void): void;
  /** The signalling socket closed; data connections may live on. */
  onDisconnected(fn: () => void): void;
  onClose(fn: () => void): void;
  onError(fn: PeerErrorHandler): void;
  connect(peerId: string, metadata: unknown): ConnectionHandle;
  /** Re-registers the same id with the server after `disconnected`. */
  reconnect(): void;
  disconnect(): void;
  /** Closes every connection (the remote side sees `close` at once) and the signalling socket. */
  destroy(): void;
}

export interface PeerInit {
  signal: SignalConfig;
  iceServers: RTCIceServer[];
  /** Proves ownership of the id to the signalling server; random from crypto.getRandomValues. */
  token: string;
}

export type PeerFactory = (id: string, init: PeerInit) => Promise<PeerHandle>;
