/**
 * `npm run swarm -- --learners N --minutes M [--workload text|digits] [--model default|tiny] [--backend wasm|webgpu|webgl|cpu]`
 * Launches headless Chromium with one coordinator and N learner tabs (each its own browser context),
 * prints a progress line every 10 s and writes a report folder (report.json + index.html with the loss curve).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from '@playwright/test';
import { launchBrowser } from './browser';
import type { CoordinatorView, LearnerView } from './fixture';
import { reportHtml } from './report';
import { startStack } from './stack';

const { values: a } = parseArgs({
  options: {
    learners: { type: 'string', default: '3' }, minutes: { type: 'string', default: '3' }, workload: { type: 'string', default: 'digits' },
    model: { type: 'string', default: 'default' }, backend: { type: 'string' }, P: { type: 'string', default: '2' }, H: { type: 'string', default: '12' },
    K: { type: 'string', default: '1' }, batch: { type: 'string', default: '8' }, out: { type: 'string' },
  },
});
const N = Number(a.learners), minutes = Number(a.minutes);
const out = a.out ?? `reports/swarm-${new Date().toISOString().replace(/[:.]/g, '-')}`;
const status = <T>(p: Page): Promise<T> => p.evaluate(() => JSON.parse(JSON.stringify((window as unknown as { __tabswarm: unknown }).__tabswarm)) as T);

const stack = await startStack({ quiet: true });
const browser = await launchBrowser();
const run = { run: `swarm${Date.now().toString(36)}`, signal: stack.signal, workload: a.workload, model: a.model };
const started = Date.now();
try {
  const coordCtx = await browser.newContext();
  const coord = await coordCtx.newPage();
  await coord.goto(`${stack.baseUrl}/coordinator/?${new URLSearchParams({ ...run, P: a.P, H: a.H, K: a.K, evalMs: '10000' })}`);
  await coord.waitForFunction(() => (window as unknown as { __tabswarm: { state: string } }).__tabswarm.state !== 'starting', null, { timeout: 180_000 });
  const first = await status<CoordinatorView>(coord);
  if (first.state !== 'running') throw new Error(`coordinator failed: ${first.error}`);
  console.log(`coordinator up: ${first.numParams.toLocaleString('en')} parameters, workload ${a.workload}/${a.model}; opening ${N} learners`);
  const learners: Page[] = [];
  for (let i = 0; i < N; i++) {
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    p.on('pageerror', (e) => console.error(`learner ${i}: ${e.message}`));
    await p.goto(`${stack.baseUrl}/learner/?${new URLSearchParams({ ...run, autostart: '1', batch: a.batch, ...(a.backend ? { backend: a.backend } : {}) })}`);
    learners.push(p);
  }
  const samples: Array<{ s: number; coordinator: CoordinatorView; learners: LearnerView[] }> = [];
  const end = started + minutes * 60_000;
  while (Date.now() < end) {
    await coord.waitForTimeout(Math.min(10_000, Math.max(0, end - Date.now()))); // the reporting period of this CLI
    const c = await status<CoordinatorView>(coord);
    const ls = await Promise.all(learners.map((p) => status<LearnerView>(p)));
    const t = (Date.now() - started) / 1000;
    samples.push({ s: t, coordinator: c, learners: ls });
    const loss = c.loss.at(-1)?.loss;
    console.log(`[${t.toFixed(0).padStart(4)} s] step ${c.globalStep}  loss ${loss?.toFixed(4) ?? '–'}  learners ${c.learners.filter((l) => l.connected).length}/${N}  ` +
      `merges ${c.merges}  bytes in ${(c.bytesIn / 1e6).toFixed(1)} MB out ${(c.bytesOut / 1e6).toFixed(1)} MB  backends ${[...new Set(ls.map((l) => l.backend))].join(',')}`);
  }
  const final = samples.at(-1)!;
  mkdirSync(out, { recursive: true });
  writeFileSync(resolve(out, 'report.json'), JSON.stringify({ args: a, run, samples }, null, 2));
  writeFileSync(resolve(out, 'index.html'), reportHtml(final.coordinator, { learners: N, minutes, workload: `${a.workload}/${a.model}` }));
  console.log(`\nreport: ${out}/index.html`);
} finally {
  await browser.close();
  await stack.close();
}
