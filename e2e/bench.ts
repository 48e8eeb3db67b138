/**
 * Browser benchmarks (`npm run bench` runs them after the core ones), written to reports/bench/browser.json:
 *  - steps/s per backend for a model trained alone in a tab (worker), default text GPT and tiny;
 *  - the digits MLP alone in a tab vs the same tab inside a swarm with its coordinator (the swarm's
 *    overhead; the default GPT at ≈0.2 steps/s here would need many minutes per sync period);
 *  - bytes on the wire per learner-step in steady state (after the join snapshot) vs fp32 data-parallel
 *    (gradient up + parameters down every step), for the same model;
 *  - seconds from opening the join URL to the first accepted (merged) update.
 * Then bench-start.ts (reports/bench/start.json and start.md): time to contribute, and the default's loss
 * in 60 s. `--only start` (`npm run bench:start`) runs only that.
 * Rates are measured between two status samples after a warm-up, side by side in one run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Browser, Page } from '@playwright/test';
import { benchStart, startReport } from './bench-start';
import { launchBrowser } from '@tabswarm/testing';
import { START_DEFAULTS } from './start-defaults';
import type { CoordinatorView, LearnerView } from '@tabswarm/testing';
import { startStack, type Stack } from '@tabswarm/testing';

const { values: a } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' }, quick: { type: 'boolean', default: false }, only: { type: 'string' },
    // --only start: the workload and preset `npm start` opens, runs of the one-tab start, tabs opened together
    workload: { type: 'string', default: START_DEFAULTS.workload }, model: { type: 'string', default: START_DEFAULTS.model },
    runs: { type: 'string', default: '3' }, tabs: { type: 'string', default: '16' },
  },
});
if (a.only !== undefined && a.only !== 'start') throw new Error(`--only ${a.only}: the one section that runs alone is 'start'`);
const window_s = a.quick ? 8 : Number(a.seconds);
type View = LearnerView & { stepsPerSec: number; tokens: number };
const status = <T>(p: Page): Promise<T> => p.evaluate(() => JSON.parse(JSON.stringify((window as unknown as { __tabswarm: unknown }).__tabswarm)) as T);

async function waitFor<T>(p: Page, fn: (s: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await status<T>(p);
    if (fn(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(s).slice(0, 400)}`);
    await p.waitForTimeout(200);
  }
}

/** Steps per second of one learner page over `window_s` after its first 3 steps. */
async function rate(p: Page): Promise<number> {
  const s0 = await waitFor<View>(p, (s) => s.steps >= 3 || s.state === 'failed', 300_000, 'three steps');
  if (s0.state === 'failed') throw new Error(s0.error);
  const t0 = Date.now();
  await p.waitForTimeout(window_s * 1000); // the measurement window itself
  const s1 = await status<View>(p);
  return (s1.steps - s0.steps) / ((Date.now() - t0) / 1000);
}

async function page(browser: Browser, url: string): Promise<Page> {
  const p = await (await browser.newContext()).newPage();
  await p.goto(url);
  return p;
}

async function main(stack: Stack, browser: Browser): Promise<Record<string, unknown>> {
  const results: Record<string, unknown> = {};
  const perBackend: Array<{ backend: string; model: string; stepsPerSec: number | null; error?: string }> = [];
  for (const [backend, model, workload] of [['wasm', 'default', 'text'], ['webgl', 'tiny', 'text'], ['webgpu', 'tiny', 'text'], ['wasm', 'tiny', 'text'], ['cpu', 'tiny', 'text'], ['wasm', 'default', 'digits']] as const) {
    const p = await page(browser, `${stack.baseUrl}/learner/?${new URLSearchParams({ solo: '1', autostart: '1', backend, model, workload, batch: '8' })}`);
    try { perBackend.push({ backend, model: workload === 'digits' ? 'digits' : model, stepsPerSec: await rate(p) }); } catch (e) { perBackend.push({ backend, model, stepsPerSec: null, error: String(e).slice(0, 200) }); }
    await p.context().close();
    console.log(perBackend.at(-1));
  }
  results.stepsPerSecAlone = perBackend;

  const run = { run: `bench${Date.now().toString(36)}`, signal: stack.signal, workload: 'digits' };
  // npm run swarm's defaults (P = 2, H = 64): the configuration whose bytes the README quotes.
  const coord = await page(browser, `${stack.baseUrl}/coordinator/?${new URLSearchParams({ ...run, P: '2', H: '64' })}`);
  const up = await waitFor<CoordinatorView>(coord, (c) => c.state !== 'starting', 180_000, 'coordinator');
  const opened = Date.now();
  const l1 = await page(browser, `${stack.baseUrl}/learner/?${new URLSearchParams({ ...run, autostart: '1', backend: 'wasm', batch: '8' })}#coord=${up.fingerprint}`);
  await waitFor<View>(l1, (s) => s.merges > 0, 600_000, 'first accepted update');
  results.joinToFirstAcceptedUpdateS = (Date.now() - opened) / 1000;
  // One learner, so the comparison with the tab alone shares the machine the same way (plus the coordinator).
  // Bytes are the difference between two samples taken after the first merge: the join snapshot excluded.
  const [c0, s0] = [await status<CoordinatorView>(coord), await status<View>(l1)];
  const swarmRate = await rate(l1);
  const [c, s1] = [await status<CoordinatorView>(coord), await status<View>(l1)];
  const bytesPerStep = (c.bytesIn + c.bytesOut - c0.bytesIn - c0.bytesOut) / Math.max(1, s1.steps - s0.steps);
  const dpBytesPerStep = 2 * 4 * c.numParams; // fp32 gradient up + fp32 parameters (or reduced gradient) down
  const alone = perBackend.find((r) => r.backend === 'wasm' && r.model === 'digits')?.stepsPerSec ?? null;
  Object.assign(results, {
    swarm: { model: 'digits', learners: 1, stepsPerSec: swarmRate, aloneStepsPerSec: alone, overhead: alone ? 1 - swarmRate / alone : null, merges: c.merges - c0.merges },
    bytes: { perLearnerStep: bytesPerStep, dataParallelPerStep: dpBytesPerStep, ratio: dpBytesPerStep / bytesPerStep, numParams: c.numParams },
  });
  return results;
}

const stack = await startStack({ quiet: true });
const browser = await launchBrowser();
try {
  mkdirSync('reports/bench', { recursive: true });
  if (a.only === undefined) {
    const r = await main(stack, browser);
    writeFileSync('reports/bench/browser.json', JSON.stringify(r, null, 2));
    console.log(JSON.stringify(r, null, 2));
    console.log('wrote reports/bench/browser.json');
  }
  const r = await benchStart(stack, browser, { workload: a.workload, model: a.model, runs: Number(a.runs), tabs: Number(a.tabs) });
  writeFileSync('reports/bench/start.json', JSON.stringify(r, null, 2));
  writeFileSync('reports/bench/start.md', startReport(r));
  console.log(startReport(r));
  console.log('wrote reports/bench/start.json and start.md');
} finally {
  // Closing can hang on a page server with keep-alive sockets; 15 s is plenty for a clean close.
  const closing = Promise.all([browser.close(), stack.close()]);
  await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 15_000))]);
}
process.exit(process.exitCode ?? 0); // whatever the close left running (sockets, timers) must not keep the bench alive
