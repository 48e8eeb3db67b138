/**
 * Registers a Peer with the signalling server and waits for its `open`, with a deadline: a server that
 * is down, refuses the id (reserved, taken) or never answers turns into a NetError, never a hang.
 */
import type { Clock } from './clock';
import { NetError } from './errors';
import type { PeerFactory, PeerHandle, PeerInit } from './transport';

export interface OpenPeerOptions {
  factory: PeerFactory;
  id: string;
  init: PeerInit;
  /** Deadline for loading PeerJS, reaching the server and getting the id confirmed, in ms. */
  timeoutMs: number;
  clock: Clock;
}

export function openPeer(o: OpenPeerOptions): Promise<PeerHandle> {
  return new Promise<PeerHandle>((resolve, reject) => {
    let settled = false;
    let peer: PeerHandle | undefined;
    const fail = (err: NetError): void => {
      if (settled) return;
      settled = true;
      o.clock.clearTimeout(timer);
      try {
        peer?.destroy();
      } catch {
        // already gone
      }
      reject(err);
    };
    const timer = o.clock.setTimeout(
      () => fail(new NetError('open-timeout', `signalling server ${o.init.signal.host}:${o.init.signal.port} did not confirm id ${o.id} within ${o.timeoutMs} ms`)),
      o.timeoutMs,
    );
    o.factory(o.id, o.init).then(
      (p) => {
        peer = p;
        if (settled) return void p.destroy(); // the deadline passed while PeerJS was loading
        const opened = (): void => {
          if (settled) return;
          settled = true;
          o.clock.clearTimeout(timer);
          resolve(p);
        };
        p.onOpen(opened);
        p.onError((type, message) => fail(new NetError('signalling', `${type}: ${message}`)));
        p.onClose(() => fail(new NetError('signalling', `peer ${o.id} was destroyed before it opened`)));
        if (p.open) opened(); // it may have opened before we could listen
      },
      (e: unknown) => fail(new NetError('signalling', `could not create a peer: ${String(e)}`)),
    );
  });
}
