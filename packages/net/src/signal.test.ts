/** The Node signalling server (../server/signal.ts) on an ephemeral port, driven over HTTP and raw WebSockets. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSignalling, type Signalling } from '../server/signal';

const requireFromPeer = createRequire(createRequire(import.meta.url).resolve('peer'));
const { WebSocket } = requireFromPeer('ws') as typeof import('ws');
type Ws = InstanceType<typeof WebSocket>;

interface Opened {
  ws: Ws;
  first: { type: string; payload?: { msg?: string } } | undefined;
  status?: number;
}

/** Opens a PeerJS-style signalling socket and returns the server's first message (OPEN, ERROR, …). */
const PAGE = { origin: 'http://127.0.0.1:5173' }; // every browser sends Origin; the server requires it

function register(s: Signalling, id: string, token: string, headers: Record<string, string> = PAGE): Promise<Opened> {
  const ws = new WebSocket(`ws://127.0.0.1:${s.port}/signal/peerjs?key=tabswarm&id=${encodeURIComponent(id)}&token=${token}&version=1.5.5`, { headers });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer within 3 s')), 3000);
    ws.once('message', (data) => { clearTimeout(timer); resolve({ ws, first: JSON.parse(String(data)) as Opened['first'] }); });
    ws.once('unexpected-response', (_req, res) => { clearTimeout(timer); resolve({ ws, first: undefined, status: res.statusCode }); });
    ws.once('error', () => undefined);
  });
}

const closed = (ws: Ws): Promise<number> => new Promise((resolve) => {
  if (ws.readyState === WebSocket.CLOSED) return resolve(-1);
  ws.once('close', (code) => resolve(code));
});

describe('signalling server', () => {
  let s: Signalling;
  const logs: string[] = [];
  beforeAll(async () => {
    s = await startSignalling({ port: 0, log: (l) => logs.push(l) });
  });
  afterAll(async () => {
    await s.close();
  });

  it('listens on an ephemeral port and hands out ids at GET /signal/tabswarm/id', async () => {
    expect(s.port).toBeGreaterThan(0);
    expect(s.url).toBe(`http://127.0.0.1:${s.port}/signal/tabswarm`);
    const res = await fetch(`${s.url}/id`, { headers: PAGE });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses discovery and every other route', async () => {
    expect((await fetch(`${s.url}/peers`, { headers: PAGE })).status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${s.port}/signal/otherkey/peers`, { headers: PAGE })).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${s.port}/signal/`, { headers: PAGE })).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${s.port}/`, { headers: PAGE })).status).toBe(404);
    expect((await fetch(`${s.url}/id`, { method: 'POST', headers: PAGE })).status).toBe(404);
  });

  it('answers CORS only for allowed page origins', async () => {
    const ok = await fetch(`${s.url}/id`, { headers: { origin: 'http://127.0.0.1:5173' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:5173');
    expect((await fetch(`${s.url}/id`, { headers: { origin: 'https://evil.example' } })).status).toBe(403);
    const ws = await register(s, 'learner-1', 'tok', { origin: 'https://evil.example' });
    expect(ws.status).toBe(403);
    // Before, a request without Origin (any non-browser client) was let through.
    expect((await fetch(`${s.url}/id`)).status).toBe(403);
    expect((await register(s, 'learner-2', 'tok', {})).status).toBe(403);
  });

  it('registers ordinary ids and refuses malformed ones with a PeerJS ERROR', async () => {
    const a = await register(s, 'alice-0123abcd', 'tok1');
    expect(a.first).toEqual({ type: 'OPEN' });
    const taken = await register(s, 'alice-0123abcd', 'tok2');
    expect(taken.first?.type).toBe('ID-TAKEN'); // PeerJS's own rule for a live id
    const bad = await register(s, 'bad id!', 'tok');
    expect(bad.first).toMatchObject({ type: 'ERROR' });
    expect(bad.first?.payload?.msg).toMatch(/not a valid peer id/);
    await closed(bad.ws);
    a.ws.close();
    await closed(a.ws);
    expect(s.stats().refused['invalid-id']).toBe(1);
  });

  it('pins a reserved coordinator id to the first token (trust on first use)', async () => {
    const id = 'tabswarm-coord-run7';
    const owner = await register(s, id, 'ownertoken');
    expect(owner.first).toEqual({ type: 'OPEN' });
    const thief = await register(s, id, 'thieftoken');
    expect(thief.first?.type).toBe('ERROR');
    expect(thief.first?.payload?.msg).toMatch(/reserved/);
    owner.ws.close();
    await closed(owner.ws);
    await new Promise((r) => setTimeout(r, 50));
    const thief2 = await register(s, id, 'thieftoken'); // the owner is gone, the pin is not
    expect(thief2.first?.type).toBe('ERROR');
    const back = await register(s, id, 'ownertoken'); // a reloaded coordinator reuses its token
    expect(back.first).toEqual({ type: 'OPEN' });
    back.ws.close();
    await closed(back.ws);
  });

  it('drops malformed and server-only messages, and closes sockets sending oversized frames', async () => {
    const a = await register(s, 'msg-tester', 'tok');
    const before = s.stats().refused['message-drop'] ?? 0;
    a.ws.send('not json');
    a.ws.send(JSON.stringify({ type: 'EXPIRE', dst: 'x' }));
    a.ws.send(JSON.stringify({ type: 'HEARTBEAT' }));
    await new Promise((r) => setTimeout(r, 100));
    expect(s.stats().refused['message-drop']).toBe(before + 2);
    expect(a.ws.readyState).toBe(WebSocket.OPEN);
    a.ws.send('x'.repeat(17 * 1024));
    expect(await closed(a.ws)).toBe(1009); // ws maxPayload (16 KiB): message too big
  });

  it('ignores a LEAVE without a destination: the sender stays registered while its socket is open', async () => {
    const a = await register(s, 'leaver-0123abcd', 'tok1');
    expect(a.first).toEqual({ type: 'OPEN' });
    const before = s.stats().refused['message-drop'] ?? 0;
    // Before: PeerJS unregistered the sender but kept its socket; the gate still counted the id online,
    // so frames for it skipped the offline-queue caps while PeerJS queued them, and the id was free to take.
    a.ws.send(JSON.stringify({ type: 'LEAVE' }));
    await new Promise((r) => setTimeout(r, 50));
    expect(s.stats().refused['message-drop']).toBe(before + 1);
    const other = await register(s, 'leaver-0123abcd', 'tok2');
    expect(other.first?.type).toBe('ID-TAKEN');
    a.ws.close();
    await closed(a.ws);
  });

  it('closes a socket whose client stopped reading once the server holds its cap for it', async () => {
    const lax = { burst: 1e9, perSecond: 1e9 }; // so only the send-buffer cap applies
    const t = await startSignalling({ port: 0, maxSendBufferBytes: 64 << 10, byteRate: lax, routeRate: lax });
    try {
      const sink = await register(t, 'sink-0123abcd', 'tok1');
      const sender = await register(t, 'sender-0123abcd', 'tok2');
      sink.ws.pause(); // reads nothing more: the kernel buffers fill, then the server's
      const frame = JSON.stringify({ type: 'CANDIDATE', dst: 'sink-0123abcd', payload: { candidate: 'a'.repeat(15_000) } });
      // Before: every frame stayed in the server's memory for as long as the sink held its socket open.
      for (let i = 0; i < 1800 && t.stats().online > 1; i++) {
        sender.ws.send(frame);
        if (i % 64 === 63) await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => setTimeout(r, 50));
      expect(t.stats().refused['slow-reader']).toBe(1);
      expect(t.stats().online).toBe(1); // the sink is gone, the sender is not
      sender.ws.close();
    } finally {
      await t.close();
    }
  });
});

describe('signalling server with a coordinator token', () => {
  it('lets only the configured token hold reserved ids', async () => {
    const s = await startSignalling({ port: 0, coordinatorToken: 'sekrit' });
    try {
      const wrong = await register(s, 'tabswarm-coord-x', 'guess');
      expect(wrong.first?.type).toBe('ERROR');
      const right = await register(s, 'tabswarm-coord-x', 'sekrit');
      expect(right.first).toEqual({ type: 'OPEN' });
      right.ws.close();
      await closed(right.ws);
    } finally {
      await s.close();
    }
  });

  it('checks the id PeerJS registers when the query repeats a parameter', async () => {
    const s = await startSignalling({ port: 0, coordinatorToken: 'sekrit' });
    try {
      // Before: admission read the first id (a learner's), PeerJS registered the last: the coordinator's id, no secret needed.
      const url = (q: string): string => `ws://127.0.0.1:${s.port}/signal/peerjs?${q}&version=1.5.5`;
      const ws = new WebSocket(url('key=tabswarm&id=learner-1&token=guess&id=tabswarm-coord-x'), { headers: PAGE });
      const first = await new Promise<Opened['first']>((resolve) => ws.once('message', (d) => resolve(JSON.parse(String(d)) as Opened['first'])));
      expect(first?.type).toBe('ERROR');
      expect(s.stats().online).toBe(0);
      const right = await register(s, 'tabswarm-coord-x', 'sekrit'); // the id stayed free for its operator
      expect(right.first).toEqual({ type: 'OPEN' });
      right.ws.close();
      await closed(right.ws);
    } finally {
      await s.close();
    }
  });

  it('limits connections per address, yet a coordinator with its pinned token always gets back in', async () => {
    const s = await startSignalling({ port: 0, connectRate: { burst: 5, perSecond: 0.001 }, concurrentLimit: 3 });
    try {
      const owner = await register(s, 'tabswarm-coord-run', 'ownertoken');
      expect(owner.first).toEqual({ type: 'OPEN' });
      const others: Opened[] = [];
      for (let i = 0; i < 6; i++) others.push(await register(s, `junk-${i}`, 'tok'));
      // The owner's first socket counts (nothing pinned yet): full after two more, then the rate (5 attempts) runs out.
      expect(others.map((o) => o.status ?? o.first?.type)).toEqual(['OPEN', 'OPEN', 429, 429, 429, 429]);
      owner.ws.close();
      await closed(owner.ws);
      const back = await register(s, 'tabswarm-coord-run', 'ownertoken'); // reloads: neither cap applies
      expect(back.first).toEqual({ type: 'OPEN' });
      expect(s.stats().refused).toMatchObject({ full: 2, 'connect-rate': 2 });
      for (const o of [...others, back]) o.ws.close();
    } finally {
      await s.close();
    }
  });

  it('holds one exempt socket per coordinator id: its pin is no licence for unlimited sockets', async () => {
    // The id's own connect rate lets all 20 reconnects in: this is about the sockets they leave open.
    const s = await startSignalling({ port: 0, connectRate: { burst: 3, perSecond: 0.001 }, coordinatorConnectRate: { burst: 20, perSecond: 0.001 }, concurrentLimit: 3, maxSocketsPerIp: 3 });
    try {
      const owner = await register(s, 'tabswarm-coord-own', 'mytoken'); // anyone may pin an id of its own
      expect(owner.first).toEqual({ type: 'OPEN' });
      // Before: each reconnect with the pinned token skipped rate and caps, and PeerJS left the
      // replaced socket open, so one address held as many sockets as it opened.
      const url = `ws://127.0.0.1:${s.port}/signal/peerjs?key=tabswarm&id=tabswarm-coord-own&token=mytoken&version=1.5.5`;
      const more: Ws[] = [];
      for (let i = 0; i < 20; i++) {
        const ws = new WebSocket(url, { headers: PAGE });
        await new Promise((r) => ws.once('open', r));
        more.push(ws);
      }
      await new Promise((r) => setTimeout(r, 100));
      expect(s.stats().sockets).toBe(1); // the newest: PeerJS relays for the id through it alone
      expect(more.at(-1)!.readyState).toBe(WebSocket.OPEN);
      expect(s.stats().online).toBe(1); // still registered: closing the replaced sockets did not unregister the id
      for (const ws of [owner.ws, ...more]) ws.close();
    } finally {
      await s.close();
    }
  });

  it('rate-limits reconnects per coordinator id, in a bucket that only its token spends', async () => {
    const s = await startSignalling({ port: 0, coordinatorConnectRate: { burst: 3, perSecond: 0.001 } });
    const reconnect = async (id: string, token: string): Promise<string | number | undefined> => {
      const r = await register(s, id, token);
      r.ws.close();
      await closed(r.ws);
      return r.status ?? r.first?.type;
    };
    try {
      expect(await reconnect('tabswarm-coord-churn', 'mytoken')).toBe('OPEN'); // pins it: the address's rate, not the id's
      // A stranger without the token is refused by the pin and spends nothing of the id's bucket.
      for (let i = 0; i < 10; i++) expect(await reconnect('tabswarm-coord-churn', 'guess')).toBe('ERROR');
      // Before: every reconnect with the pinned token skipped every rate: handshakes at any rate.
      const back: Array<string | number | undefined> = [];
      for (let i = 0; i < 4; i++) back.push(await reconnect('tabswarm-coord-churn', 'mytoken'));
      expect(back).toEqual(['OPEN', 'OPEN', 'OPEN', 429]);
      expect(s.stats().refused['coordinator-rate']).toBe(1);
      // Another id's bucket is its own, from the same address.
      expect(await reconnect('tabswarm-coord-calm', 'other')).toBe('OPEN');
      expect(await reconnect('tabswarm-coord-calm', 'other')).toBe('OPEN');
    } finally {
      await s.close();
    }
  });

  it('keeps pins in a file across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pins-'));
    const pinsFile = join(dir, 'pins.json');
    const a = await startSignalling({ port: 0, pinsFile });
    const owner = await register(a, 'tabswarm-coord-p', 'ownertoken');
    expect(owner.first).toEqual({ type: 'OPEN' });
    await a.close(); // flushes the pins
    expect(readFileSync(pinsFile, 'utf8')).not.toContain('ownertoken');
    const b = await startSignalling({ port: 0, pinsFile });
    try {
      const thief = await register(b, 'tabswarm-coord-p', 'thieftoken'); // before: pins lived in memory, a restart freed the id
      expect(thief.first?.payload?.msg).toMatch(/reserved/);
      const back = await register(b, 'tabswarm-coord-p', 'ownertoken');
      expect(back.first).toEqual({ type: 'OPEN' });
      back.ws.close();
    } finally {
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails cleanly when the port is taken', async () => {
    const a = await startSignalling({ port: 0 });
    try {
      await expect(startSignalling({ port: a.port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await a.close();
    }
  });
});
