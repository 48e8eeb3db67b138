/**
 * The real PeerJS 1.5.5 message handler with dropLostMessages applied: a flood of CANDIDATE frames for
 * connection ids the peer never opened leaves nothing behind. The Peer's own constructor needs a
 * browser (WebRTC, a socket), so the handler runs on an object made from the real prototype.
 */
import { Peer } from 'peerjs';
import { describe, expect, it } from 'vitest';
import { dropLostMessages } from './peerjs-adapter';

type Internals = { _lostMessages: Map<string, unknown[]>; _connections: Map<string, unknown[]>; _handleMessage(m: unknown): void };

function bare(): Internals {
  const p = Object.create(Peer.prototype as object) as Internals;
  p._lostMessages = new Map();
  p._connections = new Map();
  return p;
}

const candidate = (i: number): unknown => ({ type: 'CANDIDATE', src: 'stranger', payload: { connectionId: `dc_${i}`, candidate: 'x'.repeat(1000) } });

describe('dropLostMessages', () => {
  it('PeerJS alone keeps every message for an unknown connection (the bug)', () => {
    const p = bare();
    for (let i = 0; i < 1000; i++) p._handleMessage(candidate(i));
    expect(p._lostMessages.size).toBe(1000);
  });

  it('with the bound, they are dropped', () => {
    const p = bare();
    dropLostMessages(p);
    for (let i = 0; i < 1000; i++) p._handleMessage(candidate(i));
    expect(p._lostMessages.size).toBe(0);
  });

  it('refuses a PeerJS without the internals it patches, rather than silently not bounding', () => {
    expect(() => dropLostMessages({})).toThrow(/cannot be applied/);
  });
});
