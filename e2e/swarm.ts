/**
 * `npm run swarm -- --learners N --minutes M [--workload text|digits] [--model default|tiny] [--backend wasm|webgpu|webgl|cpu]
 *                   [--method decoupled|diloco|dp] [--K N] [--downlink int8|int4|fp16|fp32] [--link-mbps N] [--throttle p%:Nx] [--tokens N]
 *                   [--chaos <spec>[,<spec>...]] [--chaos-seed N] [--seed N]`
 * Launches headless Chromium with one coordinator and N learner tabs (each its own browser context),
 * prints a progress line every 10 s and writes a report folder (report.json + index.html with the dashboard's plots).
 * The run's clock starts when the coordinator serves: --minutes and the chaos times count from there.
 *
 * --chaos injects faults on a seeded schedule (grammar in chaos-schedule.ts; --chaos-seed defaults to 1):
 *   kill:50%@30s        every 30 s close half the open learner tabs for real (no goodbye) and open fresh ones
 *   freeze:1@45s:10s    every 45 s pause one learner tab's main thread for 10 s (CDP Debugger.pause)
 *   pause:60s:5s        every 60 s the coordinator handles nothing for 5 s
 *   drop:10%            the coordinator loses 10% of incoming messages, the whole run
 * Each fault prints a `chaos t=...` line and is listed in report.json (chaos.events, chaos.counts).
 * --seed N seeds the model's initial weights (the coordinator's `seed`), for repeated runs of one comparison.
 *
 * Comparisons (grammar and checks in swarm-options.ts), all through the same pages and transport:
 *   --method decoupled    Decoupled DiLoCo: a merge closes on a quorum of --K pushes (default 1), plus grace
 *   --method diloco       synchronous DiLoCo: K = --learners, every merge waits for every learner, and each
 *                         learner waits for the broadcast of what it pushed (lockstep)
 *   --method dp           fp32 data-parallel: every learner syncs every step (P = 1, H = 1, lockstep, fp32)
 *   --grace arrivals|eq3|off  the grace window's rule (docs/method.md §4): the default, the paper's Eq. 3 alone, or none
 *   --link-mbps 10        each learner's link carries at most 10 Mbit/s each way (a token bucket per link, a WAN stand-in)
 *   --throttle 50%:2x     every other learner tab trains 2× slower (its steps idle as long again as they compute)
 *   --tokens N            the LR clock's planned tokens; default: predicted from measured throughput (swarm-options.ts)
 * report.json's summary: goodput, contributorsPerMerge, bytesPerLearnerStep vs dpBytesPerLearnerStep
 * (2 × 4 B × parameters per step) and the LR clock's progress at the end.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { BrowserContext, CDPSession, Page } from '@playwright/test';
import { launchBrowser } from '@tabswarm/testing';
import { howMany, parseChaos, parseSeed, pick, rng, timeline, type Fault } from './chaos-schedule';
import type { CoordinatorView, LearnerView } from '@tabswarm/testing';
import { reportHtml, type ReportView } from './report';
import { startStack } from '@tabswarm/testing';
import { methodParams, parseDownlink, parseLearners, parseMethod, parsePositive, parseThrottle, plannedTokens, quorum, slowdownOf, type Method, type Throttle } from './swarm-options';
import { summarize, summaryLine, type SummaryView } from './swarm-summary';

const { values: a } = parseArgs({
  options: {
    learners: { type: 'string', default: '3' }, minutes: { type: 'string', default: '3' }, workload: { type: 'string', default: 'digits' },
    model: { type: 'string', default: 'default' }, backend: { type: 'string' }, P: { type: 'string', default: '2' }, H: { type: 'string', default: '64' },
    K: { type: 'string' }, batch: { type: 'string', default: '8' }, out: { type: 'string' },
    chaos: { type: 'string' }, 'chaos-seed': { type: 'string', default: '1' }, seed: { type: 'string', default: '1' },
    method: { type: 'string', default: 'decoupled' }, grace: { type: 'string' }, 'link-mbps': { type: 'string' }, downlink: { type: 'string' }, throttle: { type: 'string' }, tokens: { type: 'string' },
  },
});
let downlink: Record<string, string>;
let faults: Fault[], seed: number, initSeed: number, N: number, K: number, method: Method, throttle: Throttle | undefined, linkMbps: number | undefined, planned: number | undefined;
const minutes = Number(a.minutes), runMs = minutes * 60_000;
try { // bad flags are refused before anything starts
  faults = a.chaos ? parseChaos(a.chaos) : [];
  seed = parseSeed(a['chaos-seed']);
  initSeed = parseSeed(a.seed, '--seed');
  N = parseLearners(a.learners);
  method = parseMethod(a.method);
  K = quorum(method, a.K, N);
  if (method === 'dp' && a.grace !== undefined) throw new Error('--method dp merges every step without a grace window: drop --grace');
  downlink = parseDownlink(method, a.downlink);
  throttle = a.throttle ? parseThrottle(a.throttle) : undefined;
  if (a.grace !== undefined && !['arrivals', 'eq3', 'off'].includes(a.grace)) throw new Error(`--grace ${a.grace}: want arrivals, eq3 or off`);
  linkMbps = a['link-mbps'] ? parsePositive('link-mbps', a['link-mbps']) : undefined;
  planned = a.tokens ? Math.round(parsePositive('tokens', a.tokens)) : plannedTokens({ workload: a.workload, model: a.model, batch: Number(a.batch), runS: runMs / 1000 });
} catch (e) {
  console.error((e as Error).message);
  process.exit(2);
}
const link: Record<string, string> = linkMbps === undefined ? {} : { linkMbps: String(linkMbps) }; // both pages: each side caps its own sends
const out = a.out ?? `reports/swarm-${new Date().toISOString().replace(/[:.]/g, '-')}`;
const status = <T>(p: Page): Promise<T> => p.evaluate(() => JSON.parse(JSON.stringify((window as unknown as { __tabswarm: unknown }).__tabswarm)) as T);
type CoordinatorWindow = { __coordinator: { pause(ms: number): void; chaos: { dropRate: number; record(fault: string, target: string, detail: string): void } } };
const tokens = (x: number): string => Math.round(x).toLocaleString('en');
const goodputLine = (c: CoordinatorView): string => {
  const g = c.goodput;
  return `goodput ${g.ratio === null ? '–' : `${(100 * g.ratio).toFixed(1)}%`} of ${tokens(g.trained)} trained tokens; badput: stale ${tokens(g.stale)}, filtered ${tokens(g.filtered)}, ` +
    `invalid ${tokens(g.invalid)}, superseded ${tokens(g.superseded)}, killed/lost ${tokens(g.killedOrLost)} (pending ${tokens(g.pending)})  downtime ${(c.downtimeMs / 1000).toFixed(1)} s`;
};

const stack = await startStack({ quiet: true });
const browser = await launchBrowser();
const run = { run: `swarm${Date.now().toString(36)}`, signal: stack.signal, workload: a.workload, model: a.model };
interface Tab { id: string; ctx: BrowserContext; page: Page; frozen: boolean; slowdown: number }
const tabs: Tab[] = [];
let opened = 0;
let pin = ''; // '#coord=<fingerprint>' once the coordinator is up: every learner checks the run's key
const openLearner = async (): Promise<Tab> => {
  const ctx = await browser.newContext(); // its own storage: a separate visitor with its own learner id
  const page = await ctx.newPage();
  const slowdown = slowdownOf(throttle, opened);
  const tab: Tab = { id: `#${opened++}`, ctx, page, frozen: false, slowdown };
  page.on('pageerror', (e) => console.error(`learner ${tab.id}: ${e.message}`));
  await page.goto(`${stack.baseUrl}/learner/?${new URLSearchParams({
    ...run, ...link, autostart: '1', batch: a.batch, ...(a.backend ? { backend: a.backend } : {}), ...(slowdown > 1 ? { slowdown: String(slowdown) } : {}),
  })}${pin}`);
  tab.id = (await status<LearnerView>(page)).learnerId;
  return tab;
};
try {
  const coordCtx = await browser.newContext();
  const coord = await coordCtx.newPage();
  await coord.goto(`${stack.baseUrl}/coordinator/?${new URLSearchParams({
    ...run, ...link, batch: a.batch, ...methodParams(method, K, { P: a.P, H: a.H }), ...downlink, ...(a.grace ? { grace: a.grace } : {}), evalMs: '10000', chaosSeed: String(seed), seed: String(initSeed), ...(planned === undefined ? {} : { tokens: String(planned) }),
  })}`);
  await coord.waitForFunction(() => (window as unknown as { __tabswarm: { state: string } }).__tabswarm.state !== 'starting', null, { timeout: 180_000 });
  const first = await status<CoordinatorView>(coord);
  if (first.state !== 'running') throw new Error(`coordinator failed: ${first.error}`);
  pin = `#coord=${first.fingerprint}`;
  console.log(`coordinator up: ${first.numParams.toLocaleString('en')} parameters, workload ${a.workload}/${a.model}; method ${a.method}, K ${K}; ` +
    `planned tokens ${planned === undefined ? 'coordinator default (no throughput measured for this workload)' : tokens(planned)}; opening ${N} learners` +
    (linkMbps === undefined ? '' : `; links capped at ${linkMbps} Mbit/s each way`) + (throttle ? `; throttle ${a.throttle}` : '') + (faults.length ? `; chaos ${a.chaos} (seed ${seed})` : ''));
  const started = Date.now();
  const elapsedS = (): number => (Date.now() - started) / 1000;
  for (let i = 0; i < N; i++) tabs.push(await openLearner());
  if (throttle) console.log(`slowed ${throttle.slowdown}×: ${tabs.filter((t) => t.slowdown > 1).map((t) => t.id).join(', ') || 'none'}`);

  const random = rng(seed);
  const events: Array<{ atS: number; fault: string; targets: string[] }> = [];
  const counts: Record<string, number> = {};
  const record = (fault: string, targets: string[], detail: string): void => {
    const atS = Math.round(elapsedS());
    events.push({ atS, fault, targets });
    counts[fault] = (counts[fault] ?? 0) + targets.length; // tabs killed or frozen; coordinator pauses; 1 for drop
    console.log(`chaos t=${atS}s ${detail}`);
  };
  // Everything that touches a page runs from this one queue, in time order: no evaluate races a close.
  const jobs: Array<{ atMs: number; run: () => Promise<void> }> = [];
  const schedule = (atMs: number, job: () => Promise<void>): void => {
    jobs.push({ atMs, run: job });
    jobs.sort((x, y) => x.atMs - y.atMs); // stable: at equal times, first scheduled runs first
  };
  const inject = async (f: Fault): Promise<void> => {
    if (f.kind === 'kill') {
      const victims = pick(random, tabs, howMany(f.count, tabs.length));
      record('kill', victims.map((v) => v.id), `kill ${victims.length}/${tabs.length} tabs: ${victims.map((v) => v.id).join(', ')}`);
      for (const v of victims) { tabs.splice(tabs.indexOf(v), 1); await v.ctx.close(); } // the tab dies: no goodbye
      const fresh: Tab[] = [];
      for (const _ of victims) fresh.push(await openLearner()); // volunteers come and go: the swarm size recovers
      tabs.push(...fresh);
      console.log(`chaos t=${Math.round(elapsedS())}s ${fresh.length} fresh tabs opened: ${fresh.map((t) => t.id).join(', ')}`);
    } else if (f.kind === 'freeze') {
      const awake = tabs.filter((t) => !t.frozen);
      const victims = pick(random, awake, Math.min(awake.length, howMany(f.count, tabs.length)));
      record('freeze', victims.map((v) => v.id), `freeze ${victims.length}/${tabs.length} tabs for ${f.forMs / 1000} s: ${victims.map((v) => v.id).join(', ')}`);
      for (const v of victims) {
        const cdp: CDPSession = await v.ctx.newCDPSession(v.page);
        await cdp.send('Debugger.enable');
        await cdp.send('Debugger.pause'); // halts at the tab's next JS statement: timers, messages, everything
        v.frozen = true; // a paused page never answers evaluate: sampling skips it
        schedule(Date.now() - started + f.forMs, async () => {
          // Resume fails when the pause is still pending (no JS ran meanwhile); disable cancels it. The tab may be dead.
          for (const m of ['Debugger.resume', 'Debugger.disable'] as const) await cdp.send(m).catch(() => undefined);
          await cdp.detach().catch(() => undefined);
          v.frozen = false;
        });
      }
    } else if (f.kind === 'pause') {
      await coord.evaluate((ms) => (window as unknown as CoordinatorWindow).__coordinator.pause(ms), f.forMs);
      record('pause', ['coordinator'], `pause the coordinator for ${f.forMs / 1000} s`);
    } else {
      await coord.evaluate((rate) => {
        const c = (window as unknown as CoordinatorWindow).__coordinator.chaos;
        c.dropRate = rate;
        c.record('drop', 'everyone', `${100 * rate}% of incoming messages`);
      }, f.rate);
      record('drop', ['coordinator'], `drop ${100 * f.rate}% of the coordinator's incoming messages from now on`);
    }
  };

  const samples: Array<{ s: number; coordinator: SummaryView; learners: LearnerView[] }> = [];
  let plotted: ReportView['timeline'] = []; // the coordinator's whole history, kept once (not in every sample)
  const sample = async (): Promise<void> => {
    const { timeline: history, ...c } = await status<SummaryView & ReportView>(coord);
    plotted = history;
    // A tab that does not answer within 5 s (busy, dying) is left out of this sample rather than stall the CLI.
    const ls = (await Promise.all(tabs.filter((t) => !t.frozen).map((t) => Promise.race([status<LearnerView>(t.page).catch(() => undefined), sleep(5000, undefined)]))))
      .filter((l) => l !== undefined);
    const t = elapsedS();
    samples.push({ s: t, coordinator: c, learners: ls });
    const loss = c.loss.at(-1)?.loss;
    console.log(`[${t.toFixed(0).padStart(4)} s] step ${c.globalStep}  loss ${loss?.toFixed(4) ?? '–'}  learners ${c.learners.filter((l) => l.connected).length}/${N}  ` +
      `commits ${c.commitSeq}  merges ${c.merges}  bytes in ${(c.bytesIn / 1e6).toFixed(1)} MB out ${(c.bytesOut / 1e6).toFixed(1)} MB  backends ${[...new Set(ls.map((l) => l.backend))].join(',')}\n` +
      `         ${goodputLine(c)}`);
  };
  for (const e of timeline(faults, runMs)) schedule(e.atMs, () => inject(e.fault));
  for (let t = 10_000; t < runMs; t += 10_000) schedule(t, sample); // the reporting period of this CLI
  schedule(runMs, sample);
  for (let job = jobs.shift(); job && job.atMs <= runMs; job = jobs.shift()) { // a thaw due after the end is moot: the browser closes
    await sleep(Math.max(0, job.atMs - (Date.now() - started)));
    await job.run();
  }

  const final = samples.at(-1)!.coordinator;
  const chaos = faults.length ? { spec: a.chaos, seed, events, counts, coordinatorCounts: final.chaos } : undefined;
  const summary = summarize(final, planned);
  const slowed = Object.fromEntries(tabs.filter((t) => t.slowdown > 1).map((t) => [t.id, t.slowdown])); // the tabs open at the end
  const args = { ...a, K: String(K), ...(planned === undefined ? {} : { tokens: String(planned) }) };
  mkdirSync(out, { recursive: true });
  writeFileSync(resolve(out, 'report.json'), JSON.stringify({ args, run, summary, slowed, chaos, samples, timeline: plotted }, null, 2));
  writeFileSync(resolve(out, 'index.html'), reportHtml({ ...final, timeline: plotted }, {
    learners: N, minutes, workload: `${a.workload}/${a.model}`, method: `${a.method} (K ${K})`, 'planned tokens': planned ?? 'coordinator default',
    ...(linkMbps === undefined ? {} : { 'link cap (Mbit/s each way)': linkMbps }), ...(throttle ? { throttle: `${a.throttle}: ${Object.keys(slowed).join(', ')}` } : {}),
    ...(chaos ? { chaos: `${chaos.spec} (seed ${seed})`, 'faults injected': JSON.stringify(counts) } : {}),
  }, summary));
  console.log(`\nfinal: commits ${final.commitSeq}, ${goodputLine(final)}\n       ${summaryLine(summary)}${chaos ? `\nchaos injected: ${JSON.stringify(counts)}` : ''}\nreport: ${out}/index.html`);
} finally {
  await browser.close();
  await stack.close();
}
process.exit(0); // peer 1.0.2 keeps timers it never stops (packages/net/server/signal.ts): without this the CLI never returns
