/**
 * A reusable multi-tab fixture: one real signalling server and page server per Playwright worker, and
 * helpers that open a coordinator and N learners, each in its own browser context (its own storage,
 * like separate visitors). Any uncaught page error or CSP violation fails the test. Import it in your own specs:
 *   import { test, expect } from '@tabswarm/testing';
 */
import { randomBytes } from 'node:crypto';
import { test as base, expect, type BrowserContext, type Page } from '@playwright/test';
import { startStack, type Stack } from './stack';

export interface LearnerView {
  state: string; learnerId: string; backend: string; steps: number; merges: number; pushes: number; error: string; versions: number[]; mergedKeys: string[]; unacked: number; linkOpens: number;
  epoch: number; coordinator: string; pinnedBy: string; identityRefusals: Record<string, number>;
}
export interface CoordinatorView {
  state: string; error: string; globalStep: number; merges: number; mergedTokens: number; numParams: number; fingerprint: string;
  epoch: number; resumedFrom: number | null; commitSeq: number; committedHash: string; restoredHash: string; firstCommitAfterStartMs: number | null; downtimeMs: number;
  goodput: { trained: number; merged: number; ratio: number | null; stale: number; filtered: number; invalid: number; superseded: number; killedOrLost: number; pending: number };
  chaos: Record<string, number>;
  learners: Array<{ id: string; backend: string; connected: boolean; merges: number; t: number; strikes: number }>;
  loss: Array<{ step: number; tokens: number; loss: number; at: number }>;
  evalFailures: number; evalError: string;
  rejections: Record<string, number>;
  /** Pulls sent again because a push was overdue (core syncer/repull.ts). */
  repulls: number;
  refusedConnections: Record<string, number>;
  bytesIn: number;
  bytesOut: number;
  /** Contributors summed over this incarnation's merges: their mean per merge is contributorsTotal / merges. */
  contributorsTotal: number;
}

export interface Swarm {
  stack: Stack;
  /** Opens the coordinator and waits until it serves. `params` become its URL query. */
  coordinator(params?: Record<string, string>): Promise<Page>;
  /** Opens one learner tab in a fresh context, started automatically; its URL pins the key (`#coord=`) of the
   * coordinator this fixture opened for the same run (`params.run`, default the fixture's own). */
  learner(params?: Record<string, string>): Promise<{ page: Page; context: BrowserContext }>;
  /** The join URL's fragment for a run's coordinator (default: the one opened last): `coord=<fingerprint>`, '' if none. */
  pin: (runId?: string) => string;
  /** Polls `fn(status)` on a page (window.__tabswarm) until it returns true; fails with `what` at the deadline. */
  until<T>(page: Page, fn: (s: T) => boolean, what: string, timeoutMs?: number): Promise<T>;
  status<T>(page: Page): Promise<T>;
  run: Record<string, string>;
}

export const test = base.extend<{ swarm: Swarm }, { stack: Stack }>({
  stack: [async ({}, use) => {
    // An operator secret, as `npm start` has: coordinator ids are then the operator's alone, and a suite
    // that opens many runs from 127.0.0.1 never meets the per-address limit of trust-on-first-use pins.
    const stack = await startStack({ quiet: true, operatorSecret: randomBytes(16).toString('hex') });
    await use(stack);
    await stack.close();
  }, { scope: 'worker' }],

  swarm: async ({ browser, stack }, use, info) => {
    const errors: string[] = [];
    const contexts: BrowserContext[] = [];
    const run: Record<string, string> = { run: `t${info.workerIndex}x${Date.now().toString(36)}`, signal: stack.signal };
    // Each run's coordinator has its own key: a spec with two runs must pin each learner to its own.
    const fingerprints = new Map<string, string>();
    let lastRun = '';
    const open = async (path: string, params: Record<string, string>, hash = ''): Promise<{ page: Page; context: BrowserContext }> => {
      const context = await browser.newContext();
      contexts.push(context);
      const page = await context.newPage();
      page.on('pageerror', (e) => errors.push(`${path}: ${e.message}`));
      // A Content-Security-Policy violation is a page error too: the pages must run under their own CSP.
      page.on('console', (m) => { if (/Content[- ]Security[- ]Policy/i.test(m.text())) errors.push(`${path}: ${m.text()}`); });
      await page.goto(`${stack.baseUrl}/${path}/?${new URLSearchParams({ ...run, ...params })}${hash ? `#${hash}` : ''}`);
      return { page, context };
    };
    // null while the page is between documents (a reload: the new one has not set its status yet).
    const status = <T>(page: Page): Promise<T> => page.evaluate(() => JSON.parse(JSON.stringify((window as unknown as { __tabswarm?: unknown }).__tabswarm ?? null)) as T);
    /** One poll: false, not a failure, while a reload or navigation leaves no status to read. */
    const check = async <T>(page: Page, fn: (s: T) => boolean, seen: (s: T) => void): Promise<boolean> => {
      let s: T;
      try {
        s = await status<T>(page);
      } catch (e) {
        if (/context was destroyed|navigat/i.test((e as Error).message)) return false;
        throw e;
      }
      if (s === null) return false;
      seen(s);
      return fn(s);
    };
    const until = async <T>(page: Page, fn: (s: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> => {
      let last: T | undefined;
      try {
        await expect.poll(() => check<T>(page, fn, (s) => { last = s; }), { message: what, timeout: timeoutMs, intervals: [250] }).toBe(true);
      } catch (e) {
        throw new Error(`waiting for ${what}: ${(e as Error).message.split('\n')[0]}; last status: ${String(JSON.stringify(last)).slice(0, 2000)}`);
      }
      return last!;
    };
    const swarm: Swarm = {
      stack, run, status, until,
      coordinator: async (params = {}) => {
        const { page } = await open('coordinator', params, stack.operatorSecret ? `op=${stack.operatorSecret}` : '');
        await until<CoordinatorView>(page, (s) => s.state !== 'starting', 'the coordinator to start', 120_000);
        const s = await status<CoordinatorView>(page);
        if (s.state !== 'running') throw new Error(`coordinator failed: ${s.error}`);
        lastRun = params.run ?? run.run!;
        fingerprints.set(lastRun, s.fingerprint);
        return page;
      },
      learner: (params = {}) => open('learner', { autostart: '1', ...params }, swarm.pin(params.run ?? run.run)),
      pin: (runId = lastRun) => (fingerprints.get(runId) ? `coord=${fingerprints.get(runId)}` : ''),
    };
    await use(swarm);
    await Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
    expect(errors, 'uncaught page errors').toEqual([]);
  },
});

export { expect };
