/**
 * `npm run screenshots`: the README's pictures, taken from a real swarm on this machine: the coordinator's
 * classroom view (digits, three learner tabs, a held-out digit painted into the box) and one learner page,
 * written to docs/img/classroom.png and docs/img/learner.png.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Page } from '@playwright/test';
import { launchBrowser, startStack } from '@tabswarm/testing';

const ROOT = resolve(import.meta.dirname, '..');
const status = <T>(p: Page): Promise<T> => p.evaluate(() => JSON.parse(JSON.stringify((window as unknown as { __tabswarm: unknown }).__tabswarm)) as T);

/** Polls the page's status until `ok` holds; throws with `what` after `ms`. */
async function until<T>(p: Page, ok: (s: T) => boolean, what: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!ok(await status<T>(p))) {
    if (Date.now() > end) throw new Error(`screenshots: gave up waiting for ${what} after ${ms / 1000} s`);
    await p.waitForTimeout(500); // the poll period of this CLI, not a wait for an outcome
  }
}

type Coord = { state: string; merges: number; loss: Array<{ loss: number }>; learners: Array<{ merges: number }>; demo: { drawing: number } };

const stack = await startStack({ quiet: true });
const browser = await launchBrowser();
try {
  const run = { run: `class${Date.now().toString(36)}`, signal: stack.signal, workload: 'digits' };
  const coord = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
  await coord.goto(`${stack.baseUrl}/coordinator/?${new URLSearchParams({ ...run, P: '2', H: '16', evalMs: '3000', tokens: '200000', view: 'class' })}`);
  await until<Coord>(coord, (c) => c.state === 'running', 'the coordinator', 120_000);
  const learners: Page[] = [];
  for (let i = 0; i < 3; i++) {
    const p = await (await browser.newContext({ viewport: { width: 760, height: 620 } })).newPage();
    await p.goto(`${stack.baseUrl}/learner/?${new URLSearchParams({ ...run, autostart: '1', backend: 'wasm', batch: '8' })}`);
    learners.push(p);
  }
  await until<Coord>(coord, (c) => c.learners.filter((l) => l.merges > 0).length === 3 && c.loss.length >= 8 && (c.loss.at(-1)?.loss ?? 9) < 0.45, 'three learners merged and loss < 0.45', 300_000);
  // A held-out "7"-or-whatever digit painted into the box at 10×, then the pen lifted: the model's guess appears.
  const val = readFileSync(resolve(ROOT, 'public/data/digits/val.bin'));
  await coord.evaluate((img) => {
    const box = document.getElementById('d-box') as HTMLCanvasElement, g = box.getContext('2d')!, k = box.width / 28;
    img.forEach((v, i) => { if (v > 0) { g.fillStyle = `rgba(0,0,0,${v / 255})`; g.fillRect((i % 28) * k, Math.floor(i / 28) * k, k, k); } });
    box.dispatchEvent(new PointerEvent('pointerup'));
  }, [...val.subarray(0, 784)]);
  await until<Coord>(coord, (c) => c.demo.drawing === 1, 'the digit prediction', 30_000);
  await until<{ share: number | null }>(learners[0]!, (l) => l.share !== null, 'the learner share', 30_000);
  await coord.waitForTimeout(600); // one render period (250 ms) and then some, so the page shows the last status
  await coord.screenshot({ path: resolve(ROOT, 'docs/img/classroom.png'), fullPage: true });
  await learners[0]!.screenshot({ path: resolve(ROOT, 'docs/img/learner.png'), fullPage: true });
  console.log('wrote docs/img/classroom.png and docs/img/learner.png');
} finally {
  await browser.close();
  await stack.close();
}
process.exit(0); // peer 1.0.2 keeps timers it never stops (packages/net/server/signal.ts)
