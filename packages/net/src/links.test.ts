/** hostCoordinator + connectLearner over the in-memory fake PeerJS (test/fake-peer.ts), on a fake clock. */
import { afterEach, describe, expect, it } from 'vitest';
import { hostCoordinator, type CoordinatorHost, type CoordinatorOptions } from './coordinator-host';
import { coordinatorPeerId } from './ids';
import { connectLearner, type LifecycleTarget } from './learner-link';
import type { SignalConfig } from './transport';
import { FakeClock, settle } from '../test/fake-clock';
import { FakeNetwork, type FakePeer } from '../test/fake-peer';

const signal: SignalConfig = { host: '127.0.0.1', port: 9000, path: '/signal', key: 'tabswarm', secure: false };
const COORD = coordinatorPeerId('run1');
const te = new TextEncoder(), td = new TextDecoder();

type Ev = [string, string, ...unknown[]];

function world() {
  const clock = new FakeClock();
  const net = new FakeNetwork();
  const events: Ev[] = [];
  const inbox: Array<[string, string]> = [];
  const cleanup: Array<{ close(): void }> = [];
  /** `onLeave`: what the caller does with the host while it reports a leave (the driver refreshes and sends). */
  const host = async (onLeave?: (h: CoordinatorHost, id: string) => void, extra: Partial<CoordinatorOptions> = {}): Promise<CoordinatorHost> => {
    const h: CoordinatorHost = await hostCoordinator({
      ...extra, peerId: COORD, signal, iceServers: [], maxMessageBytes: 1 << 20, clock, random: () => 0.5, createPeer: net.factory,
      onJoin: (id, link) => events.push(['join', id, link.replaced]),
      onMessage: (id, b) => inbox.push([id, td.decode(b)]),
      onLeave: (id, reason) => { events.push(['leave', id, reason]); onLeave?.(h, id); },
    });
    cleanup.push(h);
    return h;
  };
  // By default a learner id's own session: the same secret for every link of one id.
  const learner = (learnerId: string, extra: { lifecycle?: LifecycleTarget; secret?: string } = {}) => {
    const got: string[] = [], log: string[] = [];
    const link = connectLearner({
      coordinatorId: COORD, learnerId, secret: extra.secret ?? `session-of-${learnerId}`.padEnd(22, '0'), signal, iceServers: [], clock, random: () => 0.5, createPeer: net.factory, lifecycle: extra.lifecycle ?? null,
      onMessage: (b) => got.push(td.decode(b)),
      onOpen: () => log.push('open'),
      onClose: (r) => log.push(`close:${r}`),
    });
    cleanup.push(link);
    return { link, got, log };
  };
  return { clock, net, events, inbox, host, learner, cleanup };
}

let current: ReturnType<typeof world> | undefined;
afterEach(() => {
  for (const c of current?.cleanup ?? []) c.close();
  current = undefined;
});

const coordPeer = (w: ReturnType<typeof world>): FakePeer => w.net.peers.get(COORD)!;

describe('coordinator host and learner link', () => {
  it('a learner joins under its logical id and messages flow both ways', async () => {
    const w = (current = world());
    const h = await w.host();
    const l = w.learner('alice');
    await settle();
    expect(l.link.state).toBe('open');
    expect(l.log).toEqual(['open']);
    expect(w.events).toEqual([['join', 'alice', false]]);
    expect(l.link.peerId).toMatch(/^alice-[0-9a-f]{16}$/);
    await l.link.send(te.encode('hello'));
    await h.send('alice', te.encode('welcome'));
    expect((await h.broadcast(['alice', 'bob'], te.encode('all'))).failed.map((f) => f.learnerId)).toEqual(['bob']);
    await settle();
    expect(w.inbox).toEqual([['alice', 'hello']]);
    expect(l.got).toEqual(['welcome', 'all']);
    await expect(h.send('bob', te.encode('x'))).rejects.toMatchObject({ code: 'unknown-learner' });
    expect(h.stats().learners[0]).toMatchObject({ learnerId: 'alice', messagesIn: 1, messagesOut: 2 });
  });

  it('a new connection for the same learner id replaces the old one', async () => {
    const w = (current = world());
    const h = await w.host();
    const first = w.learner('alice');
    await settle();
    const second = w.learner('alice'); // the same logical learner connects again (a reload, a duplicated tab)
    await settle();
    expect(w.events).toEqual([['join', 'alice', false], ['leave', 'alice', 'replaced'], ['join', 'alice', true]]);
    expect(h.learners()).toEqual(['alice']);
    // the replaced link was told why, and stops instead of fighting back
    expect(first.log).toEqual(['open', 'close:replaced']);
    expect(first.link.state).toBe('closed');
    await second.link.send(te.encode('from the new tab'));
    await w.clock.advanceAsync(30_000);
    expect(w.events).toHaveLength(3); // nothing more from the stale connection
    expect(w.inbox).toEqual([['alice', 'from the new tab']]);
    expect(second.link.state).toBe('open');
  });

  // The coordinator page refreshes its table (host.stats) and may send while it hears of the leave: a link
  // that was registered before its channel existed threw there, and the new connection never opened
  // (a duplicated tab in identity.spec).
  it('a replacement is whole before the old link is reported gone: the host can be used from onLeave', async () => {
    const w = (current = world());
    const during: string[] = [];
    const h = await w.host((host, id) => {
      during.push(host.stats().learners.map((l) => l.learnerId).join());
      void host.send(id, te.encode('after the leave')).catch((e: unknown) => during.push(String(e)));
    });
    w.learner('alice');
    await settle();
    const second = w.learner('alice');
    await settle();
    expect(during).toEqual(['alice']);
    expect(w.events).toEqual([['join', 'alice', false], ['leave', 'alice', 'replaced'], ['join', 'alice', true]]);
    expect(second.got).toEqual(['after the leave']); // what the page sent then went to the new link
    await second.link.send(te.encode('from the new tab'));
    await settle();
    expect(w.inbox).toEqual([['alice', 'from the new tab']]);
    expect(h.learners()).toEqual(['alice']);
  });

  it('a replacement after a silent death: the stale connection never reports again', async () => {
    const w = (current = world());
    await w.host();
    const first = w.learner('alice');
    await settle();
    w.net.created.find((p) => p.id.startsWith('alice-'))!.conns[0]!.freeze(); // the old tab died silently
    first.link.close(); // (and is gone from this process too)
    w.learner('alice');
    await settle();
    await w.clock.advanceAsync(30_000);
    expect(w.events).toEqual([['join', 'alice', false], ['leave', 'alice', 'replaced'], ['join', 'alice', true]]);
  });

  it('a connection with a live id but another secret is refused: the owner keeps its link', async () => {
    const w = (current = world());
    const h = await w.host();
    const owner = w.learner('alice');
    await settle();
    const squatter = w.learner('alice', { secret: 'someone-else-entirely-0' }); // knows the id, not the session
    await settle();
    expect(w.events).toEqual([['join', 'alice', false]]);
    expect(h.stats().refusedConnections).toEqual({ 'id-in-use': 1 });
    expect(squatter.log).toEqual(['open', 'close:id-in-use']); // told why, and it stops instead of retrying
    expect(squatter.link.state).toBe('closed');
    await w.clock.advanceAsync(30_000);
    expect(owner.link.state).toBe('open');
    await owner.link.send(te.encode('still here'));
    await settle();
    expect(w.inbox).toEqual([['alice', 'still here']]);
  });

  // The arrival-time check alone let every connection that was still negotiating together in (up to 64).
  it('maxLearners holds for new ids whose connections were pending at once', async () => {
    const w = (current = world());
    const h = await w.host(undefined, { maxLearners: 1 });
    const ls = ['a', 'b', 'c'].map((id) => w.learner(id));
    await settle();
    expect(h.learners()).toEqual(['a']);
    expect(w.events).toEqual([['join', 'a', false]]);
    expect(h.stats().refusedConnections).toEqual({ full: 2 });
    expect(ls.map((l) => l.link.state)).toEqual(['open', 'waiting', 'waiting']); // refused, they retry later
    const again = w.learner('a'); // the same id reconnecting is not a new learner: it replaces its link
    await settle();
    expect(again.link.state).toBe('open');
    expect(h.learners()).toEqual(['a']);
  });

  it('the binding outlives a closed link for sessionHoldMs, then the id is free', async () => {
    const w = (current = world());
    const h = await w.host();
    const owner = w.learner('alice');
    await settle();
    owner.link.close();
    await settle();
    w.learner('alice', { secret: 'someone-else-entirely-1' });
    await settle();
    expect(h.stats().refusedConnections).toEqual({ 'id-in-use': 1 }); // the owner's id is held for its return
    await w.clock.advanceAsync(61_000);
    const next = w.learner('alice', { secret: 'someone-else-entirely-2' });
    await settle();
    expect(next.link.state).toBe('open'); // 60 s after the owner left, a new session may take the id
    expect(h.learners()).toEqual(['alice']);
  });

  it('refuses connections with bad metadata or non-raw serialization', async () => {
    const w = (current = world());
    const h = await w.host();
    const rogue = await w.net.factory('rogue-1', { signal, iceServers: [], token: 't' });
    await settle();
    rogue.connect(COORD, { learnerId: 'not valid!', secret: 'x'.repeat(32) });
    rogue.connect(COORD, 'alice');
    rogue.connect(COORD, { learnerId: 'alice' }); // no secret: nothing to bind the id to
    w.net.connectOptions = { serialization: 'binary', reliable: true };
    rogue.connect(COORD, { learnerId: 'alice', secret: 'x'.repeat(32) });
    await settle();
    expect(h.stats().refusedConnections).toEqual({ 'bad-metadata': 3, 'bad-options': 1 });
    expect(w.events).toEqual([]);
  });

  it('a learner retries with growing backoff until the coordinator exists', async () => {
    const w = (current = world());
    const l = w.learner('bob');
    await settle();
    expect(l.link.state).toBe('waiting'); // peer-unavailable: nobody holds the coordinator id yet
    const s1 = l.link.stats();
    expect(s1.failures).toBe(1);
    expect(s1.lastError).toMatch(/peer-unavailable/);
    await w.clock.advanceAsync(5000);
    expect(l.link.stats().failures).toBeGreaterThanOrEqual(4); // 187, 375, 750, 1500 ms … (equal jitter at 0.5)
    await w.host();
    await w.clock.advanceAsync(5000);
    expect(l.link.state).toBe('open');
    expect(w.events).toEqual([['join', 'bob', false]]);
    expect(l.link.stats().failures).toBe(0);
  });

  it('drop() closes the link without onLeave; the learner reconnects by itself', async () => {
    const w = (current = world());
    const h = await w.host();
    const l = w.learner('carol');
    await settle();
    h.drop('carol', 'evicted');
    await settle();
    expect(h.has('carol')).toBe(false);
    expect(l.log).toEqual(['open', 'close:remote:evicted']); // the bye carried drop()'s reason
    expect(w.events).toEqual([['join', 'carol', false]]);
    await w.clock.advanceAsync(1000);
    expect(l.link.state).toBe('open');
    expect(w.events).toEqual([['join', 'carol', false], ['join', 'carol', false]]);
    // dropped again and again right after joining: the backoff grows instead of hammering
    for (let i = 0; i < 4; i++) {
      h.drop('carol', 'evicted');
      await w.clock.advanceAsync(6000);
    }
    expect(l.link.stats().quickCloses).toBe(5);
    h.drop('carol', 'evicted');
    await w.clock.advanceAsync(2000); // 6 quick closes: the next try waits 2.5–5 s (the cap)
    expect(l.link.state).toBe('waiting');
    await w.clock.advanceAsync(3000);
    expect(l.link.state).toBe('open');
    await w.clock.advanceAsync(10_000); // a link that lives 10 s is healthy again
    h.drop('carol', 'evicted');
    await w.clock.advanceAsync(200);
    expect(l.link.stats().quickCloses).toBe(0);
    expect(l.link.state).toBe('open');
  });

  it('detects a silently dead learner by heartbeat', async () => {
    const w = (current = world());
    await w.host();
    const l = w.learner('dave');
    await settle();
    const learnerPeer = w.net.created.find((p) => p.id.startsWith('dave-'))!;
    learnerPeer.conns[0]!.freeze();
    await w.clock.advanceAsync(4000);
    expect(w.events).toEqual([['join', 'dave', false]]);
    await w.clock.advanceAsync(2000);
    expect(w.events).toContainEqual(['leave', 'dave', 'heartbeat-timeout']);
    expect(l.log).toContain('close:heartbeat-timeout');
  });

  it('pagehide destroys the peer so the coordinator sees the close at once; pageshow from bfcache reconnects', async () => {
    const w = (current = world());
    await w.host();
    const handlers = new Map<string, (ev: { persisted?: boolean }) => void>();
    const lifecycle: LifecycleTarget = { addEventListener: (t, f) => void handlers.set(t, f), removeEventListener: (t) => void handlers.delete(t) };
    const l = w.learner('erin', { lifecycle });
    await settle();
    handlers.get('pagehide')!({ persisted: true });
    await settle(); // no clock advance: no heartbeat involved
    // The bye got there first here; in a browser the destroyed connection's close may win ('remote-closed').
    expect(w.events).toEqual([['join', 'erin', false], ['leave', 'erin', 'remote:pagehide']]);
    expect(l.link.state).toBe('suspended');
    handlers.get('pageshow')!({ persisted: true });
    await settle();
    expect(l.link.state).toBe('open');
    l.link.close();
    expect(handlers.size).toBe(0);
  });

  it('close() stops the learner for good', async () => {
    const w = (current = world());
    await w.host();
    const l = w.learner('fay');
    await settle();
    l.link.close();
    await settle();
    expect(l.link.state).toBe('closed');
    await expect(l.link.send(te.encode('x'))).rejects.toMatchObject({ code: 'not-open' });
    await w.clock.advanceAsync(30_000);
    expect(w.events).toEqual([['join', 'fay', false], ['leave', 'fay', 'remote:local']]);
    expect(w.net.created.filter((p) => p.id.startsWith('fay-'))).toHaveLength(1);
  });

  it('close() called from its own onClose or onState stops the learner for good: no retry follows', async () => {
    const w = (current = world());
    const h = await w.host();
    const states: string[] = [];
    let closeOn = '';
    const link = connectLearner({
      coordinatorId: COORD, learnerId: 'hal', secret: 'session-of-hal'.padEnd(22, '0'), signal, iceServers: [], clock: w.clock, random: () => 0.5, createPeer: w.net.factory, lifecycle: null,
      onMessage: () => undefined,
      onClose: () => { if (closeOn === 'close') link.close(); },
      onState: (s) => { states.push(s); if (s === closeOn) link.close(); },
    });
    w.cleanup.push(link);
    await settle();
    expect(link.state).toBe('open');
    closeOn = 'close'; // the app gives up as soon as the link closes
    h.drop('hal', 'evicted');
    await w.clock.advanceAsync(30_000);
    expect(link.state).toBe('closed');
    expect(states.slice(-1)).toEqual(['closed']);
    expect(w.net.created.filter((p) => p.id.startsWith('hal-'))).toHaveLength(1); // no second attempt
    expect(w.events).toEqual([['join', 'hal', false]]);

    // the same from onState, when the link starts waiting before its next attempt
    const link2 = connectLearner({
      coordinatorId: COORD, learnerId: 'ida', secret: 'session-of-ida'.padEnd(22, '0'), signal, iceServers: [], clock: w.clock, random: () => 0.5, createPeer: w.net.factory, lifecycle: null,
      onMessage: () => undefined,
      onState: (s) => { if (s === 'waiting') link2.close(); },
    });
    w.cleanup.push(link2);
    await settle();
    h.drop('ida', 'evicted');
    await w.clock.advanceAsync(30_000);
    expect(link2.state).toBe('closed');
    expect(w.net.created.filter((p) => p.id.startsWith('ida-'))).toHaveLength(1);
  });

  it('hostCoordinator fails with open-timeout when the signalling server never answers', async () => {
    const w = (current = world());
    w.net.signallingUp = false;
    const p = w.host().catch((e: unknown) => e);
    await w.clock.advanceAsync(10_000);
    expect(await p).toMatchObject({ code: 'open-timeout' });
    expect(w.net.created[0]!.destroyed).toBe(true);
  });

  it('the coordinator re-registers after losing the signalling server, keeping its links', async () => {
    const w = (current = world());
    const states: string[] = [];
    const h = await hostCoordinator({
      peerId: COORD, signal, iceServers: [], maxMessageBytes: 1 << 20, clock: w.clock, random: () => 0.5, createPeer: w.net.factory,
      onJoin: () => undefined, onMessage: () => undefined, onLeave: () => undefined, onSignalling: (s) => states.push(s),
    });
    w.cleanup.push(h);
    const l = w.learner('gus');
    await settle();
    w.net.signallingUp = false;
    coordPeer(w).dropSignalling();
    await w.clock.advanceAsync(30_000); // retries time out while the server is down
    expect(h.stats().signalling).not.toBe('open');
    w.net.signallingUp = true;
    await w.clock.advanceAsync(10_000);
    expect(h.stats().signalling).toBe('open');
    expect(states[0]).toBe('disconnected');
    expect(states).toContain('reconnecting');
    expect(h.stats().signallingReconnects).toBeGreaterThan(1);
    await h.send('gus', te.encode('still here'));
    await settle();
    expect(l.got).toEqual(['still here']);
  });
});
