/**
 * A Chromium whose hidden tabs are hidden and throttled as a volunteer's are (docs/browser.md §5), for
 * specs of background behaviour. Two things keep a Playwright-launched page visible and unthrottled: the
 * switches Playwright adds by default (--disable-background-timer-throttling and two more) and the focus
 * emulation it turns on for every page, which holds the tab visible even behind another.
 *
 * Launch options reach only the first: `ignoreDefaultArgs` drops the switches, but no launch or context
 * option turns focus emulation off, and turning it off afterwards through a CDP session
 * (Emulation.setFocusEmulationEnabled false, on a page of a launched browser, with or without a persistent
 * context) leaves the tab behind another visible: measured here, 'visible' and 60 wake-ups of a 100 ms
 * interval in 6 s, against 'hidden' and 6 with the attach below. What does work is public: `chromium.connectOverCDP(endpoint, { noDefaults:
 * true })`, documented in the @playwright/test we depend on (^1.65.1, ConnectOverCDPOptions.noDefaults:
 * "focus emulation is not enabled" for the browser's default context; contexts made with newContext() keep
 * it). So this launches Chromium itself with `baseChromiumArgs` only, attaches with noDefaults and uses the
 * default context. Because nothing else in Playwright's API would tell us if that option stopped doing
 * this (an older Playwright, a change of meaning), the launch checks it and fails with a reason rather
 * than let a hidden-tab spec measure a visible tab.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { chromium, type Browser, type BrowserContext } from '@playwright/test';
import { baseChromiumArgs, executablePath } from './browser';

export interface HiddenCapableBrowser { browser: Browser; context: BrowserContext; close(): Promise<void> }

export interface ThrottledOptions {
  /** Deadline of each launch step and of the hiding check, in ms. */
  timeoutMs?: number;
  /**
   * Seconds a page stays hidden before Chrome's intensive throttling (chained timers once a minute)
   * starts: Chromium's own feature parameter `IntensiveWakeUpThrottling:grace_period_seconds`, 300 s when
   * left out as in a volunteer's Chrome. Measured here (Chromium 156): at 10 s, a hidden page's 100 ms
   * interval woke 10 times in its first 15 s, then 1 time in the next 75 s; without it, 15 in every 15 s.
   */
  intensiveAfterS?: number;
}

export async function launchThrottledBrowser({ timeoutMs = 30_000, intensiveAfterS }: ThrottledOptions = {}): Promise<HiddenCapableBrowser> {
  const dir = mkdtempSync(join(tmpdir(), 'tabswarm-throttled-'));
  const args = [...baseChromiumArgs, '--headless', '--remote-debugging-port=0', `--user-data-dir=${dir}`];
  if (intensiveAfterS !== undefined) args.push(`--enable-features=IntensiveWakeUpThrottling:grace_period_seconds/${intensiveAfterS}`);
  args.push('about:blank');
  if (process.getuid?.() === 0) args.push('--no-sandbox'); // Chromium refuses to run as root with its sandbox
  const proc = spawn(executablePath ?? chromium.executablePath(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = (ms: number): Promise<boolean> => new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    proc.once('exit', () => { clearTimeout(timer); resolve(true); });
  });
  const removeProfile = (): void => {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    } catch (e) {
      // A leftover temporary profile is litter, not a failure of what the spec measured.
      console.warn(`launchThrottledBrowser: could not remove ${dir}: ${(e as Error).message}`);
    }
  };
  let browser: Browser;
  try {
    browser = await chromium.connectOverCDP(await devToolsEndpoint(proc, timeoutMs), { noDefaults: true, timeout: timeoutMs });
  } catch (e) {
    // Not attached, so nothing can ask it to close: without this it outlived the run, profile and all.
    proc.kill('SIGKILL');
    await exited(10_000);
    removeProfile();
    throw e;
  }
  const close = async (): Promise<void> => {
    // Ask Chromium to shut down (CDP Browser.close): its renderer, GPU and utility processes go with it.
    // A SIGKILL of the browser process alone left them writing the profile, and removing it failed with
    // ENOTEMPTY (in two full runs). SIGKILL only if it has not exited within 10 s.
    const cdp = await browser.newBrowserCDPSession().catch(() => undefined);
    await cdp?.send('Browser.close').catch(() => undefined);
    if (!(await exited(10_000))) { proc.kill('SIGKILL'); await exited(10_000); }
    await browser.close().catch(() => undefined);
    removeProfile();
  };
  const context = browser.contexts()[0];
  try {
    if (!context) throw new Error('launchThrottledBrowser: the attached Chromium has no default context');
    await checkHides(context, timeoutMs);
  } catch (e) {
    await close();
    throw e;
  }
  return { browser, context, close };
}

/** The DevTools endpoint a just-spawned Chromium prints on stderr; rejects at the deadline or when it exits first. */
function devToolsEndpoint(proc: ChildProcessByStdio<null, null, Readable>, timeoutMs: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`Chromium printed no DevTools endpoint within ${timeoutMs} ms: ${err.slice(-500)}`)), timeoutMs);
    proc.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /DevTools listening on (ws:\S+)/.exec(err);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`Chromium exited (${code}) before it listened: ${err.slice(-500)}`)); });
    // Without a listener a spawn failure (no such executable) is an uncaught exception that ends the run.
    proc.on('error', (e) => { clearTimeout(timer); reject(new Error(`Chromium could not be started: ${e.message}`)); });
  });
}

/** A tab behind another must read 'hidden' (focus emulation off), or the launch fails saying why. */
async function checkHides(context: BrowserContext, timeoutMs: number): Promise<void> {
  const back = await context.newPage(), front = await context.newPage();
  try {
    await front.bringToFront();
    // Interval polling: a hidden page runs no animation frames, and its timers wake about once a second.
    await back.waitForFunction(() => document.visibilityState === 'hidden', undefined, { polling: 250, timeout: timeoutMs }).catch(async () => {
      const state = await back.evaluate(() => document.visibilityState).catch(() => 'unknown');
      throw new Error(`launchThrottledBrowser: a tab behind another still reads visibilityState '${state}' after ${timeoutMs} ms. ` +
        "Playwright's connectOverCDP({ noDefaults: true }) is what leaves the default context without focus emulation; " +
        'this Playwright (or Chromium) no longer does, so a hidden-tab spec would measure a visible, unthrottled tab.');
    });
  } finally {
    await back.close();
    await front.close();
  }
}
