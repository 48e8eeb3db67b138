/**
 * A Chromium whose hidden tabs are hidden and throttled as a volunteer's are (docs/browser.md §5), for
 * specs of background behaviour. Two things keep a Playwright-launched page visible and unthrottled: the
 * switches Playwright adds by default (--disable-background-timer-throttling and two more) and the focus
 * emulation it turns on for every page, which holds the tab visible. So this launches Chromium itself
 * with `baseChromiumArgs` only and attaches over CDP with `noDefaults`, which leaves the default
 * context's pages without focus emulation.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext } from '@playwright/test';
import { baseChromiumArgs, executablePath } from './browser';

export interface HiddenCapableBrowser { browser: Browser; context: BrowserContext; close(): Promise<void> }

export async function launchThrottledBrowser(timeoutMs = 30_000): Promise<HiddenCapableBrowser> {
  const dir = mkdtempSync(join(tmpdir(), 'tabswarm-throttled-'));
  const args = [...baseChromiumArgs, '--headless', '--remote-debugging-port=0', `--user-data-dir=${dir}`, 'about:blank'];
  if (process.getuid?.() === 0) args.push('--no-sandbox'); // Chromium refuses to run as root with its sandbox
  const proc = spawn(executablePath ?? chromium.executablePath(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`Chromium printed no DevTools endpoint within ${timeoutMs} ms: ${err.slice(-500)}`)), timeoutMs);
    proc.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /DevTools listening on (ws:\S+)/.exec(err);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`Chromium exited (${code}) before it listened: ${err.slice(-500)}`)); });
  });
  // noDefaults is Playwright's own (its MCP relay attaches this way) and not in the public types: a
  // variable, not a literal, so the compiler takes the extra field.
  const options = { noDefaults: true, timeout: timeoutMs };
  const browser = await chromium.connectOverCDP(endpoint, options);
  const context = browser.contexts()[0];
  if (!context) throw new Error('the attached Chromium has no default context');
  return {
    browser, context,
    close: async () => {
      await browser.close().catch(() => undefined);
      proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
