/**
 * The coordinator's total reassembly bound (reassembly-pool.ts) with hostile links on the fake PeerJS:
 * each hostile link opens, sends only first chunks of maximal messages and never finishes them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CHUNK_HEADER_BYTES, DEFAULT_CHUNK_BYTES, chunkCount, writeChunkHeader } from './chunk';
import { hostCoordinator, type CoordinatorHost } from './coordinator-host';
import { coordinatorPeerId } from './ids';
import { connectLearner } from './learner-link';
import type { ConnectionHandle, SignalConfig } from './transport';
import { FakeClock, settle } from '../test/fake-clock';
import { FakeNetwork } from '../test/fake-peer';

const signal: SignalConfig = { host: '127.0.0.1', port: 9000, path: '/signal', key: 'tabswarm', secure: false };
const COORD = coordinatorPeerId('run1');
const MAX_MESSAGE = 1 << 20; // per link: 2 × 1 MiB of incomplete messages
const CAPACITY = 4 << 20; // for all links together
const HOSTILE = 8; // 8 × 2 MiB = 16 MiB wanted, four times the capacity

const cleanup: Array<{ close(): void }> = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c.close();
});

/** First chunk of a message of `totalBytes`: all a hostile sender needs to reserve the whole of it. */
function firstChunk(msgId: number, totalBytes: number): ArrayBuffer {
  const f = new Uint8Array(CHUNK_HEADER_BYTES + DEFAULT_CHUNK_BYTES);
  writeChunkHeader(f, { msgId, index: 0, count: chunkCount(totalBytes), totalBytes });
  return f.buffer;
}

async function setup() {
  const clock = new FakeClock();
  const net = new FakeNetwork();
  const inbox: Array<[string, number]> = [];
  const leaves: Array<[string, string]> = [];
  const host: CoordinatorHost = await hostCoordinator({
    peerId: COORD, signal, iceServers: [], maxMessageBytes: MAX_MESSAGE, maxBufferedTotalBytes: CAPACITY, clock, random: () => 0.5, createPeer: net.factory,
    onJoin: () => undefined,
    onMessage: (id, b) => inbox.push([id, b.length]),
    onLeave: (id, reason) => leaves.push([id, reason]),
  });
  cleanup.push(host);
  /** Bytes the coordinator holds for incomplete messages, from each link's own count. */
  const heldByLinks = (): number => host.stats().learners.reduce((s, l) => s + l.partials * MAX_MESSAGE, 0);
  return { clock, net, host, inbox, leaves, heldByLinks };
}

describe('coordinator reassembly pool', () => {
  it('hostile links that start maximal messages hold no more than the total; an honest push still completes', async () => {
    const { net, host, inbox, leaves, heldByLinks } = await setup();
    const hostile: ConnectionHandle[] = [];
    for (let i = 0; i < HOSTILE; i++) {
      const rogue = await net.factory(`rogue-${i}`, { signal, iceServers: [], token: 't' });
      cleanup.push({ close: () => rogue.destroy() });
      await settle();
      hostile.push(rogue.connect(COORD, { learnerId: `rogue-${i}`, secret: `secret-of-rogue-${i}`.padEnd(22, '0') }));
    }
    await settle();
    expect(host.learners()).toHaveLength(HOSTILE);
    for (let m = 1; m <= 2; m++) {
      for (const c of hostile) {
        if (c.dataChannel?.readyState !== 'open') continue;
        c.dataChannel.send(new Uint8Array(firstChunk(m, MAX_MESSAGE)));
        await settle();
        expect(heldByLinks()).toBeLessThanOrEqual(CAPACITY);
      }
    }
    // Hand-worked, in MiB. Round 1: rogue-0…3 get 1 each (4, full); rogue-4…7 would each hold 1 above
    // the level 4 / 5 = 0.8: refused, closed. Round 2: rogue-0 would hold 2 > level 1 (1, 1, 1, 2): closed;
    // rogue-1 then fits (1 + 1 + 1 + 1); rogue-2 would hold 2 > level 1.5 (2, 1, 2): closed; rogue-3 fits.
    const refusedSoFar = ['rogue-4', 'rogue-5', 'rogue-6', 'rogue-7', 'rogue-0', 'rogue-2'];
    expect(leaves).toEqual(refusedSoFar.map((id) => [id, 'protocol-error']));
    expect(host.learners()).toEqual(['rogue-1', 'rogue-3']);
    expect(heldByLinks()).toBe(CAPACITY); // the pool is full of hostile partials, 2 MiB each
    expect(host.stats().reassemblyBytes).toBe(CAPACITY);

    // Demands 2, 2 and 0.29 MiB: the level is 1.86 MiB, far above the honest link's 300 kB push.
    const honest = connectLearner({
      coordinatorId: COORD, learnerId: 'alice', secret: 'session-of-alice'.padEnd(22, '0'), signal, iceServers: [], clock: new FakeClock(), random: () => 0.5,
      createPeer: net.factory, lifecycle: null, onMessage: () => undefined,
    });
    cleanup.push(honest);
    await settle();
    await honest.send(new Uint8Array(300_000));
    await settle();
    expect(inbox).toEqual([['alice', 300_000]]);
    expect(host.stats().reassemblyBytes).toBeLessThanOrEqual(CAPACITY);
    // Room was made by evicting a message of the largest holder (a tie: the earliest), whose link closed for it.
    expect(leaves).toEqual([...refusedSoFar, 'rogue-1'].map((id) => [id, 'protocol-error']));
    expect(host.stats().refusedFrames).toEqual({ 'buffer-full': 7 });

    for (const c of hostile) c.close(); // the rest close mid-message
    await settle();
    await settle();
    expect(host.learners()).toEqual(['alice']);
    expect(host.stats().reassemblyBytes).toBe(0);
    expect(honest.state).toBe('open');
  });
});
