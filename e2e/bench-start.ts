/**
 * `npm run bench -- --only start`: how soon a first-time user's tabs contribute, on this machine.
 *  - one tab: the click on Start → its first merged update (the page's own firstMergeMs), in a fresh
 *    browser context each run (nothing remembered), median of `runs`; then the same tab reloaded and
 *    started again, which uses the backend remembered for the origin;
 *  - `tabs` tabs opened together on one coordinator: how many contribute within 60 s, and for those that
 *    do not, where they are (link state, backend probe, worker, steps), to tell signalling from CPU;
 *  - `npm start`'s default preset with one learner: held-out loss 60 s after the click against the
 *    untrained model's (the coordinator's first evaluation, before any merge).
 * The machine's load average (`uptime`) is recorded with every number: this machine is shared.
 */
import { loadavg } from 'node:os';
import type { Browser, Page } from '@playwright/test';
import type { Stack } from '@tabswarm/testing';

interface TabView { state: string; merges: number; steps: number; backend: string; backendSource: string; calibration: string; link: string; error: string; why: string; firstMergeMs: number | null; firstMergeAt: number | null }
interface CoordView { state: string; learners: Array<{ connected: boolean }>; loss: Array<{ loss: number; at: number; tokens: number }> }

const status = <T>(p: Page): Promise<T> => p.evaluate(() => JSON.parse(JSON.stringify((window as unknown as { __tabswarm: unknown }).__tabswarm)) as T);
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');
const median = (xs: number[]): number | null => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : null;
};

/** Polls `fn` on the page's status every 200 ms until it holds; throws with the last status at the deadline. */
async function until<T>(p: Page, fn: (s: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await status<T>(p);
    if (fn(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out (${timeoutMs} ms) waiting for ${what}: ${JSON.stringify(s).slice(0, 600)}`);
    await p.waitForTimeout(200); // the poll interval of a benchmark driver, not a wait for an effect
  }
}

export interface StartBenchOptions { workload: string; model: string; runs: number; tabs: number }

export async function benchStart(stack: Stack, browser: Browser, o: StartBenchOptions): Promise<Record<string, unknown>> {
  const url = (path: string, q: Record<string, string>): string => `${stack.baseUrl}/${path}/?${new URLSearchParams({ signal: stack.signal, workload: o.workload, model: o.model, ...q })}`;
  // 120 s: sixteen pages loading at once on a loaded 2-core machine missed Playwright's default 30 s.
  const open = async (u: string): Promise<Page> => { const p = await (await browser.newContext()).newPage(); await p.goto(u, { timeout: 120_000 }); return p; };
  const coordinator = async (run: string): Promise<Page> => {
    const c = await open(url('coordinator', { run }));
    await until<CoordView>(c, (s) => s.state !== 'starting', 180_000, 'the coordinator');
    return c;
  };
  const click = async (p: Page): Promise<TabView> => {
    await p.click('#start');
    return until<TabView>(p, (s) => s.merges > 0 || s.state === 'failed', 180_000, 'the first merged update');
  };

  // One tab, fresh context each run; then the same tab again (remembered backend).
  const single: Array<{ clickToMergeS: number | null; backend: string; source: string; calibration: string; again: { clickToMergeS: number | null; source: string } | null; load: string }> = [];
  for (let i = 0; i < o.runs; i++) {
    const run = `bstart${i}x${Date.now().toString(36)}`;
    const c = await coordinator(run);
    const l = await open(url('learner', { run }));
    const s = await click(l);
    const calibrated = await until<TabView>(l, (v) => v.calibration !== '' && v.calibration !== 'running', 120_000, 'the background calibration').catch(() => s);
    await l.reload();
    const again = await click(l).catch(() => null);
    single.push({ clickToMergeS: s.firstMergeMs === null ? null : s.firstMergeMs / 1000, backend: s.backend, source: s.backendSource, calibration: calibrated.calibration, again: again && { clickToMergeS: again.firstMergeMs === null ? null : again.firstMergeMs / 1000, source: again.backendSource }, load: load() });
    console.log('start, one tab:', single.at(-1));
    await l.context().close();
    await c.context().close();
  }

  // N tabs opened together (autostart: the load is the click).
  const run = `bswarm${Date.now().toString(36)}`;
  const c = await coordinator(run);
  const loadBefore = load();
  const opened = Date.now();
  const pages = await Promise.all(Array.from({ length: o.tabs }, () => open(url('learner', { run, autostart: '1' }))));
  const first = new Map<number, number>();
  let views: TabView[] = [];
  while (Date.now() - opened < 120_000 && first.size < o.tabs) {
    views = await Promise.all(pages.map((p) => status<TabView>(p)));
    // Each tab's own wall clock of its first merge: a poll of 16 loading pages takes seconds, so the time a
    // poll sees the merge would only be an upper bound.
    views.forEach((v, i) => { if (v.firstMergeAt !== null && !first.has(i)) first.set(i, (v.firstMergeAt - opened) / 1000); });
    await pages[0]!.waitForTimeout(500); // poll interval
  }
  const within60 = [...first.values()].filter((s) => s <= 60).length;
  views = await Promise.all(pages.map((p) => status<TabView>(p)));
  // In-page: from each tab's start() (its autostart, once the page loaded) to its first merged update.
  const startToMergeS = views.map((v) => (v.firstMergeMs === null ? null : v.firstMergeMs / 1000));
  const late = views.map((v, i) => ({ i, v })).filter(({ i }) => !first.has(i) || first.get(i)! > 60).map(({ i, v }) => ({ tab: i, firstMergeS: first.get(i) ?? null, state: v.state, link: v.link, backend: v.backend, steps: v.steps, error: v.error }));
  const coordView = await status<CoordView>(c);
  const swarm = { tabs: o.tabs, contributingWithin60s: within60, contributingWithin120s: first.size, medianOpenToMergeS: median([...first.values()]), medianStartToMergeS: median(startToMergeS.filter((x): x is number => x !== null)), startToMergeS, slowestS: Math.max(...first.values(), 0), connectedAtEnd: coordView.learners.filter((l) => l.connected).length, late, loadBefore, loadAfter: load() };
  console.log('start, tabs opened together:', swarm);
  await Promise.all(pages.map((p) => p.context().close()));
  await c.context().close();

  // The default preset's held-out loss 60 s after the click.
  const lrun = `bloss${Date.now().toString(36)}`;
  const lc = await coordinator(lrun);
  const untrained = await until<CoordView>(lc, (s) => s.loss.length > 0, 120_000, 'the untrained model\'s evaluation');
  const l = await open(url('learner', { run: lrun }));
  const clickAt = await lc.evaluate(() => performance.now());
  const loadAtClick = load();
  await l.click('#start');
  const sixty = await until<CoordView>(lc, (s) => (s.loss.at(-1)?.at ?? 0) >= clickAt + 60_000, 120_000, 'an evaluation 60 s after the click');
  const pts = sixty.loss.map((p) => ({ s: (p.at - clickAt) / 1000, loss: p.loss, tokens: p.tokens }));
  const at60 = [...pts].reverse().find((p) => p.s <= 60) ?? pts.at(-1)!;
  const start = untrained.loss[0]!.loss;
  const lossDrop = { workload: o.workload, model: o.model, untrainedLoss: start, lossAt60s: at60.loss, at: at60.s, drop: 1 - at60.loss / start, curve: pts, load: loadAtClick, loadAfter: load() };
  console.log('start, loss in 60 s:', { ...lossDrop, curve: `${pts.length} points` });
  await l.context().close();
  await lc.context().close();

  const times = single.map((r) => r.clickToMergeS).filter((x): x is number => x !== null);
  return { workload: o.workload, model: o.model, oneTab: { medianClickToMergeS: median(times), runs: single }, swarm, lossDrop };
}

/** The few lines the README quotes, from the JSON. */
export function startReport(r: Record<string, unknown>): string {
  const one = r.oneTab as { medianClickToMergeS: number | null; runs: Array<{ clickToMergeS: number | null; again: { clickToMergeS: number | null; source: string } | null; load: string }> };
  const sw = r.swarm as { tabs: number; contributingWithin60s: number; contributingWithin120s: number; medianOpenToMergeS: number | null; slowestS: number; loadBefore: string; loadAfter: string };
  const ld = r.lossDrop as { untrainedLoss: number; lossAt60s: number; at: number; drop: number; load: string };
  const f = (x: number | null): string => (x === null ? '–' : x.toFixed(1));
  return [
    `# npm run bench -- --only start (${r.workload}/${r.model})`,
    `- one tab, click → first merged update: median ${f(one.medianClickToMergeS)} s over ${one.runs.length} runs (${one.runs.map((x) => f(x.clickToMergeS)).join(', ')} s; load ${one.runs.map((x) => x.load.split(' ')[0]).join(', ')})`,
    `- the same tab started again (remembered backend): ${one.runs.map((x) => `${f(x.again?.clickToMergeS ?? null)} s (${x.again?.source ?? '–'})`).join(', ')}`,
    `- ${sw.tabs} tabs opened together: ${sw.contributingWithin60s}/${sw.tabs} contributing within 60 s, ${sw.contributingWithin120s}/${sw.tabs} within 120 s; median ${f(sw.medianOpenToMergeS)} s, slowest ${f(sw.slowestS)} s (load ${sw.loadBefore} before, ${sw.loadAfter} after)`,
    `- held-out loss ${ld.untrainedLoss.toFixed(3)} untrained → ${ld.lossAt60s.toFixed(3)} at ${ld.at.toFixed(0)} s after the click: ${(100 * ld.drop).toFixed(1)}% lower (load ${ld.load} at the click)`,
    '',
  ].join('\n');
}
