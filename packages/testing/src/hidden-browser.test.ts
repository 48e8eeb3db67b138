import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

/** A "Chromium" that never prints its DevTools endpoint: it records its pid and arguments, then sleeps. */
const dir = mkdtempSync(join(tmpdir(), 'tabswarm-fake-chromium-'));
const fake = join(dir, 'chromium');
writeFileSync(fake, `#!/bin/sh\necho $$ > "${dir}/pid"\nprintf '%s\\n' "$@" > "${dir}/args"\nexec sleep 30\n`);
chmodSync(fake, 0o755);
let executable = fake;
vi.mock('./browser', () => ({ baseChromiumArgs: [], get executablePath() { return executable; } }));
const { launchThrottledBrowser } = await import('./hidden-browser');

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

afterAll(() => {
  const pid = existsSync(join(dir, 'pid')) ? Number(readFileSync(join(dir, 'pid'), 'utf8')) : 0;
  if (pid > 0 && alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('launchThrottledBrowser', () => {
  it('a launch that fails before it attached leaves no browser process and no profile behind', async () => {
    await expect(launchThrottledBrowser({ timeoutMs: 500 })).rejects.toThrow(/printed no DevTools endpoint within 500 ms/);
    const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
    const profile = /^--user-data-dir=(.+)$/m.exec(readFileSync(join(dir, 'args'), 'utf8'))![1]!;
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
    expect(existsSync(profile)).toBe(false);
  });

  it('a browser that cannot be started is a launch error, not an uncaught one', async () => {
    executable = join(dir, 'no-such-chromium');
    await expect(launchThrottledBrowser({ timeoutMs: 500 })).rejects.toThrow(/ENOENT/);
    executable = fake;
  });
});
