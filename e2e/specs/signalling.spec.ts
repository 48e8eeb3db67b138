import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { coordinatorPeerId } from '../../packages/net/src/ids';
import { startSignalling, type Signalling, type SignallingOptions } from '../../packages/net/server/signal';
import { expect, test, type CoordinatorView, type Swarm } from '@tabswarm/testing';
import { candidateFlood, closeCodeForFrame, junkRegistrations, register, type Target } from '../signal-flood';

// Issue 10, parts 5 and 6: the signalling server and the coordinator's PeerJS under attack. Each test
// has its own signalling server (the pages still come from the fixture's), because the attacks use up
// 127.0.0.1's connection budget.
const FRAMES = 20_000;
const fast = { workload: 'digits', P: '2', H: '8', evalMs: '3000', tokens: '200000' };

async function heapBytes(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  const u = await cdp.send('Runtime.getHeapUsage') as { usedSize: number; embedderHeapUsedSize?: number; backingStorageSize?: number };
  await cdp.detach();
  return u.usedSize + (u.embedderHeapUsedSize ?? 0) + (u.backingStorageSize ?? 0); // ArrayBuffer backing stores included
}

async function ownSignalling(o: SignallingOptions = {}): Promise<Signalling> {
  return startSignalling({ port: 0, ...o });
}

const targetOf = (swarm: Swarm, s: Signalling): Target => ({ signal: `127.0.0.1:${s.port}`, origin: new URL(swarm.stack.baseUrl).origin });

/** Junk ids: reserved ones, the run's own coordinator id (a thief), and ordinary ones, in turn. */
const junkId = (runId: string) => (i: number): string => (i % 3 === 0 ? `tabswarm-coord-junk${i}` : i % 3 === 1 ? coordinatorPeerId(runId) : `junk-${i}`);

async function reloadUnderFlood(swarm: Swarm, coord: Page, target: Target): Promise<{ junk: Record<string, number>; opened: Set<string>; after: CoordinatorView }> {
  const before = await swarm.status<CoordinatorView>(coord);
  const t0 = Date.now();
  const flood = junkRegistrations(target, 10_001, junkId(swarm.run.run!));
  await coord.reload();
  const { counts: junk, opened } = await flood;
  expect(opened.has(coordinatorPeerId(swarm.run.run!)), 'no thief took the coordinator id').toBe(false);
  // The connection rate per address (128 at once, then 8/s) bounds what got past the upgrade at all.
  const upgraded = 10_001 - (junk['http-429'] ?? 0) - (junk.timeout ?? 0) - (junk.error ?? 0);
  expect(upgraded).toBeLessThanOrEqual(128 + 8 * ((Date.now() - t0) / 1000) + 8);
  const after = await swarm.until<CoordinatorView>(coord, (c) => c.state !== 'starting', 'the reloaded coordinator', 60_000);
  expect(after.state, after.error).toBe('running');
  expect(after.epoch).toBe(before.epoch + 1);
  // It got its id back: learners find it again through signalling, and it commits.
  await swarm.until<CoordinatorView>(coord, (c) => c.firstCommitAfterStartMs !== null, 'a commit by the reloaded coordinator', 90_000);
  return { junk, opened, after };
}

test('10,001 junk registrations while the coordinator reloads: it gets its id back, and its pin survives a signalling restart', async ({ swarm }) => {
  test.setTimeout(400_000);
  const dir = mkdtempSync(join(tmpdir(), 'tabswarm-pins-'));
  let signal = await ownSignalling({ pinsFile: join(dir, 'pins.json') });
  try {
    const target = targetOf(swarm, signal);
    const coord = await swarm.coordinator({ ...fast, signal: target.signal });
    await swarm.learner({ workload: 'digits', backend: 'wasm', signal: target.signal });
    await swarm.until<CoordinatorView>(coord, (c) => c.commitSeq >= 2, 'two commits', 180_000);
    const { junk } = await reloadUnderFlood(swarm, coord, target);
    console.log(`junk registrations during the reload: ${JSON.stringify(junk)}; server refused ${JSON.stringify(signal.stats().refused)}`);
    // A restart with the same pin file: the coordinator id still belongs to its token. Before, pins lived
    // in memory, and whoever registered first after a restart took the id.
    const port = signal.port;
    await signal.close();
    signal = await ownSignalling({ port, pinsFile: join(dir, 'pins.json') });
    const thief = await register(target, coordinatorPeerId(swarm.run.run!), 'thieftoken');
    thief.ws.terminate();
    expect(thief.outcome).not.toBe('OPEN');
    const c0 = (await swarm.status<CoordinatorView>(coord)).commitSeq;
    await swarm.until<CoordinatorView>(coord, (c) => c.commitSeq >= c0 + 2, 'commits after the signalling restart', 90_000);
  } finally {
    await signal.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with the operator secret (npm start), only the coordinator holding it registers its id, also under 10,001 junk registrations', async ({ swarm, browser }) => {
  test.setTimeout(400_000);
  const secret = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
  const signal = await ownSignalling({ coordinatorToken: secret });
  const context = await browser.newContext();
  try {
    const target = targetOf(swarm, signal);
    // The squatter comes first; before, trust on first use gave it the id.
    const squat = await register(target, coordinatorPeerId(swarm.run.run!), 'squattertoken');
    squat.ws.terminate();
    expect(squat.outcome).toBe('ERROR');
    const coord = await context.newPage();
    const q = new URLSearchParams({ ...swarm.run, ...fast, signal: target.signal });
    await coord.goto(`${swarm.stack.baseUrl}/coordinator/?${q}#op=${secret}`);
    const started = await swarm.until<CoordinatorView>(coord, (c) => c.state !== 'starting', 'the coordinator', 120_000);
    expect(started.state, started.error).toBe('running');
    expect(new URL(coord.url()).hash, 'the secret leaves the address bar').toBe('');
    await swarm.learner({ workload: 'digits', backend: 'wasm', signal: target.signal });
    await swarm.until<CoordinatorView>(coord, (c) => c.commitSeq >= 2, 'two commits', 180_000);
    const { junk, opened } = await reloadUnderFlood(swarm, coord, target); // the reload reads the secret from localStorage
    console.log(`junk registrations during the reload (operator secret): ${JSON.stringify(junk)}`);
    expect([...opened].filter((id) => id.startsWith('tabswarm-coord-')), 'no junk registered a coordinator id').toEqual([]);
  } finally {
    await context.close();
    await signal.close();
  }
});

test('20,000 CANDIDATE frames of 60 KB for unknown connections: the coordinator holds none of them and keeps committing', async ({ swarm }) => {
  test.setTimeout(600_000);
  // A lax server (no frame, rate, byte or send-buffer bounds) stands for any signalling server: the bound is in the page.
  const lax = await ownSignalling({ maxPayloadBytes: 1 << 20, rate: { burst: 1e9, perSecond: 1e9 }, byteRate: { burst: 1e12, perSecond: 1e12 }, routeRate: { burst: 1e12, perSecond: 1e12 }, maxSendBufferBytes: 1e12 });
  const strict = await ownSignalling();
  try {
    const target = targetOf(swarm, lax);
    const coord = await swarm.coordinator({ ...fast, signal: target.signal });
    await swarm.learner({ workload: 'digits', backend: 'wasm', signal: target.signal });
    await swarm.until<CoordinatorView>(coord, (c) => c.commitSeq >= 2, 'two commits', 180_000);
    const heap0 = await heapBytes(coord);
    const c0 = (await swarm.status<CoordinatorView>(coord)).commitSeq;
    const t0 = Date.now();
    // 1.2 GB through the lax server: about 30 s on this 2-core machine (docs/security.md).
    const flood = await candidateFlood(target, coordinatorPeerId(swarm.run.run!), FRAMES, 60_000);
    expect(flood).toEqual({ sent: FRAMES, closedEarly: false });
    const floodS = (Date.now() - t0) / 1000;
    await swarm.until<CoordinatorView>(coord, (c) => c.commitSeq >= c0 + 3, 'commits after the flood', 300_000);
    const heap1 = await heapBytes(coord);
    console.log(`candidate flood: ${FRAMES} × 60 KB in ${floodS.toFixed(1)} s; heap ${(heap0 / 1e6).toFixed(1)} → ${(heap1 / 1e6).toFixed(1)} MB`);
    expect(heap1 - heap0).toBeLessThan(50e6);
    // Our own server does not relay such frames at all: over 16 KiB, the socket is closed.
    expect(await closeCodeForFrame(targetOf(swarm, strict), coordinatorPeerId(swarm.run.run!), 60_000)).toBe(1009); // message too big
  } finally {
    await lax.close();
    await strict.close();
  }
});
