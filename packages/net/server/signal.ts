/**
 * The PeerJS signalling server (`peer` 1.0.2) with explicit, hardened settings. What it enforces:
 *  - HTTP: only GET/OPTIONS `${path}/${key}/id` (and `/peers`, which answers 401: discovery is off);
 *    everything else 404. Origin required and checked (admission.ts originAllowed), CORS reflects only those.
 *  - WebSocket upgrade: Origin required and checked; a connection rate per address; per-address and
 *    total socket caps with max-min fairness when full (sockets.ts), which a coordinator presenting its
 *    pinned token is exempt from (one socket per id: its newest; 10 connects at once, then one per 5 s,
 *    per id); 16 KiB max frame (ws maxPayload).
 *  - Registration: id and token syntax; ids with the coordinator prefix are reserved (admission.ts),
 *    their pins optionally kept in a file across restarts (pins.ts). A refused socket gets PeerJS's ERROR
 *    message (the page sees `server-error` with our reason) and is closed before the PeerJS server ever
 *    registers it.
 *  - Messages: client message types only, a per-socket message rate (abusers are disconnected) and byte
 *    rate (excess dropped), and caps on what is queued for offline ids (gate.ts); a socket holding more
 *    than 2 MiB unsent (its client stopped reading) is closed (send-buffer.ts).
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
import { Admission, clientAddressOf, originAllowed, type Verdict } from './admission';
import { gateMessage, KeyedBuckets, OfflineQueueLimiter, TokenBucket } from './gate';
import { loadPins, PinWriter } from './pins';
import { capSendBuffer, MAX_SEND_BUFFER_BYTES } from './send-buffer';
import type { Signalling, SignallingOptions } from './signal-options';
import { SocketBudget } from './sockets';

export type { Signalling, SignallingOptions, SignallingStats } from './signal-options';

// express and ws exactly as `peer` resolves them (its own dependencies; not ours to pin).
const requireFromPeer = createRequire(createRequire(import.meta.url).resolve('peer'));
const express = requireFromPeer('express') as typeof import('express');
const { WebSocketServer } = requireFromPeer('ws') as typeof import('ws');

export async function startSignalling(o: SignallingOptions = {}): Promise<Signalling> {
  const host = o.host ?? '127.0.0.1', path = normalisePath(o.path ?? '/signal'), key = o.key ?? 'tabswarm';
  const expireMs = o.expireTimeoutMs ?? 5000;
  const now = (): number => performance.now();
  const log = o.log ?? (() => undefined);
  const maxPins = 10_000;
  // Pins outlive a restart, so they count wall-clock time.
  const admission = new Admission(
    { prefix: o.reservedPrefix ?? COORDINATOR_ID_PREFIX, token: o.coordinatorToken, pinIdleMs: o.reservedPinMs ?? 24 * 3600_000, maxPins, maxPinsPerAddress: o.maxPinsPerIp ?? 16 },
    Date.now, o.pinsFile ? loadPins(o.pinsFile) : [],
  );
  const pinWriter = o.pinsFile && !o.coordinatorToken ? new PinWriter(o.pinsFile, () => admission.snapshot(), (e) => log(`could not write ${o.pinsFile}: ${String(e)}`)) : undefined;
  const queue = new OfflineQueueLimiter({ maxPerDestination: o.maxQueuedPerDestination ?? 64, maxTotalBytes: o.maxQueuedBytes ?? 8 << 20, windowMs: expireMs, maxDestinations: 10_000 }, now);
  const rate = o.rate ?? { burst: 2000, perSecond: 500 };
  const byteRate = o.byteRate ?? { burst: 1 << 20, perSecond: 256 << 10 };
  // Per (address, destination), every socket of the address together: a join is ≈5 KB of OFFER and
  // CANDIDATEs, so 4 MiB at once covers ≈800 tabs behind one NAT joining one coordinator together, while
  // one address's 256 sockets can no longer pour 256 × 256 KiB/s into the coordinator's socket.
  const routeRate = o.routeRate ?? { burst: 4 << 20, perSecond: 1 << 20 };
  const routes = new KeyedBuckets(routeRate.burst, routeRate.perSecond, 100_000, now);
  const maxSendBuffer = o.maxSendBufferBytes ?? MAX_SEND_BUFFER_BYTES;
  const connectRate = o.connectRate ?? { burst: 128, perSecond: 8 };
  const attempts = new KeyedBuckets(connectRate.burst, connectRate.perSecond, 100_000, now);
  // A reload is one connect, and the host's own retries (coordinator-host.ts: 500 ms doubling to 10 s,
  // equal jitter) make 5 in their first 8 s and then one per 5 s at the fastest: 10 at once, then one per
  // 5 s covers both, and a refused attempt spends nothing, so the next retry gets in.
  const coordinatorRate = o.coordinatorConnectRate ?? { burst: 10, perSecond: 0.2 };
  const coordinatorAttempts = new KeyedBuckets(coordinatorRate.burst, coordinatorRate.perSecond, maxPins, now);
  const concurrentLimit = o.concurrentLimit ?? 1000;
  const budget = new SocketBudget<WebSocket>({ maxTotal: concurrentLimit, maxPerAddress: o.maxSocketsPerIp ?? 256 });
  const online = new Set<string>();
  const clientAddress = new WeakMap<WebSocket, string>(); // for pins: which address registered an id
  // The newest socket of each reserved id. A coordinator socket skips every cap and the rate, and PeerJS
  // moves the id to it leaving the old socket open, so without closing that one a pin's holder (anyone,
  // on first use) opened as many uncounted sockets as it liked.
  const reservedSocket = new Map<string, WebSocket>();
  const refused: Record<string, number> = {};
  const count = (reason: string): void => { refused[reason] = (refused[reason] ?? 0) + 1; };
  const clientIp = (req: IncomingMessage): string => clientAddressOf(req.headers['x-forwarded-for'], req.socket.remoteAddress, o.proxied ?? false);

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

  /** The id an upgrade request registers and its admission verdict; undefined when PeerJS answers it itself (INVALID_KEY / parameters). */
  const verdictFor = (req: IncomingMessage): (Verdict & { id: string }) | undefined => {
    // Read exactly as peer 1.0.2 does (Object.fromEntries: the LAST of a repeated parameter wins). With
    // searchParams.get (the first) `?id=learner-1&token=t&id=tabswarm-coord-x` was checked as the learner
    // id and registered as the coordinator's.
    const { id, token, key: k } = Object.fromEntries(new URL(req.url ?? '', 'https://peerjs').searchParams.entries());
    if (k !== key || !id || !token) return undefined;
    return { ...admission.check(id, token, clientIp(req)), id };
  };

  /** Before the upgrade: origin, then rate and socket caps (a coordinator back with its token: its id's rate only). */
  const verifyUpgrade = (req: IncomingMessage): { ok: true } | { ok: false; reason: string; status: number; message: string } => {
    if (!originAllowed(req.headers.origin, req.headers.host, o.origins)) return { ok: false, reason: 'origin', status: 403, message: 'origin missing or not allowed' };
    const verdict = verdictFor(req);
    if (verdict?.ok && verdict.coordinator) {
      // Never locked out by anyone else's sockets: a bucket per id, spent only once its token matched, so
      // junk without the token (refused by the pin, and charged to its address below) never touches it.
      if (coordinatorAttempts.take(verdict.id)) return { ok: true };
      return { ok: false, reason: 'coordinator-rate', status: 429, message: 'this coordinator id reconnects too often' };
    }
    const ip = clientIp(req);
    if (!attempts.take(ip)) return { ok: false, reason: 'connect-rate', status: 429, message: 'too many connections from this address' };
    const room = budget.admit(ip);
    if (!room.ok) return { ok: false, reason: room.reason, status: 429, message: room.reason === 'per-ip' ? 'too many sockets from this address' : 'server full' };
    if (room.evict) {
      count('evicted');
      budget.remove(ip, room.evict);
      room.evict.terminate();
    }
    return { ok: true };
  };

  /** Runs before the PeerJS server's own connection handler; false keeps the socket from it. */
  const admit = (socket: WebSocket, req: IncomingMessage): boolean => {
    const verdict = verdictFor(req);
    if (!verdict) return true;
    if (!verdict.ok) return refuseSocket(socket, verdict.reason, verdict.message), false;
    const ip = clientIp(req);
    budget.add(ip, socket, verdict.coordinator);
    clientAddress.set(socket, ip);
    socket.once('close', () => budget.remove(ip, socket));
    capSendBuffer(socket, maxSendBuffer, () => count('slow-reader'));
    if (admission.isReserved(verdict.id)) {
      if (verdict.coordinator) reservedSocket.get(verdict.id)?.terminate();
      reservedSocket.set(verdict.id, socket);
      socket.once('close', () => { if (reservedSocket.get(verdict.id) === socket) reservedSocket.delete(verdict.id); });
    }
    const bucket = new TokenBucket(rate.burst, rate.perSecond, now);
    const bytes = new TokenBucket(byteRate.burst, byteRate.perSecond, now);
    const emit = socket.emit.bind(socket);
    socket.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
      if (event !== 'message') return emit(event, ...args);
      const verdict = gateMessage(String(args[0]), { bucket, bytes, queue, routes, address: ip, isOnline: (dst) => online.has(dst) });
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
    concurrent_limit: concurrentLimit + maxPins, // ours is the budget above; coordinators come on top
    alive_timeout: o.aliveTimeoutMs ?? 60_000,
    expire_timeout: expireMs,
    cleanup_out_msgs: 1000,
    proxied: o.proxied ?? false,
    corsOptions: { origin: true, methods: ['GET'] }, // only reached by origins our gate allowed
    createWebSocketServer: (options: ServerOptions) => {
      wss = new GatedServer({
        ...options,
        maxPayload: o.maxPayloadBytes ?? 16 * 1024,
        verifyClient: (info, done) => {
          const v = verifyUpgrade(info.req);
          if (v.ok) return done(true);
          count(v.reason);
          done(false, v.status, v.message);
        },
      });
      return wss;
    },
  });
  const addressOf = (client: IClient): string => {
    const socket = client.getSocket() as WebSocket | null;
    return (socket && clientAddress.get(socket)) ?? 'unknown';
  };
  peerApp.on('connection', (client: IClient) => {
    online.add(client.getId());
    queue.online(client.getId());
    admission.connected(client.getId(), client.getToken(), addressOf(client));
    pinWriter?.changed();
  });
  peerApp.on('disconnect', (client: IClient) => {
    online.delete(client.getId());
    admission.disconnected(client.getId());
    pinWriter?.changed();
  });
  peerApp.on('error', (e: Error) => log(`signalling error: ${e.message}`)); // an unhandled 'error' would throw

  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    if (!originAllowed(req.headers.origin, req.headers.host, o.origins)) return void count('origin'), void res.sendStatus(403);
    if (!attempts.take(clientIp(req))) return void count('connect-rate'), void res.sendStatus(429);
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
    stats: () => ({ online: online.size, sockets: wss?.clients.size ?? 0, addresses: budget.addresses, pinnedReservedIds: admission.pinned, refused: { ...refused } }),
    close: () => new Promise<void>((resolve) => {
      pinWriter?.stop();
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
