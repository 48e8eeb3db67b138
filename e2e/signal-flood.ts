/**
 * Attackers on the signalling server, from Node: raw PeerJS-style WebSockets, with the Origin a page
 * would send (a non-browser client can forge it; the server's limits must hold anyway).
 */
import { createRequire } from 'node:module';

const requireFromPeer = createRequire(createRequire(import.meta.url).resolve('peer'));
const { WebSocket } = requireFromPeer('ws') as typeof import('ws');
type Ws = InstanceType<typeof WebSocket>;

export interface Target {
  /** host:port of the signalling server (a `signal=` value). */
  signal: string;
  /** The Origin header to send (the page server's). */
  origin: string;
}

const url = (t: Target, id: string, token: string): string => `ws://${t.signal}/signal/peerjs?key=tabswarm&id=${encodeURIComponent(id)}&token=${token}&version=1.5.5`;

/** Opens one registration; resolves with the server's first word ('OPEN', 'ERROR', 'ID-TAKEN') or the HTTP status. */
export function register(t: Target, id: string, token: string): Promise<{ ws: Ws; outcome: string }> {
  const ws = new WebSocket(url(t, id, token), { headers: { origin: t.origin } });
  return new Promise((resolve) => {
    const timer = setTimeout(() => { ws.terminate(); resolve({ ws, outcome: 'timeout' }); }, 10_000);
    ws.once('message', (data) => { clearTimeout(timer); resolve({ ws, outcome: String((JSON.parse(String(data)) as { type: string }).type) }); });
    ws.once('unexpected-response', (_req, res) => { clearTimeout(timer); resolve({ ws, outcome: `http-${res.statusCode}` }); });
    ws.once('error', () => { clearTimeout(timer); resolve({ ws, outcome: 'error' }); });
  });
}

/** `n` registrations, `parallel` at a time, each closed once answered: outcomes counted, and the ids that got in. */
export async function junkRegistrations(t: Target, n: number, idOf: (i: number) => string, parallel = 64): Promise<{ counts: Record<string, number>; opened: Set<string> }> {
  const counts: Record<string, number> = {};
  const opened = new Set<string>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++, id = idOf(i);
      const { ws, outcome } = await register(t, id, `junk${i}`);
      counts[outcome] = (counts[outcome] ?? 0) + 1;
      if (outcome === 'OPEN') opened.add(id);
      ws.terminate();
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return { counts, opened };
}

function written(ws: Ws, frame: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the signalling server read nothing for 60 s')), 60_000);
    ws.send(frame, () => { clearTimeout(timer); resolve(); }); // an error closes the socket: the loop then ends
  });
}

/** Sends `frames` CANDIDATE messages of `bytes` each to `dst`, each for a connection id `dst` never opened. */
export async function candidateFlood(t: Target, dst: string, frames: number, bytes: number): Promise<{ sent: number; closedEarly: boolean }> {
  const { ws, outcome } = await register(t, `flooder-${Date.now().toString(36)}`, 'floodtoken');
  if (outcome !== 'OPEN') throw new Error(`the flooder could not register: ${outcome}`);
  const filler = 'a'.repeat(bytes);
  let sent = 0;
  for (; sent < frames && ws.readyState === WebSocket.OPEN; sent++) {
    const frame = JSON.stringify({ type: 'CANDIDATE', dst, payload: { type: 'data', connectionId: `dc_flood${sent}`, candidate: { candidate: filler } } });
    // Backpressure: every 64th frame waits until it is written out (≈4 MB in flight at most), with a deadline.
    if (sent % 64 === 63) await written(ws, frame);
    else if (sent % 1000 === 0) ws.send('{"type":"HEARTBEAT"}'); // the server drops clients silent for 60 s
    else ws.send(frame);
  }
  const closedEarly = ws.readyState !== WebSocket.OPEN;
  ws.close();
  return { sent, closedEarly };
}

/** Registers, sends one CANDIDATE of `bytes`, and resolves with the code the server closed the socket with. */
export async function closeCodeForFrame(t: Target, dst: string, bytes: number): Promise<number> {
  const { ws, outcome } = await register(t, `big-${Date.now().toString(36)}`, 'bigtoken');
  if (outcome !== 'OPEN') throw new Error(`could not register: ${outcome}`);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { ws.terminate(); reject(new Error('the server kept the socket open for 10 s')); }, 10_000);
    ws.once('close', (code) => { clearTimeout(timer); resolve(code); });
    ws.send(JSON.stringify({ type: 'CANDIDATE', dst, payload: { type: 'data', connectionId: 'dc_big', candidate: { candidate: 'a'.repeat(bytes) } } }));
  });
}
