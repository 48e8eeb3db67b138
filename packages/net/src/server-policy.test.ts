/** Pure policies of the signalling server (../server/admission.ts, ../server/gate.ts) on a fake clock. */
import { describe, expect, it } from 'vitest';
import { Admission, originAllowed } from '../server/admission';
import { gateMessage, OfflineQueueLimiter, TokenBucket } from '../server/gate';
import { FakeClock } from '../test/fake-clock';

const policy = { prefix: 'tabswarm-coord-', pinIdleMs: 60_000, maxPins: 3 };

describe('Admission', () => {
  it('checks id and token syntax', () => {
    const a = new Admission(policy, () => 0);
    expect(a.check('alice-1', 'tok').ok).toBe(true);
    expect(a.check('bad id!', 'tok')).toMatchObject({ ok: false, reason: 'invalid-id' });
    expect(a.check('x'.repeat(129), 'tok')).toMatchObject({ ok: false, reason: 'invalid-id' });
    expect(a.check('alice', 'to"k')).toMatchObject({ ok: false, reason: 'invalid-token' });
  });

  it('pins a reserved id to its first token while online and for pinIdleMs after', () => {
    const clock = new FakeClock();
    const a = new Admission(policy, () => clock.now());
    const id = 'tabswarm-coord-r';
    expect(a.check(id, 'owner').ok).toBe(true);
    a.connected(id, 'owner');
    expect(a.check(id, 'other')).toMatchObject({ ok: false, reason: 'reserved-id' });
    clock.advance(10 * 60_000); // online pins never expire
    expect(a.check(id, 'other').ok).toBe(false);
    a.disconnected(id);
    clock.advance(59_999);
    expect(a.check(id, 'other').ok).toBe(false);
    expect(a.check(id, 'owner').ok).toBe(true);
    clock.advance(1);
    expect(a.check(id, 'other').ok).toBe(true); // abandoned: a new coordinator may take the run id
  });

  it('with a configured token, only that token holds reserved ids', () => {
    const a = new Admission({ ...policy, token: 'sekrit' }, () => 0);
    expect(a.check('tabswarm-coord-r', 'sekrit').ok).toBe(true);
    expect(a.check('tabswarm-coord-r', 'sekrit2').ok).toBe(false);
    expect(a.check('alice', 'anything').ok).toBe(true);
  });

  it('forgets the oldest offline pins beyond maxPins', () => {
    const a = new Admission(policy, () => 0);
    for (const r of ['a', 'b', 'c', 'd', 'e']) {
      a.connected(`tabswarm-coord-${r}`, 't');
      a.disconnected(`tabswarm-coord-${r}`);
    }
    expect(a.pinned).toBe(3);
  });
});

describe('originAllowed', () => {
  it('allows non-browser clients, loopback pages and same-host pages by default', () => {
    expect(originAllowed(undefined, '127.0.0.1:9000', undefined)).toBe(true);
    expect(originAllowed('http://localhost:5173', '127.0.0.1:9000', undefined)).toBe(true);
    expect(originAllowed('http://127.0.0.1:4173', '127.0.0.1:9000', undefined)).toBe(true);
    expect(originAllowed('https://192.168.1.5:4173', '192.168.1.5:9000', undefined)).toBe(true);
    expect(originAllowed('https://evil.example', '192.168.1.5:9000', undefined)).toBe(false);
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

  it('caps messages queued for an offline destination within the window', () => {
    const clock = new FakeClock();
    const q = new OfflineQueueLimiter(2, 5000, 100, () => clock.now());
    expect([q.allow('x'), q.allow('x'), q.allow('x')]).toEqual([true, true, false]);
    clock.advance(5000);
    expect(q.allow('x')).toBe(true);
    q.allow('x');
    q.online('x'); // its queue was flushed
    expect(q.allow('x')).toBe(true);
  });

  it('passes client message types, drops the rest, flags floods', () => {
    const clock = new FakeClock();
    const o = { bucket: new TokenBucket(10, 1, () => clock.now()), queue: new OfflineQueueLimiter(1, 5000, 10, () => clock.now()), isOnline: (id: string) => id === 'on' };
    expect(gateMessage('{"type":"HEARTBEAT"}', o)).toBe('pass');
    expect(gateMessage('{"type":"OFFER","dst":"on","payload":{}}', o)).toBe('pass');
    expect(gateMessage('{"type":"OFFER","dst":"off"}', o)).toBe('pass');
    expect(gateMessage('{"type":"CANDIDATE","dst":"off"}', o)).toBe('drop'); // second for an offline id
    expect(gateMessage('{"type":"OPEN"}', o)).toBe('drop');
    expect(gateMessage('{"type":"OFFER"}', o)).toBe('drop');
    expect(gateMessage('[1,2]', o)).toBe('drop');
    expect(gateMessage('nope', o)).toBe('drop');
    for (let i = 0; i < 5; i++) gateMessage('{"type":"HEARTBEAT"}', o);
    expect(gateMessage('{"type":"HEARTBEAT"}', o)).toBe('abuse');
  });
});
