import type { Page } from '@playwright/test';
import { expect, test, type CoordinatorView } from '@tabswarm/testing';

// Digits keeps these fast on a 2-core CPU machine; small H and P make merges come within seconds.
const fast = { workload: 'digits', P: '2', H: '8', evalMs: '2000', tokens: '200000' };

/** Pixels of `rgb` (±24 per channel) on a chart's canvas: a drawn series leaves hundreds, an empty chart none. */
function inkOf(page: Page, chart: string, rgb: [number, number, number]): Promise<number> {
  return page.evaluate(([id, [r, g, b]]) => {
    const c = document.querySelector<HTMLCanvasElement>(`[data-chart="${id}"] canvas`);
    if (!c) return -1;
    const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < px.length; i += 4) if (Math.abs(px[i]! - r) < 24 && Math.abs(px[i + 1]! - g) < 24 && Math.abs(px[i + 2]! - b) < 24) n++;
    return n;
  }, [chart, rgb] as const);
}

test('the dashboard plots loss, goodput, traffic and learners with uPlot, axes in units', async ({ swarm }) => {
  const coord = await swarm.coordinator(fast);
  await swarm.learner({ workload: 'digits', backend: 'wasm' });
  await swarm.until<CoordinatorView & { timeline: unknown[] }>(coord, (c) => c.loss.length >= 3 && c.timeline.length >= 4 && c.merges >= 4, 'three evaluations and four timeline points', 120_000);
  const blue: [number, number, number] = [0x15, 0x65, 0xc0], green: [number, number, number] = [0x2e, 0x7d, 0x32];
  await expect.poll(() => inkOf(coord, 'loss-tokens', blue), { message: 'the loss curve drawn', timeout: 10_000 }).toBeGreaterThan(50);
  await expect.poll(() => inkOf(coord, 'goodput', green), { message: 'the goodput curve drawn', timeout: 10_000 }).toBeGreaterThan(50);
  for (const id of ['loss-time', 'bytes', 'learners']) expect(await inkOf(coord, id, blue), id).toBeGreaterThan(50);
  // Axis labels are drawn on the canvas (their units are checked in e2e/report.test.ts); the legends are text.
  const legends = await coord.locator('[data-chart="goodput"] .u-label, [data-chart="bytes"] .u-label').allTextContents();
  expect(legends).toEqual(expect.arrayContaining(['goodput (%)', 'contributors per merge', 'received (kB/s)', 'sent (kB/s)']));
});
