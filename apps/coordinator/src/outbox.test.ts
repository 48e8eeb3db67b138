import type { CoordinatorHost, CoordinatorSigner } from '@tabswarm/net';
import { describe, expect, it } from 'vitest';
import { Outbox } from './outbox';
import { emptyStatus } from './status';

// A signer whose first byte of each frame says how long signing it takes (ms), and a host that records
// the order it is handed things in: the oracle is the order the frames were issued.
function rig(failSeal = -1) {
  const calls: string[] = [];
  const failed: unknown[] = [];
  const signer: CoordinatorSigner = {
    publicKey: new Uint8Array(32), fingerprint: 'f',
    seal: (frame) => new Promise((resolve, reject) => setTimeout(() => (frame[1] === failSeal ? reject(new Error('cannot sign')) : resolve(Uint8Array.of(0xee, ...frame))), frame[0])),
  };
  const host = {
    send: (to: string, b: Uint8Array) => { calls.push(`send ${to} ${b[3]} (${b.length} B)`); return Promise.resolve(); },
    broadcast: (to: readonly string[], b: Uint8Array) => { calls.push(`broadcast ${to.join('+')} ${b[3]}`); return Promise.resolve({ sent: [...to], failed: [] }); },
    drop: (id: string, reason: string) => { calls.push(`drop ${id} ${reason}`); },
  } as unknown as CoordinatorHost;
  const status = emptyStatus();
  const out = new Outbox(signer, host, status, (e) => { failed.push(e); status.state = 'failed'; });
  return { calls, failed, status, out };
}

const settle = (ms = 80): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('Outbox', () => {
  it('hands frames over in the order they were issued, however long each takes to sign, and drops behind them', async () => {
    const { calls, status, out } = rig();
    let delivered = 0;
    out.send('a', Uint8Array.of(30, 0, 1), true); // slow to sign
    out.broadcast(['a', 'b'], Uint8Array.of(0, 0, 2), () => { delivered++; });
    out.drop('a', 'strikes', () => calls.push('closed a'));
    out.send('b', Uint8Array.of(0, 0, 3));
    await settle();
    expect(calls).toEqual(['send a 1 (4 B)', 'broadcast a+b 2', 'drop a strikes', 'closed a', 'send b 3 (4 B)']);
    expect(delivered).toBe(1);
    expect(status.bytesOut).toBe(4 + 2 * 4 + 4);
    expect(status.snapshotBytes).toBe(4);
  });

  it('stops at a frame it cannot sign: the coordinator fails and nothing after it leaves unsigned or at all', async () => {
    const { calls, failed, out } = rig(9);
    out.send('a', Uint8Array.of(0, 0, 1));
    out.send('a', Uint8Array.of(0, 9, 2));
    out.send('a', Uint8Array.of(0, 0, 3));
    await settle();
    expect(calls).toEqual(['send a 1 (4 B)']);
    expect(failed.map((e) => (e as Error).message)).toEqual(['cannot sign']);
  });
});
