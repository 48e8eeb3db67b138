import { connect, createServer } from 'node:net';
import { describe, expect, it, vi } from 'vitest';

// No real build or data step: this is about what a failed start leaves behind, not what it serves.
vi.mock('node:child_process', () => ({ execFileSync: vi.fn() }));
vi.mock('vite', () => ({
  build: vi.fn(async () => undefined),
  // Port 5173: taken. Any other: a page server that starts but whose close() fails (a wedged connection).
  preview: vi.fn(async ({ preview }: { preview: { port: number } }) => {
    if (preview.port === 5173) throw new Error(`Port ${preview.port} is already in use`);
    return { httpServer: { address: () => ({ port: preview.port }) }, close: async () => { throw new Error('close failed'); } };
  }),
}));
const { startStack } = await import('./stack');

const freePort = (): Promise<number> => new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as { port: number };
    s.close(() => resolve(port));
  });
});
/** Whether something accepts TCP connections on 127.0.0.1:port. */
const listening = (port: number): Promise<boolean> => new Promise((resolve) => {
  const c = connect(port, '127.0.0.1');
  c.once('connect', () => { c.destroy(); resolve(true); });
  c.once('error', () => resolve(false));
});

describe('startStack', () => {
  it('a page server that cannot start (its port is taken) leaves no signalling server behind', async () => {
    const signalPort = await freePort();
    await expect(startStack({ quiet: true, port: 5173, signalPort })).rejects.toThrow('Port 5173 is already in use');
    expect(await listening(signalPort)).toBe(false);
  });

  it('a stack whose page server fails to close still closes its signalling server, and says why', async () => {
    const signalPort = await freePort();
    const stack = await startStack({ quiet: true, port: 5174, signalPort });
    expect(await listening(signalPort)).toBe(true);
    await expect(stack.close()).rejects.toThrow('close failed');
    expect(await listening(signalPort)).toBe(false);
  });
});
