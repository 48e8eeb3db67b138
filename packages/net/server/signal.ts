/**
 * The PeerJS signalling server (`peer` 1.0.2) with explicit, hardened settings. What it enforces:
 *  - HTTP: only GET/OPTIONS `${path}/${key}/id` (and `/peers`, which answers 401: discovery is off);
 *    everything else 404. Page origins checked (admission.ts originAllowed), CORS reflects only those.
 *  - WebSocket upgrade: origin check, per-IP and total socket caps, 64 KiB max frame (ws maxPayload).
 *  - Registration: id and token syntax; ids with the coordinator prefix are reserved (admission.ts).
 *    A refused socket gets PeerJS's ERROR message (the page sees `server-error` with our reason) and is
 *    closed before the PeerJS server ever registers it.
 *  - Messages: client message types only, a per-socket rate limit (abusers are disconnected), and a
 *    cap on messages queued for offline ids (gate.ts).
 *  - peer settings: allow_discovery false, concurrent_limit, alive_timeout, expire_timeout, key, path.
 * What it cannot enforce: that the coordinator behind a reserved id is the real one beyond its token
 * (learners must authenticate it above signalling, docs/fault-tolerance.md §3); `key` is not a secret.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import type { IncomingMessage } from 'node:http';
import { ExpressPeerServer, type IClient } from 'peer';
import type { ServerOptions, WebSocket } from 'ws';
import { COORDINATOR_ID_PREFIX } from '../src/ids';
import { Admission, originAllowed } from './admission';
import { gateMessage, OfflineQueueLimiter, TokenBucket } from './gate';

// express and ws exactly as `peer` resolves them (its own dependencies; not ours to pin).
const requireFromPeer = createRequire(createRequire(import.meta.url).resolve('peer'));
const express = requireFromPeer('express') as typeof import('express');
const { WebSocketServer } = requireFromPeer('ws') as typeof import('ws');

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
  /** If set, the only token that may register reserved ids; otherwise trust on first use. */
  coordinatorToken?: string;
  /** How long a reserved id stays pinned to its token after the holder left, in ms (default 10 min). */
  reservedPinMs?: number;
  /** PeerJS clients registered at once (default 1000). */
  concurrentLimit?: number;
  /** WebSocket connections per client IP (default 256: one machine runs many tabs). */
  maxSocketsPerIp?: number;
  /** Drop a client silent for this long, in ms (default 60 s; PeerJS pings every 5 s). */
  aliveTimeoutMs?: number;
  /** Keep messages for an offline id this long, in ms (default 5 s). */
  expireTimeoutMs?: number;
  /** Largest signalling frame, in bytes (default 64 KiB; SDP offers are a few KiB). */
  maxPayloadBytes?: number;
  /** Per-socket message rate: `burst` at once, refilled at `perSecond` (default 2000 / 500). */
  rate?: { burst: number; perSecond: number };
  /** Messages queued for one offline id within expireTimeoutMs (default 256). */
  maxQueuedPerDestination?: number;
  /** Behind a reverse proxy: trust X-Forwarded-For for per-IP limits. */
  proxied?: boolean;
  log?: (line: string) => void;
}

export interface SignallingStats {
  online: number;
  sockets: number;
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

export async function startSignalling(o: SignallingOptions = {}): Promise<Signalling> {
  const host = o.host ?? '127.0.0.1', path = normalisePath(o.path ?? '/signal'), key = o.key ?? 'tabswarm';
  const expireMs = o.expireTimeoutMs ?? 5000;
  const maxPerIp = o.maxSocketsPerIp ?? 256;
  const now = (): number => performance.now();
  const log = o.log ?? (() => undefined);
  const admission = new Admission({ prefix: o.reservedPrefix ?? COORDINATOR_ID_PREFIX, token: o.coordinatorToken, pinIdleMs: o.reservedPinMs ?? 600_000, maxPins: 10_000 }, now);
  const queue = new OfflineQueueLimiter(o.maxQueuedPerDestination ?? 256, expireMs, 10_000, now);
  const rate = o.rate ?? { burst: 2000, perSecond: 500 };
  const online = new Set<string>();
  const perIp = new Map<string, number>();
  const refused: Record<string, number> = {};
  const count = (reason: string): void => { refused[reason] = (refused[reason] ?? 0) + 1; };
  const clientIp = (req: IncomingMessage): string => {
    const fwd = o.proxied ? String(req.headers['x-forwarded-for'] ?? '').split(',')[0]?.trim() : '';
    return fwd || req.socket.remoteAddress || 'unknown';
  };

  const server = o.tls ? https.createServer({ key: readFileSync(o.tls.key, 'utf8'), cert: readFileSync(o.tls.cert, 'utf8') }) : http.createServer();
  let wss: InstanceType<typeof WebSocketServer> | undefined;

  const refuseSocket = (socket: WebSocket, reason: string, message: string): void => {
    count(reason);
    log(`refused socket: ${reason}: ${message}`);
    // PeerJS turns an ERROR message into a `server-error` with this text, then closes its side.
    socket.send(JSON.stringify({ type: 'ERROR', payload: { msg: message } }));
    socket.close(1008, reason);
    setTimeout(() => socket.terminate(), 2000).unref(); // a client that never answers the close
  };

  /** Runs before the PeerJS server's own connection handler; false keeps the socket from it. */
  const admit = (socket: WebSocket, req: IncomingMessage): boolean => {
    const q = new URL(req.url ?? '', 'http://signal').searchParams;
    const id = q.get('id'), token = q.get('token');
    if (q.get('key') !== key || !id || !token) return true; // PeerJS answers these itself (INVALID_KEY / parameters)
    const verdict = admission.check(id, token);
    if (!verdict.ok) return refuseSocket(socket, verdict.reason, verdict.message), false;
    const ip = clientIp(req);
    perIp.set(ip, (perIp.get(ip) ?? 0) + 1);
    socket.once('close', () => {
      const n = (perIp.get(ip) ?? 1) - 1;
      if (n > 0) perIp.set(ip, n);
      else perIp.delete(ip);
    });
    const bucket = new TokenBucket(rate.burst, rate.perSecond, now);
    const emit = socket.emit.bind(socket);
    socket.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
      if (event !== 'message') return emit(event, ...args);
      const verdict = gateMessage(String(args[0]), { bucket, queue, isOnline: (dst) => online.has(dst) });
      if (verdict === 'pass') return emit(event, ...args);
      count(`message-${verdict}`);
      if (verdict === 'abuse') socket.terminate();
      return false;
    }) as typeof socket.emit;
    return true;
  };

  class GatedServer extends WebSocketServer {
    override emit(event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'connection' && !admit(args[0] as WebSocket, args[1] as IncomingMessage)) return false;
      return super.emit(event, ...args);
    }
  }

  const peerApp = ExpressPeerServer(server, {
    path, key,
    allow_discovery: false,
    concurrent_limit: o.concurrentLimit ?? 1000,
    alive_timeout: o.aliveTimeoutMs ?? 60_000,
    expire_timeout: expireMs,
    cleanup_out_msgs: 1000,
    proxied: o.proxied ?? false,
    corsOptions: { origin: true, methods: ['GET'] }, // only reached by origins our gate allowed
    createWebSocketServer: (options: ServerOptions) => {
      wss = new GatedServer({
        ...options,
        maxPayload: o.maxPayloadBytes ?? 64 * 1024,
        verifyClient: (info, done) => {
          if (!originAllowed(info.req.headers.origin, info.req.headers.host, o.origins)) return count('origin'), done(false, 403, 'origin not allowed');
          if ((perIp.get(clientIp(info.req)) ?? 0) >= maxPerIp) return count('per-ip'), done(false, 429, 'too many sockets from this address');
          done(true);
        },
      });
      return wss;
    },
  });
  peerApp.on('connection', (client: IClient) => {
    online.add(client.getId());
    queue.online(client.getId());
    admission.connected(client.getId(), client.getToken());
  });
  peerApp.on('disconnect', (client: IClient) => {
    online.delete(client.getId());
    admission.disconnected(client.getId());
  });
  peerApp.on('error', (e: Error) => log(`signalling error: ${e.message}`)); // an unhandled 'error' would throw

  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    if (!originAllowed(req.headers.origin, req.headers.host, o.origins)) return void count('origin'), void res.sendStatus(403);
    const known = req.path === `${path}/${key}/id` || req.path === `${path}/${key}/peers`;
    if (!known || (req.method !== 'GET' && req.method !== 'OPTIONS')) return void res.sendStatus(404);
    next();
  });
  app.use(peerApp); // mounting starts the PeerJS server (its 'mount' hook)
  server.on('request', app);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 9000, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (o.port ?? 9000);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  log(`signalling on ${o.tls ? 'https' : 'http'}://${shownHost}:${port}${path} (key ${key})`);

  return {
    host, port,
    url: `${o.tls ? 'https' : 'http'}://${shownHost}:${port}${path}/${key}`,
    stats: () => ({ online: online.size, sockets: wss?.clients.size ?? 0, pinnedReservedIds: admission.pinned, refused: { ...refused } }),
    close: () => new Promise<void>((resolve) => {
      for (const c of wss?.clients ?? []) c.terminate();
      wss?.close();
      server.close(() => resolve());
      server.closeAllConnections();
      // peer 1.0.2 keeps two internal timers (message expiry, dead-client sweep) that it never stops;
      // they hold a Node process open after close(), so CLIs exit explicitly.
    }),
  };
}

function normalisePath(p: string): string {
  const withSlash = p.startsWith('/') ? p : `/${p}`;
  return withSlash.length > 1 ? withSlash.replace(/\/+$/, '') : '';
}
