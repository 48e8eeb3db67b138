/** What the signalling server (signal.ts) can be told, and what it reports. */

export interface SignallingOptions {
  /** Interface to bind (default 127.0.0.1; '0.0.0.0' for volunteers on the LAN). */
  host?: string;
  /** Port (default 9000; 0 picks a free one, see the returned `port`). */
  port?: number;
  path?: string;
  key?: string;
  /** PEM file paths; serves https/wss. */
  tls?: { key: string; cert: string };
  /** Allowed page origins ('*' for any). Default: loopback pages and pages on the same host name. */
  origins?: string[];
  /** Reserved id prefix (default COORDINATOR_ID_PREFIX). */
  reservedPrefix?: string;
  /** If set (the operator secret), the only token that may register reserved ids; otherwise trust on first use. */
  coordinatorToken?: string;
  /** How long a reserved id stays pinned to its token after the holder left, in ms (default 24 h). */
  reservedPinMs?: number;
  /** Keep the trust-on-first-use pins in this file, so they survive a restart (default: memory only). */
  pinsFile?: string;
  /** Coordinator ids one address may pin (default 16). */
  maxPinsPerIp?: number;
  /** Sockets at once before fairness between addresses decides who gets in (default 1000). */
  concurrentLimit?: number;
  /** WebSocket connections per client IP (default 256: one machine runs many tabs). */
  maxSocketsPerIp?: number;
  /** New connections and HTTP requests per client IP: `burst` at once, refilled at `perSecond` (default 128 / 8). */
  connectRate?: { burst: number; perSecond: number };
  /** Connections per reserved id presenting its pinned token or the operator secret, whatever the address (default 10 / 0.2). */
  coordinatorConnectRate?: { burst: number; perSecond: number };
  /** Drop a client silent for this long, in ms (default 60 s; PeerJS pings every 5 s). */
  aliveTimeoutMs?: number;
  /** Keep messages for an offline id this long, in ms (default 5 s). */
  expireTimeoutMs?: number;
  /** Largest signalling frame, in bytes (default 16 KiB; a data-channel SDP is 1-2 KiB, a candidate < 1 KiB). */
  maxPayloadBytes?: number;
  /** Per-socket message rate: `burst` at once, refilled at `perSecond` (default 2000 / 500). */
  rate?: { burst: number; perSecond: number };
  /** Unsent bytes the server holds for one socket before closing it (default 2 MiB; send-buffer.ts). */
  maxSendBufferBytes?: number;
  /** Per-socket byte rate (default 1 MiB at once, 256 KiB/s: a coordinator answering ~500 joins at once). */
  byteRate?: { burst: number; perSecond: number };
  /** Bytes per second (and at once) from one address to one destination, its sockets together. */
  routeRate?: { burst: number; perSecond: number };
  /** Messages queued for one offline id within expireTimeoutMs (default 64). */
  maxQueuedPerDestination?: number;
  /** Bytes queued for all offline ids together within expireTimeoutMs (default 8 MiB). */
  maxQueuedBytes?: number;
  /** Behind one reverse proxy: the last X-Forwarded-For hop (the proxy's) is the address for per-IP limits. */
  proxied?: boolean;
  log?: (line: string) => void;
}

export interface SignallingStats {
  online: number;
  sockets: number;
  addresses: number;
  pinnedReservedIds: number;
  refused: Record<string, number>;
}

export interface Signalling {
  host: string;
  port: number;
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:9000/signal/tabswarm */
  url: string;
  stats(): SignallingStats;
  close(): Promise<void>;
}
