/** Pure policies of the signalling server (../server/admission.ts, gate.ts, sockets.ts) on a fake clock. */
import { describe, expect, it } from 'vitest';
import { Admission, clientAddressOf, originAllowed } from '../server/admission';
import { gateMessage, KeyedBuckets, OfflineQueueLimiter, TokenBucket } from '../server/gate';
import { SocketBudget } from '../server/sockets';
import { FakeClock } from '../test/fake-clock';

const policy = { prefix: 'tabswarm-coord-', pinIdleMs: 60_000, maxPins: 3, maxPinsPerAddress: 2 };
const IP = '10.0.0.1';

describe('Admission', () => {
  it('checks id and token syntax', () => {
    const a = new Admission(policy, () => 0);
    expect(a.check('alice-1', 'tok', IP).ok).toBe(true);
    expect(a.check('bad id!', 'tok', IP)).toMatchObject({ ok: false, reason: 'invalid-id' });
    expect(a.check('x'.repeat(129), 'tok', IP)).toMatchObject({ ok: false, reason: 'invalid-id' });
    expect(a.check('alice', 'to"k', IP)).toMatchObject({ ok: false, reason: 'invalid-token' });
  });

  it('pins a reserved id to its first token while online and for pinIdleMs after', () => {
    const clock = new FakeClock();
    const a = new Admission(policy, () => clock.now());
    const id = 'tabswarm-coord-r';
    expect(a.check(id, 'owner', IP)).toEqual({ ok: true, coordinator: false });
    a.connected(id, 'owner', IP);
    expect(a.check(id, 'other', '10.0.0.2')).toMatchObject({ ok: false, reason: 'reserved-id' });
    clock.advance(10 * 60_000); // online pins never expire
    expect(a.check(id, 'other', '10.0.0.2').ok).toBe(false);
    a.disconnected(id);
    clock.advance(59_999);
    expect(a.check(id, 'other', '10.0.0.2').ok).toBe(false);
    expect(a.check(id, 'owner', IP)).toEqual({ ok: true, coordinator: true }); // exempt from socket caps
    clock.advance(1);
    expect(a.check(id, 'other', '10.0.0.2').ok).toBe(true); // abandoned: a new coordinator may take the run id
  });

  it('with an operator secret, only that token holds reserved ids', () => {
    const a = new Admission({ ...policy, token: 'sekrit' }, () => 0);
    expect(a.check('tabswarm-coord-r', 'sekrit', IP)).toEqual({ ok: true, coordinator: true });
    expect(a.check('tabswarm-coord-r', 'sekrit2', IP).ok).toBe(false);
    expect(a.check('alice', 'anything', IP)).toEqual({ ok: true, coordinator: false });
  });

  it('never pushes out a live pin: junk reserved ids are refused per address and when the table is full', () => {
    // Before: 10,001 junk ids evicted the offline owner's pin (oldest offline first), and the id was free to take.
    const clock = new FakeClock();
    const a = new Admission({ ...policy, maxPinsPerAddress: 16 }, () => clock.now());
    a.connected('tabswarm-coord-demo', 'owner', IP);
    a.disconnected('tabswarm-coord-demo'); // the coordinator reloads
    let pinned = 0, perAddress = 0, full = 0;
    for (let i = 0; i < 10_001; i++) {
      const addr = `10.1.${i >> 8}.${i & 255}`, id = `tabswarm-coord-junk${i}`;
      const v = a.check(id, 'junk', addr);
      if (v.ok) { a.connected(id, 'junk', addr); a.disconnected(id); pinned++; }
      else if (v.reason === 'pins-full') full++;
      else perAddress++;
    }
    expect(pinned).toBe(2); // maxPins 3: the owner keeps its place
    expect(full + perAddress).toBe(9_999);
    expect(a.check('tabswarm-coord-demo', 'thief', '10.9.9.9')).toMatchObject({ ok: false, reason: 'reserved-id' });
    expect(a.check('tabswarm-coord-demo', 'owner', IP)).toEqual({ ok: true, coordinator: true });
    const one = new Admission(policy, () => 0);
    for (const r of ['a', 'b']) one.connected(`tabswarm-coord-${r}`, 't', IP);
    expect(one.check('tabswarm-coord-c', 't', IP)).toMatchObject({ ok: false, reason: 'pin-limit' });
  });

  it('forgets expired pins to make room, and restores saved pins as offline', () => {
    const clock = new FakeClock();
    const a = new Admission(policy, () => clock.now());
    for (const r of ['a', 'b', 'c']) { a.connected(`tabswarm-coord-${r}`, 't', r); a.disconnected(`tabswarm-coord-${r}`); }
    expect(a.check('tabswarm-coord-d', 't', 'd')).toMatchObject({ ok: false, reason: 'pins-full' });
    clock.advance(60_000);
    expect(a.check('tabswarm-coord-d', 't', 'd').ok).toBe(true);
    expect(a.pinned).toBe(0);
    const b = new Admission(policy, () => clock.now());
    b.connected('tabswarm-coord-x', 'owner', IP);
    const saved = b.snapshot();
    expect(JSON.stringify(saved)).not.toContain('owner'); // a hash, never the token
    const restarted = new Admission(policy, () => clock.now(), saved);
    expect(restarted.check('tabswarm-coord-x', 'thief', '10.9.9.9')).toMatchObject({ ok: false, reason: 'reserved-id' });
    expect(restarted.check('tabswarm-coord-x', 'owner', IP)).toEqual({ ok: true, coordinator: true });
  });

  it('a pin online when saved gets its full pinIdleMs from the restart, however long ago its holder connected', () => {
    const clock = new FakeClock();
    const a = new Admission(policy, () => clock.now());
    a.connected('tabswarm-coord-long', 'owner', IP);
    clock.advance(2 * 60_000); // a run longer than pinIdleMs, its coordinator online throughout
    const restarted = new Admission(policy, () => clock.now(), a.snapshot());
    // Before: the saved lastSeen was the connect time, so the restored (offline) pin had expired at once.
    expect(restarted.check('tabswarm-coord-long', 'thief', '10.9.9.9')).toMatchObject({ ok: false, reason: 'reserved-id' });
    clock.advance(59_999);
    expect(restarted.check('tabswarm-coord-long', 'thief', '10.9.9.9').ok).toBe(false);
    clock.advance(1);
    expect(restarted.check('tabswarm-coord-long', 'thief', '10.9.9.9').ok).toBe(true); // never came back
  });
});

describe('SocketBudget', () => {
  it('four full addresses cannot lock out a fifth: the heaviest gives way to it', () => {
    // Before: 1,000 total and 256 per address, so four addresses locked everyone else out.
    const b = new SocketBudget<string>({ maxTotal: 1000, maxPerAddress: 256 });
    for (const ip of ['a', 'b', 'c', 'd']) for (let i = 0; i < 250; i++) { expect(b.admit(ip).ok).toBe(true); b.add(ip, `${ip}${i}`, false); }
    expect(b.admit('a')).toEqual({ ok: false, reason: 'full' }); // a heavy address cannot grow further
    const v = b.admit('e');
    expect(v).toEqual({ ok: true, evict: 'a249' });
    b.remove('a', 'a249');
    b.add('e', 'e0', false);
    expect(b.sockets).toBe(1000);
    expect(b.admit('x')).toMatchObject({ ok: true });
  });

  it('caps sockets per address and never counts exempt (coordinator) sockets', () => {
    const b = new SocketBudget<number>({ maxTotal: 2, maxPerAddress: 2 });
    b.add('a', 1, false);
    b.add('a', 2, false);
    expect(b.admit('a')).toEqual({ ok: false, reason: 'per-ip' });
    b.add('a', 3, true);
    expect(b.sockets).toBe(2);
    expect(b.admit('b')).toEqual({ ok: true, evict: 2 });
    b.remove('a', 1);
    b.remove('a', 1); // twice: no-op
    expect(b.sockets).toBe(1);
  });
});

describe('originAllowed', () => {
  it('requires an Origin; allows loopback pages and same-host pages by default', () => {
    expect(originAllowed(undefined, '127.0.0.1:9000', undefined)).toBe(false); // no Origin: not a page; before, allowed
    expect(originAllowed('http://localhost:5173', '127.0.0.1:9000', undefined)).toBe(true);
    expect(originAllowed('http://127.0.0.1:4173', '127.0.0.1:9000', undefined)).toBe(true);
    expect(originAllowed('https://192.168.1.5:4173', '192.168.1.5:9000', undefined)).toBe(true);
    expect(originAllowed('https://evil.example', '192.168.1.5:9000', undefined)).toBe(false);
    // DNS rebinding: a page on a name that now resolves to this machine; Origin and Host agree. Before, allowed.
    expect(originAllowed('http://rebind.example:9000', 'rebind.example:9000', undefined)).toBe(false);
    expect(originAllowed('https://[fd00::5]:4173', '[fd00::5]:9000', undefined)).toBe(true);
    expect(originAllowed('null', '127.0.0.1:9000', undefined)).toBe(false);
  });

  it('uses the allow-list exactly when given', () => {
    expect(originAllowed('http://localhost:5173', 'x', ['https://swarm.example'])).toBe(false);
    expect(originAllowed('https://swarm.example', 'x', ['https://swarm.example'])).toBe(true);
    expect(originAllowed('https://any.example', 'x', ['*'])).toBe(true);
  });
});

describe('message gate', () => {
  it('TokenBucket allows a burst, then refills at its rate', () => {
    const clock = new FakeClock();
    const b = new TokenBucket(3, 2, () => clock.now());
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
    clock.advance(500);
    expect([b.take(), b.take()]).toEqual([true, false]);
  });

  it('KeyedBuckets keeps one bucket per address and stays bounded', () => {
    const clock = new FakeClock();
    const k = new KeyedBuckets(2, 1, 2, () => clock.now());
    expect([k.take('a'), k.take('a'), k.take('a'), k.take('b')]).toEqual([true, true, false, true]);
    expect(k.take('c')).toBe(false); // two addresses tracked, neither refilled
    clock.advance(2000);
    expect(k.take('c')).toBe(true); // refilled buckets are forgotten
    expect(k.size).toBe(1);
  });

  it('caps messages and bytes queued for offline destinations within the window', () => {
    const clock = new FakeClock();
    const q = new OfflineQueueLimiter({ maxPerDestination: 2, maxTotalBytes: 1000, windowMs: 5000, maxDestinations: 100 }, () => clock.now());
    expect([q.allow('x', 10), q.allow('x', 10), q.allow('x', 10)]).toEqual([true, true, false]);
    clock.advance(5000);
    expect(q.allow('x', 10)).toBe(true);
    q.allow('x', 10);
    q.online('x'); // its queue was flushed
    expect(q.allow('x', 10)).toBe(true);
    expect(q.allow('y', 600)).toBe(true);
    expect(q.allow('z', 600)).toBe(false); // 1,000 bytes in all
    expect(q.queuedBytes).toBe(610);
    clock.advance(5000);
    expect(q.allow('z', 600)).toBe(true);
  });

  it('passes client message types, drops the rest and what exceeds the byte rate, flags floods', () => {
    const clock = new FakeClock();
    const o = {
      bucket: new TokenBucket(10, 1, () => clock.now()), bytes: new TokenBucket(400, 100, () => clock.now()),
      queue: new OfflineQueueLimiter({ maxPerDestination: 1, maxTotalBytes: 1 << 20, windowMs: 5000, maxDestinations: 10 }, () => clock.now()), isOnline: (id: string) => id === 'on',
      routes: new KeyedBuckets(1 << 20, 1 << 20, 10, () => clock.now()), address: IP,
    };
    expect(gateMessage('{"type":"HEARTBEAT"}', o)).toBe('pass');
    expect(gateMessage('{"type":"OFFER","dst":"on","payload":{}}', o)).toBe('pass');
    expect(gateMessage('{"type":"OFFER","dst":"off"}', o)).toBe('pass');
    expect(gateMessage('{"type":"CANDIDATE","dst":"off"}', o)).toBe('drop'); // second for an offline id
    expect(gateMessage('{"type":"OPEN"}', o)).toBe('drop');
    expect(gateMessage('{"type":"OFFER"}', o)).toBe('drop');
    expect(gateMessage('[1,2]', o)).toBe('drop');
    expect(gateMessage('nope', o)).toBe('drop');
    // 400 bytes per socket at once: a big frame to an online peer is dropped, not relayed.
    expect(gateMessage(JSON.stringify({ type: 'CANDIDATE', dst: 'on', payload: 'x'.repeat(300) }), o)).toBe('drop');
    clock.advance(4000);
    expect(gateMessage(JSON.stringify({ type: 'CANDIDATE', dst: 'on', payload: 'x'.repeat(300) }), o)).toBe('pass');
    for (let i = 0; i < 4; i++) gateMessage('{"type":"HEARTBEAT"}', o);
    expect(gateMessage('{"type":"HEARTBEAT"}', o)).toBe('abuse');
  });

  it('drops a LEAVE without a destination (PeerJS would unregister the sender, its socket still open)', () => {
    const now = (): number => 0;
    const o = {
      bucket: new TokenBucket(10, 1, now), bytes: new TokenBucket(400, 100, now), routes: new KeyedBuckets(1000, 100, 10, now), address: IP,
      queue: new OfflineQueueLimiter({ maxPerDestination: 1, maxTotalBytes: 1000, windowMs: 5000, maxDestinations: 10 }, now), isOnline: () => true,
    };
    expect(gateMessage('{"type":"LEAVE"}', o)).toBe('drop');
    expect(gateMessage('{"type":"LEAVE","dst":""}', o)).toBe('drop');
    expect(gateMessage('{"type":"LEAVE","dst":"peer-1"}', o)).toBe('pass'); // relayed: the peer drops its links to the sender
  });

  it('bounds the bytes one address sends one destination, over all its sockets; other routes are untouched', () => {
    const clock = new FakeClock();
    const now = (): number => clock.now();
    const routes = new KeyedBuckets(1000, 100, 10, now); // 1,000 bytes at once per (address, destination), 100/s
    const queue = new OfflineQueueLimiter({ maxPerDestination: 100, maxTotalBytes: 1 << 20, windowMs: 5000, maxDestinations: 10 }, now);
    const socket = (address: string) => ({ bucket: new TokenBucket(100, 100, now), bytes: new TokenBucket(1 << 20, 1 << 20, now), queue, routes, address, isOnline: () => true });
    const frame = (dst: string): string => JSON.stringify({ type: 'CANDIDATE', dst, payload: 'x'.repeat(150 - 42 - dst.length) });
    expect(frame('coord')).toHaveLength(150);
    const sockets = [socket(IP), socket(IP), socket(IP)];
    // Six frames of 150 bytes fit in 1,000; the seventh from any socket of the address is dropped.
    const verdicts = Array.from({ length: 7 }, (_, i) => gateMessage(frame('coord'), sockets[i % 3]!));
    expect(verdicts).toEqual(['pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'drop']);
    expect(gateMessage(frame('other'), sockets[0]!)).toBe('pass'); // another destination
    expect(gateMessage(frame('coord'), socket('10.0.0.2'))).toBe('pass'); // another address
    expect(gateMessage('{"type":"HEARTBEAT"}', sockets[1]!)).toBe('pass'); // no destination: per-socket limits only
    clock.advance(1500); // 150 bytes refilled
    expect(gateMessage(frame('coord'), sockets[2]!)).toBe('pass');
  });
});

describe('clientAddressOf', () => {
  it('behind a proxy counts the hop the proxy appended, never one the client wrote', () => {
    // The client sent "X-Forwarded-For: 6.6.6.6"; the proxy appended the real address. Before, 6.6.6.6 counted.
    expect(clientAddressOf('6.6.6.6, 203.0.113.7', '10.0.0.1', true)).toBe('203.0.113.7');
    expect(clientAddressOf('203.0.113.7', '10.0.0.1', true)).toBe('203.0.113.7');
    expect(clientAddressOf(undefined, '10.0.0.1', true)).toBe('10.0.0.1');
    expect(clientAddressOf('6.6.6.6', '10.0.0.1', false)).toBe('10.0.0.1'); // not proxied: the header is ignored
  });
});
